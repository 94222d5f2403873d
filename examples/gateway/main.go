// Command gateway serves modelroute over HTTP: the OpenAI API for clients
// and LiteLLM's proxy and admin API for operators.
//
//	go run ./examples/gateway                      # demo: built-in fake upstream, no keys needed
//	go run ./examples/gateway -config config.yaml  # a LiteLLM proxy config
//
// Aliases, keys, teams, organizations, access groups, spend and usage
// persist in an SQLite database, state.db under -state, and survive a
// restart; -database postgres://… (or the config's
// general_settings.database_url) keeps them in PostgreSQL instead, for
// several replicas. JSON state files an older gateway left under -state
// are imported once. With -redis URL (or LiteLLM's
// router_settings.redis_host/redis_port/redis_password or redis_url) it is
// one replica of a fleet: cooldowns, rpm/tpm limits and aliases are shared
// through that Redis (see package redisstate). SIGINT or SIGTERM shuts down gracefully:
// in-flight requests, streams included, finish first.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/litellm"
	"github.com/modelroute/modelroute/router/sqlstore"
	"github.com/modelroute/modelroute/router/sqlstore/postgres"
	"github.com/modelroute/modelroute/router/sqlstore/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	config          string
	addr            string
	state           string
	database        string
	skipUnsupported bool
	cpuprofile      string
	redis           string
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.config, "config", "", "LiteLLM proxy config (YAML or JSON); empty: the embedded demo")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:4000", "listen address, host:port")
	fs.StringVar(&o.state, "state", "", "directory of the SQLite database (state.db) with aliases, keys, teams, access groups, spend and usage (default: under the user config dir)")
	fs.StringVar(&o.database, "database", "", "PostgreSQL URL (postgres://user:pass@host:port/db) to keep the state in instead of -state (default: the config's general_settings.database_url)")
	fs.BoolVar(&o.skipUnsupported, "skip-unsupported", false, "skip deployments of providers without an OpenAI-compatible API, with a warning each, instead of refusing the config")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file (written at shutdown)")
	fs.StringVar(&o.redis, "redis", "", "share cooldowns, rpm/tpm limits and aliases with the other replicas through this Redis, redis://[:password@]host:port[/db] (default: router_settings.redis_*, else none)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

// startCPUProfile profiles the process into file until the returned
// function is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// openDatabase opens PostgreSQL when o.database is set, else state.db
// under o.state, and says which in a form fit for a log (no password).
func openDatabase(ctx context.Context, o options) (*sqlstore.DB, string, error) {
	if o.database != "" {
		db, err := postgres.Open(ctx, o.database)
		if err != nil {
			return nil, "", err
		}
		where := "postgres"
		if u, err := url.Parse(o.database); err == nil {
			where = u.Redacted()
		}
		return db, where, nil
	}
	if err := os.MkdirAll(o.state, 0o700); err != nil {
		return nil, "", fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(o.state, "state.db")
	db, err := sqlite.Open(ctx, path)
	return db, path, err
}

func defaultStateDir() string {
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "modelroute-gateway")
	}
	return filepath.Join(os.TempDir(), "modelroute-gateway")
}

// run starts the gateway and serves until ctx is done. When ready is not nil
// it receives the listen address once the server accepts connections.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	if o.cpuprofile != "" {
		stop, err := startCPUProfile(o.cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.state == "" {
		o.state = defaultStateDir()
	}
	var (
		cfg    *litellm.Config
		demo   *demoUpstream
		master string
	)
	if o.config == "" {
		demo, err = startDemo()
		if err != nil {
			return err
		}
		defer demo.Close()
		cfg = demo.cfg
		master = demoMasterKey
	} else {
		var lopts []litellm.Option
		if o.skipUnsupported {
			lopts = append(lopts, litellm.WithSkipUnsupported())
		}
		cfg, err = litellm.Load(o.config, lopts...)
		if err != nil {
			return err
		}
		master = cfg.General.MasterKey
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w.String())
	}
	if master == "" {
		master = os.Getenv("MODELROUTE_MASTER_KEY")
	}
	if master == "" {
		return errors.New("no master key: set general_settings.master_key in the config or MODELROUTE_MASTER_KEY")
	}

	if o.database == "" {
		o.database = cfg.General.DatabaseURL
	}
	db, where, err := openDatabase(ctx, o)
	if err != nil {
		return err
	}
	defer db.Close()
	gopts := []gateway.Option{gateway.WithDatabase(db), gateway.WithStateDir(o.state),
		gateway.WithMasterKey(master), gateway.WithLogger(log)}
	if o.redis != "" {
		gopts = append(gopts, gateway.WithRedis(o.redis))
	}
	g, err := gateway.New(ctx, cfg, gopts...)
	if err != nil {
		return err
	}
	defer g.Close()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := gateway.NewServer(g.Handler(), log)
	addr := ln.Addr().String()
	log.Info("modelroute gateway ready", "addr", addr, "state", where, "config", o.config, "deployments", len(cfg.Deployments))
	if demo != nil {
		fmt.Fprintf(out, "\nDemo mode: a built-in fake upstream serves every model; no API keys needed.\n")
		fmt.Fprintf(out, "Master key: %s\n", master)
		fmt.Fprintf(out, "Try:\n  curl -s http://%s/v1/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'\n\n", addr, master)
	}
	if ready != nil {
		ready <- addr
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-errc
	return nil
}
