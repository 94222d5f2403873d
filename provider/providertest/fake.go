package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// FakeName is the Provider field of the errors a Fake returns.
const FakeName = "fake"

// Fake is a scriptable provider.Provider and provider.Prober. Each call takes
// its Reply from the function set with SetFunc if there is one, else from the
// queue filled by Enqueue, else the default (SetDefault); with no script at
// all it answers a canned success at once. Every call is recorded.
//
// A Fake is safe for concurrent use. The zero Fake is ready to use, like the
// one NewFake returns.
type Fake struct {
	mu       sync.Mutex
	queue    []Reply            // guarded by mu
	def      Reply              // guarded by mu
	fn       func(c Call) Reply // guarded by mu
	calls    callLog            // guarded by mu
	probeErr error              // guarded by mu
}

var (
	_ provider.Provider  = (*Fake)(nil)
	_ provider.Prober    = (*Fake)(nil)
	_ provider.RawStream = (*fakeStream)(nil)
)

// NewFake returns a Fake with no script: every call succeeds at once.
func NewFake() *Fake { return &Fake{} }

// Reply scripts one call of a Fake. The zero Reply is a canned success.
type Reply struct {
	// Response answers ChatCompletion; its slices are shared by every call
	// it answers. Nil: {Model: req.Model, one choice "ok" (the concatenated
	// Chunks when they are set), Usage{10, 5, 15}}.
	Response *openai.ChatCompletionResponse
	// Err is returned as an *provider.Error: as is if it already is one,
	// else classified with provider.Classify (Kind, Status and RetryAfter,
	// when set, override the classification).
	Err error
	// Kind, when not zero (and Err is nil), fails the call with a
	// *provider.Error of this kind.
	Kind provider.Kind
	// Status is the HTTP status of that error. 0: the status such an error
	// usually has (429 for KindRateLimited, 400 for KindContextWindow, …; none
	// for KindConnection, KindTimeout and KindCanceled).
	Status int
	// Code is the OpenAI error code of that error. Empty: the usual code
	// for the kind ("rate_limit_exceeded", "context_length_exceeded", …).
	Code string
	// RetryAfter is the Retry-After carried by that error.
	RetryAfter time.Duration
	// Latency is waited before answering, or before a stream starts. If the
	// context ends first the call fails with KindCanceled (canceled) or
	// KindTimeout (deadline passed), wrapping the context's error.
	Latency time.Duration
	// Chunks are a stream's content deltas, one per chunk. Nil: ["o", "k"].
	Chunks []string
	// ChunkLatency is waited before each chunk after the first, respecting
	// the context like Latency.
	ChunkLatency time.Duration
	// BreakAfter: after this many chunks, Recv fails with KindConnection
	// instead of going on. 0: never.
	BreakAfter int
	// FinishReason ends the answer; a stream carries it on its last chunk.
	// Empty: "stop". "content_filter" makes ChatCompletion fail, and Recv
	// fail after the last chunk, with KindContentPolicy, as the OpenAI
	// provider does.
	FinishReason openai.FinishReason
	// Embeddings answers Embeddings. Nil: one 3-dimensional vector per input.
	Embeddings *openai.EmbeddingResponse
}

// Call is one recorded call of a Fake.
type Call struct {
	Method   string                         // "chat", "stream", "embeddings" or "probe"
	Model    string                         // the request's model ("" for probes)
	Messages []openai.ChatCompletionMessage // the request's messages, shared with the caller: do not modify
	Time     time.Time                      // when the call started (time.Now, so synctest's clock in a bubble)
}

// Call methods.
const (
	MethodChat       = "chat"
	MethodStream     = "stream"
	MethodEmbeddings = "embeddings"
	MethodProbe      = "probe"
)

// Enqueue appends replies, consumed one per call (probes excepted), in order;
// once they run out the default applies again.
func (f *Fake) Enqueue(r ...Reply) {
	f.mu.Lock()
	f.queue = append(f.queue, r...)
	f.mu.Unlock()
}

// SetDefault sets the Reply used when no function is set and the queue is
// empty.
func (f *Fake) SetDefault(r Reply) {
	f.mu.Lock()
	f.def = r
	f.mu.Unlock()
}

// SetFunc sets a function that scripts every call, probes included, taking
// precedence over the queue and the default; nil removes it. fn is called
// without the Fake's lock held, possibly from many goroutines at once.
func (f *Fake) SetFunc(fn func(c Call) Reply) {
	f.mu.Lock()
	f.fn = fn
	f.mu.Unlock()
}

// SetProbeError makes Probe fail with err (as an *provider.Error, like
// Reply.Err); nil makes probes succeed again. It takes precedence over SetFunc.
func (f *Fake) SetProbeError(err error) {
	f.mu.Lock()
	f.probeErr = err
	f.mu.Unlock()
}

// Calls returns a copy of the calls made so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls.all()
}

// CallCount returns the number of calls made so far.
func (f *Fake) CallCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls.n
}

// callLog records calls in fixed-size blocks, so that recording stays cheap
// however many calls a benchmark makes: nothing recorded is ever copied.
type callLog struct {
	blocks [][]Call
	n      int
}

const callBlock = 1024

func (l *callLog) add(c Call) {
	if l.n%callBlock == 0 {
		l.blocks = append(l.blocks, make([]Call, 0, callBlock))
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, c)
	l.n++
}

func (l *callLog) all() []Call {
	out := make([]Call, 0, l.n)
	for _, b := range l.blocks {
		out = append(out, b...)
	}
	return out
}

// Reset forgets the recorded calls, the queue, the default, the function and
// the probe error.
func (f *Fake) Reset() {
	f.mu.Lock()
	f.queue, f.def, f.fn, f.calls, f.probeErr = nil, Reply{}, nil, callLog{}, nil
	f.mu.Unlock()
}

// next records c and returns its Reply. Probes do not consume the queue.
func (f *Fake) next(c Call) (Reply, error) {
	f.mu.Lock()
	f.calls.add(c)
	if c.Method == MethodProbe && f.probeErr != nil {
		err := f.probeErr
		f.mu.Unlock()
		return Reply{}, err
	}
	fn := f.fn
	var r Reply
	if fn == nil {
		if c.Method == MethodProbe {
			f.mu.Unlock()
			return Reply{}, nil
		}
		if len(f.queue) > 0 {
			r = f.queue[0]
			f.queue[0] = Reply{}
			f.queue = f.queue[1:]
		} else {
			r = f.def
		}
	}
	f.mu.Unlock()
	if fn != nil {
		r = fn(c)
	}
	return r, nil
}

// ChatCompletion answers from the script.
func (f *Fake) ChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	r, _ := f.next(Call{Method: MethodChat, Model: req.Model, Messages: req.Messages, Time: time.Now()})
	if err := r.start(ctx, req.Model); err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	if r.FinishReason == openai.FinishReasonContentFilter {
		return openai.ChatCompletionResponse{}, contentFiltered(req.Model)
	}
	if r.Response != nil {
		return *r.Response, nil
	}
	content := "ok"
	if r.Chunks != nil {
		content = concat(r.Chunks)
	}
	finish := r.FinishReason
	if finish == "" {
		finish = openai.FinishReasonStop
	}
	return openai.ChatCompletionResponse{
		ID:      "chatcmpl-fake",
		Object:  "chat.completion",
		Created: cannedCreated,
		Model:   req.Model,
		Choices: []openai.ChatCompletionChoice{{
			Message:      openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: content},
			FinishReason: finish,
		}},
		Usage: openai.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15},
	}, nil
}

// cannedCreated is the Created time of canned answers (2025-01-01 UTC).
const cannedCreated = 1735689600

func concat(chunks []string) string {
	switch len(chunks) {
	case 0:
		return ""
	case 1:
		return chunks[0]
	}
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	b := make([]byte, 0, n)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return string(b)
}

// ChatCompletionStream answers from the script: an error before the stream
// starts, or a stream of Reply.Chunks.
func (f *Fake) ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (provider.Stream, error) {
	r, _ := f.next(Call{Method: MethodStream, Model: req.Model, Messages: req.Messages, Time: time.Now()})
	if err := r.start(ctx, req.Model); err != nil {
		return nil, err
	}
	chunks := r.Chunks
	if chunks == nil {
		chunks = defaultChunks
	}
	return &fakeStream{ctx: ctx, r: r, chunks: chunks, model: req.Model, closed: make(chan struct{})}, nil
}

// defaultChunks are the chunks of a canned stream. Read-only.
var defaultChunks = []string{"o", "k"}

// Embeddings answers from the script.
func (f *Fake) Embeddings(ctx context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	model := string(req.Model)
	r, _ := f.next(Call{Method: MethodEmbeddings, Model: model, Time: time.Now()})
	if err := r.start(ctx, model); err != nil {
		return openai.EmbeddingResponse{}, err
	}
	if r.Embeddings != nil {
		return *r.Embeddings, nil
	}
	n := inputCount(req.Input)
	data := make([]openai.Embedding, n)
	for i := range data {
		data[i] = openai.Embedding{Object: "embedding", Index: i, Embedding: []float32{0.1, 0.2, 0.3}}
	}
	return openai.EmbeddingResponse{
		Object: "list",
		Data:   data,
		Model:  req.Model,
		Usage:  openai.Usage{PromptTokens: n, TotalTokens: n},
	}, nil
}

// inputCount is the number of embeddings an input asks for.
func inputCount(in any) int {
	switch v := in.(type) {
	case []string:
		return len(v)
	case [][]int:
		return len(v)
	case []any:
		if len(v) > 0 {
			switch v[0].(type) {
			case float64, int:
				return 1 // one input as tokens
			}
		}
		return len(v)
	case nil:
		return 0
	}
	return 1
}

// Probe fails with the probe error if one is set; else, with a function set,
// it follows that function's Reply (Err, Kind, Latency); else it succeeds.
func (f *Fake) Probe(ctx context.Context) error {
	r, err := f.next(Call{Method: MethodProbe, Time: time.Now()})
	if err != nil {
		return asError(err, "", r)
	}
	return r.start(ctx, "")
}

// start waits the latency and returns the scripted error, if any.
func (r *Reply) start(ctx context.Context, model string) error {
	if err := wait(ctx, r.Latency); err != nil {
		return err.withModel(model)
	}
	if r.Err != nil {
		return asError(r.Err, model, *r)
	}
	if r.Kind != 0 {
		return r.kindError(model)
	}
	return nil
}

func (r *Reply) kindError(model string) *provider.Error {
	status := r.Status
	if status == 0 {
		status = typicalStatus(r.Kind)
	}
	code := r.Code
	if code == "" {
		code = typicalCode(r.Kind)
	}
	return &provider.Error{
		Kind:       r.Kind,
		Status:     status,
		Code:       code,
		Provider:   FakeName,
		Model:      model,
		RetryAfter: r.RetryAfter,
		Err:        errScripted,
	}
}

var errScripted = errors.New("providertest: scripted failure")

// typicalStatus is the status an error of kind k usually has (0: none).
func typicalStatus(k provider.Kind) int {
	switch k {
	case provider.KindUnknown:
		return http.StatusInternalServerError
	case provider.KindRateLimited:
		return http.StatusTooManyRequests
	case provider.KindUnavailable:
		return http.StatusServiceUnavailable
	case provider.KindContextWindow, provider.KindContentPolicy, provider.KindBadRequest:
		return http.StatusBadRequest
	case provider.KindAuth:
		return http.StatusUnauthorized
	case provider.KindNotFound:
		return http.StatusNotFound
	}
	return 0
}

// typicalCode is the OpenAI error code an error of kind k usually has.
func typicalCode(k provider.Kind) string {
	switch k {
	case provider.KindRateLimited:
		return "rate_limit_exceeded"
	case provider.KindContextWindow:
		return "context_length_exceeded"
	case provider.KindContentPolicy:
		return "content_filter"
	case provider.KindAuth:
		return "invalid_api_key"
	case provider.KindNotFound:
		return "model_not_found"
	}
	return ""
}

// asError returns err as a *provider.Error: err itself if it is one, else
// a classification of it with r's Kind, Status and RetryAfter applied.
func asError(err error, model string, r Reply) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return err
	}
	e := provider.Classify(err)
	e.Provider, e.Model = FakeName, model
	if r.Kind != 0 {
		e.Kind = r.Kind
	}
	if r.Status != 0 {
		e.Status = r.Status
	}
	if r.Code != "" {
		e.Code = r.Code
	}
	if r.RetryAfter != 0 {
		e.RetryAfter = r.RetryAfter
	}
	return e
}

func contentFiltered(model string) *provider.Error {
	return &provider.Error{
		Kind: provider.KindContentPolicy, Status: http.StatusOK, Code: string(openai.FinishReasonContentFilter),
		Provider: FakeName, Model: model, Err: errContentFiltered,
	}
}

var errContentFiltered = errors.New(`providertest: finish_reason "content_filter"`)

// ctxError is the end of a context as a *provider.Error.
type ctxError struct{ err error }

func (c *ctxError) withModel(model string) *provider.Error {
	kind := provider.KindCanceled
	if errors.Is(c.err, context.DeadlineExceeded) {
		kind = provider.KindTimeout
	}
	return &provider.Error{Kind: kind, Provider: FakeName, Model: model, Err: c.err}
}

// wait waits d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) *ctxError {
	return waitOr(ctx, d, nil)
}

// waitOr waits d, or until ctx ends or stop is closed (which reports
// errClosed as a cancellation).
func waitOr(ctx context.Context, d time.Duration, stop <-chan struct{}) *ctxError {
	if err := ctx.Err(); err != nil {
		return &ctxError{err}
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &ctxError{ctx.Err()}
	case <-stop:
		return &ctxError{errClosed}
	case <-t.C:
		return nil
	}
}

// fakeStream streams a Reply's chunks. Recv is for one goroutine; Close may
// be called from any, more than once.
type fakeStream struct {
	// ctx is the call's context: Recv fails once it ends, as a real stream's
	// body read does.
	ctx    context.Context
	r      Reply
	chunks []string
	model  string

	i         int   // chunks sent
	err       error // sticky
	closed    chan struct{}
	closeOnce sync.Once
}

func (s *fakeStream) Recv() (openai.ChatCompletionStreamResponse, error) {
	if s.err != nil {
		return openai.ChatCompletionStreamResponse{}, s.err
	}
	select {
	case <-s.closed:
		s.err = (&ctxError{errClosed}).withModel(s.model)
		return openai.ChatCompletionStreamResponse{}, s.err
	default:
	}
	var d time.Duration
	if s.i > 0 && s.i < len(s.chunks) {
		d = s.r.ChunkLatency // before each chunk after the first; not before the end
	}
	if err := waitOr(s.ctx, d, s.closed); err != nil {
		s.err = err.withModel(s.model)
		return openai.ChatCompletionStreamResponse{}, s.err
	}
	if s.r.BreakAfter > 0 && s.i >= s.r.BreakAfter {
		s.err = &provider.Error{Kind: provider.KindConnection, Provider: FakeName, Model: s.model, Err: io.ErrUnexpectedEOF}
		return openai.ChatCompletionStreamResponse{}, s.err
	}
	if s.i >= len(s.chunks) {
		if s.r.FinishReason == openai.FinishReasonContentFilter {
			s.err = contentFiltered(s.model)
			return openai.ChatCompletionStreamResponse{}, s.err
		}
		s.err = io.EOF
		return openai.ChatCompletionStreamResponse{}, io.EOF
	}
	c := openai.ChatCompletionStreamResponse{
		ID:      "chatcmpl-fake",
		Object:  "chat.completion.chunk",
		Created: cannedCreated,
		Model:   s.model,
		Choices: []openai.ChatCompletionStreamChoice{{
			Delta: openai.ChatCompletionStreamChoiceDelta{Content: s.chunks[s.i]},
		}},
	}
	if s.i == 0 {
		c.Choices[0].Delta.Role = openai.ChatMessageRoleAssistant
	}
	if s.i == len(s.chunks)-1 && s.r.FinishReason != openai.FinishReasonContentFilter {
		c.Choices[0].FinishReason = openai.FinishReasonStop
		if s.r.FinishReason != "" {
			c.Choices[0].FinishReason = s.r.FinishReason
		}
	}
	s.i++
	return c, nil
}

// RecvRaw is Recv with the chunk encoded: the Fake's streams are
// provider.RawStreams, as the OpenAI provider's are.
func (s *fakeStream) RecvRaw() ([]byte, error) {
	c, err := s.Recv()
	if err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

// errClosed is why Recv fails after Close: reported as KindCanceled, since
// only the caller closes a stream early.
var errClosed = fmt.Errorf("providertest: stream closed: %w", context.Canceled)

func (s *fakeStream) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}
