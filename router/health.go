package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"

	"github.com/modelroute/modelroute/alias"
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

// ProbeMethod is how a deployment is probed.
type ProbeMethod int

const (
	ProbeNone       ProbeMethod = iota // not probed (skipped)
	ProbeListModels                    // provider.Prober: the provider's cheap probe (listing models)
	ProbeChat                          // a tiny chat completion
	ProbeEmbedding                     // a tiny embeddings call, for embedding deployments under WithChatProbe
)

var probeNames = [...]string{"none", "list_models", "chat", "embedding"}

func (m ProbeMethod) String() string {
	if m >= 0 && int(m) < len(probeNames) {
		return probeNames[m]
	}
	return fmt.Sprintf("ProbeMethod(%d)", int(m))
}

// HealthEndpoint is one deployment's probe result (router/httpapi shapes
// it like an endpoint of LiteLLM's /health). It holds no secret: API keys
// never reach it, and URLs and error messages are cleaned of credentials.
type HealthEndpoint struct {
	ModelID string // deployment ID
	// Model is the deployment's model as configured ("azure/gpt-1"), with
	// a wildcard's "*" filled in when a name served by it was checked.
	Model   string
	APIBase string
	// Probe says how it was probed; ProbeNone when skipped.
	Probe ProbeMethod
	// Healthy reports that the probe passed.
	Healthy bool
	// Kind classifies the failure, when the probe failed.
	Kind provider.Kind
	// Error is the failure's message, or why the deployment was skipped.
	Error string
	// Latency is how long the probe took.
	Latency time.Duration
	// ConsecutiveFailures counts the deployment's failed probes in a row,
	// this one included.
	ConsecutiveFailures int
	// Out reports that active probing keeps the deployment out of
	// rotation (its failures reached the threshold and it has not passed
	// enough probes since).
	Out       bool
	CheckedAt time.Time

	skipped bool
}

// HealthReport is the outcome of a check: one endpoint per deployment ID,
// never one for an alias, in config order within each list.
type HealthReport struct {
	Healthy        []HealthEndpoint
	Unhealthy      []HealthEndpoint
	HealthyCount   int
	UnhealthyCount int
	// Skipped are the deployments left out (opted out, or a wildcard
	// deployment with no model to probe), with the reason in Error.
	Skipped []HealthEndpoint
}

func (rep *HealthReport) add(e HealthEndpoint) {
	switch {
	case e.skipped:
		rep.Skipped = append(rep.Skipped, e)
	case e.Healthy:
		rep.Healthy = append(rep.Healthy, e)
		rep.HealthyCount++
	default:
		rep.Unhealthy = append(rep.Unhealthy, e)
		rep.UnhealthyCount++
	}
}

// HealthOption configures a HealthChecker.
type HealthOption func(*healthOptions)

type healthOptions struct {
	interval    time.Duration
	jitter      time.Duration
	jitterSet   bool
	timeout     time.Duration
	concurrency int
	fails       int
	passes      int
	chat        bool
	prompt      string
	maxTokens   int
	skip        func(*Deployment) bool
	seed        uint64
	seeded      bool
}

// WithHealthInterval sets the time between the end of one scheduled round
// and the start of the next (before jitter). Default (also for d <= 0):
// DefaultHealthInterval.
func WithHealthInterval(d time.Duration) HealthOption {
	return func(o *healthOptions) { o.interval = d }
}

// WithHealthJitter adds a random wait in [0, d) to every interval, and
// delays the first round by a random [0, d), so that replicas do not probe
// in step. d <= 0: none. Default: a tenth of the interval.
func WithHealthJitter(d time.Duration) HealthOption {
	return func(o *healthOptions) { o.jitter, o.jitterSet = d, true }
}

// WithHealthTimeout bounds each probe; a probe that takes longer fails
// with provider.KindTimeout. Default (also for d <= 0):
// DefaultHealthTimeout.
func WithHealthTimeout(d time.Duration) HealthOption {
	return func(o *healthOptions) { o.timeout = d }
}

// WithHealthConcurrency sets how many probes one check runs at once
// (errgroup.SetLimit). Default (also for n <= 0): DefaultHealthConcurrency.
func WithHealthConcurrency(n int) HealthOption {
	return func(o *healthOptions) { o.concurrency = n }
}

// WithHealthThresholds sets how many consecutive failed probes take a
// deployment out of rotation and how many consecutive passed probes bring
// it back, so that one odd probe does not flap it. Values below 1 keep
// their defaults, DefaultHealthFails and DefaultHealthPasses.
func WithHealthThresholds(fails, passes int) HealthOption {
	return func(o *healthOptions) { o.fails, o.passes = fails, passes }
}

// WithChatProbe probes with a real call instead of the provider's cheap
// probe: a chat completion of one user message, prompt, limited to
// maxTokens (an embeddings call of prompt for deployments whose Mode is
// "embedding"). Empty prompt: DefaultProbePrompt; maxTokens <= 0:
// DefaultProbeMaxTokens. A wildcard deployment has no model of its own to
// call: in a full check it gets the cheap probe if its provider has one and
// is skipped otherwise; CheckName of a name it serves calls that name.
func WithChatProbe(prompt string, maxTokens int) HealthOption {
	return func(o *healthOptions) { o.chat, o.prompt, o.maxTokens = true, prompt, maxTokens }
}

// WithHealthSkip leaves the deployments skip reports true for out of every
// check, scheduled and on demand. skip must not modify the Deployment.
// Default: none is skipped (but see InfoDisableBackgroundHealthCheck).
func WithHealthSkip(skip func(d *Deployment) bool) HealthOption {
	return func(o *healthOptions) { o.skip = skip }
}

// WithHealthSeed seeds the jitter. Default: derived from the Router's
// WithSeed if it has one, else random.
func WithHealthSeed(seed uint64) HealthOption {
	return func(o *healthOptions) { o.seed, o.seeded = seed, true }
}

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

	mu      sync.Mutex // protects the fields below
	started bool
	closed  bool
	done    chan struct{}           // closed when the schedule goroutine ends; nil if never started
	flights map[string]*flight      // probes in flight, by deployment ID (and wildcard match)
	records map[string]*probeRecord // by deployment ID
}

// flight is one probe in flight, shared by every check that wants it.
type flight struct {
	done chan struct{} // closed when res is set
	res  HealthEndpoint
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
		flights: make(map[string]*flight),
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

// Check probes every deployment once, now, and reports the results. If ctx
// ends first, the deployments whose probe it cut short are reported
// unhealthy with provider.KindCanceled (they count for nothing) and the
// error is ctx's. After Close it fails with ErrClosed.
func (h *HealthChecker) Check(ctx context.Context) (HealthReport, error) {
	return h.check(ctx, h.targets(nil, ""), false)
}

// CheckName probes what name (a group, an alias, or a wildcard-served
// name) resolves to: each deployment of that group once. An alias is never
// probed on its own; hidden aliases can be checked, disabled ones fail with
// a *NameError like a request would. Errors are otherwise as for Check.
func (h *HealthChecker) CheckName(ctx context.Context, name string) (HealthReport, error) {
	tab := h.r.tab.Load()
	res, err := h.r.resolve(tab, name)
	if err != nil {
		return emptyReport(), err
	}
	g, match := tab.lookup(res.Target)
	if g == nil {
		return emptyReport(), &NameError{Name: name, Err: alias.ErrNotFound}
	}
	return h.check(ctx, h.targets(g.deps, match), false)
}

// CheckDeployment probes one deployment by ID. An unknown ID fails with
// ErrUnknownDeployment. Errors are otherwise as for Check.
func (h *HealthChecker) CheckDeployment(ctx context.Context, id string) (HealthReport, error) {
	d := h.r.tab.Load().byID[id]
	if d == nil {
		return emptyReport(), fmt.Errorf("%w: %q", ErrUnknownDeployment, id)
	}
	return h.check(ctx, h.targets([]*dep{d}, ""), false)
}

// CheckDeployments probes the deployments with the given IDs, each once, in
// config order; IDs of no current deployment are left out. It serves a
// caller who may see only some deployments: the others are not probed.
// Errors are as for Check.
func (h *HealthChecker) CheckDeployments(ctx context.Context, ids []string) (HealthReport, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	deps := []*dep{} // not nil: targets(nil) is every deployment
	for _, d := range h.r.tab.Load().deps {
		if want[d.ID] {
			deps = append(deps, d)
		}
	}
	return h.check(ctx, h.targets(deps, ""), false)
}

// Last reports the latest probe result of every current deployment that
// has been probed (by any check), in config order, without probing.
func (h *HealthChecker) Last() HealthReport {
	tab := h.r.tab.Load()
	rep := emptyReport()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range tab.deps {
		if rec := h.records[d.ID]; rec != nil && rec.seen {
			rep.add(rec.last)
		}
	}
	return rep
}

func emptyReport() HealthReport {
	return HealthReport{Healthy: []HealthEndpoint{}, Unhealthy: []HealthEndpoint{}}
}

// target is one deployment a check probes; match fills a wildcard's "*".
type target struct {
	d     *dep
	match string
}

// targets lists deps (nil: every current deployment) as targets.
func (h *HealthChecker) targets(deps []*dep, match string) []target {
	if deps == nil {
		deps = h.r.tab.Load().deps
	}
	out := make([]target, len(deps))
	for i, d := range deps {
		out[i] = target{d: d, match: match}
	}
	return out
}

// check probes targets, at most the concurrency limit at once, and reports
// them in order. scheduled marks a background round.
func (h *HealthChecker) check(ctx context.Context, targets []target, scheduled bool) (HealthReport, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return emptyReport(), ErrClosed
	}
	results := make([]HealthEndpoint, len(targets))
	var g errgroup.Group
	g.SetLimit(h.o.concurrency)
	for i, t := range targets {
		method, why := h.method(t, scheduled)
		if method == ProbeNone {
			if t.d.st.probeDown.Load() {
				h.release(t.d)
			}
			results[i] = t.d.endpoint(t.match)
			results[i].skipped, results[i].Error = true, why
			continue
		}
		if ctx.Err() != nil {
			results[i] = canceled(t, method, ctx.Err())
			continue
		}
		g.Go(func() error {
			results[i] = h.probeShared(ctx, t, method)
			return nil
		})
	}
	g.Wait()
	rep := emptyReport()
	for _, e := range results {
		rep.add(e)
	}
	if scheduled {
		h.prune()
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	h.mu.Lock()
	closed = h.closed
	h.mu.Unlock()
	if closed {
		return rep, ErrClosed
	}
	return rep, nil
}

// method chooses how to probe t, or ProbeNone and why not.
func (h *HealthChecker) method(t target, scheduled bool) (ProbeMethod, string) {
	d := t.d
	if h.o.skip != nil && h.o.skip(&d.Deployment) {
		return ProbeNone, "health check disabled for this deployment"
	}
	if scheduled {
		if off, _ := d.Info[InfoDisableBackgroundHealthCheck].(bool); off {
			return ProbeNone, "background health check disabled for this deployment"
		}
	}
	_, canList := d.Provider.(provider.Prober)
	if !h.o.chat && canList {
		return ProbeListModels, ""
	}
	if d.wildUp && t.match == "" {
		if canList {
			return ProbeListModels, ""
		}
		return ProbeNone, "wildcard deployment: no model to probe (check a name it serves)"
	}
	if d.Mode == "embedding" {
		return ProbeEmbedding, ""
	}
	return ProbeChat, ""
}

// probeShared probes t, joining a probe of the same deployment already in
// flight. The probe runs on the checker's context with its own timeout, so
// a caller giving up does not cut it short for the others; the caller gets
// a canceled result at once.
func (h *HealthChecker) probeShared(ctx context.Context, t target, method ProbeMethod) HealthEndpoint {
	key := t.d.ID + "\x00" + t.match
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return canceled(t, method, ErrClosed)
	}
	f := h.flights[key]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		h.flights[key] = f
		h.probes.Add(1)
		go h.fly(key, f, t, method)
	}
	h.mu.Unlock()
	select {
	case <-f.done:
		return f.res
	case <-ctx.Done():
		return canceled(t, method, ctx.Err())
	}
}

// fly runs one shared probe and records its result.
func (h *HealthChecker) fly(key string, f *flight, t target, method ProbeMethod) {
	defer h.probes.Done()
	res, conclusive := h.probe(t, method)
	var moved string
	h.mu.Lock()
	if conclusive {
		moved = h.recordLocked(t.d, &res)
	}
	delete(h.flights, key)
	f.res = res
	close(f.done)
	h.mu.Unlock()
	if moved != "" {
		h.r.log.LogAttrs(h.ctx, slog.LevelInfo, "router: deployment "+moved+" by health check",
			slog.String("deployment", t.d.ID), slog.String("kind", res.Kind.String()))
	}
}

// probe calls t's deployment once. conclusive is false when the checker's
// own context (Close) cut it short.
func (h *HealthChecker) probe(t target, method ProbeMethod) (e HealthEndpoint, conclusive bool) {
	d := t.d
	e = d.endpoint(t.match)
	e.Probe = method
	ctx, cancel := context.WithTimeout(h.ctx, h.o.timeout)
	defer cancel()
	start := time.Now()
	var err error
	switch method {
	case ProbeListModels:
		err = d.Provider.(provider.Prober).Probe(ctx)
	case ProbeChat:
		_, err = d.Provider.ChatCompletion(ctx, openai.ChatCompletionRequest{
			Model:     d.upstreamFor(t.match),
			Messages:  []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: h.o.prompt}},
			MaxTokens: h.o.maxTokens,
		})
	case ProbeEmbedding:
		_, err = d.Provider.Embeddings(ctx, openai.EmbeddingRequest{
			Model: openai.EmbeddingModel(d.upstreamFor(t.match)),
			Input: []string{h.o.prompt},
		})
	}
	end := time.Now()
	e.Latency, e.CheckedAt = end.Sub(start), end
	if err == nil {
		e.Healthy = true
		return e, true
	}
	pe := provider.Classify(err)
	e.Kind = pe.Kind
	switch {
	case h.ctx.Err() != nil:
		e.Kind = provider.KindCanceled
	case e.Kind == provider.KindCanceled || errors.Is(err, context.DeadlineExceeded):
		e.Kind = provider.KindTimeout // the probe's own timeout
	}
	e.Error = redact(pe.Error())
	return e, e.Kind != provider.KindCanceled
}

// recordLocked counts a conclusive probe result of d against the
// thresholds and applies the verdict to d's state; it fills the result's
// counters and reports "out" or "back" when the verdict changed. h.mu must
// be held.
func (h *HealthChecker) recordLocked(d *dep, e *HealthEndpoint) (moved string) {
	rec := h.records[d.ID]
	if rec == nil {
		rec = new(probeRecord)
		h.records[d.ID] = rec
	}
	switch {
	case e.Healthy:
		rec.passes++
		rec.fails = 0
		if rec.down && rec.passes >= h.o.passes {
			rec.down, rec.kind, moved = false, 0, "back in rotation"
		}
	case counts(e.Kind):
		rec.fails++
		rec.passes = 0
		rec.kind = e.Kind
		if !rec.down && rec.fails >= h.o.fails {
			rec.down, moved = true, "out of rotation"
		}
	}
	e.ConsecutiveFailures, e.Out = rec.fails, rec.down
	rec.last, rec.seen = *e, true
	if !h.r.setProbeHealth(d.ID, !rec.down, rec.kind, e.CheckedAt) {
		delete(h.records, d.ID) // removed by a config update meanwhile
		return ""
	}
	return moved
}

// release puts d back in rotation if this checker took it out: it is no
// longer probed.
func (h *HealthChecker) release(d *dep) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rec := h.records[d.ID]; rec != nil && rec.down {
		d.st.probeDown.Store(false)
		d.st.probeKind.Store(0)
		delete(h.records, d.ID)
	}
}

// prune forgets deployments the current config no longer has.
func (h *HealthChecker) prune() {
	tab := h.r.tab.Load()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range h.records {
		if tab.byID[id] == nil {
			delete(h.records, id)
		}
	}
}

// endpoint is d's identification in a health report.
func (d *dep) endpoint(match string) HealthEndpoint {
	return HealthEndpoint{ModelID: d.ID, Model: d.displayModel(match), APIBase: cleanURL(d.APIBase)}
}

// canceled is the result of a probe of t that a check gave up on.
func canceled(t target, method ProbeMethod, err error) HealthEndpoint {
	e := t.d.endpoint(t.match)
	e.Probe, e.Kind, e.Error = method, provider.KindCanceled, "router: health check canceled: "+err.Error()
	return e
}

// secretPattern matches credentials that upstream error messages or URLs
// may carry: bearer tokens, OpenAI-style keys, and key-like URL parameters.
var secretPattern = regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;]+|\b(sk|pk|rk)-[A-Za-z0-9_\-*.]{6,}|([?&](?:api[-_]?key|key|token|access_token|sig|signature|code)=)[^&\s"']+|(//)[^/\s"'@]+@`)

// redact removes credentials from an error message.
func redact(msg string) string {
	return secretPattern.ReplaceAllStringFunc(msg, func(m string) string {
		sub := secretPattern.FindStringSubmatch(m)
		switch {
		case sub[1] != "":
			return sub[1] + "[redacted]"
		case sub[2] != "":
			return "[redacted]"
		case sub[3] != "":
			return sub[3] + "[redacted]"
		case sub[4] != "":
			return "//[redacted]@"
		}
		return "[redacted]"
	})
}
