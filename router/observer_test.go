package router

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

type eventRecorder struct {
	mu       sync.Mutex
	attempts []AttemptEvent
	requests []RequestEvent
}

func (r *eventRecorder) ObserveAttempt(e AttemptEvent) {
	r.mu.Lock()
	r.attempts = append(r.attempts, e)
	r.mu.Unlock()
}

func (r *eventRecorder) ObserveRequest(e RequestEvent) {
	r.mu.Lock()
	r.requests = append(r.requests, e)
	r.mu.Unlock()
}

func TestObserverEvents(t *testing.T) {
	reg := newRegistry(t)
	cfg, fa, _ := primaryBackup()
	cfg.Deployments[1].InputCostPerToken = 1e-6
	cfg.Deployments[1].OutputCostPerToken = 2e-6
	rec := &eventRecorder{}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := mustNew(t, reg, cfg, WithObserver(rec), WithLogger(log))
	mustAlias(t, reg, "smart", "g")
	fa.Enqueue(providertest.Reply{Kind: provider.KindUnavailable})
	if _, _, err := r.Complete(context.Background(), chat("smart")); err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(AttemptEvent{}, "Start", "Latency", "Err")
	want := []AttemptEvent{
		{Call: CallChat, Requested: "smart", Chain: []string{"smart"}, Target: "smart", Group: "g", Deployment: "a", Model: "m", Provider: "openai", Kind: provider.KindUnavailable},
		{Call: CallChat, Requested: "smart", Chain: []string{"smart"}, Target: "smart", Group: "g", Deployment: "b", Model: "m", Provider: "openai",
			Usage: openai.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}, Cost: float64(10)*1e-6 + float64(5)*2e-6},
	}
	if diff := cmp.Diff(want, rec.attempts, ignore); diff != "" {
		t.Errorf("attempt events (-want +got):\n%s", diff)
	}
	if rec.attempts[0].Err == nil || rec.attempts[1].Err != nil {
		t.Errorf("attempt errors: %v, %v", rec.attempts[0].Err, rec.attempts[1].Err)
	}
	if len(rec.requests) != 1 {
		t.Fatalf("%d request events", len(rec.requests))
	}
	e := rec.requests[0]
	if e.Requested != "smart" || e.Group != "g" || e.Deployment != "b" || e.Usage.TotalTokens != 15 || e.Cost != want[1].Cost || e.Err != nil || len(e.Route.Attempts) != 2 {
		t.Errorf("request event %+v", e)
	}
	if !strings.Contains(logs.String(), "attempt failed") || !strings.Contains(logs.String(), "deployment=a") {
		t.Errorf("logs lack the failed attempt:\n%s", logs.String())
	}
	// A failed request is reported too.
	r.Complete(context.Background(), chat("nope"))
	if n := len(rec.requests); n != 2 || rec.requests[1].Err == nil {
		t.Errorf("failed request not reported: %+v", rec.requests)
	}
}

func TestEmbed(t *testing.T) {
	d, f := fakeDep("e", "emb", "openai/text-embedding-3-small")
	r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
	resp, route, err := r.Embed(context.Background(), openai.EmbeddingRequest{Model: "emb", Input: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || route.Deployment != "e" || models(f)[0] != "text-embedding-3-small" {
		t.Errorf("resp %+v route %+v calls %v", resp, route, models(f))
	}
}

func TestExplain(t *testing.T) {
	reg := newRegistry(t)
	a, _ := fakeDep("a", "g", "openai/m1")
	b, _ := fakeDep("b", "g", "openai/m2")
	c, _ := fakeDep("c", "g", "azure/m3")
	x, _ := fakeDep("x", "other", "openai/x")
	a.Order, b.Order, c.Order = 1, 1, 2
	r := mustNew(t, reg, Config{Deployments: []Deployment{c, a, b, x}, Strategy: "least-busy",
		Fallbacks: map[string][]string{"g": {"other"}}})
	mustAlias(t, reg, "smart", "g")
	r.setProbeHealth("b", false, provider.KindConnection, timeNow())
	e, err := r.Explain("smart")
	if err != nil {
		t.Fatal(err)
	}
	want := Explanation{
		Requested: "smart", Chain: []string{"smart"}, Target: "g", Group: "g", Strategy: "least-busy",
		Deployments: []ExplainedDeployment{
			{ID: "a", Model: "m1", Provider: "openai", Order: 1, Weight: 1, Candidate: true, Reason: ReasonCandidate},
			{ID: "b", Model: "m2", Provider: "openai", Order: 1, Weight: 1, Reason: ReasonUnhealthy},
			{ID: "c", Model: "m3", Provider: "azure", Order: 2, Weight: 1, Reason: ReasonLowerTier},
		},
		Fallbacks: []string{"other"},
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("Explain (-want +got):\n%s", diff)
	}
	if s := stateOf(t, r, "b"); s.Status != StatusUnhealthy || s.Out != SignalActive || s.ProbeKind != provider.KindConnection {
		t.Errorf("snapshot of b: %+v", s)
	}
	if _, err := r.Explain("nope"); err == nil {
		t.Error("Explain of an unknown name succeeded")
	}
	if ReasonLowerTier.String() != "lower order tier" || (SignalActive|SignalPassive).String() != "passive+active" || StatusProbing.String() != "probing" {
		t.Error("String methods")
	}
}

// Observers passes every event to each observer in order, skipping nils.
func TestObservers(t *testing.T) {
	var order []string
	mk := func(name string) Observer {
		return ObserverFuncs{
			Attempt: func(AttemptEvent) { order = append(order, name+":attempt") },
			Request: func(RequestEvent) { order = append(order, name+":request") },
		}
	}
	obs := Observers(mk("a"), nil, mk("b"))
	obs.ObserveAttempt(AttemptEvent{})
	obs.ObserveRequest(RequestEvent{})
	want := []string{"a:attempt", "b:attempt", "a:request", "b:request"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
