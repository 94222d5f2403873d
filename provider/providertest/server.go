package providertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// Endpoint paths, as counted by a Handler when called under "/v1".
const (
	PathChat       = "/v1/chat/completions"
	PathEmbeddings = "/v1/embeddings"
	PathModels     = "/v1/models"
)

// Fault is how a Handler misbehaves for a request. The zero Fault answers
// normally. Set one with SetFault, for one model or for every request.
type Fault struct {
	// Status, when 400 or more, answers with this HTTP status and an
	// OpenAI-shaped body {"error": {"message", "type", "param", "code"}}.
	Status int
	// Code is the body's error code ("context_length_exceeded",
	// "content_filter", …). Empty: the usual code for Status
	// (rate_limit_exceeded for 429, invalid_api_key for 401,
	// model_not_found for 404; none otherwise).
	Code string
	// Type is the body's error type. Empty: the usual type for Status.
	Type string
	// Message is the body's message. Empty: a made-up one.
	Message string
	// RetryAfter, when positive, is sent as "Retry-After" (whole seconds,
	// rounded up) and "retry-after-ms", with the error status.
	RetryAfter time.Duration
	// Header holds more response headers, sent as given (for example
	// "Retry-After" as an HTTP date).
	Header http.Header
	// Latency is waited before answering. The wait ends early, dropping the
	// connection, if the client goes away or the Handler is closed.
	Latency time.Duration
	// ChunkLatency is waited before each stream chunk after the first.
	ChunkLatency time.Duration
	// Drop closes the connection without answering.
	Drop bool
	// CutAfter, for a stream, closes the connection after this many content
	// chunks, before the stream's end. 0: never.
	CutAfter int
	// FinishReason ends the answer instead of "stop"; "content_filter"
	// also empties a non-streamed answer's content.
	FinishReason openai.FinishReason
	// Probability, between 0 and 1 exclusive, applies the fault to that
	// fraction of the matching requests (drawn from the Handler's seeded
	// source). 0 or 1 or more: to every one.
	Probability float64
	// Times, when positive, applies the fault to that many matching requests
	// only; then the Handler answers normally.
	Times int
}

// RateLimited is the fault of an upstream over its rate limit: 429
// rate_limit_exceeded, with Retry-After when retryAfter is positive.
func RateLimited(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, Code: "rate_limit_exceeded", RetryAfter: retryAfter}
}

// ContextLengthExceeded is OpenAI's answer to a prompt longer than the
// model's context window: 400 context_length_exceeded.
func ContextLengthExceeded() Fault {
	return Fault{
		Status: http.StatusBadRequest, Code: "context_length_exceeded", Type: "invalid_request_error",
		Message: "providertest: this model's maximum context length was exceeded",
	}
}

// ContentFiltered is an answer cut by the upstream's content filter:
// finish_reason "content_filter".
func ContentFiltered() Fault {
	return Fault{FinishReason: openai.FinishReasonContentFilter}
}

// Request is a request as a Handler received it.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Model    string // the body's model; "" for /models
	Stream   bool
	Body     []byte
}

// Option configures a Handler or Server.
type Option func(*options)

type options struct {
	chunks []string
	models []string
	apiKey string
	seed   uint64
}

// WithChunks sets the content deltas of a streamed answer; a non-streamed
// answer's content is their concatenation. Default: "o", "k" (content "ok").
func WithChunks(chunks ...string) Option {
	return func(o *options) { o.chunks = append([]string(nil), chunks...) }
}

// WithModels sets the model IDs that /models lists. Default: "fake-model".
func WithModels(ids ...string) Option {
	return func(o *options) { o.models = append([]string(nil), ids...) }
}

// WithAPIKey makes the Handler refuse, with 401 invalid_api_key, requests that
// carry neither "Authorization: Bearer KEY" nor "api-key: KEY".
func WithAPIKey(key string) Option {
	return func(o *options) { o.apiKey = key }
}

// WithSeed seeds the source of Fault.Probability draws. Default: 1.
func WithSeed(seed uint64) Option {
	return func(o *options) { o.seed = seed }
}

// Handler is a fake OpenAI-compatible API: POST …/chat/completions (JSON, or
// SSE with "stream": true), POST …/embeddings and GET …/models, matched by
// path suffix so that any base path works, Azure's deployment paths included.
// It counts the requests that reach it per path and per model, remembers the
// last one, and injects the faults set with SetFault.
//
// A Handler is safe for concurrent use and can serve on any listener; Server
// runs one on httptest. Close ends every wait it is in.
type Handler struct {
	chunks  []string // read-only
	content string   // read-only
	models  []string // read-only
	apiKey  string   // read-only

	mu      sync.Mutex
	faults  map[string]*faultState // guarded by mu; "" applies to every request
	rng     *rand.Rand             // guarded by mu
	paths   map[string]int         // guarded by mu
	byModel map[string]int         // guarded by mu
	total   int                    // guarded by mu
	last    *Request               // guarded by mu

	seq       atomic.Uint64
	bufs      sync.Pool // *[]byte
	done      chan struct{}
	closeOnce sync.Once
}

type faultState struct {
	f    Fault
	used int
}

// NewHandler returns a Handler with the given options.
func NewHandler(opts ...Option) *Handler {
	o := options{chunks: []string{"o", "k"}, models: []string{"fake-model"}, seed: 1}
	for _, opt := range opts {
		opt(&o)
	}
	return &Handler{
		chunks:  o.chunks,
		content: concat(o.chunks),
		models:  o.models,
		apiKey:  o.apiKey,
		faults:  make(map[string]*faultState),
		rng:     rand.New(rand.NewPCG(o.seed, o.seed)),
		paths:   make(map[string]int),
		byModel: make(map[string]int),
		done:    make(chan struct{}),
	}
}

// SetFault sets the fault for requests for model; model "" sets the fault for
// every request without a fault of its own, /models included. It replaces
// the previous fault of model and restarts its Times count.
func (h *Handler) SetFault(model string, f Fault) {
	h.mu.Lock()
	h.faults[model] = &faultState{f: f}
	h.mu.Unlock()
}

// ClearFault removes the fault of model ("": the fault for every request).
func (h *Handler) ClearFault(model string) {
	h.mu.Lock()
	delete(h.faults, model)
	h.mu.Unlock()
}

// ClearFaults removes every fault.
func (h *Handler) ClearFaults() {
	h.mu.Lock()
	clear(h.faults)
	h.mu.Unlock()
}

// Count returns how many requests reached path (for example PathChat).
func (h *Handler) Count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.paths[path]
}

// CountModel returns how many chat and embeddings requests named model.
func (h *Handler) CountModel(model string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byModel[model]
}

// Total returns how many requests reached the Handler.
func (h *Handler) Total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// ResetCounts sets every count to zero and forgets the last request.
func (h *Handler) ResetCounts() {
	h.mu.Lock()
	clear(h.paths)
	clear(h.byModel)
	h.total = 0
	h.last = nil
	h.mu.Unlock()
}

// LastRequest returns the last request that reached the Handler.
func (h *Handler) LastRequest() (Request, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		return Request{}, false
	}
	return *h.last, true
}

// Close ends the Handler's waits (Latency, ChunkLatency), dropping their
// connections. It is idempotent; the Handler still answers afterwards,
// without waiting.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.done) })
}

// record counts a request and returns the fault it gets, if any.
func (h *Handler) record(r *Request) (Fault, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total++
	h.paths[r.Path]++
	if r.Model != "" {
		h.byModel[r.Model]++
	}
	if r.Header != nil {
		h.last = r
	}
	return h.takeLocked(r.Model)
}

// takeLocked returns the fault for model, drawing its probability and
// counting its use. The caller holds h.mu.
func (h *Handler) takeLocked(model string) (Fault, bool) {
	fs := h.faults[model]
	if fs == nil && model != "" {
		fs = h.faults[""]
	}
	if fs == nil {
		return Fault{}, false
	}
	if fs.f.Times > 0 && fs.used >= fs.f.Times {
		return Fault{}, false
	}
	if p := fs.f.Probability; p > 0 && p < 1 && h.rng.Float64() >= p {
		return Fault{}, false
	}
	fs.used++
	return fs.f, true
}

// maxBody bounds request bodies.
const maxBody = 16 << 20

type endpoint int

const (
	epUnknown endpoint = iota
	epChat
	epEmbeddings
	epModels
)

func endpointOf(path string) endpoint {
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return epChat
	case strings.HasSuffix(path, "/embeddings"):
		return epEmbeddings
	case strings.HasSuffix(path, "/models"):
		return epModels
	}
	return epUnknown
}

// wireRequest is what the Handler reads of a request body.
type wireRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := endpointOf(r.URL.Path)
	rec := &Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header}
	var (
		wr      wireRequest
		readErr error
		jsonErr error
	)
	if ep == epChat || ep == epEmbeddings {
		rec.Body, readErr = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if readErr == nil {
			jsonErr = json.Unmarshal(rec.Body, &wr)
			rec.Model, rec.Stream = wr.Model, wr.Stream && ep == epChat
		}
	}
	f, faulty := h.record(rec)

	switch {
	case ep == epUnknown:
		writeError(w, http.StatusNotFound, "unknown_url", "invalid_request_error", "providertest: unknown path "+r.URL.Path, nil)
		return
	case ep == epModels && r.Method != http.MethodGet,
		ep != epModels && r.Method != http.MethodPost:
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "invalid_request_error", "providertest: method "+r.Method+" not allowed", nil)
		return
	case readErr != nil:
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", "invalid_request_error", "providertest: cannot read the body", nil)
		return
	case h.apiKey != "" && !h.authorized(r):
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "invalid_request_error", "providertest: incorrect API key", nil)
		return
	case jsonErr != nil:
		writeError(w, http.StatusBadRequest, "invalid_json", "invalid_request_error", "providertest: the body is not valid JSON", nil)
		return
	case ep != epModels && wr.Model == "":
		writeError(w, http.StatusBadRequest, "missing_model", "invalid_request_error", "providertest: you must provide a model parameter", nil)
		return
	}

	if faulty {
		if !h.sleep(r.Context(), f.Latency) || f.Drop {
			drop(w)
			return
		}
		if f.Status >= 400 {
			writeFault(w, f)
			return
		}
	}

	switch ep {
	case epModels:
		h.writeModels(w)
	case epEmbeddings:
		h.writeEmbeddings(w, &wr)
	case epChat:
		if wr.Stream {
			h.writeStream(w, r, &wr, f)
		} else {
			h.writeChat(w, &wr, f)
		}
	}
}

func (h *Handler) authorized(r *http.Request) bool {
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && k == h.apiKey {
		return true
	}
	return r.Header.Get("Api-Key") == h.apiKey
}

// sleep waits d; it reports false if the client went away or the Handler was
// closed first.
func (h *Handler) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-h.done:
	}
	return false
}

// drop closes the connection without (finishing) an answer.
func drop(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	// HTTP/2, or a writer that cannot be hijacked: abort the response.
	panic(http.ErrAbortHandler)
}

// usualCodeType gives the code and type an OpenAI error body has for status.
func usualCodeType(status int) (code, typ string) {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_api_key", "invalid_request_error"
	case status == http.StatusNotFound:
		return "model_not_found", "invalid_request_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_exceeded", "requests"
	case status >= 500:
		return "", "server_error"
	}
	return "", "invalid_request_error"
}

func writeFault(w http.ResponseWriter, f Fault) {
	code, typ := usualCodeType(f.Status)
	if f.Code != "" {
		code = f.Code
	}
	if f.Type != "" {
		typ = f.Type
	}
	msg := f.Message
	if msg == "" {
		msg = "providertest: injected fault, status " + strconv.Itoa(f.Status)
	}
	hdr := w.Header()
	if f.RetryAfter > 0 {
		hdr.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(f.RetryAfter.Seconds())), 10))
		hdr.Set("Retry-After-Ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
	}
	writeError(w, f.Status, code, typ, msg, f.Header)
}

// writeError writes an OpenAI-shaped error body.
func writeError(w http.ResponseWriter, status int, code, typ, msg string, extra http.Header) {
	hdr := w.Header()
	for k, v := range extra {
		hdr[http.CanonicalHeaderKey(k)] = v
	}
	b := make([]byte, 0, 128+len(msg))
	b = append(b, `{"error":{"message":`...)
	b = appendString(b, msg)
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	if code == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, code)
	}
	b = append(b, "}}"...)
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (h *Handler) getBuf() *[]byte {
	if b, ok := h.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 1024)
	return &b
}

func (h *Handler) putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		h.bufs.Put(b)
	}
}

func writeJSON(w http.ResponseWriter, b []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// created is the "created" time of every answer (2025-01-01 UTC).
const created = "1735689600"

func (h *Handler) appendID(b []byte) []byte {
	b = append(b, `"chatcmpl-fake-`...)
	b = strconv.AppendUint(b, h.seq.Add(1), 10)
	return append(b, '"')
}

const usage = `{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}`

func (h *Handler) writeChat(w http.ResponseWriter, wr *wireRequest, f Fault) {
	finish := f.FinishReason
	content := h.content
	if finish == "" {
		finish = openai.FinishReasonStop
	} else if finish == openai.FinishReasonContentFilter {
		content = ""
	}
	bp := h.getBuf()
	b := append(*bp, `{"id":`...)
	b = h.appendID(b)
	b = append(b, `,"object":"chat.completion","created":`+created+`,"model":`...)
	b = appendString(b, wr.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = appendString(b, content)
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	b = appendString(b, string(finish))
	b = append(b, `}],"usage":`+usage+`,"system_fingerprint":"fp_providertest"}`...)
	writeJSON(w, b)
	*bp = b
	h.putBuf(bp)
}

func (h *Handler) writeStream(w http.ResponseWriter, r *http.Request, wr *wireRequest, f Fault) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	bp := h.getBuf()
	defer h.putBuf(bp)
	var head []byte // `data: {"id":…,"model":…,"choices":[`, shared by every chunk
	head = append(head, `data: {"id":`...)
	head = h.appendID(head)
	head = append(head, `,"object":"chat.completion.chunk","created":`+created+`,"model":`...)
	head = appendString(head, wr.Model)
	head = append(head, `,"system_fingerprint":"fp_providertest","choices":[`...)

	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for i, c := range h.chunks {
		if f.CutAfter > 0 && i >= f.CutAfter {
			drop(w)
			return
		}
		if i > 0 && !h.sleep(r.Context(), f.ChunkLatency) {
			drop(w)
			return
		}
		b := append((*bp)[:0], head...)
		b = append(b, `{"index":0,"delta":{`...)
		if i == 0 {
			b = append(b, `"role":"assistant",`...)
		}
		b = append(b, `"content":`...)
		b = appendString(b, c)
		b = append(b, "},\"finish_reason\":null}]}\n\n"...)
		*bp = b
		if !send(b) {
			return
		}
	}
	if f.CutAfter > 0 {
		drop(w)
		return
	}
	finish := f.FinishReason
	if finish == "" {
		finish = openai.FinishReasonStop
	}
	b := append((*bp)[:0], head...)
	b = append(b, `{"index":0,"delta":{},"finish_reason":`...)
	b = appendString(b, string(finish))
	b = append(b, "}]}\n\n"...)
	if wr.StreamOptions != nil && wr.StreamOptions.IncludeUsage {
		b = append(b, head...)
		b = append(b, "],\"usage\":"+usage+"}\n\n"...)
	}
	b = append(b, "data: [DONE]\n\n"...)
	*bp = b
	send(b)
}

func (h *Handler) writeEmbeddings(w http.ResponseWriter, wr *wireRequest) {
	n, ok := countInput(wr.Input)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_input", "invalid_request_error", "providertest: input must be a string, an array of strings or of tokens", nil)
		return
	}
	base64Format := wr.EncodingFormat == string(openai.EmbeddingEncodingFormatBase64)
	bp := h.getBuf()
	b := append(*bp, `{"object":"list","data":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		if base64Format {
			b = append(b, '"')
			b = append(b, vectorBase64...)
			b = append(b, '"')
		} else {
			b = append(b, vectorJSON...)
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = appendString(b, wr.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "}}"...)
	writeJSON(w, b)
	*bp = b
	h.putBuf(bp)
}

// The vector of every embedding: [0.1, 0.2, 0.3].
const vectorJSON = "[0.1,0.2,0.3]"

var vectorBase64 = func() string {
	var raw [12]byte
	for i, v := range [3]float32{0.1, 0.2, 0.3} {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(raw[:])
}()

// countInput returns the number of embeddings an input asks for: 1 for a
// string or one array of tokens, else the array's length.
func countInput(in json.RawMessage) (int, bool) {
	in = bytes.TrimSpace(in)
	if len(in) == 0 {
		return 0, false
	}
	switch in[0] {
	case '"':
		return 1, true
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(in, &items); err != nil || len(items) == 0 {
			return 0, false
		}
		if c := bytes.TrimSpace(items[0]); len(c) > 0 && (c[0] == '-' || '0' <= c[0] && c[0] <= '9') {
			return 1, true
		}
		return len(items), true
	}
	return 0, false
}

func (h *Handler) writeModels(w http.ResponseWriter) {
	bp := h.getBuf()
	b := append(*bp, `{"object":"list","data":[`...)
	for i, id := range h.models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, id)
		b = append(b, `,"object":"model","created":`+created+`,"owned_by":"providertest"}`...)
	}
	b = append(b, "]}"...)
	writeJSON(w, b)
	*bp = b
	h.putBuf(bp)
}

// Fake returns a Fake that answers as h would, without HTTP: each call counts
// in h's counters under the path it would have reached (PathChat,
// PathEmbeddings, PathModels) and follows h's faults, converted to a Reply
// (an error status becomes a *provider.Error of the kind ClassifyStatus gives,
// with the fault's Retry-After; Drop becomes KindConnection; CutAfter
// BreakAfter). The Fake uses SetFunc; do not replace it.
func (h *Handler) Fake() *Fake {
	f := NewFake()
	f.SetFunc(func(c Call) Reply {
		path := PathChat
		switch c.Method {
		case MethodEmbeddings:
			path = PathEmbeddings
		case MethodProbe:
			path = PathModels
		}
		flt, ok := h.record(&Request{Method: http.MethodPost, Path: path, Model: c.Model, Stream: c.Method == MethodStream})
		r := Reply{Chunks: h.chunks}
		if ok {
			r = h.reply(flt)
		}
		return r
	})
	return f
}

// reply converts a fault to the Reply that makes a Fake behave alike.
func (h *Handler) reply(f Fault) Reply {
	r := Reply{
		Chunks:       h.chunks,
		Latency:      f.Latency,
		ChunkLatency: f.ChunkLatency,
		BreakAfter:   f.CutAfter,
		FinishReason: f.FinishReason,
	}
	switch {
	case f.Drop:
		r.Err = io.ErrUnexpectedEOF // classified as KindConnection
	case f.Status >= 400:
		code, _ := usualCodeType(f.Status)
		if f.Code != "" {
			code = f.Code
		}
		hdr := http.Header{}
		if f.RetryAfter > 0 {
			hdr.Set("Retry-After-Ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
		}
		for k, v := range f.Header {
			hdr[http.CanonicalHeaderKey(k)] = v
		}
		r.Kind = provider.ClassifyStatus(f.Status, code)
		r.Status = f.Status
		r.Code = code
		r.RetryAfter = provider.RetryAfter(hdr, time.Now())
	}
	return r
}

// Server is a Handler served by an httptest.Server on loopback.
type Server struct {
	*Handler
	srv *httptest.Server
}

// NewServer starts a Server; the caller must Close it.
func NewServer(opts ...Option) *Server {
	h := NewHandler(opts...)
	return &Server{Handler: h, srv: httptest.NewServer(h)}
}

// URL returns the API base URL, ending in /v1: give it to a provider as its
// base URL.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// Root returns the server's URL without a path (the base URL for Azure).
func (s *Server) Root() string { return s.srv.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close ends the Handler's waits, then shuts the server down, waiting for
// the requests in flight.
func (s *Server) Close() {
	s.Handler.Close()
	s.srv.Close()
}
