package redisstate_test

import (
	"context"
	"testing"

	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/redisstate"
	"github.com/modelroute/modelroute/router/redisstate/redistest"
)

// BenchmarkComplete: the latency Redis adds to a request, on loopback,
// one request at a time. Each case routes through a Router to a fake that
// answers at once:
//
//   - memory: the in-memory default, a deployment with an rpm limit;
//   - redis/no-limit: shared state on, deployment without limits (no round
//     trip: only cooldowns would be sent);
//   - redis/rpm-limit: shared state on, deployment with rpm and tpm limits
//     (one round trip to admit, the token count queued and batched).
func BenchmarkComplete(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	const limit = 1 << 30
	for _, bc := range []struct {
		name   string
		shared bool
		rpm    int
	}{
		{"memory", false, limit},
		{"redis/no-limit", true, 0},
		{"redis/rpm-limit", true, limit},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var opts []router.Option
			if bc.shared {
				c, err := newBenchClient(b, srv)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, router.WithSharedState(c))
			}
			r, err := router.New(nil, router.Config{Deployments: []router.Deployment{
				{ID: "bench-" + bc.name, Group: "g", Model: "openai/m", Provider: providertest.NewFake(), RPM: bc.rpm, TPM: bc.rpm},
			}}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			req := hello("g")
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := r.Complete(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newBenchClient(b *testing.B, srv *redistest.Server) (router.SharedState, error) {
	c, err := redisstate.NewURL(srv.URL())
	if err != nil {
		return nil, err
	}
	b.Cleanup(func() { c.Close() })
	return c.Routing(), nil
}
