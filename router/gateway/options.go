package gateway

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/litellm"
	"github.com/modelroute/modelroute/router/sqlstore"
)

// DefaultUsageSaveInterval is how often usage counters are saved and spend
// flushed unless WithUsageSaveInterval says otherwise. The counters
// themselves are live: the admin API shows them at once.
const DefaultUsageSaveInterval = time.Second

// DefaultUsageBatch is how many finished requests make the gateway save
// usage and flush spend before the interval is up, unless WithUsageBatch
// says otherwise.
const DefaultUsageBatch = 1000

// Option configures New.
type Option func(*options)

type options struct {
	log          *slog.Logger
	stateDir     string
	aliasStore   alias.Store
	accessStore  access.Store
	usageStore   access.UsageStore
	routerOpts   []router.Option
	adjust       func(*router.Config)
	providers    litellm.ProviderFunc
	client       *http.Client
	master       string
	hasMaster    bool
	saveInterval time.Duration
	redisURL     string
	saveBatch    int
	db           *sqlstore.DB
}

// WithLogger logs through l: the Router's events, failed usage saves,
// failed access-group pruning and the http.Server's own errors. The
// default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithStateDir names the directory of the gateway's state. Without
// WithDatabase, the state is kept in crash-safe JSON files there:
// aliases.json (alias.FileStore), access.json (access.FileStore) and
// usage.json (access.UsageFileStore), each rewritten whole on every write.
// With WithDatabase, the state is in the database, and JSON files found in
// dir are imported into it once. New creates dir (mode 0700) when it is
// missing and needs it. A store given with WithAliasStore, WithAccessStore
// or WithUsageStore takes precedence over its file. Without any of these,
// state is kept in memory only.
func WithStateDir(dir string) Option { return func(o *options) { o.stateDir = dir } }

// WithDatabase keeps aliases, principals, spend and usage in db (see
// package sqlstore: SQLite through sqlstore/sqlite, PostgreSQL through
// sqlstore/postgres), one row each. A store given with WithAliasStore,
// WithAccessStore or WithUsageStore takes precedence for its part, as
// does WithRedis for the aliases. With
// WithStateDir as well, the JSON files a file-based gateway left there
// (aliases.json, access.json, usage.json) are imported into db once: a
// file whose kind db holds nothing of is copied in, logged, and renamed to
// NAME.imported; one whose kind db already holds is left alone, with a
// warning. The Gateway does not close db.
func WithDatabase(db *sqlstore.DB) Option { return func(o *options) { o.db = db } }

// WithAliasStore persists the alias Registry through s.
func WithAliasStore(s alias.Store) Option { return func(o *options) { o.aliasStore = s } }

// WithAccessStore persists keys, teams, organizations, access groups and
// spend through s.
func WithAccessStore(s access.Store) Option { return func(o *options) { o.accessStore = s } }

// WithUsageStore persists the usage counters through s.
func WithUsageStore(s access.UsageStore) Option { return func(o *options) { o.usageStore = s } }

// WithRouterOptions passes opts to router.New, after the gateway's own
// (the logger and the metrics observer), so they may override it: a
// router.WithObserver among them replaces the metrics observer, and
// /metrics then counts no requests.
func WithRouterOptions(opts ...router.Option) Option {
	return func(o *options) { o.routerOpts = append(o.routerOpts, opts...) }
}

// WithAdjustConfig calls fn on the router.Config converted from the LiteLLM
// config, before router.New: to change what the LiteLLM format cannot
// express, or to wrap the deployments' providers.
func WithAdjustConfig(fn func(*router.Config)) Option { return func(o *options) { o.adjust = fn } }

// WithProviders makes the deployments' providers with fn instead of
// Providers over the shared upstream client (anthropic/ and vertex_ai/
// natively, the others OpenAI-compatible). A provider that implements
// io.Closer is closed by Close.
func WithProviders(fn litellm.ProviderFunc) Option { return func(o *options) { o.providers = fn } }

// WithUpstreamClient sets the HTTP client every deployment's provider
// shares, so that there is one connection pool per upstream host. The
// default is provider.NewHTTPClient(). Close closes its idle connections.
func WithUpstreamClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithMasterKey sets the key that may do everything, the admin API
// included, in place of the config's general_settings.master_key. An empty
// key means none: the admin API then refuses everyone.
func WithMasterKey(key string) Option {
	return func(o *options) { o.master, o.hasMaster = key, true }
}

// WithUsageSaveInterval saves the usage counters and flushes spend every d
// (default DefaultUsageSaveInterval) and once more on Close.
func WithUsageSaveInterval(d time.Duration) Option { return func(o *options) { o.saveInterval = d } }

// WithRedis makes the gateway one replica of a fleet sharing the Redis at
// url ("redis://[:password@]host:port[/db]"), in place of the config's
// router_settings.redis_host/redis_port/redis_password or redis_url:
// cooldowns, deployments' rpm/tpm limits, the alias registry, the keys,
// teams, organizations and access groups, and the usage counters (kept in
// Redis instead of aliases.json, access.json and usage.json, unless
// WithAliasStore, WithAccessStore or WithUsageStore say otherwise) are
// shared; a change on one replica is in force on every other within a
// second, spend is sent as it is recorded so that budgets count every
// replica's spend within a round trip, and usage counts every usage save
// interval. Without it and without
// those settings there is no Redis. See package redisstate for what an
// outage does.
func WithRedis(url string) Option { return func(o *options) { o.redisURL = url } }

// WithUsageBatch also saves usage and flushes spend as soon as n requests
// have finished since the last save (default DefaultUsageBatch), so that
// the stores are at most the save interval or n requests behind.
func WithUsageBatch(n int) Option { return func(o *options) { o.saveBatch = n } }
