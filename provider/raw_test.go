package provider_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// rawCall makes the raw call of req: its JSON, sent as it is.
func rawCall(t *testing.T, p *provider.OpenAI, req openai.ChatCompletionRequest) ([]byte, error) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return p.ChatCompletionRaw(t.Context(), req.Model, body)
}

// TestOpenAIRawMatchesTyped: ChatCompletionRaw sends what ChatCompletion
// sends (the path, the Azure deployment and api-version, credentials,
// organization, extra headers, Host, and the same request) and answers the
// same: its JSON decodes to ChatCompletion's response. So does
// ChatCompletionStreamRaw for ChatCompletionStream, chunk by chunk.
func TestOpenAIRawMatchesTyped(t *testing.T) {
	srv := providertest.NewServer(providertest.WithAPIKey("sk-test"))
	defer srv.Close()
	var host string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	for _, tc := range []struct {
		name  string
		cfg   provider.OpenAIConfig
		model string
	}{
		{"openai with organization and headers", provider.OpenAIConfig{
			Name: "groq", BaseURL: hs.URL + "/v1/", APIKey: "sk-test", Organization: "org-1",
			Headers: map[string]string{"x-team": "blue", "Host": "llm.internal"},
		}, "llama-3.1-70b"},
		{"header overrides organization", provider.OpenAIConfig{
			BaseURL: hs.URL + "/v1", APIKey: "sk-test", Organization: "org-1",
			Headers: map[string]string{"OpenAI-Organization": "org-override"},
		}, "m"},
		{"azure mapped", provider.OpenAIConfig{
			BaseURL: hs.URL, APIKey: "sk-test",
			Azure: &provider.AzureConfig{APIVersion: "2024-06-01", Deployments: map[string]string{"gpt-4o": "prod-4o"}},
		}, "gpt-4o"},
		{"azure unmapped, default version", provider.OpenAIConfig{
			BaseURL: hs.URL, APIKey: "sk-test", Azure: &provider.AzureConfig{},
		}, "my deployment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newOpenAI(t, tc.cfg)
			req := chat(tc.model)
			req.Temperature = 0.5
			req.MaxCompletionTokens = 20

			typed, err := p.ChatCompletion(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			wantReq, _ := srv.LastRequest()
			wantHost := host

			answer, err := rawCall(t, p, req)
			if err != nil {
				t.Fatal(err)
			}
			gotReq, _ := srv.LastRequest()

			// The streamed call too.
			sreq := req
			sreq.Stream = true
			wantChunks := streamChunks(t, func() (provider.Stream, error) { return p.ChatCompletionStream(t.Context(), sreq) })
			wantStreamReq, _ := srv.LastRequest()
			sbody, err := json.Marshal(sreq)
			if err != nil {
				t.Fatal(err)
			}
			gotChunks := streamChunks(t, func() (provider.Stream, error) { return p.ChatCompletionStreamRaw(t.Context(), sreq.Model, sbody) })
			gotStreamReq, _ := srv.LastRequest()

			type sent struct {
				Method, Path, RawQuery, Host string
				Header                       map[string]string
				Body                         map[string]any
			}
			view := func(r providertest.Request, host string) sent {
				s := sent{Method: r.Method, Path: r.Path, RawQuery: r.RawQuery, Host: host, Header: map[string]string{}}
				for _, k := range []string{"Authorization", "Api-Key", "Openai-Organization", "X-Team", "Content-Type", "Accept", "Cache-Control"} {
					s.Header[k] = r.Header.Get(k)
				}
				if err := json.Unmarshal(r.Body, &s.Body); err != nil {
					t.Fatalf("body %s: %v", r.Body, err)
				}
				return s
			}
			if diff := cmp.Diff(view(wantReq, wantHost), view(gotReq, host)); diff != "" {
				t.Errorf("raw request differs from the typed one (-typed +raw):\n%s", diff)
			}
			if diff := cmp.Diff(view(wantStreamReq, wantHost), view(gotStreamReq, host)); diff != "" {
				t.Errorf("raw stream request differs from the typed one (-typed +raw):\n%s", diff)
			}
			if diff := cmp.Diff(wantChunks, gotChunks); diff != "" {
				t.Errorf("raw stream's chunks differ from the typed one's (-typed +raw):\n%s", diff)
			}

			var got openai.ChatCompletionResponse
			if err := json.Unmarshal(answer, &got); err != nil {
				t.Fatalf("answer %s: %v", answer, err)
			}
			// The HTTP headers go-openai keeps with an answer are not
			// compared, nor the fake's answer IDs, which count calls.
			got.ID = typed.ID
			if diff := cmp.Diff(typed, got, cmpopts.IgnoreUnexported(openai.ChatCompletionResponse{})); diff != "" {
				t.Errorf("raw answer differs from the typed one (-typed +raw):\n%s", diff)
			}
		})
	}
}

// streamChunks reads a stream to its end and returns its chunks, their IDs
// (which the fake numbers) cleared.
func streamChunks(t *testing.T, open func() (provider.Stream, error)) []openai.ChatCompletionStreamResponse {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []openai.ChatCompletionStreamResponse
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		c.ID = ""
		out = append(out, c)
	}
}

// TestOpenAIRawFilteredNeedsEveryChoice: an answer is refused for content
// only when every choice was filtered, as ChatCompletion decides.
func TestOpenAIRawFilteredNeedsEveryChoice(t *testing.T) {
	const answer = `{"id":"x","object":"chat.completion","model":"m","choices":[` +
		`{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"},` +
		`{"index":1,"message":{"role":"assistant","content":""},"finish_reason":"content_filter"}]}`
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	defer hs.Close()
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: hs.URL})
	got, err := rawCall(t, p, chat("m"))
	if err != nil {
		t.Fatalf("one of two choices filtered: %v, want the answer", err)
	}
	if string(got) != answer {
		t.Errorf("answer = %s, want it as the upstream sent it", got)
	}
}
