package otelgenai_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/otelgenai"
)

type span struct {
	Name   string
	Attrs  map[string]string
	Status codes.Code
}

func TestObserverSpansAndMetrics(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := otelgenai.New(otelgenai.WithTracerProvider(tp), otelgenai.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	bad, good := providertest.NewFake(), providertest.NewFake()
	bad.SetDefault(providertest.Reply{Kind: provider.KindRateLimited})
	rt, err := router.New(nil, router.Config{Deployments: []router.Deployment{
		{ID: "a", Group: "g", Model: "azure/gpt-4o-eu", Provider: bad, Order: 1},
		{ID: "b", Group: "g", Model: "openai/gpt-4o", Provider: good, Order: 2},
	}}, router.WithObserver(router.Observers(obs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx := context.Background()
	req := openai.ChatCompletionRequest{Model: "g", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}
	if _, _, err := rt.Complete(ctx, req); err != nil {
		t.Fatal(err)
	}

	var got []span
	for _, s := range rec.Ended() {
		sp := span{Name: s.Name(), Attrs: map[string]string{}, Status: s.Status().Code}
		for _, kv := range s.Attributes() {
			sp.Attrs[string(kv.Key)] = kv.Value.Emit()
		}
		if s.EndTime().Before(s.StartTime()) {
			t.Errorf("span %s ends before it starts", s.Name())
		}
		got = append(got, sp)
	}
	want := []span{
		{Name: "chat gpt-4o-eu", Status: codes.Error, Attrs: map[string]string{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "azure.ai.openai", "gen_ai.request.model": "gpt-4o-eu",
			"error.type": "rate_limited", "modelroute.requested": "g", "modelroute.group": "g", "modelroute.deployment": "a"}},
		{Name: "chat gpt-4o", Attrs: map[string]string{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": "10", "gen_ai.usage.output_tokens": "5",
			"modelroute.requested": "g", "modelroute.group": "g", "modelroute.deployment": "b"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	// metric name and its attributes → sample count and sum
	type point struct {
		Count uint64
		Sum   float64
	}
	points := map[string]point{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			key := func(set attribute.Set) string {
				var kvs []string
				for _, kv := range set.ToSlice() {
					kvs = append(kvs, string(kv.Key)+"="+kv.Value.Emit())
				}
				sort.Strings(kvs)
				return m.Name + " " + join(kvs)
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					points[key(p.Attributes)] = point{Count: p.Count}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					points[key(p.Attributes)] = point{Count: p.Count, Sum: float64(p.Sum)}
				}
			}
		}
	}
	wantPoints := map[string]point{
		"gen_ai.client.operation.duration error.type=rate_limited,gen_ai.operation.name=chat,gen_ai.provider.name=azure.ai.openai,gen_ai.request.model=gpt-4o-eu": {Count: 1},
		"gen_ai.client.operation.duration gen_ai.operation.name=chat,gen_ai.provider.name=openai,gen_ai.request.model=gpt-4o":                                     {Count: 1},
		"gen_ai.client.token.usage gen_ai.operation.name=chat,gen_ai.provider.name=openai,gen_ai.request.model=gpt-4o,gen_ai.token.type=input":                    {Count: 1, Sum: 10},
		"gen_ai.client.token.usage gen_ai.operation.name=chat,gen_ai.provider.name=openai,gen_ai.request.model=gpt-4o,gen_ai.token.type=output":                   {Count: 1, Sum: 5},
	}
	if diff := cmp.Diff(wantPoints, points); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func join(s []string) string { return strings.Join(s, ",") }

func TestProviderName(t *testing.T) {
	for in, want := range map[string]string{"openai": "openai", "azure": "azure.ai.openai", "groq": "groq", "mistral": "mistral_ai", "": "_OTHER"} {
		if got := otelgenai.ProviderName(in); got != want {
			t.Errorf("ProviderName(%q) = %q, want %q", in, got, want)
		}
	}
}
