package metrics

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router"
)

// DefaultMaxNames is how many distinct requested names a Collector labels
// by default; later names are reported as "other".
const DefaultMaxNames = 1000

// Other is the label value of requested names that are not kept (see the
// package doc on cardinality).
const Other = "other"

// Outcome label values besides the provider.Kind names.
const (
	OutcomeSuccess     = "success"
	OutcomeUnknownName = "unknown_name" // the name resolved to nothing, or is disabled
	OutcomeClosed      = "closed"       // the Router was closed
)

// Collector turns router events into Prometheus metrics. See the package
// doc for the metrics and their labels.
type Collector struct {
	known    func(string) bool // nil: names that reached a group
	maxNames int64

	names  sync.Map // requested name → struct{}: the names kept
	nNames atomic.Int64

	reqSeries sync.Map // reqKey → *reqSeries
	attSeries sync.Map // attKey → *attSeries

	requests    *prometheus.CounterVec
	reqDuration *prometheus.HistogramVec
	fallbacks   *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	cost        *prometheus.CounterVec
	attempts    *prometheus.CounterVec
	attDuration *prometheus.HistogramVec
	cooldowns   *prometheus.CounterVec
}

var (
	_ router.Observer      = (*Collector)(nil)
	_ prometheus.Collector = (*Collector)(nil)
)

// Option configures New.
type Option func(*Collector)

// WithKnownNames keeps as a label value only the requested names known
// reports true for (typically: a group the Router serves or an alias in the
// Registry); every other name is "other". known is called once per request
// for a name not yet kept, and must be safe for concurrent use.
func WithKnownNames(known func(name string) bool) Option {
	return func(c *Collector) { c.known = known }
}

// WithMaxNames sets how many distinct requested names are kept as label
// values (DefaultMaxNames when n ≤ 0).
func WithMaxNames(n int) Option {
	return func(c *Collector) {
		if n > 0 {
			c.maxNames = int64(n)
		}
	}
}

// latencyBuckets suit LLM calls: 10 ms to 2 minutes.
var latencyBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120}

// New returns a Collector. Register it with a prometheus.Registerer and
// pass it to router.New with router.WithObserver.
func New(opts ...Option) *Collector {
	c := &Collector{maxNames: DefaultMaxNames}
	for _, o := range opts {
		o(c)
	}
	const ns = "modelroute"
	c.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_total",
		Help: "Finished requests by call, requested name, group and deployment that served (or was tried last), and outcome: success or the final error's kind."},
		[]string{"call", "requested", "group", "deployment", "outcome"})
	c.reqDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "request_duration_seconds",
		Help: "Request latency until the answer (streams: until closed), retries and fallbacks included.", Buckets: latencyBuckets},
		[]string{"call", "requested", "group"})
	c.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "fallbacks_total",
		Help: "Requests served by a fallback target, by requested name and the group that served."},
		[]string{"requested", "group"})
	c.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "tokens_total",
		Help: "Tokens of finished requests by type (prompt, completion)."},
		[]string{"requested", "group", "deployment", "type"})
	c.cost = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "cost_usd_total",
		Help: "Cost of finished requests in US dollars, at the deployment's per-token prices."},
		[]string{"requested", "group", "deployment"})
	c.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "attempts_total",
		Help: "Upstream calls by outcome: success or the error's kind (rate_limited, timeout, unavailable, …)."},
		[]string{"group", "deployment", "outcome"})
	c.attDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "attempt_duration_seconds",
		Help: "Upstream call latency (streams: until the first chunk).", Buckets: latencyBuckets},
		[]string{"group", "deployment"})
	c.cooldowns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "cooldowns_total",
		Help: "Cooldowns started or extended by a failed upstream call."},
		[]string{"group", "deployment"})
	return c
}

func (c *Collector) vecs() []prometheus.Collector {
	return []prometheus.Collector{c.requests, c.reqDuration, c.fallbacks, c.tokens, c.cost, c.attempts, c.attDuration, c.cooldowns}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range c.vecs() {
		v.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.vecs() {
		v.Collect(ch)
	}
}

// name returns the label value for a requested name: the name itself when
// it is kept, else Other. served says the Router resolved it to a group.
func (c *Collector) name(requested string, served bool) string {
	if _, ok := c.names.Load(requested); ok {
		return requested
	}
	if c.known != nil {
		served = c.known(requested)
	}
	if !served || requested == "" {
		return Other
	}
	if c.nNames.Add(1) > c.maxNames {
		c.nNames.Add(-1)
		return Other
	}
	if _, loaded := c.names.LoadOrStore(requested, struct{}{}); loaded {
		c.nNames.Add(-1)
	}
	return requested
}

// outcome is a request's outcome label.
func outcome(err error) string {
	if err == nil {
		return OutcomeSuccess
	}
	var ee *router.ExhaustedError
	var ne *router.NameError
	switch {
	case errors.As(err, &ee):
		return ee.Kind.String()
	case errors.As(err, &ne):
		return OutcomeUnknownName
	case errors.Is(err, router.ErrClosed):
		return OutcomeClosed
	}
	return provider.Classify(err).Kind.String()
}

type reqKey struct{ call, requested, group, deployment, outcome string }

// reqSeries are the request metrics of one label set, bound once.
type reqSeries struct {
	requests           prometheus.Counter
	duration           prometheus.Observer
	prompt, completion prometheus.Counter
	cost               prometheus.Counter
	fallbacks          prometheus.Counter
	fallbacksOnce      sync.Once
	requested, grp     string
}

// ObserveRequest implements router.Observer.
func (c *Collector) ObserveRequest(e router.RequestEvent) {
	k := reqKey{e.Call, c.name(e.Requested, e.Group != ""), e.Group, e.Deployment, outcome(e.Err)}
	s := c.requestSeries(k)
	s.requests.Inc()
	s.duration.Observe(e.Latency.Seconds())
	if e.Usage.PromptTokens > 0 {
		s.prompt.Add(float64(e.Usage.PromptTokens))
	}
	if e.Usage.CompletionTokens > 0 {
		s.completion.Add(float64(e.Usage.CompletionTokens))
	}
	if e.Cost > 0 {
		s.cost.Add(e.Cost)
	}
	if e.Route.Fallback && e.Err == nil {
		s.fallbacksOnce.Do(func() { s.fallbacks = c.fallbacks.WithLabelValues(s.requested, s.grp) })
		s.fallbacks.Inc()
	}
}

func (c *Collector) requestSeries(k reqKey) *reqSeries {
	if v, ok := c.reqSeries.Load(k); ok {
		return v.(*reqSeries)
	}
	s := &reqSeries{
		requests:   c.requests.WithLabelValues(k.call, k.requested, k.group, k.deployment, k.outcome),
		duration:   c.reqDuration.WithLabelValues(k.call, k.requested, k.group),
		prompt:     c.tokens.WithLabelValues(k.requested, k.group, k.deployment, "prompt"),
		completion: c.tokens.WithLabelValues(k.requested, k.group, k.deployment, "completion"),
		cost:       c.cost.WithLabelValues(k.requested, k.group, k.deployment),
		requested:  k.requested, grp: k.group,
	}
	v, _ := c.reqSeries.LoadOrStore(k, s)
	return v.(*reqSeries)
}

type attKey struct{ group, deployment, outcome string }

type attSeries struct {
	attempts  prometheus.Counter
	duration  prometheus.Observer
	cooldowns prometheus.Counter
}

// ObserveAttempt implements router.Observer.
func (c *Collector) ObserveAttempt(e router.AttemptEvent) {
	out := OutcomeSuccess
	if e.Err != nil {
		out = e.Kind.String()
	}
	k := attKey{e.Group, e.Deployment, out}
	v, ok := c.attSeries.Load(k)
	if !ok {
		v, _ = c.attSeries.LoadOrStore(k, &attSeries{
			attempts:  c.attempts.WithLabelValues(k.group, k.deployment, k.outcome),
			duration:  c.attDuration.WithLabelValues(k.group, k.deployment),
			cooldowns: c.cooldowns.WithLabelValues(k.group, k.deployment),
		})
	}
	s := v.(*attSeries)
	s.attempts.Inc()
	s.duration.Observe(e.Latency.Seconds())
	if !e.CooldownUntil.IsZero() {
		s.cooldowns.Inc()
	}
}
