// Package gatewire wires modelroute's packages into the gateway that
// examples/gateway serves and examples/loadtest measures, so both run the
// same code: the alias Registry, the access Checker and Usage persisted
// under a state directory, the Router over a LiteLLM config, the health
// checker, and the httpapi handler.
package gatewire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/httpapi"
	"github.com/modelroute/modelroute/router/litellm"
)

// UsageSaveInterval is how often usage counters are written to the state
// directory. Counters themselves are live: the admin API shows them at once.
const UsageSaveInterval = 2 * time.Second

// Options are the optional inputs of Build.
type Options struct {
	// Logger logs; nil discards.
	Logger *slog.Logger
	// RouterOptions are passed to router.New after the logger.
	RouterOptions []router.Option
	// Adjust, when set, may change the converted router.Config before
	// router.New (the load tool uses it for measurements).
	Adjust func(*router.Config)
	// UpstreamClient is the HTTP client every deployment's provider shares
	// (one connection pool per upstream host); nil: provider.NewHTTPClient().
	// Close closes its idle connections.
	UpstreamClient *http.Client
	// LeaveProviders makes Close leave the deployments' providers (and
	// their idle upstream connections) open, to measure what that leaks.
	LeaveProviders bool
}

// Gateway is the library's parts, wired. Close releases them all.
type Gateway struct {
	Registry *alias.Registry
	Access   *access.Checker
	Usage    *access.Usage
	Router   *router.Router
	Health   *router.HealthChecker
	Config   router.Config // what the Router was built with
	// UpstreamClient is the HTTP client the deployments' providers share:
	// Close closes its idle connections.
	UpstreamClient *http.Client

	log  *slog.Logger
	stop []func()
}

// Build wires the parts over cfg with their state under the directory
// state. On error, whatever was built is closed again.
func Build(ctx context.Context, cfg *litellm.Config, state string, o Options) (_ *Gateway, err error) {
	g := &Gateway{log: o.Logger}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	g.Registry, err = alias.New(ctx, alias.WithStore(alias.NewFileStore(filepath.Join(state, "aliases.json"))))
	if err != nil {
		return nil, err
	}
	g.stop = append(g.stop, func() { g.Registry.Close() })

	g.Access, err = access.New(ctx, access.WithStore(access.NewFileStore(filepath.Join(state, "access.json"))))
	if err != nil {
		return nil, err
	}
	g.stop = append(g.stop, func() { g.Access.Close() })

	g.Usage, err = access.NewUsage(ctx, access.WithUsageStore(access.NewUsageFileStore(filepath.Join(state, "usage.json"))))
	if err != nil {
		return nil, err
	}

	g.UpstreamClient = o.UpstreamClient
	if g.UpstreamClient == nil {
		g.UpstreamClient = provider.NewHTTPClient()
	}
	g.stop = append(g.stop, func() {
		if !o.LeaveProviders {
			g.UpstreamClient.CloseIdleConnections()
		}
	})
	g.Config, err = cfg.RouterConfig(litellm.OpenAIProviders(nil, g.UpstreamClient))
	if err != nil {
		return nil, err
	}
	// The providers own their upstream connection pools; close them last.
	g.stop = append(g.stop, func() {
		if o.LeaveProviders {
			return
		}
		for _, d := range g.Config.Deployments {
			if c, ok := d.Provider.(io.Closer); ok {
				c.Close()
			}
		}
	})
	if o.Adjust != nil {
		o.Adjust(&g.Config)
	}
	g.Router, err = router.New(g.Registry, g.Config, append([]router.Option{router.WithLogger(g.log)}, o.RouterOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	g.stop = append(g.stop, func() { g.Router.Close() })

	if err := SyncAliases(ctx, g.Registry, cfg.Aliases); err != nil {
		return nil, fmt.Errorf("%s: model_group_alias: %w", cfg.File, err)
	}

	// Deleting an alias removes it from every access group.
	cancel := g.Registry.Subscribe(func(e alias.Event) {
		if e.Kind == alias.EventDeleted {
			if err := g.Access.RemoveName(context.Background(), e.Old.Name); err != nil {
				g.log.Error("prune deleted alias from access groups", "alias", e.Old.Name, "err", err)
			}
		}
	})
	g.stop = append(g.stop, cancel)

	var hopts []router.HealthOption
	if cfg.General.HealthCheckInterval > 0 {
		hopts = append(hopts, router.WithHealthInterval(cfg.General.HealthCheckInterval))
	}
	g.Health = g.Router.NewHealthChecker(hopts...)
	if cfg.General.BackgroundHealthChecks {
		g.Health.Start()
	}
	g.stop = append(g.stop, func() { g.Health.Close() })

	g.saveUsage()
	return g, nil
}

// saveUsage saves usage every UsageSaveInterval, and once more on Close.
func (g *Gateway) saveUsage() {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(UsageSaveInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := g.Usage.Save(ctx); err != nil && !errors.Is(err, context.Canceled) {
					g.log.Error("save usage", "err", err)
				}
			}
		}
	}()
	g.stop = append(g.stop, func() {
		stop()
		<-done
		if err := g.Usage.Save(context.Background()); err != nil {
			g.log.Error("save usage", "err", err)
		}
	})
}

// Handler returns the HTTP API over g: every endpoint, with the master key
// in front of the admin API.
func (g *Gateway) Handler(master string) http.Handler {
	return httpapi.New(g.Router, g.Registry,
		httpapi.WithAccess(g.Access), httpapi.WithUsage(g.Usage),
		httpapi.WithHealthChecker(g.Health), httpapi.WithMasterKey(master), httpapi.WithLogger(g.log)).Mux()
}

// NewServer returns the http.Server the gateway runs h with: header and
// read timeouts, idle timeout, and no write timeout, since streams last as
// long as the model writes (the router's timeouts bound each request).
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Close releases the parts in reverse order of their construction.
func (g *Gateway) Close() {
	for i := len(g.stop) - 1; i >= 0; i-- {
		g.stop[i]()
	}
	g.stop = nil
}

// SyncAliases makes the Registry hold the config's aliases: missing ones are
// created, changed ones updated; aliases created through the admin API are
// left alone. Aliases may chain to each other in any order, so it goes round
// until nothing more can be done, and then reports what is left.
func SyncAliases(ctx context.Context, reg *alias.Registry, want []litellm.Alias) error {
	pending := want
	for len(pending) > 0 {
		var next []litellm.Alias
		var errs []error
		for _, a := range pending {
			if err := syncAlias(ctx, reg, a); err != nil {
				next = append(next, a)
				errs = append(errs, fmt.Errorf("%s (%s): %w", a.Name, a.Source, err))
			}
		}
		if len(next) == len(pending) {
			return errors.Join(errs...)
		}
		pending = next
	}
	return nil
}

func syncAlias(ctx context.Context, reg *alias.Registry, a litellm.Alias) error {
	cur, err := reg.Get(a.Name)
	if errors.Is(err, alias.ErrNotFound) {
		_, err = reg.Create(ctx, alias.Alias{Name: a.Name, Target: a.Target, Hidden: a.Hidden,
			Description: "from the config file", Labels: map[string]string{"source": "config"}})
		return err
	}
	if err != nil {
		return err
	}
	if cur.Target == a.Target && cur.Hidden == a.Hidden {
		return nil
	}
	_, err = reg.Update(ctx, a.Name, alias.Update{Target: &a.Target, Hidden: &a.Hidden})
	return err
}
