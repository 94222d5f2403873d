package router

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
)

// benchRouter returns a Router over one group "g" of n deployments with
// weights 1–10, a tenth of them cooling down for an hour.
func benchRouter(b *testing.B, n int, strategy string) *Router {
	return benchRouterWith(b, n, 0, strategy)
}

// benchRouterWith is benchRouter with other more deployments in groups of
// ten beside "g": a Router at scale.
func benchRouterWith(b *testing.B, n, other int, strategy string) *Router {
	cfg := Config{Strategy: strategy}
	f := providertest.NewFake()
	for i := range n {
		cfg.Deployments = append(cfg.Deployments, Deployment{
			ID: fmt.Sprint("d", i), Group: "g", Model: "openai/m", Provider: f, Weight: float64(1 + i%10),
		})
	}
	for i := range other {
		cfg.Deployments = append(cfg.Deployments, Deployment{
			ID: fmt.Sprint("o", i), Group: fmt.Sprint("g", i/10), Model: "openai/m", Provider: f, Weight: float64(1 + i%10),
		})
	}
	r := mustNew(b, nil, cfg)
	now := time.Now().UnixNano()
	for i, d := range r.tab.Load().deps {
		if i%10 == 3 {
			d.st.startCooldown(now, time.Hour)
		}
	}
	return r
}

// pickOnce is the selection step of one request: with the request's state
// c, pick and acquire a deployment of g at now (the request reads the clock
// once for this and its latency), then release it. Taking c from the pool
// and the clock read are per-request costs, measured by BenchmarkComplete.
func pickOnce(c *request, g *group, now int64) *dep {
	d, _ := c.pick(g, now)
	if d != nil {
		d.st.inflight.Add(-1)
	}
	return d
}

func newPickCall(r *Router) *request {
	q, _ := testRequest(r) // not released: a benchmark's request
	return q
}

func BenchmarkPick(b *testing.B) {
	for _, strategy := range []string{"simple-shuffle", "round-robin", "least-busy", "latency-based-routing", "usage-based-routing", "cost-based-routing"} {
		for _, n := range []int{4, 100, 1000} {
			b.Run(fmt.Sprintf("%s/n=%d", strategy, n), func(b *testing.B) {
				benchPick(b, benchRouter(b, n, strategy))
			})
		}
	}
}

// BenchmarkPickAtScale is BenchmarkPick's default strategy for the group of
// 1000 in a Router of 10000 deployments (9000 more in groups of ten).
func BenchmarkPickAtScale(b *testing.B) {
	benchPick(b, benchRouterWith(b, 1000, 9000, "simple-shuffle"))
}

// benchPick measures picks in r's group "g", in parallel.
func benchPick(b *testing.B, r *Router) {
	g, _ := r.tab.Load().lookup("g")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := newPickCall(r)
		now := time.Now().UnixNano()
		for pb.Next() {
			if pickOnce(c, g, now) == nil {
				b.Error("no pick")
				return
			}
		}
	})
}

// BenchmarkFloor is the DESIGN.md floor a pick is compared with: a map
// lookup behind an atomic.Pointer and a prefix-sum binary search, nothing
// else. It calibrates the machine the other figures come from.
func BenchmarkFloor(b *testing.B) {
	for _, n := range []int{4, 100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var p atomic.Pointer[map[string][]float64]
			prefix := make([]float64, n)
			for i := range prefix {
				prefix[i] = float64(i + 1)
			}
			m := map[string][]float64{"g": prefix}
			p.Store(&m)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				x := uint64(1)
				sink := 0
				for pb.Next() {
					x = x*6364136223846793005 + 1442695040888963407
					ps := (*p.Load())["g"]
					u := float64(x>>11) / (1 << 53) * ps[len(ps)-1]
					lo, hi := 0, len(ps)-1
					for lo < hi {
						mid := int(uint(lo+hi) >> 1)
						if ps[mid] > u {
							hi = mid
						} else {
							lo = mid + 1
						}
					}
					sink += lo
				}
				_ = sink
			})
		})
	}
}

// BenchmarkComplete: a request through an alias to a fake that answers at
// once, beside the same fake called directly. The difference is the
// Router's overhead.
func BenchmarkComplete(b *testing.B) {
	ctx := context.Background()
	f := providertest.NewFake()
	reg := newRegistry(b)
	r := mustNew(b, reg, Config{Deployments: []Deployment{
		{ID: "a", Group: "g", Model: "openai/gpt-4o", Provider: f},
		{ID: "b", Group: "g", Model: "openai/gpt-4o", Provider: f},
	}})
	mustAlias(b, reg, "smart", "g")
	b.Run("direct", func(b *testing.B) {
		req := chat("gpt-4o")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.ChatCompletion(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("router", func(b *testing.B) {
		req := chat("smart")
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := r.Complete(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
