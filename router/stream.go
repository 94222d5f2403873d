package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// Stream is a routed streamed chat completion. Recv returns the chunks and
// io.EOF at the end (RecvRaw returns them undecoded, for forwarding); Close
// releases it and must be called. Recv and RecvRaw are for one goroutine;
// Close may be called from any, more than once.
type Stream struct {
	r   *Router
	ctx context.Context // the caller's: tells its cancellation from an upstream break
	d   *dep
	up  provider.Stream

	raw   provider.RawStream // up, when it is one
	ready provider.Readier   // up, when it is one

	route    Route
	start    time.Time
	cancel   context.CancelFunc
	first    openai.ChatCompletionStreamResponse // the first chunk, when firstRaw is nil
	firstRaw []byte                              // the first chunk as the upstream sent it, when up is a RawStream
	pending  bool                                // first not returned yet
	err      error                               // sticky: io.EOF or the break
	usage    openai.Usage
	observe  func(RequestEvent) // WithRequestObserver's, if any

	once sync.Once
}

// Stream routes a streamed chat completion like Complete. Failover happens
// only until the first chunk arrives: Stream opens the upstream stream and
// waits for its first chunk before returning, trying other deployments and
// fallbacks on the way. After that an upstream break is returned by Recv as a
// *StreamError and nothing is retried, so no part of an answer is ever sent
// twice. StreamTimeout bounds the wait for the first chunk.
func (r *Router) Stream(ctx context.Context, req openai.ChatCompletionRequest, opts ...CallOption) (*Stream, error) {
	return r.stream(ctx, req, nil, opts)
}

// stream is Stream, and StreamRaw when body is not nil.
func (r *Router) stream(ctx context.Context, req openai.ChatCompletionRequest, body []byte, opts []CallOption) (*Stream, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	sc := r.getScratch()
	op := &sc.stream
	op.req, op.body = req, body
	sc.cand.req = &op.req
	q := r.newRequest(ctx, sc, op, opts)
	defer func() { r.putScratch(sc, op, q.n) }()
	srv, err := q.do(req.Model)
	if err != nil {
		q.observeRequest(q.route(srv), srv, err)
		return nil, err
	}
	s := &Stream{
		r: r, ctx: ctx, d: srv.d, up: op.stream, route: q.route(srv), start: q.start,
		cancel: op.cancel, first: op.first, firstRaw: op.firstRaw, pending: !op.emptyEOF, observe: q.s.opts.observe,
	}
	s.raw, _ = op.stream.(provider.RawStream)
	s.ready, _ = op.stream.(provider.Readier)
	if op.firstRaw != nil {
		s.noteUsage(op.firstRaw)
	} else if op.first.Usage != nil {
		s.usage = *op.first.Usage
	}
	if op.emptyEOF {
		s.err = io.EOF
		s.finish(nil)
	}
	return s, nil
}

// Route returns how the stream was routed.
func (s *Stream) Route() Route { return s.route }

// Recv returns the next chunk, or io.EOF after the last one.
func (s *Stream) Recv() (openai.ChatCompletionStreamResponse, error) {
	var c openai.ChatCompletionStreamResponse
	if s.pending {
		s.pending = false
		if s.firstRaw == nil {
			return s.first, nil
		}
		if err := json.Unmarshal(s.firstRaw, &c); err != nil {
			return c, s.fail(err)
		}
		return c, nil
	}
	if s.err != nil {
		return c, s.err
	}
	c, err := s.up.Recv()
	if err != nil {
		return openai.ChatCompletionStreamResponse{}, s.fail(err)
	}
	if c.Usage != nil {
		s.usage = *c.Usage
	}
	return c, nil
}

// RecvRaw is Recv without the decoding, for a gateway that forwards chunks:
// it returns the next chunk's JSON object as the upstream sent it (with the
// upstream's model name in it), or the error Recv would return. The bytes
// are valid until the next call of Recv or RecvRaw and must not be
// modified. When the provider's stream is not a provider.RawStream, the
// chunk Recv would return is encoded instead.
func (s *Stream) RecvRaw() ([]byte, error) {
	if s.pending {
		s.pending = false
		if s.firstRaw != nil {
			return s.firstRaw, nil
		}
		return s.encode(s.first)
	}
	if s.err != nil {
		return nil, s.err
	}
	if s.raw == nil {
		c, err := s.Recv()
		if err != nil {
			return nil, err
		}
		return s.encode(c)
	}
	b, err := s.raw.RecvRaw()
	if err != nil {
		return nil, s.fail(err)
	}
	s.noteUsage(b)
	return b, nil
}

// Ready reports whether the next Recv or RecvRaw returns without waiting
// for the upstream: true when the provider's stream says its next chunk has
// arrived (provider.Readier), false when it cannot tell. A forwarder flushes
// its client's connection only when Ready is false, as a reverse proxy
// flushes once per read.
func (s *Stream) Ready() bool {
	if s.pending || s.err != nil {
		return true
	}
	return s.ready != nil && s.ready.Ready()
}

// encode encodes a chunk for RecvRaw.
func (s *Stream) encode(c openai.ChatCompletionStreamResponse) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, s.fail(err)
	}
	return b, nil
}

// noteUsage keeps the usage a raw chunk reports, if it reports one, without
// decoding the rest of it.
func (s *Stream) noteUsage(raw []byte) {
	if u, ok := rawUsage(raw); ok {
		s.usage = u
	}
}

// fail ends the stream with err from the upstream: io.EOF is its clean end;
// anything else is a break, held against the deployment unless the caller
// canceled. It returns what Recv returns.
func (s *Stream) fail(err error) error {
	if errors.Is(err, io.EOF) {
		s.err = io.EOF
		s.finish(nil)
		return io.EOF
	}
	pe := classify(err)
	kind := pe.Kind
	if s.ctx.Err() != nil {
		kind = provider.KindCanceled
	} else if kind == provider.KindCanceled || kind == provider.KindUnknown {
		kind = provider.KindConnection
	}
	if kind != provider.KindCanceled {
		if until := s.d.st.failure(time.Now().UnixNano(), kind, pe.RetryAfter, false, &s.r.tab.Load().set); until != 0 {
			s.r.shareCooldown(s.d, until)
		}
	}
	s.err = &StreamError{Requested: s.route.Requested, Kind: kind, Err: err}
	s.finish(s.err)
	return s.err
}

// Close releases the stream. Closing before io.EOF abandons the rest of
// the answer; that is not held against the deployment.
func (s *Stream) Close() error {
	s.finish(nil)
	return nil
}

// finish releases the deployment and reports the request, once.
func (s *Stream) finish(err error) {
	s.once.Do(func() {
		s.up.Close()
		s.cancel()
		now := time.Now()
		s.d.st.inflight.Add(-1)
		s.d.st.addUsage(now.UnixNano(), s.d.RPM == 0, s.usage.TotalTokens)
		if s.r.shared != nil {
			s.r.shareTokens(s.d, now.UnixNano(), s.usage.TotalTokens)
		}
		if s.r.obs == nil && s.observe == nil {
			return
		}
		ev := RequestEvent{
			Call: CallStream, Requested: s.route.Requested, Chain: s.route.Chain,
			Group: s.route.Group, Deployment: s.route.Deployment, Model: s.route.Model,
			Route: s.route, Start: s.start, Latency: now.Sub(s.start),
			Usage: s.usage, Cost: s.d.cost(s.usage), Err: err,
		}
		if s.r.obs != nil {
			s.r.obs.ObserveRequest(ev)
		}
		if s.observe != nil {
			s.observe(ev)
		}
	})
}
