// Package anthropictest is a fake of Anthropic's Messages API for tests, on
// loopback.
//
// A Server speaks the Messages API in front of a providertest.Handler (the
// fake OpenAI-compatible API): each POST /v1/messages is translated to a
// chat completion call to that Handler, and its answer back into Anthropic's
// shapes, as documented by Anthropic: a message object, the stream events
// message_start, content_block_start, ping, content_block_delta
// (text_delta), content_block_stop, message_delta and message_stop, and
// error bodies {"type": "error", "error": {"type", "message"},
// "request_id"}. So the Handler's counters and faults apply unchanged: a
// 429 becomes rate_limit_error, a 529 overloaded_error, a 400
// context_length_exceeded an invalid_request_error "prompt is too long: …",
// a content_filter finish the stop reason "refusal"; a dropped connection
// or a stream cut is passed on as such, Retry-After headers as they are.
// GET /v1/models lists the Handler's models. Claude on Vertex AI is served
// too: POST /v1/projects/P/locations/L/publishers/anthropic/models/MODEL:rawPredict
// (and :streamRawPredict), whose body has anthropic_version
// "vertex-2023-10-16" and no model; WithVertexToken checks its bearer
// token.
//
// The Server checks what Anthropic requires of every request: the
// anthropic-version header, a model, max_tokens and at least one message;
// with WithAPIKey it refuses a wrong x-api-key with 401
// authentication_error.
package anthropictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider/providertest"
)

// Server is a fake Messages API on an httptest server, answering through a
// providertest.Server. Close it when done.
type Server struct {
	upstream *providertest.Server
	srv      *httptest.Server
	apiKey   string
	token    string
	seq      atomic.Uint64
	client   *http.Client
}

// Option configures a Server.
type Option func(*Server)

// WithVertexToken makes the Server refuse Vertex AI requests whose
// Authorization is not "Bearer token".
func WithVertexToken(token string) Option { return func(s *Server) { s.token = token } }

// WithAPIKey makes the Server refuse requests whose x-api-key is not key.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// NewServer starts a Server in front of upstream, which it does not own.
func NewServer(upstream *providertest.Server, opts ...Option) *Server {
	s := &Server{upstream: upstream, client: upstream.Client()}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s)
	return s
}

// URL returns the API root: give it to anthropic.Config.BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the Server down (not its upstream).
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.client.CloseIdleConnections()
}

// request is what the Server reads of a Messages request.
type request struct {
	Model            string    `json:"model"`
	AnthropicVersion string    `json:"anthropic_version"` // Vertex AI`
	MaxTokens        int       `json:"max_tokens"`
	Stream           bool      `json:"stream"`
	System           any       `json:"system"`
	Messages         []message `json:"messages"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		if !s.check(w, r) {
			return
		}
		s.models(w, r)
	case r.URL.Path == "/v1/messages" && r.Method == http.MethodPost:
		if !s.check(w, r) {
			return
		}
		s.messages(w, r, "")
	case vertexPath.MatchString(r.URL.EscapedPath()) && r.Method == http.MethodPost:
		if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
			writeError(w, http.StatusUnauthorized, "authentication_error", "invalid bearer token", nil)
			return
		}
		s.messages(w, r, r.URL.EscapedPath())
	default:
		writeError(w, http.StatusNotFound, "not_found_error", "anthropictest: no route "+r.Method+" "+r.URL.Path, nil)
	}
}

// check answers requests without the headers Anthropic requires.
func (s *Server) check(w http.ResponseWriter, r *http.Request) bool {
	if s.apiKey != "" && r.Header.Get("X-Api-Key") != s.apiKey {
		writeError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key", nil)
		return false
	}
	if r.Header.Get("Anthropic-Version") == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required", nil)
		return false
	}
	return true
}

// vertexPath matches Claude's rawPredict and streamRawPredict paths on
// Vertex AI: /v1/projects/P/locations/L/publishers/anthropic/models/MODEL:METHOD.
// It is matched against the escaped path: the model is one segment.
var vertexPath = regexp.MustCompile(`^/v1/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/([^/]+):(rawPredict|streamRawPredict)$`)

// messages serves /v1/messages, or on Vertex AI (vertex, the path) the
// rawPredict methods: the model comes from the path, the body carries
// anthropic_version and no model, and streamRawPredict streams.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, vertex string) {
	var req request
	if err := json.NewDecoder(io.LimitReader(r.Body, 32<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "anthropictest: the body is not valid JSON: "+err.Error(), nil)
		return
	}
	if vertex != "" {
		m := vertexPath.FindStringSubmatch(vertex)
		switch {
		case req.Model != "":
			writeError(w, http.StatusBadRequest, "invalid_request_error", "model: Extra inputs are not permitted", nil)
			return
		case req.AnthropicVersion != "vertex-2023-10-16":
			writeError(w, http.StatusBadRequest, "invalid_request_error", "anthropic_version: want vertex-2023-10-16", nil)
			return
		}
		model, err := url.PathUnescape(m[1])
		if err != nil {
			writeError(w, http.StatusNotFound, "not_found_error", "anthropictest: invalid model in the path", nil)
			return
		}
		req.Model, req.Stream = model, m[2] == "streamRawPredict"
	}
	switch {
	case req.Model == "":
		writeError(w, http.StatusBadRequest, "invalid_request_error", "model: Field required", nil)
		return
	case req.MaxTokens <= 0:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required", nil)
		return
	case len(req.Messages) == 0:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages: at least one message is required", nil)
		return
	}
	up := openai.ChatCompletionRequest{Model: req.Model, MaxTokens: req.MaxTokens, Stream: req.Stream}
	for _, m := range req.Messages {
		up.Messages = append(up.Messages, openai.ChatCompletionMessage{Role: m.Role, Content: text(m.Content)})
	}
	if req.Stream {
		up.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	body, _ := json.Marshal(up)
	resp, ok := s.call(w, r, http.MethodPost, "/chat/completions", body)
	if !ok {
		return
	}
	defer resp.Body.Close()
	if req.Stream {
		s.stream(w, resp.Body, req.Model)
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
		content = append(content, map[string]any{"type": "text", "text": c.Message.Content})
	}
	providertest.WriteJSON(w, map[string]any{
		"id": s.id(), "type": "message", "role": "assistant", "model": req.Model,
		"content": content, "stop_reason": stopReason(c.FinishReason), "stop_sequence": nil,
		"usage": map[string]any{
			"input_tokens": cr.Usage.PromptTokens, "output_tokens": cr.Usage.CompletionTokens,
			"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
		},
	}, nil)
}

// text joins the text of a message's content: a string, or the text of its
// text and tool_result blocks.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Type    string          `json:"type"`
		Text    string          `json:"text"`
		Content json.RawMessage `json:"content"`
	}
	json.Unmarshal(raw, &blocks)
	var b strings.Builder
	for _, bl := range blocks {
		b.WriteString(bl.Text)
		if len(bl.Content) > 0 {
			b.WriteString(text(bl.Content))
		}
	}
	return b.String()
}

// call makes the upstream call; on an error answer or a failure it answers
// w itself and reports false.
func (s *Server) call(w http.ResponseWriter, r *http.Request, method, path string, body []byte) (*http.Response, bool) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, s.upstream.URL()+path, rd)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "api_error", err.Error(), nil)
		return nil, false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		providertest.Drop(w) // the upstream dropped the connection, or the client went away
		return nil, false
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		s.upstreamError(w, resp)
		return nil, false
	}
	return resp, true
}

// upstreamError answers with the Anthropic error an OpenAI error answer
// stands for.
func (s *Server) upstreamError(w http.ResponseWriter, resp *http.Response) {
	ue := providertest.ReadError(resp)
	msg := ue.Message
	if ue.Code == "context_length_exceeded" {
		msg = "prompt is too long: 208310 tokens > 200000 maximum"
	}
	writeError(w, ue.Status, errorType(ue.Status, ue.Code), msg, ue.Header)
}

// errorType is Anthropic's error type for an HTTP status.
func errorType(status int, code string) string {
	switch {
	case status == 401:
		return "authentication_error"
	case status == 402:
		return "billing_error"
	case status == 403:
		return "permission_error"
	case status == 404:
		return "not_found_error"
	case status == 413:
		return "request_too_large"
	case status == 429:
		return "rate_limit_error"
	case status == 504:
		return "timeout_error"
	case status == 529:
		return "overloaded_error"
	case status >= 500:
		return "api_error"
	}
	return "invalid_request_error"
}

func stopReason(f openai.FinishReason) string {
	switch f {
	case openai.FinishReasonLength:
		return "max_tokens"
	case openai.FinishReasonToolCalls:
		return "tool_use"
	case openai.FinishReasonContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// stream translates the upstream's chunks into Messages events as they
// arrive; an upstream that breaks off breaks this stream off too.
func (s *Server) stream(w http.ResponseWriter, body io.Reader, model string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(typ string, v map[string]any) bool {
		v["type"] = typ
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	send("message_start", map[string]any{"message": map[string]any{
		"id": s.id(), "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
	}})
	send("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	send("ping", map[string]any{})
	var stop string
	output := 0
	done := providertest.ReadStream(body, func(c openai.ChatCompletionStreamResponse) bool {
		if c.Usage != nil {
			output = c.Usage.CompletionTokens
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" && !send("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "text_delta", "text": ch.Delta.Content}}) {
				return false
			}
			if ch.FinishReason != "" {
				stop = stopReason(ch.FinishReason)
			}
		}
		return true
	})
	if done && stop != "" {
		send("content_block_stop", map[string]any{"index": 0})
		send("message_delta", map[string]any{
			"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": output},
		})
		send("message_stop", map[string]any{})
		return
	}
	providertest.Drop(w) // the upstream broke off
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	resp, ok := s.call(w, r, http.MethodGet, "/models", nil)
	if !ok {
		return
	}
	defer resp.Body.Close()
	var list openai.ModelsList
	json.NewDecoder(resp.Body).Decode(&list)
	data := []map[string]any{}
	for _, m := range list.Models {
		data = append(data, map[string]any{"type": "model", "id": m.ID, "display_name": m.ID, "created_at": "2025-01-01T00:00:00Z"})
	}
	out := map[string]any{"data": data, "has_more": false, "first_id": nil, "last_id": nil}
	if n := len(data); n > 0 {
		out["first_id"], out["last_id"] = data[0]["id"], data[n-1]["id"]
	}
	providertest.WriteJSON(w, out, nil)
}

func (s *Server) id() string { return "msg_fake" + strconv.FormatUint(s.seq.Add(1), 10) }

// writeError writes Anthropic's error shape.
func writeError(w http.ResponseWriter, status int, typ, msg string, hdr http.Header) {
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type":       "error",
		"error":      map[string]any{"type": typ, "message": msg},
		"request_id": "req_fake",
	})
}
