package router

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

var (
	fail500 = providertest.Reply{Kind: provider.KindUnavailable}
	fail429 = providertest.Reply{Kind: provider.KindRateLimited}
)

func TestRetryOtherDeploymentsFirstWithoutWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := weighted("", 1, 1, 1)
		cfg.AllowedFails = 100
		r := mustNew(t, nil, cfg)
		cfg.Deployments[0].Provider.(*providertest.Fake).SetDefault(fail500)
		cfg.Deployments[1].Provider.(*providertest.Fake).SetDefault(fail500)
		for range 50 {
			start := time.Now()
			_, route, err := r.Complete(context.Background(), chat("g"))
			if err != nil {
				t.Fatal(err)
			}
			ids := attemptIDs(route)
			if ids[len(ids)-1] != "c" || len(ids) > 3 {
				t.Fatalf("attempts %v, want distinct deployments ending with c", ids)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("attempts %v repeat a deployment while another was untried", ids)
				}
				seen[id] = true
			}
			if el := time.Since(start); el != 0 {
				t.Fatalf("waited %v although another deployment was available", el)
			}
		}
	})
}

func TestBackoffWhenNoOtherDeployment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, f := fakeDep("a", "g", "openai/m")
		r := mustNew(t, nil, Config{Deployments: []Deployment{d}, BackoffBase: 100 * time.Millisecond})
		f.Enqueue(fail500, fail500)
		start := time.Now()
		mustServe(t, r, "g", "a", "a", "a")
		calls := f.Calls()
		gap1, gap2 := calls[1].Time.Sub(calls[0].Time), calls[2].Time.Sub(calls[1].Time)
		if gap1 < 50*time.Millisecond || gap1 > 100*time.Millisecond || gap2 < 100*time.Millisecond || gap2 > 200*time.Millisecond {
			t.Errorf("backoffs %v, %v; want jittered 50–100ms then 100–200ms (total %v)", gap1, gap2, time.Since(start))
		}
	})
}

func TestRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, f := fakeDep("a", "g", "openai/m")
		r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
		f.Enqueue(providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: 2 * time.Second})
		mustServe(t, r, "g", "a", "a")
		calls := f.Calls()
		if gap := calls[1].Time.Sub(calls[0].Time); gap != 2*time.Second {
			t.Errorf("retried after %v, want the 2s Retry-After", gap)
		}
	})
}

func TestNeverSleepPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, f := fakeDep("a", "g", "openai/m")
		r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
		f.Enqueue(providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: 5 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := r.Complete(ctx, chat("g"))
		var ex *ExhaustedError
		if !errors.As(err, &ex) {
			t.Fatalf("err %v, want *ExhaustedError", err)
		}
		if el := time.Since(start); el != 0 {
			t.Errorf("slept %v; a 5s wait cannot fit a 1s deadline", el)
		}
		if ex.CooldownWait != 5*time.Second || f.CallCount() != 1 {
			t.Errorf("cooldown wait %v after %d calls, want 5s after 1", ex.CooldownWait, f.CallCount())
		}
	})
}

// When every deployment is cooling down, a request waits for the first to
// recover if that is within MaxCooldownWait and its deadline, and no
// fallback could serve instead.
func TestAllCoolingWaits(t *testing.T) {
	tests := []struct {
		name      string
		cfg       func(*Config)
		cooldown  time.Duration
		deadline  time.Duration
		wantWait  time.Duration // how long until the answer
		wantDep   string        // the deployment that serves; "": fails with ErrCooldown
		wantCalls int           // to the cooling deployment
	}{
		{name: "default", cooldown: 3 * time.Second, wantWait: 3 * time.Second, wantDep: "a", wantCalls: 1},
		{name: "no retries", cfg: func(c *Config) { c.NumRetries = -1 }, cooldown: 3 * time.Second, wantWait: 3 * time.Second, wantDep: "a", wantCalls: 1},
		{name: "cooldown past MaxCooldownWait", cfg: func(c *Config) { c.MaxCooldownWait = 2 * time.Second }, cooldown: 3 * time.Second},
		{name: "never wait", cfg: func(c *Config) { c.MaxCooldownWait = -1 }, cooldown: time.Second},
		{name: "cooldown past the deadline", cooldown: 3 * time.Second, deadline: 2 * time.Second},
		{
			name: "a fallback serves instead", cooldown: 3 * time.Second, wantDep: "b",
			cfg: func(c *Config) {
				b, _ := fakeDep("b", "other", "openai/m")
				c.Deployments = append(c.Deployments, b)
				c.Fallbacks = map[string][]string{"g": {"other"}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, fa := fakeDep("a", "g", "openai/m")
				cfg := Config{Deployments: []Deployment{a}}
				if tt.cfg != nil {
					tt.cfg(&cfg)
				}
				r := mustNew(t, nil, cfg)
				r.tab.Load().byID["a"].st.startCooldown(time.Now().UnixNano(), tt.cooldown)
				ctx := context.Background()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				start := time.Now()
				_, rt, err := r.Complete(ctx, chat("g"))
				el := time.Since(start)
				if el != tt.wantWait {
					t.Errorf("answered after %v, want %v", el, tt.wantWait)
				}
				if tt.wantDep == "" {
					if !errors.Is(err, ErrCooldown) {
						t.Errorf("err %v, want ErrCooldown", err)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if rt.Deployment != tt.wantDep || fa.CallCount() != tt.wantCalls {
					t.Errorf("served by %q after %d calls to a, want %q after %d", rt.Deployment, fa.CallCount(), tt.wantDep, tt.wantCalls)
				}
			})
		})
	}
}

func TestMaxCooldownWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, f := fakeDep("a", "g", "openai/m")
		// Waiting for a cooldown is not a retry: it needs none.
		cfg := Config{Deployments: []Deployment{d}, NumRetries: -1}
		r := mustNew(t, nil, cfg)
		r.tab.Load().byID["a"].st.startCooldown(time.Now().UnixNano(), 2*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if _, _, err := r.Complete(ctx, chat("g")); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 2*time.Second || f.CallCount() != 1 {
			t.Errorf("waited %v, %d calls; want 2s and 1", el, f.CallCount())
		}
		// Never waiting: fail fast, telling the wait.
		cfg.MaxCooldownWait = -1
		if err := r.Update(cfg); err != nil {
			t.Fatal(err)
		}
		r.tab.Load().byID["a"].st.startCooldown(time.Now().UnixNano(), 2*time.Second)
		_, _, err := r.Complete(ctx, chat("g"))
		if !errors.Is(err, ErrCooldown) || time.Since(start) != 2*time.Second {
			t.Errorf("err %v after %v, want ErrCooldown at once", err, time.Since(start))
		}
	})
}

// fallbackSetup: alias smart → group g (deployment a, failing); groups f1,
// f2, f3 with one deployment each.
// More aliases (name, target) are created first.
func fallbackSetup(t *testing.T, cfg Config, aliases ...string) (*Router, *alias.Registry, map[string]*providertest.Fake) {
	fakes := map[string]*providertest.Fake{}
	for _, g := range []string{"g", "f1", "f2", "f3"} {
		d, f := fakeDep(g+"-dep", g, "openai/"+g+"-model")
		cfg.Deployments = append(cfg.Deployments, d)
		fakes[g] = f
	}
	reg := newRegistry(t)
	mustAlias(t, reg, "smart", "g")
	for i := 0; i+1 < len(aliases); i += 2 {
		mustAlias(t, reg, aliases[i], aliases[i+1])
	}
	r := mustNew(t, reg, cfg)
	fakes["g"].SetDefault(fail500)
	return r, reg, fakes
}

func TestFallbackOrder(t *testing.T) {
	r, _, fakes := fallbackSetup(t, Config{
		NumRetries: -1, MaxAttempts: 10,
		Fallbacks: map[string][]string{"*": {"f3"}, "g": {"f2"}, "smart": {"f1"}},
	})
	fakes["f1"].SetDefault(fail500)
	fakes["f2"].SetDefault(fail500)
	_, route, err := r.Complete(context.Background(), chat("smart"))
	if err != nil {
		t.Fatal(err)
	}
	// Requested name's list, then the group's, then the default.
	if diff := cmp.Diff([]string{"g-dep", "f1-dep", "f2-dep", "f3-dep"}, attemptIDs(route)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if !route.Fallback || route.Target != "f3" || route.Group != "f3" || route.Requested != "smart" {
		t.Errorf("route %+v", route)
	}
	e, _ := r.Explain("smart")
	if diff := cmp.Diff([]string{"f1", "f2", "f3"}, e.Fallbacks); diff != "" {
		t.Errorf("Explain fallbacks (-want +got):\n%s", diff)
	}
}

func TestAttemptBudget(t *testing.T) {
	r, _, fakes := fallbackSetup(t, Config{
		MaxAttempts: 3,
		Fallbacks:   map[string][]string{"g": {"f1", "f2", "f3"}},
	})
	for _, f := range fakes {
		f.SetDefault(fail500)
	}
	_, _, err := r.Complete(context.Background(), chat("smart"))
	var ex *ExhaustedError
	if !errors.As(err, &ex) || len(ex.Attempts) != 3 {
		t.Fatalf("err %v, want *ExhaustedError with 3 attempts", err)
	}
	total := 0
	for _, f := range fakes {
		total += f.CallCount()
	}
	if total != 3 {
		t.Errorf("%d upstream calls, want MaxAttempts = 3", total)
	}
	if !errors.Is(err, ErrNoDeployment) || ex.Last() == nil || ex.Last().Kind != provider.KindUnavailable {
		t.Errorf("err %v does not unwrap to its attempts", err)
	}
	if want := `router: no deployment available for "smart" (3 attempts)`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestBadRequestIsFinal(t *testing.T) {
	r, _, fakes := fallbackSetup(t, Config{Fallbacks: map[string][]string{"*": {"f1"}}})
	fakes["g"].SetDefault(providertest.Reply{Kind: provider.KindBadRequest})
	_, route, err := r.Complete(context.Background(), chat("smart"))
	if want := `router: request for "smart" failed: bad_request (1 attempt)`; err == nil || err.Error() != want {
		t.Errorf("err %v, want %q", err, want)
	}
	if errors.Is(err, ErrNoDeployment) || fakes["f1"].CallCount() != 0 || len(route.Attempts) != 1 {
		t.Errorf("a bad request was retried or fell back: %v", attemptIDs(route))
	}
}

func TestContextWindowFallbacks(t *testing.T) {
	r, _, fakes := fallbackSetup(t, Config{
		Fallbacks:              map[string][]string{"g": {"f1"}},
		ContextWindowFallbacks: map[string][]string{"g": {"f2"}},
	})
	// The upstream says the prompt is too long.
	fakes["g"].SetDefault(providertest.Reply{Kind: provider.KindContextWindow})
	_, route, err := r.Complete(context.Background(), chat("smart"))
	if err != nil || route.Group != "f2" {
		t.Fatalf("route %v, %v; want the context-window fallback f2", attemptIDs(route), err)
	}
	if diff := cmp.Diff([]string{"g-dep", "f2-dep"}, attemptIDs(route)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

func TestContextWindowFilter(t *testing.T) {
	small, fs := fakeDep("small", "g", "openai/small")
	small.ContextWindow = 100
	big, fb := fakeDep("big", "big", "openai/big")
	big.ContextWindow = 100000
	r := mustNew(t, nil, Config{
		Deployments:            []Deployment{small, big},
		ContextWindowFallbacks: map[string][]string{"*": {"big"}},
	})
	req := chat("g")
	req.Messages[0].Content = string(make([]byte, 1000)) // ≈ 250 tokens
	_, route, err := r.Complete(context.Background(), req)
	if err != nil || route.Group != "big" || fs.CallCount() != 0 || fb.CallCount() != 1 {
		t.Fatalf("route %+v, %v; want big without calling small", route, err)
	}
	// No fallback: a context-window error, with no attempt.
	r2 := mustNew(t, nil, Config{Deployments: []Deployment{small}})
	_, _, err = r2.Complete(context.Background(), req)
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.Kind != provider.KindContextWindow || len(ex.Attempts) != 0 {
		t.Errorf("err %v, want a context-window ExhaustedError", err)
	}
}

func TestContentPolicyFallbacks(t *testing.T) {
	r, _, fakes := fallbackSetup(t, Config{
		Fallbacks:              map[string][]string{"g": {"f1"}},
		ContentPolicyFallbacks: map[string][]string{"smart": {"f3"}},
	})
	fakes["g"].SetDefault(providertest.Reply{Kind: provider.KindContentPolicy})
	_, route, err := r.Complete(context.Background(), chat("smart"))
	if err != nil || route.Group != "f3" || fakes["f1"].CallCount() != 0 {
		t.Fatalf("route %v, %v; want the content-policy fallback f3 only", attemptIDs(route), err)
	}
}

func TestTags(t *testing.T) {
	a, _ := fakeDep("a", "g", "openai/m")
	b, _ := fakeDep("b", "g", "openai/m")
	a.Tags, b.Tags = []string{"eu"}, []string{"us"}
	r := mustNew(t, nil, Config{Deployments: []Deployment{a, b}})
	for range 20 {
		_, route, err := r.Complete(context.Background(), chat("g"), WithTags("us"))
		if err != nil || route.Deployment != "b" {
			t.Fatalf("tagged request served by %q, %v", route.Deployment, err)
		}
	}
	if _, _, err := r.Complete(context.Background(), chat("g"), WithTags("apac")); !errors.Is(err, ErrNoDeployment) {
		t.Errorf("no deployment has the tag: %v", err)
	}
}

func TestLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, fa := fakeDep("a", "g", "openai/m")
		b, _ := fakeDep("b", "g", "openai/m")
		a.Order, b.Order = 1, 2
		a.RPM = 3
		r := mustNew(t, nil, Config{Deployments: []Deployment{a, b}})
		for _, want := range []string{"a", "a", "a", "b", "b"} {
			mustServe(t, r, "g", want)
		}
		// A sliding window: when the minute turns, the previous one still
		// weighs fully; a third of the way in, 3×2/3 = 2 of its requests
		// count; in the next minute, the one served then.
		time.Sleep(time.Minute)
		mustServe(t, r, "g", "b")
		time.Sleep(20 * time.Second)
		for _, want := range []string{"a", "b"} {
			mustServe(t, r, "g", want)
		}
		time.Sleep(40 * time.Second)
		for _, want := range []string{"a", "a", "b"} {
			mustServe(t, r, "g", want)
		}
		time.Sleep(2 * time.Minute) // both minutes out of the window

		// Parallel limit.
		a.RPM, a.MaxParallel = 0, 1
		if err := r.Update(Config{Deployments: []Deployment{a, b}}); err != nil {
			t.Fatal(err)
		}
		fa.Enqueue(providertest.Reply{Latency: time.Second})
		done := make(chan struct{})
		go func() { mustServe(t, r, "g", "a"); close(done) }()
		synctest.Wait()
		mustServe(t, r, "g", "b")
		<-done
		if s := stateOf(t, r, "a"); s.RPM != 1 || s.TPM != 15 || s.InFlight != 0 { // the windows before have slid out
			t.Errorf("usage %+v", s)
		}
	})
}

// LiteLLM issue 10317: fallbacks configured for a group fire when the
// request used an alias of it.
func TestLiteLLM10317GroupFallbacksFireForAlias(t *testing.T) {
	r, _, fakes := fallbackSetup(t, Config{Fallbacks: map[string][]string{"g": {"f1"}}})
	_, route, err := r.Complete(context.Background(), chat("smart"))
	if err != nil || route.Group != "f1" || !route.Fallback || fakes["f1"].CallCount() != 1 {
		t.Fatalf("route %+v, %v; want g's fallback f1", route, err)
	}
}

// LiteLLM issue 17200: a fallback to an alias sends the provider the real
// upstream model, never the alias.
func TestLiteLLM17200FallbackToAliasSendsUpstream(t *testing.T) {
	r, _, fakes := fallbackSetup(t, Config{Fallbacks: map[string][]string{"g": {"cheap"}}}, "cheap", "f2")
	_, route, err := r.Complete(context.Background(), chat("smart"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"f2-model"}, models(fakes["f2"])); diff != "" {
		t.Errorf("models sent (-want +got):\n%s", diff)
	}
	if route.Target != "cheap" || route.Group != "f2" || route.Model != "f2-model" {
		t.Errorf("route %+v", route)
	}
}

// LiteLLM issue 19985: a fallback chain does not restart the retry budget.
func TestLiteLLM19985FallbacksShareTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _, fakes := fallbackSetup(t, Config{
			NumRetries: 2, MaxAttempts: 4,
			Fallbacks: map[string][]string{"g": {"f1"}, "f1": {"f2"}, "*": {"f2", "f3"}},
		})
		for _, f := range fakes {
			f.SetDefault(fail500)
		}
		_, route, err := r.Complete(context.Background(), chat("smart"))
		if err == nil {
			t.Fatal("all failing, yet served")
		}
		total := 0
		for _, f := range fakes {
			total += f.CallCount()
		}
		if total != 4 || len(route.Attempts) != 4 {
			t.Errorf("%d calls (%v), want the request-wide 4", total, attemptIDs(route))
		}
	})
}

// LiteLLM issue 18441: order tiers are honoured without any extra switch.
func TestLiteLLM18441OrderTiers(t *testing.T) {
	cfg, _, fb := primaryBackup()
	r := mustNew(t, nil, cfg)
	got := shares(t, r, "g", 100)
	if got["a"] != 1 || fb.CallCount() != 0 {
		t.Errorf("shares %v; order 1 must take all traffic while healthy", got)
	}
	r.tab.Load().byID["a"].st.startCooldown(time.Now().UnixNano(), time.Hour)
	if got := shares(t, r, "g", 10); got["b"] != 1 {
		t.Errorf("shares %v; order 2 must serve while order 1 is out", got)
	}
}

// LiteLLM issue 3646: all deployments cooling down is reported with the
// time to wait.
func TestLiteLLM3646AllCoolingReportsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := weighted("", 1, 1, 1)
		reg := newRegistry(t)
		r := mustNew(t, reg, cfg)
		mustAlias(t, reg, "smart", "g")
		now := time.Now().UnixNano()
		// Longer than BackoffMax: not waited for as a retry.
		for i, d := range r.tab.Load().deps {
			d.st.startCooldown(now, time.Duration(42000+i*1000)*time.Millisecond)
		}
		start := time.Now()
		_, _, err := r.Complete(context.Background(), chat("smart"))
		var ex *ExhaustedError
		if !errors.As(err, &ex) || !errors.Is(err, ErrCooldown) || !errors.Is(err, ErrNoDeployment) {
			t.Fatalf("err %v, want ErrCooldown", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("failed after %v, want at once", time.Since(start))
		}
		if ex.CooldownWait != 42*time.Second {
			t.Errorf("wait %v, want 42s", ex.CooldownWait)
		}
		if want := `router: no deployment available for "smart" (0 attempts; earliest cooldown ends in 42s)`; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	})
}

// Invariant 3: the name is resolved once per request; re-pointing the alias
// mid-request changes nothing for it, and the next request follows the new
// target.
func TestResolvedOncePerRequest(t *testing.T) {
	reg := newRegistry(t)
	cfg, fa, fb := primaryBackup()
	o, fo := fakeDep("o", "other", "openai/other")
	cfg.Deployments = append(cfg.Deployments, o)
	r := mustNew(t, reg, cfg)
	mustAlias(t, reg, "smart", "g")
	other := "other"
	fa.SetFunc(func(providertest.Call) providertest.Reply {
		if _, err := reg.Update(context.Background(), "smart", alias.Update{Target: &other}); err != nil {
			t.Error(err)
		}
		return fail500
	})
	route := mustServe(t, r, "smart", "a", "b")
	if route.Group != "g" || fo.CallCount() != 0 || fb.CallCount() != 1 {
		t.Errorf("route %+v re-resolved mid-request", route)
	}
	if route := mustServe(t, r, "smart", "o"); route.Group != "other" {
		t.Errorf("next request: %+v", route)
	}
}

// A request that finds a deployment out only for another request's
// half-open probe looks again within BackoffBase, even after a 429 of its
// own: that Retry-After was waited out as the cooldown before the probe.
func TestProbeWaitIsShort(t *testing.T) {
	d, _ := fakeDep("a", "g", "openai/m")
	r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
	st := r.tab.Load().byID["a"].st
	now := time.Now().UnixNano()
	st.startCooldown(now-int64(2*time.Second), time.Second)
	st.probing.Store(true)
	g, _ := r.tab.Load().lookup("g")
	q, release := testRequest(r)
	defer release()
	for range 100 {
		if w := q.cooldownWait(g, now); w <= 0 || w > DefaultBackoffBase {
			t.Fatalf("wait %v for a probe in flight, want (0, %v]", w, DefaultBackoffBase)
		}
	}
}

// testOp is an operation of its own: the retry loop serves any kind of
// request through its operation alone (a raw pass-through would be one).
type testOp struct {
	fails map[string]int // deployment ID → failures before it answers
	calls []string       // deployment:upstream of each call
}

func (o *testOp) kind() string { return "test" }

func (o *testOp) call(_ context.Context, d *dep, upstream string) (openai.Usage, bool, error) {
	o.calls = append(o.calls, d.ID+":"+upstream)
	if o.fails[d.ID] > 0 {
		o.fails[d.ID]--
		return openai.Usage{}, false, &provider.Error{Kind: provider.KindUnavailable, Status: 503}
	}
	return openai.Usage{TotalTokens: 7}, false, nil
}

func TestOperationDrivesTheLoop(t *testing.T) {
	reg := newRegistry(t)
	a, _ := fakeDep("a", "g1", "openai/m1")
	b, _ := fakeDep("b", "g2", "openai/m2")
	r := mustNew(t, reg, Config{Deployments: []Deployment{a, b}, Fallbacks: map[string][]string{"g1": {"g2"}}, NumRetries: 1})
	mustAlias(t, reg, "smart", "g1")
	op := &testOp{fails: map[string]int{"a": 5, "b": 1}}
	s := r.getScratch()
	q := r.newRequest(context.Background(), s, op, nil)
	srv, err := q.do("smart")
	defer r.putScratch(s, op, q.n)
	if err != nil {
		t.Fatal(err)
	}
	route := q.route(srv)
	want := []string{"a:m1", "a:m1", "b:m2", "b:m2"} // a's retry, then the fallback's
	if diff := cmp.Diff(want, op.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if route.Requested != "smart" || route.Group != "g2" || !route.Fallback || len(route.Attempts) != 4 || srv.usage.TotalTokens != 7 {
		t.Errorf("route %+v, usage %+v", route, srv.usage)
	}
	if n := r.tab.Load().byID["b"].st.inflight.Load(); n != 0 {
		t.Errorf("b in flight %d after an answer that holds nothing", n)
	}
}
