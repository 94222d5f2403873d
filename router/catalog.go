package router

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/internal/secret"
)

// The model catalog: what a gateway lists on /v1/models, /model/info and
// /model_group/info (package router/httpapi gives it those shapes). Every
// read loads the Router's current table and the Registry's current
// aliases, so a config Update or an alias change shows in the next read;
// nothing is cached.
//
// Visible names are every model group and every alias that is active, not
// hidden and resolves (an alias whose chain passes through a disabled alias
// does not). Hidden aliases still route but are never listed; disabled ones
// neither route nor list. A wildcard group ("openai/*") is listed under its
// pattern, as LiteLLM's proxy lists it: the names it serves are open-ended.
// An alias whose target a wildcard group serves ("gpt" → "openai/gpt-4o")
// shows that group's deployments with the "*" of their model filled in.
//
// Order is stable: groups (wildcard patterns included) sorted by name, then
// aliases sorted by name; within a name, deployments in config order.

// Listing is one name of the catalog and the deployments it reaches.
type Listing struct {
	// Name is a group's name, a wildcard group's pattern, or an alias.
	Name string
	// Alias is the alias Name is, nil for a group.
	Alias *alias.Alias
	// Deployments are the deployments of the group Name stands for, in
	// config order.
	Deployments []ListedDeployment
}

// ListedDeployment is a deployment as a catalog may show it: never with a
// secret.
type ListedDeployment struct {
	// Deployment is the deployment as configured (its Mode defaulted),
	// without its Provider; API keys, tokens, passwords, credentials and
	// headers are dropped (not masked) from Params and Info at any depth,
	// and user information and secret query parameters are removed from
	// APIBase and from every URL in them.
	Deployment
	// DisplayModel is the model as LiteLLM shows it, "provider/model",
	// with a wildcard's "*" filled in when listed under an alias of a
	// wildcard-served name.
	DisplayModel string
	// ProviderPrefix is the provider prefix ("azure", "openai", …), "" if
	// the model has none.
	ProviderPrefix string
	// Out says which signals keep it out of rotation now; 0: in rotation.
	Out Signal
}

// Catalog lists the visible names in catalog order. With an Authorizer
// (auth not nil) it lists only the names auth allows, asking it the way a
// request would (with ctx, and each name's resolution), so that a listing
// equals what is usable; it is asked about visible names only, outside
// any lock. The result is never nil.
func (r *Router) Catalog(ctx context.Context, auth Authorizer) []Listing {
	tab := r.tab.Load()
	now := time.Now().UnixNano()
	names := r.visible(ctx, tab, auth)
	out := make([]Listing, 0, len(names))
	for _, v := range names {
		l := Listing{Name: v.name, Alias: v.alias, Deployments: make([]ListedDeployment, len(v.g.deps))}
		for i, d := range v.g.deps {
			l.Deployments[i] = d.listed(v.match, now, tab.set.slowStart)
		}
		out = append(out, l)
	}
	return out
}

// listed is d as the catalog shows it under a name whose wildcard part is
// match.
func (d *dep) listed(match string, now int64, slowStart time.Duration) ListedDeployment {
	ld := ListedDeployment{Deployment: d.Deployment, DisplayModel: d.displayModel(match), ProviderPrefix: d.prov, Out: d.out(now, slowStart)}
	ld.Provider = nil
	ld.APIBase = secret.CleanURL(d.APIBase)
	ld.Tags = slices.Clone(d.Tags)
	ld.Params = scrubMap(d.Params)
	ld.Info = scrubMap(d.Info)
	return ld
}

// visibleName is one name the catalog lists and the group it stands for.
type visibleName struct {
	name  string
	g     *group
	match string       // what a wildcard group's "*" matched, for aliases
	alias *alias.Alias // nil for a group
}

// visible lists the names of tab and the Registry that auth allows (all
// without one), in catalog order.
func (r *Router) visible(ctx context.Context, tab *table, auth Authorizer) []visibleName {
	out := make([]visibleName, 0, len(tab.groups)+len(tab.wild))
	for name, g := range tab.groups {
		out = append(out, visibleName{name: name, g: g})
	}
	for _, g := range tab.wild {
		out = append(out, visibleName{name: g.name, g: g})
	}
	slices.SortFunc(out, func(a, b visibleName) int { return strings.Compare(a.name, b.name) })
	if auth != nil {
		out = slices.DeleteFunc(out, func(v visibleName) bool { return auth.Allow(ctx, v.name, nil) != nil })
	}
	if r.reg == nil {
		return out
	}
	// List leaves out hidden aliases and those that cannot resolve because
	// of a disabled alias on their chain, and sorts by name.
	for _, a := range r.reg.List(alias.ListOptions{}) {
		res, err := r.reg.Resolve(a.Name)
		if err != nil {
			continue // changed since List: the next read shows it
		}
		g, match := tab.lookup(res.Target)
		if g == nil {
			continue
		}
		if auth != nil && auth.Allow(ctx, a.Name, append(slices.Clone(res.Chain[1:]), res.Target)) != nil {
			continue
		}
		out = append(out, visibleName{name: a.Name, g: g, match: match, alias: &a})
	}
	return out
}

// out says which signals keep d out of rotation at now (0: none), the way
// Snapshot reports them.
func (d *dep) out(now int64, slowStart time.Duration) Signal {
	var s Signal
	switch d.st.phase(now, slowStart) {
	case phaseCooling, phaseProbing:
		s |= SignalPassive
	}
	if d.st.probeDown.Load() {
		s |= SignalActive
	}
	return s
}

// displayModel is litellm_params.model as LiteLLM shows it: "provider/model".
func (d *dep) displayModel(match string) string {
	m := d.Model
	if match != "" && strings.Contains(m, "*") {
		m = strings.Replace(m, "*", match, 1)
	}
	if d.ProviderName != "" {
		m = d.ProviderName + "/" + m
	}
	return m
}

// scrubMap returns a deep copy of m without secrets (see scrub); nil if m
// is empty.
func scrubMap(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return scrub(m).(map[string]any)
}

// scrub returns a deep copy of v with secret keys dropped from every map
// and URLs cleaned in every string.
func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if !secret.IsKey(k) {
				out[k] = scrub(e)
			}
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			if !secret.IsKey(k) {
				out[k] = secret.CleanURL(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrub(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = secret.CleanURL(e)
		}
		return out
	case string:
		return secret.CleanURL(x)
	}
	return v
}
