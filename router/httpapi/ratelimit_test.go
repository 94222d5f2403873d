package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A key's rpm_limit and tpm_limit (LiteLLM's, on /key/generate): the key
// is refused with 429 in OpenAI's shape, naming the key's limit and only
// the requested name's caller, never what it resolves to; the upstream is
// not called; listing the models counts no request.
func TestKeyRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name, generate string
		admitted       int
		message        string
	}{
		{"rpm", `{"key_alias":"bot","rpm_limit":2}`, 2,
			`rate limit exceeded for key "bot": rpm_limit of 2 per minute`},
		{"tpm", `{"key_alias":"bot","tpm_limit":1}`, 1, // the first answer's tokens use it up
			`rate limit exceeded for key "bot": tpm_limit of 1 per minute`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			code, out := fx.do(t, "POST", "/key/generate", master, tc.generate)
			if code != 200 {
				t.Fatalf("key/generate: %d %s", code, out)
			}
			var k struct {
				Key      string
				RPMLimit *int64 `json:"rpm_limit"`
				TPMLimit *int64 `json:"tpm_limit"`
			}
			if err := json.Unmarshal([]byte(out), &k); err != nil {
				t.Fatal(err)
			}
			if (k.RPMLimit == nil) == strings.Contains(tc.generate, "rpm_limit") || (k.TPMLimit == nil) == strings.Contains(tc.generate, "tpm_limit") {
				t.Errorf("key/generate answer %s: want the limits given, null the others", out)
			}
			for range 5 {
				if code, out := fx.do(t, "GET", "/v1/models", k.Key, ""); code != 200 {
					t.Fatalf("models: %d %s", code, out)
				}
			}
			for i := range tc.admitted {
				if code, out := fx.do(t, "POST", "/v1/chat/completions", k.Key, chatBody("alias-1")); code != 200 {
					t.Fatalf("request %d: %d %s", i+1, code, out)
				}
			}
			calls := fx.f1.CallCount()
			rec := fx.serve("POST", "/v1/chat/completions", k.Key, chatBody("alias-1"))
			if rec.Code != 429 {
				t.Fatalf("over the limit: %d %s", rec.Code, rec.Body)
			}
			var got errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("answer %s: %v", rec.Body, err)
			}
			want := errorBody{}
			want.Error.Message, want.Error.Type, want.Error.Code = tc.message, "rate_limit_error", "rate_limit_exceeded"
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if body := rec.Body.String(); strings.Contains(body, "model-group-1") || strings.Contains(body, "gpt-4o") {
				t.Errorf("answer names a resolved name: %s", body)
			}
			if fx.f1.CallCount() != calls {
				t.Error("a request over the limit reached the upstream")
			}
			if code, out := fx.do(t, "POST", "/v1/chat/completions", fx.keyAll, chatBody("alias-1")); code != 200 {
				t.Errorf("another key: %d %s", code, out)
			}
		})
	}
}

func TestKeyRateLimitInvalid(t *testing.T) {
	fx := newFixture(t)
	code, out := fx.do(t, "POST", "/key/generate", master, `{"rpm_limit":-1}`)
	if code != 400 || !strings.Contains(out, "rpm_limit -1") {
		t.Errorf("negative rpm_limit: %d %s", code, out)
	}
}
