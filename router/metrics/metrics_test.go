package metrics_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/metrics"
)

func hello(model string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{Model: model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi"}}}
}

// values gathers reg and returns every sample as "name{k=v,…}" → value;
// histograms contribute their sample count as name_count.
func values(t *testing.T, reg *prometheus.Registry, prefix string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := fmt.Sprintf("%s{%s}", mf.GetName(), strings.Join(labels, ","))
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[strings.Replace(key, "{", "_count{", 1)] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

type fixture struct {
	reg     *prometheus.Registry
	rt      *router.Router
	aliases *alias.Registry
	bad, ok *providertest.Fake
}

func newFixture(t *testing.T, opts ...metrics.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{bad: providertest.NewFake(), ok: providertest.NewFake()}
	var err error
	f.aliases, err = alias.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.aliases.Close() })
	col := metrics.New(opts...)
	f.rt, err = router.New(f.aliases, router.Config{
		Deployments: []router.Deployment{
			{ID: "bad", Group: "g", Model: "openai/m", Provider: f.bad, Order: 1, InputCostPerToken: 0.001, OutputCostPerToken: 0.002},
			{ID: "good", Group: "g", Model: "openai/m", Provider: f.ok, Order: 2, InputCostPerToken: 0.001, OutputCostPerToken: 0.002},
			{ID: "other", Group: "h", Model: "openai/n", Provider: f.ok},
		},
		AllowedFails: -1, // the first failure cools a deployment
		Fallbacks:    map[string][]string{"x": {"h"}},
	}, router.WithObserver(col))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.rt.Close() })
	f.reg = prometheus.NewRegistry()
	f.reg.MustRegister(col, metrics.NewStateCollector(f.rt))
	return f
}

func TestCollectorCountsRequestsAttemptsTokensAndCooldowns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.aliases.Create(ctx, alias.Alias{Name: "smart", Target: "g"}); err != nil {
		t.Fatal(err)
	}
	f.bad.Enqueue(providertest.Reply{Kind: provider.KindUnavailable})
	for range 2 {
		if _, _, err := f.rt.Complete(ctx, hello("smart")); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.rt.Complete(ctx, hello("nonesuch")); err == nil {
		t.Fatal("unknown name served")
	}
	// The fake reports 10 prompt and 5 completion tokens per answer.
	want := map[string]float64{
		"modelroute_requests_total{call=chat,deployment=good,group=g,outcome=success,requested=smart}": 2,
		"modelroute_requests_total{call=chat,deployment=,group=,outcome=unknown_name,requested=other}": 1,
		"modelroute_request_duration_seconds_count{call=chat,group=g,requested=smart}":                 2,
		"modelroute_request_duration_seconds_count{call=chat,group=,requested=other}":                  1,
		"modelroute_tokens_total{deployment=good,group=g,requested=smart,type=prompt}":                 20,
		"modelroute_tokens_total{deployment=good,group=g,requested=smart,type=completion}":             10,
		"modelroute_tokens_total{deployment=,group=,requested=other,type=prompt}":                      0,
		"modelroute_tokens_total{deployment=,group=,requested=other,type=completion}":                  0,
		"modelroute_cost_usd_total{deployment=good,group=g,requested=smart}":                           2 * (10*0.001 + 5*0.002),
		"modelroute_cost_usd_total{deployment=,group=,requested=other}":                                0,
		"modelroute_attempts_total{deployment=bad,group=g,outcome=unavailable}":                        1,
		"modelroute_attempts_total{deployment=good,group=g,outcome=success}":                           2,
		"modelroute_attempt_duration_seconds_count{deployment=bad,group=g}":                            1,
		"modelroute_attempt_duration_seconds_count{deployment=good,group=g}":                           2,
		"modelroute_cooldowns_total{deployment=bad,group=g}":                                           1,
		"modelroute_cooldowns_total{deployment=good,group=g}":                                          0,
		"modelroute_deployment_in_flight{deployment=bad,group=g}":                                      0,
		"modelroute_deployment_in_flight{deployment=good,group=g}":                                     0,
		"modelroute_deployment_in_flight{deployment=other,group=h}":                                    0,
		"modelroute_deployment_up{deployment=bad,group=g}":                                             0,
		"modelroute_deployment_up{deployment=good,group=g}":                                            1,
		"modelroute_deployment_up{deployment=other,group=h}":                                           1,
		"modelroute_deployment_rpm{deployment=bad,group=g}":                                            1,
		"modelroute_deployment_rpm{deployment=good,group=g}":                                           2,
		"modelroute_deployment_rpm{deployment=other,group=h}":                                          0,
		"modelroute_deployment_tpm{deployment=bad,group=g}":                                            0,
		"modelroute_deployment_tpm{deployment=good,group=g}":                                           30,
		"modelroute_deployment_tpm{deployment=other,group=h}":                                          0,
	}
	if diff := cmp.Diff(want, values(t, f.reg, "modelroute_")); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestCollectorCountsFallbacks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.aliases.Create(ctx, alias.Alias{Name: "x", Target: "g"}); err != nil {
		t.Fatal(err)
	}
	f.bad.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
	f.ok.Enqueue(providertest.Reply{Kind: provider.KindUnavailable})
	_, route, err := f.rt.Complete(ctx, hello("x"))
	if err != nil {
		t.Fatal(err)
	}
	if !route.Fallback || route.Group != "h" {
		t.Fatalf("route = %+v, want a fallback to h", route)
	}
	got := values(t, f.reg, "modelroute_fallbacks_total")
	want := map[string]float64{"modelroute_fallbacks_total{group=h,requested=x}": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fallbacks (-want +got):\n%s", diff)
	}
}

// Requested names are bounded: only known names, and only the first
// MaxNames of them, are label values; the rest are "other".
func TestCollectorBoundsRequestedNames(t *testing.T) {
	tests := []struct {
		name  string
		opts  []metrics.Option
		calls []string
		want  map[string]float64
	}{
		{
			name:  "cap",
			opts:  []metrics.Option{metrics.WithMaxNames(2)},
			calls: []string{"a1", "a2", "a3", "a1", "g"},
			want:  map[string]float64{"a1": 2, "a2": 1, metrics.Other: 2},
		},
		{
			name:  "known names only",
			opts:  []metrics.Option{metrics.WithKnownNames(func(n string) bool { return n == "g" || n == "a2" })},
			calls: []string{"a1", "a2", "g", "a3"},
			want:  map[string]float64{"a2": 1, "g": 1, metrics.Other: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opts...)
			ctx := context.Background()
			for _, a := range []string{"a1", "a2", "a3"} {
				if _, err := f.aliases.Create(ctx, alias.Alias{Name: a, Target: "h"}); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range tt.calls {
				if _, _, err := f.rt.Complete(ctx, hello(n)); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]float64{}
			mfs, _ := f.reg.Gather()
			for _, mf := range mfs {
				if mf.GetName() != "modelroute_requests_total" {
					continue
				}
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "requested" {
							got[l.GetValue()] += m.Counter.GetValue()
						}
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("requests by requested label (-want +got):\n%s", diff)
			}
		})
	}
}

func BenchmarkObserve(b *testing.B) {
	col := metrics.New()
	req := router.RequestEvent{Call: router.CallChat, Requested: "smart", Group: "g", Deployment: "d1",
		Usage: openai.Usage{PromptTokens: 10, CompletionTokens: 5}, Cost: 0.01}
	att := router.AttemptEvent{Call: router.CallChat, Requested: "smart", Group: "g", Deployment: "d1"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			col.ObserveAttempt(att)
			col.ObserveRequest(req)
		}
	})
}
