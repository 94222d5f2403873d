package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// aliasView is an alias as the admin API shows it.
type aliasView struct {
	Alias           string    `json:"alias"`
	LiteLLMModel    string    `json:"litellm_model"`
	Description     string    `json:"description"`
	Active          bool      `json:"active"`
	CreatedAt       time.Time `json:"created_at"`
	UsageCount      *int64    `json:"usage_count"`
	AccessGroups    []string  `json:"access_groups"`
	TeamsWithAccess *int      `json:"teams_with_access"`
	UsageStats      *struct {
		TotalCalls       *int64   `json:"total_calls"`
		TotalCostUSD     *float64 `json:"total_cost_usd"`
		AvgTokensPerCall *float64 `json:"avg_tokens_per_call"`
	} `json:"usage_stats"`
}

// aliasPath is the admin path of an alias, percent-encoded.
func aliasPath(name string) string {
	return "/api/model-aliases/" + strings.ReplaceAll(name, "/", "%2F")
}

// getAlias reads GET /api/model-aliases/{name}.
func (g *testGateway) getAlias(name string) aliasView {
	g.t.Helper()
	r := g.do("GET", aliasPath(name), testMasterKey, nil)
	mustStatus(g.t, "GET "+aliasPath(name), r, 200)
	noSecretT(g.t, "GET "+aliasPath(name), r)
	return decodeJSON[aliasView](g.t, "GET "+aliasPath(name), r)
}

// listedAlias finds name in GET /api/model-aliases.
func (g *testGateway) listedAlias(name string) (aliasView, bool) {
	g.t.Helper()
	r := g.do("GET", "/api/model-aliases", testMasterKey, nil)
	mustStatus(g.t, "GET /api/model-aliases", r, 200)
	noSecretT(g.t, "GET /api/model-aliases", r)
	for _, a := range decodeJSON[struct {
		Aliases []aliasView `json:"aliases"`
	}](g.t, "GET /api/model-aliases", r).Aliases {
		if a.Alias == name {
			return a, true
		}
	}
	return aliasView{}, false
}

func noSecretT(t testing.TB, what string, r response) {
	t.Helper()
	if strings.Contains(string(r.Body), upstreamSecret) {
		t.Errorf("%s: the answer contains the upstream API key: %s", what, r.Body)
	}
}

// waitUsage waits (up to a second and a half: the contract says usage shows
// within a second) until both the list's usage_count and the detail's
// usage_stats.total_calls of name are want, and reports what it saw last.
func (g *testGateway) waitUsage(t *testing.T, name string, want int64) {
	t.Helper()
	var count, total int64 = -1, -1
	ok := eventually(1500*time.Millisecond, func() bool {
		if a, found := g.listedAlias(name); found && a.UsageCount != nil {
			count = *a.UsageCount
		}
		if s := g.getAlias(name).UsageStats; s != nil && s.TotalCalls != nil {
			total = *s.TotalCalls
		}
		return count == want && total == want
	})
	if !ok {
		t.Errorf("alias %q: usage_count %d, usage_stats.total_calls %d; want both %d (the successful calls made)", name, count, total, want)
	}
}

// TestAdminAliasLifecycle: an alias created, used, re-pointed to another
// group on another provider, disabled, re-enabled and deleted through the
// admin API, with the requests in between going where the alias says and
// the usage counts matching the successful calls.
func TestAdminAliasLifecycle(t *testing.T) {
	t.Parallel()
	g, up := seedGateway(t)
	m := testMasterKey
	group1 := func() int { return up.CountModel(upGroup1A) + up.CountModel(upGroup1B) }

	// Create.
	start := time.Now().Add(-time.Second)
	r := g.do("POST", "/api/model-aliases/create", m, map[string]any{
		"alias": "smart", "litellm_model": "model-group-1", "description": "the smart one", "active": true,
	})
	mustStatus(t, "create smart", r, http.StatusCreated)
	noSecretT(t, "create smart", r)
	a := decodeJSON[aliasView](t, "create smart", r)
	if a.Alias != "smart" || a.LiteLLMModel != "model-group-1" || a.Description != "the smart one" || !a.Active {
		t.Errorf("create smart answered %+v", a)
	}
	if a.CreatedAt.Before(start) || a.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("create smart: created_at %v, want now", a.CreatedAt)
	}
	wantError(t, "create smart again", g.do("POST", "/api/model-aliases/create", m, map[string]any{
		"alias": "smart", "litellm_model": "model-group-2",
	}), http.StatusConflict, "alias_exists")
	if got := g.getAlias("smart"); got.LiteLLMModel != "model-group-1" {
		t.Errorf("a refused create changed the alias: %+v", got)
	}
	if !slices.Contains(g.modelIDs(m), "smart") {
		t.Errorf("GET /v1/models does not list the new alias")
	}

	// Use: two plain calls and a stream, all to model-group-1.
	b1 := group1()
	for i := range 2 {
		r := g.chat(m, "smart")
		mustStatus(t, fmt.Sprintf("chat smart #%d", i), r, 200)
		if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-1" {
			t.Errorf("chat smart: group %q, want model-group-1", got)
		}
	}
	sb := chatBody("smart")
	sb["stream"] = true
	r = g.do("POST", "/v1/chat/completions", m, sb)
	mustStatus(t, "stream smart", r, 200)
	if !strings.HasSuffix(strings.TrimSpace(string(r.Body)), "data: [DONE]") {
		t.Errorf("stream smart did not end with [DONE]: %s", r.Body)
	}
	if n := group1() - b1; n != 3 {
		t.Errorf("upstream calls to model-group-1: %d, want 3", n)
	}
	g.waitUsage(t, "smart", 3)

	// Re-point to model-group-2 (groq): the next request goes there.
	r = g.do("PUT", aliasPath("smart"), m, map[string]any{"litellm_model": "model-group-2"})
	mustStatus(t, "re-point smart", r, 200)
	if a := decodeJSON[aliasView](t, "re-point smart", r); a.LiteLLMModel != "model-group-2" || a.Description != "the smart one" {
		t.Errorf("re-point answered %+v, want litellm_model model-group-2 and the description kept", a)
	}
	b1, b2 := group1(), up.CountModel(upGroup2)
	for range 2 {
		r = g.chat(m, "smart")
		mustStatus(t, "chat smart after re-point", r, 200)
		if got, dep := r.Header.Get("x-modelroute-model-group"), r.Header.Get("x-modelroute-deployment-id"); got != "model-group-2" || dep != "dep-c" {
			t.Errorf("chat smart after re-point: routed to %s/%s, want model-group-2/dep-c", got, dep)
		}
		if mdl := decodeJSON[struct{ Model string }](t, "chat smart", r).Model; mdl != "smart" {
			t.Errorf("chat smart after re-point: model %q, want smart", mdl)
		}
	}
	if n1, n2 := group1()-b1, up.CountModel(upGroup2)-b2; n1 != 0 || n2 != 2 {
		t.Errorf("after re-point: upstream calls model-group-1 %d, model-group-2 %d; want 0 and 2", n1, n2)
	}

	// A target that is nothing is refused, and changes nothing.
	wantError(t, "re-point to nothing", g.do("PUT", aliasPath("smart"), m, map[string]any{"litellm_model": "no-such-group"}), 400, "invalid_request")
	wantError(t, "create pointing at nothing", g.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": "x", "litellm_model": "no-such-group"}), 400, "invalid_request")
	if got := g.getAlias("smart").LiteLLMModel; got != "model-group-2" {
		t.Errorf("a refused update changed the target to %q", got)
	}

	// Disable: refused with model_disabled, naming the alias only, and not
	// listed; nothing reaches the upstream.
	r = g.do("PUT", aliasPath("smart"), m, map[string]any{"active": false})
	mustStatus(t, "disable smart", r, 200)
	if a := decodeJSON[aliasView](t, "disable smart", r); a.Active || a.LiteLLMModel != "model-group-2" {
		t.Errorf("disable answered %+v, want active false, target kept", a)
	}
	before := up.Count("/v1/chat/completions")
	e := wantError(t, "chat disabled smart", g.chat(m, "smart"), http.StatusForbidden, "model_disabled")
	if !strings.Contains(e.Message, `"smart"`) || strings.Contains(e.Message, "model-group") {
		t.Errorf("model_disabled message %q: want it to name smart and nothing else", e.Message)
	}
	wantError(t, "stream disabled smart", g.do("POST", "/v1/chat/completions", m, sb), http.StatusForbidden, "model_disabled")
	if up.Count("/v1/chat/completions") != before {
		t.Errorf("a request for a disabled alias reached the upstream")
	}
	if slices.Contains(g.modelIDs(m), "smart") {
		t.Errorf("GET /v1/models lists the disabled alias")
	}
	if a, ok := g.listedAlias("smart"); !ok || a.Active {
		t.Errorf("GET /api/model-aliases: smart %+v (found %v), want listed inactive", a, ok)
	}

	// Re-enable: served again by model-group-2.
	mustStatus(t, "enable smart", g.do("PUT", aliasPath("smart"), m, map[string]any{"active": true}), 200)
	r = g.chat(m, "smart")
	mustStatus(t, "chat re-enabled smart", r, 200)
	if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-2" {
		t.Errorf("chat re-enabled smart: group %q, want model-group-2", got)
	}

	// Usage: 3 + 2 + 1 successful calls; refusals do not count.
	g.waitUsage(t, "smart", 6)
	if s := g.getAlias("smart"); s.UsageStats == nil || s.UsageStats.TotalCostUSD == nil || s.UsageStats.AvgTokensPerCall == nil ||
		s.AccessGroups == nil || s.TeamsWithAccess == nil {
		t.Errorf("GET /api/model-aliases/smart = %+v: want usage_stats {total_calls,total_cost_usd,avg_tokens_per_call}, access_groups, teams_with_access", s)
	} else if *s.UsageStats.AvgTokensPerCall <= 0 {
		t.Errorf("avg_tokens_per_call %v, want > 0 (the fake upstream reports usage)", *s.UsageStats.AvgTokensPerCall)
	}

	// Delete: gone from routing, the list and the admin API.
	r = g.do("DELETE", aliasPath("smart"), m, nil)
	mustStatus(t, "delete smart", r, 200)
	wantError(t, "chat deleted smart", g.chat(m, "smart"), http.StatusNotFound, "model_not_found")
	wantError(t, "GET deleted smart", g.do("GET", aliasPath("smart"), m, nil), http.StatusNotFound, "alias_not_found")
	wantError(t, "PUT deleted smart", g.do("PUT", aliasPath("smart"), m, map[string]any{"active": true}), http.StatusNotFound, "alias_not_found")
	wantError(t, "DELETE deleted smart", g.do("DELETE", aliasPath("smart"), m, nil), http.StatusNotFound, "alias_not_found")
	if _, ok := g.listedAlias("smart"); ok {
		t.Errorf("GET /api/model-aliases still lists the deleted alias")
	}
	if slices.Contains(g.modelIDs(m), "smart") {
		t.Errorf("GET /v1/models still lists the deleted alias")
	}
}

// TestAdminAliasWithSlash: an alias whose name contains '/' is created,
// read, updated, called and deleted, its name percent-encoded in the path.
func TestAdminAliasWithSlash(t *testing.T) {
	t.Parallel()
	g, _ := seedGateway(t)
	m := testMasterKey
	const name = "team-a/smart"

	mustStatus(t, "create "+name, g.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": name, "litellm_model": "model-group-1"}), http.StatusCreated)
	if a := g.getAlias(name); a.Alias != name || a.LiteLLMModel != "model-group-1" {
		t.Errorf("GET %s = %+v", aliasPath(name), a)
	}
	r := g.chat(m, name)
	mustStatus(t, "chat "+name, r, 200)
	if mdl := decodeJSON[struct{ Model string }](t, "chat", r).Model; mdl != name {
		t.Errorf("chat %s: model %q", name, mdl)
	}
	r = g.do("PUT", aliasPath(name), m, map[string]any{"litellm_model": "model-group-2"})
	mustStatus(t, "PUT "+aliasPath(name), r, 200)
	if a := decodeJSON[aliasView](t, "PUT", r); a.Alias != name || a.LiteLLMModel != "model-group-2" {
		t.Errorf("PUT %s answered %+v", aliasPath(name), a)
	}
	r = g.chat(m, name)
	mustStatus(t, "chat "+name+" after PUT", r, 200)
	if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-2" {
		t.Errorf("chat %s after PUT: group %q, want model-group-2", name, got)
	}
	g.waitUsage(t, name, 2)
	mustStatus(t, "DELETE "+aliasPath(name), g.do("DELETE", aliasPath(name), m, nil), 200)
	wantError(t, "chat deleted "+name, g.chat(m, name), 404, "model_not_found")
	wantError(t, "GET deleted "+name, g.do("GET", aliasPath(name), m, nil), 404, "alias_not_found")
}

// TestAdminAccessGroupsAndTeams: access groups are created and extended,
// grant their members to keys and teams, show in an alias's detail, and
// lose an alias when it is deleted.
func TestAdminAccessGroupsAndTeams(t *testing.T) {
	t.Parallel()
	g, _ := seedGateway(t)
	m := testMasterKey

	mustStatus(t, "create alias smart", g.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": "smart", "litellm_model": "model-group-1"}), 201)
	r := g.do("POST", "/api/model-access-groups/create", m, map[string]any{
		"group_name": "beta-models", "description": "beta", "model_aliases": []string{"smart"},
	})
	mustStatus(t, "create access group", r, http.StatusCreated)
	wantError(t, "create access group again", g.do("POST", "/api/model-access-groups/create", m, map[string]any{"group_name": "beta-models"}), http.StatusConflict, "already_exists")
	r = g.do("POST", "/api/model-access-groups/beta-models/add-models", m, map[string]any{"model_aliases": []string{"alias-1"}})
	mustStatus(t, "add-models", r, 200)
	got := decodeJSON[struct {
		GroupName    string   `json:"group_name"`
		ModelAliases []string `json:"model_aliases"`
	}](t, "add-models", r)
	slices.Sort(got.ModelAliases)
	if got.GroupName != "beta-models" || !slices.Equal(got.ModelAliases, []string{"alias-1", "smart"}) {
		t.Errorf("add-models answered %+v, want beta-models with alias-1 and smart", got)
	}
	wantError(t, "add-models to a missing group", g.do("POST", "/api/model-access-groups/nope/add-models", m, map[string]any{"model_aliases": []string{"x"}}), 404, "not_found")

	mustStatus(t, "create organization", g.do("POST", "/api/organizations/create", m, map[string]any{"organization_id": "org-1", "name": "Org"}), http.StatusCreated)
	r = g.do("POST", "/api/teams/create", m, map[string]any{
		"organization_id": "org-1", "team_id": "team-1", "team_alias": "Team One",
		"access_groups": []string{"beta-models"}, "credits_allocated": 10,
	})
	mustStatus(t, "create team", r, http.StatusCreated)
	if tm := decodeJSON[map[string]any](t, "create team", r); tm["team_id"] != "team-1" || tm["organization_id"] != "org-1" {
		t.Errorf("create team answered %v", tm)
	}
	wantError(t, "create team again", g.do("POST", "/api/teams/create", m, map[string]any{"team_id": "team-1"}), http.StatusConflict, "already_exists")

	d := g.getAlias("smart")
	if !slices.Equal(d.AccessGroups, []string{"beta-models"}) || d.TeamsWithAccess == nil || *d.TeamsWithAccess != 1 {
		t.Errorf("GET smart: access_groups %q, teams_with_access %v; want [beta-models] and 1", d.AccessGroups, d.TeamsWithAccess)
	}

	// A team key may use what the team's access group holds, nothing else.
	teamKey := g.generateKey(map[string]any{"team_id": "team-1"})
	ids := g.modelIDs(teamKey)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"alias-1", "smart"}) {
		t.Errorf("GET /v1/models for the team key = %q, want alias-1 and smart", ids)
	}
	mustStatus(t, "team key: chat smart", g.chat(teamKey, "smart"), 200)
	wantError(t, "team key: chat model-group-2", g.chat(teamKey, "model-group-2"), 403, "model_access_denied")
	// A key granted the access group by name gets its members.
	groupKey := g.generateKey(map[string]any{"models": []string{"beta-models"}})
	mustStatus(t, "group key: chat alias-1", g.chat(groupKey, "alias-1"), 200)

	// Changing the group's members changes what its holders may use, at
	// once.
	mustStatus(t, "remove-models", g.do("POST", "/api/model-access-groups/beta-models/remove-models", m, map[string]any{"model_aliases": []string{"alias-1"}}), 200)
	wantError(t, "group key: chat alias-1 after remove-models", g.chat(groupKey, "alias-1"), 403, "model_access_denied")
	wantError(t, "team key: chat alias-1 after remove-models", g.chat(teamKey, "alias-1"), 403, "model_access_denied")
	mustStatus(t, "add-models back", g.do("POST", "/api/model-access-groups/beta-models/add-models", m, map[string]any{"model_aliases": []string{"alias-1"}}), 200)
	mustStatus(t, "team key: chat alias-1 after add-models", g.chat(teamKey, "alias-1"), 200)

	// Deleting an alias removes it from the access group.
	mustStatus(t, "delete smart", g.do("DELETE", aliasPath("smart"), m, nil), 200)
	r = g.do("GET", "/api/model-access-groups", m, nil)
	mustStatus(t, "list access groups", r, 200)
	var members []string
	for _, ag := range decodeJSON[struct {
		AccessGroups []struct {
			GroupName    string   `json:"group_name"`
			ModelAliases []string `json:"model_aliases"`
		} `json:"access_groups"`
	}](t, "list access groups", r).AccessGroups {
		if ag.GroupName == "beta-models" {
			members = ag.ModelAliases
		}
	}
	if !slices.Equal(members, []string{"alias-1"}) {
		t.Errorf("beta-models after deleting smart: %q, want [alias-1]", members)
	}
}

// TestAdminAuth: every admin endpoint refuses no key and an unknown key
// with 401, and a virtual key with 403, in OpenAI's error shape, changing
// nothing.
func TestAdminAuth(t *testing.T) {
	t.Parallel()
	g, _ := seedGateway(t)
	vkey := g.generateKey(map[string]any{})
	endpoints := []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/model-aliases/create", map[string]any{"alias": "evil", "litellm_model": "model-group-1"}},
		{"GET", "/api/model-aliases", nil},
		{"GET", "/api/model-aliases/alias-1", nil},
		{"PUT", "/api/model-aliases/alias-1", map[string]any{"litellm_model": "model-group-2"}},
		{"DELETE", "/api/model-aliases/alias-1", nil},
		{"POST", "/api/model-access-groups/create", map[string]any{"group_name": "evil"}},
		{"GET", "/api/model-access-groups", nil},
		{"POST", "/api/model-access-groups/evil/add-models", map[string]any{"model_aliases": []string{"alias-1"}}},
		{"POST", "/api/organizations/create", map[string]any{"organization_id": "evil"}},
		{"POST", "/api/teams/create", map[string]any{"team_id": "evil"}},
		{"GET", "/api/teams", nil},
		{"POST", "/key/generate", map[string]any{}},
		{"POST", "/key/delete", map[string]any{"keys": []string{vkey}}},
	}
	for _, ep := range endpoints {
		what := ep.method + " " + ep.path
		wantError(t, what+" without a key", g.do(ep.method, ep.path, "", ep.body), http.StatusUnauthorized, "invalid_api_key")
		wantError(t, what+" with an unknown key", g.do(ep.method, ep.path, "sk-unknown", ep.body), http.StatusUnauthorized, "invalid_api_key")
		r := g.do(ep.method, ep.path, vkey, ep.body)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s with a virtual key: %s, want 403", what, r)
		} else if e, err := errorShape(r.Body); err != nil || e.Type != "permission_error" {
			t.Errorf("%s with a virtual key: %s: %v, want OpenAI's shape with type permission_error", what, r.Body, err)
		}
	}
	// Nothing changed: alias-1 still points at model-group-1, evil does not
	// exist, the virtual key still works.
	if a := g.getAlias("alias-1"); a.LiteLLMModel != "model-group-1" || !a.Active {
		t.Errorf("alias-1 after refused admin calls: %+v", a)
	}
	wantError(t, "GET evil", g.do("GET", "/api/model-aliases/evil", testMasterKey, nil), 404, "alias_not_found")
	mustStatus(t, "virtual key after refused admin calls", g.chat(vkey, "alias-1"), 200)
}
