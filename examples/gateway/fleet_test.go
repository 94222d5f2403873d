package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router/redisstate/redistest"
)

// fleetConfig: a group whose first deployment fails, and a group whose
// first deployment takes 4 requests a minute, both with a spare.
const fleetConfig = `
model_list:
  - model_name: fleet
    litellm_params: {model: openai/bad-model, api_base: %[1]s, api_key: ` + upstreamSecret + `, order: 1}
    model_info: {id: dep-bad}
  - model_name: fleet
    litellm_params: {model: openai/good-model, api_base: %[1]s, api_key: ` + upstreamSecret + `, order: 2, input_cost_per_token: 0.01, output_cost_per_token: 0.01}
    model_info: {id: dep-good}
  - model_name: limited
    litellm_params: {model: openai/lim-model, api_base: %[1]s, api_key: ` + upstreamSecret + `, order: 1, rpm: 4}
    model_info: {id: dep-lim}
  - model_name: limited
    litellm_params: {model: openai/spare-model, api_base: %[1]s, api_key: ` + upstreamSecret + `, order: 2}
    model_info: {id: dep-spare}
router_settings:
  cooldown_time: 60
general_settings:
  master_key: ` + testMasterKey + `
`

// Three gateway replicas share one real Redis: a deployment cooled on A is
// skipped by B, a limit of 4 rpm admits 4 across all three (and a key's
// rpm_limit of 3, 3), an alias created
// on A serves on B within a second, and when Redis dies requests are still
// served, then sharing resumes.
func TestFleet(t *testing.T) {
	srv := redistest.Start(t, redistest.Durable())
	up := newUpstream(t)
	cfg := writeConfig(t, fleetConfig, up)
	var reps []*testGateway
	for range 3 {
		reps = append(reps, startGatewayArgs(t, cfg, t.TempDir(), "-redis", srv.URL()))
	}
	a, b, c := reps[0], reps[1], reps[2]
	deploymentUp := func(g *testGateway, id string) string {
		r := g.do("GET", "/metrics", "", nil)
		for _, line := range strings.Split(string(r.Body), "\n") {
			if strings.HasPrefix(line, `modelroute_deployment_up{deployment="`+id+`"`) {
				return line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		return ""
	}

	t.Run("cooldown on A skips on B", func(t *testing.T) {
		up.Handler.SetFault("bad-model", providertest.Fault{Status: http.StatusTooManyRequests})
		mustStatus(t, "chat fleet on A", a.with(t).chat(testMasterKey, "fleet"), http.StatusOK)
		if up.Handler.CountModel("bad-model") != 1 {
			t.Fatalf("A called bad-model %d times, want 1", up.Handler.CountModel("bad-model"))
		}
		if !eventually(time.Second, func() bool { return deploymentUp(b, "dep-bad") == "0" }) {
			t.Fatalf("B does not show dep-bad out of rotation")
		}
		for range 5 {
			r := b.with(t).chat(testMasterKey, "fleet")
			mustStatus(t, "chat fleet on B", r, http.StatusOK)
			if got := r.Header.Get("x-modelroute-attempts"); got != "1" {
				t.Errorf("B made %s attempts, want 1 (dep-bad skipped)", got)
			}
		}
		if n := up.Handler.CountModel("bad-model"); n != 1 {
			t.Errorf("bad-model was called %d times in all, want only A's 1", n)
		}
	})

	t.Run("4 rpm admits 4 across the fleet", func(t *testing.T) {
		// A sliding window: the turn of a minute does not reset the count.
		for i := range 12 {
			mustStatus(t, "chat limited", reps[i%3].with(t).chat(testMasterKey, "limited"), http.StatusOK)
		}
		if n := up.Handler.CountModel("lim-model"); n != 4 {
			t.Errorf("the 4-rpm deployment served %d of 12 requests across 3 replicas, want 4", n)
		}
		if n := up.Handler.CountModel("spare-model"); n != 8 {
			t.Errorf("the spare served %d, want 8", n)
		}
	})

	t.Run("a key's rpm_limit of 3 admits 3 across the fleet", func(t *testing.T) {
		key := a.with(t).generateKey(map[string]any{"models": []string{"fleet"}, "rpm_limit": 3})
		for _, g := range reps {
			if !eventually(time.Second, func() bool { return g.do("GET", "/v1/models", key, nil).Status == http.StatusOK }) {
				t.Fatalf("a replica does not know the key a second after A made it")
			}
		}
		served := 0
		for i := range 9 {
			r := reps[i%3].with(t).chat(key, "fleet")
			if r.Status == http.StatusOK {
				served++
				continue
			}
			wantError(t, "chat over the key's rpm_limit", r, http.StatusTooManyRequests, "rate_limit_exceeded")
		}
		if served != 3 {
			t.Errorf("%d of 9 requests served across 3 replicas for a key with rpm_limit 3, want 3", served)
		}
	})

	createAlias := func(t *testing.T, g *testGateway, name, target string) {
		t.Helper()
		r := g.with(t).do("POST", "/api/model-aliases/create", testMasterKey,
			map[string]any{"alias": name, "litellm_model": target, "active": true})
		mustStatus(t, "create alias "+name, r, http.StatusCreated)
	}

	t.Run("alias created on A serves on B within a second", func(t *testing.T) {
		createAlias(t, a, "team-smart", "fleet")
		start := time.Now()
		if !eventually(time.Second, func() bool { return b.chat(testMasterKey, "team-smart").Status == http.StatusOK }) {
			t.Fatalf("B does not serve team-smart a second after A created it")
		}
		t.Logf("B served the alias %v after A created it", time.Since(start).Round(time.Millisecond))
	})

	t.Run("usage counted on every replica shows on each", func(t *testing.T) {
		// One call on B above; two more on A and C. Usage is saved every
		// 2 s (the default interval) and shared as it is.
		mustStatus(t, "chat team-smart on A", a.with(t).chat(testMasterKey, "team-smart"), http.StatusOK)
		mustStatus(t, "chat team-smart on C", c.with(t).chat(testMasterKey, "team-smart"), http.StatusOK)
		for name, g := range map[string]*testGateway{"A": a, "B": b, "C": c} {
			ok := eventually(5*time.Second, func() bool {
				v := g.with(t).getAlias("team-smart")
				return v.UsageStats != nil && v.UsageStats.TotalCalls != nil && *v.UsageStats.TotalCalls == 3
			})
			if !ok {
				t.Errorf("%s does not show the 3 calls made on A, B and C: %+v", name, g.with(t).getAlias("team-smart").UsageStats)
			}
		}
	})

	t.Run("a key made on A works on B, and its budget spent on A holds on B", func(t *testing.T) {
		key := a.with(t).generateKey(map[string]any{"models": []string{"fleet"}, "max_budget": 0.5})
		if !eventually(time.Second, func() bool { return b.chat(key, "fleet").Status == http.StatusOK }) {
			t.Fatalf("B does not accept a key A made a second earlier")
		}
		// Each answer costs 15 tokens × $0.01: spend past $0.5 on A.
		for i := 0; ; i++ {
			r := a.with(t).chat(key, "fleet")
			if r.Status == http.StatusTooManyRequests {
				break
			}
			mustStatus(t, "chat on A within budget", r, http.StatusOK)
			if i == 10 {
				t.Fatalf("A still serves the key after 11 requests costing $0.15 each on a $0.5 budget")
			}
		}
		for name, g := range map[string]*testGateway{"B": b, "C": c} {
			if !eventually(time.Second, func() bool { return g.chat(key, "fleet").Status == http.StatusTooManyRequests }) {
				t.Fatalf("%s still serves a key whose budget was spent on A", name)
			}
			wantError(t, "chat on "+name+" over budget", g.with(t).chat(key, "fleet"), http.StatusTooManyRequests, "budget_exceeded")
		}
	})

	t.Run("a budget spent across the fleet is overspent by at most one request", func(t *testing.T) {
		key := a.with(t).generateKey(map[string]any{"models": []string{"fleet"}, "max_budget": 0.5})
		for _, g := range reps {
			if !eventually(time.Second, func() bool { return g.do("GET", "/v1/models", key, nil).Status == http.StatusOK }) {
				t.Fatalf("a replica does not know the key a second after A made it")
			}
		}
		// $0.15 a request, sent round the replicas: the fourth reaches
		// $0.5. Spend reaches the other replicas within a round trip
		// through Redis; a model call takes longer (20 ms here, seconds in
		// life), so at most the request that starts right after the
		// budget is reached, on another replica, gets through.
		up.Handler.SetFault("good-model", providertest.Fault{Latency: 20 * time.Millisecond})
		defer up.Handler.ClearFault("good-model")
		served := 0
		for i := 0; i < 30; i++ {
			r := reps[i%3].with(t).chat(key, "fleet")
			if r.Status == http.StatusOK {
				served++
				continue
			}
			wantError(t, "chat over budget", r, http.StatusTooManyRequests, "budget_exceeded")
		}
		if served < 4 || served > 5 {
			t.Errorf("%d requests served on a $0.5 budget at $0.15 each across 3 replicas, want 4 (or 5)", served)
		}
	})

	t.Run("Redis killed: still served, then recovery", func(t *testing.T) {
		srv.Kill()
		for i := range 9 {
			g := reps[i%3].with(t)
			for _, name := range []string{"fleet", "limited", "team-smart"} {
				mustStatus(t, "chat "+name+" during the outage", g.chat(testMasterKey, name), http.StatusOK)
			}
		}
		// Writes that must be shared fail, saying why, and change nothing.
		r := b.with(t).do("POST", "/api/model-aliases/create", testMasterKey,
			map[string]any{"alias": "during-outage", "litellm_model": "fleet", "active": true})
		if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "store_unavailable") || !strings.Contains(string(r.Body), "redis unavailable") {
			t.Errorf("creating an alias with Redis down: %v, want 503 store_unavailable naming the outage", r)
		}
		if r := b.with(t).chat(testMasterKey, "during-outage"); r.Status != http.StatusNotFound {
			t.Errorf("the refused alias serves: %v", r)
		}
		srv.Restart()
		ok := eventually(10*time.Second, func() bool {
			r := b.do("POST", "/api/model-aliases/create", testMasterKey,
				map[string]any{"alias": "after-outage", "litellm_model": "fleet", "active": true})
			return r.Status == http.StatusCreated
		})
		if !ok {
			t.Fatalf("B cannot create an alias after Redis is back")
		}
		if !eventually(time.Second, func() bool { return c.chat(testMasterKey, "after-outage").Status == http.StatusOK }) {
			t.Fatalf("C does not serve an alias B created after the outage")
		}
		// What was created before the outage is still there.
		mustStatus(t, "chat team-smart on C after the outage", c.with(t).chat(testMasterKey, "team-smart"), http.StatusOK)
	})
}
