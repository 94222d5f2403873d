package router

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
)

// Check probes every deployment once, now, and reports the results. If ctx
// ends first, the deployments whose probe it cut short are reported
// unhealthy with provider.KindCanceled (they count for nothing) and the
// error is ctx's. After Close it fails with ErrClosed.
func (h *HealthChecker) Check(ctx context.Context) (HealthReport, error) {
	return h.check(ctx, h.targets(nil, ""), false)
}

// CheckName probes what name (a group, an alias, or a wildcard-served
// name) resolves to: each deployment of that group once. An alias is never
// probed on its own; hidden aliases can be checked, disabled ones fail with
// a *NameError like a request would. Errors are otherwise as for Check.
func (h *HealthChecker) CheckName(ctx context.Context, name string) (HealthReport, error) {
	tab := h.r.tab.Load()
	res, err := h.r.resolve(tab, name)
	if err != nil {
		return emptyReport(), err
	}
	g, match := tab.lookup(res.Target)
	if g == nil {
		return emptyReport(), &NameError{Name: name, Err: alias.ErrNotFound}
	}
	return h.check(ctx, h.targets(g.deps, match), false)
}

// CheckDeployment probes one deployment by ID. An unknown ID fails with
// ErrUnknownDeployment. Errors are otherwise as for Check.
func (h *HealthChecker) CheckDeployment(ctx context.Context, id string) (HealthReport, error) {
	d := h.r.tab.Load().byID[id]
	if d == nil {
		return emptyReport(), fmt.Errorf("%w: %q", ErrUnknownDeployment, id)
	}
	return h.check(ctx, h.targets([]*dep{d}, ""), false)
}

// CheckDeployments probes the deployments with the given IDs, each once, in
// config order; IDs of no current deployment are left out. It serves a
// caller who may see only some deployments: the others are not probed.
// Errors are as for Check.
func (h *HealthChecker) CheckDeployments(ctx context.Context, ids []string) (HealthReport, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	deps := []*dep{} // not nil: targets(nil) is every deployment
	for _, d := range h.r.tab.Load().deps {
		if want[d.ID] {
			deps = append(deps, d)
		}
	}
	return h.check(ctx, h.targets(deps, ""), false)
}

// Last reports the latest probe result of every current deployment that
// has been probed (by any check), in config order, without probing.
func (h *HealthChecker) Last() HealthReport {
	tab := h.r.tab.Load()
	rep := emptyReport()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range tab.deps {
		if rec := h.records[d.ID]; rec != nil && rec.seen {
			rep.add(rec.last)
		}
	}
	return rep
}

// target is one deployment a check probes; match fills a wildcard's "*".
type target struct {
	d     *dep
	match string
}

// targets lists deps (nil: every current deployment) as targets.
func (h *HealthChecker) targets(deps []*dep, match string) []target {
	if deps == nil {
		deps = h.r.tab.Load().deps
	}
	out := make([]target, len(deps))
	for i, d := range deps {
		out[i] = target{d: d, match: match}
	}
	return out
}

// check probes targets, at most the concurrency limit at once, and reports
// them in order. scheduled marks a background round.
func (h *HealthChecker) check(ctx context.Context, targets []target, scheduled bool) (HealthReport, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return emptyReport(), ErrClosed
	}
	results := make([]HealthEndpoint, len(targets))
	var g errgroup.Group
	g.SetLimit(h.o.concurrency)
	for i, t := range targets {
		method, why := h.method(t, scheduled)
		if method == ProbeNone {
			if t.d.st.probeDown.Load() {
				h.release(t.d)
			}
			results[i] = t.d.endpoint(t.match)
			results[i].skipped, results[i].Error = true, why
			continue
		}
		if ctx.Err() != nil {
			results[i] = canceled(t, method, ctx.Err())
			continue
		}
		g.Go(func() error {
			results[i] = h.probeShared(ctx, t, method)
			return nil
		})
	}
	g.Wait()
	rep := emptyReport()
	for _, e := range results {
		rep.add(e)
	}
	if scheduled {
		h.prune()
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	h.mu.Lock()
	closed = h.closed
	h.mu.Unlock()
	if closed {
		return rep, ErrClosed
	}
	return rep, nil
}

// method chooses how to probe t, or ProbeNone and why not.
func (h *HealthChecker) method(t target, scheduled bool) (ProbeMethod, string) {
	d := t.d
	if h.o.skip != nil && h.o.skip(&d.Deployment) {
		return ProbeNone, "health check disabled for this deployment"
	}
	if scheduled {
		if off, _ := d.Info[InfoDisableBackgroundHealthCheck].(bool); off {
			return ProbeNone, "background health check disabled for this deployment"
		}
	}
	_, canList := d.Provider.(provider.Prober)
	if !h.o.chat && canList {
		return ProbeListModels, ""
	}
	if d.wildUp && t.match == "" {
		if canList {
			return ProbeListModels, ""
		}
		return ProbeNone, "wildcard deployment: no model to probe (check a name it serves)"
	}
	if d.Mode == "embedding" {
		return ProbeEmbedding, ""
	}
	return ProbeChat, ""
}
