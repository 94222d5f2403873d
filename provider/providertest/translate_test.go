package providertest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider/providertest"
)

func postChat(t *testing.T, srv *providertest.Server, body string) *http.Response {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL()+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestReadStream(t *testing.T) {
	const req = `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`
	tests := []struct {
		name     string
		fault    providertest.Fault
		wantDone bool
		want     string
	}{
		{"complete", providertest.Fault{}, true, "ok"},
		{"cut", providertest.Fault{CutAfter: 1}, false, "o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := providertest.NewServer()
			defer srv.Close()
			srv.SetFault("", tt.fault)
			var got strings.Builder
			done := providertest.ReadStream(postChat(t, srv, req).Body, func(c openai.ChatCompletionStreamResponse) bool {
				for _, ch := range c.Choices {
					got.WriteString(ch.Delta.Content)
				}
				return true
			})
			if done != tt.wantDone || got.String() != tt.want {
				t.Errorf("ReadStream = %v with %q, want %v with %q", done, got.String(), tt.wantDone, tt.want)
			}
		})
	}
}

func TestReadError(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetFault("", providertest.Fault{Status: 429, Code: "rate_limit_exceeded", Message: "slow down", RetryAfter: 2 * time.Second})
	got := providertest.ReadError(postChat(t, srv, `{"model":"m","messages":[]}`))
	want := providertest.UpstreamError{Status: 429, Code: "rate_limit_exceeded", Message: "slow down",
		Header: http.Header{"Retry-After": {"2"}, "Retry-After-Ms": {"2000"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadError (-want +got):\n%s", diff)
	}
}
