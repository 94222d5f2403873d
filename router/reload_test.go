package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

func TestUpdateKeepsStateByID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := fakeDep("a", "g", "openai/m")
		b, _ := fakeDep("b", "g", "openai/m")
		r := mustNew(t, nil, Config{Deployments: []Deployment{a, b}})
		start := time.Now()
		r.tab.Load().byID["a"].st.startCooldown(start.UnixNano(), time.Minute)
		r.tab.Load().byID["b"].st.inflight.Store(0)

		a.Weight = 5 // same ID, new settings
		c, _ := fakeDep("c", "g", "openai/m")
		if err := r.Update(Config{Deployments: []Deployment{a, c}}); err != nil {
			t.Fatal(err)
		}
		snap := r.Snapshot()
		if len(snap) != 2 || snap[0].ID != "a" || snap[1].ID != "c" {
			t.Fatalf("snapshot %+v", snap)
		}
		if snap[0].Status != StatusCooldown || !snap[0].CooldownUntil.Equal(start.Add(time.Minute)) {
			t.Errorf("a lost its cooldown across Update: %+v", snap[0])
		}
		if snap[1].Status != StatusHealthy {
			t.Errorf("new deployment c: %+v", snap[1])
		}
		// A dropped ID comes back fresh.
		if err := r.Update(Config{Deployments: []Deployment{c}}); err != nil {
			t.Fatal(err)
		}
		if err := r.Update(Config{Deployments: []Deployment{a, c}}); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, r, "a"); s.Status != StatusHealthy {
			t.Errorf("re-added a: %+v", s)
		}
	})
}

func TestDefaultIDsAreStable(t *testing.T) {
	a := Deployment{Group: "g", Model: "openai/m", APIBase: "http://x", Provider: providertest.NewFake()}
	r := mustNew(t, nil, Config{Deployments: []Deployment{a}})
	id := r.Snapshot()[0].ID
	r.tab.Load().deps[0].st.startCooldown(time.Now().UnixNano(), time.Hour)
	a.Weight, a.RPM = 3, 100
	if err := r.Update(Config{Deployments: []Deployment{a}}); err != nil {
		t.Fatal(err)
	}
	if s := r.Snapshot()[0]; s.ID != id || s.Status != StatusCooldown {
		t.Errorf("after a weight change: %s %v, want %s still cooling", s.ID, s.Status, id)
	}
	if len(id) != 16 {
		t.Errorf("id %q", id)
	}
}

func TestUpdateDoesNotFailInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := newRegistry(t)
		a, fa := fakeDep("a", "g", "openai/m")
		b, _ := fakeDep("b", "g", "openai/m")
		r := mustNew(t, reg, Config{Deployments: []Deployment{a}})
		mustAlias(t, reg, "smart", "g")
		fa.Enqueue(providertest.Reply{Latency: time.Second})
		done := make(chan Route)
		go func() { done <- mustServe(t, r, "smart", "a") }()
		synctest.Wait()
		// Replace a by b while a request is on a.
		if err := r.Update(Config{Deployments: []Deployment{b}}); err != nil {
			t.Fatal(err)
		}
		mustServe(t, r, "smart", "b")
		if route := <-done; route.Deployment != "a" {
			t.Errorf("in-flight request: %+v", route)
		}
	})
}

// Invariant 8: two Routers share nothing.
func TestRoutersShareNothing(t *testing.T) {
	a, _ := fakeDep("a", "g", "openai/m")
	r1 := mustNew(t, nil, Config{Deployments: []Deployment{a}})
	r2 := mustNew(t, nil, Config{Deployments: []Deployment{a}})
	r1.tab.Load().byID["a"].st.startCooldown(time.Now().UnixNano(), time.Hour)
	if s := stateOf(t, r2, "a"); s.Status != StatusHealthy {
		t.Errorf("r1's cooldown shows in r2: %+v", s)
	}
}

// Invariant 8: every goroutine the Router starts stops on Close (synctest
// fails the test if one outlives the bubble).
func TestCloseLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := newRegistry(t)
		a, fa := fakeDep("a", "g", "openai/m")
		fa.SetDefault(providertest.Reply{Latency: time.Millisecond, Chunks: []string{"x"}})
		r, err := New(reg, Config{Deployments: []Deployment{a}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		r.Complete(context.Background(), chat("g"))
		s, err := r.Stream(context.Background(), chat("g"))
		if err == nil {
			drain(s)
			s.Close()
		}
		r.Close()
		reg.Close()
	})
}

// The stress test: requests, cooldown changes, health flips, alias
// re-pointing and config swaps all at once, under -race.
func TestStressReloadDuringTraffic(t *testing.T) {
	reg := newRegistry(t)
	fakes := make([]*providertest.Fake, 4)
	deps := make([]Deployment, 4)
	var calls atomic.Int64
	for i := range deps {
		g := "g1"
		if i >= 2 {
			g = "g2"
		}
		deps[i], fakes[i] = fakeDep(fmt.Sprint("d", i), g, "openai/m")
		fakes[i].SetFunc(func(providertest.Call) providertest.Reply {
			switch calls.Add(1) % 7 {
			case 0:
				return providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: time.Millisecond}
			case 3:
				return providertest.Reply{Kind: provider.KindUnavailable}
			}
			return providertest.Reply{}
		})
	}
	cfgs := []Config{
		{Deployments: deps, CooldownTime: time.Millisecond, Fallbacks: map[string][]string{"g1": {"g2"}}},
		{Deployments: deps, CooldownTime: 2 * time.Millisecond, Strategy: "least-busy"},
		{Deployments: []Deployment{deps[0], deps[2], deps[3]}, Strategy: "round-robin", CooldownTime: time.Millisecond},
	}
	r := mustNew(t, reg, cfgs[0])
	mustAlias(t, reg, "smart", "g1")
	ctx, cancel := context.WithCancel(context.Background())
	var wg, workers sync.WaitGroup
	var served atomic.Int64
	for range 4 {
		workers.Go(func() {
			for range 150 {
				_, route, err := r.Complete(context.Background(), chat("smart"))
				var ex *ExhaustedError
				switch {
				case err == nil:
					served.Add(1)
					if route.Deployment == "" {
						t.Error("served without a deployment")
					}
				case errors.As(err, &ex):
				default:
					t.Errorf("unexpected error %v", err)
				}
				if s, err := r.Stream(context.Background(), chat("smart")); err == nil {
					drain(s)
					s.Close()
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			if err := r.Update(cfgs[i%len(cfgs)]); err != nil {
				t.Error(err)
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	wg.Go(func() {
		targets := []string{"g1", "g2"}
		for i := 0; ctx.Err() == nil; i++ {
			r.setProbeHealth("d2", i%2 == 0, provider.KindUnavailable, time.Now())
			r.Snapshot()
			r.Explain("smart")
			reg.Update(context.Background(), "smart", alias.Update{Target: &targets[i%2]})
		}
	})
	workers.Wait()
	cancel()
	wg.Wait()
	if served.Load() == 0 {
		t.Fatal("nothing served")
	}
	for _, s := range r.Snapshot() {
		if s.InFlight != 0 {
			t.Errorf("%s: %d still in flight", s.ID, s.InFlight)
		}
	}
	t.Logf("served %d, upstream calls %d", served.Load(), calls.Load())
}
