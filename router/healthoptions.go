package router

import (
	"time"
)

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
