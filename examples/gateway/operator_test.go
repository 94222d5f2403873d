package main

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/provider/providertest"
)

// operatorConfig is the seed scenario exactly: two deployments in
// model-group-1, alias-1 in the string form and hidden-1 in the {model,
// hidden} form. The deployments carry limits so that /model_group/info has
// every field to sum.
const operatorConfig = `
model_list:
  - model_name: model-group-1
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s
      api_key: ` + upstreamSecret + `
      rpm: 100
      tpm: 10000
    model_info: {id: dep-a, max_input_tokens: 128000}
  - model_name: model-group-1
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: %[1]s
      api_key: ` + upstreamSecret + `
      rpm: 200
      tpm: 20000
    model_info: {id: dep-b, max_input_tokens: 8000}
router_settings:
  model_group_alias:
    alias-1: model-group-1
    hidden-1: {model: model-group-1, hidden: true}
general_settings:
  master_key: ` + testMasterKey + `
`

// noSecret fails the test if an answer contains the upstream API key or
// any api_key field.
func noSecret(t *testing.T, what string, r response) {
	t.Helper()
	if strings.Contains(string(r.Body), upstreamSecret) {
		t.Errorf("%s: the answer contains the upstream API key: %s", what, r.Body)
	}
	if strings.Contains(string(r.Body), "api_key") {
		t.Errorf("%s: the answer has an api_key field: %s", what, r.Body)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, upstreamSecret) {
				t.Errorf("%s: header %s carries the upstream API key", what, k)
			}
		}
	}
}

// TestSeedOperatorEndpoints is the seed scenario over plain HTTP: what
// /v1/models, /model/info, /model_group/info and /health show for two
// deployments, a listed alias and a hidden one; that the hidden alias
// routes; and that one /health call probes each deployment exactly once.
func TestSeedOperatorEndpoints(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	g := startGateway(t, writeConfig(t, operatorConfig, up), t.TempDir())
	key := testMasterKey

	t.Run("models", func(t *testing.T) {
		g := g.with(t)
		for _, p := range []string{"/v1/models", "/models"} {
			r := g.do("GET", p, key, nil)
			mustStatus(t, p, r, 200)
			noSecret(t, p, r)
		}
		ids := g.modelIDs(key)
		sort.Strings(ids)
		if diff := cmp.Diff([]string{"alias-1", "model-group-1"}, ids); diff != "" {
			t.Errorf("GET /v1/models ids (-want +got):\n%s", diff)
		}
	})

	t.Run("model/info", func(t *testing.T) {
		g := g.with(t)
		type row struct {
			ModelName string         `json:"model_name"`
			Params    map[string]any `json:"litellm_params"`
			Info      map[string]any `json:"model_info"`
		}
		for _, p := range []string{"/model/info", "/v1/model/info"} {
			r := g.do("GET", p, key, nil)
			mustStatus(t, p, r, 200)
			noSecret(t, p, r)
			rows := decodeJSON[struct {
				Data []row `json:"data"`
			}](t, p, r).Data
			var got []string
			for _, rw := range rows {
				id, _ := rw.Info["id"].(string)
				model, _ := rw.Params["model"].(string)
				got = append(got, rw.ModelName+" "+id+" "+model)
				if rw.Params["api_base"] != up.URL() {
					t.Errorf("%s: row %s %s: api_base %v, want %s", p, rw.ModelName, id, rw.Params["api_base"], up.URL())
				}
			}
			sort.Strings(got)
			want := []string{
				"alias-1 dep-a openai/gpt-4o",
				"alias-1 dep-b openai/gpt-4o-mini",
				"model-group-1 dep-a openai/gpt-4o",
				"model-group-1 dep-b openai/gpt-4o-mini",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s rows (model_name id model) (-want +got):\n%s", p, diff)
			}
		}
	})

	t.Run("model_group/info", func(t *testing.T) {
		g := g.with(t)
		r := g.do("GET", "/model_group/info", key, nil)
		mustStatus(t, "/model_group/info", r, 200)
		noSecret(t, "/model_group/info", r)
		type row struct {
			ModelGroup     string   `json:"model_group"`
			Providers      []string `json:"providers"`
			MaxInputTokens int      `json:"max_input_tokens"`
			RPM            int      `json:"rpm"`
			TPM            int      `json:"tpm"`
			Mode           string   `json:"mode"`
		}
		rows := decodeJSON[struct {
			Data []row `json:"data"`
		}](t, "/model_group/info", r).Data
		sort.Slice(rows, func(i, j int) bool { return rows[i].ModelGroup < rows[j].ModelGroup })
		want := []row{
			{ModelGroup: "alias-1", Providers: []string{"openai"}, MaxInputTokens: 128000, RPM: 300, TPM: 30000, Mode: "chat"},
			{ModelGroup: "model-group-1", Providers: []string{"openai"}, MaxInputTokens: 128000, RPM: 300, TPM: 30000, Mode: "chat"},
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("/model_group/info rows (-want +got):\n%s", diff)
		}
	})

	t.Run("hidden alias routes", func(t *testing.T) {
		g := g.with(t)
		before := up.CountModel(upGroup1A) + up.CountModel(upGroup1B)
		r := g.chat(key, "hidden-1")
		mustStatus(t, "chat hidden-1", r, 200)
		if m := decodeJSON[struct {
			Model string `json:"model"`
		}](t, "chat hidden-1", r).Model; m != "hidden-1" {
			t.Errorf("chat hidden-1: model %q, want hidden-1", m)
		}
		if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-1" {
			t.Errorf("chat hidden-1: group header %q, want model-group-1", got)
		}
		if n := up.CountModel(upGroup1A) + up.CountModel(upGroup1B) - before; n != 1 {
			t.Errorf("upstream calls for one request: %d, want 1", n)
		}
	})

	t.Run("health", func(t *testing.T) {
		g := g.with(t)
		type endpoint struct {
			ModelID string `json:"model_id"`
			Model   string `json:"model"`
			APIBase string `json:"api_base"`
			Error   string `json:"error"`
		}
		type report struct {
			Healthy        []endpoint `json:"healthy_endpoints"`
			Unhealthy      []endpoint `json:"unhealthy_endpoints"`
			HealthyCount   int        `json:"healthy_count"`
			UnhealthyCount int        `json:"unhealthy_count"`
		}
		deps := []endpoint{
			{ModelID: "dep-a", Model: "openai/gpt-4o", APIBase: up.URL()},
			{ModelID: "dep-b", Model: "openai/gpt-4o-mini", APIBase: up.URL()},
		}
		for _, q := range []string{"", "?model=alias-1", "?model=hidden-1", "?model=model-group-1"} {
			before := up.Count("/v1/models")
			r := g.do("GET", "/health"+q, key, nil)
			mustStatus(t, "/health"+q, r, 200)
			noSecret(t, "/health"+q, r)
			rep := decodeJSON[report](t, "/health"+q, r)
			if diff := cmp.Diff(report{Healthy: deps, Unhealthy: []endpoint{}, HealthyCount: 2}, rep); diff != "" {
				t.Errorf("/health%s (-want +got):\n%s", q, diff)
			}
			if n := up.Count("/v1/models") - before; n != 2 {
				t.Errorf("/health%s made %d probes, want exactly one per deployment (2)", q, n)
			}
		}

		// A failing deployment is reported unhealthy, with its error, and
		// still probed once.
		up.SetFault("", providertest.Fault{Status: 500})
		defer up.ClearFaults()
		before := up.Count("/v1/models")
		r := g.do("GET", "/health", key, nil)
		mustStatus(t, "/health (upstream failing)", r, 200)
		noSecret(t, "/health (upstream failing)", r)
		rep := decodeJSON[report](t, "/health", r)
		if rep.HealthyCount != 0 || rep.UnhealthyCount != 2 || len(rep.Unhealthy) != 2 || rep.Unhealthy[0].Error == "" {
			t.Errorf("/health with a failing upstream = %+v, want 2 unhealthy endpoints with errors", rep)
		}
		if n := up.Count("/v1/models") - before; n != 2 {
			t.Errorf("/health with a failing upstream made %d probes, want 2", n)
		}
	})

	t.Run("open probes", func(t *testing.T) {
		g := g.with(t)
		for _, p := range []string{"/health/liveliness", "/health/readiness"} {
			mustStatus(t, p+" without a key", g.do("GET", p, "", nil), 200)
		}
		wantError(t, "/health without a key", g.do("GET", "/health", "", nil), 401, "invalid_api_key")
		for _, p := range []string{"/v1/models", "/model/info", "/model_group/info"} {
			wantError(t, p+" without a key", g.do("GET", p, "", nil), 401, "invalid_api_key")
		}
	})
}

// TestSeedKeys: a key generated with models [alias-1] lists and calls the
// alias only and is refused the group behind it, and a key granted the
// group is refused the alias; refusals name the requested name and nothing
// else.
func TestSeedKeys(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	g := startGateway(t, writeConfig(t, operatorConfig, up), t.TempDir())

	// forbidden are names a refusal must not mention (besides the one
	// requested): the other visible names, the upstream models, the
	// deployments.
	mentions := func(t *testing.T, what, msg, requested string) {
		t.Helper()
		if !strings.Contains(msg, `"`+requested+`"`) {
			t.Errorf("%s: message %q does not name the requested %q", what, msg, requested)
		}
		for _, other := range []string{"alias-1", "hidden-1", "model-group-1", "gpt-4o", "dep-a", "dep-b"} {
			if other != requested && strings.Contains(strings.ReplaceAll(msg, `"`+requested+`"`, ""), other) {
				t.Errorf("%s: message %q names %q, want only the requested %q", what, msg, other, requested)
			}
		}
	}

	aliasKey := g.generateKey(map[string]any{"models": []string{"alias-1"}})
	groupKey := g.generateKey(map[string]any{"models": []string{"model-group-1"}})
	openKey := g.generateKey(map[string]any{})

	t.Run("alias key", func(t *testing.T) {
		g := g.with(t)
		if diff := cmp.Diff([]string{"alias-1"}, g.modelIDs(aliasKey)); diff != "" {
			t.Errorf("GET /v1/models for a key granted alias-1 (-want +got):\n%s", diff)
		}
		r := g.chat(aliasKey, "alias-1")
		mustStatus(t, "alias key: chat alias-1", r, 200)
		if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-1" {
			t.Errorf("alias key: chat alias-1 routed to %q, want model-group-1", got)
		}
		// x-api-key works as well as Authorization.
		req, _ := http.NewRequest("GET", g.base+"/v1/models", nil)
		req.Header.Set("x-api-key", aliasKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /v1/models with x-api-key: %d, want 200", resp.StatusCode)
		}

		for _, model := range []string{"model-group-1", "hidden-1"} {
			e := wantError(t, "alias key: chat "+model, g.chat(aliasKey, model), 403, "model_access_denied")
			mentions(t, "alias key: chat "+model, e.Message, model)
		}
		body := chatBody("model-group-1")
		body["stream"] = true
		e := wantError(t, "alias key: stream model-group-1", g.do("POST", "/v1/chat/completions", aliasKey, body), 403, "model_access_denied")
		mentions(t, "alias key: stream model-group-1", e.Message, "model-group-1")
		e = wantError(t, "alias key: /health?model=model-group-1", g.do("GET", "/health?model=model-group-1", aliasKey, nil), 403, "model_access_denied")
		mentions(t, "alias key: /health?model=model-group-1", e.Message, "model-group-1")

		// The operator views show the key what it may use, only.
		type named struct {
			ModelName  string `json:"model_name"`
			ModelGroup string `json:"model_group"`
		}
		for _, p := range []string{"/model/info", "/model_group/info"} {
			r := g.do("GET", p, aliasKey, nil)
			mustStatus(t, "alias key: "+p, r, 200)
			for _, rw := range decodeJSON[struct{ Data []named }](t, p, r).Data {
				if n := rw.ModelName + rw.ModelGroup; n != "alias-1" {
					t.Errorf("alias key: %s shows %q", p, n)
				}
			}
		}
	})

	t.Run("group key", func(t *testing.T) {
		g := g.with(t)
		if diff := cmp.Diff([]string{"model-group-1"}, g.modelIDs(groupKey)); diff != "" {
			t.Errorf("GET /v1/models for a key granted model-group-1 (-want +got):\n%s", diff)
		}
		mustStatus(t, "group key: chat model-group-1", g.chat(groupKey, "model-group-1"), 200)
		for _, model := range []string{"alias-1", "hidden-1"} {
			e := wantError(t, "group key: chat "+model, g.chat(groupKey, model), 403, "model_access_denied")
			mentions(t, "group key: chat "+model, e.Message, model)
		}
	})

	t.Run("unrestricted key", func(t *testing.T) {
		g := g.with(t)
		ids := g.modelIDs(openKey)
		sort.Strings(ids)
		if diff := cmp.Diff([]string{"alias-1", "model-group-1"}, ids); diff != "" {
			t.Errorf("GET /v1/models for a key with no models (-want +got):\n%s", diff)
		}
		for _, model := range []string{"alias-1", "hidden-1", "model-group-1"} {
			mustStatus(t, "open key: chat "+model, g.chat(openKey, model), 200)
		}
	})

	t.Run("key alias", func(t *testing.T) {
		g := g.with(t)
		// A key's own alias ("aliases" in /key/generate) routes to its
		// target for that key only, and answers under the name called.
		k := g.generateKey(map[string]any{"models": []string{"alias-1"}, "aliases": map[string]string{"mine": "model-group-1"}})
		r := g.chat(k, "mine")
		mustStatus(t, "key alias: chat mine", r, 200)
		if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-1" {
			t.Errorf("key alias: chat mine routed to %q, want model-group-1", got)
		}
		if mdl := decodeJSON[struct{ Model string }](t, "chat mine", r).Model; mdl != "mine" {
			t.Errorf("key alias: chat mine answered model %q, want mine", mdl)
		}
		wantError(t, "key alias: chat model-group-1", g.chat(k, "model-group-1"), 403, "model_access_denied")
		// Another key does not have it (refused or unknown, either way).
		if r := g.chat(aliasKey, "mine"); r.Status != 403 && r.Status != 404 {
			t.Errorf("another key: chat mine: %s, want 403 or 404", r)
		}
	})

	t.Run("unknown name for a restricted key", func(t *testing.T) {
		g := g.with(t)
		// Whether the name exists must not matter to a key that may not use
		// it: refused, naming only the name asked for.
		r := g.chat(aliasKey, "no-such-model")
		if r.Status != 403 && r.Status != 404 {
			t.Errorf("alias key: chat no-such-model: %s, want 403 or 404", r)
		}
		if e, err := errorShape(r.Body); err != nil {
			t.Errorf("alias key: chat no-such-model: %v", err)
		} else {
			mentions(t, "alias key: chat no-such-model", e.Message, "no-such-model")
		}
	})

	if n := up.CountModel(upGroup1A) + up.CountModel(upGroup1B); n != 6 {
		t.Errorf("upstream chat calls: %d, want 6 (the allowed calls only)", n)
	}
}

// wildConfig has a wildcard group serving openai/<anything>.
const wildConfig = `
model_list:
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-a}
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-wild}
general_settings:
  master_key: ` + testMasterKey + `
`

// TestWildcardGroup: a provider/model name is served by the wildcard group
// with the part after the prefix going upstream, directly or through an
// alias created for it; an alias to a provider no group serves is refused.
func TestWildcardGroup(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	g := startGateway(t, writeConfig(t, wildConfig, up), t.TempDir())
	m := testMasterKey

	r := g.chat(m, "openai/gpt-4.1-nano")
	mustStatus(t, "chat openai/gpt-4.1-nano", r, 200)
	if mdl := decodeJSON[struct{ Model string }](t, "chat", r).Model; mdl != "openai/gpt-4.1-nano" {
		t.Errorf("model %q, want openai/gpt-4.1-nano", mdl)
	}
	if got := r.Header.Get("x-modelroute-deployment-id"); got != "dep-wild" {
		t.Errorf("deployment %q, want dep-wild", got)
	}
	if up.CountModel("gpt-4.1-nano") != 1 {
		t.Errorf("upstream calls for gpt-4.1-nano: %d, want 1", up.CountModel("gpt-4.1-nano"))
	}

	mustStatus(t, "create wild", g.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": "wild", "litellm_model": "openai/gpt-4o-wild"}), 201)
	r = g.chat(m, "wild")
	mustStatus(t, "chat wild", r, 200)
	if mdl := decodeJSON[struct{ Model string }](t, "chat", r).Model; mdl != "wild" {
		t.Errorf("model %q, want wild", mdl)
	}
	if up.CountModel("gpt-4o-wild") != 1 {
		t.Errorf("upstream calls for gpt-4o-wild: %d, want 1", up.CountModel("gpt-4o-wild"))
	}
	r = g.do("GET", "/model/info", m, nil)
	mustStatus(t, "/model/info", r, 200)
	found := false
	for _, rw := range decodeJSON[struct {
		Data []struct {
			ModelName string         `json:"model_name"`
			Params    map[string]any `json:"litellm_params"`
			Info      map[string]any `json:"model_info"`
		} `json:"data"`
	}](t, "/model/info", r).Data {
		if rw.ModelName == "wild" {
			found = true
			if rw.Params["model"] != "openai/gpt-4o-wild" || rw.Info["id"] != "dep-wild" {
				t.Errorf("/model/info row for wild: %v %v, want model openai/gpt-4o-wild, id dep-wild", rw.Params, rw.Info)
			}
		}
	}
	if !found {
		t.Errorf("/model/info has no row for the alias wild")
	}
	wantError(t, "alias to a provider no group serves", g.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": "nowhere", "litellm_model": "anthropic/claude-3"}), 400, "invalid_request")
	wantError(t, "chat anthropic/claude-3", g.chat(m, "anthropic/claude-3"), 404, "model_not_found")
}

// TestDemo: with no flags but the address and state, the gateway serves
// the embedded demo, prints its address, master key and an example curl,
// and the example works with no upstream keys.
func TestDemo(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-state", t.TempDir()}, out, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("demo did not start: %v\n%s", err, out)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: run returned %v", err)
		}
	}()
	printed := out.String()
	for _, want := range []string{addr, "Master key: " + demoMasterKey, "curl -s http://" + addr + "/v1/chat/completions"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, printed)
		}
	}
	r := doURL(t, "POST", "http://"+addr+"/v1/chat/completions", demoMasterKey, chatBody("smart"))
	mustStatus(t, "demo: chat smart", r, 200)
	if !strings.Contains(string(r.Body), `"content":"Hello from the demo upstream."`) || !strings.Contains(string(r.Body), `"model":"smart"`) {
		t.Errorf("demo: chat smart answered %s", r.Body)
	}
}

// TestModelGroupInfoFields: every /model_group/info row has the keys of
// GATEWAY.md's shape, {"model_group", "providers", "max_input_tokens",
// "rpm", "tpm", "mode"}, also when the deployments set no limits; LiteLLM
// sends null then (its ModelGroupInfo fields are Optional, default None),
// and clients index them.
//
// BUG (recorded in /work/notes/httpapi-bugs.md, "model_group/info omits
// max_input_tokens, rpm, tpm"): router.GroupInfo tags them omitempty, so
// the keys are missing when unknown. This test asserts the contract.
func TestModelGroupInfoFields(t *testing.T) {
	t.Parallel()
	g, _ := seedGateway(t) // no rpm, tpm or max_input_tokens anywhere
	r := g.do("GET", "/model_group/info", testMasterKey, nil)
	mustStatus(t, "/model_group/info", r, 200)
	rows := decodeJSON[struct {
		Data []map[string]any `json:"data"`
	}](t, "/model_group/info", r).Data
	if len(rows) == 0 {
		t.Fatal("/model_group/info has no rows")
	}
	for _, row := range rows {
		for _, k := range []string{"model_group", "providers", "max_input_tokens", "rpm", "tpm", "mode"} {
			if _, ok := row[k]; !ok {
				t.Errorf("/model_group/info row %v lacks %q (want it, null when unknown)", row["model_group"], k)
			}
		}
	}
}
