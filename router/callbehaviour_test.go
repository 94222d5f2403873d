package router

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// WithRequestObserver sees each finished request once, with the Route and
// usage, for Complete, Stream (at its end or Close) and failed requests alike.
func TestWithRequestObserver(t *testing.T) {
	reg := newRegistry(t)
	d, f := fakeDep("d1", "g", "m")
	d.InputCostPerToken, d.OutputCostPerToken = 0.001, 0.002
	r := mustNew(t, reg, Config{Deployments: []Deployment{d}})
	mustAlias(t, reg, "smart", "g")
	ctx := context.Background()

	var got []RequestEvent
	obs := WithRequestObserver(func(e RequestEvent) { got = append(got, e) })

	if _, _, err := r.Complete(ctx, chat("smart"), obs); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Requested != "smart" || got[0].Deployment != "d1" || got[0].Err != nil {
		t.Fatalf("Complete: events %+v", got)
	}
	if want := 10*0.001 + 5*0.002; got[0].Cost < want*0.999 || got[0].Cost > want*1.001 {
		t.Errorf("Complete: cost %v, want %v", got[0].Cost, want)
	}

	s, err := r.Stream(ctx, chat("smart"), obs)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := s.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s.Close()
	if len(got) != 2 || got[1].Call != CallStream || got[1].Deployment != "d1" {
		t.Fatalf("Stream: events %+v", got)
	}

	f.SetDefault(providertest.Reply{Kind: provider.KindBadRequest, Status: 400})
	if _, _, err := r.Complete(ctx, chat("smart"), obs); err == nil {
		t.Fatal("want an error")
	}
	if len(got) != 3 || got[2].Err == nil {
		t.Fatalf("failed request: events %+v", got)
	}

	// Without the option nothing is called.
	if _, _, err := r.Complete(ctx, chat("smart")); err == nil {
		t.Fatal("want an error")
	}
	if len(got) != 3 {
		t.Fatalf("observer called without the option: %d events", len(got))
	}
}

// A Retry-After longer than BackoffMax is a cooldown: the request waits for
// it within MaxCooldownWait (the default, 30s, fits a 30s Retry-After) and
// its deadline; past them it fails at once with the time to wait (and its
// fallbacks would run).
func TestLongRetryAfterFailsFast(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(map[bool]string{false: "fail fast", true: "wait"}[wait], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := newRegistry(t)
				d, f := fakeDep("d1", "g", "m")
				f.Enqueue(providertest.Reply{Kind: provider.KindRateLimited, Status: 429, RetryAfter: 30 * time.Second})
				cfg := Config{Deployments: []Deployment{d}}
				if !wait {
					cfg.MaxCooldownWait = 20 * time.Second
				}
				r := mustNew(t, reg, cfg)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				start := time.Now()
				_, _, err := r.Complete(ctx, chat("g"))
				took := time.Since(start)
				if !wait {
					var ex *ExhaustedError
					if !errors.As(err, &ex) || ex.CooldownWait != 30*time.Second || took != 0 {
						t.Fatalf("err %v (CooldownWait %v) after %v; want an ExhaustedError at once", err, ex, took)
					}
					return
				}
				if err != nil || took < 30*time.Second || took > 31*time.Second || f.CallCount() != 2 {
					t.Fatalf("err %v after %v, %d calls; want success after the 30s cooldown", err, took, f.CallCount())
				}
			})
		})
	}
}
