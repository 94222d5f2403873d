package router

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// Secrets the seed scenario hides in its config; none may show in any
// catalog or health output.
const (
	seedKeyA   = "sk-seedA-0123456789abcdef"
	seedKeyB   = "sk-seedB-fedcba9876543210"
	seedSecret = "hunter2-client-secret"
)

var seedCreated = time.Date(2024, 9, 1, 12, 0, 0, 0, time.UTC)

// seedScenario is LiteLLM issue 5524's config: two deployments in
// model-group-1, each behind its own fake OpenAI-compatible server (which
// counts requests per path), alias-1 → model-group-1 and a hidden alias
// hidden-1 → model-group-1.
type seedScenario struct {
	r          *Router
	reg        *alias.Registry
	srvA, srvB *providertest.Server
}

func newSeedScenario(t *testing.T) *seedScenario {
	t.Helper()
	s := &seedScenario{
		srvA: providertest.NewServer(providertest.WithAPIKey(seedKeyA)),
		srvB: providertest.NewServer(providertest.WithAPIKey(seedKeyB)),
	}
	t.Cleanup(s.srvA.Close)
	t.Cleanup(s.srvB.Close)
	dep := func(id, model, key string, srv *providertest.Server) Deployment {
		p, err := provider.NewOpenAI(provider.OpenAIConfig{Name: "azure", BaseURL: srv.URL(), APIKey: key, HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return Deployment{
			ID: id, Group: "model-group-1", Model: model, Provider: p,
			APIBase: srv.URL(),
			// What a careless loader might pass on: the catalog must drop
			// every secret itself.
			Params: map[string]any{
				"model": model, "api_base": srv.URL(), "api_key": key, "api_version": "2024-10-21",
				"extra_headers": map[string]any{"Authorization": "Bearer " + key},
			},
			Info: map[string]any{
				"id": id, "db_model": false, "access_groups": []any{"beta-models"},
				"oauth": map[string]any{"client_secret": seedSecret, "client_id": "app-1"},
			},
		}
	}
	var err error
	s.reg, err = alias.New(context.Background(), alias.WithClock(func() time.Time { return seedCreated }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.reg.Close() })
	s.r, err = New(s.reg, Config{Deployments: []Deployment{
		dep("dep-1", "azure/gpt-1", seedKeyA, s.srvA),
		dep("dep-2", "azure/gpt-2", seedKeyB, s.srvB),
	}}, WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.r.Close() })
	catAlias(t, s.reg, alias.Alias{Name: "alias-1", Target: "model-group-1"})
	catAlias(t, s.reg, alias.Alias{Name: "hidden-1", Target: "model-group-1", Hidden: true})
	return s
}

func catAlias(t *testing.T, reg *alias.Registry, a alias.Alias) {
	t.Helper()
	if _, err := reg.Create(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func catUpdate(t *testing.T, reg *alias.Registry, name string, u alias.Update) {
	t.Helper()
	if _, err := reg.Update(context.Background(), name, u); err != nil {
		t.Fatal(err)
	}
}

func catNew(t *testing.T, reg *alias.Registry, deps ...Deployment) *Router {
	t.Helper()
	r, err := New(reg, Config{Deployments: deps}, WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func catRegistry(t *testing.T) *alias.Registry {
	t.Helper()
	reg, err := alias.New(context.Background(), alias.WithClock(func() time.Time { return seedCreated }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

func catDep(id, group, model string) Deployment {
	return Deployment{ID: id, Group: group, Model: model, Provider: providertest.NewFake()}
}

func ptrTo[T any](v T) *T { return &v }

func modelIDs(ms []Model) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// infoRows lists ModelInfo rows as "name=id".
func infoRows(rows []ModelInfo) []string {
	out := []string{}
	for _, m := range rows {
		out = append(out, m.ModelName+"="+m.Info.ID)
	}
	return out
}

func groupNames(gs []GroupInfo) []string {
	out := []string{}
	for _, g := range gs {
		out = append(out, g.ModelGroup)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLiteLLM5524Catalog is the seed scenario's catalog half: aliases are
// listed beside groups, model info shows each alias's deployments with the
// group's IDs, and the hidden alias shows nowhere.
func TestLiteLLM5524Catalog(t *testing.T) {
	s := newSeedScenario(t)

	wantModels := []Model{
		{ID: "model-group-1", Object: "model", Created: 1677610602, OwnedBy: "azure"},
		{ID: "alias-1", Object: "model", Created: seedCreated.Unix(), OwnedBy: "azure"},
	}
	if diff := cmp.Diff(wantModels, s.r.Models(nil)); diff != "" {
		t.Errorf("Models (-want +got):\n%s", diff)
	}

	info := s.r.ModelInfo(nil)
	wantRows := []string{"model-group-1=dep-1", "model-group-1=dep-2", "alias-1=dep-1", "alias-1=dep-2"}
	if diff := cmp.Diff(wantRows, infoRows(info)); diff != "" {
		t.Errorf("ModelInfo rows (-want +got):\n%s", diff)
	}
	// An alias row is its group's row under another name.
	for i := range 2 {
		g, a := info[i], info[i+2]
		a.ModelName = g.ModelName
		if diff := cmp.Diff(g, a); diff != "" {
			t.Errorf("alias row %d differs from its group row (-group +alias):\n%s", i, diff)
		}
	}
	wantFirst := ModelInfo{
		ModelName: "model-group-1",
		Params: DeploymentParams{
			Model: "azure/gpt-1", APIBase: s.srvA.URL(),
			Extra: map[string]any{"api_version": "2024-10-21"},
		},
		Info: DeploymentInfo{
			ID: "dep-1", Mode: "chat", Provider: "azure", AccessGroups: []string{"beta-models"},
			Extra: map[string]any{"db_model": false, "oauth": map[string]any{"client_id": "app-1"}},
		},
	}
	if diff := cmp.Diff(wantFirst, info[0]); diff != "" {
		t.Errorf("first row (-want +got):\n%s", diff)
	}

	groups := s.r.GroupInfo(nil)
	wantGroups := []GroupInfo{
		{ModelGroup: "model-group-1", Providers: []string{"azure"}, Mode: "chat", Modes: []string{"chat"},
			Health: HealthHealthy, HealthyDeployments: 2, Deployments: 2},
		{ModelGroup: "alias-1", Providers: []string{"azure"}, Mode: "chat", Modes: []string{"chat"},
			Health: HealthHealthy, HealthyDeployments: 2, Deployments: 2},
	}
	if diff := cmp.Diff(wantGroups, groups); diff != "" {
		t.Errorf("GroupInfo (-want +got):\n%s", diff)
	}

	// The hidden alias shows nowhere, and still routes.
	all := mustJSON(t, []any{s.r.Models(nil), info, groups})
	if strings.Contains(all, "hidden-1") {
		t.Errorf("hidden alias listed: %s", all)
	}
	if _, route, err := s.r.Complete(context.Background(), chat("hidden-1")); err != nil || route.Group != "model-group-1" {
		t.Errorf("hidden alias: route %+v, err %v; want it served by model-group-1", route, err)
	}
}

// TestCatalogNeverShowsSecrets greps the JSON of every catalog answer for
// the keys and secrets the config holds.
func TestCatalogNeverShowsSecrets(t *testing.T) {
	s := newSeedScenario(t)
	// A URL carrying credentials is cleaned too.
	d := catDep("leaky", "leaky-group", "openai/gpt-4o")
	d.APIBase = "https://user:" + seedSecret + "@example.test/v1?api-key=" + seedKeyA + "&region=eu"
	d.Params = map[string]any{"aws_secret_access_key": seedSecret, "vertex_credentials": seedSecret,
		"list": []any{map[string]any{"access_token": seedSecret}, "https://u:" + seedSecret + "@h.test/"}}
	cfg := Config{Deployments: append(configOf(s.r), d)}
	if err := s.r.Update(cfg); err != nil {
		t.Fatal(err)
	}
	out := mustJSON(t, map[string]any{
		"models": s.r.Models(nil), "model_info": s.r.ModelInfo(nil), "model_group_info": s.r.GroupInfo(nil),
	})
	for _, secret := range []string{seedKeyA, seedKeyB, seedSecret, "api_key", "Authorization", "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("catalog JSON contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"api_base":"https://example.test/v1?region=eu"`, `"https://h.test/"`} {
		if !strings.Contains(out, want) {
			t.Errorf("catalog JSON lacks %s:\n%s", want, out)
		}
	}
}

// configOf rebuilds the Config of r's current deployments (for tests that
// add to it).
func configOf(r *Router) []Deployment {
	var out []Deployment
	for _, d := range r.tab.Load().deps {
		out = append(out, d.Deployment)
	}
	return out
}

// TestCatalogFollowsRegistry: a registry change shows in the next read.
func TestCatalogFollowsRegistry(t *testing.T) {
	reg := catRegistry(t)
	r := catNew(t, reg, catDep("a1", "g1", "openai/a"), catDep("b1", "g2", "openai/b"), catDep("b2", "g2", "openai/b"))
	ctx := context.Background()
	type view struct{ Models, Info, Groups []string }
	read := func() view {
		return view{modelIDs(r.Models(nil)), infoRows(r.ModelInfo(nil)), groupNames(r.GroupInfo(nil))}
	}
	steps := []struct {
		name   string
		change func()
		want   view
	}{
		{"groups only", func() {}, view{
			[]string{"g1", "g2"}, []string{"g1=a1", "g2=b1", "g2=b2"}, []string{"g1", "g2"}}},
		{"new alias", func() { catAlias(t, reg, alias.Alias{Name: "smart", Target: "g1"}) }, view{
			[]string{"g1", "g2", "smart"}, []string{"g1=a1", "g2=b1", "g2=b2", "smart=a1"}, []string{"g1", "g2", "smart"}}},
		{"re-pointed", func() { catUpdate(t, reg, "smart", alias.Update{Target: ptrTo("g2")}) }, view{
			[]string{"g1", "g2", "smart"}, []string{"g1=a1", "g2=b1", "g2=b2", "smart=b1", "smart=b2"}, []string{"g1", "g2", "smart"}}},
		{"chain", func() { catAlias(t, reg, alias.Alias{Name: "best", Target: "smart"}) }, view{
			[]string{"g1", "g2", "best", "smart"},
			[]string{"g1=a1", "g2=b1", "g2=b2", "best=b1", "best=b2", "smart=b1", "smart=b2"},
			[]string{"g1", "g2", "best", "smart"}}},
		{"disabled (and its dependent)", func() { catUpdate(t, reg, "smart", alias.Update{Disabled: ptrTo(true)}) }, view{
			[]string{"g1", "g2"}, []string{"g1=a1", "g2=b1", "g2=b2"}, []string{"g1", "g2"}}},
		{"enabled but hidden", func() {
			catUpdate(t, reg, "smart", alias.Update{Disabled: ptrTo(false), Hidden: ptrTo(true)})
		}, view{
			[]string{"g1", "g2", "best"}, []string{"g1=a1", "g2=b1", "g2=b2", "best=b1", "best=b2"}, []string{"g1", "g2", "best"}}},
		{"deleted", func() {
			if _, err := reg.Delete(ctx, "best"); err != nil {
				t.Fatal(err)
			}
		}, view{[]string{"g1", "g2"}, []string{"g1=a1", "g2=b1", "g2=b2"}, []string{"g1", "g2"}}},
		{"config update", func() {
			if err := r.Update(Config{Deployments: []Deployment{
				catDep("a1", "g1", "openai/a"), catDep("b1", "g2", "openai/b"), catDep("c1", "g3", "openai/c"),
			}}); err != nil {
				t.Fatal(err)
			}
		}, view{[]string{"g1", "g2", "g3"}, []string{"g1=a1", "g2=b1", "g3=c1"}, []string{"g1", "g2", "g3"}}},
	}
	for _, st := range steps {
		st.change()
		if diff := cmp.Diff(st.want, read()); diff != "" {
			t.Errorf("after %s (-want +got):\n%s", st.name, diff)
		}
	}
	// The hidden alias still routes; a disabled one is refused.
	if _, _, err := r.Complete(ctx, chat("smart")); err != nil {
		t.Errorf("hidden alias: %v", err)
	}
	catUpdate(t, reg, "smart", alias.Update{Disabled: ptrTo(true)})
	if _, _, err := r.Complete(ctx, chat("smart")); !errors.Is(err, alias.ErrDisabled) {
		t.Errorf("disabled alias: err %v, want ErrDisabled", err)
	}
}

func TestCatalogAllow(t *testing.T) {
	s := newSeedScenario(t)
	allowOnly := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, x := range names {
				if x == n {
					return true
				}
			}
			return false
		}
	}
	var asked []string
	recordAll := func(n string) bool { asked = append(asked, n); return true }
	for _, tc := range []struct {
		name  string
		allow func(string) bool
		want  []string // visible names
		rows  []string
	}{
		{"nil allows all", nil, []string{"model-group-1", "alias-1"},
			[]string{"model-group-1=dep-1", "model-group-1=dep-2", "alias-1=dep-1", "alias-1=dep-2"}},
		{"alias only", allowOnly("alias-1"), []string{"alias-1"}, []string{"alias-1=dep-1", "alias-1=dep-2"}},
		{"group only", allowOnly("model-group-1"), []string{"model-group-1"},
			[]string{"model-group-1=dep-1", "model-group-1=dep-2"}},
		{"hidden grant lists nothing", allowOnly("hidden-1"), []string{}, []string{}},
		{"none", allowOnly(), []string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, modelIDs(s.r.Models(tc.allow))); diff != "" {
				t.Errorf("Models (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.rows, infoRows(s.r.ModelInfo(tc.allow))); diff != "" {
				t.Errorf("ModelInfo (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, groupNames(s.r.GroupInfo(tc.allow))); diff != "" {
				t.Errorf("GroupInfo (-want +got):\n%s", diff)
			}
		})
	}
	// Empty answers are empty lists in JSON, not null.
	if got := mustJSON(t, s.r.Models(allowOnly())); got != "[]" {
		t.Errorf("empty Models JSON %s, want []", got)
	}
	// allow is asked about visible names only, never the hidden alias.
	s.r.Models(recordAll)
	if diff := cmp.Diff([]string{"model-group-1", "alias-1"}, asked); diff != "" {
		t.Errorf("names asked (-want +got):\n%s", diff)
	}
}

func TestCatalogWildcard(t *testing.T) {
	reg := catRegistry(t)
	r := catNew(t, reg, catDep("oa", "openai/*", "openai/*"), catDep("x", "exact", "azure/gpt-x"))
	catAlias(t, reg, alias.Alias{Name: "gpt", Target: "openai/gpt-4o"})
	if diff := cmp.Diff([]string{"exact", "openai/*", "gpt"}, modelIDs(r.Models(nil))); diff != "" {
		t.Errorf("Models (-want +got):\n%s", diff)
	}
	var models []string
	for _, m := range r.ModelInfo(nil) {
		models = append(models, m.ModelName+"→"+m.Params.Model+"@"+m.Info.ID)
	}
	want := []string{"exact→azure/gpt-x@x", "openai/*→openai/*@oa", "gpt→openai/gpt-4o@oa"}
	if diff := cmp.Diff(want, models); diff != "" {
		t.Errorf("ModelInfo (-want +got):\n%s", diff)
	}
}

func TestGroupInfoAggregates(t *testing.T) {
	a := catDep("a", "mixed", "openai/gpt-4o")
	a.RPM, a.TPM, a.ContextWindow, a.InputCostPerToken, a.OutputCostPerToken = 10, 1000, 128000, 2e-6, 8e-6
	b := catDep("b", "mixed", "azure/gpt-4o")
	b.TPM, b.ContextWindow, b.InputCostPerToken, b.OutputCostPerToken = 500, 32000, 3e-6, 6e-6
	c := catDep("c", "mixed", "gpt-4o")
	c.ProviderName, c.Mode = "groq", "embedding"
	r := catNew(t, nil, a, b, c)

	want := GroupInfo{
		ModelGroup: "mixed", Providers: []string{"azure", "groq", "openai"},
		Mode: "chat", Modes: []string{"chat", "embedding"}, MaxInputTokens: 128000,
		RPM: 10, TPM: 1500, InputCostPerToken: 3e-6, OutputCostPerToken: 8e-6,
		Health: HealthHealthy, HealthyDeployments: 3, Deployments: 3,
	}
	if diff := cmp.Diff([]GroupInfo{want}, r.GroupInfo(nil)); diff != "" {
		t.Errorf("GroupInfo (-want +got):\n%s", diff)
	}

	// Health follows both signals.
	tab := r.tab.Load()
	now := time.Now().UnixNano()
	tab.byID["a"].st.startCooldown(now, time.Hour) // passive
	want.Health, want.HealthyDeployments = HealthDegraded, 2
	if diff := cmp.Diff([]GroupInfo{want}, r.GroupInfo(nil)); diff != "" {
		t.Errorf("one cooling (-want +got):\n%s", diff)
	}
	r.setProbeHealth("b", false, provider.KindUnavailable, time.Now()) // active
	r.setProbeHealth("c", false, provider.KindUnavailable, time.Now())
	want.Health, want.HealthyDeployments = HealthUnhealthy, 0
	if diff := cmp.Diff([]GroupInfo{want}, r.GroupInfo(nil)); diff != "" {
		t.Errorf("none in rotation (-want +got):\n%s", diff)
	}
}

// TestCatalogJSON pins the shapes GATEWAY.md shows.
func TestCatalogJSON(t *testing.T) {
	d := catDep("dep-1", "model-group-1", "azure/gpt-1")
	d.APIBase, d.RPM, d.Weight, d.Timeout, d.Tags = "https://xyz1.openai.azure.com/", 60, 2, 30*time.Second, []string{"eu"}
	d.ContextWindow, d.InputCostPerToken = 8192, 1e-6
	d.Params = map[string]any{"model": "azure/gpt-1", "api_key": seedKeyA, "api_version": "2024-10-21", "weight": 99}
	d.Info = map[string]any{"id": "ignored", "db_model": false, "access_groups": []string{"beta"}}
	r := catNew(t, nil, d)
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"models", r.Models(nil), `[{"id":"model-group-1","object":"model","created":1677610602,"owned_by":"azure"}]`},
		{"model info", r.ModelInfo(nil), `[{"model_name":"model-group-1",` +
			`"litellm_params":{"model":"azure/gpt-1","api_base":"https://xyz1.openai.azure.com/","rpm":60,"weight":2,"timeout":30,"tags":["eu"],"api_version":"2024-10-21"},` +
			`"model_info":{"id":"dep-1","mode":"chat","litellm_provider":"azure","max_input_tokens":8192,"input_cost_per_token":0.000001,"access_groups":["beta"],"db_model":false}}]`},
		{"group info", r.GroupInfo(nil), `[{"model_group":"model-group-1","providers":["azure"],"mode":"chat","modes":["chat"],` +
			`"max_input_tokens":8192,"rpm":60,"tpm":null,"input_cost_per_token":0.000001,"output_cost_per_token":null,"health":"healthy","healthy_deployments":1,"deployments":1}]`},
	} {
		if got := mustJSON(t, tc.v); got != tc.want {
			t.Errorf("%s JSON:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestIsSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"api_key": true, "API-Key": true, "apikey": true, "aws_secret_access_key": true,
		"aws_access_key_id": true, "vertex_credentials": true, "password": true, "token": true,
		"access_token": true, "extra_headers": true, "Authorization": true, "client_secret": true,
		"model": false, "api_base": false, "max_tokens": false, "max_input_token": false,
		"input_cost_per_token": false, "api_version": false, "rpm": false, "access_groups": false,
	} {
		if got := isSecretKey(key); got != want {
			t.Errorf("isSecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestCleanURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.openai.com/v1":                     "https://api.openai.com/v1",
		"https://user:pw@host.test/v1":                  "https://host.test/v1",
		"https://host.test/v1?api-key=k&api-version=1":  "https://host.test/v1?api-version=1",
		"https://host.test/v1?key=k":                    "https://host.test/v1",
		"not a url":                                     "not a url",
		"os.environ/AZURE_API_BASE":                     "os.environ/AZURE_API_BASE",
		"https://u:p@host.test/%zz":                     "https://[redacted]",
		"http://127.0.0.1:9100/v1":                      "http://127.0.0.1:9100/v1",
		"https://host.test/v1?sig=abc&sv=2024&code=xyz": "https://host.test/v1?sv=2024",
	} {
		if got := cleanURL(in); got != want {
			t.Errorf("cleanURL(%q) = %q, want %q", in, got, want)
		}
	}
}
