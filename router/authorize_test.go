package router

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// testAuth is an Authorizer with caller aliases: grants and aliases per
// caller, the caller in the context. It records what Allow was handed.
type testAuth struct {
	grants  map[string][]string          // caller → names it may use
	aliases map[string]map[string]string // caller → its own aliases
	calls   []authCall
}

type authCall struct {
	Requested string
	Resolved  []string
}

type callerKey struct{}

func asCaller(id string) context.Context {
	return context.WithValue(context.Background(), callerKey{}, id)
}

var errTestDenied = errors.New("denied")

func (a *testAuth) Allow(ctx context.Context, requested string, resolved []string) error {
	a.calls = append(a.calls, authCall{requested, slices.Clone(resolved)})
	id, _ := ctx.Value(callerKey{}).(string)
	if _, own := a.aliases[id][requested]; own || slices.Contains(a.grants[id], requested) {
		return nil
	}
	return errTestDenied
}

func (a *testAuth) CallerAlias(ctx context.Context, name string) (string, bool) {
	id, _ := ctx.Value(callerKey{}).(string)
	t, ok := a.aliases[id][name]
	return t, ok
}

var (
	_ Authorizer    = (*testAuth)(nil)
	_ CallerAliases = (*testAuth)(nil)
	_ Authorizer    = AuthorizerFunc(nil)
)

// Resolution happens once, in the Router, key aliases first: the
// Authorizer is handed the requested name and the whole resolution, the
// Route names what the client asked for, and the decision is on the
// requested name only (DESIGN invariant 1; LiteLLM issue 13310).
func TestAuthorizerSeesOneResolution(t *testing.T) {
	reg := newRegistry(t)
	d1, _ := fakeDep("d1", "model-group-1", "m1")
	d2, _ := fakeDep("d2", "model-group-2", "m2")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d1, d2}})
	mustAlias(t, reg, "smart", "model-group-1")
	mustAlias(t, reg, "alias-1", "smart")
	mustAlias(t, reg, "off", "model-group-2")
	disabled := true
	if _, err := reg.Update(context.Background(), "off", alias.Update{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	auth := &testAuth{
		grants: map[string][]string{
			"alias-only": {"alias-1"},
			"group-only": {"model-group-1"},
			"all":        {"alias-1", "smart", "model-group-1", "model-group-2", "off", "nope"},
		},
		aliases: map[string]map[string]string{
			"all":        {"mine": "alias-1", "mine-group": "model-group-2", "mine-off": "off", "mine-gone": "gone"},
			"alias-only": {"mine": "model-group-2"},
		},
	}
	for _, tc := range []struct {
		caller, model string
		wantAuth      authCall
		wantRoute     Route // Requested, Chain, Group
		wantErr       error
	}{
		// The LiteLLM scenario: a key granted only the alias calls it.
		{"alias-only", "alias-1", authCall{"alias-1", []string{"smart", "model-group-1"}},
			Route{Requested: "alias-1", Chain: []string{"alias-1", "smart"}, Group: "model-group-1"}, nil},
		// ... and is refused the group it resolves to.
		{"alias-only", "model-group-1", authCall{"model-group-1", nil}, Route{}, errTestDenied},
		// A grant on the group is not a grant on its alias.
		{"group-only", "alias-1", authCall{"alias-1", []string{"smart", "model-group-1"}}, Route{}, errTestDenied},
		{"group-only", "model-group-1", authCall{"model-group-1", nil},
			Route{Requested: "model-group-1", Group: "model-group-1"}, nil},
		// A key alias is the first step of the same resolution.
		{"all", "mine", authCall{"mine", []string{"alias-1", "smart", "model-group-1"}},
			Route{Requested: "mine", Chain: []string{"mine", "alias-1", "smart"}, Group: "model-group-1"}, nil},
		{"all", "mine-group", authCall{"mine-group", []string{"model-group-2"}},
			Route{Requested: "mine-group", Chain: []string{"mine-group"}, Group: "model-group-2"}, nil},
		// Key aliases are per key: another key's alias of the same name.
		{"alias-only", "mine", authCall{"mine", []string{"model-group-2"}},
			Route{Requested: "mine", Chain: []string{"mine"}, Group: "model-group-2"}, nil},
		// Unknown and disabled names are refused before anyone learns
		// whether they exist; allowed, they fail as the requested name.
		{"alias-only", "nope", authCall{"nope", nil}, Route{}, errTestDenied},
		{"all", "nope", authCall{"nope", nil}, Route{}, alias.ErrNotFound},
		{"all", "off", authCall{"off", nil}, Route{}, alias.ErrDisabled},
		{"all", "mine-off", authCall{"mine-off", nil}, Route{}, alias.ErrDisabled},
		{"all", "mine-gone", authCall{"mine-gone", nil}, Route{}, alias.ErrNotFound},
	} {
		t.Run(tc.caller+"/"+tc.model, func(t *testing.T) {
			auth.calls = nil
			var observed []string
			_, route, err := r.Complete(asCaller(tc.caller), chat(tc.model), WithAuthorizer(auth),
				WithRequestObserver(func(e RequestEvent) { observed = append(observed, e.Requested) }))
			if diff := cmp.Diff([]authCall{tc.wantAuth}, auth.calls, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Allow was handed (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Complete: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				// The error names the requested name, never a resolved one.
				for _, n := range []string{"smart", "model-group-1", "model-group-2", "alias-1", "off", "gone"} {
					if n != tc.model && strings.Contains(err.Error(), strconv.Quote(n)) {
						t.Errorf("error %q reveals %q", err, n)
					}
				}
				var ne *NameError
				if errors.As(err, &ne) && ne.Name != tc.model {
					t.Errorf("NameError.Name = %q, want %q", ne.Name, tc.model)
				}
				if errors.Is(err, errTestDenied) && observed != nil {
					t.Errorf("a refused request reached the observer: %q", observed)
				}
				return
			}
			got := Route{Requested: route.Requested, Chain: route.Chain, Group: route.Group}
			if diff := cmp.Diff(tc.wantRoute, got); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tc.model}, observed); diff != "" {
				t.Errorf("observed requested names (-want +got):\n%s", diff)
			}
		})
	}
}

// The Authorizer is asked before any upstream call, for streams and
// embeddings too, and its refusal is returned unchanged.
func TestAuthorizerBeforeAnyCall(t *testing.T) {
	reg := newRegistry(t)
	d, f := fakeDep("d1", "g", "m")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d}})
	deny := AuthorizerFunc(func(context.Context, string, []string) error { return errTestDenied })
	ctx := context.Background()
	if _, _, err := r.Complete(ctx, chat("g"), WithAuthorizer(deny)); err != errTestDenied {
		t.Errorf("Complete: %v, want the Authorizer's error unchanged", err)
	}
	if _, err := r.Stream(ctx, chat("g"), WithAuthorizer(deny)); err != errTestDenied {
		t.Errorf("Stream: %v, want the Authorizer's error unchanged", err)
	}
	if _, _, err := r.Embed(ctx, openai.EmbeddingRequest{Model: "g", Input: []string{"a"}}, WithAuthorizer(deny)); err != errTestDenied {
		t.Errorf("Embed: %v, want the Authorizer's error unchanged", err)
	}
	if n := len(f.Calls()); n != 0 {
		t.Errorf("%d upstream calls for refused requests", n)
	}
}

// Fallback targets are resolved by the Router as configured, not through
// the caller's aliases, and are not authorized again: the request was
// authorized on the name it asked for.
func TestAuthorizerFallbacks(t *testing.T) {
	reg := newRegistry(t)
	d1, f1 := fakeDep("d1", "g1", "m1")
	d2, _ := fakeDep("d2", "g2", "m2")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d1, d2}, Fallbacks: map[string][]string{"g1": {"g2"}}, NumRetries: -1})
	f1.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
	auth := &testAuth{grants: map[string][]string{"k": {"mine"}}, aliases: map[string]map[string]string{"k": {"mine": "g1", "g2": "g1"}}}
	_, route, err := r.Complete(asCaller("k"), chat("mine"), WithAuthorizer(auth))
	if err != nil {
		t.Fatal(err)
	}
	if route.Requested != "mine" || route.Group != "g2" || !route.Fallback {
		t.Errorf("route %+v: want mine served by fallback g2", route)
	}
	if len(auth.calls) != 1 {
		t.Errorf("Allow called %d times, want once: %+v", len(auth.calls), auth.calls)
	}
}

func TestResolveRequestAllocations(t *testing.T) {
	reg := newRegistry(t)
	d, _ := fakeDep("d1", "g", "m")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d}})
	mustAlias(t, reg, "a", "g")
	allow := AuthorizerFunc(func(context.Context, string, []string) error { return nil })
	q, release := testRequest(r, WithAuthorizer(allow))
	defer release()
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := q.resolveRequest("a"); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("resolving and authorizing a registry alias allocates %v times, want 0", n)
	}
}
