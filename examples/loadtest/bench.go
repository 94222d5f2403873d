package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
)

// loadConfig is the gateway's LiteLLM config for the load runs: one group of
// two deployments on the fake upstream (%[1]s is its /v1 base URL), weighted
// shuffle, and the alias the load goes through.
const loadConfig = `
model_list:
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s, api_key: upstream-key}
    model_info: {id: dep-gpt-4o}
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s, api_key: upstream-key}
    model_info: {id: dep-gpt-4o-mini}
router_settings:
  model_group_alias:
    smart: model-group-1
general_settings:
  master_key: ` + masterKey + `
`

// loadAlias is the name every load request asks for.
const loadAlias = "smart"

// benchConfig is what a load measurement runs.
type benchConfig struct {
	Duration    time.Duration // of each fixed-rate run
	Warmup      time.Duration // of the unrecorded run per target and mode before the others
	Rates       []float64
	Stream      bool // measure streamed completions too
	FindMax     bool
	Step        time.Duration // of each step of the search
	StartRate   float64       // first step of the search
	Bisect      int           // bisection steps after the doubling
	MaxP99      time.Duration // the search's bar
	Targets     []string      // of "direct", "proxy", "gateway"
	MaxInFlight int
	Timeout     time.Duration // per request
	Exec        bool          // run the gateway binary instead of in-process
	Progress    io.Writer     // progress lines; nil: none
}

// benchEnv is the three targets on loopback: the fake upstream, a bare
// reverse proxy in front of it, and the gateway in front of it.
type benchEnv struct {
	targets map[string]target
	clients map[string]*http.Client
	gateway string // how the gateway runs, for the report
	closers []func()
}

func (e *benchEnv) Close() {
	for _, c := range e.clients {
		c.CloseIdleConnections()
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

func startBench(ctx context.Context, cfg benchConfig) (_ *benchEnv, err error) {
	e := &benchEnv{targets: map[string]target{}, clients: map[string]*http.Client{}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	up, err := startUpstream(false, providertest.WithChunks("Hello", "!", " How", " can", " I", " help", "?"))
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, up.Close)
	e.targets["direct"] = target{Name: "direct", URL: up.URL() + "/v1/chat/completions", Model: loadAlias}

	px, closeProxy, err := startProxy(up.URL())
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, closeProxy)
	e.targets["proxy"] = target{Name: "proxy", URL: px.URL() + "/v1/chat/completions", Model: loadAlias}

	dir, err := os.MkdirTemp("", "modelroute-loadtest-")
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { os.RemoveAll(dir) })
	text := fmt.Sprintf(loadConfig, up.BaseURL())
	var base string
	if cfg.Exec {
		bin, err := buildGatewayBinary(ctx, dir)
		if err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, err
		}
		p, err := startProc(bin, "-config", conf, "-state", filepath.Join(dir, "state"), "-addr", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, func() { p.stop() })
		base = p.URL()
		e.gateway = "examples/gateway binary, its own process"
	} else {
		lc, err := parseConfig(text)
		if err != nil {
			return nil, err
		}
		g, err := startGateway(ctx, lc, dir, gatewayOptions{})
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, g.Close)
		base = g.URL()
		e.gateway = "examples/gateway wiring, in the tool's process"
	}
	adm := &admin{base: base, client: newClient(4)}
	defer adm.client.CloseIdleConnections()
	key, err := adm.generateKey(ctx, []string{loadAlias})
	if err != nil {
		return nil, err
	}
	e.targets["gateway"] = target{Name: "gateway", URL: base + "/v1/chat/completions", Key: key, Model: loadAlias}
	for name := range e.targets {
		e.clients[name] = newClient(cfg.MaxInFlight)
	}
	return e, nil
}

// row is one line of the table.
type row struct {
	res   *result
	isMax bool // the highest rate the search found sustained
	added [2]time.Duration
	hasAd bool // added is set: there is a direct row at the same rate and mode
}

// benchReport is everything a load measurement found.
type benchReport struct {
	cfg     benchConfig
	gateway string
	rows    []row
	max     map[string]*result // target/mode → highest sustained step; nil entry: none sustained
}

func modeName(stream bool) string {
	if stream {
		return "stream"
	}
	return "plain"
}

func (cfg *benchConfig) progress(format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

// runBench measures every target at every rate and mode, interleaved (all
// targets at one rate before the next rate) so that a change in the
// machine's background load touches them alike, then searches each one's
// highest sustained rate.
func runBench(ctx context.Context, cfg benchConfig) (*benchReport, error) {
	env, err := startBench(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	rep := &benchReport{cfg: cfg, gateway: env.gateway, max: map[string]*result{}}
	modes := []bool{false}
	if cfg.Stream {
		modes = append(modes, true)
	}
	one := func(name string, stream bool, rate float64, d time.Duration) *result {
		runtime.GC()
		pause(ctx, 200*time.Millisecond)
		rn := runSpec{Target: env.targets[name], Stream: stream, Rate: rate, Duration: d, MaxInFlight: cfg.MaxInFlight, Timeout: cfg.Timeout}
		res := attack(ctx, env.clients[name], rn)
		cfg.progress("  %-8s %-6s %7.0f/s: achieved %7.0f/s  p50 %s  p99 %s  errors %d",
			name, modeName(stream), rate, res.Achieved(), ms(res.Percentile(0.5)), ms(res.Percentile(0.99)), res.Errors)
		return res
	}
	// Warm-up: connections and code paths, not recorded.
	cfg.progress("warm-up")
	for _, name := range cfg.Targets {
		for _, stream := range modes {
			if cfg.Warmup <= 0 {
				break
			}
			one(name, stream, 200, cfg.Warmup)
		}
	}
	cfg.progress("fixed rates")
	for _, rate := range cfg.Rates {
		for _, stream := range modes {
			for _, name := range cfg.Targets {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				rep.rows = append(rep.rows, row{res: one(name, stream, rate, cfg.Duration)})
			}
		}
	}
	if cfg.FindMax {
		for _, stream := range modes {
			for _, name := range cfg.Targets {
				cfg.progress("search: %s %s", name, modeName(stream))
				best := findMax(ctx, cfg, func(rate float64) *result { return one(name, stream, rate, cfg.Step) })
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				rep.max[name+"/"+modeName(stream)] = best
				if best != nil {
					rep.rows = append(rep.rows, row{res: best, isMax: true})
				}
			}
		}
	}
	rep.addDeltas()
	return rep, nil
}

// findMax searches the highest rate measure sustains with p99 under
// cfg.MaxP99: doubling from cfg.StartRate until a step fails (or halving
// until one holds), then bisecting cfg.Bisect times. It returns the
// measurement of the highest sustained step, nil if none held.
func findMax(ctx context.Context, cfg benchConfig, measure func(rate float64) *result) *result {
	const ceiling, floor = 256000, 50
	var good *result
	bad := 0.0
	for rate := cfg.StartRate; rate <= ceiling && ctx.Err() == nil; rate *= 2 {
		res := measure(rate)
		if !res.sustained(cfg.MaxP99) {
			bad = rate
			break
		}
		good = res
	}
	if good == nil {
		for rate := cfg.StartRate / 2; rate >= floor && ctx.Err() == nil; rate /= 2 {
			res := measure(rate)
			if res.sustained(cfg.MaxP99) {
				good = res
				break
			}
			bad = rate
		}
		if good == nil {
			return nil
		}
	}
	if bad == 0 {
		return good // held up to the ceiling
	}
	lo, hi := good.Run.Rate, bad
	for range cfg.Bisect {
		mid := math.Round((lo+hi)/2/50) * 50
		if mid <= lo || mid >= hi || ctx.Err() != nil {
			break
		}
		res := measure(mid)
		if res.sustained(cfg.MaxP99) {
			good, lo = res, mid
		} else {
			hi = mid
		}
	}
	return good
}

// addDeltas fills each fixed-rate row's latency added over the direct row
// at the same rate and mode.
func (rep *benchReport) addDeltas() {
	for i := range rep.rows {
		r := &rep.rows[i]
		if r.isMax || r.res.Run.Target.Name == "direct" {
			continue
		}
		if d := rep.find("direct", r.res.Run.Stream, r.res.Run.Rate); d != nil {
			r.added = [2]time.Duration{r.res.Percentile(0.5) - d.Percentile(0.5), r.res.Percentile(0.99) - d.Percentile(0.99)}
			r.hasAd = true
		}
	}
}

// find returns the fixed-rate row of target at rate and mode.
func (rep *benchReport) find(name string, stream bool, rate float64) *result {
	for _, r := range rep.rows {
		if !r.isMax && r.res.Run.Target.Name == name && r.res.Run.Stream == stream && r.res.Run.Rate == rate {
			return r.res
		}
	}
	return nil
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func signedMs(d time.Duration) string {
	s := ms(d)
	if d >= 0 {
		s = "+" + s
	}
	return s
}

// writeTable prints the one table: fixed-rate rows, then each target's
// highest sustained rate.
func (rep *benchReport) writeTable(w io.Writer) {
	fmt.Fprintln(w, "| target | mode | rate (req/s) | achieved (req/s) | p50 | p90 | p99 | p99.9 | errors | added p50 | added p99 |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rep.rows {
		res := r.res
		rate := fmt.Sprintf("%.0f", res.Run.Rate)
		if r.isMax {
			rate = "**max " + rate + "**"
		}
		a50, a99 := "", ""
		if r.hasAd {
			a50, a99 = signedMs(r.added[0]), signedMs(r.added[1])
		}
		errs := fmt.Sprintf("%d", res.Errors)
		if res.Errors > 0 {
			errs = fmt.Sprintf("%d (%.2f%%)", res.Errors, 100*res.ErrorRate())
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
			res.Run.Target.Name, modeName(res.Run.Stream), rate, res.Achieved(),
			ms(res.Percentile(0.5)), ms(res.Percentile(0.9)), ms(res.Percentile(0.99)), ms(res.Percentile(0.999)),
			errs, a50, a99)
	}
	for _, r := range rep.rows {
		if r.res.Errors > 0 {
			fmt.Fprintf(w, "\nerrors, %s %s at %.0f/s: %s", r.res.Run.Target.Name, modeName(r.res.Run.Stream), r.res.Run.Rate, topErrors(r.res, 3))
		}
	}
	fmt.Fprintln(w)
}

// bar is one pass/fail check.
type bar struct {
	Name   string
	Pass   bool
	Known  bool // false: not measured in this run
	Detail string
}

// bars checks the bars: the gateway sustains at least 70% of the
// bare proxy's highest rate, and at 1000 req/s it adds at most 1 ms at p99
// over direct; each in both modes measured.
func (rep *benchReport) bars() []bar {
	var out []bar
	modes := []bool{false}
	if rep.cfg.Stream {
		modes = append(modes, true)
	}
	for _, stream := range modes {
		m := modeName(stream)
		b := bar{Name: fmt.Sprintf("gateway sustains >= 70%% of the bare proxy's highest rate (%s)", m)}
		gw, px := rep.max["gateway/"+m], rep.max["proxy/"+m]
		switch _, ok := rep.max["gateway/"+m]; {
		case !ok || !slices.Contains(rep.cfg.Targets, "proxy"):
			b.Detail = "not measured (needs -find-max and both targets)"
		case px == nil:
			b.Detail = "the proxy sustained no rate"
		case gw == nil:
			b.Known, b.Detail = true, "the gateway sustained no rate"
		default:
			ratio := gw.Run.Rate / px.Run.Rate
			b.Known, b.Pass = true, ratio >= 0.7
			b.Detail = fmt.Sprintf("gateway %.0f/s vs proxy %.0f/s: %.0f%%", gw.Run.Rate, px.Run.Rate, 100*ratio)
		}
		out = append(out, b)

		b = bar{Name: fmt.Sprintf("at 1000 req/s the gateway adds <= 1 ms at p99 over direct (%s)", m)}
		g, d := rep.find("gateway", stream, 1000), rep.find("direct", stream, 1000)
		if g == nil || d == nil {
			b.Detail = "not measured (needs 1000 in -rates and both targets)"
		} else {
			added := g.Percentile(0.99) - d.Percentile(0.99)
			b.Known, b.Pass = true, added <= time.Millisecond && g.Errors == 0
			b.Detail = fmt.Sprintf("gateway p99 %s, direct p99 %s: %s", ms(g.Percentile(0.99)), ms(d.Percentile(0.99)), signedMs(added))
			if g.Errors > 0 {
				b.Detail += fmt.Sprintf(", and %d errors", g.Errors)
			}
		}
		out = append(out, b)
	}
	return out
}

func writeBars(w io.Writer, bars []bar) {
	for _, b := range bars {
		verdict := "n/a "
		if b.Known {
			verdict = "FAIL"
			if b.Pass {
				verdict = "PASS"
			}
		}
		fmt.Fprintf(w, "%s  %s: %s\n", verdict, b.Name, b.Detail)
	}
}

// machine describes where the numbers come from.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), GOMAXPROCS %d, %s %s/%s", runtime.NumCPU(), cpu, runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// loadavg is the 1, 5 and 15 minute load averages, for the report: other
// processes on the machine share the cores.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
