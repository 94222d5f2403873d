package router_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

// fakeShared is a scriptable router.SharedState.
type fakeShared struct {
	mu        sync.Mutex
	admit     bool  // Admit's answer
	err       error // Admit's error
	admits    []string
	tokens    map[string]int
	cooldowns []string
	watch     func(string, time.Time)
	canceled  bool
}

func (f *fakeShared) Admit(ctx context.Context, id string, now time.Time, rpm, tpm, tokens int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.admits = append(f.admits, id)
	return f.admit, f.err
}

func (f *fakeShared) AddTokens(id string, now time.Time, tokens int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokens == nil {
		f.tokens = map[string]int{}
	}
	f.tokens[id] += tokens
}

func (f *fakeShared) Cooldown(id string, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cooldowns = append(f.cooldowns, id)
}

func (f *fakeShared) WatchCooldowns(fn func(string, time.Time)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watch = fn
	return func() { f.mu.Lock(); f.canceled = true; f.mu.Unlock() }
}

func sharedRouter(t *testing.T, f *fakeShared, log *bytes.Buffer) (*router.Router, *providertest.Fake, *providertest.Fake) {
	t.Helper()
	limited, plain := providertest.NewFake(), providertest.NewFake()
	opts := []router.Option{router.WithSharedState(f)}
	if log != nil {
		opts = append(opts, router.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	}
	r, err := router.New(nil, router.Config{Deployments: []router.Deployment{
		{ID: "limited", Group: "g", Model: "openai/m", Provider: limited, Order: 1, RPM: 100, TPM: 10000},
		{ID: "plain", Group: "g", Model: "openai/m", Provider: plain, Order: 2},
	}, AllowedFails: -1}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r, limited, plain
}

func TestSharedStateAdmission(t *testing.T) {
	tests := []struct {
		name     string
		admit    bool
		err      error
		wantDep  string
		wantWarn bool
	}{
		{name: "admitted", admit: true, wantDep: "limited"},
		{name: "refused elsewhere: the next deployment serves", admit: false, wantDep: "plain"},
		{name: "shared state down: this replica's counters decide", err: errors.New("connection refused"), wantDep: "limited", wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			f := &fakeShared{admit: tt.admit, err: tt.err}
			r, _, _ := sharedRouter(t, f, &log)
			defer r.Close()
			for range 2 {
				_, route, err := r.Complete(context.Background(), hello("g"))
				if err != nil || route.Deployment != tt.wantDep {
					t.Fatalf("route %+v, err %v; want served by %s", route, err, tt.wantDep)
				}
			}
			// Only the deployment with limits asks the shared state.
			if diff := cmp.Diff([]string{"limited", "limited"}, f.admits); diff != "" {
				t.Errorf("Admit calls (-want +got):\n%s", diff)
			}
			if got := strings.Count(log.String(), "shared state unavailable"); got != map[bool]int{true: 1}[tt.wantWarn] {
				t.Errorf("%d warnings about the shared state, want one per outage:\n%s", got, log.String())
			}
			for _, s := range r.Snapshot() {
				if s.ID == "limited" && !tt.admit && tt.err == nil && s.RPM != 0 {
					t.Errorf("a refused request still counts locally: rpm %d", s.RPM)
				}
			}
			if tt.admit {
				// 15 tokens per answer, reported for the tpm limit.
				if diff := cmp.Diff(map[string]int{"limited": 30}, f.tokens); diff != "" {
					t.Errorf("AddTokens (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestSharedStateCooldowns(t *testing.T) {
	f := &fakeShared{admit: true}
	r, limited, _ := sharedRouter(t, f, nil)
	// A cooldown reported by another replica takes the deployment out.
	f.watch("limited", time.Now().Add(time.Minute))
	f.watch("unknown-id", time.Now().Add(time.Minute)) // ignored
	_, route, err := r.Complete(context.Background(), hello("g"))
	if err != nil || route.Deployment != "plain" || limited.CallCount() != 0 {
		t.Fatalf("route %+v, err %v, limited called %d times", route, err, limited.CallCount())
	}
	// A cooldown that started here is reported.
	f.watch("limited", time.Now().Add(-time.Second)) // in the past: no effect
	plain := r.Snapshot()[1]
	if plain.Status != router.StatusHealthy {
		t.Fatalf("plain is %v", plain.Status)
	}
	r2, limited2, _ := sharedRouter(t, f, nil)
	limited2.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
	if _, _, err := r2.Complete(context.Background(), hello("g")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"limited"}, f.cooldowns); diff != "" {
		t.Errorf("Cooldown calls (-want +got):\n%s", diff)
	}
	r.Close()
	r2.Close()
	if !f.canceled {
		t.Error("Close did not stop watching cooldowns")
	}
}
