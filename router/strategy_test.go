package router

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// shares routes n requests for group and returns each deployment's share.
func shares(t *testing.T, r *Router, group string, n int) map[string]float64 {
	t.Helper()
	counts := map[string]int{}
	for range n {
		_, route, err := r.Complete(context.Background(), chat(group))
		if err != nil {
			t.Fatal(err)
		}
		counts[route.Deployment]++
	}
	out := map[string]float64{}
	for id, c := range counts {
		out[id] = float64(c) / float64(n)
	}
	return out
}

func checkShares(t *testing.T, got, want map[string]float64, tol float64) {
	t.Helper()
	for id, w := range want {
		if math.Abs(got[id]-w) > tol {
			t.Errorf("deployment %s: share %.3f, want %.3f ± %.3f (all: %v)", id, got[id], w, tol, got)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok && got[id] > 0 {
			t.Errorf("deployment %s got share %.3f, want none", id, got[id])
		}
	}
}

func weighted(strategy string, weights ...float64) Config {
	cfg := Config{Strategy: strategy}
	for i, w := range weights {
		d, _ := fakeDep(string(rune('a'+i)), "g", "openai/m")
		d.Weight = w
		cfg.Deployments = append(cfg.Deployments, d)
	}
	return cfg
}

func TestStrategyDistributions(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		weights  []float64
		want     map[string]float64
		tol      float64
	}{
		{"simple-shuffle", []float64{1, 2, 7}, map[string]float64{"a": .1, "b": .2, "c": .7}, .02},
		{"simple-shuffle", []float64{0, 0}, map[string]float64{"a": .5, "b": .5}, .02}, // absent weight is 1
		{"round-robin", []float64{1, 2, 7}, map[string]float64{"a": .1, "b": .2, "c": .7}, .005},
		{"round-robin", []float64{1, 1, 1, 1}, map[string]float64{"a": .25, "b": .25, "c": .25, "d": .25}, .001},
		{"least-busy", []float64{1, 1}, map[string]float64{"a": .5, "b": .5}, .03}, // idle: ties at random
		{"cost-based-routing", []float64{1, 1}, map[string]float64{"a": .5, "b": .5}, .03},
		{"usage-based-routing", []float64{1, 1}, map[string]float64{"a": .5, "b": .5}, .01},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			r := mustNew(t, nil, weighted(tc.strategy, tc.weights...))
			checkShares(t, shares(t, r, "g", 10000), tc.want, tc.tol)
		})
	}
}

func TestRoundRobinIsSmooth(t *testing.T) {
	r := mustNew(t, nil, weighted("round-robin", 1, 1, 1))
	var seq []string
	for range 6 {
		_, route, err := r.Complete(context.Background(), chat("g"))
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, route.Deployment)
	}
	// Each cycle visits every deployment once.
	for i := 0; i < 6; i += 3 {
		seen := map[string]bool{seq[i]: true, seq[i+1]: true, seq[i+2]: true}
		if len(seen) != 3 {
			t.Errorf("cycle %v repeats a deployment (sequence %v)", seq[i:i+3], seq)
		}
	}
	// A heavy deployment's turns are spread, never all in a row.
	r = mustNew(t, nil, weighted("round-robin", 1, 5))
	run, longest := 0, 0
	for range 60 {
		_, route, _ := r.Complete(context.Background(), chat("g"))
		if route.Deployment == "b" {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest > 6 {
		t.Errorf("weight-5 deployment served %d times in a row", longest)
	}
}

func TestLeastBusyPicksFewestInFlight(t *testing.T) {
	r := mustNew(t, nil, weighted("least-busy", 1, 1, 1))
	tab := r.tab.Load()
	tab.byID["a"].st.inflight.Store(3)
	tab.byID["b"].st.inflight.Store(1)
	tab.byID["c"].st.inflight.Store(2)
	checkShares(t, shares(t, r, "g", 200), map[string]float64{"b": 1}, 0)

	// Large tiers use two random choices: the busiest is never picked.
	cfg := weighted("least-busy", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	r = mustNew(t, nil, cfg)
	tab = r.tab.Load()
	for i, d := range tab.deps {
		d.st.inflight.Store(int64(i))
	}
	got := shares(t, r, "g", 5000)
	if got["j"] != 0 {
		t.Errorf("busiest deployment picked (%.3f)", got["j"])
	}
	if got["a"] < got["e"] || got["e"] < got["i"] {
		t.Errorf("shares not decreasing with load: %v", got)
	}
}

func TestLowestLatencyBuffer(t *testing.T) {
	r := mustNew(t, nil, weighted("latency-based-routing", 1, 1, 1))
	tab := r.tab.Load()
	// Fix the averages: the fakes answer in 0s, which the EWMA blends in,
	// so give the strategy latencies it reads after each request.
	set := func() {
		tab.byID["a"].st.ewma.Store(math.Float64bits(float64(100 * time.Millisecond)))
		tab.byID["b"].st.ewma.Store(math.Float64bits(float64(105 * time.Millisecond)))
		tab.byID["c"].st.ewma.Store(math.Float64bits(float64(300 * time.Millisecond)))
	}
	counts := map[string]int{}
	for range 4000 {
		set()
		_, route, err := r.Complete(context.Background(), chat("g"))
		if err != nil {
			t.Fatal(err)
		}
		counts[route.Deployment]++
	}
	if counts["c"] != 0 {
		t.Errorf("slow deployment picked %d times", counts["c"])
	}
	if math.Abs(float64(counts["a"]-counts["b"]))/4000 > .05 {
		t.Errorf("deployments within the buffer not shared evenly: %v", counts)
	}
}

func TestUsageBasedPicksMostHeadroom(t *testing.T) {
	cfg := weighted("usage-based-routing", 1, 1)
	cfg.Deployments[0].RPM = 100
	cfg.Deployments[1].RPM = 10
	r := mustNew(t, nil, cfg)
	// a: 100 rpm, b: 10 rpm. Headroom-based routing keeps their shares
	// used equal, so a takes ten times b's traffic.
	got := shares(t, r, "g", 110)
	checkShares(t, got, map[string]float64{"a": 100.0 / 110, "b": 10.0 / 110}, .02)
}

func TestLowestCost(t *testing.T) {
	cfg := weighted("cost-based-routing", 1, 1, 1)
	cfg.Deployments[0].InputCostPerToken = 3e-6
	cfg.Deployments[1].InputCostPerToken = 1e-6
	cfg.Deployments[2].InputCostPerToken = 2e-6
	r := mustNew(t, nil, cfg)
	checkShares(t, shares(t, r, "g", 100), map[string]float64{"b": 1}, 0)
	// The cheapest cooling down: the next cheapest.
	r.tab.Load().byID["b"].st.startCooldown(time.Now().UnixNano(), time.Hour)
	checkShares(t, shares(t, r, "g", 100), map[string]float64{"c": 1}, 0)
}

func TestCustomStrategy(t *testing.T) {
	cfg := weighted("", 1, 1, 1)
	cfg.CustomStrategy = StrategyFunc(func(c *Candidates) int {
		for i := c.Len() - 1; i >= 0; i-- { // the last eligible
			if c.Eligible(i) {
				return i
			}
		}
		return -1
	})
	r := mustNew(t, nil, cfg)
	checkShares(t, shares(t, r, "g", 10), map[string]float64{"c": 1}, 0)
	e, err := r.Explain("g")
	if err != nil || e.Strategy != "custom" {
		t.Errorf("Explain strategy %q, %v", e.Strategy, err)
	}
}

func TestStrategyByName(t *testing.T) {
	for _, name := range StrategyNames() {
		if _, err := StrategyByName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := StrategyByName("fastest"); err == nil {
		t.Error("unknown name accepted")
	}
}

// Every strategy skips deployments that are not candidates.
func TestStrategiesSkipExcluded(t *testing.T) {
	for _, name := range StrategyNames() {
		t.Run(name, func(t *testing.T) {
			cfg := weighted(name, 1, 1, 1, 1)
			r := mustNew(t, nil, cfg)
			now := time.Now().UnixNano()
			r.tab.Load().byID["a"].st.startCooldown(now, time.Hour)
			r.tab.Load().byID["c"].st.setProbeHealth(now, false, 0)
			got := shares(t, r, "g", 400)
			if got["a"] != 0 || got["c"] != 0 {
				t.Errorf("excluded deployments picked: %v", got)
			}
		})
	}
}

func TestEstimateTokens(t *testing.T) {
	req := chat("g")
	req.Messages[0].Content = string(make([]byte, 400))
	if got, want := EstimateTokens(&req), (16+400)/4; got != want {
		t.Errorf("EstimateTokens = %d, want %d", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { EstimateTokens(&req) }); n != 0 {
		t.Errorf("EstimateTokens allocates %v", n)
	}
	_ = cmp.Diff
}
