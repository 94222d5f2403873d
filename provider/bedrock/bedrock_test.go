package bedrock_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/bedrock"
	"github.com/modelroute/modelroute/provider/bedrock/bedrocktest"
	"github.com/modelroute/modelroute/provider/providertest"
)

// hermetic keeps the AWS SDK from reading the machine's AWS files and
// variables.
func hermetic(t testing.TB) {
	t.Helper()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// recorder answers every request with one recorded answer and keeps the
// last request.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	body   []byte
	path   string
	header http.Header
}

func newRecorder(t *testing.T, status int, header http.Header, answer func(w http.ResponseWriter)) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.body, rec.path, rec.header = b, r.URL.EscapedPath(), r.Header.Clone()
		rec.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		answer(w)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func text(s string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { io.WriteString(w, s) }
}

func (r *recorder) provider(t *testing.T) *bedrock.Provider {
	t.Helper()
	hermetic(t)
	p, err := bedrock.New(t.Context(), bedrock.Config{Region: "eu-west-1", AccessKeyID: "AKIDREC", SecretAccessKey: "secret-rec", Endpoint: r.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

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

// answerText is a Converse answer as AWS documents it.
const answerText = `{"output":{"message":{"role":"assistant","content":[{"text":"Hello! How can I help?"}]}},"stopReason":"end_turn","usage":{"inputTokens":12,"outputTokens":8,"totalTokens":20},"metrics":{"latencyMs":321}}`

func TestRequestTranslation(t *testing.T) {
	tests := []struct {
		name string
		req  openai.ChatCompletionRequest
		want string
	}{
		{
			name: "system prompt, multi-turn and inference settings",
			req: openai.ChatCompletionRequest{
				Model: "anthropic.claude-3-opus-20240229-v1:0",
				Messages: []openai.ChatCompletionMessage{
					{Role: "system", Content: "Be brief."},
					{Role: "user", Content: "Hello"},
					{Role: "assistant", Content: "Hi."},
					{Role: "user", Content: "Who are you?"},
				},
				MaxTokens: 100, Temperature: 0.5, TopP: 0.9, Stop: []string{"END"},
			},
			want: `{"system":[{"text":"Be brief."}],
				"messages":[{"role":"user","content":[{"text":"Hello"}]},{"role":"assistant","content":[{"text":"Hi."}]},{"role":"user","content":[{"text":"Who are you?"}]}],
				"inferenceConfig":{"maxTokens":100,"temperature":0.5,"topP":0.9,"stopSequences":["END"]}}`,
		},
		{
			name: "tools, tool calls and tool results",
			req: openai.ChatCompletionRequest{
				Model: "meta.llama3-70b-instruct-v1:0",
				Messages: []openai.ChatCompletionMessage{
					{Role: "user", Content: "Weather in Paris?"},
					{Role: "assistant", ToolCalls: []openai.ToolCall{{ID: "tooluse_1", Type: "function", Function: openai.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}}}},
					{Role: "tool", ToolCallID: "tooluse_1", Content: "18C"},
				},
				Tools: []openai.Tool{{Type: "function", Function: &openai.FunctionDefinition{Name: "get_weather", Description: "Weather of a city",
					Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}},
				ToolChoice: "required",
			},
			want: `{"messages":[{"role":"user","content":[{"text":"Weather in Paris?"}]},
					{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]},
					{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"text":"18C"}]}}]}],
				"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather of a city","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}],
					"toolChoice":{"any":{}}}}`,
		},
		{
			name: "image as bytes",
			req: openai.ChatCompletionRequest{
				Model: "anthropic.claude-3-haiku-20240307-v1:0",
				Messages: []openai.ChatCompletionMessage{{Role: "user", MultiContent: []openai.ChatMessagePart{
					{Type: "text", Text: "What is this?"},
					{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "data:image/png;base64,iVBORw0KGgo="}},
				}}},
			},
			want: `{"messages":[{"role":"user","content":[{"text":"What is this?"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, 200, nil, text(answerText))
			if _, err := rec.provider(t).ChatCompletion(t.Context(), tt.req); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decode(t, tt.want), rec.sent(t)); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
			if want := "/model/" + strings.ReplaceAll(tt.req.Model, ":", "%3A") + "/converse"; rec.path != want {
				t.Errorf("path %q, want %q", rec.path, want)
			}
			if auth := rec.header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDREC/") || !strings.Contains(auth, "/eu-west-1/bedrock/aws4_request") {
				t.Errorf("Authorization %q: want SigV4 for AKIDREC in eu-west-1", auth)
			}
		})
	}
}

func TestRequestRefused(t *testing.T) {
	user := []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}
	// What Converse cannot express is KindUnsupported (another provider may
	// serve it); what is malformed is KindBadRequest.
	unsupported := map[string]bool{"n > 1": true, "logprobs": true, "json_schema": true, "image link": true,
		"legacy functions": true, "unknown part types": true}
	for name, req := range map[string]openai.ChatCompletionRequest{
		"n > 1":              {Model: "m", Messages: user, N: 2},
		"logprobs":           {Model: "m", Messages: user, LogProbs: true},
		"json_schema":        {Model: "m", Messages: user, ResponseFormat: &openai.ChatCompletionResponseFormat{Type: "json_schema"}},
		"image link":         {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", MultiContent: []openai.ChatMessagePart{{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "https://x/y.png"}}}}}},
		"image format":       {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", MultiContent: []openai.ChatMessagePart{{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "data:image/bmp;base64,AA=="}}}}}},
		"bad base64":         {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", MultiContent: []openai.ChatMessagePart{{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "data:image/png;base64,!!"}}}}}},
		"arguments":          {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "assistant", ToolCalls: []openai.ToolCall{{ID: "a", Function: openai.FunctionCall{Name: "f", Arguments: "[]"}}}}}},
		"tool without id":    {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "tool", Content: "x"}}},
		"unknown role":       {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "function", Content: "x"}}},
		"tool choice":        {Model: "m", Messages: user, Tools: []openai.Tool{{Type: "function", Function: &openai.FunctionDefinition{Name: "f"}}}, ToolChoice: "sometimes"},
		"tool without name":  {Model: "m", Messages: user, Tools: []openai.Tool{{Type: "function", Function: &openai.FunctionDefinition{}}}},
		"legacy functions":   {Model: "m", Messages: user, Functions: []openai.FunctionDefinition{{Name: "f"}}},
		"image in a system":  {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "system", MultiContent: []openai.ChatMessagePart{{Type: "image_url", ImageURL: &openai.ChatMessageImageURL{URL: "data:image/png;base64,AA=="}}}}}},
		"content and parts":  {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x", MultiContent: []openai.ChatMessagePart{{Type: "text", Text: "y"}}}}},
		"unknown part types": {Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", MultiContent: []openai.ChatMessagePart{{Type: "input_audio"}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			rec := newRecorder(t, 200, nil, text(answerText))
			p := rec.provider(t)
			kind := provider.KindBadRequest
			if unsupported[name] {
				kind = provider.KindUnsupported
			}
			_, err := p.ChatCompletion(t.Context(), req)
			var e *provider.Error
			if !errors.As(err, &e) || e.Kind != kind || e.Model != "m" {
				t.Fatalf("error = %v, want %v naming m", err, kind)
			}
			if _, err := p.ChatCompletionStream(t.Context(), req); !errors.As(err, &e) || e.Kind != kind {
				t.Errorf("stream error = %v, want %v", err, kind)
			}
			if rec.body != nil {
				t.Errorf("a refused request went out: %s", rec.body)
			}
		})
	}
}

func TestResponseTranslation(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   openai.ChatCompletionResponse
	}{
		{
			name: "text", answer: answerText,
			want: openai.ChatCompletionResponse{Object: "chat.completion", Model: "m",
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "Hello! How can I help?"}, FinishReason: "stop"}},
				Usage:   openai.Usage{PromptTokens: 12, CompletionTokens: 8, TotalTokens: 20}},
		},
		{
			name: "tool use, reasoning and cache tokens",
			answer: `{"output":{"message":{"role":"assistant","content":[
				{"reasoningContent":{"reasoningText":{"text":"Need the weather.","signature":"sig"}}},
				{"text":"Let me check."},
				{"toolUse":{"toolUseId":"tooluse_abc","name":"get_weather","input":{"city":"Paris"}}}]}},
				"stopReason":"tool_use","usage":{"inputTokens":50,"outputTokens":30,"totalTokens":3080,"cacheReadInputTokens":2000,"cacheWriteInputTokens":1000},"metrics":{"latencyMs":1}}`,
			want: openai.ChatCompletionResponse{Object: "chat.completion", Model: "m",
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "Let me check.", ReasoningContent: "Need the weather.",
					ToolCalls: []openai.ToolCall{{ID: "tooluse_abc", Type: "function", Function: openai.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}}}}, FinishReason: "tool_calls"}},
				Usage: openai.Usage{PromptTokens: 3050, CompletionTokens: 30, TotalTokens: 3080, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 2000}}},
		},
		{
			name:   "max tokens",
			answer: `{"output":{"message":{"role":"assistant","content":[{"text":"Once"}]}},"stopReason":"max_tokens","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`,
			want: openai.ChatCompletionResponse{Object: "chat.completion", Model: "m",
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "Once"}, FinishReason: "length"}},
				Usage:   openai.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, 200, nil, text(tt.answer))
			got, err := rec.provider(t).ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(openai.ChatCompletionResponse{}, "ID", "Created"), cmpopts.IgnoreUnexported(openai.ChatCompletionResponse{})); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
	for _, stop := range []string{"guardrail_intervened", "content_filtered"} {
		rec := newRecorder(t, 200, nil, text(`{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"`+stop+`","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`))
		_, err := rec.provider(t).ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
		if e := provider.Classify(err); e == nil || e.Kind != provider.KindContentPolicy {
			t.Errorf("%s: error %v, want KindContentPolicy", stop, err)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		exception string
		message   string
		header    http.Header
		want      provider.Error
	}{
		{"throttled", 429, "ThrottlingException", "Too many requests, please wait before trying again.", http.Header{"Retry-After": {"3"}},
			provider.Error{Kind: provider.KindRateLimited, Status: 429, Code: "rate_limit_exceeded", RetryAfter: 3 * time.Second}},
		{"quota", 400, "ServiceQuotaExceededException", "Your request exceeds the service quota.", nil,
			provider.Error{Kind: provider.KindRateLimited, Status: 400, Code: "rate_limit_exceeded"}},
		{"input too long", 400, "ValidationException", "Input is too long for requested model.", nil,
			provider.Error{Kind: provider.KindContextWindow, Status: 400, Code: "context_length_exceeded"}},
		{"anthropic prompt too long", 400, "ValidationException", "prompt is too long: 210000 tokens > 200000 maximum", nil,
			provider.Error{Kind: provider.KindContextWindow, Status: 400, Code: "context_length_exceeded"}},
		{"titan too many tokens", 400, "ValidationException", "Too many input tokens. Max input tokens: 8192, request input token count: 9000", nil,
			provider.Error{Kind: provider.KindContextWindow, Status: 400, Code: "context_length_exceeded"}},
		{"validation", 400, "ValidationException", "The provided model identifier is invalid.", nil,
			provider.Error{Kind: provider.KindBadRequest, Status: 400, Code: "ValidationException"}},
		{"access denied", 403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", nil,
			provider.Error{Kind: provider.KindAuth, Status: 403, Code: "AccessDeniedException"}},
		{"bad key", 403, "UnrecognizedClientException", "The security token included in the request is invalid.", nil,
			provider.Error{Kind: provider.KindAuth, Status: 403, Code: "UnrecognizedClientException"}},
		{"not found", 404, "ResourceNotFoundException", "Could not resolve the foundation model.", nil,
			provider.Error{Kind: provider.KindNotFound, Status: 404, Code: "ResourceNotFoundException"}},
		{"model timeout", 408, "ModelTimeoutException", "Model has timed out.", nil,
			provider.Error{Kind: provider.KindTimeout, Status: 408, Code: "ModelTimeoutException"}},
		{"model not ready", 429, "ModelNotReadyException", "Model is not ready.", nil,
			provider.Error{Kind: provider.KindUnavailable, Status: 429, Code: "ModelNotReadyException"}},
		{"internal", 500, "InternalServerException", "Internal server error.", nil,
			provider.Error{Kind: provider.KindUnavailable, Status: 500, Code: "InternalServerException"}},
		{"unavailable", 503, "ServiceUnavailableException", "Service unavailable.", http.Header{"Retry-After-Ms": {"250"}},
			provider.Error{Kind: provider.KindUnavailable, Status: 503, Code: "ServiceUnavailableException", RetryAfter: 250 * time.Millisecond}},
		{"unknown exception, status decides", 502, "BrandNewException", "?", nil,
			provider.Error{Kind: provider.KindUnavailable, Status: 502, Code: "BrandNewException"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"X-Amzn-Errortype": {tt.exception}}
			for k, v := range tt.header {
				h[k] = v
			}
			rec := newRecorder(t, tt.status, h, text(`{"message":"`+tt.message+`"}`))
			p := rec.provider(t)
			req := openai.ChatCompletionRequest{Model: "anthropic.claude-v2", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}
			want := tt.want
			want.Provider, want.Model = "bedrock", "anthropic.claude-v2"
			for what, call := range map[string]func() error{
				"chat":   func() error { _, err := p.ChatCompletion(t.Context(), req); return err },
				"stream": func() error { _, err := p.ChatCompletionStream(t.Context(), req); return err },
			} {
				var e *provider.Error
				if err := call(); !errors.As(err, &e) {
					t.Fatalf("%s: error %v is not a *provider.Error", what, err)
				}
				if diff := cmp.Diff(want, *e, cmpopts.IgnoreFields(provider.Error{}, "Err")); diff != "" {
					t.Errorf("%s: error (-want +got):\n%s", what, diff)
				}
			}
		})
	}
}

// eventStream returns a ConverseStream answer of the given events (type,
// JSON payload) in the event-stream encoding, then an exception if
// exception is not empty.
func eventStream(events [][2]string, exception string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		enc := eventstream.NewEncoder()
		for _, ev := range events {
			var h eventstream.Headers
			h.Set(":event-type", eventstream.StringValue(ev[0]))
			h.Set(":content-type", eventstream.StringValue("application/json"))
			h.Set(":message-type", eventstream.StringValue("event"))
			enc.Encode(w, eventstream.Message{Headers: h, Payload: []byte(ev[1])})
		}
		if exception != "" {
			var h eventstream.Headers
			h.Set(":exception-type", eventstream.StringValue(exception))
			h.Set(":content-type", eventstream.StringValue("application/json"))
			h.Set(":message-type", eventstream.StringValue("exception"))
			enc.Encode(w, eventstream.Message{Headers: h, Payload: []byte(`{"message":"Too many requests"}`)})
		}
	}
}

var (
	evStart   = [2]string{"messageStart", `{"role":"assistant"}`}
	evHello   = [2]string{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello"}}`}
	evBang    = [2]string{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"!"}}`}
	evStop0   = [2]string{"contentBlockStop", `{"contentBlockIndex":0}`}
	evEnd     = [2]string{"messageStop", `{"stopReason":"end_turn"}`}
	evMeta    = [2]string{"metadata", `{"usage":{"inputTokens":25,"outputTokens":15,"totalTokens":40,"cacheReadInputTokens":5},"metrics":{"latencyMs":100}}`}
	evTool    = [2]string{"contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather"}}}`}
	evToolIn1 = [2]string{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}`}
	evToolIn2 = [2]string{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":" \"Paris\"}"}}}`}
	evReason  = [2]string{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Need the weather."}}}`}
	evToolEnd = [2]string{"messageStop", `{"stopReason":"tool_use"}`}
)

func intp(i int) *int { return &i }

func TestStreamMapping(t *testing.T) {
	chunk := func(d openai.ChatCompletionStreamChoiceDelta, f openai.FinishReason) openai.ChatCompletionStreamResponse {
		return openai.ChatCompletionStreamResponse{Object: "chat.completion.chunk", Model: "m", Choices: []openai.ChatCompletionStreamChoice{{Delta: d, FinishReason: f}}}
	}
	tests := []struct {
		name         string
		answer       func(http.ResponseWriter)
		includeUsage bool
		want         []openai.ChatCompletionStreamResponse
		wantErr      provider.Kind // -1: io.EOF
	}{
		{
			name: "text", answer: eventStream([][2]string{evStart, evHello, evBang, evStop0, evEnd, evMeta}, ""), wantErr: -1,
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{Content: "!"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{}, "stop"),
			},
		},
		{
			name: "text with usage", includeUsage: true, answer: eventStream([][2]string{evStart, evHello, evStop0, evEnd, evMeta}, ""), wantErr: -1,
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{}, "stop"),
				{Object: "chat.completion.chunk", Model: "m", Choices: []openai.ChatCompletionStreamChoice{},
					Usage: &openai.Usage{PromptTokens: 30, CompletionTokens: 15, TotalTokens: 45, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 5}}},
			},
		},
		{
			name: "reasoning and tool use", answer: eventStream([][2]string{evStart, evReason, evStop0, evTool, evToolIn1, evToolIn2, evToolEnd, evMeta}, ""), wantErr: -1,
			want: []openai.ChatCompletionStreamResponse{
				chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", ReasoningContent: "Need the weather."}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: intp(0), ID: "tooluse_1", Type: "function", Function: openai.FunctionCall{Name: "get_weather"}}}}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: intp(0), Function: openai.FunctionCall{Arguments: `{"city":`}}}}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: intp(0), Function: openai.FunctionCall{Arguments: ` "Paris"}`}}}}, ""),
				chunk(openai.ChatCompletionStreamChoiceDelta{}, "tool_calls"),
			},
		},
		{
			name: "throttled mid-stream", answer: eventStream([][2]string{evStart, evHello}, "throttlingException"), wantErr: provider.KindRateLimited,
			want: []openai.ChatCompletionStreamResponse{chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, "")},
		},
		{
			name: "cut before messageStop", answer: eventStream([][2]string{evStart, evHello}, ""), wantErr: provider.KindConnection,
			want: []openai.ChatCompletionStreamResponse{chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, "")},
		},
		{
			name: "guardrail", answer: eventStream([][2]string{evStart, evHello, evStop0, {"messageStop", `{"stopReason":"guardrail_intervened"}`}}, ""), wantErr: provider.KindContentPolicy,
			want: []openai.ChatCompletionStreamResponse{chunk(openai.ChatCompletionStreamChoiceDelta{Role: "assistant", Content: "Hello"}, "")},
		},
		{
			name: "tool input for a text block", answer: eventStream([][2]string{evStart, {"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{"}}}`}}, ""), wantErr: provider.KindUnavailable,
		},
		{
			name: "not an event stream", answer: text("<html>gateway</html>"), wantErr: provider.KindUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, 200, http.Header{"Content-Type": {"application/vnd.amazon.eventstream"}}, tt.answer)
			req := openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}
			if tt.includeUsage {
				req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
			}
			s, err := rec.provider(t).ChatCompletionStream(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
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
			opts := cmp.Options{cmpopts.IgnoreFields(openai.ChatCompletionStreamResponse{}, "ID", "Created"), cmpopts.IgnoreUnexported(openai.ChatCompletionStreamResponse{}), cmpopts.EquateEmpty()}
			if diff := cmp.Diff(tt.want, got, opts...); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	hermetic(t)
	tests := []struct {
		name string
		cfg  bedrock.Config
		want string // in the error; "" means success
	}{
		{"static key", bedrock.Config{Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "s3cr3t"}, ""},
		{"chain", bedrock.Config{Region: "us-east-1"}, ""},
		{"no region", bedrock.Config{AccessKeyID: "AKID", SecretAccessKey: "s3cr3t"}, "no region"},
		{"half a key", bedrock.Config{Region: "us-east-1", AccessKeyID: "AKID"}, "both"},
		{"secret alone", bedrock.Config{Region: "us-east-1", SecretAccessKey: "s3cr3t"}, "both"},
		{"token without a key", bedrock.Config{Region: "us-east-1", SessionToken: "s3cr3t"}, "session token"},
		{"bad endpoint", bedrock.Config{Region: "us-east-1", Endpoint: "bedrock.local"}, "endpoint"},
		{"endpoint with credentials", bedrock.Config{Region: "us-east-1", Endpoint: "https://u:s3cr3t@h"}, "endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := bedrock.New(t.Context(), tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, provider.ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "bedrock: ") {
				t.Fatalf("error %v, want a bedrock: ErrInvalidConfig containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q leaks a secret", err)
			}
		})
	}
	c := bedrock.Config{AccessKeyID: "AKIDX", SecretAccessKey: "s3cr3t", SessionToken: "t0ken"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "t0ken") || strings.Contains(s, "AKIDX") {
			t.Errorf("%q leaks a secret", s)
		}
	}
}

func TestNoCredentialsIsAuth(t *testing.T) {
	hermetic(t)
	srv := providertest.NewServer()
	defer srv.Close()
	fake := bedrocktest.NewServer(srv)
	defer fake.Close()
	p, err := bedrock.New(t.Context(), bedrock.Config{Region: "us-east-1", Endpoint: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
	if e := provider.Classify(err); e == nil || e.Kind != provider.KindAuth {
		t.Fatalf("error %v, want KindAuth (no credentials anywhere in the chain)", err)
	}
	if n := srv.Total(); n != 0 {
		t.Errorf("%d unsigned requests went out", n)
	}
}

func TestEmbeddings(t *testing.T) {
	hermetic(t)
	srv := providertest.NewServer()
	defer srv.Close()
	p := newFake(t, srv)
	for _, model := range []string{"amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "us.cohere.embed-multilingual-v3"} {
		resp, err := p.Embeddings(t.Context(), openai.EmbeddingRequest{Model: openai.EmbeddingModel(model), Input: []string{"a", "b"}})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if len(resp.Data) != 2 || resp.Data[1].Index != 1 || len(resp.Data[0].Embedding) != 3 || string(resp.Model) != model {
			t.Errorf("%s: %+v", model, resp)
		}
	}
	if got := srv.CountModel("amazon.titan-embed-text-v2:0"); got != 2 {
		t.Errorf("Titan calls = %d, want one per input (2)", got)
	}
	total := srv.Total()
	_, err := p.Embeddings(t.Context(), openai.EmbeddingRequest{Model: "anthropic.claude-v2", Input: "x"})
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindUnsupported || !errors.Is(err, errors.ErrUnsupported) || srv.Total() != total {
		t.Errorf("embeddings of a chat model: %v, want KindUnsupported wrapping ErrUnsupported without a call", err)
	}
	srv.SetFault("", providertest.RateLimited(0))
	_, err = p.Embeddings(t.Context(), openai.EmbeddingRequest{Model: "cohere.embed-english-v3", Input: "x"})
	if !errors.As(err, &e) || e.Kind != provider.KindRateLimited {
		t.Errorf("throttled embeddings: %v, want KindRateLimited", err)
	}
}
