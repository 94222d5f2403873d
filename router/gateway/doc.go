// Package gateway is modelroute's whole HTTP gateway as a library: a Go
// service gets the OpenAI API for its clients, LiteLLM's operator and admin
// API, keys and access groups, usage accounting and an orderly shutdown from
// one LiteLLM config in a few lines:
//
//	cfg, err := litellm.Load("config.yaml")
//	…
//	g, err := gateway.New(ctx, cfg, gateway.WithStateDir("./state"))
//	…
//	defer g.Close()
//	srv := gateway.NewServer(g.Handler(), logger)
//	… srv.Serve(listener) …
//
// examples/gateway is exactly that, plus flags and a demo upstream.
//
// # Model
//
// New composes the packages a real service needs and keeps them consistent
// with each other:
//
//   - an alias.Registry for the friendly names, holding the config's
//     model_group_alias entries (SyncAliases: created or updated at start,
//     aliases made through the admin API left alone);
//   - an access.Checker for keys, teams, organizations and access groups,
//     and an access.Usage counting every request;
//   - a router.Router over the config's deployments and its
//     router.HealthChecker (started when the config asks for background
//     health checks); each deployment's provider is built by Providers
//     (unless WithProviders says otherwise): anthropic/, bedrock/ and
//     vertex_ai/ speak their vendors' own APIs (provider/anthropic,
//     provider/bedrock with the AWS credentials chain, provider/google with
//     Application Default Credentials), every other prefix its
//     OpenAI-compatible endpoint. This package therefore imports the AWS
//     SDK and golang.org/x/oauth2 (the router core and router/litellm
//     import neither);
//   - the router/httpapi handler over all of them, with the config's master
//     key (or WithMasterKey) in front of the admin API, and GET /metrics in
//     Prometheus' text format (router/metrics; open, as LiteLLM's is,
//     unless litellm_settings.require_auth_for_metrics_endpoint asks for a
//     valid key).
//
// Deleting an alias removes it from every access group that lists it, so a
// later alias of the same name is not granted by accident (with
// WithDatabase, in the alias delete's own transaction).
//
// # State
//
// By default everything lives in memory and is gone when the process ends.
// WithDatabase keeps aliases, principals, spend and usage in an SQL
// database, one row each (package sqlstore: SQLite embedded, or PostgreSQL
// for several replicas): an admin write commits its own rows before it is
// acknowledged. WithStateDir alone keeps them in crash-safe JSON files
// under a directory (aliases.json, access.json, usage.json), each
// rewritten whole on every write; given with WithDatabase, those files are
// imported into the database once. WithAliasStore, WithAccessStore and
// WithUsageStore plug in any other store, one part at a time.
//
// Spend and usage counters are recorded in memory per request and
// persisted in batches: every WithUsageSaveInterval (1 s) or after
// WithUsageBatch requests (1000), whichever comes first, and on Close. A
// SIGKILL loses at most that much spend and usage, never an acknowledged
// admin write.
//
// With WithRedis, or the config's router_settings.redis_host/redis_port/
// redis_password or redis_url, the gateway is one replica of a fleet: the
// replicas share cooldowns, deployments' rpm/tpm limits and keys'
// rpm_limit/tpm_limit (redisstate.KeyLimits) through that Redis, and keep the alias registry and the keys, teams, organizations and
// access groups there (unless WithAliasStore or WithAccessStore say
// otherwise), each following the others' writes within milliseconds; spend
// is sent as it is recorded (access.WithSpendHook) so that budgets count
// every replica's spend within a round trip; usage counters are shared too, each replica adding the
// others' counts as they save them. See package redisstate, also for what
// a Redis outage does.
//
// # Lifecycle and concurrency
//
// New → Handler (mount or serve it) → Close. Close stops the parts in the
// reverse order of their construction: the usage saver (saving once more),
// the health checker, the alias subscription, the Router, the deployments'
// providers and their idle upstream connections, the Checker and the
// Registry. It is idempotent and safe to call concurrently; stop serving
// first (http.Server.Shutdown), so that no request meets a closed Router.
// When New fails, whatever it had built is closed again.
//
// All methods are safe for concurrent use. The accessors (Router, Registry,
// Access, Usage, Health) return the live parts, for a service that mounts
// its own endpoints or changes aliases and keys in Go rather than through
// the admin API; they belong to the Gateway, which closes them.
//
// # Zero value
//
// The zero Gateway is not usable; build one with New.
package gateway
