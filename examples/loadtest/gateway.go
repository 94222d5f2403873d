package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// masterKey is the master key of every gateway the tool starts.
const masterKey = "sk-loadtest-master"

// gateway is examples/gateway's wiring (wire.go's build and main.go's
// handler), replicated so that the tool can run it in its own process: the
// alias Registry, the access Checker and Usage persisted under a state
// directory, the Router over a LiteLLM config, the HealthChecker, and the
// httpapi handler with the master key, served by an http.Server configured as
// main.go configures it.
//
// Two differences, both for measurement: the Router may get extra options
// (an observer for the chaos checks) and the router.Config may be adjusted
// before use (gatewayOptions.adjust); the load runs use neither. Close also
// closes the deployments' providers (their idle upstream connections), as
// examples/gateway does, unless leaveProviders; see leak_test.go.
type gateway struct {
	registry *alias.Registry
	access   *access.Checker
	usage    *access.Usage
	router   *router.Router
	health   *router.HealthChecker
	cfg      router.Config

	srv  *http.Server
	addr string // host:port it listens on
	errc chan error
	stop []func()
}

// gatewayOptions are the measurement knobs of startGateway.
type gatewayOptions struct {
	routerOpts []router.Option
	adjust     func(*router.Config) // called on the converted config before router.New
	log        *slog.Logger         // nil: discard
	// upstreamIdle, when positive, gives every deployment's provider one
	// shared HTTP client (provider.NewHTTPClient's settings) keeping this
	// many idle connections per host instead of 256 each.
	upstreamIdle int
	// leaveProviders makes Close leave the deployments' providers (and
	// their idle upstream connections) open, to measure what that leaks.
	leaveProviders bool
}

// parseConfig parses a LiteLLM config given as text.
func parseConfig(text string) (*litellm.Config, error) {
	return litellm.Parse([]byte(text), "loadtest.yaml")
}

// startGateway builds the gateway over cfg with its state under the state
// directory and serves it on a loopback port.
func startGateway(ctx context.Context, cfg *litellm.Config, state string, o gatewayOptions) (_ *gateway, err error) {
	log := o.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &gateway{}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	g.registry, err = alias.New(ctx, alias.WithStore(alias.NewFileStore(filepath.Join(state, "aliases.json"))))
	if err != nil {
		return nil, err
	}
	g.stop = append(g.stop, func() { g.registry.Close() })

	g.access, err = access.New(ctx, access.WithStore(access.NewFileStore(filepath.Join(state, "access.json"))))
	if err != nil {
		return nil, err
	}
	g.stop = append(g.stop, func() { g.access.Close() })

	g.usage, err = access.NewUsage(ctx, access.WithUsageStore(access.NewUsageFileStore(filepath.Join(state, "usage.json"))))
	if err != nil {
		return nil, err
	}

	var newProvider litellm.ProviderFunc
	if o.upstreamIdle > 0 {
		hc := provider.NewHTTPClient()
		tr := hc.Transport.(*http.Transport)
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = o.upstreamIdle, o.upstreamIdle
		newProvider = litellm.OpenAIProviders(nil, hc)
		g.stop = append(g.stop, hc.CloseIdleConnections)
	}
	g.cfg, err = cfg.RouterConfig(newProvider)
	if err != nil {
		return nil, err
	}
	g.stop = append(g.stop, func() {
		if o.leaveProviders {
			return
		}
		for _, d := range g.cfg.Deployments {
			if c, ok := d.Provider.(io.Closer); ok {
				c.Close()
			}
		}
	})
	if o.adjust != nil {
		o.adjust(&g.cfg)
	}
	g.router, err = router.New(g.registry, g.cfg, append([]router.Option{router.WithLogger(log)}, o.routerOpts...)...)
	if err != nil {
		return nil, err
	}
	g.stop = append(g.stop, func() { g.router.Close() })

	if err := syncAliases(ctx, g.registry, cfg.Aliases); err != nil {
		return nil, fmt.Errorf("model_group_alias: %w", err)
	}
	cancel := g.registry.Subscribe(func(e alias.Event) {
		if e.Kind == alias.EventDeleted {
			if err := g.access.RemoveName(context.Background(), e.Old.Name); err != nil {
				log.Error("prune deleted alias from access groups", "alias", e.Old.Name, "err", err)
			}
		}
	})
	g.stop = append(g.stop, cancel)

	var hopts []router.HealthOption
	if cfg.General.HealthCheckInterval > 0 {
		hopts = append(hopts, router.WithHealthInterval(cfg.General.HealthCheckInterval))
	}
	g.health = g.router.NewHealthChecker(hopts...)
	if cfg.General.BackgroundHealthChecks {
		g.health.Start()
	}
	g.stop = append(g.stop, func() { g.health.Close() })

	// Usage is saved every 2 s, as examples/gateway does.
	sctx, stopSaving := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				if err := g.usage.Save(sctx); err != nil && !errors.Is(err, context.Canceled) {
					log.Error("save usage", "err", err)
				}
			}
		}
	}()
	g.stop = append(g.stop, func() {
		stopSaving()
		<-done
		g.usage.Save(context.Background())
	})

	handler := httpapi.New(g.router, g.registry,
		httpapi.WithAccess(g.access), httpapi.WithUsage(g.usage),
		httpapi.WithHealthChecker(g.health), httpapi.WithMasterKey(masterKey), httpapi.WithLogger(log)).Mux()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	g.addr = ln.Addr().String()
	g.errc = make(chan error, 1)
	go labelled("gateway", func() { g.errc <- g.srv.Serve(ln) })
	return g, nil
}

// URL is the gateway's base URL.
func (g *gateway) URL() string { return "http://" + g.addr }

// Close stops serving (finishing in-flight requests, for at most 10 s) and
// closes the parts in reverse order of their construction.
func (g *gateway) Close() {
	if g.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := g.srv.Shutdown(ctx); err != nil {
			g.srv.Close()
		}
		cancel()
		<-g.errc
		g.srv = nil
	}
	for i := len(g.stop) - 1; i >= 0; i-- {
		g.stop[i]()
	}
	g.stop = nil
}

// syncAliases creates the config's aliases in the Registry, as
// examples/gateway does: chains may come in any order, so it goes round
// until nothing more can be done.
func syncAliases(ctx context.Context, reg *alias.Registry, want []litellm.Alias) error {
	pending := want
	for len(pending) > 0 {
		var next []litellm.Alias
		var errs []error
		for _, a := range pending {
			_, err := reg.Create(ctx, alias.Alias{Name: a.Name, Target: a.Target, Hidden: a.Hidden,
				Description: "from the config file", Labels: map[string]string{"source": "config"}})
			if err != nil && !errors.Is(err, alias.ErrExists) {
				next = append(next, a)
				errs = append(errs, fmt.Errorf("%s: %w", a.Name, err))
			}
		}
		if len(next) == len(pending) {
			return errors.Join(errs...)
		}
		pending = next
	}
	return nil
}
