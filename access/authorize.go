package access

import (
	"context"
	"slices"
)

// verdict is the outcome of the one decision function, decide. It carries
// no error so that Visible can apply it to many names without allocating.
type verdict uint8

const (
	allow          verdict = iota
	denyBlocked            // the key or its team is blocked
	denyExpired            // the key has expired
	denyName               // the name is not granted
	denyBudget             // a budget on the key's path is spent
	denyUnknownKey         // no such key
)

// decide is the single authorization decision. Authorize, Visible and
// CheckKey are all built on it, so what is listed is exactly what may be
// used. With byName false it decides on the key alone (CheckKey). target
// is what name resolves to, "" when unknown; it is consulted only with
// WithTargetGrantsImplyAliases.
func (c *Checker) decide(s *snapshot, k *keyEntry, name, target string, byName bool) verdict {
	if k == nil {
		return denyUnknownKey
	}
	if k.blockedBy != "" {
		return denyBlocked
	}
	if k.expires != 0 && c.clock().UnixNano() >= k.expires {
		return denyExpired
	}
	if byName && !s.granted(k, name, target) {
		return denyName
	}
	if k.overBudget(c.budgetNow(k)) != nil {
		return denyBudget
	}
	return allow
}

// budgetNow returns the time, in unix nanoseconds, at which k's budgets
// are read: the clock when a budget on its path has a period, else 0
// without reading the clock.
func (c *Checker) budgetNow(k *keyEntry) int64 {
	if k == nil || !k.periodic {
		return 0
	}
	return c.clock().UnixNano()
}

// granted reports whether name is granted to k: it is one of the key's own
// aliases, or every level on the key's path (its own grants, its team's,
// the team's organization's; levels with empty lists are left out) allows
// it. The decision is on name as requested; a registry alias's target is
// consulted only with WithTargetGrantsImplyAliases.
func (s *snapshot) granted(k *keyEntry, name, target string) bool {
	if _, ok := k.aliases[name]; ok {
		return true
	}
	return s.pathAllows(k.eff, k.levels, name, target)
}

// pathAllows applies the levels of a path. Without the target option it
// reads their precomputed intersection eff: one map lookup however many
// levels. With it, a level may allow a name through its target, which
// does not distribute over the intersection, so the levels are applied one
// by one.
func (s *snapshot) pathAllows(eff *grantSet, levels []*grantSet, name, target string) bool {
	if !s.implyTargets || target == "" || target == name {
		return eff == nil || eff.allows(name)
	}
	for _, g := range levels {
		if !levelAllows(g, name, target) {
			return false
		}
	}
	return true
}

// err turns a verdict into the error Authorize and CheckKey return.
// now is the time budgets are read at (see Checker.budgetNow).
func (v verdict) err(k *keyEntry, name string, now int64) error {
	switch v {
	case allow:
		return nil
	case denyUnknownKey:
		return ErrUnknownKey
	case denyBlocked:
		return errorf(k.blockedBy, ErrBlocked, "")
	case denyExpired:
		return errorf(k.label, ErrExpired, "")
	case denyName:
		return &DeniedError{Principal: k.label, Name: name}
	case denyBudget:
		if b := k.overBudget(now); b != nil {
			return b.err(now)
		}
		// A period may have ended since the decision.
		return &BudgetError{Principal: k.label}
	}
	panic("access: unknown verdict")
}

// Authorize decides whether the key keyID may use requested, the name
// exactly as the client asked for it. It never resolves the name: a key
// granted an alias may use the alias whatever it resolves to, and a key
// granted a group is not thereby granted the aliases of that group (unless
// WithTargetGrantsImplyAliases is on).
//
// The key's own aliases are always allowed. Otherwise requested must be
// allowed by the key's grants, its team's and its organization's (each
// level with an empty list allows everything). Then the key, its team and
// its organization must be under budget.
//
// Errors: ErrUnknownKey; ErrBlocked; ErrExpired; a *DeniedError matching
// ErrDenied, naming requested and the key and nothing else; a *BudgetError
// matching ErrBudgetExceeded. An allowed request costs a few map lookups
// and atomic loads, takes no lock and allocates nothing.
func (c *Checker) Authorize(keyID, requested string) error {
	s := c.snap()
	k := s.keys[keyID]
	if v := c.decide(s, k, requested, "", true); v != allow {
		return v.err(k, requested, c.budgetNow(k))
	}
	return nil
}

// Allow is Authorize for a request the router has resolved, and its
// admission: the Checker is a router.Authorizer (WithAuthorizer). The key
// is the one ctx carries (NewContext); a context without one is refused
// with ErrUnknownKey. The decision is Permits'; when it allows and the key
// has a rate limit (Key.RPMLimit, Key.TPMLimit), the request is counted by
// the Checker's Limiter, or refused with a *RateLimitError matching
// ErrRateLimited when it does not fit. Allocation-free when it allows.
//
// Allow counts a request: to decide without counting (a listing, say),
// call Permits.
func (c *Checker) Allow(ctx context.Context, requested string, resolved []string) error {
	keyID, k, err := c.permits(ctx, requested, resolved)
	if err != nil || (k.def.RPMLimit == 0 && k.def.TPMLimit == 0) || c.limiter == nil {
		return err
	}
	a, lerr := c.limiter.Admit(ctx, keyID, c.clock(), k.def.RPMLimit, k.def.TPMLimit)
	switch {
	case lerr != nil || a == Admitted:
		return nil
	case a == OverRPM:
		return &RateLimitError{Principal: k.label, Limit: "rpm_limit", Max: k.def.RPMLimit}
	default:
		return &RateLimitError{Principal: k.label, Limit: "tpm_limit", Max: k.def.TPMLimit}
	}
}

// Permits is the decision of Allow without the admission: Authorize on
// requested for the key ctx carries. resolved, the names requested leads
// to with the final target last, is consulted only with
// WithTargetGrantsImplyAliases, to extend a grant on that target to
// requested. Errors name requested and never a name of resolved.
// Allocation-free when it allows.
func (c *Checker) Permits(ctx context.Context, requested string, resolved []string) error {
	_, _, err := c.permits(ctx, requested, resolved)
	return err
}

func (c *Checker) permits(ctx context.Context, requested string, resolved []string) (string, *keyEntry, error) {
	keyID, ok := KeyFromContext(ctx)
	if !ok {
		return "", nil, ErrUnknownKey
	}
	var target string
	if len(resolved) > 0 {
		target = resolved[len(resolved)-1]
	}
	s := c.snap()
	k := s.keys[keyID]
	if v := c.decide(s, k, requested, target, true); v != allow {
		return "", nil, v.err(k, requested, c.budgetNow(k))
	}
	return keyID, k, nil
}

// RecordTokens counts the tokens an answered request of keyID used
// against the key's tpm_limit (Key.TPMLimit), as RecordSpend counts its
// cost; a key without one, or unknown, is left alone. It does not block.
func (c *Checker) RecordTokens(keyID string, tokens int64) {
	if tokens <= 0 || c.limiter == nil {
		return
	}
	if k := c.snap().keys[keyID]; k != nil && k.def.TPMLimit > 0 {
		c.limiter.AddTokens(keyID, c.clock(), tokens)
	}
}

// CallerAlias returns the target of name when it is one of the own
// aliases (Key.Aliases) of the key ctx carries (NewContext): the Checker
// is a router.CallerAliases, so the router resolves key aliases as the
// first step of a request's one resolution. Key aliases are one hop; the
// target is resolved by the registry as usual. Lock-free and
// allocation-free.
func (c *Checker) CallerAlias(ctx context.Context, name string) (target string, ok bool) {
	keyID, ok := KeyFromContext(ctx)
	if !ok {
		return "", false
	}
	k := c.snap().keys[keyID]
	if k == nil {
		return "", false
	}
	target, ok = k.aliases[name]
	return target, ok
}

// CheckKey reports whether the key could be used at all: ErrUnknownKey,
// ErrBlocked, ErrExpired or ErrBudgetExceeded, else nil. The gateway calls
// it for requests that name no model (GET /v1/models), so that a key over
// budget gets the budget error rather than an empty list.
func (c *Checker) CheckKey(keyID string) error {
	s := c.snap()
	k := s.keys[keyID]
	if v := c.decide(s, k, "", "", false); v != allow {
		return v.err(k, "", c.budgetNow(k))
	}
	return nil
}

// Visible returns the names the key may use: the elements of names that
// Authorize allows, in their order, followed by the key's own aliases that
// are not among names, sorted. It calls the same decision as Authorize for
// every name, so listing equals usable by construction. An unknown,
// blocked, expired or over-budget key sees nothing (nil).
//
// names should be the names that exist and may be listed (the groups and
// the active, non-hidden aliases); Visible only filters them.
func (c *Checker) Visible(keyID string, names []string) []string {
	s := c.snap()
	k := s.keys[keyID]
	if c.decide(s, k, "", "", false) != allow {
		return nil
	}
	var out []string
	for _, n := range names {
		if c.decide(s, k, n, "", true) == allow {
			out = append(out, n)
		}
	}
	if len(k.aliases) == 0 {
		return out
	}
	listed := make(map[string]struct{}, len(names))
	for _, n := range names {
		listed[n] = struct{}{}
	}
	var own []string
	for a := range k.aliases {
		if _, ok := listed[a]; ok {
			continue
		}
		if c.decide(s, k, a, "", true) == allow {
			own = append(own, a)
		}
	}
	slices.Sort(own)
	return append(out, own...)
}

// WhoCanUse returns, sorted, the IDs of the teams and of the keys whose
// grants allow name (the admin view's teams_with_access). It decides on
// grants only, with the same rules as Authorize: blocked, expired or
// over-budget principals are still listed, and a key's own alias of the
// same name does not count (it is the key's private name, not this one).
// A team or key with no restricting list anywhere on its path is granted
// everything and is listed for every name. It reads every principal: an
// admin query, not a hot path.
func (c *Checker) WhoCanUse(name string) (teams, keys []string) {
	s := c.snap()
	for id, t := range s.teams {
		if s.pathAllows(t.eff, t.levels, name, "") {
			teams = append(teams, id)
		}
	}
	for id, k := range s.keys {
		if s.pathAllows(k.eff, k.levels, name, "") {
			keys = append(keys, id)
		}
	}
	slices.Sort(teams)
	slices.Sort(keys)
	return teams, keys
}
