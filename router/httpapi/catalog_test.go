package httpapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCatalogJSON pins the shapes GATEWAY.md shows, over a Router's
// catalog.
func TestCatalogJSON(t *testing.T) {
	d := router.Deployment{ID: "dep-1", Group: "model-group-1", Model: "azure/gpt-1", Provider: providertest.NewFake()}
	d.APIBase, d.RPM, d.Weight, d.Timeout, d.Tags = "https://xyz1.openai.azure.com/", 60, 2, 30*time.Second, []string{"eu"}
	d.ContextWindow, d.InputCostPerToken = 8192, 1e-6
	d.Params = map[string]any{"model": "azure/gpt-1", "api_key": "sk-never", "api_version": "2024-10-21", "weight": 99}
	d.Info = map[string]any{"id": "ignored", "db_model": false, "access_groups": []string{"beta"}}
	rt, err := router.New(nil, router.Config{Deployments: []router.Deployment{d}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	cat := rt.Catalog(context.Background(), nil)
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"models", catalogModels(cat), `[{"id":"model-group-1","object":"model","created":1677610602,"owned_by":"azure"}]`},
		{"model info", catalogModelInfo(cat), `[{"model_name":"model-group-1",` +
			`"litellm_params":{"model":"azure/gpt-1","api_base":"https://xyz1.openai.azure.com/","rpm":60,"weight":2,"timeout":30,"tags":["eu"],"api_version":"2024-10-21"},` +
			`"model_info":{"id":"dep-1","mode":"chat","litellm_provider":"azure","max_input_tokens":8192,"input_cost_per_token":0.000001,"access_groups":["beta"],"db_model":false}}]`},
		{"group info", catalogGroupInfo(cat), `[{"model_group":"model-group-1","providers":["azure"],"mode":"chat","modes":["chat"],` +
			`"max_input_tokens":8192,"rpm":60,"tpm":null,"input_cost_per_token":0.000001,"output_cost_per_token":null,"health":"healthy","healthy_deployments":1,"deployments":1}]`},
		{"empty", catalogModels(nil), `[]`},
	} {
		if got := mustJSON(t, tc.v); got != tc.want {
			t.Errorf("%s JSON:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// /model_group/info sums limits, takes the highest prices and the largest
// context window, and reports health from the deployments' signals.
func TestGroupInfoAggregates(t *testing.T) {
	ld := func(id, prov, mode string, out router.Signal, f func(*router.Deployment)) router.ListedDeployment {
		d := router.ListedDeployment{Deployment: router.Deployment{ID: id, Mode: mode}, ProviderPrefix: prov, Out: out}
		if f != nil {
			f(&d.Deployment)
		}
		return d
	}
	a := ld("a", "openai", "chat", 0, func(d *router.Deployment) {
		d.RPM, d.TPM, d.ContextWindow, d.InputCostPerToken, d.OutputCostPerToken = 10, 1000, 128000, 2e-6, 8e-6
	})
	b := ld("b", "azure", "chat", 0, func(d *router.Deployment) {
		d.TPM, d.ContextWindow, d.InputCostPerToken, d.OutputCostPerToken = 500, 32000, 3e-6, 6e-6
	})
	c := ld("c", "groq", "embedding", 0, nil)
	want := groupInfo{
		ModelGroup: "mixed", Providers: []string{"azure", "groq", "openai"},
		Mode: "chat", Modes: []string{"chat", "embedding"}, MaxInputTokens: 128000,
		RPM: 10, TPM: 1500, InputCostPerToken: 3e-6, OutputCostPerToken: 8e-6,
		Health: healthHealthy, HealthyDeployments: 3, Deployments: 3,
	}
	for _, tc := range []struct {
		name    string
		out     [3]router.Signal
		health  health
		healthy int
	}{
		{"all in rotation", [3]router.Signal{}, healthHealthy, 3},
		{"one cooling", [3]router.Signal{router.SignalPassive, 0, 0}, healthDegraded, 2},
		{"none in rotation", [3]router.Signal{router.SignalPassive, router.SignalActive, router.SignalActive | router.SignalPassive}, healthUnhealthy, 0},
	} {
		a.Out, b.Out, c.Out = tc.out[0], tc.out[1], tc.out[2]
		want.Health, want.HealthyDeployments = tc.health, tc.healthy
		got := catalogGroupInfo([]router.Listing{{Name: "mixed", Deployments: []router.ListedDeployment{a, b, c}}})
		if diff := cmp.Diff([]groupInfo{want}, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestHealthJSON pins /health's shape: LiteLLM's lists and counts, with
// error_kind for failed probes only and latency in milliseconds.
func TestHealthJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rep := router.HealthReport{
		Healthy: []router.HealthEndpoint{{ModelID: "a", Model: "openai/gpt-4o", Probe: router.ProbeListModels, Healthy: true,
			Latency: 1500 * time.Microsecond, CheckedAt: at}},
		Unhealthy: []router.HealthEndpoint{{ModelID: "b", Model: "azure/gpt-1", APIBase: "https://h.test/v1", Probe: router.ProbeChat,
			Kind: provider.KindAuth, Error: "401", ConsecutiveFailures: 2, Out: true}},
		HealthyCount: 1, UnhealthyCount: 1,
		Skipped: []router.HealthEndpoint{{ModelID: "c", Model: "openai/*", Error: "wildcard: no model to probe"}},
	}
	want := `{"healthy_endpoints":[{"model_id":"a","model":"openai/gpt-4o","probe":"list_models","checked_at":"2026-01-02T03:04:05Z","latency_ms":1.5}],` +
		`"unhealthy_endpoints":[{"model_id":"b","model":"azure/gpt-1","api_base":"https://h.test/v1","probe":"chat","error":"401","consecutive_failures":2,"out_of_rotation":true,"error_kind":"auth","latency_ms":0}],` +
		`"healthy_count":1,"unhealthy_count":1,` +
		`"skipped_endpoints":[{"model_id":"c","model":"openai/*","probe":"none","error":"wildcard: no model to probe","latency_ms":0}]}`
	if got := mustJSON(t, newHealthReport(rep)); got != want {
		t.Errorf("health JSON:\n got %s\nwant %s", got, want)
	}
	if got := mustJSON(t, newHealthReport(router.HealthReport{})); got != `{"healthy_endpoints":[],"unhealthy_endpoints":[],"healthy_count":0,"unhealthy_count":0}` {
		t.Errorf("empty health JSON: %s", got)
	}
}
