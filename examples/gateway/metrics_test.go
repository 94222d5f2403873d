package main

import (
	"net/http"
	"strings"
	"testing"
)

// /metrics serves Prometheus' text format, counted from the router's
// events, open by default as LiteLLM's is.
func TestMetricsEndpoint(t *testing.T) {
	g, _ := seedGateway(t)
	mustStatus(t, "chat alias-1", g.chat(testMasterKey, "alias-1"), http.StatusOK)
	mustStatus(t, "chat unknown", g.chat(testMasterKey, "no-such-model"), http.StatusNotFound)

	r := g.do("GET", "/metrics", "", nil)
	mustStatus(t, "GET /metrics without a key", r, http.StatusOK)
	body := string(r.Body)
	for _, want := range []string{
		`modelroute_requests_total{call="chat",deployment="dep-`,
		`group="model-group-1",outcome="success",requested="alias-1"} 1`,
		`modelroute_requests_total{call="chat",deployment="",group="",outcome="unknown_name",requested="other"} 1`,
		`modelroute_tokens_total{deployment="dep-`,
		`modelroute_deployment_up{deployment="dep-c",group="model-group-2"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// litellm_settings.require_auth_for_metrics_endpoint makes /metrics ask
// for a valid key.
func TestMetricsEndpointAuth(t *testing.T) {
	up := newUpstream(t)
	cfg := seedConfig + "litellm_settings:\n  require_auth_for_metrics_endpoint: true\n"
	g := startGateway(t, writeConfig(t, cfg, up), t.TempDir())
	wantError(t, "GET /metrics without a key", g.do("GET", "/metrics", "", nil), http.StatusUnauthorized, "invalid_api_key")
	wantError(t, "GET /metrics with a wrong key", g.do("GET", "/metrics", "sk-wrong", nil), http.StatusUnauthorized, "invalid_api_key")
	key := g.generateKey(map[string]any{"models": []string{"alias-1"}})
	mustStatus(t, "GET /metrics with a virtual key", g.do("GET", "/metrics", key, nil), http.StatusOK)
	mustStatus(t, "GET /metrics with the master key", g.do("GET", "/metrics", testMasterKey, nil), http.StatusOK)
}
