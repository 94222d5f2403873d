package router

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
)

// Router routes requests for model names over groups of deployments. Create
// it with New; it is safe for concurrent use. See the package doc.
type Router struct {
	reg *alias.Registry // nil: names are group names only
	tab atomic.Pointer[table]

	mu     sync.Mutex        // serializes Update; protects states
	states map[string]*state // by deployment ID, kept across Update

	log  *slog.Logger
	obs  Observer
	est  Estimator
	seed atomic.Uint64 // next request's random seed, when seeded

	seeded bool
	calls  sync.Pool // *call
	closed atomic.Bool

	shared *sharedState // nil: nothing shared with other processes
}

// Option configures a Router.
type Option func(*options)

type options struct {
	log    *slog.Logger
	obs    Observer
	est    Estimator
	seed   uint64
	seeded bool
	shared SharedState
}

// WithLogger sets the logger for failed attempts, cooldowns and reloads.
// Default: discard.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithObserver sets the Observer that receives attempt and request events.
// Default: none.
func WithObserver(obs Observer) Option { return func(o *options) { o.obs = obs } }

// WithEstimator sets how prompt sizes are estimated. Default: EstimateTokens.
func WithEstimator(e Estimator) Option { return func(o *options) { o.est = e } }

// WithSeed makes the Router's randomness (strategy picks, backoff jitter)
// deterministic: requests made one after another pick the same way on every
// run. Default: seeded at random.
func WithSeed(seed uint64) Option {
	return func(o *options) { o.seed, o.seeded = seed, true }
}

// CallOption configures one request.
type CallOption func(*callOptions)

type callOptions struct {
	tags    []string
	observe func(RequestEvent)
	auth    Authorizer
}

// WithTags routes the request only to deployments sharing at least one of
// tags (LiteLLM's tag-based routing).
func WithTags(tags ...string) CallOption { return func(o *callOptions) { o.tags = tags } }

// WithRequestObserver calls fn with the request's RequestEvent when it
// finishes (for a stream: when it is closed), after the Router's Observer.
// A server uses it to account a request to its caller, which the Router does
// not know. fn runs on the request's goroutine, outside any lock.
func WithRequestObserver(fn func(RequestEvent)) CallOption {
	return func(o *callOptions) { o.observe = fn }
}

// New validates cfg, builds a Router over it and plugs the Router's target
// check into reg, so that aliases can only point at names some group serves
// and never shadow a group. Every problem with cfg, and any existing alias
// the check refuses, is reported at once.
//
// reg may be nil: then requests name groups (or wildcard-served names)
// directly.
func New(reg *alias.Registry, cfg Config, opts ...Option) (*Router, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Router{reg: reg, log: o.log, obs: o.obs, est: o.est, seeded: o.seeded}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.est == nil {
		r.est = EstimateTokens
	}
	if o.seeded {
		r.seed.Store(o.seed)
	}
	r.calls.New = func() any {
		c := new(call)
		c.cand.rng = rand.Uint64()
		return c
	}
	tab, states, err := r.build(&cfg, nil)
	if err != nil {
		return nil, err
	}
	if reg != nil {
		if err := reg.SetTargetCheck(tab); err != nil {
			return nil, fmt.Errorf("router: existing alias refused: %w", err)
		}
	}
	r.states = states
	r.tab.Store(tab)
	r.startShared(o.shared)
	return r, nil
}

// build validates cfg and compiles it, taking state by ID from old.
func (r *Router) build(cfg *Config, old map[string]*state) (*table, map[string]*state, error) {
	next := make(map[string]*state, len(cfg.Deployments))
	tab := compile(cfg, old, next)
	known := func(name string) bool {
		if tab.Known(name) {
			return true
		}
		if r.reg != nil {
			if _, err := r.reg.Get(name); err == nil {
				return true
			}
		}
		return false
	}
	if err := cfg.validate(known); err != nil {
		return nil, nil, err
	}
	return tab, next, nil
}

// Update swaps in cfg atomically: requests see the old config or the new,
// never a mix; requests in flight finish on the config they started with.
// Deployments whose IDs persist keep their state (cooldowns, counters,
// latency). A config that is invalid, or that would leave an existing alias
// pointing at nothing or shadowing a new group, is refused and the Router
// keeps its current config.
func (r *Router) Update(cfg Config) error {
	if r.closed.Load() {
		return ErrClosed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	tab, states, err := r.build(&cfg, r.states)
	if err != nil {
		return err
	}
	if r.reg != nil {
		// The Registry checks every alias against the new table under its
		// write lock and keeps the old check if one is refused.
		if err := r.reg.SetTargetCheck(tab); err != nil {
			return fmt.Errorf("router: update refused: %w", err)
		}
	}
	r.states = states
	r.tab.Store(tab)
	r.log.Info("router: config updated", slog.Int("deployments", len(tab.deps)))
	return nil
}

// Known reports whether a group serves name (exactly or through a wildcard
// group). Aliases are not groups: resolve them with the Registry first.
func (r *Router) Known(name string) bool { return r.tab.Load().Known(name) }

// Close stops the Router: later requests fail with ErrClosed; requests and
// streams in flight finish. Close is idempotent and always returns nil.
func (r *Router) Close() error {
	if !r.closed.Swap(true) && r.shared != nil {
		r.shared.cancel()
	}
	return nil
}

// resolve resolves name once, through the Registry if there is one.
func (r *Router) resolve(tab *table, name string) (alias.Resolution, error) {
	if r.reg == nil {
		if !tab.Known(name) {
			return alias.Resolution{}, &NameError{Name: name, Err: alias.ErrNotFound}
		}
		return alias.Resolution{Requested: name, Target: name}, nil
	}
	res, err := r.reg.Resolve(name)
	if err != nil {
		return alias.Resolution{}, &NameError{Name: name, Err: err}
	}
	return res, nil
}

func (r *Router) getCall(ctx context.Context, op string, opts []CallOption) *call {
	c := r.calls.Get().(*call)
	c.r, c.ctx, c.op = r, ctx, op
	c.tab = r.tab.Load()
	if r.seeded {
		c.cand.rng = r.seed.Add(0x9e3779b97f4a7c15)
	}
	for _, o := range opts {
		o(&c.opts)
	}
	return c
}

// putCall resets c and returns it to the pool. Only what the next request
// reads before writing is reset (clearing the whole call costs more than
// the rest of a pick); the request copies in c are overwritten by the next
// request of their kind.
func (r *Router) putCall(c *call) {
	rng := c.cand.rng
	c.cand = Candidates{rng: rng}
	clear(c.atts[:min(c.n, len(c.atts))])
	clear(c.triedBuf[:])
	clear(c.rejBuf[:])
	clear(c.pathBuf[:])
	switch c.op {
	case CallChat:
		c.resp = openai.ChatCompletionResponse{}
		c.rawReq, c.rawResp = nil, nil
	case CallEmbeddings:
		c.eresp = openai.EmbeddingResponse{}
	case CallStream:
		c.first = openai.ChatCompletionStreamResponse{}
	}
	c.r, c.tab, c.ctx, c.op, c.opts = nil, nil, nil, "", callOptions{}
	c.res, c.start = alias.Resolution{}, time.Time{}
	c.moreAtts, c.n, c.refused = nil, 0, false
	c.dep, c.probe, c.group, c.target, c.upstream, c.fallback = nil, false, nil, "", "", false
	c.stream, c.firstRaw, c.emptyEOF, c.cancel = nil, nil, false, nil
	c.lastKind, c.lastRetryAfter, c.cooling, c.ruledOutCW, c.clockUsed, c.waited = 0, 0, false, false, false, 0
	r.calls.Put(c)
}

// Complete routes one chat completion. req.Model is the name the client
// asked for (a group, an alias, or a wildcard-served provider/model name);
// the deployment that serves receives its own upstream model instead. It
// returns the answer with its Route; on failure the error is a *NameError
// (unknown or disabled name) or an *ExhaustedError, or ErrClosed.
func (r *Router) Complete(ctx context.Context, req openai.ChatCompletionRequest, opts ...CallOption) (openai.ChatCompletionResponse, Route, error) {
	if r.closed.Load() {
		return openai.ChatCompletionResponse{}, Route{}, ErrClosed
	}
	c := r.getCall(ctx, CallChat, opts)
	c.req = req
	c.cand.req = &c.req
	err := c.do(req.Model)
	resp, route := c.resp, c.route()
	c.observeRequest(route, err)
	r.putCall(c)
	return resp, route, err
}

// Embed routes one embeddings request like Complete.
func (r *Router) Embed(ctx context.Context, req openai.EmbeddingRequest, opts ...CallOption) (openai.EmbeddingResponse, Route, error) {
	if r.closed.Load() {
		return openai.EmbeddingResponse{}, Route{}, ErrClosed
	}
	c := r.getCall(ctx, CallEmbeddings, opts)
	c.ereq = req
	err := c.do(string(req.Model))
	resp, route := c.eresp, c.route()
	c.observeRequest(route, err)
	r.putCall(c)
	return resp, route, err
}

// do resolves name once and runs the request.
func (c *call) do(name string) error {
	c.start = time.Now()
	c.cand.set = &c.tab.set
	c.cand.est = c.r.est
	c.cand.estimate = -1
	c.cand.tags = c.opts.tags
	c.res.Requested = name
	res, err := c.resolveRequest(name)
	if err != nil {
		return err
	}
	c.res = res
	return c.run()
}
