package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

func newOpenAI(t *testing.T, cfg provider.OpenAIConfig) *provider.OpenAI {
	t.Helper()
	p, err := provider.NewOpenAI(cfg)
	if err != nil {
		t.Fatalf("NewOpenAI: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func chat(model string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi"}},
	}
}

func TestNewOpenAIValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.OpenAIConfig
		ok   bool
	}{
		{"zero value", provider.OpenAIConfig{}, true},
		{"base URL", provider.OpenAIConfig{BaseURL: "http://127.0.0.1:8000/v1"}, true},
		{"headers", provider.OpenAIConfig{Headers: map[string]string{"X-Team": "a", "Host": "h"}}, true},
		{"azure", provider.OpenAIConfig{BaseURL: "https://r.openai.azure.com", Azure: &provider.AzureConfig{Deployments: map[string]string{"gpt-4o": "prod-4o"}}}, true},
		{"no scheme", provider.OpenAIConfig{BaseURL: "127.0.0.1:8000"}, false},
		{"ftp", provider.OpenAIConfig{BaseURL: "ftp://example.com"}, false},
		{"no host", provider.OpenAIConfig{BaseURL: "http:///v1"}, false},
		{"query", provider.OpenAIConfig{BaseURL: "http://h/v1?x=1"}, false},
		{"credentials in URL", provider.OpenAIConfig{BaseURL: "http://user:secret@h/v1"}, false},
		{"key with newline", provider.OpenAIConfig{APIKey: "sk-1\nX-Evil: 1"}, false},
		{"organization with CR", provider.OpenAIConfig{Organization: "org\r"}, false},
		{"bad header name", provider.OpenAIConfig{Headers: map[string]string{"X Bad": "v"}}, false},
		{"empty header name", provider.OpenAIConfig{Headers: map[string]string{"": "v"}}, false},
		{"bad header value", provider.OpenAIConfig{Headers: map[string]string{"X-A": "v\n"}}, false},
		{"azure without base", provider.OpenAIConfig{Azure: &provider.AzureConfig{}}, false},
		{"azure empty deployment", provider.OpenAIConfig{BaseURL: "https://r", Azure: &provider.AzureConfig{Deployments: map[string]string{"m": ""}}}, false},
		{"azure deployment with slash", provider.OpenAIConfig{BaseURL: "https://r", Azure: &provider.AzureConfig{Deployments: map[string]string{"m": "a/b"}}}, false},
		{"azure bad version", provider.OpenAIConfig{BaseURL: "https://r", Azure: &provider.AzureConfig{APIVersion: "1&x=2"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := provider.NewOpenAI(tt.cfg)
			if tt.ok != (err == nil) {
				t.Fatalf("NewOpenAI(%+v) error = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, provider.ErrInvalidConfig) {
					t.Errorf("error %v is not ErrInvalidConfig", err)
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sk-1") {
					t.Errorf("error %q leaks a secret", err)
				}
				return
			}
			p.Close()
		})
	}
}

func TestOpenAIName(t *testing.T) {
	for _, tt := range []struct {
		cfg  provider.OpenAIConfig
		want string
	}{
		{provider.OpenAIConfig{}, "openai"},
		{provider.OpenAIConfig{Name: "groq"}, "groq"},
		{provider.OpenAIConfig{BaseURL: "https://r", Azure: &provider.AzureConfig{}}, "azure"},
	} {
		if got := newOpenAI(t, tt.cfg).Name(); got != tt.want {
			t.Errorf("Name() = %q, want %q", got, tt.want)
		}
	}
}

func TestOpenAIRequest(t *testing.T) {
	srv := providertest.NewServer(providertest.WithAPIKey("sk-test"))
	defer srv.Close()
	p := newOpenAI(t, provider.OpenAIConfig{
		Name:         "groq",
		BaseURL:      srv.URL(),
		APIKey:       "sk-test",
		Organization: "org-1",
		Headers:      map[string]string{"x-team": "blue", "OpenAI-Organization": "org-override"},
	})
	req := chat("llama-3.1-70b")
	req.Stream = true // ChatCompletion is never a stream
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	if _, err := p.ChatCompletion(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	got, ok := srv.LastRequest()
	if !ok {
		t.Fatal("no request reached the server")
	}
	if got.Path != providertest.PathChat || got.Model != "llama-3.1-70b" || got.Stream {
		t.Errorf("request = %s model %q stream %v; want %s, llama-3.1-70b, not streamed", got.Path, got.Model, got.Stream, providertest.PathChat)
	}
	for k, want := range map[string]string{
		"Authorization":       "Bearer sk-test",
		"X-Team":              "blue",
		"Openai-Organization": "org-override",
		"Content-Type":        "application/json",
	} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["stream_options"]; ok {
		t.Errorf("a non-streamed request carries stream_options: %s", got.Body)
	}

	// A wrong key is KindAuth, and the key never shows in the error.
	bad := newOpenAI(t, provider.OpenAIConfig{BaseURL: srv.URL(), APIKey: "sk-wrong-secret"})
	_, err := bad.ChatCompletion(t.Context(), chat("m"))
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindAuth || e.Status != http.StatusUnauthorized || e.Code != "invalid_api_key" {
		t.Errorf("wrong key: %v, want KindAuth 401 invalid_api_key", err)
	}
	if strings.Contains(err.Error(), "sk-wrong-secret") {
		t.Errorf("error %q leaks the key", err)
	}
	// go-openai's own error stays reachable.
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 {
		t.Errorf("errors.As(*openai.APIError) = %v", apiErr)
	}
}

func TestOpenAIHostHeader(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	var host string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: hs.URL + "/v1", Headers: map[string]string{"host": "llm.internal"}})
	if _, err := p.ChatCompletion(t.Context(), chat("m")); err != nil {
		t.Fatal(err)
	}
	if host != "llm.internal" {
		t.Errorf("Host = %q, want llm.internal", host)
	}
}

func TestOpenAIAzure(t *testing.T) {
	srv := providertest.NewServer(providertest.WithAPIKey("az-key"))
	defer srv.Close()
	p := newOpenAI(t, provider.OpenAIConfig{
		BaseURL: srv.Root(),
		APIKey:  "az-key",
		Azure:   &provider.AzureConfig{APIVersion: "2024-06-01", Deployments: map[string]string{"gpt-4o": "prod-4o"}},
	})
	tests := []struct {
		name      string
		call      func() error
		path      string
		authValue string
	}{
		{"mapped chat", func() error { _, err := p.ChatCompletion(t.Context(), chat("gpt-4o")); return err },
			"/openai/deployments/prod-4o/chat/completions", "az-key"},
		{"unmapped chat uses the model", func() error { _, err := p.ChatCompletion(t.Context(), chat("my-deployment")); return err },
			"/openai/deployments/my-deployment/chat/completions", "az-key"},
		{"stream", func() error {
			s, err := p.ChatCompletionStream(t.Context(), chat("gpt-4o"))
			if err != nil {
				return err
			}
			defer s.Close()
			for {
				if _, err := s.Recv(); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
			}
		}, "/openai/deployments/prod-4o/chat/completions", "az-key"},
		{"embeddings", func() error {
			_, err := p.Embeddings(t.Context(), openai.EmbeddingRequest{Model: "gpt-4o", Input: "x"})
			return err
		}, "/openai/deployments/prod-4o/embeddings", "az-key"},
		{"probe", func() error { return p.Probe(t.Context()) }, "/openai/models", "az-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			got, _ := srv.LastRequest()
			if got.Path != tt.path {
				t.Errorf("path = %q, want %q", got.Path, tt.path)
			}
			if got.RawQuery != "api-version=2024-06-01" {
				t.Errorf("query = %q, want api-version=2024-06-01", got.RawQuery)
			}
			if v := got.Header.Get("Api-Key"); v != tt.authValue {
				t.Errorf("api-key = %q, want %q", v, tt.authValue)
			}
			if v := got.Header.Get("Authorization"); v != "" {
				t.Errorf("Authorization = %q, want none for Azure", v)
			}
		})
	}
}

func TestOpenAIAzureDefaultVersion(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: srv.Root(), Azure: &provider.AzureConfig{}})
	if _, err := p.ChatCompletion(t.Context(), chat("d")); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.LastRequest(); got.RawQuery != "api-version="+provider.DefaultAzureAPIVersion {
		t.Errorf("query = %q, want the default version", got.RawQuery)
	}
}

// sse serves a fixed SSE body for every request.
func sse(t *testing.T, body string) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	return hs.URL + "/v1"
}

const (
	chunkOK     = `data: {"id":"1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}` + "\n\n"
	chunkStop   = `data: {"id":"1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
	chunkFilter = `data: {"id":"1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]}` + "\n\n"
	done        = "data: [DONE]\n\n"
)

// recvFunc is one way of reading a stream: Recv, or RecvRaw checked to
// give the same chunk Recv would.
type recvFunc struct {
	name string
	recv func(provider.Stream) (openai.ChatCompletionStreamResponse, error)
}

var recvFuncs = []recvFunc{
	{"Recv", provider.Stream.Recv},
	{"RecvRaw", func(s provider.Stream) (openai.ChatCompletionStreamResponse, error) {
		var c openai.ChatCompletionStreamResponse
		raw, err := s.(provider.RawStream).RecvRaw()
		if err != nil {
			return c, err
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, fmt.Errorf("RecvRaw gave %q, not a chunk: %v", raw, err)
		}
		return c, nil
	}},
}

func TestOpenAIStreamEnds(t *testing.T) {
	long := strings.Repeat("x", 10000) // longer than the reader's buffer
	tests := []struct {
		name    string
		body    string
		want    error         // io.EOF, or nil when an error of kind is wanted
		kind    provider.Kind // when want is nil
		code    string
		content string // of the chunks before the end
	}{
		{"finish and done", chunkOK + chunkStop + done, io.EOF, 0, "", "ok"},
		{"done without finish_reason", chunkOK + done, io.EOF, 0, "", "ok"},
		{"finish without done", chunkOK + chunkStop, io.EOF, 0, "", "ok"},
		{"done without its line end", chunkOK + "data: [DONE]", io.EOF, 0, "", "ok"},
		{"CRLF line ends", strings.ReplaceAll(chunkOK+chunkStop+done, "\n", "\r\n"), io.EOF, 0, "", "ok"},
		{"no space after data:", strings.ReplaceAll(chunkOK+chunkStop+done, "data: ", "data:"), io.EOF, 0, "", "ok"},
		{"comments and events", ": keep-alive\n\nevent: message\nid: 7\nretry: 10\n" + chunkOK + chunkStop + done, io.EOF, 0, "", "ok"},
		{"chunk longer than the buffer", strings.Replace(chunkOK, `"ok"`, `"`+long+`"`, 1) + chunkStop + done, io.EOF, 0, "", long},
		{"ends early, cleanly", chunkOK, nil, provider.KindConnection, "", "ok"},
		{"ends early, mid-line", chunkOK + `data: {"id":"1","obj`, nil, provider.KindConnection, "", "ok"},
		{"content filtered", chunkOK + chunkFilter + done, nil, provider.KindContentPolicy, "content_filter", "ok"},
		{"error in stream", chunkOK + `data: {"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}}` + "\n\n", nil, provider.KindContextWindow, "context_length_exceeded", "ok"},
		{"server error in stream", `data: {"error":{"message":"boom","type":"server_error","code":null}}` + "\n\n", nil, provider.KindUnavailable, "", ""},
		{"error object as a plain body", "{\n  \"error\": {\"message\": \"slow down\", \"type\": \"requests\", \"code\": \"rate_limit_exceeded\"}\n}\n", nil, provider.KindRateLimited, "rate_limit_exceeded", ""},
		{"garbage chunk", "data: {not json}\n\n", nil, provider.KindUnavailable, "", ""},
		{"chunk not an object", "data: [1,2]\n\n", nil, provider.KindUnavailable, "", ""},
		{"only noise", strings.Repeat(": ping\n", 400), nil, provider.KindUnavailable, "", ""},
	}
	for _, rf := range recvFuncs {
		for _, tt := range tests {
			t.Run(rf.name+"/"+tt.name, func(t *testing.T) {
				p := newOpenAI(t, provider.OpenAIConfig{BaseURL: sse(t, tt.body)})
				s, err := p.ChatCompletionStream(t.Context(), chat("m"))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				var last error
				var content strings.Builder
				for range 10 {
					var c openai.ChatCompletionStreamResponse
					if c, last = rf.recv(s); last != nil {
						break
					}
					for _, ch := range c.Choices {
						content.WriteString(ch.Delta.Content)
					}
				}
				if content.String() != tt.content {
					t.Errorf("content %.40q, want %.40q", content.String(), tt.content)
				}
				if tt.want != nil {
					if last != tt.want {
						t.Fatalf("stream ended with %v, want %v", last, tt.want)
					}
					return
				}
				var e *provider.Error
				if !errors.As(last, &e) || e.Kind != tt.kind || e.Code != tt.code || e.Model != "m" || e.Provider != "openai" {
					t.Fatalf("stream ended with %v (%+v), want kind %v code %q", last, e, tt.kind, tt.code)
				}
				if _, again := rf.recv(s); again != last {
					t.Errorf("after the failure: %v, want the same error", again)
				}
			})
		}
	}
}

func TestOpenAIContentFilteredChat(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: srv.URL()})
	srv.SetFault("", providertest.Fault{FinishReason: openai.FinishReasonLength})
	resp, err := p.ChatCompletion(t.Context(), chat("m"))
	if err != nil || resp.Choices[0].FinishReason != openai.FinishReasonLength {
		t.Errorf("finish_reason length: %v, %v; want an answer", resp.Choices, err)
	}
	srv.SetFault("", providertest.Fault{FinishReason: openai.FinishReasonContentFilter})
	_, err = p.ChatCompletion(t.Context(), chat("m"))
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindContentPolicy || e.Status != http.StatusOK {
		t.Errorf("content_filter: %v, want KindContentPolicy with status 200", err)
	}
}

func TestOpenAIErrorBodies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   provider.Error
	}{
		{"html 502", 502, nil, "<html>bad gateway</html>", provider.Error{Kind: provider.KindUnavailable, Status: 502}},
		{"empty 429 with ms", 429, http.Header{"Retry-After-Ms": {"40"}}, "", provider.Error{Kind: provider.KindRateLimited, Status: 429, RetryAfter: 40 * time.Millisecond}},
		{"json without error", 400, nil, `{"detail":"x"}`, provider.Error{Kind: provider.KindBadRequest, Status: 400}},
		{"string message list", 400, nil, `{"error":{"message":["a","b"],"code":"context_length_exceeded"}}`, provider.Error{Kind: provider.KindContextWindow, Status: 400, Code: "context_length_exceeded"}},
		{"numeric code", 429, nil, `{"error":{"message":"slow down","code":429}}`, provider.Error{Kind: provider.KindRateLimited, Status: 429, Code: "429"}},
		{"azure inner error", 400, nil, `{"error":{"message":"filtered","code":null,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}`, provider.Error{Kind: provider.KindContentPolicy, Status: 400, Code: "ResponsibleAIPolicyViolation"}},
		{"gemini error array", 429, nil, `[{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]`, provider.Error{Kind: provider.KindRateLimited, Status: 429, Code: "429"}},
		{"gemini error object", 400, nil, `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}`, provider.Error{Kind: provider.KindBadRequest, Status: 400, Code: "400"}},
		{"empty array", 503, nil, `[]`, provider.Error{Kind: provider.KindUnavailable, Status: 503}},
		{"anthropic-style overloaded", 529, nil, `{"error":{"type":"overloaded_error","message":"Overloaded"}}`, provider.Error{Kind: provider.KindUnavailable, Status: 529}},
		{"invalid key", 401, nil, `{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}`, provider.Error{Kind: provider.KindAuth, Status: 401, Code: "invalid_api_key"}},
		{"200 that is not JSON", 200, nil, "<html>maintenance</html>", provider.Error{Kind: provider.KindUnavailable}},
		{"200 with an array", 200, nil, `[1]`, provider.Error{Kind: provider.KindUnavailable}},
		{"200 empty", 200, nil, ``, provider.Error{Kind: provider.KindConnection}},
		{"every choice filtered", 200, nil, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"content_filter"}]}`,
			provider.Error{Kind: provider.KindContentPolicy, Status: 200, Code: "content_filter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer hs.Close()
			p := newOpenAI(t, provider.OpenAIConfig{BaseURL: hs.URL})
			// The raw calls (raw.go) fail as ChatCompletion fails.
			type call struct {
				name string
				do   func() error
			}
			calls := []call{
				{"typed", func() error { _, err := p.ChatCompletion(t.Context(), chat("m")); return err }},
				{"raw", func() error { _, err := rawCall(t, p, chat("m")); return err }},
			}
			if tt.status >= 400 { // a 200 is a stream of its own
				calls = append(calls, call{"raw stream", func() error {
					s, err := p.ChatCompletionStreamRaw(t.Context(), "m", []byte(`{"model":"m","stream":true}`))
					if err == nil {
						s.Close()
					}
					return err
				}})
			}
			for _, call := range calls {
				err := call.do()
				var e *provider.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %v is not a *provider.Error", call.name, err)
				}
				got := provider.Error{Kind: e.Kind, Status: e.Status, Code: e.Code, RetryAfter: e.RetryAfter}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s: (-want +got):\n%s", call.name, diff)
				}
				if e.Provider != "openai" || e.Model != "m" {
					t.Errorf("%s: error names %s/%s, want openai/m", call.name, e.Provider, e.Model)
				}
			}
		})
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	base := hs.URL + "/v1"
	hs.Close() // nothing listens there any more
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: base})
	_, err := p.ChatCompletion(t.Context(), chat("m"))
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindConnection || e.Status != 0 {
		t.Errorf("refused: %v, want KindConnection", err)
	}
}

func TestOpenAIClientSideErrors(t *testing.T) {
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: "http://127.0.0.1:9/v1"})
	req := chat("m")
	req.Messages[0].MultiContent = []openai.ChatMessagePart{{Type: openai.ChatMessagePartTypeText, Text: "x"}}
	_, err := p.ChatCompletion(t.Context(), req)
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindBadRequest {
		t.Errorf("Content and MultiContent: %v, want KindBadRequest", err)
	}
}

func TestOpenAIStreamStatusError(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: srv.URL()})
	srv.SetFault("m", providertest.Fault{Status: 429, RetryAfter: 3 * time.Second})
	s, err := p.ChatCompletionStream(t.Context(), chat("m"))
	if s != nil {
		t.Error("a failed stream is not nil")
	}
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindRateLimited || e.RetryAfter != 3*time.Second {
		t.Errorf("stream open: %v, want KindRateLimited with RetryAfter 3s", err)
	}
}

func TestOpenAICallerClient(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	var calls int
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return http.DefaultTransport.RoundTrip(r)
	})}
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: srv.URL(), HTTPClient: hc})
	if _, err := p.ChatCompletion(t.Context(), chat("m")); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("the caller's client made %d calls, want 1", calls)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewHTTPClient(t *testing.T) {
	c := provider.NewHTTPClient()
	if c.Timeout != 0 {
		t.Errorf("Timeout = %v, want none (contexts bound calls)", c.Timeout)
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T", c.Transport)
	}
	if tr.MaxIdleConnsPerHost < 1024 || tr.MaxIdleConns < tr.MaxIdleConnsPerHost {
		t.Errorf("MaxIdleConnsPerHost = %d, MaxIdleConns = %d; want at least 1024 for thousands of req/s", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if tr.TLSHandshakeTimeout == 0 || tr.IdleConnTimeout == 0 || tr.ResponseHeaderTimeout != 0 {
		t.Errorf("timeouts: TLS %v, idle %v, response header %v", tr.TLSHandshakeTimeout, tr.IdleConnTimeout, tr.ResponseHeaderTimeout)
	}
	if provider.NewHTTPClient().Transport == c.Transport {
		t.Error("two clients share a transport")
	}
}

// chopped serves the stream body one byte per read, so "data: [DONE]" is
// split across reads.
func TestOpenAIStreamDoneAcrossReads(t *testing.T) {
	body := chunkOK + done
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: 200, Status: "200 OK", Header: http.Header{"Content-Type": {"text/event-stream"}},
			Body: io.NopCloser(iotest.OneByteReader(strings.NewReader(body))), Request: r,
		}, nil
	})}
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: "http://llm.invalid/v1", HTTPClient: hc})
	s, err := p.ChatCompletionStream(t.Context(), chat("m"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("end = %v, want io.EOF: [DONE] split across reads was missed", err)
	}
}

func TestOpenAIProbe(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: srv.URL()})
	if err := p.Probe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(providertest.PathModels); n != 1 {
		t.Errorf("%d probes reached /v1/models, want 1", n)
	}
	srv.SetFault("", providertest.Fault{Status: 401})
	err := p.Probe(t.Context())
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindAuth || e.Model != "" {
		t.Errorf("probe: %v, want KindAuth", err)
	}
}

func TestOpenAICanceledBeforeCall(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	p := newOpenAI(t, provider.OpenAIConfig{BaseURL: srv.URL()})
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(fmt.Errorf("client went away"))
	_, err := p.ChatCompletion(ctx, chat("m"))
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v, want KindCanceled", err)
	}
	if srv.Total() != 0 {
		t.Errorf("%d requests reached the server after cancellation", srv.Total())
	}
}

func TestOpenAIConfigRedacts(t *testing.T) {
	cfg := provider.OpenAIConfig{Name: "groq", APIKey: "sk-secret-1", Headers: map[string]string{"X-Api-Key": "hdr-secret-2"}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, cfg)
		if strings.Contains(got, "secret") || !strings.Contains(got, "groq") || !strings.Contains(got, "X-Api-Key") {
			t.Errorf("Sprintf(%s) = %s", verb, got)
		}
	}
	if cfg.APIKey != "sk-secret-1" {
		t.Error("String changed the config")
	}
}
