package router

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/modelroute/modelroute/provider"
)

// Defaults of the health checker's options.
const (
	DefaultHealthInterval    = 300 * time.Second // LiteLLM's health_check_interval
	DefaultHealthTimeout     = 10 * time.Second
	DefaultHealthConcurrency = 8
	DefaultHealthFails       = 2 // consecutive failed probes that take a deployment out
	DefaultHealthPasses      = 1 // consecutive passed probes that bring it back
	DefaultProbePrompt       = "ping"
	DefaultProbeMaxTokens    = 1
)

// InfoDisableBackgroundHealthCheck is the Deployment.Info key (LiteLLM's
// model_info flag) that, set to true, leaves a deployment out of the
// checker's scheduled rounds. On-demand checks still probe it; to leave it
// out of those too, use WithHealthSkip.
const InfoDisableBackgroundHealthCheck = "disable_background_health_check"

// ErrUnknownDeployment: no current deployment has the ID given to
// CheckDeployment.
var ErrUnknownDeployment = errors.New("router: no such deployment")

// HealthChecker actively probes a Router's deployments and takes those
// that keep failing out of rotation until they pass again.
//
// Probes are keyed by deployment ID: a check probes each physical
// deployment once, however many groups and aliases reach it, and an alias
// is never probed on its own (CheckName of an alias probes what it resolves
// to). Concurrent checks share a probe in flight for the same deployment.
//
// Results feed routing through the deployment's state: after
// WithHealthThresholds' fails consecutive failures the deployment is not a
// candidate (ReasonUnhealthy; Snapshot reports SignalActive) until passes
// consecutive successes. A probe that fails because of the request rather
// than the deployment (bad request, content policy, context window) is
// reported but moves neither count, so a misconfigured probe cannot take a
// fleet out; nor does a probe cut short by Close or a caller's context.
//
// Lifecycle: Router.NewHealthChecker → Start (optional: the background
// schedule) → Check… → Close. One goroutine owns the schedule; Close stops
// it, waits for probes in flight, and puts back in rotation the deployments
// this checker took out, since nothing would probe them again. Use one
// HealthChecker per Router. A HealthChecker is safe for concurrent use.
type HealthChecker struct {
	r      *Router
	o      healthOptions
	rng    *rand.Rand         // jitter; used by the schedule goroutine only
	ctx    context.Context    // canceled by Close; bounds every probe
	cancel context.CancelFunc // cancels ctx

	closeOnce sync.Once
	probes    sync.WaitGroup // probes in flight; Add only under mu while !closed

	flights singleflight.Group // probes in flight, by deployment ID (and wildcard match)

	mu      sync.Mutex // protects the fields below
	started bool
	closed  bool
	done    chan struct{}           // closed when the schedule goroutine ends; nil if never started
	records map[string]*probeRecord // by deployment ID
}

// probeRecord is what the checker remembers about one deployment.
type probeRecord struct {
	fails, passes int
	down          bool // this checker took it out of rotation
	kind          provider.Kind
	last          HealthEndpoint
	seen          bool // last is set
}

// NewHealthChecker returns a HealthChecker for r's deployments. It does
// nothing until Start or a Check.
func (r *Router) NewHealthChecker(opts ...HealthOption) *HealthChecker {
	o := healthOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.interval <= 0 {
		o.interval = DefaultHealthInterval
	}
	if !o.jitterSet {
		o.jitter = o.interval / 10
	}
	if o.timeout <= 0 {
		o.timeout = DefaultHealthTimeout
	}
	if o.concurrency <= 0 {
		o.concurrency = DefaultHealthConcurrency
	}
	if o.fails < 1 {
		o.fails = DefaultHealthFails
	}
	if o.passes < 1 {
		o.passes = DefaultHealthPasses
	}
	if o.prompt == "" {
		o.prompt = DefaultProbePrompt
	}
	if o.maxTokens <= 0 {
		o.maxTokens = DefaultProbeMaxTokens
	}
	if !o.seeded {
		if r.seeded {
			o.seed = r.seed.Load() ^ 0x6a09e667f3bcc909
		} else {
			o.seed = rand.Uint64()
		}
	}
	h := &HealthChecker{
		r:       r,
		o:       o,
		rng:     rand.New(rand.NewPCG(o.seed, o.seed^0xbb67ae8584caa73b)),
		records: make(map[string]*probeRecord),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// Start starts the background schedule: a first round after the jitter,
// then one round every interval plus jitter, each starting when the
// previous one has ended. Start is idempotent and does nothing after Close.
func (h *HealthChecker) Start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started || h.closed {
		return
	}
	h.started = true
	h.done = make(chan struct{})
	go h.loop()
}

// Close stops the schedule, cuts the probes in flight short (they count
// for nothing) and waits for them, then puts back in rotation every
// deployment this checker took out. Later checks fail with ErrClosed.
// Close is idempotent and always returns nil.
func (h *HealthChecker) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		done := h.done
		h.mu.Unlock()
		h.cancel()
		if done != nil {
			<-done
		}
		h.probes.Wait()

		h.mu.Lock()
		defer h.mu.Unlock()
		tab := h.r.tab.Load()
		for id, rec := range h.records {
			if rec.down {
				if d := tab.byID[id]; d != nil {
					d.st.probeDown.Store(false)
					d.st.probeKind.Store(0)
				}
			}
		}
		clear(h.records)
	})
	return nil
}

// loop owns the schedule until Close.
func (h *HealthChecker) loop() {
	defer close(h.done)
	wait := h.jitter()
	for {
		t := time.NewTimer(wait)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		rep, _ := h.check(h.ctx, h.targets(nil, ""), true)
		h.r.log.LogAttrs(h.ctx, slog.LevelDebug, "router: health round",
			slog.Int("healthy", rep.HealthyCount), slog.Int("unhealthy", rep.UnhealthyCount),
			slog.Int("skipped", len(rep.Skipped)))
		wait = h.o.interval + h.jitter()
	}
}

func (h *HealthChecker) jitter() time.Duration {
	if h.o.jitter <= 0 {
		return 0
	}
	return time.Duration(h.rng.Int64N(int64(h.o.jitter)))
}
