// Package access decides which model names a key may use, lists exactly
// those names, keeps budgets, and counts usage.
//
// It knows nothing of routing: names are plain strings, and the package
// imports nothing else of this module. The one rule it exists for is that
// authorization is decided on the name the client asked for, never on what
// that name resolves to. (LiteLLM checked the resolved name, so a key
// granted only an alias was refused the alias it had just been shown.)
//
// # Model
//
// Principals are keys, teams and organizations. A Key belongs to at most
// one Team, a Team to at most one Organization. Each carries a grant list
// (Models and AccessGroups) and an optional budget. An AccessGroup is a
// named set of model names; granting the group grants its members, and
// changing its members changes every holder's rights at once.
//
// A grant list entry is
//
//   - an exact name ("alias-1", "model-group-1", "openai/gpt-4o");
//   - "*", every name;
//   - a prefix wildcard ending in '*' ("openai/*", "gpt-4*"): every name
//     with that prefix;
//   - the name of an access group, which grants the group's members as
//     well as the literal name. (Entries of AccessGroups must name an
//     existing group and grant its members only.)
//
// A key may use a name when it is one of the key's own aliases (Key.Aliases,
// which the key may always call), or when every level on its path allows
// it: the key's own grants, its team's, and the team's organization's. A
// level whose lists are both empty does not restrict, so an empty key list
// means "what the team allows", and everything when there is no team (as
// LiteLLM does); a key never reaches beyond its team. Emptiness is about
// the lists as written: a list naming an access group with no members
// grants nothing, it does not fall back to everything.
//
// By default a grant on a group does not grant the aliases pointing at it,
// and a grant on an alias does not grant its target.
// WithTargetGrantsImplyAliases makes a grant on a target extend to the
// aliases resolving to it; the Checker learns what a name resolves to from
// the router, which hands it each request's resolution (Allow).
//
// # The request path
//
// The Checker is a router.Authorizer and a router.CallerAliases, without
// importing the router (the methods take plain strings and the request's
// context). The gateway puts the caller's key into the request's context
// and hands the Checker to the router, which resolves the name once (the
// key's own alias first, then the registry's aliases) and asks Allow, with
// the name as requested and its whole resolution, before any upstream call:
//
//	ctx = access.NewContext(ctx, keyID)
//	resp, route, err := rt.Complete(ctx, req, router.WithAuthorizer(checker))
//	// err: ErrDenied → 403, ErrBudgetExceeded → 429, ErrUnknownKey → 401
//	usage.Record(access.UsageRecord{Requested: route.Requested, …}); checker.RecordSpend(keyID, cost)
//
// Authorize(keyID, name) is the same decision for a name alone, for
// callers that do not route (it consults no resolution, so implied target
// grants do not apply). Visible(keyID, names) filters a model listing with
// Authorize's decision, so what a key is shown is exactly what it may call
// (with WithTargetGrantsImplyAliases, list through Allow with each name's
// resolution instead).
// WhoCanUse answers the reverse question (teams_with_access), and
// GroupsContaining lists the access groups of a name.
//
// # Wiring the alias registry
//
// The package cannot import the alias registry, so the gateway connects the
// two with the registry's Subscribe hook: RemoveName prunes a deleted alias
// from every access group (package router/gateway does this):
//
//	reg.Subscribe(func(e alias.Event) {
//		if e.Kind == alias.EventDeleted {
//			_ = checker.RemoveName(ctx, e.Old.Name)
//		}
//	})
//
// # Budgets
//
// RecordSpend adds a request's cost to its key, the key's team and the
// team's organization (lock-free atomic adds). Once any of them has spent
// its MaxBudget (0 means no limit), Authorize and CheckKey refuse the key
// with a *BudgetError matching ErrBudgetExceeded, before any upstream call
// is made. A principal with a BudgetDuration (LiteLLM's budget_duration:
// 1d, 7d, 30d) has a budget per period: periods are counted from its
// Created time, and spend restarts from 0 when one ends (BudgetResetAt
// says when). The reset is lazy, decided from the clock when spend is
// recorded or read, and the stored spend carries its period's end, so a
// restart keeps the spend of the current period and drops an ended one.
// Spend is persisted by Flush and Close (and, with a Store that is not a
// RowStore, by every write); what was recorded since the last of those is
// lost by a crash.
//
// # Rate limits
//
// A key may have an rpm_limit and a tpm_limit (Key.RPMLimit, TPMLimit,
// LiteLLM's). Allow, the router's admission of a request, counts the
// request once the decision allows it, through the Checker's Limiter, and
// refuses it with a *RateLimitError matching ErrRateLimited when it does
// not fit; Authorize, Permits, CheckKey and Visible count nothing. Tokens
// are counted after the answer (RecordTokens), so a tpm_limit holds new
// requests once reached and may be passed by the answers in flight. The
// counts are a sliding window of one minute (see Limiter); the default
// MemoryLimiter counts in this process, redisstate.KeyLimits across the
// replicas of a fleet. A key without limits costs nothing more.
//
// # Usage
//
// Usage counts calls, errors, tokens, cost and latency per requested name,
// group, deployment, key and team, fed from the router's observer events.
// Record is a lookup in a sync.Map and a few atomic adds per dimension, no
// lock. Snapshot, Lookup and ByName read the counters (usage_count,
// usage_stats{total_calls, total_cost_usd, avg_tokens_per_call}); Save
// persists them through a UsageStore so that they survive a restart (as
// increments through a UsageRowStore, and with one row per request through
// a UsageLogStore), and WithUsageBatch makes SaveDue
// say when enough records are waiting. Whoever calls Save decides how far
// behind the store may be: the gateway saves every second or 1000
// requests, and a crash loses what was recorded since.
//
// # Persistence
//
// A Checker loads its State from a Store in New and persists every write
// before it becomes visible: if the store fails, the write returns the
// error and nothing changes. A Store that implements RowStore (the SQL
// stores of the package sqlstore) receives only the rows a write changes,
// and spend as deltas; any other Store receives the whole State. MemoryStore
// is the default; FileStore keeps one JSON file written crash-safely
// (temporary file in the same directory, fsync, rename, fsync of the
// directory). A missing file is an empty state; a corrupt one, or one that
// does not validate, makes New fail rather than start empty. Usage
// persists the same way through a UsageStore, as deltas through a
// UsageRowStore.
//
// # Lifecycle and concurrency
//
// New → use → Close. The Checker starts no goroutines. All methods are safe
// for concurrent use. Reads (Authorize, Allow, CheckKey, Visible, CallerAlias,
// RecordSpend, WhoCanUse, Get…, List…) load an immutable snapshot through
// an atomic pointer and take no lock; Authorize allocates nothing when it
// allows. Writes are serialized, validated, persisted, then published as a
// new snapshot, in which each principal's grants are precompiled into
// maps; a reader sees the state before a write or after it, never a mix.
// Close flushes spend and refuses later writes with ErrClosed; reads keep
// working.
//
// # Zero values
//
// The zero Checker has no principals (every key is unknown) and persists
// nothing; writes to it work in memory. Use New for a store and options.
// The zero Usage is ready to use and persists nothing. In Key, Team and
// Organization, zero optional fields mean no restriction: no team, no
// organization, no budget, no expiry, not blocked, and empty grant lists
// defer to the level above.
package access
