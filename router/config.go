package router

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/modelroute/modelroute/router/internal/wildcard"
)

// Defaults for the zero values of Config.
const (
	DefaultNumRetries    = 2
	DefaultAllowedFails  = 3
	DefaultCooldownTime  = 5 * time.Second
	DefaultFailureWindow = time.Minute
	DefaultSlowStart     = 10 * time.Second
	DefaultBackoffBase   = 100 * time.Millisecond
	DefaultBackoffMax    = 10 * time.Second
	// DefaultMaxCooldownWait is how long in total a request waits for
	// cooldowns by default.
	DefaultMaxCooldownWait = 30 * time.Second
)

// Config is everything a Router routes by: LiteLLM's model_list and
// router_settings as plain data. New and Update validate it and report every
// problem at once. The zero value of each field is documented; a Config with
// only Deployments is complete.
type Config struct {
	// Deployments are the upstream models, grouped by Deployment.Group.
	Deployments []Deployment

	// Strategy is the routing strategy by LiteLLM name: "simple-shuffle"
	// (weighted random), "round-robin", "least-busy",
	// "latency-based-routing", "usage-based-routing" (also
	// "usage-based-routing-v2") or "cost-based-routing". Empty:
	// "simple-shuffle".
	Strategy string

	// CustomStrategy, when set, is used instead of Strategy.
	CustomStrategy Strategy

	// NumRetries is how many more attempts one target (the requested group
	// or one fallback) gets after its first, each on another deployment when
	// one is available. Zero: DefaultNumRetries; negative: no retries.
	NumRetries int

	// MaxAttempts is the request-wide budget of upstream calls, retries and
	// fallbacks together. Zero: twice NumRetries+1, leaving as many attempts
	// for fallbacks as for the requested group. Negative is invalid.
	MaxAttempts int

	// AllowedFails is how many counted failures a deployment may have within
	// FailureWindow; one more cools it down. A 429 cools it at once. Zero:
	// DefaultAllowedFails; negative: the first failure cools it.
	AllowedFails int

	// CooldownTime is how long a failing deployment sits out when its error
	// did not say (Retry-After). Zero: DefaultCooldownTime.
	CooldownTime time.Duration

	// FailureWindow is the window AllowedFails counts in. Zero:
	// DefaultFailureWindow.
	FailureWindow time.Duration

	// SlowStart is how long a deployment that passed its half-open probe
	// takes to ramp back from a tenth of its traffic share to all of it.
	// Zero: DefaultSlowStart; negative: no ramp.
	SlowStart time.Duration

	// Timeout bounds each non-streaming attempt of deployments without their
	// own Timeout. Zero: only the caller's context bounds attempts.
	Timeout time.Duration

	// Fallbacks maps a name (a group, an alias, or a name as requested) to
	// the names to try, in order, when it fails with a retryable error. Keys
	// are looked up for the requested name, each alias on its chain and the
	// group it resolved to, in that order; the key "*" is the default list,
	// tried after them. Targets may be aliases; they are resolved like a
	// request. Nil: no fallbacks.
	Fallbacks map[string][]string

	// ContextWindowFallbacks are tried, keyed like Fallbacks, when a target
	// fails because the prompt is too long for it.
	ContextWindowFallbacks map[string][]string

	// ContentPolicyFallbacks are tried, keyed like Fallbacks, when a target
	// refuses the request on content policy.
	ContentPolicyFallbacks map[string][]string

	// MaxCooldownWait bounds how long, in total, a request waits for a
	// cooldown to end when no deployment of its target is available because
	// they are cooling down (or out for another request's half-open probe),
	// including a Retry-After longer than BackoffMax. A cooldown that would
	// take the request past it, or past its context's deadline, is not
	// waited for: the request fails at once with ErrCooldown and the time
	// to wait. A request that has fallbacks moves on to them instead of
	// waiting. Waits are not retries: NumRetries bounds upstream calls.
	// Zero: DefaultMaxCooldownWait; negative: never wait.
	MaxCooldownWait time.Duration

	// BackoffBase and BackoffMax shape the jittered exponential backoff
	// between retries when no other deployment is available: attempt n waits
	// up to BackoffBase·2ⁿ, at most BackoffMax, and at least the error's
	// Retry-After. Zero: DefaultBackoffBase, DefaultBackoffMax.
	BackoffBase, BackoffMax time.Duration
}

// settings is a Config's scalar settings with defaults applied.
type settings struct {
	retries       int // extra attempts per target
	maxAttempts   int
	allowedFails  int
	cooldown      time.Duration
	window        time.Duration
	slowStart     time.Duration
	maxWait       time.Duration // of cooldowns, in total; 0: never
	backoffBase   time.Duration
	backoffMax    time.Duration
	strategyName  string
	fallbacks     map[string][]string
	cwFallbacks   map[string][]string
	cpFallbacks   map[string][]string
	defaultTimout time.Duration
}

func (c *Config) settings() settings {
	s := settings{
		retries:       c.NumRetries,
		maxAttempts:   c.MaxAttempts,
		allowedFails:  c.AllowedFails,
		cooldown:      c.CooldownTime,
		window:        c.FailureWindow,
		slowStart:     c.SlowStart,
		maxWait:       c.MaxCooldownWait,
		backoffBase:   c.BackoffBase,
		backoffMax:    c.BackoffMax,
		strategyName:  c.Strategy,
		fallbacks:     cloneLists(c.Fallbacks),
		cwFallbacks:   cloneLists(c.ContextWindowFallbacks),
		cpFallbacks:   cloneLists(c.ContentPolicyFallbacks),
		defaultTimout: c.Timeout,
	}
	switch {
	case s.retries == 0:
		s.retries = DefaultNumRetries
	case s.retries < 0:
		s.retries = 0
	}
	if s.maxAttempts == 0 {
		s.maxAttempts = 2 * (s.retries + 1)
	}
	switch {
	case s.allowedFails == 0:
		s.allowedFails = DefaultAllowedFails
	case s.allowedFails < 0:
		s.allowedFails = 0
	}
	if s.cooldown == 0 {
		s.cooldown = DefaultCooldownTime
	}
	if s.window == 0 {
		s.window = DefaultFailureWindow
	}
	switch {
	case s.slowStart == 0:
		s.slowStart = DefaultSlowStart
	case s.slowStart < 0:
		s.slowStart = 0
	}
	if s.backoffBase == 0 {
		s.backoffBase = DefaultBackoffBase
	}
	if s.backoffMax == 0 {
		s.backoffMax = DefaultBackoffMax
	}
	switch {
	case s.maxWait == 0:
		s.maxWait = DefaultMaxCooldownWait
	case s.maxWait < 0:
		s.maxWait = 0
	}
	if s.backoffMax < s.backoffBase {
		s.backoffMax = s.backoffBase
	}
	if s.strategyName == "" {
		s.strategyName = "simple-shuffle"
	}
	return s
}

func cloneLists(m map[string][]string) map[string][]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// validate reports every problem in c at once. known reports whether a
// fallback target names something routable (a group, a wildcard-served name
// or an existing alias).
func (c *Config) validate(known func(string) bool) error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("router: "+format, args...))
	}
	ids := make(map[string]int, len(c.Deployments))
	for i := range c.Deployments {
		d := &c.Deployments[i]
		id := d.ID
		if id == "" {
			id = d.defaultID()
		}
		where := fmt.Sprintf("deployment %d (id %q, group %q)", i, id, d.Group)
		if d.Group == "" {
			add("%s: empty group", where)
		} else if _, _, ok := wildcard.Split(d.Group); !ok && strings.Contains(d.Group, "*") {
			add("%s: wildcard group may hold one \"*\"", where)
		}
		if d.Model == "" {
			add("%s: empty model", where)
		} else if _, up := d.providerAndUpstream(); up == "" {
			add("%s: model %q names no upstream model", where, d.Model)
		}
		if strings.Contains(d.Model, "*") && !strings.Contains(d.Group, "*") {
			add("%s: model %q has a \"*\" but the group is not a wildcard", where, d.Model)
		}
		if d.Provider == nil {
			add("%s: no provider", where)
		}
		if d.Weight < 0 {
			add("%s: negative weight %v", where, d.Weight)
		}
		if d.RPM < 0 {
			add("%s: negative rpm %d", where, d.RPM)
		}
		if d.TPM < 0 {
			add("%s: negative tpm %d", where, d.TPM)
		}
		if d.MaxParallel < 0 {
			add("%s: negative max_parallel_requests %d", where, d.MaxParallel)
		}
		if d.Order < 0 {
			add("%s: negative order %d", where, d.Order)
		}
		if d.Timeout < 0 {
			add("%s: negative timeout %v", where, d.Timeout)
		}
		if d.StreamTimeout < 0 {
			add("%s: negative stream_timeout %v", where, d.StreamTimeout)
		}
		if d.InputCostPerToken < 0 || d.OutputCostPerToken < 0 {
			add("%s: negative cost per token", where)
		}
		if d.ContextWindow < 0 {
			add("%s: negative context window %d", where, d.ContextWindow)
		}
		if j, dup := ids[id]; dup {
			add("%s: duplicate id (also deployment %d); give them distinct IDs", where, j)
		} else {
			ids[id] = i
		}
	}
	if c.CustomStrategy == nil && c.Strategy != "" {
		if _, err := StrategyByName(c.Strategy); err != nil {
			add("unknown routing strategy %q (want one of %s)", c.Strategy, strings.Join(StrategyNames(), ", "))
		}
	}
	if c.MaxAttempts < 0 {
		add("negative max attempts %d", c.MaxAttempts)
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"cooldown_time", c.CooldownTime},
		{"failure window", c.FailureWindow},
		{"timeout", c.Timeout},
		{"backoff base", c.BackoffBase},
		{"backoff max", c.BackoffMax},
	} {
		if f.v < 0 {
			add("negative %s %v", f.name, f.v)
		}
	}
	for _, fl := range []struct {
		name string
		m    map[string][]string
	}{
		{"fallbacks", c.Fallbacks},
		{"context_window_fallbacks", c.ContextWindowFallbacks},
		{"content_policy_fallbacks", c.ContentPolicyFallbacks},
	} {
		keys := make([]string, 0, len(fl.m))
		for k := range fl.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "" {
				add("%s: empty key", fl.name)
			}
			for _, t := range fl.m[k] {
				switch {
				case t == "":
					add("%s[%q]: empty target", fl.name, k)
				case t == k:
					add("%s[%q]: falls back to itself", fl.name, k)
				case !known(t):
					add("%s[%q]: unknown target %q (not a group, a wildcard-served name or an alias)", fl.name, k, t)
				}
			}
		}
	}
	return errors.Join(errs...)
}
