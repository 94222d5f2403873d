// Package router routes LLM requests by model name over groups of
// deployments: it picks a healthy deployment, calls it, retries, fails over
// and falls back, the way LiteLLM's Router does for Python.
//
// # Model
//
// A Deployment is one upstream model behind one provider.Provider. The
// deployments sharing a Group name form a model group; clients call the
// group's name, or an alias of it kept in an alias.Registry (which the Router
// vets: an alias can only point at a name some group serves and can never
// shadow a group). Wildcard groups ("openai/*", "*") serve provider/model
// names no exact group serves, most specific first.
//
// One request (Complete, Stream, Embed):
//
//  1. The requested name is resolved once, here and nowhere else: the
//     caller's own alias first (an Authorizer that implements
//     CallerAliases, such as access.Checker's key aliases), then the
//     Registry's aliases, to a group. With WithAuthorizer, the Authorizer
//     is handed the requested name and that whole resolution and decides
//     on the requested name; a refusal fails the request before any
//     upstream call. Route.Requested, events and errors always carry the
//     name the client sent, never what it resolved to.
//  2. The candidates are the group's deployments that are not cooling down,
//     unhealthy, at an rpm/tpm/parallel limit, missing the request's tags or
//     too small for its prompt; only the best order tier with candidates
//     counts. rpm and tpm count in a sliding window of one minute (the
//     previous Unix minute's count weighed by the part of it still in the
//     window, plus the current minute's; see SharedState), here and across
//     replicas alike.
//  3. The Strategy picks one (weighted random by default).
//  4. The provider is called with the deployment's upstream model and its
//     timeout; any error is classified (provider.Kind).
//  5. Retryable failures try another deployment at once, or back off
//     (jittered, exponential, honouring Retry-After, never past the context
//     deadline) before trying one that failed; then the fallbacks, which may
//     be aliases. One budget, Config.MaxAttempts, covers all upstream calls.
//  6. The answer comes back with its Route; total failure is one
//     *ExhaustedError listing the attempts.
//
// A Stream fails over only until its first chunk; after that a break is a
// *StreamError. Stream.RecvRaw returns chunks undecoded, for forwarding.
//
// Per deployment, the Router keeps a circuit: a 429 cools a deployment down
// for its Retry-After; more than AllowedFails counted failures in
// FailureWindow cool it for CooldownTime; a failure during a cooldown extends
// it; afterwards one probe request is let through (half-open) and, if it
// succeeds, traffic ramps back up over SlowStart. Bad requests, content
// policy and context-window errors do not count, nor does the caller's own
// cancellation. When every deployment of a target is cooling down, a request
// with no fallback waits for the first to recover, up to MaxCooldownWait in
// total and never past its deadline; a longer cooldown fails it at once with
// ErrCooldown and the time to wait. State is computed lazily from timestamps: no goroutine or
// timer runs per failure.
//
// # Catalog and health
//
// Catalog lists what clients may call: every group and every active,
// non-hidden alias (under its own name, with the deployments of the group
// it resolves to and whether each is in rotation), filtered through the
// same Authorizer a request would meet, so that a listing equals what is
// usable. Secrets are dropped from every deployment. The views are
// neutral: router/httpapi gives them the shapes of OpenAI's /v1/models and
// LiteLLM's /model/info, /model_group/info and /health.
//
// A HealthChecker (NewHealthChecker) probes each physical deployment once per
// round, keyed by deployment ID, however many groups and aliases reach it; a
// deployment that fails its probes is not a candidate until it passes again.
// Check, CheckName and CheckDeployment probe on demand.
//
// # Lifecycle
//
// New validates a Config (reporting every problem at once) and plugs the
// Router's target check into the Registry. Update swaps in a new Config
// atomically, keeping each deployment's state by ID. Close refuses further
// requests; the Router itself starts no goroutine. A HealthChecker runs one
// goroutine between Start and its own Close.
//
// # Concurrency
//
// A Router is safe for concurrent use. Requests read an immutable table
// published through an atomic pointer and per-deployment atomics, without
// locks; Update is serialized. A request sees one config throughout, the old
// or the new. Observer hooks are called outside any lock. Nothing is shared
// between Routers: the package has no mutable global state.
//
// # Zero values
//
// Every Config and Deployment field documents its zero value; the zero
// Router is not usable: call New.
package router
