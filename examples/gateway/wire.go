package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/litellm"
)

// usageSaveInterval is how often usage counters are written to -state.
// Counters themselves are live: the admin API shows them at once.
const usageSaveInterval = 2 * time.Second

// build wires the library's parts over the state directory: the alias
// Registry, the access Checker and Usage (all persisted there), the Router
// over cfg and, when the config asks for it, the background health checker.
func build(ctx context.Context, cfg *litellm.Config, state string, log *slog.Logger) (_ *gateway, err error) {
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

	rcfg, err := cfg.RouterConfig(nil)
	if err != nil {
		return nil, err
	}
	// The providers own their upstream connection pools; close them last.
	g.stop = append(g.stop, func() {
		for _, d := range rcfg.Deployments {
			if c, ok := d.Provider.(io.Closer); ok {
				c.Close()
			}
		}
	})
	g.router, err = router.New(g.registry, rcfg, router.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	g.stop = append(g.stop, func() { g.router.Close() })

	if err := syncAliases(ctx, g.registry, cfg.Aliases); err != nil {
		return nil, fmt.Errorf("%s: model_group_alias: %w", cfg.File, err)
	}

	// Deleting an alias removes it from every access group.
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

	// Usage is saved periodically and once more on the way out.
	sctx, stopSaving := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(usageSaveInterval)
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
		if err := g.usage.Save(context.Background()); err != nil {
			log.Error("save usage", "err", err)
		}
	})
	return g, nil
}

// syncAliases makes the Registry hold the config's aliases: missing ones are
// created, changed ones updated; aliases created through the admin API are
// left alone. Aliases may chain to each other in any order, so it goes round
// until nothing more can be done, and then reports what is left.
func syncAliases(ctx context.Context, reg *alias.Registry, want []litellm.Alias) error {
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
