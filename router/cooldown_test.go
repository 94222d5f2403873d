package router

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// primaryBackup returns a config where "a" (order 1) serves group g and "b"
// (order 2) takes over when a is out.
func primaryBackup() (Config, *providertest.Fake, *providertest.Fake) {
	a, fa := fakeDep("a", "g", "openai/m")
	b, fb := fakeDep("b", "g", "openai/m")
	a.Order, b.Order = 1, 2
	return Config{Deployments: []Deployment{a, b}}, fa, fb
}

func stateOf(t *testing.T, r *Router, id string) DeploymentState {
	t.Helper()
	for _, s := range r.Snapshot() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no deployment %q in snapshot", id)
	return DeploymentState{}
}

func mustServe(t *testing.T, r *Router, model string, want ...string) Route {
	t.Helper()
	_, route, err := r.Complete(context.Background(), chat(model))
	if err != nil {
		t.Fatalf("%s: %v", model, err)
	}
	if diff := cmp.Diff(want, attemptIDs(route)); diff != "" {
		t.Fatalf("attempts (-want +got):\n%s", diff)
	}
	return route
}

func TestCooldownRateLimitRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, _ := primaryBackup()
		r := mustNew(t, nil, cfg)
		start := time.Now()
		fa.Enqueue(providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: 3 * time.Second})
		mustServe(t, r, "g", "a", "b")
		s := stateOf(t, r, "a")
		if s.Status != StatusCooldown || s.Out != SignalPassive || !s.CooldownUntil.Equal(start.Add(3*time.Second)) {
			t.Fatalf("after a 429: status %v out %v until %v, want cooldown until +3s", s.Status, s.Out, s.CooldownUntil.Sub(start))
		}
		time.Sleep(2900 * time.Millisecond)
		mustServe(t, r, "g", "b")
		time.Sleep(100 * time.Millisecond)
		if s := stateOf(t, r, "a"); s.Status != StatusHalfOpen {
			t.Fatalf("after the cooldown: %v, want half-open", s.Status)
		}
		mustServe(t, r, "g", "a") // the probe
		if s := stateOf(t, r, "a"); s.Status != StatusSlowStart {
			t.Fatalf("after the probe: %v, want slow-start", s.Status)
		}
		if n := fa.CallCount(); n != 2 {
			t.Errorf("a called %d times, want 2", n)
		}
	})
}

func TestCooldownRateLimitWithoutRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, _ := primaryBackup()
		cfg.CooldownTime = 7 * time.Second
		r := mustNew(t, nil, cfg)
		start := time.Now()
		fa.Enqueue(providertest.Reply{Kind: provider.KindRateLimited})
		mustServe(t, r, "g", "a", "b")
		if got := stateOf(t, r, "a").CooldownUntil.Sub(start); got != 7*time.Second {
			t.Errorf("cooldown %v, want the configured 7s", got)
		}
	})
}

func TestCooldownAllowedFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, _ := primaryBackup()
		cfg.AllowedFails = 2
		cfg.FailureWindow = time.Minute
		r := mustNew(t, nil, cfg)
		fa.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
		mustServe(t, r, "g", "a", "b")
		mustServe(t, r, "g", "a", "b")
		if s := stateOf(t, r, "a"); s.Status != StatusHealthy || s.WindowFailures != 2 {
			t.Fatalf("after 2 failures: %v with %d in window, want healthy", s.Status, s.WindowFailures)
		}
		mustServe(t, r, "g", "a", "b")
		if s := stateOf(t, r, "a"); s.Status != StatusCooldown {
			t.Fatalf("after 3 failures: %v, want cooldown", s.Status)
		}
		mustServe(t, r, "g", "b")
	})
	// Failures further apart than the window never add up.
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, _ := primaryBackup()
		cfg.AllowedFails = 2
		cfg.FailureWindow = time.Minute
		r := mustNew(t, nil, cfg)
		fa.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
		for range 5 {
			mustServe(t, r, "g", "a", "b")
			time.Sleep(31 * time.Second)
			mustServe(t, r, "g", "a", "b")
			time.Sleep(31 * time.Second)
		}
		if s := stateOf(t, r, "a"); s.Status != StatusHealthy || s.Cooldowns != 0 {
			t.Errorf("spaced failures: %v after %d cooldowns, want healthy", s.Status, s.Cooldowns)
		}
	})
}

func TestCooldownCountedKinds(t *testing.T) {
	for _, tc := range []struct {
		kind   provider.Kind
		counts bool
	}{
		{provider.KindRateLimited, true},
		{provider.KindTimeout, true},
		{provider.KindUnavailable, true},
		{provider.KindConnection, true},
		{provider.KindAuth, true},
		{provider.KindNotFound, true},
		{provider.KindUnknown, true},
		{provider.KindBadRequest, false},
		{provider.KindContentPolicy, false},
		{provider.KindContextWindow, false},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			cfg, fa, _ := primaryBackup()
			cfg.AllowedFails = -1 // the first counted failure cools
			r := mustNew(t, nil, cfg)
			reply := providertest.Reply{Kind: tc.kind}
			if tc.kind == provider.KindUnknown {
				reply = providertest.Reply{Err: errUnclassified}
			}
			fa.Enqueue(reply)
			r.Complete(context.Background(), chat("g"))
			s := stateOf(t, r, "a")
			if got := s.Failures == 1 && s.Status == StatusCooldown; got != tc.counts {
				t.Errorf("counted %v (failures %d, %v), want %v", got, s.Failures, s.Status, tc.counts)
			}
		})
	}
}

type testError string

func (e testError) Error() string { return string(e) }

const errUnclassified = testError("something odd")

func TestCallerCancellationNeverCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, fb := primaryBackup()
		cfg.AllowedFails = -1
		r := mustNew(t, nil, cfg)
		fa.SetDefault(providertest.Reply{Latency: 10 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		_, route, err := r.Complete(ctx, chat("g"))
		if !errorsIs(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if len(route.Attempts) != 1 || route.Attempts[0].Kind != provider.KindCanceled {
			t.Errorf("attempts %+v, want one canceled", route.Attempts)
		}
		if s := stateOf(t, r, "a"); s.Failures != 0 || s.Status != StatusHealthy {
			t.Errorf("caller's cancellation counted: %+v", s)
		}
		if fb.CallCount() != 0 {
			t.Error("a canceled request was retried")
		}
		// The caller's deadline neither.
		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r.Complete(ctx, chat("g"))
		if s := stateOf(t, r, "a"); s.Failures != 0 {
			t.Errorf("caller's deadline counted: %+v", s)
		}
	})
}

func TestAttemptTimeoutCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, _ := primaryBackup()
		cfg.Deployments[0].Timeout = time.Second
		cfg.AllowedFails = -1
		r := mustNew(t, nil, cfg)
		fa.Enqueue(providertest.Reply{Latency: 10 * time.Second})
		start := time.Now()
		route := mustServe(t, r, "g", "a", "b")
		if route.Attempts[0].Kind != provider.KindTimeout {
			t.Errorf("kind %v, want timeout", route.Attempts[0].Kind)
		}
		if el := time.Since(start); el != time.Second {
			t.Errorf("took %v, want the 1s attempt timeout", el)
		}
		if s := stateOf(t, r, "a"); s.Status != StatusCooldown {
			t.Errorf("timeout not counted: %v", s.Status)
		}
	})
}

func TestFailureDuringCooldownExtends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, _ := primaryBackup()
		cfg.AllowedFails = -1
		cfg.CooldownTime = 5 * time.Second
		r := mustNew(t, nil, cfg)
		fa.Enqueue(
			providertest.Reply{Latency: 1 * time.Second, Kind: provider.KindUnavailable},
			providertest.Reply{Latency: 2 * time.Second, Kind: provider.KindUnavailable},
		)
		start := time.Now()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { mustServe(t, r, "g", "a", "b") })
			synctest.Wait() // both reach a before either fails
		}
		wg.Wait()
		if got := stateOf(t, r, "a").CooldownUntil.Sub(start); got != 7*time.Second {
			t.Errorf("cooldown ends at +%v, want +7s (extended by the second failure)", got)
		}
	})
}

func TestHalfOpenSingleProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, fb := primaryBackup()
		r := mustNew(t, nil, cfg)
		fa.Enqueue(
			providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: time.Second},
			providertest.Reply{Latency: time.Second}, // the probe, slow
		)
		mustServe(t, r, "g", "a", "b")
		time.Sleep(time.Second)
		var wg sync.WaitGroup
		wg.Go(func() { mustServe(t, r, "g", "a") })
		synctest.Wait() // the probe is in flight
		if s := stateOf(t, r, "a"); s.Status != StatusProbing {
			t.Errorf("during the probe: %v", s.Status)
		}
		for range 3 {
			mustServe(t, r, "g", "b")
		}
		wg.Wait()
		if fa.CallCount() != 2 || fb.CallCount() != 4 {
			t.Errorf("calls a=%d b=%d, want 2 and 4", fa.CallCount(), fb.CallCount())
		}
		time.Sleep(DefaultSlowStart) // a ramps back to full traffic
		mustServe(t, r, "g", "a")
	})
}

func TestHalfOpenProbeFailureCoolsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, _ := primaryBackup()
		cfg.AllowedFails = 10
		r := mustNew(t, nil, cfg)
		fa.Enqueue(
			providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: time.Second},
			providertest.Reply{Kind: provider.KindUnavailable}, // the probe
		)
		mustServe(t, r, "g", "a", "b")
		time.Sleep(time.Second)
		mustServe(t, r, "g", "a", "b")
		if s := stateOf(t, r, "a"); s.Status != StatusCooldown || s.Cooldowns != 2 {
			t.Errorf("after a failed probe: %v (%d cooldowns), want cooling again despite allowed fails", s.Status, s.Cooldowns)
		}
	})
}

func TestSlowStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := weighted("", 1, 1)
		cfg.SlowStart = 10 * time.Second
		r := mustNew(t, nil, cfg)
		a := r.tab.Load().byID["a"].st
		a.startCooldown(time.Now().UnixNano(), time.Second)
		time.Sleep(time.Second)
		// Serve until a's probe has passed.
		for stateOf(t, r, "a").Status != StatusSlowStart {
			r.Complete(context.Background(), chat("g"))
		}
		early := shares(t, r, "g", 2000)["a"]
		time.Sleep(5 * time.Second)
		mid := shares(t, r, "g", 2000)["a"]
		time.Sleep(5 * time.Second)
		late := shares(t, r, "g", 2000)["a"]
		// Acceptance ramps 0.1 → 0.55 → 1: shares ≈ 0.09, 0.35, 0.5.
		if early > .15 || mid < .28 || mid > .42 || late < .46 || late > .54 {
			t.Errorf("shares during slow-start: %.3f, %.3f, %.3f; want ≈ .09, .35, .5", early, mid, late)
		}
	})
}
