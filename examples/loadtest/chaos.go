package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

// chaosConfig is a chaos run: three deployments of one group on the fake
// upstream, one down, one answering 429 with Retry-After a third of the
// time, one slow past its timeout at random, under steady load through the
// gateway.
type chaosConfig struct {
	Duration time.Duration
	Rate     float64 // requests per second, a quarter of them streamed
	Drop     bool    // the down deployment drops connections instead of answering 503
	// MaxCooldownWait sets the router's MaxCooldownWait, which a LiteLLM
	// config has no setting for: how long in total a request waits for a
	// cooldown to end when every deployment is cooling down. Zero: the
	// router's default, as the gateway runs the config.
	MaxCooldownWait time.Duration
	// Cooldown is the router's cooldown_time. Zero: 1 s.
	Cooldown time.Duration
}

const (
	chaosRetryAfter = time.Second            // the limited deployment's Retry-After
	chaosTimeout    = 500 * time.Millisecond // each deployment's timeout
	chaosSlow       = 2 * time.Second        // the slow deployment's latency, when slow
	chaosSlowOdds   = 0.2                    // how often it is slow
)

const chaosConfigText = `
model_list:
  - model_name: chaos-group
    litellm_params: {model: openai/down, api_base: %[1]s, api_key: k, timeout: %[2]v}
    model_info: {id: dep-down}
  - model_name: chaos-group
    litellm_params: {model: openai/limited, api_base: %[1]s, api_key: k, timeout: %[2]v}
    model_info: {id: dep-limited}
  - model_name: chaos-group
    litellm_params: {model: openai/slow, api_base: %[1]s, api_key: k, timeout: %[2]v}
    model_info: {id: dep-slow}
router_settings:
  model_group_alias:
    chaotic: chaos-group
  num_retries: 9
  allowed_fails: 3
  cooldown_time: %[3]v
general_settings:
  master_key: ` + masterKey + `
`

// chaosModels maps each deployment ID to the upstream model it sends.
var chaosModels = map[string]string{"dep-down": "down", "dep-limited": "limited", "dep-slow": "slow"}

// window is a cooldown as the router reported it.
type window struct {
	dep         string
	from, until time.Time
}

// attemptRec is one upstream attempt as the router reported it.
type attemptRec struct {
	dep   string
	start time.Time
	err   string // "" on success, else the error's kind
}

type chaosReport struct {
	cfg        chaosConfig
	plain      *result
	stream     *result
	arrivals   map[string]int // per upstream model
	statuses   map[string]map[int]int
	cooldowns  map[string]int // per deployment
	attempts   map[string]int
	failures   map[string]map[string]int // per deployment, per error kind
	violations []string                  // requests that reached a deployment inside its cooldown
	missing    []string                  // faults that never happened (the run proves less)
}

func (r *chaosReport) total() (sent, ok int) {
	for _, res := range []*result{r.plain, r.stream} {
		sent += res.Sent
		ok += res.OK
	}
	return
}

func (r *chaosReport) successRate() float64 {
	sent, ok := r.total()
	if sent == 0 {
		return 0
	}
	return float64(ok) / float64(sent)
}

// ok: at least 99.9% succeeded, nothing reached a deployment inside its
// cooldown, and every fault happened.
func (r *chaosReport) ok() bool {
	return r.successRate() >= 0.999 && len(r.violations) == 0 && len(r.missing) == 0
}

// runChaos runs the chaos scenario through an in-process gateway (so that
// the router's observer reports each cooldown) and checks it.
func runChaos(ctx context.Context, cfg chaosConfig) (*chaosReport, error) {
	up, err := startUpstream(true, providertest.WithSeed(7))
	if err != nil {
		return nil, err
	}
	defer up.Close()
	down := providertest.Fault{Status: 503}
	if cfg.Drop {
		down = providertest.Fault{Drop: true}
	}
	up.fake.SetFault("down", down)
	up.fake.SetFault("limited", providertest.Fault{Status: 429, RetryAfter: chaosRetryAfter, Probability: 1.0 / 3})
	up.fake.SetFault("slow", providertest.Fault{Latency: chaosSlow, Probability: chaosSlowOdds})

	if cfg.Cooldown <= 0 {
		cfg.Cooldown = time.Second
	}
	lc, err := parseConfig(fmt.Sprintf(chaosConfigText, up.BaseURL(), chaosTimeout.Seconds(), cfg.Cooldown.Seconds()))
	if err != nil {
		return nil, err
	}
	var (
		mu       sync.Mutex
		windows  []window
		attempts []attemptRec
	)
	obs := router.ObserverFuncs{Attempt: func(e router.AttemptEvent) {
		mu.Lock()
		defer mu.Unlock()
		rec := attemptRec{dep: e.Deployment, start: e.Start}
		if e.Err != nil {
			rec.err = e.Kind.String()
		}
		attempts = append(attempts, rec)
		if !e.CooldownUntil.IsZero() {
			windows = append(windows, window{dep: e.Deployment, from: e.Start.Add(e.Latency), until: e.CooldownUntil})
		}
	}}
	dir, err := os.MkdirTemp("", "modelroute-chaos-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	g, err := startGateway(ctx, lc, dir, gatewayOptions{
		routerOpts: []router.Option{router.WithObserver(obs), router.WithSeed(3)},
		adjust:     func(c *router.Config) { c.MaxCooldownWait = cfg.MaxCooldownWait },
	})
	if err != nil {
		return nil, err
	}
	defer g.Close()
	adm := &admin{base: g.URL(), client: newClient(4)}
	defer adm.client.CloseIdleConnections()
	key, err := adm.generateKey(ctx, []string{"chaotic"})
	if err != nil {
		return nil, err
	}

	t := target{Name: "gateway", URL: g.URL() + "/v1/chat/completions", Key: key, Model: "chaotic"}
	client := newClient(1000)
	defer client.CloseIdleConnections()
	rep := &chaosReport{cfg: cfg}
	var wg sync.WaitGroup
	wg.Go(func() {
		rep.plain = attack(ctx, client, runSpec{Target: t, Rate: cfg.Rate * 3 / 4, Duration: cfg.Duration, MaxInFlight: 1000, Timeout: time.Minute})
	})
	wg.Go(func() {
		rep.stream = attack(ctx, client, runSpec{Target: t, Stream: true, Rate: cfg.Rate / 4, Duration: cfg.Duration, MaxInFlight: 1000, Timeout: time.Minute})
	})
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	g.Close() // no more events: every request has finished

	mu.Lock()
	defer mu.Unlock()
	rep.check(windows, attempts, up.rec.arrivals())
	return rep, nil
}

// check verifies the cooldowns three ways:
//
//   - no attempt the router started falls inside a cooldown of its
//     deployment (exact: the router reports each cooldown and each
//     attempt's start);
//   - the upstream saw no call the router did not account for: inside each
//     cooldown, at most as many requests reach the model as there were
//     attempts started before it that had not reached the upstream yet
//     (requests in flight when the router learned of the failure);
//   - every 429 the upstream answered with Retry-After R at time t is
//     honoured: a cooldown of that deployment lasts until t+R or later.
func (rep *chaosReport) check(windows []window, attempts []attemptRec, arr []arrival) {
	rep.cooldowns, rep.attempts, rep.failures = map[string]int{}, map[string]int{}, map[string]map[string]int{}
	rep.arrivals, rep.statuses = map[string]int{}, map[string]map[int]int{}
	byDep := map[string][]window{}
	for _, w := range windows {
		byDep[w.dep] = append(byDep[w.dep], w)
		rep.cooldowns[w.dep]++
	}
	violate := func(format string, args ...any) {
		if len(rep.violations) < 20 {
			rep.violations = append(rep.violations, fmt.Sprintf(format, args...))
		} else if len(rep.violations) == 20 {
			rep.violations = append(rep.violations, "…")
		}
	}
	starts := map[string][]time.Time{} // per deployment, sorted
	for _, a := range attempts {
		rep.attempts[a.dep]++
		if a.err != "" {
			if rep.failures[a.dep] == nil {
				rep.failures[a.dep] = map[string]int{}
			}
			rep.failures[a.dep][a.err]++
		}
		starts[a.dep] = append(starts[a.dep], a.start)
		for _, w := range byDep[a.dep] {
			if a.start.After(w.from) && a.start.Before(w.until) {
				violate("router: attempt on %s started %v into its cooldown %s–%s",
					a.dep, a.start.Sub(w.from), w.from.Format("15:04:05.000"), w.until.Format("15:04:05.000"))
			}
		}
	}
	for _, ts := range starts {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	}
	byModel := map[string][]time.Time{} // arrival times per model, sorted
	var limited []arrival
	for _, a := range arr {
		byModel[a.Model] = append(byModel[a.Model], a.At)
		rep.arrivals[a.Model]++
		if rep.statuses[a.Model] == nil {
			rep.statuses[a.Model] = map[int]int{}
		}
		rep.statuses[a.Model][a.Status]++
		if a.Model == "limited" && a.Status == 429 && a.RetryAfter > 0 {
			limited = append(limited, a)
		}
	}
	for _, ts := range byModel {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	}
	// upTo counts the times in sorted ts at or before t.
	upTo := func(ts []time.Time, t time.Time) int {
		return sort.Search(len(ts), func(i int) bool { return ts[i].After(t) })
	}
	for dep, ws := range byDep {
		model := chaosModels[dep]
		for _, w := range ws {
			inFlight := upTo(starts[dep], w.from) - upTo(byModel[model], w.from)
			// Arrivals in (from, until): until itself may see the next one.
			inside := upTo(byModel[model], w.until.Add(-time.Nanosecond)) - upTo(byModel[model], w.from)
			if inside > inFlight {
				violate("upstream: %d requests reached %s inside its cooldown %s–%s, only %d were in flight when it began",
					inside, model, w.from.Format("15:04:05.000"), w.until.Format("15:04:05.000"), inFlight)
			}
		}
	}
	for _, a := range limited {
		end := a.Answered.Add(a.RetryAfter)
		honoured := false
		for _, w := range byDep["dep-limited"] {
			if w.from.Before(end) && !w.until.Before(end) {
				honoured = true
				break
			}
		}
		if !honoured {
			violate("router: a 429 with Retry-After %v answered at %s has no cooldown lasting to %s",
				a.RetryAfter, a.Answered.Format("15:04:05.000"), end.Format("15:04:05.000"))
		}
	}
	if len(limited) == 0 {
		rep.missing = append(rep.missing, "the limited deployment never answered 429")
	}
	for _, dep := range []string{"dep-down", "dep-limited", "dep-slow"} {
		if rep.cooldowns[dep] == 0 {
			rep.missing = append(rep.missing, dep+" never cooled down")
		}
	}
}

func (rep *chaosReport) write(w io.Writer) {
	cfg := rep.cfg
	downKind := "503"
	if cfg.Drop {
		downKind = "dropped connections"
	}
	fmt.Fprintf(w, "Chaos: %v at %.0f req/s through the gateway (a quarter streamed), alias \"chaotic\" → group of 3:\n", cfg.Duration, cfg.Rate)
	fmt.Fprintf(w, "  down (%s always), limited (429 with Retry-After %v a third of the time), slow (%v, past its %v timeout, %.0f%% of the time)\n",
		downKind, chaosRetryAfter, chaosSlow, chaosTimeout, 100*chaosSlowOdds)
	maxWait := "default " + router.DefaultMaxCooldownWait.String()
	if cfg.MaxCooldownWait != 0 {
		maxWait = cfg.MaxCooldownWait.String()
	}
	fmt.Fprintf(w, "  router: num_retries 9, allowed_fails 3, cooldown_time %v, MaxCooldownWait %s\n", cfg.Cooldown, maxWait)
	sent, ok := rep.total()
	fmt.Fprintf(w, "  succeeded: %d of %d (%.3f%%); plain p50 %s p99 %s max %s; stream p50 %s p99 %s\n",
		ok, sent, 100*rep.successRate(), ms(rep.plain.Percentile(0.5)), ms(rep.plain.Percentile(0.99)), ms(rep.plain.Percentile(1)),
		ms(rep.stream.Percentile(0.5)), ms(rep.stream.Percentile(0.99)))
	for _, res := range []*result{rep.plain, rep.stream} {
		if res.Errors > 0 {
			fmt.Fprintf(w, "  %s errors: %s\n", modeName(res.Run.Stream), topErrors(res, 5))
		}
	}
	for _, dep := range []string{"dep-down", "dep-limited", "dep-slow"} {
		m := chaosModels[dep]
		var st []string
		for code, n := range rep.statuses[m] {
			st = append(st, fmt.Sprintf("%d×%d", n, code))
		}
		sort.Strings(st)
		var fl []string
		for kind, n := range rep.failures[dep] {
			fl = append(fl, fmt.Sprintf("%d×%s", n, kind))
		}
		sort.Strings(fl)
		fmt.Fprintf(w, "  %-12s attempts %6d (failed: %s), upstream arrivals %6d (status: %s), cooldowns %d\n",
			dep, rep.attempts[dep], strings.Join(fl, " "), rep.arrivals[m], strings.Join(st, " "), rep.cooldowns[dep])
	}
	fmt.Fprintf(w, "  cooldown violations: %d (router attempts inside a cooldown; upstream calls inside one beyond those in flight when it began; 429s not honoured)\n",
		len(rep.violations))
	for _, v := range rep.violations {
		fmt.Fprintf(w, "    %s\n", v)
	}
	for _, m := range rep.missing {
		fmt.Fprintf(w, "  not exercised: %s\n", m)
	}
	verdict := "FAIL"
	if rep.ok() {
		verdict = "PASS"
	}
	fmt.Fprintf(w, "%s  chaos: >= 99.9%% succeed and no request reaches a deployment inside its cooldown\n", verdict)
}
