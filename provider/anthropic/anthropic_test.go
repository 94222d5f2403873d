package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
)

// recorder is an httptest server that answers every request with one
// recorded answer and keeps the last request.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	body   []byte
	header http.Header
	path   string
}

func newRecorder(t *testing.T, status int, header http.Header, answer string) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.body, rec.header, rec.path = b, r.Header.Clone(), r.URL.Path
		rec.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) provider(t *testing.T) *anthropic.Provider {
	t.Helper()
	p, err := anthropic.New(anthropic.Config{BaseURL: r.srv.URL, APIKey: "sk-ant-1", HTTPClient: r.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sent returns the last request body, decoded.
func (r *recorder) sent(t *testing.T) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("request body %q: %v", r.body, err)
	}
	return m
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return m
}

// answerText is a Messages answer as documented by Anthropic.
const answerText = `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi! My name is Claude."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"output_tokens":503}}`

func TestRequestTranslation(t *testing.T) {
	tests := []struct {
		name string
		req  openai.ChatCompletionRequest
		want string // the Messages request body
	}{
		{
			name: "system prompt and multi-turn",
			req: openai.ChatCompletionRequest{
				Model: "claude-sonnet-4-5",
				Messages: []openai.ChatCompletionMessage{
					{Role: "system", Content: "Be brief."},
					{Role: "developer", Content: "Answer in English."},
					{Role: "user", Content: "Hello"},
					{Role: "assistant", Content: "Hi."},
					{Role: "user", Content: "Who are you?"},
				},
				MaxTokens: 100, Temperature: 0.5, TopP: 0.9, Stop: []string{"END"}, User: "u-1",
			},
			want: `{"model":"claude-sonnet-4-5","max_tokens":100,
				"system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Answer in English."}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]},
					{"role":"assistant","content":[{"type":"text","text":"Hi."}]},
					{"role":"user","content":[{"type":"text","text":"Who are you?"}]}],
				"stop_sequences":["END"],"temperature":0.5,"top_p":0.9,"metadata":{"user_id":"u-1"}}`,
		},
		{
			name: "max_completion_tokens wins, default otherwise",
			req: openai.ChatCompletionRequest{
				Model: "m", MaxTokens: 10, MaxCompletionTokens: 20,
				Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}},
			},
			want: `{"model":"m","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		},
		{
			name: "default max_tokens",
			req:  openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		},
		{
			name: "tools, tool calls and tool results",
			req: openai.ChatCompletionRequest{
				Model: "m", MaxTokens: 5,
				Messages: []openai.ChatCompletionMessage{
					{Role: "user", Content: "Weather in Paris and Rome?"},
					{Role: "assistant", ToolCalls: []openai.ToolCall{
						{ID: "toolu_1", Type: "function", Function: openai.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
						{ID: "toolu_2", Type: "function", Function: openai.FunctionCall{Name: "get_weather", Arguments: ``}},
					}},
					{Role: "tool", ToolCallID: "toolu_1", Content: "18C"},
					{Role: "tool", ToolCallID: "toolu_2", Content: "21C"},
				},
				Tools: []openai.Tool{
					{Type: "function", Function: &openai.FunctionDefinition{Name: "get_weather", Description: "Weather of a city",
						Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
					{Type: "function", Function: &openai.FunctionDefinition{Name: "now"}},
				},
				ToolChoice:        "required",
				ParallelToolCalls: false,
			},
			want: `{"model":"m","max_tokens":5,
				"messages":[{"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},
					{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
						{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{}}]},
					{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"18C"}]},
						{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"21C"}]}]}],
				"tools":[{"name":"get_weather","description":"Weather of a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
					{"name":"now","input_schema":{"type":"object","properties":{}}}],
				"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
		},
		{
			name: "tool choice by name, decoded from JSON",
			req: openai.ChatCompletionRequest{
				Model: "m", MaxTokens: 5,
				Messages:   []openai.ChatCompletionMessage{{Role: "user", Content: "x"}},
				Tools:      []openai.Tool{{Type: "function", Function: &openai.FunctionDefinition{Name: "f"}}},
				ToolChoice: map[string]any{"type": "function", "function": map[string]any{"name": "f"}},
			},
			want: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"tool","name":"f"}}`,
		},
		{
			name: "images",
			req: openai.ChatCompletionRequest{
				Model: "m", MaxTokens: 5,
				Messages: []openai.ChatCompletionMessage{{Role: "user", MultiContent: []openai.ChatMessagePart{
					{Type: "text", Text: "What is in these?"},
					{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "data:image/png;base64,iVBORw0KGgo="}},
					{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "https://example.com/cat.jpg"}},
				}}},
			},
			want: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
				{"type":"text","text":"What is in these?"},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
				{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, 200, nil, answerText)
			if _, err := rec.provider(t).ChatCompletion(t.Context(), tt.req); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decode(t, tt.want), rec.sent(t)); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestRefused(t *testing.T) {
	user := []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}
	tests := []struct {
		name string
		req  openai.ChatCompletionRequest
	}{
		{"n > 1", openai.ChatCompletionRequest{Model: "m", Messages: user, N: 2}},
		{"logprobs", openai.ChatCompletionRequest{Model: "m", Messages: user, LogProbs: true}},
		{"json_object", openai.ChatCompletionRequest{Model: "m", Messages: user, ResponseFormat: &openai.ChatCompletionResponseFormat{Type: "json_object"}}},
		{"legacy functions", openai.ChatCompletionRequest{Model: "m", Messages: user, Functions: []openai.FunctionDefinition{{Name: "f"}}}},
		{"unknown role", openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "function", Content: "x"}}}},
		{"tool message without id", openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "tool", Content: "x"}}}},
		{"arguments not an object", openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{
			{Role: "assistant", ToolCalls: []openai.ToolCall{{ID: "a", Function: openai.FunctionCall{Name: "f", Arguments: "[1]"}}}}}}},
		{"image in a system message", openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{
			{Role: "system", MultiContent: []openai.ChatMessagePart{{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "https://x/y.png"}}}}}}},
		{"image not a URL", openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{
			{Role: "user", MultiContent: []openai.ChatMessagePart{{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "file:///etc/passwd"}}}}}}},
		{"tool choice unknown", openai.ChatCompletionRequest{Model: "m", Messages: user, ToolChoice: "sometimes"}},
		{"tool choice without a name", openai.ChatCompletionRequest{Model: "m", Messages: user, ToolChoice: openai.ToolChoice{Type: "function"}}},
		{"tool without a function", openai.ChatCompletionRequest{Model: "m", Messages: user, Tools: []openai.Tool{{Type: "function"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, 200, nil, answerText)
			p := rec.provider(t)
			// What the Messages API cannot express is KindUnsupported
			// (another provider may serve it); what is malformed is
			// KindBadRequest.
			kind := provider.KindBadRequest
			switch tt.name {
			case "n > 1", "logprobs", "json_object", "legacy functions":
				kind = provider.KindUnsupported
			}
			_, err := p.ChatCompletion(t.Context(), tt.req)
			var e *provider.Error
			if !errors.As(err, &e) || e.Kind != kind || e.Model != "m" || e.Provider != "anthropic" {
				t.Fatalf("ChatCompletion error = %v, want a %v *provider.Error naming anthropic/m", err, kind)
			}
			if !strings.HasPrefix(e.Err.Error(), "anthropic: ") {
				t.Errorf("error %q does not start with the package name", e.Err)
			}
			if _, err := p.ChatCompletionStream(t.Context(), tt.req); !errors.As(err, &e) || e.Kind != kind {
				t.Errorf("ChatCompletionStream error = %v, want %v", err, kind)
			}
			if rec.body != nil {
				t.Errorf("a refused request reached the upstream: %s", rec.body)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	rec := newRecorder(t, 200, nil, answerText)
	p, err := anthropic.New(anthropic.Config{
		BaseURL: rec.srv.URL + "/v1/messages", APIKey: "sk-ant-1", Version: "2099-01-01",
		Headers: map[string]string{"anthropic-beta": "prompt-caching-2024-07-31"}, HTTPClient: rec.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"path": rec.path}
	for _, k := range []string{"X-Api-Key", "Anthropic-Version", "Anthropic-Beta", "Content-Type", "Authorization"} {
		got[k] = rec.header.Get(k)
	}
	want := map[string]string{
		"path": "/v1/messages", "X-Api-Key": "sk-ant-1", "Anthropic-Version": "2099-01-01",
		"Anthropic-Beta": "prompt-caching-2024-07-31", "Content-Type": "application/json", "Authorization": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestResponseTranslation(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   openai.ChatCompletionResponse
	}{
		{
			name:   "text",
			answer: answerText,
			want: openai.ChatCompletionResponse{
				ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Object: "chat.completion", Model: "claude-sonnet-4-5",
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "Hi! My name is Claude."}, FinishReason: "stop"}},
				Usage:   openai.Usage{PromptTokens: 2095, CompletionTokens: 503, TotalTokens: 2598},
			},
		},
		{
			name: "tool use, thinking and cache tokens",
			answer: `{"id":"msg_01","type":"message","role":"assistant","model":"claude-opus-4-1","content":[
				{"type":"thinking","thinking":"The user wants weather.","signature":"EqQB"},
				{"type":"text","text":"Let me check."},
				{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"location":"San Francisco, CA"}}],
				"stop_reason":"tool_use","stop_sequence":null,
				"usage":{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":30}}`,
			want: openai.ChatCompletionResponse{
				ID: "msg_01", Object: "chat.completion", Model: "claude-opus-4-1",
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{
					Role: "assistant", Content: "Let me check.", ReasoningContent: "The user wants weather.",
					ToolCalls: []openai.ToolCall{{ID: "toolu_01A", Type: "function", Function: openai.FunctionCall{Name: "get_weather", Arguments: `{"location":"San Francisco, CA"}`}}},
				}, FinishReason: "tool_calls"}},
				Usage: openai.Usage{PromptTokens: 3050, CompletionTokens: 30, TotalTokens: 3080, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 2000}},
			},
		},
		{
			name:   "max_tokens",
			answer: `{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Once upon"}],"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":2}}`,
			want: openai.ChatCompletionResponse{
				ID: "msg_2", Object: "chat.completion", Model: "m",
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "Once upon"}, FinishReason: "length"}},
				Usage:   openai.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3},
			},
		},
		{
			name:   "stop sequence",
			answer: `{"id":"msg_3","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"a"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":1,"output_tokens":1}}`,
			want: openai.ChatCompletionResponse{
				ID: "msg_3", Object: "chat.completion", Model: "m",
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "a"}, FinishReason: "stop"}},
				Usage:   openai.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, 200, nil, tt.answer)
			got, err := rec.provider(t).ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(openai.ChatCompletionResponse{}, "Created"), cmpopts.IgnoreUnexported(openai.ChatCompletionResponse{})); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	rec := newRecorder(t, 200, nil, `{"id":"msg_4","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"refusal","usage":{"input_tokens":1,"output_tokens":0}}`)
	_, err := rec.provider(t).ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindContentPolicy || e.Code != "content_filter" {
		t.Fatalf("error = %v, want KindContentPolicy with code content_filter", err)
	}
}

func TestErrorClassification(t *testing.T) {
	body := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
	}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   provider.Error
	}{
		{"rate limited", 429, http.Header{"Retry-After": {"12"}}, body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
			provider.Error{Kind: provider.KindRateLimited, Status: 429, Code: "rate_limit_exceeded", RetryAfter: 12 * time.Second}},
		{"overloaded", 529, nil, body("overloaded_error", "Overloaded"),
			provider.Error{Kind: provider.KindUnavailable, Status: 529, Code: "overloaded_error"}},
		{"prompt too long", 400, nil, body("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"),
			provider.Error{Kind: provider.KindContextWindow, Status: 400, Code: "context_length_exceeded"}},
		{"input and max_tokens over the limit", 400, nil, body("invalid_request_error", "input length and `max_tokens` exceed context limit: 197626 + 21333 > 200000, decrease input length or `max_tokens` and try again"),
			provider.Error{Kind: provider.KindContextWindow, Status: 400, Code: "context_length_exceeded"}},
		{"invalid request", 400, nil, body("invalid_request_error", "messages: roles must alternate"),
			provider.Error{Kind: provider.KindBadRequest, Status: 400, Code: "invalid_request_error"}},
		{"authentication", 401, nil, body("authentication_error", "invalid x-api-key"),
			provider.Error{Kind: provider.KindAuth, Status: 401, Code: "authentication_error"}},
		{"billing", 402, nil, body("billing_error", "credit balance too low"),
			provider.Error{Kind: provider.KindAuth, Status: 402, Code: "billing_error"}},
		{"permission", 403, nil, body("permission_error", "not allowed"),
			provider.Error{Kind: provider.KindAuth, Status: 403, Code: "permission_error"}},
		{"not found", 404, nil, body("not_found_error", "model: claude-9"),
			provider.Error{Kind: provider.KindNotFound, Status: 404, Code: "not_found_error"}},
		{"request too large", 413, nil, body("request_too_large", "Request exceeds the maximum allowed number of bytes"),
			provider.Error{Kind: provider.KindBadRequest, Status: 413, Code: "request_too_large"}},
		{"api error", 500, nil, body("api_error", "Internal server error"),
			provider.Error{Kind: provider.KindUnavailable, Status: 500, Code: "api_error"}},
		{"timeout", 504, nil, body("timeout_error", "Request timed out"),
			provider.Error{Kind: provider.KindTimeout, Status: 504, Code: "timeout_error"}},
		{"429 without a type", 429, nil, `<html>Too Many Requests</html>`,
			provider.Error{Kind: provider.KindRateLimited, Status: 429, Code: "rate_limit_exceeded"}},
		{"502 from a proxy", 502, nil, `Bad Gateway`,
			provider.Error{Kind: provider.KindUnavailable, Status: 502}},
		{"unknown type, status decides", 503, http.Header{"Retry-After": {"3"}}, body("brand_new_error", "?"),
			provider.Error{Kind: provider.KindUnavailable, Status: 503, Code: "brand_new_error", RetryAfter: 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, tt.status, tt.header, tt.body)
			p := rec.provider(t)
			req := openai.ChatCompletionRequest{Model: "claude-x", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}
			want := tt.want
			want.Provider, want.Model = "anthropic", "claude-x"
			check := func(what string, err error) {
				t.Helper()
				var e *provider.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %v is not a *provider.Error", what, err)
				}
				var ae *anthropic.APIError
				if !errors.As(err, &ae) || ae.Status != tt.status {
					t.Errorf("%s: error %v does not wrap an *anthropic.APIError with status %d", what, err, tt.status)
				}
				if diff := cmp.Diff(want, *e, cmpopts.IgnoreFields(provider.Error{}, "Err")); diff != "" {
					t.Errorf("%s: error (-want +got):\n%s", what, diff)
				}
			}
			_, err := p.ChatCompletion(t.Context(), req)
			check("ChatCompletion", err)
			_, err = p.ChatCompletionStream(t.Context(), req)
			check("ChatCompletionStream", err)
		})
	}
}

// streamText is a streamed answer as documented by Anthropic, with a ping.
const streamText = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-opus-4-1","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_read_input_tokens":5}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}

`

// streamTool is a streamed tool use as documented by Anthropic.
const streamTool = `event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4-1","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Need the weather."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"Paris\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

`

func intp(i int) *int { return &i }

func TestStreamMapping(t *testing.T) {
	chunk := func(delta openai.ChatCompletionStreamChoiceDelta, finish openai.FinishReason) openai.ChatCompletionStreamResponse {
		return openai.ChatCompletionStreamResponse{Object: "chat.completion.chunk", Choices: []openai.ChatCompletionStreamChoice{{Delta: delta, FinishReason: finish}}}
	}
	tests := []struct {
		name         string
		body         string
		includeUsage bool
		want         []openai.ChatCompletionStreamResponse
		wantErr      provider.Kind // -1: io.EOF
	}{
		{
			name: "text", body: streamText, wantErr: -1,
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{Content: "!"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{}, "stop"),
			},
		},
		{
			name: "text with usage", body: streamText, includeUsage: true, wantErr: -1,
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{Content: "!"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{}, "stop"),
				{Object: "chat.completion.chunk", Choices: []openai.ChatCompletionStreamChoice{},
					Usage: &openai.Usage{PromptTokens: 30, CompletionTokens: 15, TotalTokens: 45, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 5}}},
			},
		},
		{
			name: "thinking and tool use", body: streamTool, wantErr: -1,
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", ReasoningContent: "Need the weather."}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: intp(0), ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Type: "function", Function: openai.FunctionCall{Name: "get_weather"}}}}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: intp(0), Function: openai.FunctionCall{Arguments: ""}}}}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: intp(0), Function: openai.FunctionCall{Arguments: `{"location":`}}}}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: intp(0), Function: openai.FunctionCall{Arguments: ` "Paris"}`}}}}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{}, "tool_calls"),
			},
		},
		{
			name: "overloaded mid-stream", wantErr: provider.KindUnavailable,
			body: streamText[:strings.Index(streamText, "event: content_block_stop")] +
				"event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{Content: "!"}, ""),
			},
		},
		{
			name: "cut before message_stop", wantErr: provider.KindConnection,
			body: streamText[:strings.Index(streamText, "event: message_delta")],
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{Content: "!"}, ""),
			},
		},
		{
			name: "refusal", wantErr: provider.KindContentPolicy,
			body: strings.Replace(streamText, `"stop_reason":"end_turn"`, `"stop_reason":"refusal"`, 1),
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{Content: "!"}, ""),
			},
		},
		{
			name: "not JSON", wantErr: provider.KindUnavailable,
			body: "event: message_start\ndata: {not json\n\n",
		},
		{
			name: "input_json_delta for a text block", wantErr: provider.KindUnavailable,
			body: streamText[:strings.Index(streamText, "event: ping")] +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, 200, http.Header{"Content-Type": {"text/event-stream"}}, tt.body)
			req := openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}
			if tt.includeUsage {
				req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
			}
			s, err := rec.provider(t).ChatCompletionStream(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if sent := rec.sent(t); sent["stream"] != true {
				t.Errorf("request stream = %v, want true", sent["stream"])
			}
			var got []openai.ChatCompletionStreamResponse
			for {
				c, err := s.Recv()
				if err != nil {
					if tt.wantErr == -1 {
						if err != io.EOF {
							t.Errorf("stream ended with %v, want io.EOF", err)
						}
					} else if e := provider.Classify(err); e.Kind != tt.wantErr {
						t.Errorf("stream ended with %v (%v), want %v", err, e.Kind, tt.wantErr)
					}
					if _, again := s.Recv(); again != err {
						t.Errorf("Recv after the end = %v, want %v again", again, err)
					}
					break
				}
				got = append(got, c)
			}
			opts := cmp.Options{cmpopts.IgnoreFields(openai.ChatCompletionStreamResponse{}, "ID", "Created", "Model"), cmpopts.IgnoreUnexported(openai.ChatCompletionStreamResponse{}), cmpopts.EquateEmpty()}
			if diff := cmp.Diff(tt.want, got, opts...); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVertexRequest(t *testing.T) {
	rec := newRecorder(t, 200, nil, answerText)
	p, err := anthropic.NewVertex(anthropic.Config{BaseURL: rec.srv.URL + "/v1", APIKey: "sk-ant-unused", HTTPClient: rec.srv.Client()},
		anthropic.VertexConfig{Project: "my-project", Location: "europe-west1"})
	if err != nil {
		t.Fatal(err)
	}
	req := openai.ChatCompletionRequest{Model: "claude-3-5-sonnet-v2@20241022", MaxTokens: 10, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}
	if _, err := p.ChatCompletion(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	want := decode(t, `{"anthropic_version":"vertex-2023-10-16","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`)
	if diff := cmp.Diff(want, rec.sent(t)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if want := "/v1/projects/my-project/locations/europe-west1/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022:rawPredict"; rec.path != want {
		t.Errorf("path %q, want %q", rec.path, want)
	}
	if rec.header.Get("X-Api-Key") != "" || rec.header.Get("Anthropic-Version") != "" {
		t.Errorf("Vertex request carries Anthropic's headers: %v", rec.header)
	}
	if _, ok := any(p).(provider.Prober); ok {
		t.Errorf("Claude on Vertex has a Probe, but Vertex has no cheap call for it")
	}
	for _, v := range []anthropic.VertexConfig{{Project: "p"}, {Location: "l"}, {Project: "a/b", Location: "l"}} {
		if _, err := anthropic.NewVertex(anthropic.Config{}, v); !errors.Is(err, provider.ErrInvalidConfig) {
			t.Errorf("Vertex %+v: err = %v, want ErrInvalidConfig", v, err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  anthropic.Config
		ok   bool
	}{
		{"zero value", anthropic.Config{}, true},
		{"root", anthropic.Config{BaseURL: "http://127.0.0.1:8080"}, true},
		{"messages URL", anthropic.Config{BaseURL: "https://api.anthropic.com/v1/messages"}, true},
		{"no scheme", anthropic.Config{BaseURL: "api.anthropic.com"}, false},
		{"query", anthropic.Config{BaseURL: "https://h/?a=1"}, false},
		{"credentials", anthropic.Config{BaseURL: "https://u:p@h"}, false},
		{"key with newline", anthropic.Config{APIKey: "sk-ant\nX: 1"}, false},
		{"bad version", anthropic.Config{Version: "2023\r"}, false},
		{"bad header name", anthropic.Config{Headers: map[string]string{"a b": "c"}}, false},
		{"bad header value", anthropic.Config{Headers: map[string]string{"a": "c\n"}}, false},
		{"negative max tokens", anthropic.Config{MaxTokens: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := anthropic.New(tt.cfg)
			if tt.ok != (err == nil) {
				t.Fatalf("New error = %v, want ok = %v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, provider.ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "anthropic: ") {
					t.Errorf("error %q: want an anthropic: error matching provider.ErrInvalidConfig", err)
				}
				if strings.Contains(err.Error(), "sk-ant") {
					t.Errorf("error %q leaks the key", err)
				}
				return
			}
			p.Close()
		})
	}
}

func TestConfigStringRedacts(t *testing.T) {
	c := anthropic.Config{APIKey: "sk-ant-secret", Headers: map[string]string{"X-Token": "tok-secret"}}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "secret") {
			t.Errorf("%q leaks a secret", s)
		}
	}
}

func TestProbeCanceled(t *testing.T) {
	rec := newRecorder(t, 200, nil, `{"data":[]}`)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := rec.provider(t).Probe(ctx)
	if e := provider.Classify(err); e == nil || e.Kind != provider.KindCanceled {
		t.Fatalf("Probe = %v, want KindCanceled", err)
	}
}
