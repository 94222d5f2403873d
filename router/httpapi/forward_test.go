package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

// forwardFixture is the Mux over one group on an OpenAI-compatible upstream
// (a providertest server, or h when given), the alias "smart" of it, and
// the master key.
func forwardFixture(t *testing.T, upstream http.Handler) (mux http.Handler, srv *providertest.Server) {
	t.Helper()
	srv = providertest.NewServer()
	t.Cleanup(srv.Close)
	base := srv.URL()
	if upstream != nil {
		hs := httptest.NewServer(upstream)
		t.Cleanup(hs.Close)
		base = hs.URL
	}
	p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	reg, err := alias.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	rt, err := router.New(reg, router.Config{Deployments: []router.Deployment{
		{ID: "d1", Group: "model-group-1", Model: "openai/gpt-4o", Provider: p, Tags: []string{"fast"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	if _, err := reg.Create(context.Background(), alias.Alias{Name: "smart", Target: "model-group-1"}); err != nil {
		t.Fatal(err)
	}
	return New(rt, reg, WithMasterKey("sk-m")).Mux(), srv
}

func post(mux http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer sk-m")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

// TestChatForwarding: a plain chat completion that decoding and encoding
// would not change reaches the upstream as the client sent it, only its
// model replaced; any other goes through go-openai's types as before (an
// unknown key, LiteLLM's tags, a zero optional field, a key given twice or
// with escapes are not sent on). Either way the client gets the answer with
// the requested name as its model and the route headers.
func TestChatForwarding(t *testing.T) {
	mux, srv := forwardFixture(t, nil)
	for _, tc := range []struct {
		name      string
		body      string
		forwarded bool
		wantKeys  []string // sent upstream, sorted
	}{
		{"plain", `{"model":"smart","messages":[{"role":"user","content":"hi"}]}`, true, []string{"messages", "model"}},
		{"options in the client's order", `{"temperature":0.25,"messages":[{"role":"user","content":"hi","name":"n"}],"user":"u-1","model":"smart","max_tokens":5}`, true,
			[]string{"max_tokens", "messages", "model", "temperature", "user"}},
		{"stream false", `{"model":"smart","stream":false,"messages":[{"role":"user","content":"hi"}]}`, true, []string{"messages", "model", "stream"}},
		{"unknown key", `{"model":"smart","messages":[{"role":"user","content":"hi"}],"x_unknown":1}`, false, []string{"messages", "model", "stream"}},
		{"tags", `{"model":"smart","messages":[{"role":"user","content":"hi"}],"tags":["fast"]}`, false, []string{"messages", "model", "stream"}},
		{"zero optional field", `{"model":"smart","messages":[{"role":"user","content":"hi"}],"n":0}`, false, []string{"messages", "model", "stream"}},
		{"model twice", `{"model":"gpt-4o","model":"smart","messages":[{"role":"user","content":"hi"}]}`, false, []string{"messages", "model", "stream"}},
		{"escaped key", `{"model":"smart","messages":[{"role":"user","content":"hi"}],"us\u0065r":"u"}`, false, []string{"messages", "model", "stream", "user"}},
		{"stream options without stream", `{"model":"smart","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, false, []string{"messages", "model", "stream"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(mux, tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			last, _ := srv.LastRequest()
			var sent map[string]json.RawMessage
			if err := json.Unmarshal(last.Body, &sent); err != nil {
				t.Fatal(err)
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range sent {
					if !yield(k) {
						return
					}
				}
			})
			if diff := cmp.Diff(tc.wantKeys, keys); diff != "" {
				t.Errorf("keys sent upstream (-want +got):\n%s", diff)
			}
			if string(sent["model"]) != `"gpt-4o"` {
				t.Errorf("upstream model %s, want the deployment's", sent["model"])
			}
			wantSent := strings.Replace(tc.body, `"model":"smart"`, `"model":"gpt-4o"`, 1)
			if got := string(last.Body) == wantSent; got != tc.forwarded {
				t.Errorf("upstream got %s; forwarded as sent: %v, want %v", last.Body, got, tc.forwarded)
			}
			var resp openai.ChatCompletionResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("answer %s: %v", rec.Body, err)
			}
			if resp.Model != "smart" || len(resp.Choices) == 0 {
				t.Errorf("answer %s: want model smart and choices", rec.Body)
			}
			if rec.Header().Get("x-modelroute-model-group") != "model-group-1" || rec.Header().Get("x-modelroute-deployment-id") != "d1" ||
				rec.Header().Get("x-modelroute-attempts") != "1" || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
}

// TestForwardedAnswer: the upstream's answer reaches the client as it was
// sent, fields go-openai does not know included, with only its model set
// to the requested name, added when the upstream sent none.
func TestForwardedAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, answer, want string
	}{
		{"model replaced", `{"id":"x","model":"gpt-4o-2024-08-06","choices":[],"x_vendor":{"a":1}}`, `{"id":"x","model":"smart","choices":[],"x_vendor":{"a":1}}` + "\n"},
		{"model added", `{"id":"x","choices":[]}`, `{"model":"smart","id":"x","choices":[]}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux, _ := forwardFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.answer)
			}))
			rec := post(mux, `{"model":"smart","messages":[{"role":"user","content":"hi"}]}`)
			if rec.Code != http.StatusOK || rec.Body.String() != tc.want {
				t.Errorf("answer %d %s, want 200 %s", rec.Code, rec.Body, tc.want)
			}
		})
	}
}

// TestAppendQuoted: the requested name is written as writeJSON writes it.
func TestAppendQuoted(t *testing.T) {
	for _, s := range []string{"smart", `a"b`, `back\slash`, "naïve", "<tag>&", "\x01ctl", "\u2028", "\xff"} {
		rec := httptest.NewRecorder()
		writeJSON(rec, 200, s)
		want := strings.TrimSuffix(rec.Body.String(), "\n")
		if got := string(appendQuoted(nil, s)); got != want {
			t.Errorf("appendQuoted(%q) = %s, want %s", s, got, want)
		}
	}
}

// FuzzForwardable: a body forwarded as it is sends the upstream exactly the
// top-level keys encoding the decoded request would send ("stream", which
// that encoding always writes, aside), so forwarding changes nothing but
// the bytes; and deciding never panics.
func FuzzForwardable(f *testing.F) {
	for _, s := range []string{
		`{"model":"smart","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0,"n":2,"tools":[],"tool_choice":"auto","stop":null}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"guided_choice":["a"],"metadata":{},"seed":0,"logit_bias":{"1":2}}`,
		`{"model":"m","model":"n"}`, `{"tags":["x"],"model":"m"}`,
		`{"stream":true,"stream_options":{"include_usage":true},"model":"m","messages":[{"role":"user","content":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req chatRequest
		if json.Unmarshal(body, &req) != nil || req.Model == "" || len(req.Messages) == 0 {
			return // refused before routing
		}
		if !forwardable(body, &req.ChatCompletionRequest) {
			return
		}
		typed, err := json.Marshal(req.ChatCompletionRequest)
		if err != nil {
			return // the typed call would have failed before sending
		}
		keysOf := func(b []byte) map[string]bool {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			out := map[string]bool{}
			for k := range m {
				if k != "stream" {
					out[k] = true
				}
			}
			return out
		}
		if diff := cmp.Diff(keysOf(typed), keysOf(body)); diff != "" {
			t.Fatalf("forwarded %s, typed %s: keys (-typed +forwarded):\n%s", body, typed, diff)
		}
	})
}

// TestStreamForwarding: a streamed request is forwarded as the client sent
// it under the same rule as a plain one (stream_options included, which a
// stream keeps), and its chunks reach the client with the requested name.
func TestStreamForwarding(t *testing.T) {
	mux, srv := forwardFixture(t, nil)
	for _, tc := range []struct {
		name      string
		body      string
		forwarded bool
	}{
		{"stream", `{"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]}`, true},
		{"stream options", `{"stream_options":{"include_usage":true},"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]}`, true},
		{"tags", `{"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}],"tags":["fast"]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(mux, tc.body)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/event-stream" || rec.Header().Get("x-modelroute-deployment-id") != "d1" {
				t.Fatalf("status %d, headers %v: %s", rec.Code, rec.Header(), rec.Body)
			}
			last, _ := srv.LastRequest()
			wantSent := strings.Replace(tc.body, `"model":"smart"`, `"model":"gpt-4o"`, 1)
			if got := string(last.Body) == wantSent; got != tc.forwarded || !last.Stream {
				t.Errorf("upstream got %s (a stream: %v); forwarded as sent: %v, want %v", last.Body, last.Stream, got, tc.forwarded)
			}
			events := strings.Split(strings.TrimSpace(rec.Body.String()), "\n\n")
			if len(events) < 2 || events[len(events)-1] != "data: [DONE]" {
				t.Fatalf("answer %q: want chunks, then data: [DONE]", rec.Body)
			}
			for _, e := range events[:len(events)-1] {
				var c openai.ChatCompletionStreamResponse
				if err := json.Unmarshal([]byte(strings.TrimPrefix(e, "data: ")), &c); err != nil || c.Model != "smart" {
					t.Errorf("chunk %q: model %q, %v; want smart", e, c.Model, err)
				}
			}
		})
	}
}
