package router

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// listed lists a catalog's names.
func listed(cat []Listing) []string {
	out := []string{}
	for _, l := range cat {
		out = append(out, l.Name)
	}
	return out
}

// rows lists a catalog's deployments as "name=id".
func rows(cat []Listing) []string {
	out := []string{}
	for _, l := range cat {
		for _, d := range l.Deployments {
			out = append(out, l.Name+"="+d.ID)
		}
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

// allowOnly is an Authorizer allowing the given names; it records what it
// was asked.
type allowOnly struct {
	names []string
	asked []authCall
}

func (a *allowOnly) Allow(_ context.Context, requested string, resolved []string) error {
	a.asked = append(a.asked, authCall{requested, slices.Clone(resolved)})
	if a.names == nil || slices.Contains(a.names, requested) {
		return nil
	}
	return errTestDenied
}

// TestLiteLLM5524Catalog is the seed scenario's catalog half: aliases are
// listed beside groups with the group's deployments (the same IDs), and
// the hidden alias shows nowhere. (router/httpapi tests the JSON shapes.)
func TestLiteLLM5524Catalog(t *testing.T) {
	s := newSeedScenario(t)
	cat := s.r.Catalog(context.Background(), nil)
	if diff := cmp.Diff([]string{"model-group-1=dep-1", "model-group-1=dep-2", "alias-1=dep-1", "alias-1=dep-2"}, rows(cat)); diff != "" {
		t.Errorf("catalog (-want +got):\n%s", diff)
	}
	if cat[0].Alias != nil || cat[1].Alias == nil || cat[1].Alias.Name != "alias-1" || !cat[1].Alias.Created.Equal(seedCreated) {
		t.Errorf("aliases: group %+v, alias %+v", cat[0].Alias, cat[1].Alias)
	}
	// An alias lists its group's deployments as they are.
	if diff := cmp.Diff(cat[0].Deployments, cat[1].Deployments); diff != "" {
		t.Errorf("alias deployments differ from its group's (-group +alias):\n%s", diff)
	}
	want := ListedDeployment{
		Deployment: Deployment{
			ID: "dep-1", Group: "model-group-1", Model: "azure/gpt-1", APIBase: s.srvA.URL(), Mode: "chat",
			Params: map[string]any{"model": "azure/gpt-1", "api_base": s.srvA.URL(), "api_version": "2024-10-21"},
			Info: map[string]any{"id": "dep-1", "db_model": false, "access_groups": []any{"beta-models"},
				"oauth": map[string]any{"client_id": "app-1"}},
		},
		DisplayModel: "azure/gpt-1", ProviderPrefix: "azure",
	}
	if diff := cmp.Diff(want, cat[0].Deployments[0]); diff != "" {
		t.Errorf("first deployment (-want +got):\n%s", diff)
	}

	// The hidden alias shows nowhere, and still routes.
	if strings.Contains(mustJSON(t, cat), "hidden-1") {
		t.Errorf("hidden alias listed: %v", listed(cat))
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
	out := mustJSON(t, s.r.Catalog(context.Background(), nil))
	for _, secret := range []string{seedKeyA, seedKeyB, seedSecret, "api_key", "Authorization", "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("catalog JSON contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"APIBase":"https://example.test/v1?region=eu"`, `"https://h.test/"`} {
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
	type view struct{ Names, Rows, Same []string }
	read := func() view {
		cat := r.Catalog(ctx, nil)
		return view{listed(cat), rows(cat), listed(cat)}
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

// The catalog asks an Authorizer about each visible name as a request
// would, with the name's resolution, and lists what it allows.
func TestCatalogAuthorizer(t *testing.T) {
	s := newSeedScenario(t)
	catAlias(t, s.reg, alias.Alias{Name: "best", Target: "alias-1"})
	for _, tc := range []struct {
		name  string
		allow []string
		want  []string // visible names
		rows  []string
	}{
		{"alias only", []string{"alias-1"}, []string{"alias-1"}, []string{"alias-1=dep-1", "alias-1=dep-2"}},
		{"group only", []string{"model-group-1"}, []string{"model-group-1"},
			[]string{"model-group-1=dep-1", "model-group-1=dep-2"}},
		{"hidden grant lists nothing", []string{"hidden-1"}, []string{}, []string{}},
		{"none", []string{}, []string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat := s.r.Catalog(context.Background(), &allowOnly{names: tc.allow})
			if diff := cmp.Diff(tc.want, listed(cat)); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.rows, rows(cat)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
	if got := mustJSON(t, s.r.Catalog(context.Background(), &allowOnly{names: []string{}})); got != "[]" {
		t.Errorf("empty catalog JSON %s, want []", got)
	}
	// Asked about visible names only (never the hidden alias), each with
	// its resolution.
	all := &allowOnly{}
	s.r.Catalog(context.Background(), all)
	want := []authCall{{"model-group-1", nil}, {"alias-1", []string{"model-group-1"}}, {"best", []string{"alias-1", "model-group-1"}}}
	if diff := cmp.Diff(want, all.asked, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("asked (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"model-group-1", "alias-1", "best"}, listed(s.r.Catalog(context.Background(), nil))); diff != "" {
		t.Errorf("without an Authorizer (-want +got):\n%s", diff)
	}
}

func TestCatalogWildcard(t *testing.T) {
	reg := catRegistry(t)
	r := catNew(t, reg, catDep("oa", "openai/*", "openai/*"), catDep("x", "exact", "azure/gpt-x"))
	catAlias(t, reg, alias.Alias{Name: "gpt", Target: "openai/gpt-4o"})
	var models []string
	for _, l := range r.Catalog(context.Background(), nil) {
		for _, d := range l.Deployments {
			models = append(models, l.Name+"→"+d.DisplayModel+"@"+d.ID)
		}
	}
	want := []string{"exact→azure/gpt-x@x", "openai/*→openai/*@oa", "gpt→openai/gpt-4o@oa"}
	if diff := cmp.Diff(want, models); diff != "" {
		t.Errorf("catalog (-want +got):\n%s", diff)
	}
}

// A listed deployment says which signals keep it out of rotation now.
func TestCatalogOut(t *testing.T) {
	r := catNew(t, nil, catDep("a", "g", "openai/a"), catDep("b", "g", "openai/b"), catDep("c", "g", "openai/c"))
	out := func() []Signal {
		var s []Signal
		for _, d := range r.Catalog(context.Background(), nil)[0].Deployments {
			s = append(s, d.Out)
		}
		return s
	}
	if diff := cmp.Diff([]Signal{0, 0, 0}, out()); diff != "" {
		t.Errorf("fresh (-want +got):\n%s", diff)
	}
	r.tab.Load().byID["a"].st.startCooldown(time.Now().UnixNano(), time.Hour)
	r.setProbeHealth("b", false, provider.KindUnavailable, time.Now())
	if diff := cmp.Diff([]Signal{SignalPassive, SignalActive, 0}, out()); diff != "" {
		t.Errorf("one cooling, one failing probes (-want +got):\n%s", diff)
	}
}
