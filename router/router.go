package router

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"

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
	pool   sync.Pool // *scratch
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
	r.pool.New = func() any {
		s := new(scratch)
		s.cand.rng = rand.Uint64()
		return s
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

// Complete routes one chat completion. req.Model is the name the client
// asked for (a group, an alias, or a wildcard-served provider/model name);
// the deployment that serves receives its own upstream model instead. It
// returns the answer with its Route; on failure the error is a *NameError
// (unknown or disabled name) or an *ExhaustedError, or ErrClosed.
func (r *Router) Complete(ctx context.Context, req openai.ChatCompletionRequest, opts ...CallOption) (openai.ChatCompletionResponse, Route, error) {
	if r.closed.Load() {
		return openai.ChatCompletionResponse{}, Route{}, ErrClosed
	}
	s := r.getScratch()
	s.chat.req = req
	s.cand.req = &s.chat.req
	q := r.newRequest(ctx, s, &s.chat, opts)
	srv, err := q.do(req.Model)
	resp, route := s.chat.resp, q.route(srv)
	q.observeRequest(route, srv, err)
	r.putScratch(s, &s.chat, q.n)
	return resp, route, err
}

// Embed routes one embeddings request like Complete.
func (r *Router) Embed(ctx context.Context, req openai.EmbeddingRequest, opts ...CallOption) (openai.EmbeddingResponse, Route, error) {
	if r.closed.Load() {
		return openai.EmbeddingResponse{}, Route{}, ErrClosed
	}
	s := r.getScratch()
	s.embed.req = req
	q := r.newRequest(ctx, s, &s.embed, opts)
	srv, err := q.do(string(req.Model))
	resp, route := s.embed.resp, q.route(srv)
	q.observeRequest(route, srv, err)
	r.putScratch(s, &s.embed, q.n)
	return resp, route, err
}
