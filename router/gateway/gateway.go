package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/httpapi"
	"github.com/modelroute/modelroute/router/litellm"
	"github.com/modelroute/modelroute/router/metrics"
	"github.com/modelroute/modelroute/router/redisstate"
)

// Gateway is modelroute's parts wired into one service over a LiteLLM
// config. Build it with New; Close releases it.
type Gateway struct {
	reg     *alias.Registry
	ac      *access.Checker
	usage   *access.Usage
	rt      *router.Router
	health  *router.HealthChecker
	cfg     router.Config
	metrics *prometheus.Registry
	redis   *redisstate.Client // nil: no Redis
	handler http.Handler
	log     *slog.Logger

	closeOnce sync.Once
	stop      []func() // in construction order; Close runs them backwards
}

// New builds the gateway cfg describes. ctx bounds loading the stores and
// syncing the config's aliases; it is not kept. Configuration errors (an
// alias that cannot be synced, a deployment the router refuses) are
// reported here, naming cfg.File. On error, whatever was built is closed
// again.
func New(ctx context.Context, cfg *litellm.Config, opts ...Option) (_ *Gateway, err error) {
	if cfg == nil {
		return nil, errors.New("gateway: no config")
	}
	o := options{saveInterval: DefaultUsageSaveInterval, saveBatch: DefaultUsageBatch}
	for _, opt := range opts {
		opt(&o)
	}
	if o.saveInterval <= 0 {
		return nil, fmt.Errorf("gateway: usage save interval %v: must be positive", o.saveInterval)
	}
	if o.saveBatch <= 0 {
		return nil, fmt.Errorf("gateway: usage batch %d: must be positive", o.saveBatch)
	}
	g := &Gateway{log: o.log}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	if err := g.connectRedis(cfg.Router.Redis, &o); err != nil {
		return nil, err
	}
	if o.db != nil {
		if err := o.databaseStores(ctx, g.log); err != nil {
			return nil, err
		}
	} else if err := o.fileStores(); err != nil {
		return nil, err
	}

	var aopts []alias.Option
	if o.aliasStore != nil {
		aopts = append(aopts, alias.WithStore(o.aliasStore))
	}
	if g.reg, err = alias.New(ctx, aopts...); err != nil {
		return nil, err
	}
	g.onClose(func() { g.reg.Close() })
	if as, ok := o.aliasStore.(*redisstate.AliasStore); ok {
		g.onClose(as.FollowAliases(g.reg))
	}

	var copts []access.Option
	if o.accessStore != nil {
		copts = append(copts, access.WithStore(o.accessStore))
	}
	if g.redis != nil {
		copts = append(copts, access.WithLimiter(g.redis.KeyLimits())) // keys' rpm/tpm limits hold across the fleet
	}
	// In a fleet, spend is flushed as soon as it is recorded, so that the
	// other replicas' budgets count it within a round trip.
	spent := make(chan struct{}, 1)
	if _, ok := o.accessStore.(*redisstate.AccessStore); ok {
		copts = append(copts, access.WithSpendHook(func() {
			select {
			case spent <- struct{}{}:
			default:
			}
		}))
	}
	if g.ac, err = access.New(ctx, copts...); err != nil {
		return nil, err
	}
	g.onClose(func() { g.ac.Close() })
	if as, ok := o.accessStore.(*redisstate.AccessStore); ok {
		g.onClose(as.FollowAccess(g.ac))
		g.flushSpend(spent, SharedSpendFlushInterval)
	}

	uopts := []access.UsageOption{access.WithUsageBatch(o.saveBatch)}
	if o.usageStore != nil {
		uopts = append(uopts, access.WithUsageStore(o.usageStore))
	}
	if g.usage, err = access.NewUsage(ctx, uopts...); err != nil {
		return nil, err
	}
	if us, ok := o.usageStore.(*redisstate.UsageStore); ok {
		g.onClose(us.FollowUsage(g.usage))
	}

	client := o.client
	if client == nil {
		client = provider.NewHTTPClient()
	}
	g.onClose(client.CloseIdleConnections)
	newProvider := o.providers
	if newProvider == nil {
		newProvider = Providers(client)
	}
	if g.cfg, err = cfg.RouterConfig(newProvider); err != nil {
		return nil, err
	}
	// The providers own their upstream connection pools: close them after
	// the Router that calls them.
	g.onClose(func() {
		for _, d := range g.cfg.Deployments {
			if c, ok := d.Provider.(io.Closer); ok {
				c.Close()
			}
		}
	})
	if o.adjust != nil {
		o.adjust(&g.cfg)
	}
	// Requested names are metric labels only when they are groups or
	// aliases (at most metrics.DefaultMaxNames of them).
	col := metrics.New(metrics.WithKnownNames(g.knownName))
	ropts := []router.Option{router.WithLogger(g.log), router.WithObserver(col)}
	if g.redis != nil {
		ropts = append(ropts, router.WithSharedState(g.redis.Routing()))
	}
	ropts = append(ropts, o.routerOpts...)
	if g.rt, err = router.New(g.reg, g.cfg, ropts...); err != nil {
		return nil, fmt.Errorf("gateway: %s: %w", cfg.File, err)
	}
	g.onClose(func() { g.rt.Close() })
	g.metrics = prometheus.NewRegistry()
	g.metrics.MustRegister(col, metrics.NewStateCollector(g.rt),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := SyncAliases(ctx, g.reg, cfg.Aliases); err != nil {
		return nil, fmt.Errorf("gateway: %s: model_group_alias: %w", cfg.File, err)
	}
	g.onClose(g.reg.Subscribe(g.pruneDeleted))

	var hopts []router.HealthOption
	if cfg.General.HealthCheckInterval > 0 {
		hopts = append(hopts, router.WithHealthInterval(cfg.General.HealthCheckInterval))
	}
	g.health = g.rt.NewHealthChecker(hopts...)
	if cfg.General.BackgroundHealthChecks {
		g.health.Start()
	}
	g.onClose(func() { g.health.Close() })

	g.saveUsage(o.saveInterval)

	master := cfg.General.MasterKey
	if o.hasMaster {
		master = o.master
	}
	h := httpapi.New(g.rt, g.reg,
		httpapi.WithAccess(g.ac), httpapi.WithUsage(g.usage), httpapi.WithHealthChecker(g.health),
		httpapi.WithMasterKey(master), httpapi.WithLogger(g.log))
	mux := h.Mux()
	// Like LiteLLM's, /metrics is open unless the config sets
	// litellm_settings.require_auth_for_metrics_endpoint; then any valid
	// key (virtual or master) may read it.
	var mh http.Handler = promhttp.HandlerFor(g.metrics, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)})
	if cfg.LiteLLM.RequireAuthForMetrics {
		mh = h.Authenticate(mh)
	}
	mux.Handle("GET /metrics", mh)
	g.handler = mux
	return g, nil
}

// connectRedis connects to the Redis that WithRedis or the config's
// router_settings name, if any: the replicas then share cooldowns, rpm/tpm
// limits and the alias registry through it (package redisstate).
func (g *Gateway) connectRedis(rc litellm.Redis, o *options) error {
	var err error
	ropts := []redisstate.Option{redisstate.WithLogger(g.log)}
	switch {
	case o.redisURL != "":
		g.redis, err = redisstate.NewURL(o.redisURL, ropts...)
	case rc.URL != "":
		g.redis, err = redisstate.NewURL(rc.URL, ropts...)
	case rc.Host != "":
		port := rc.Port
		if port == 0 {
			port = 6379
		}
		g.redis, err = redisstate.New(&redis.Options{Addr: net.JoinHostPort(rc.Host, strconv.Itoa(port)), Password: rc.Password}, ropts...)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.onClose(func() { g.redis.Close() })
	if o.aliasStore == nil {
		o.aliasStore = g.redis.AliasStore()
	}
	if o.accessStore == nil {
		o.accessStore = g.redis.AccessStore()
	}
	if o.usageStore == nil {
		o.usageStore = g.redis.UsageStore()
	}
	return nil
}

// SharedSpendFlushInterval is how often a replica of a fleet retries
// sending the spend it recorded to Redis when sending it as it was recorded
// failed.
const SharedSpendFlushInterval = 100 * time.Millisecond

// flushSpend flushes the Checker's spend whenever spent signals, and every
// interval, until Close.
func (g *Gateway) flushSpend(spent <-chan struct{}, interval time.Duration) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-spent:
			case <-t.C:
			}
			err := g.ac.Flush(ctx)
			switch {
			case err != nil && !failing && ctx.Err() == nil:
				g.log.Warn("gateway: flush spend; kept for the next flush", "err", err)
				failing = true
			case err == nil:
				failing = false
			}
		}
	}()
	g.onClose(func() { stop(); <-done })
}

// knownName reports whether name is a group the Router serves or an alias
// in the Registry: the requested names metrics label by.
func (g *Gateway) knownName(name string) bool {
	if g.rt.Known(name) {
		return true
	}
	_, err := g.reg.Get(name)
	return err == nil
}

// fileStores fills the stores not given with files under the state
// directory, if there is one.
func (o *options) fileStores() error {
	if o.stateDir == "" {
		return nil
	}
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return fmt.Errorf("gateway: state directory: %w", err)
	}
	if o.aliasStore == nil {
		o.aliasStore = alias.NewFileStore(filepath.Join(o.stateDir, "aliases.json"))
	}
	if o.accessStore == nil {
		o.accessStore = access.NewFileStore(filepath.Join(o.stateDir, "access.json"))
	}
	if o.usageStore == nil {
		o.usageStore = access.NewUsageFileStore(filepath.Join(o.stateDir, "usage.json"))
	}
	return nil
}

func (g *Gateway) onClose(f func()) { g.stop = append(g.stop, f) }

// pruneDeleted removes a deleted alias from every access group, so that a
// later alias of the same name is not granted by accident.
func (g *Gateway) pruneDeleted(e alias.Event) {
	if e.Kind != alias.EventDeleted {
		return
	}
	if err := g.ac.RemoveName(context.Background(), e.Old.Name); err != nil {
		g.log.Error("gateway: prune deleted alias from access groups", "alias", e.Old.Name, "err", err)
	}
}

// saveUsage saves usage and flushes spend every interval and whenever a
// batch of requests has finished, and once more on Close.
func (g *Gateway) saveUsage(interval time.Duration) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-g.usage.SaveDue():
			}
			g.save(ctx)
		}
	}()
	g.onClose(func() {
		stop()
		<-done
		g.save(context.Background())
	})
}

// save saves usage and flushes spend, logging failures (the next save
// sends what this one could not).
func (g *Gateway) save(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if err := g.usage.Save(ctx); err != nil && !errors.Is(err, context.Canceled) {
		g.log.Error("gateway: save usage", "err", err)
	}
	if err := g.ac.Flush(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, access.ErrClosed) {
		g.log.Error("gateway: flush spend", "err", err)
	}
}

// Handler returns the whole HTTP API: the OpenAI endpoints and LiteLLM's
// operator endpoints behind key authentication, the admin API behind the
// master key, and the open liveness and readiness probes (see
// router/httpapi). Every call returns the same handler.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Metrics returns the Prometheus registry GET /metrics serves: the
// Router's traffic (router/metrics.Collector), its live deployment state,
// and the Go runtime and process collectors. Register more with it.
func (g *Gateway) Metrics() *prometheus.Registry { return g.metrics }

// Router returns the Router serving the requests.
func (g *Gateway) Router() *router.Router { return g.rt }

// Registry returns the alias Registry the Router resolves names through.
func (g *Gateway) Registry() *alias.Registry { return g.reg }

// Access returns the Checker that authorizes every request.
func (g *Gateway) Access() *access.Checker { return g.ac }

// Usage returns the usage counters every finished request is recorded in.
func (g *Gateway) Usage() *access.Usage { return g.usage }

// Health returns the Router's health checker: running in the background
// when the config's general_settings.background_health_checks is set, and
// what /health reports through in any case.
func (g *Gateway) Health() *router.HealthChecker { return g.health }

// Config returns the router.Config the Router was built with (after
// WithAdjustConfig). Its slices and maps are shared: do not modify them.
func (g *Gateway) Config() router.Config { return g.cfg }

// Close releases the parts in the reverse order of their construction (see
// the package documentation). Later calls do nothing.
func (g *Gateway) Close() {
	g.closeOnce.Do(func() {
		for i := len(g.stop) - 1; i >= 0; i-- {
			g.stop[i]()
		}
		g.stop = nil
	})
}

// NewServer returns an http.Server for h with the gateway's timeouts: 10 s
// to read the headers, 2 min for the whole request, 2 min idle, and no
// write timeout, since a stream lasts as long as the model writes (the
// Router's timeouts bound each request). Its own errors go to log at Warn
// (nil: discarded).
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
