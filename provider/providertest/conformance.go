package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// Harness connects the conformance suite to the Provider under test.
type Harness struct {
	// New returns the Provider under test, wired to srv: each call it makes
	// must behave as srv answers it. An HTTP provider is pointed at
	// srv.URL(); a provider that cannot speak HTTP to srv follows srv's
	// faults some other way, as srv.Fake() does. Every test gets a new
	// Server and a new Provider; the suite closes the Provider when the test
	// ends if it is an io.Closer.
	New func(t *testing.T, srv *Server) provider.Provider

	// Options configure every test's Server.
	Options []Option

	// Prompt bounds how long a call may take to return once its context is
	// canceled, or its stream closed. 0: 2 seconds.
	Prompt time.Duration

	// NoEmbeddings says the provider's API has no embeddings (Anthropic's
	// Messages API, for one): Embeddings must fail at once with
	// KindBadRequest, wrapping errors.ErrUnsupported, without reaching the
	// upstream; the suite calls only chat methods otherwise.
	NoEmbeddings bool

	// NoFilterErrors says the provider's protocol has no error answer for
	// filtered content (a filter there only ends an answer, with a stop
	// reason): the cases of OpenAI's error codes content_filter and
	// content_policy_violation are left out. Filtered answers are checked
	// all the same.
	NoFilterErrors bool
}

// model is the upstream model the suite asks for: unusual characters check
// that a Provider sends it unchanged.
const model = "conformance/model-1:beta"

// hang is longer than any test runs.
const hang = time.Hour

// Run checks that the Provider h builds behaves as package provider
// requires: chat completions, streams and embeddings succeed and reach the
// upstream once with the model unchanged; every upstream error is an
// *provider.Error of the right Kind, status, code and Retry-After; a stream
// cut short fails with KindConnection and a filtered answer with
// KindContentPolicy; a canceled call returns promptly with KindCanceled, a
// passed deadline with KindTimeout; Probe, if the Provider is a
// provider.Prober, works and fails like a call; and concurrent calls are safe.
//
// For a Provider over HTTP:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, providertest.Harness{
//			New: func(t *testing.T, srv *providertest.Server) provider.Provider {
//				p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: srv.URL()})
//				if err != nil {
//					t.Fatal(err)
//				}
//				return p
//			},
//		})
//	}
//
// The suite runs in real time on loopback; its waits are short timers and
// context cancellations, never sleeps.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("providertest: Harness.New is nil")
	}
	if h.Prompt <= 0 {
		h.Prompt = 2 * time.Second
	}
	c := &conformance{h: h, methods: methods}
	if h.NoEmbeddings {
		c.methods = methods[:2]
	}
	t.Run("ChatCompletion", c.chat)
	t.Run("Stream", c.stream)
	t.Run("Embeddings", c.embeddings)
	t.Run("Probe", c.probe)
	t.Run("Errors", c.errors)
	t.Run("RetryAfter", c.retryAfter)
	t.Run("ContentFilter", c.contentFilter)
	t.Run("StreamCut", c.streamCut)
	t.Run("StreamRaw", c.streamRaw)
	t.Run("Cancel", c.cancel)
	t.Run("Deadline", c.deadline)
	t.Run("StreamCancel", c.streamCancel)
	t.Run("StreamClose", c.streamClose)
	t.Run("Concurrent", c.concurrent)
}

type conformance struct {
	h       Harness
	methods []method // the methods the provider has
}

// setup returns a new Server and the Provider under test for it.
func (c *conformance) setup(t *testing.T) (*Server, provider.Provider) {
	t.Helper()
	srv := NewServer(c.h.Options...)
	t.Cleanup(srv.Close)
	p := c.h.New(t, srv)
	if p == nil {
		t.Fatal("providertest: Harness.New returned nil")
	}
	if cl, ok := p.(io.Closer); ok {
		t.Cleanup(func() { cl.Close() })
	}
	return srv, p
}

func chatRequest() openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Say ok."}},
	}
}

func embeddingRequest() openai.EmbeddingRequest {
	return openai.EmbeddingRequest{Model: openai.EmbeddingModel(model), Input: []string{"a", "b"}}
}

func (c *conformance) chat(t *testing.T) {
	srv, p := c.setup(t)
	resp, err := p.ChatCompletion(t.Context(), chatRequest())
	if err != nil {
		t.Fatalf("ChatCompletion: %v", err)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("ChatCompletion: %d choices, want 1", len(resp.Choices))
	}
	if got, want := resp.Choices[0].Message.Content, srv.content; got != want {
		t.Errorf("ChatCompletion content = %q, want %q", got, want)
	}
	if got := resp.Choices[0].FinishReason; got != openai.FinishReasonStop {
		t.Errorf("ChatCompletion finish_reason = %q, want %q", got, openai.FinishReasonStop)
	}
	if resp.Model != model {
		t.Errorf("ChatCompletion model = %q, want %q", resp.Model, model)
	}
	if resp.Usage.TotalTokens == 0 {
		t.Errorf("ChatCompletion usage is zero")
	}
	wantCalls(t, srv, 1)
}

// wantCalls checks that exactly n requests, all for model, reached srv.
func wantCalls(t *testing.T, srv *Server, n int) {
	t.Helper()
	if got := srv.CountModel(model); got != n {
		t.Errorf("requests for %q reaching the upstream = %d, want %d (the model must be sent unchanged, once per call)", model, got, n)
	}
	if got := srv.Total(); got != n {
		t.Errorf("requests reaching the upstream = %d, want %d", got, n)
	}
}

// collect receives s to its end and returns the content and the error that
// ended it (io.EOF for a clean end).
func collect(s provider.Stream) (content string, chunks int, finish openai.FinishReason, err error) {
	return collectWith(s.Recv)
}

// collectWith is collect receiving with recv.
func collectWith(recv func() (openai.ChatCompletionStreamResponse, error)) (content string, chunks int, finish openai.FinishReason, err error) {
	for {
		c, err := recv()
		if err != nil {
			return content, chunks, finish, err
		}
		chunks++
		for _, ch := range c.Choices {
			content += ch.Delta.Content
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
	}
}

func (c *conformance) stream(t *testing.T) {
	srv, p := c.setup(t)
	s, err := p.ChatCompletionStream(t.Context(), chatRequest())
	if err != nil {
		t.Fatalf("ChatCompletionStream: %v", err)
	}
	content, chunks, finish, err := collect(s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	if content != srv.content {
		t.Errorf("stream content = %q, want %q", content, srv.content)
	}
	if chunks < len(srv.chunks) {
		t.Errorf("stream had %d chunks, want at least %d", chunks, len(srv.chunks))
	}
	if finish != openai.FinishReasonStop {
		t.Errorf("stream finish_reason = %q, want %q", finish, openai.FinishReasonStop)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("Recv after the end = %v, want io.EOF again", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	wantCalls(t, srv, 1)
}

func (c *conformance) embeddings(t *testing.T) {
	srv, p := c.setup(t)
	if c.h.NoEmbeddings {
		_, err := p.Embeddings(t.Context(), embeddingRequest())
		checkError(t, "Embeddings", err, want{kind: provider.KindUnsupported, is: errors.ErrUnsupported})
		if n := srv.Total(); n != 0 {
			t.Errorf("Embeddings made %d upstream requests, want none", n)
		}
		return
	}
	resp, err := p.Embeddings(t.Context(), embeddingRequest())
	if err != nil {
		t.Fatalf("Embeddings: %v", err)
	}
	if len(resp.Data) != 2 {
		t.Fatalf("Embeddings: %d vectors, want 2", len(resp.Data))
	}
	for i, d := range resp.Data {
		if d.Index != i || len(d.Embedding) == 0 {
			t.Errorf("Embeddings: vector %d has index %d and %d dimensions", i, d.Index, len(d.Embedding))
		}
	}
	wantCalls(t, srv, 1)
}

func (c *conformance) probe(t *testing.T) {
	srv, p := c.setup(t)
	pr, ok := p.(provider.Prober)
	if !ok {
		t.Skip("not a provider.Prober")
	}
	if err := pr.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	srv.SetFault("", Fault{Status: http.StatusServiceUnavailable})
	err := pr.Probe(t.Context())
	checkError(t, "Probe", err, want{kind: provider.KindUnavailable, status: http.StatusServiceUnavailable, model: "-"})
}

// want is what a failed call's *provider.Error must say.
type want struct {
	kind       provider.Kind
	status     int           // 0: any
	code       string        // "": any
	retryAfter time.Duration // 0: none; <0: any
	// model is the Model the error must name: "" means the suite's model,
	// "-" anything.
	model string
	// is, if not nil, must match with errors.Is.
	is error
}

func checkError(t *testing.T, what string, err error, w want) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want a %v error", what, w.kind)
		return
	}
	var e *provider.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: error %v (%T) is not a *provider.Error", what, err, err)
		return
	}
	if e.Kind != w.kind {
		t.Errorf("%s: kind %v, want %v (error: %v)", what, e.Kind, w.kind, err)
	}
	if w.status != 0 && e.Status != w.status {
		t.Errorf("%s: status %d, want %d", what, e.Status, w.status)
	}
	if w.code != "" && e.Code != w.code {
		t.Errorf("%s: code %q, want %q", what, e.Code, w.code)
	}
	if w.retryAfter >= 0 && e.RetryAfter != w.retryAfter {
		t.Errorf("%s: RetryAfter %v, want %v", what, e.RetryAfter, w.retryAfter)
	}
	switch w.model {
	case "":
		if e.Model != model {
			t.Errorf("%s: error names model %q, want %q", what, e.Model, model)
		}
	case "-":
	default:
		if e.Model != w.model {
			t.Errorf("%s: error names model %q, want %q", what, e.Model, w.model)
		}
	}
	if w.is != nil && !errors.Is(err, w.is) {
		t.Errorf("%s: error %v does not match %v", what, err, w.is)
	}
}

// method is one way of calling a Provider; it returns the error that ended
// the call (nil on success). A stream is read to its end.
type method struct {
	name string
	call func(ctx context.Context, p provider.Provider) error
}

var methods = []method{
	{"chat", func(ctx context.Context, p provider.Provider) error {
		_, err := p.ChatCompletion(ctx, chatRequest())
		return err
	}},
	{"stream", func(ctx context.Context, p provider.Provider) error {
		s, err := p.ChatCompletionStream(ctx, chatRequest())
		if err != nil {
			return err
		}
		defer s.Close()
		_, _, _, err = collect(s)
		if err == io.EOF {
			return nil
		}
		return err
	}},
	{"embeddings", func(ctx context.Context, p provider.Provider) error {
		_, err := p.Embeddings(ctx, embeddingRequest())
		return err
	}},
}

func (c *conformance) errors(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		want  want
	}{
		{"400", Fault{Status: 400}, want{kind: provider.KindBadRequest, status: 400}},
		{"400 context_length_exceeded", ContextLengthExceeded(), want{kind: provider.KindContextWindow, status: 400, code: "context_length_exceeded"}},
		{"400 content_filter", Fault{Status: 400, Code: "content_filter"}, want{kind: provider.KindContentPolicy, status: 400, code: "content_filter"}},
		{"400 content_policy_violation", Fault{Status: 400, Code: "content_policy_violation"}, want{kind: provider.KindContentPolicy, status: 400, code: "content_policy_violation"}},
		{"401", Fault{Status: 401}, want{kind: provider.KindAuth, status: 401}},
		{"403", Fault{Status: 403}, want{kind: provider.KindAuth, status: 403}},
		{"404", Fault{Status: 404}, want{kind: provider.KindNotFound, status: 404}},
		{"408", Fault{Status: 408}, want{kind: provider.KindTimeout, status: 408}},
		{"413", Fault{Status: 413}, want{kind: provider.KindBadRequest, status: 413}},
		{"422", Fault{Status: 422}, want{kind: provider.KindBadRequest, status: 422}},
		{"429", Fault{Status: 429}, want{kind: provider.KindRateLimited, status: 429, code: "rate_limit_exceeded"}},
		{"429 with Retry-After", RateLimited(4 * time.Second), want{kind: provider.KindRateLimited, status: 429, code: "rate_limit_exceeded", retryAfter: 4 * time.Second}},
		{"429 insufficient_quota", Fault{Status: 429, Code: "insufficient_quota"}, want{kind: provider.KindRateLimited, status: 429}},
		{"500", Fault{Status: 500}, want{kind: provider.KindUnavailable, status: 500}},
		{"502", Fault{Status: 502}, want{kind: provider.KindUnavailable, status: 502}},
		{"503", Fault{Status: 503}, want{kind: provider.KindUnavailable, status: 503}},
		{"504", Fault{Status: 504}, want{kind: provider.KindTimeout, status: 504}},
		{"529", Fault{Status: 529}, want{kind: provider.KindUnavailable, status: 529}},
		{"dropped connection", Fault{Drop: true}, want{kind: provider.KindConnection}},
	}
	for _, tt := range tests {
		if c.h.NoFilterErrors && (tt.fault.Code == "content_filter" || tt.fault.Code == "content_policy_violation") {
			continue
		}
		for _, m := range c.methods {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				srv, p := c.setup(t)
				srv.SetFault("", tt.fault)
				err := m.call(t.Context(), p)
				checkError(t, m.name, err, tt.want)
				wantCalls(t, srv, 1)
			})
		}
	}
	t.Run("per model", func(t *testing.T) {
		srv, p := c.setup(t)
		srv.SetFault("other-model", Fault{Status: 500})
		srv.SetFault(model, Fault{Status: 404, Times: 1})
		_, err := p.ChatCompletion(t.Context(), chatRequest())
		checkError(t, "first call", err, want{kind: provider.KindNotFound, status: 404})
		if _, err := p.ChatCompletion(t.Context(), chatRequest()); err != nil {
			t.Errorf("second call: %v, want success (the fault applied once)", err)
		}
		wantCalls(t, srv, 2)
	})
}

func (c *conformance) retryAfter(t *testing.T) {
	date := func() http.Header {
		return http.Header{"Retry-After": {time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)}}
	}
	tests := []struct {
		name     string
		fault    Fault
		min, max time.Duration
	}{
		{"both headers", Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"retry-after-ms", Fault{Status: 429, Header: http.Header{"Retry-After-Ms": {"250"}}}, 250 * time.Millisecond, 250 * time.Millisecond},
		{"seconds", Fault{Status: 429, Header: http.Header{"Retry-After": {"7"}}}, 7 * time.Second, 7 * time.Second},
		{"HTTP date", Fault{Status: 429}, 28 * time.Second, 30 * time.Second},
		{"503", Fault{Status: 503, Header: http.Header{"Retry-After": {"2"}}}, 2 * time.Second, 2 * time.Second},
		{"none", Fault{Status: 429}, 0, 0},
	}
	for _, tt := range tests {
		for _, m := range c.methods {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				srv, p := c.setup(t)
				f := tt.fault
				if tt.name == "HTTP date" {
					f.Header = date()
				}
				srv.SetFault("", f)
				err := m.call(t.Context(), p)
				kind := provider.ClassifyStatus(f.Status, "")
				checkError(t, m.name, err, want{kind: kind, status: f.Status, retryAfter: -1})
				var e *provider.Error
				if errors.As(err, &e) && (e.RetryAfter < tt.min || e.RetryAfter > tt.max) {
					t.Errorf("RetryAfter = %v, want between %v and %v", e.RetryAfter, tt.min, tt.max)
				}
			})
		}
	}
}

func (c *conformance) contentFilter(t *testing.T) {
	for _, m := range methods[:2] {
		t.Run(m.name, func(t *testing.T) {
			srv, p := c.setup(t)
			srv.SetFault("", ContentFiltered())
			err := m.call(t.Context(), p)
			checkError(t, m.name, err, want{kind: provider.KindContentPolicy})
			wantCalls(t, srv, 1)
		})
	}
}

func (c *conformance) streamCut(t *testing.T) {
	srv, p := c.setup(t)
	srv.SetFault("", Fault{CutAfter: 1})
	s, err := p.ChatCompletionStream(t.Context(), chatRequest())
	if err != nil {
		t.Fatalf("ChatCompletionStream: %v", err)
	}
	defer s.Close()
	content, _, _, err := collect(s)
	if content != srv.chunks[0] {
		t.Errorf("content before the cut = %q, want %q", content, srv.chunks[0])
	}
	checkError(t, "Recv after the cut", err, want{kind: provider.KindConnection})
	if _, err2 := s.Recv(); err2 == nil || err2 == io.EOF {
		t.Errorf("Recv after the failure = %v, want the failure again", err2)
	}
}

// streamRaw checks a provider.RawStream's RecvRaw, when the provider's
// streams have it: each raw chunk is a JSON object that decodes to what
// Recv would give, and a stream's end, cut and content filter are reported
// as by Recv.
func (c *conformance) streamRaw(t *testing.T) {
	open := func(t *testing.T, f *Fault) (*Server, provider.RawStream) {
		srv, p := c.setup(t)
		if f != nil {
			srv.SetFault("", *f)
		}
		s, err := p.ChatCompletionStream(t.Context(), chatRequest())
		if err != nil {
			t.Fatalf("ChatCompletionStream: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		rs, ok := s.(provider.RawStream)
		if !ok {
			t.Skipf("%T is not a provider.RawStream", s)
		}
		return srv, rs
	}
	recv := func(t *testing.T, rs provider.RawStream) func() (openai.ChatCompletionStreamResponse, error) {
		return func() (openai.ChatCompletionStreamResponse, error) {
			var chunk openai.ChatCompletionStreamResponse
			raw, err := rs.RecvRaw()
			if err != nil {
				return chunk, err
			}
			if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
				t.Fatalf("RecvRaw = %q, not a JSON object", raw)
			}
			if err := json.Unmarshal(raw, &chunk); err != nil {
				t.Fatalf("RecvRaw = %q, not a chunk: %v", raw, err)
			}
			if chunk.Model != model {
				t.Errorf("raw chunk's model = %q, want the upstream's %q", chunk.Model, model)
			}
			return chunk, nil
		}
	}
	t.Run("complete", func(t *testing.T) {
		srv, rs := open(t, nil)
		content, chunks, finish, err := collectWith(recv(t, rs))
		if err != io.EOF || content != srv.content || chunks < len(srv.chunks) || finish != openai.FinishReasonStop {
			t.Errorf("RecvRaw read %q in %d chunks, finish %q, ended by %v; want %q, %d, %q, io.EOF",
				content, chunks, finish, err, srv.content, len(srv.chunks), openai.FinishReasonStop)
		}
		if _, err := rs.RecvRaw(); err != io.EOF {
			t.Errorf("RecvRaw after the end = %v, want io.EOF again", err)
		}
	})
	t.Run("cut", func(t *testing.T) {
		srv, rs := open(t, &Fault{CutAfter: 1})
		content, _, _, err := collectWith(recv(t, rs))
		if content != srv.chunks[0] {
			t.Errorf("content before the cut = %q, want %q", content, srv.chunks[0])
		}
		checkError(t, "RecvRaw after the cut", err, want{kind: provider.KindConnection})
	})
	t.Run("content filter", func(t *testing.T) {
		f := ContentFiltered()
		_, rs := open(t, &f)
		_, _, _, err := collectWith(recv(t, rs))
		checkError(t, "RecvRaw", err, want{kind: provider.KindContentPolicy})
	})
}

// within runs call and fails the test if it takes longer than the suite's
// bound.
func (c *conformance) within(t *testing.T, what string, call func() error) error {
	t.Helper()
	start := time.Now()
	err := call()
	if d := time.Since(start); d > c.h.Prompt {
		t.Errorf("%s returned after %v, want within %v", what, d, c.h.Prompt)
	}
	return err
}

// cancelSoon is how long the suite lets a hanging call run before canceling
// it: long enough for the request to be on its way.
const cancelSoon = 20 * time.Millisecond

func (c *conformance) cancel(t *testing.T) {
	for _, m := range c.methods {
		t.Run(m.name, func(t *testing.T) {
			srv, p := c.setup(t)
			srv.SetFault("", Fault{Latency: hang})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			timer := time.AfterFunc(cancelSoon, cancel)
			defer timer.Stop()
			err := c.within(t, m.name, func() error { return m.call(ctx, p) })
			checkError(t, m.name, err, want{kind: provider.KindCanceled, is: context.Canceled})
		})
	}
	t.Run("already canceled", func(t *testing.T) {
		_, p := c.setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, m := range c.methods {
			err := c.within(t, m.name, func() error { return m.call(ctx, p) })
			checkError(t, m.name, err, want{kind: provider.KindCanceled, is: context.Canceled})
		}
	})
}

func (c *conformance) deadline(t *testing.T) {
	for _, m := range c.methods {
		t.Run(m.name, func(t *testing.T) {
			srv, p := c.setup(t)
			srv.SetFault("", Fault{Latency: hang})
			ctx, cancel := context.WithTimeout(t.Context(), cancelSoon)
			defer cancel()
			err := c.within(t, m.name, func() error { return m.call(ctx, p) })
			checkError(t, m.name, err, want{kind: provider.KindTimeout, is: context.DeadlineExceeded})
		})
	}
}

// hangingStream starts a stream whose second chunk never comes and receives
// its first chunk.
func (c *conformance) hangingStream(t *testing.T, ctx context.Context) provider.Stream {
	t.Helper()
	srv, p := c.setup(t)
	srv.SetFault("", Fault{ChunkLatency: hang})
	s, err := p.ChatCompletionStream(ctx, chatRequest())
	if err != nil {
		t.Fatalf("ChatCompletionStream: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Recv(); err != nil {
		t.Fatalf("first Recv: %v", err)
	}
	return s
}

func (c *conformance) streamCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := c.hangingStream(t, ctx)
	timer := time.AfterFunc(cancelSoon, cancel)
	defer timer.Stop()
	err := c.within(t, "Recv", func() error { _, err := s.Recv(); return err })
	checkError(t, "Recv", err, want{kind: provider.KindCanceled, is: context.Canceled})
}

func (c *conformance) streamClose(t *testing.T) {
	s := c.hangingStream(t, t.Context())
	timer := time.AfterFunc(cancelSoon, func() { s.Close() })
	defer timer.Stop()
	err := c.within(t, "Recv", func() error { _, err := s.Recv(); return err })
	checkError(t, "Recv after Close", err, want{kind: provider.KindCanceled})
}

func (c *conformance) concurrent(t *testing.T) {
	const workers, calls = 8, 8
	srv, p := c.setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				m := c.methods[(w+i)%len(c.methods)]
				if err := m.call(t.Context(), p); err != nil {
					errs <- fmt.Errorf("%s: %w", m.name, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := srv.CountModel(model); got != workers*calls {
		t.Errorf("requests for the model = %d, want %d", got, workers*calls)
	}
}
