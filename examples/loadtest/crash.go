package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// crashConfig is a crash run: the gateway binary is SIGKILLed while admin
// writes stream in, then restarted on the same state directory, Cycles
// times; every acknowledged write must be there after each restart.
type crashConfig struct {
	Cycles  int
	Writers int           // concurrent admin writers; zero: 4
	MaxLife time.Duration // each life of the gateway lasts a random time up to this; zero: 600 ms
	Seed    uint64
	Bin     string // the gateway binary; "": build it
	// Database is a PostgreSQL URL the gateway keeps its state in
	// (-database); "": SQLite under -state. It must hold no state yet.
	Database string
}

// fate is what is known of an alias written during a crash run.
type fate int

const (
	unknown fate = iota // the write was in flight at the kill: either way is right
	present             // its create was acknowledged (201), no delete was
	absent              // its delete was acknowledged (200)
)

type crashReport struct {
	cfg       crashConfig
	lives     []crashLife
	lost      []string // acknowledged writes missing after a restart
	final     int      // aliases present at the end
	routeErr  error    // a request through a written alias after the last restart
	buildTook time.Duration
}

type crashLife struct {
	acked, deleted, inFlight int
	requests                 int // chat requests answered 200 by the traffic writer
	lived                    time.Duration
	restart                  time.Duration // from exec to ready, on the state left by the kill
}

func (r *crashReport) ok() bool {
	return len(r.lost) == 0 && r.routeErr == nil && len(r.lives) == r.cfg.Cycles
}

// runCrash runs the crash scenario against the examples/gateway binary.
func runCrash(ctx context.Context, cfg crashConfig) (*crashReport, error) {
	if cfg.Writers <= 0 {
		cfg.Writers = 4
	}
	if cfg.MaxLife <= 0 {
		cfg.MaxLife = 600 * time.Millisecond
	}
	rep := &crashReport{cfg: cfg}
	up, err := startUpstream(false)
	if err != nil {
		return nil, err
	}
	defer up.Close()
	dir, err := os.MkdirTemp("", "modelroute-crash-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := cfg.Bin
	if bin == "" {
		t := time.Now()
		if bin, err = buildGatewayBinary(ctx, dir); err != nil {
			return nil, err
		}
		rep.buildTook = time.Since(t)
	}
	conf := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(loadConfig, up.BaseURL())), 0o600); err != nil {
		return nil, err
	}
	state := filepath.Join(dir, "state")
	args := []string{"-config", conf, "-state", state, "-addr", "127.0.0.1:0"}
	if cfg.Database != "" {
		args = append(args, "-database", cfg.Database)
	}
	var keys []string // acknowledged virtual keys: each must authenticate after every restart
	rng := rand.New(rand.NewPCG(cfg.Seed, 17))
	fates := map[string]fate{}
	client := newClient(64)
	defer client.CloseIdleConnections()

	// verify checks a fresh gateway against what was acknowledged, then
	// settles the fate of the writes that were in flight.
	verify := func(base string, life int) error {
		adm := &admin{base: base, client: client}
		rows, err := adm.listAliases(ctx)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, r := range rows {
			have[r.Alias] = true
		}
		var names []string
		for n := range fates {
			names = append(names, n)
		}
		sort.Strings(names)
		for i, key := range keys {
			if a := chat(ctx, client, base, key, "model-group-1"); a.err != nil || a.status != http.StatusOK {
				rep.lost = append(rep.lost, fmt.Sprintf("after kill %d: virtual key %d (acknowledged) answers %d %s %v", life, i, a.status, a.code, a.err))
			}
		}
		for _, n := range names {
			switch f := fates[n]; {
			case f == present && !have[n]:
				rep.lost = append(rep.lost, fmt.Sprintf("after kill %d: %s was created (201) but is gone", life, n))
			case f == absent && have[n]:
				rep.lost = append(rep.lost, fmt.Sprintf("after kill %d: %s was deleted (200) but is back", life, n))
			}
			if fates[n] == unknown && cfg.Database != "" {
				// PostgreSQL may still commit a statement it received
				// from the killed process after the restart: a write in
				// flight at a kill stays unknown. SQLite dies with the
				// process, so there the restart settles it.
				continue
			}
			if have[n] {
				fates[n] = present
			} else {
				fates[n] = absent
			}
		}
		return nil
	}

	for life := range cfg.Cycles {
		t := time.Now()
		p, err := startProc(bin, args...)
		if err != nil {
			return nil, err
		}
		restart := time.Since(t)
		if err := verify(p.URL(), life); err != nil {
			p.kill()
			return nil, err
		}
		lf := crashLife{restart: restart}
		var mu sync.Mutex
		var wg sync.WaitGroup
		adm := &admin{base: p.URL(), client: client}
		key, err := adm.generateKey(ctx, nil)
		if err != nil {
			p.kill()
			return nil, err
		}
		keys = append(keys, key)
		// Traffic, 100 requests a second at most: spend and usage are
		// recorded while the admin writes run.
		wg.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for ctx.Err() == nil {
				<-tick.C
				a := chat(ctx, client, p.URL(), key, "model-group-1")
				if a.err != nil {
					return // the gateway is gone
				}
				if a.status == http.StatusOK {
					mu.Lock()
					lf.requests++
					mu.Unlock()
				}
			}
		})
		for w := range cfg.Writers {
			wg.Go(func() {
				var mine []string // acknowledged creates of this life, for deletes
				for i := 0; i < 100_000 && ctx.Err() == nil; i++ {
					if i%4 == 3 && len(mine) > 0 {
						name := mine[0]
						mine = mine[1:]
						mu.Lock()
						fates[name] = unknown
						mu.Unlock()
						st, err := adm.deleteAlias(ctx, name)
						if err != nil {
							mu.Lock()
							lf.inFlight++
							mu.Unlock()
							return // the gateway is gone
						}
						if st == http.StatusOK {
							mu.Lock()
							fates[name] = absent
							lf.deleted++
							mu.Unlock()
						}
						continue
					}
					name := fmt.Sprintf("crash-%d-%d-%d", life, w, i)
					mu.Lock()
					fates[name] = unknown
					mu.Unlock()
					st, err := adm.createAlias(ctx, name, "model-group-1")
					if err != nil {
						mu.Lock()
						lf.inFlight++
						mu.Unlock()
						return
					}
					if st == http.StatusCreated {
						mu.Lock()
						fates[name] = present
						lf.acked++
						mu.Unlock()
						mine = append(mine, name)
					}
				}
			})
		}
		lf.lived = time.Duration(rng.Int64N(int64(cfg.MaxLife))) + cfg.MaxLife/10
		pause(ctx, lf.lived)
		p.kill()
		wg.Wait()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rep.lives = append(rep.lives, lf)
	}

	// The last restart: everything acknowledged is there, and routes.
	p, err := startProc(bin, args...)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if err := verify(p.URL(), cfg.Cycles); err != nil {
		return nil, err
	}
	for n, f := range fates {
		if f == present {
			rep.final++
			if rep.routeErr == nil && rep.final == 1 {
				key, err := (&admin{base: p.URL(), client: client}).generateKey(ctx, nil)
				if err != nil {
					rep.routeErr = err
					continue
				}
				if a := chat(ctx, client, p.URL(), key, n); a.err != nil || a.status != http.StatusOK {
					rep.routeErr = fmt.Errorf("chat via %s after the last restart: status %d %s %v", n, a.status, a.code, a.err)
				}
			}
		}
	}
	return rep, nil
}

func (rep *crashReport) write(w io.Writer) {
	acked, deleted, inflight := 0, 0, 0
	var restarts []time.Duration
	for _, l := range rep.lives {
		acked += l.acked
		deleted += l.deleted
		inflight += l.inFlight
		restarts = append(restarts, l.restart)
	}
	store := "SQLite (-state)"
	if rep.cfg.Database != "" {
		store = "PostgreSQL (-database)"
	}
	requests := 0
	for _, l := range rep.lives {
		requests += l.requests
	}
	fmt.Fprintf(w, "Crash: the examples/gateway binary SIGKILLed %d times during admin writes (%d writers) and traffic (%d requests answered), restarted on the same %s state each time\n",
		len(rep.lives), rep.cfg.Writers, requests, store)
	if rep.buildTook > 0 {
		fmt.Fprintf(w, "  go build took %v\n", rep.buildTook.Round(time.Millisecond))
	}
	if len(restarts) > 0 {
		fmt.Fprintf(w, "  acknowledged: %d creates (201), %d deletes (200); in flight at a kill: %d; restart to ready: median %v\n",
			acked, deleted, inflight, median(restarts).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  acknowledged writes lost or undone: %d; aliases present at the end: %d\n", len(rep.lost), rep.final)
	for i, l := range rep.lost {
		if i == 20 {
			fmt.Fprintln(w, "    …")
			break
		}
		fmt.Fprintf(w, "    %s\n", l)
	}
	if rep.routeErr != nil {
		fmt.Fprintf(w, "  %v\n", rep.routeErr)
	}
	verdict := "FAIL"
	if rep.ok() {
		verdict = "PASS"
	}
	fmt.Fprintf(w, "%s  crash: every acknowledged admin write (aliases, virtual keys) survives SIGKILL and restart\n", verdict)
}
