package router

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// Stream is a routed streamed chat completion. Recv returns the chunks and
// io.EOF at the end; Close releases it and must be called. Recv is for one
// goroutine; Close may be called from any, more than once.
type Stream struct {
	r   *Router
	ctx context.Context // the caller's: tells its cancellation from an upstream break
	d   *dep
	up  provider.Stream

	route   Route
	start   time.Time
	cancel  context.CancelFunc
	first   openai.ChatCompletionStreamResponse
	pending bool  // first not returned yet
	err     error // sticky: io.EOF or the break
	usage   openai.Usage
	observe func(RequestEvent) // WithRequestObserver's, if any

	once sync.Once
}

// Stream routes a streamed chat completion like Complete. Failover happens
// only until the first chunk arrives: Stream opens the upstream stream and
// waits for its first chunk before returning, trying other deployments and
// fallbacks on the way. After that an upstream break is returned by Recv as a
// *StreamError and nothing is retried, so no part of an answer is ever sent
// twice. StreamTimeout bounds the wait for the first chunk.
func (r *Router) Stream(ctx context.Context, req openai.ChatCompletionRequest, opts ...CallOption) (*Stream, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	c := r.getCall(ctx, CallStream, opts)
	defer r.putCall(c)
	c.req = req
	c.cand.req = &c.req
	if err := c.do(req.Model); err != nil {
		c.observeRequest(c.route(), err)
		return nil, err
	}
	s := &Stream{
		r: r, ctx: ctx, d: c.dep, up: c.stream, route: c.route(), start: c.start,
		cancel: c.cancel, first: c.first, pending: !c.emptyEOF, observe: c.opts.observe,
	}
	if c.first.Usage != nil {
		s.usage = *c.first.Usage
	}
	if c.emptyEOF {
		s.err = io.EOF
		s.finish(nil)
	}
	return s, nil
}

// Route returns how the stream was routed.
func (s *Stream) Route() Route { return s.route }

// Recv returns the next chunk, or io.EOF after the last one.
func (s *Stream) Recv() (openai.ChatCompletionStreamResponse, error) {
	if s.pending {
		s.pending = false
		return s.first, nil
	}
	if s.err != nil {
		return openai.ChatCompletionStreamResponse{}, s.err
	}
	chunk, err := s.up.Recv()
	if err == nil {
		if chunk.Usage != nil {
			s.usage = *chunk.Usage
		}
		return chunk, nil
	}
	if errors.Is(err, io.EOF) {
		s.err = io.EOF
		s.finish(nil)
		return openai.ChatCompletionStreamResponse{}, io.EOF
	}
	pe := classify(err)
	kind := pe.Kind
	if s.ctx.Err() != nil {
		kind = provider.KindCanceled
	} else if kind == provider.KindCanceled || kind == provider.KindUnknown {
		kind = provider.KindConnection
	}
	if kind != provider.KindCanceled {
		s.d.st.failure(time.Now().UnixNano(), kind, pe.RetryAfter, false, &s.r.tab.Load().set)
	}
	s.err = &StreamError{Requested: s.route.Requested, Kind: kind, Err: err}
	s.finish(s.err)
	return openai.ChatCompletionStreamResponse{}, s.err
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

// openStream opens d's stream and waits for its first chunk, within d's
// stream timeout. On success the call holds the stream, its first chunk and
// the cancel of its context.
func (c *call) openStream(d *dep, upstream string) error {
	req := c.req
	req.Model = upstream
	req.Stream = true
	sctx, cancel := context.WithCancel(c.ctx)
	var timer *time.Timer
	if d.stimeout > 0 {
		timer = time.AfterFunc(d.stimeout, cancel)
	}
	s, err := d.Provider.ChatCompletionStream(sctx, req)
	var first openai.ChatCompletionStreamResponse
	if err == nil {
		first, err = s.Recv()
		if errors.Is(err, io.EOF) {
			c.emptyEOF, err = true, nil
		}
	}
	if timer != nil && !timer.Stop() && err == nil {
		// The timeout fired as the first chunk arrived: the stream's
		// context is gone, so the stream is too.
		err = &provider.Error{Kind: provider.KindTimeout, Err: context.DeadlineExceeded}
	}
	if err != nil {
		if s != nil {
			s.Close()
		}
		cancel()
		return err
	}
	c.stream, c.first, c.cancel = s, first, cancel
	return nil
}
