package router

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// SharedState is what the Routers of several processes (replicas of one
// service behind a load balancer) share about their deployments, by
// deployment ID: cooldowns, and the request and token counts of deployments
// with rpm or tpm limits, so that a limit holds across the fleet rather
// than per replica. Set it with WithSharedState; without it (the default)
// each Router keeps all of its state in memory and shares nothing.
// Package redisstate implements it on Redis.
//
// Limits count in a sliding window of one minute, by the standard
// two-counter approximation over Unix minutes (minute = Unix seconds /
// 60, the same on every replica): with p the count of the previous minute,
// c the count of the current one and f the elapsed fraction of the current
// one, the window holds p×(1−f) + c. A deployment with an rpm of N admits
// a request while the window holds at most N−1, so N in any minute (give
// or take the approximation) across the fleet, with no burst of 2N
// around the turn of a minute as fixed windows allow. A single Router's
// own counters count the same way; package access counts keys' limits
// the same way too.
//
// The Router calls Admit on the request path, only for deployments with an
// rpm or tpm limit, once per attempt; the other methods must not block.
// When Admit fails (the shared store is unreachable) the Router admits by
// its own counters alone, logs a warning, and goes on: an outage of the
// shared store never fails a request the Router could serve alone.
type SharedState interface {
	// Admit counts one request against deployment id's limits at now,
	// in the sliding minute up to now, and reports whether it is within
	// them: with it, at most rpm requests (0: no rpm limit) and, counting
	// tokens more (the request's estimated prompt), at most tpm tokens
	// (0: no tpm limit). A refused request is not counted.
	Admit(ctx context.Context, id string, now time.Time, rpm, tpm, tokens int) (bool, error)

	// AddTokens adds the tokens an answered request of deployment id used
	// at now. It must not block (queue, and send in the background).
	AddTokens(id string, now time.Time, tokens int)

	// Cooldown tells every replica that deployment id sits out until
	// until. It must not block.
	Cooldown(id string, until time.Time)

	// WatchCooldowns calls fn with every cooldown in force or reported by
	// any replica (this one included), from now until cancel is called:
	// first the cooldowns already in force, then each new one. fn must
	// not block for long; it is never called after cancel returns.
	WatchCooldowns(fn func(id string, until time.Time)) (cancel func())
}

// WithSharedState shares cooldowns and rpm/tpm counts with the Routers of
// other processes through s (see SharedState). Default: none.
func WithSharedState(s SharedState) Option { return func(o *options) { o.shared = s } }

// sharedState is a Router's link to its SharedState.
type sharedState struct {
	s        SharedState
	cancel   func()
	degraded atomic.Bool // the last Admit failed; cleared by the next success
}

// startShared begins watching the shared cooldowns.
func (r *Router) startShared(s SharedState) {
	if s == nil {
		return
	}
	r.shared = &sharedState{s: s}
	r.shared.cancel = s.WatchCooldowns(r.adoptCooldown)
}

// adoptCooldown applies a cooldown some replica reported, unless the
// deployment already sits out at least as long.
func (r *Router) adoptCooldown(id string, until time.Time) {
	d := r.tab.Load().byID[id]
	if d == nil {
		return
	}
	now := time.Now().UnixNano()
	u := until.UnixNano()
	if u <= now || u <= d.st.cooldownUntil.Load() {
		return
	}
	d.st.adoptCooldown(now, u)
}

// admitShared asks the shared state whether a request may go to d, a
// deployment with an rpm or tpm limit that the Router's own counters
// already admitted. On failure it admits, warning once per outage.
func (r *Router) admitShared(ctx context.Context, d *dep, now int64, tokens int) bool {
	sh := r.shared
	ok, err := sh.s.Admit(ctx, d.ID, time.Unix(0, now), d.RPM, d.TPM, tokens)
	if err != nil {
		if ctx.Err() == nil && !sh.degraded.Swap(true) {
			r.log.LogAttrs(ctx, slog.LevelWarn, "router: shared state unavailable; limiting by this replica's counters alone",
				slog.String("deployment", d.ID), slog.Any("error", err))
		}
		return true
	}
	if sh.degraded.Swap(false) {
		r.log.LogAttrs(ctx, slog.LevelInfo, "router: shared state available again")
	}
	return ok
}

// shareCooldown reports a cooldown this Router started to the others.
func (r *Router) shareCooldown(d *dep, until int64) {
	if r.shared != nil {
		r.shared.s.Cooldown(d.ID, time.Unix(0, until))
	}
}

// shareTokens reports the tokens an answered request used, for
// deployments with a tpm limit. r.shared is not nil.
func (r *Router) shareTokens(d *dep, now int64, tokens int) {
	if d.TPM > 0 && tokens > 0 {
		r.shared.s.AddTokens(d.ID, time.Unix(0, now), tokens)
	}
}

// adoptCooldown puts the deployment out until until, as another replica
// did: the same as a cooldown started here, without counting it as one
// (its failures happened elsewhere).
func (s *state) adoptCooldown(now, until int64) {
	if _, moved := s.extendCooldown(until); moved {
		s.markCooling(now)
	}
}
