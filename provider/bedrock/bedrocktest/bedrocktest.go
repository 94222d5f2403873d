// Package bedrocktest is a fake of Amazon Bedrock's runtime API for tests,
// on loopback.
//
// A Server speaks Bedrock's REST JSON protocol in front of a
// providertest.Handler (the fake OpenAI-compatible API): POST
// /model/MODEL/converse and /model/MODEL/converse-stream are translated to
// chat completion calls to that Handler, and POST /model/MODEL/invoke of a
// Titan or Cohere embedding model to an embeddings call; the answers come
// back in Bedrock's shapes, as AWS documents them: a Converse output
// {"output": {"message"}, "stopReason", "usage", "metrics"}; the events
// messageStart, contentBlockDelta, contentBlockStop, messageStop and
// metadata in the application/vnd.amazon.eventstream encoding (the SDK's
// own encoder); and errors as a status, an X-Amzn-ErrorType header and
// {"message"}. So the Handler's counters and faults apply unchanged: a 429
// becomes a ThrottlingException, a 400 context_length_exceeded a
// ValidationException "Input is too long for requested model.", a
// content_filter finish the stop reason "content_filtered"; a dropped
// connection or a stream cut is passed on as such, Retry-After headers as
// they are.
//
// With WithCredentials, the Server checks each request's SigV4
// Authorization header names the access key, the region and the service
// "bedrock" (it does not verify the signature), and answers 403
// UnrecognizedClientException otherwise.
package bedrocktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider/providertest"
)

// Server is a fake Bedrock runtime on an httptest server, answering through
// a providertest.Server. Close it when done.
type Server struct {
	upstream *providertest.Server
	srv      *httptest.Server
	client   *http.Client
	keyID    string
	region   string
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials makes the Server refuse requests not signed with keyID
// for region.
func WithCredentials(keyID, region string) Option {
	return func(s *Server) { s.keyID, s.region = keyID, region }
}

// NewServer starts a Server in front of upstream, which it does not own.
func NewServer(upstream *providertest.Server, opts ...Option) *Server {
	s := &Server{upstream: upstream, client: upstream.Client()}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s)
	return s
}

// URL returns the endpoint: give it to bedrock.Config.Endpoint.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the Server down (not its upstream).
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.client.CloseIdleConnections()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /model/{modelId}/{operation}, the model ID escaped as one segment.
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(parts) != 3 || parts[0] != "model" || r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "bedrocktest: no operation "+r.Method+" "+r.URL.Path, nil)
		return
	}
	model, err := url.PathUnescape(parts[1])
	if err != nil || model == "" {
		writeError(w, http.StatusBadRequest, "ValidationException", "bedrocktest: invalid model ID", nil)
		return
	}
	if !s.signed(r) {
		writeError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.", nil)
		return
	}
	switch parts[2] {
	case "converse":
		s.converse(w, r, model, false)
	case "converse-stream":
		s.converse(w, r, model, true)
	case "invoke":
		s.invoke(w, r, model)
	default:
		writeError(w, http.StatusNotFound, "UnknownOperationException", "bedrocktest: no operation "+parts[2], nil)
	}
}

// signed checks the SigV4 credential scope, when WithCredentials asked.
func (s *Server) signed(r *http.Request) bool {
	if s.keyID == "" {
		return true
	}
	auth := r.Header.Get("Authorization")
	cred, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 Credential=")
	if !ok {
		return false
	}
	cred, _, _ = strings.Cut(cred, ",")
	f := strings.Split(cred, "/")
	return len(f) == 5 && f[0] == s.keyID && f[2] == s.region && f[3] == "bedrock" && f[4] == "aws4_request"
}

// converseRequest is what the Server reads of a Converse request.
type converseRequest struct {
	Messages []struct {
		Role    string            `json:"role"`
		Content []json.RawMessage `json:"content"`
	} `json:"messages"`
	System []struct {
		Text string `json:"text"`
	} `json:"system"`
	InferenceConfig *struct {
		MaxTokens int `json:"maxTokens"`
	} `json:"inferenceConfig"`
}

func (s *Server) converse(w http.ResponseWriter, r *http.Request, model string, stream bool) {
	var req converseRequest
	raw, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationException", "bedrocktest: the body is not valid JSON", nil)
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "ValidationException", "A conversation must start with a user message.", nil)
		return
	}
	up := openai.ChatCompletionRequest{Model: model, Stream: stream}
	for _, sys := range req.System {
		up.Messages = append(up.Messages, openai.ChatCompletionMessage{Role: "system", Content: sys.Text})
	}
	for _, m := range req.Messages {
		var text strings.Builder
		for _, c := range m.Content {
			var b struct {
				Text string `json:"text"`
			}
			json.Unmarshal(c, &b)
			text.WriteString(b.Text)
		}
		up.Messages = append(up.Messages, openai.ChatCompletionMessage{Role: m.Role, Content: text.String()})
	}
	if stream {
		up.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	body, _ := json.Marshal(up)
	resp, ok := s.call(w, r, "/chat/completions", body)
	if !ok {
		return
	}
	defer resp.Body.Close()
	if stream {
		s.stream(w, resp.Body)
		return
	}
	var cr openai.ChatCompletionResponse
	if err := json.NewDecoder(resp.Body).Decode(&cr); err != nil || len(cr.Choices) == 0 {
		providertest.Drop(w)
		return
	}
	c := cr.Choices[0]
	content := []map[string]any{}
	if c.Message.Content != "" {
		content = append(content, map[string]any{"text": c.Message.Content})
	}
	writeJSON(w, map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": stopReason(c.FinishReason),
		"usage":      map[string]any{"inputTokens": cr.Usage.PromptTokens, "outputTokens": cr.Usage.CompletionTokens, "totalTokens": cr.Usage.TotalTokens},
		"metrics":    map[string]any{"latencyMs": 12},
	})
}

// invoke serves the embedding models' InvokeModel bodies.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request, model string) {
	var req struct {
		InputText *string  `json:"inputText"`
		Texts     []string `json:"texts"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 32<<20)).Decode(&req); err != nil || (req.InputText == nil && len(req.Texts) == 0) {
		writeError(w, http.StatusBadRequest, "ValidationException", "bedrocktest: want {\"inputText\"} or {\"texts\"}", nil)
		return
	}
	var input any = req.Texts
	if req.InputText != nil {
		input = *req.InputText
	}
	body, _ := json.Marshal(map[string]any{"model": model, "input": input})
	resp, ok := s.call(w, r, "/embeddings", body)
	if !ok {
		return
	}
	defer resp.Body.Close()
	var er openai.EmbeddingResponse
	if err := json.NewDecoder(resp.Body).Decode(&er); err != nil || len(er.Data) == 0 {
		providertest.Drop(w)
		return
	}
	if req.InputText != nil {
		writeJSON(w, map[string]any{"embedding": er.Data[0].Embedding, "inputTextTokenCount": er.Usage.PromptTokens})
		return
	}
	vectors := make([][]float32, len(er.Data))
	for i, d := range er.Data {
		vectors[i] = d.Embedding
	}
	writeJSON(w, map[string]any{"id": "emb-fake", "embeddings": vectors, "texts": req.Texts, "response_type": "embeddings_floats"})
}

// call makes the upstream call; on an error answer or a failure it answers
// w itself and reports false.
func (s *Server) call(w http.ResponseWriter, r *http.Request, path string, body []byte) (*http.Response, bool) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, s.upstream.URL()+path, bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerException", err.Error(), nil)
		return nil, false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		providertest.Drop(w)
		return nil, false
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		ue := providertest.ReadError(resp)
		msg := ue.Message
		if ue.Code == "context_length_exceeded" {
			msg = "Input is too long for requested model."
		}
		writeError(w, ue.Status, exception(ue.Status), msg, ue.Header)
		return nil, false
	}
	return resp, true
}

// exception is Bedrock's exception for an HTTP status.
func exception(status int) string {
	switch {
	case status == 401:
		return "UnrecognizedClientException"
	case status == 403:
		return "AccessDeniedException"
	case status == 404:
		return "ResourceNotFoundException"
	case status == 408, status == 504:
		return "ModelTimeoutException"
	case status == 424:
		return "ModelErrorException"
	case status == 429:
		return "ThrottlingException"
	case status == 500:
		return "InternalServerException"
	case status >= 500:
		return "ServiceUnavailableException"
	}
	return "ValidationException"
}

func stopReason(f openai.FinishReason) string {
	switch f {
	case openai.FinishReasonLength:
		return "max_tokens"
	case openai.FinishReasonToolCalls:
		return "tool_use"
	case openai.FinishReasonContentFilter:
		return "content_filtered"
	}
	return "end_turn"
}

// stream translates the upstream's chunks into ConverseStream events as
// they arrive; an upstream that breaks off breaks this stream off too.
func (s *Server) stream(w http.ResponseWriter, body io.Reader) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := eventstream.NewEncoder()
	send := func(typ string, v map[string]any) bool {
		payload, _ := json.Marshal(v)
		var h eventstream.Headers
		h.Set(":event-type", eventstream.StringValue(typ))
		h.Set(":content-type", eventstream.StringValue("application/json"))
		h.Set(":message-type", eventstream.StringValue("event"))
		if err := enc.Encode(w, eventstream.Message{Headers: h, Payload: payload}); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	send("messageStart", map[string]any{"role": "assistant"})
	var stop string
	var usage *openai.Usage
	done := providertest.ReadStream(body, func(c openai.ChatCompletionStreamResponse) bool {
		if c.Usage != nil {
			usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" && !send("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": ch.Delta.Content}}) {
				return false
			}
			if ch.FinishReason != "" {
				stop = stopReason(ch.FinishReason)
			}
		}
		return true
	})
	if done && stop != "" {
		send("contentBlockStop", map[string]any{"contentBlockIndex": 0})
		send("messageStop", map[string]any{"stopReason": stop})
		u := map[string]any{"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
		if usage != nil {
			u = map[string]any{"inputTokens": usage.PromptTokens, "outputTokens": usage.CompletionTokens, "totalTokens": usage.TotalTokens}
		}
		send("metadata", map[string]any{"usage": u, "metrics": map[string]any{"latencyMs": 12}})
		return
	}
	providertest.Drop(w) // the upstream broke off
}

// writeError writes Bedrock's error shape.
func writeError(w http.ResponseWriter, status int, typ, msg string, hdr http.Header) {
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	providertest.WriteJSON(w, v, http.Header{"X-Amzn-Requestid": {"fake-request-id"}})
}
