package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// churnConfig is an alias churn run: requests flow to aliases that stay
// active throughout and to aliases that admins create, re-point, disable,
// enable and delete through the admin API meanwhile.
type churnConfig struct {
	Duration time.Duration
	Rate     float64 // requests per second
	Writers  int     // concurrent admin writers, each on its own names; zero: 2
	Names    int     // churned names per writer; zero: 10
}

const churnConfigText = `
model_list:
  - model_name: group-a
    litellm_params: {model: openai/model-a, api_base: %[1]s, api_key: k}
    model_info: {id: dep-a}
  - model_name: group-b
    litellm_params: {model: openai/model-b, api_base: %[1]s, api_key: k}
    model_info: {id: dep-b}
router_settings:
  model_group_alias:
    stable: group-a
    stable-chain: stable
    stable-b: group-b
general_settings:
  master_key: ` + masterKey + `
`

// stableGroups are the aliases active throughout and the group each serves.
var stableGroups = map[string]string{"stable": "group-a", "stable-chain": "group-a", "stable-b": "group-b"}

// churnTargets are what a churned alias points at, and the group each
// leads to.
var churnTargets = []struct{ target, group string }{
	{"group-a", "group-a"}, {"group-b", "group-b"}, {"stable", "group-a"}, {"stable-b", "group-b"},
}

type churnReport struct {
	cfg        churnConfig
	stableReqs int
	stableFail []string // failures of requests for stable aliases (should be none)
	churnReqs  map[int]int
	churnBad   []string // answers for churned aliases that are neither 200, 403 nor 404
	ops        map[string]int
	opFail     []string // admin writes refused, or not seen by the next request
	elapsed    time.Duration
}

func (r *churnReport) ok() bool {
	return r.stableReqs > 0 && len(r.stableFail) == 0 && len(r.churnBad) == 0 && len(r.opFail) == 0
}

// list records at most 20 messages.
func list(l *[]string, mu *sync.Mutex, format string, args ...any) {
	mu.Lock()
	defer mu.Unlock()
	if len(*l) < 20 {
		*l = append(*l, fmt.Sprintf(format, args...))
	} else if len(*l) == 20 {
		*l = append(*l, "…")
	}
}

// churnAnswer is what one chat completion got.
type churnAnswer struct {
	status int
	group  string // x-modelroute-model-group
	code   string // the error code, for a refusal
	err    error  // transport failure
}

func chat(ctx context.Context, client *http.Client, base, key, model string) churnAnswer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(chatBody(model, false)))
	if err != nil {
		return churnAnswer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return churnAnswer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return churnAnswer{status: resp.StatusCode, err: err}
	}
	a := churnAnswer{status: resp.StatusCode, group: resp.Header.Get("X-Modelroute-Model-Group")}
	if resp.StatusCode != http.StatusOK {
		if i := bytes.Index(b, []byte(`"code":"`)); i >= 0 {
			rest := b[i+8:]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				a.code = string(rest[:j])
			}
		}
	}
	return a
}

// runChurn runs the churn scenario through an in-process gateway.
func runChurn(ctx context.Context, cfg churnConfig) (*churnReport, error) {
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	if cfg.Names <= 0 {
		cfg.Names = 10
	}
	up, err := startUpstream(false)
	if err != nil {
		return nil, err
	}
	defer up.Close()
	lc, err := parseConfig(fmt.Sprintf(churnConfigText, up.BaseURL()))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "modelroute-churn-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	g, err := startGateway(ctx, lc, dir, gatewayOptions{})
	if err != nil {
		return nil, err
	}
	defer g.Close()
	client := newClient(512)
	defer client.CloseIdleConnections()
	adm := &admin{base: g.URL(), client: client}
	key, err := adm.generateKey(ctx, nil) // every name
	if err != nil {
		return nil, err
	}

	rep := &churnReport{cfg: cfg, churnReqs: map[int]int{}, ops: map[string]int{}}
	var mu sync.Mutex // guards rep's lists and maps
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()

	// The writers: each owns cfg.Names names and knows their state, so it
	// checks that the request right after each acknowledged write sees it.
	for w := range cfg.Writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w)+1, 99))
			type state struct {
				exists, active bool
				group          string
			}
			states := make([]state, cfg.Names)
			done := map[string]int{} // writes of each kind acknowledged by this writer
			for n := 0; !stop.Load() && ctx.Err() == nil && n < 1_000_000; n++ {
				i := rng.IntN(cfg.Names)
				name := fmt.Sprintf("churn-%d-%d", w, i)
				s := &states[i]
				var op string
				var st int
				var err error
				want := http.StatusOK
				switch {
				case !s.exists:
					op, want = "create", http.StatusCreated
					t := churnTargets[rng.IntN(len(churnTargets))]
					if st, err = adm.createAlias(ctx, name, t.target); err == nil && st == want {
						*s = state{exists: true, active: true, group: t.group}
					}
				default:
					// Random, except that each kind of write comes early
					// once, so that a slow machine still runs them all.
					k := rng.IntN(4)
					switch {
					case done["re-point"] == 0:
						k = 0
					case done["disable"] == 0:
						k = 2
					case done["delete"] == 0:
						k = 3
					}
					switch k {
					case 0, 1:
						op = "re-point"
						t := churnTargets[rng.IntN(len(churnTargets))]
						if st, err = adm.updateAlias(ctx, name, t.target, nil); err == nil && st == want {
							s.group = t.group
						}
					case 2:
						op = "disable"
						if s.active = !s.active; s.active {
							op = "enable"
						}
						active := s.active
						st, err = adm.updateAlias(ctx, name, "", &active)
					case 3:
						op = "delete"
						if st, err = adm.deleteAlias(ctx, name); err == nil && st == want {
							*s = state{}
						}
					}
				}
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				rep.ops[op]++
				mu.Unlock()
				if err != nil || st != want {
					list(&rep.opFail, &mu, "%s %s: status %d, %v", op, name, st, err)
					return // its state is unknown from here
				}
				done[op]++
				// The next request sees the write.
				a := chat(ctx, client, g.URL(), key, name)
				switch {
				case ctx.Err() != nil:
					return
				case !s.exists:
					if a.status != http.StatusNotFound {
						list(&rep.opFail, &mu, "after %s %s: status %d %s, want 404", op, name, a.status, a.code)
					}
				case !s.active:
					if a.status != http.StatusForbidden || a.code != "model_disabled" {
						list(&rep.opFail, &mu, "after %s %s: status %d %s, want 403 model_disabled", op, name, a.status, a.code)
					}
				default:
					if a.status != http.StatusOK || a.group != s.group {
						list(&rep.opFail, &mu, "after %s %s: status %d group %q, want 200 from %s", op, name, a.status, a.group, s.group)
					}
				}
			}
		})
	}

	// The load: open loop, every third request for a stable alias.
	stable := []string{"stable", "stable-chain", "stable-b"}
	step := time.Duration(float64(time.Second) / cfg.Rate)
	n := int(cfg.Rate * cfg.Duration.Seconds())
	var inflight sync.WaitGroup
	var running atomic.Int64
	timer := time.NewTimer(time.Hour)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * step)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		var name string
		if i%3 == 0 {
			name = stable[(i/3)%len(stable)]
		} else {
			name = fmt.Sprintf("churn-%d-%d", rng.IntN(cfg.Writers), rng.IntN(cfg.Names))
		}
		if running.Load() >= 500 {
			list(&rep.stableFail, &mu, "load generator: 500 requests in flight, the gateway is not keeping up")
			break
		}
		running.Add(1)
		inflight.Go(func() {
			defer running.Add(-1)
			a := chat(ctx, client, g.URL(), key, name)
			if ctx.Err() != nil {
				return
			}
			if want, ok := stableGroups[name]; ok {
				mu.Lock()
				rep.stableReqs++
				mu.Unlock()
				if a.err != nil || a.status != http.StatusOK || a.group != want {
					list(&rep.stableFail, &mu, "%s: status %d %s group %q err %v", name, a.status, a.code, a.group, a.err)
				}
				return
			}
			mu.Lock()
			rep.churnReqs[a.status]++
			mu.Unlock()
			switch {
			case a.err != nil:
				list(&rep.churnBad, &mu, "%s: %v", name, a.err)
			case a.status == http.StatusOK, a.status == http.StatusNotFound, a.status == http.StatusForbidden && a.code == "model_disabled":
			default:
				list(&rep.churnBad, &mu, "%s: status %d %s", name, a.status, a.code)
			}
		})
	}
	timer.Stop()
	stop.Store(true)
	inflight.Wait()
	wg.Wait()
	rep.elapsed = time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return rep, nil
}

func (rep *churnReport) write(w io.Writer) {
	cfg := rep.cfg
	total := 0
	for _, n := range rep.ops {
		total += n
	}
	var ops, codes []string
	for op, n := range rep.ops {
		ops = append(ops, fmt.Sprintf("%d %s", n, op))
	}
	sort.Strings(ops)
	churned := 0
	for st, n := range rep.churnReqs {
		codes = append(codes, fmt.Sprintf("%d×%d", n, st))
		churned += n
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "Churn: %v at %.0f req/s through the gateway; %d admin writers on %d names each\n", cfg.Duration, cfg.Rate, cfg.Writers, cfg.Names)
	fmt.Fprintf(w, "  admin writes: %d in %v (%v), each checked by the next request\n", total, rep.elapsed.Round(time.Millisecond), ops)
	fmt.Fprintf(w, "  requests for aliases active throughout (stable, stable-chain → stable, stable-b): %d, failed %d\n", rep.stableReqs, len(rep.stableFail))
	fmt.Fprintf(w, "  requests for churned aliases: %d (%v); neither 200, 403 model_disabled nor 404: %d\n", churned, codes, len(rep.churnBad))
	for _, l := range [][]string{rep.stableFail, rep.churnBad, rep.opFail} {
		for _, m := range l {
			fmt.Fprintf(w, "    %s\n", m)
		}
	}
	verdict := "FAIL"
	if rep.ok() {
		verdict = "PASS"
	}
	fmt.Fprintf(w, "%s  churn: no request for an alias active throughout fails; every write is seen by the next request\n", verdict)
}
