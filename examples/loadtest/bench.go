package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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

// streamChunks are the content chunks of the fake upstream's streamed
// answers in the load runs.
func streamChunks() []string {
	return []string{"Hello", "!", " How", " can", " I", " help", "?"}
}

// benchConfig is what a load measurement runs.
type benchConfig struct {
	Duration    time.Duration // of each fixed-rate run
	Warmup      time.Duration // of the unrecorded run per target and mode before the others
	Rates       []float64
	Stream      bool // measure streamed completions too
	NoPlain     bool // do not measure plain completions
	FindMax     bool
	Step        time.Duration // of each step of the search
	StartRate   float64       // first step of the search
	Bisect      int           // bisection steps after the doubling
	Retries     int           // more tries of a search step that failed
	Saturate    bool          // measure peak throughput, closed loop
	Workers     int           // requests in flight for Saturate
	Repeat      int           // rounds of the fixed-rate runs; the table shows each cell's median round by p99
	MaxP99      time.Duration // the search's bar
	Targets     []string      // of "direct", "proxy", "gateway"
	MaxInFlight int
	Timeout     time.Duration // per request
	Exec        bool          // run the gateway binary instead of in-process
	// UpstreamIdle, when positive, is the idle connections per host the
	// proxy and the gateway keep to the upstream instead of
	// provider.NewHTTPClient's 1024. In-process gateway only.
	UpstreamIdle int
	Progress     io.Writer // progress lines; nil: none
}

// benchEnv is the three targets on loopback: the fake upstream, a bare
// reverse proxy in front of it, and the gateway in front of it.
type benchEnv struct {
	targets map[string]target
	clients map[string]*http.Client
	gateway string // how the gateway runs, for the report
	closers []func()
	idle    []func() // drop the idle connections the parts keep to each other
}

// dropIdle closes every idle connection between the parts: after an
// overload, thousands of them (and the goroutines serving them) would
// otherwise weigh on the next measurement.
func (e *benchEnv) dropIdle() {
	for _, c := range e.clients {
		c.CloseIdleConnections()
	}
	for _, f := range e.idle {
		f()
	}
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
	up, err := startUpstream(false, providertest.WithChunks(streamChunks()...))
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, up.Close)
	e.targets["direct"] = target{Name: "direct", URL: up.URL() + "/v1/chat/completions", Model: loadAlias}

	px, pxTransport, closeProxy, err := startProxy(up.URL(), cfg.UpstreamIdle)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, closeProxy)
	e.idle = append(e.idle, pxTransport.CloseIdleConnections)
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
		g, err := startGateway(ctx, lc, dir, gatewayOptions{upstreamIdle: cfg.UpstreamIdle})
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, g.Close)
		e.idle = append(e.idle, g.upstream.CloseIdleConnections)
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
	peak  bool // a closed-loop saturation run
	runs  int  // rounds measured; the row is the median round
	added [2]time.Duration
	hasAd bool // added is set: there is a direct row at the same rate and mode
}

// benchReport is everything a load measurement found.
type benchReport struct {
	cfg     benchConfig
	gateway string
	rows    []row
	max     map[string]*result // target/mode → highest sustained step; nil entry: none sustained
	peak    map[string]*result // target/mode → median saturation round
}

func modeName(stream bool) string {
	if stream {
		return "stream"
	}
	return "plain"
}

// modes are the modes measured: false for plain, true for streamed.
func (cfg *benchConfig) modes() []bool {
	var m []bool
	if !cfg.NoPlain {
		m = append(m, false)
	}
	if cfg.Stream {
		m = append(m, true)
	}
	return m
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
	rep := &benchReport{cfg: cfg, gateway: env.gateway, max: map[string]*result{}, peak: map[string]*result{}}
	modes := cfg.modes()
	// measure runs one open-loop run at rate, or with rate 0 one
	// closed-loop run with cfg.Workers requests in flight.
	measure := func(name string, stream bool, rate float64, d time.Duration) *result {
		runtime.GC()
		pause(ctx, 200*time.Millisecond)
		rn := runSpec{Target: env.targets[name], Stream: stream, Rate: rate, Duration: d, MaxInFlight: cfg.MaxInFlight, Timeout: cfg.Timeout}
		var res *result
		d0, r0, _ := kernelCounters()
		labelled("loadgen", func() {
			if rate > 0 {
				res = attack(ctx, env.clients[name], rn)
			} else {
				rn.Workers = cfg.Workers
				res = saturate(ctx, env.clients[name], rn)
			}
		})
		d1, r1, _ := kernelCounters()
		res.KernelDrops, res.Retrans = d1-d0, r1-r0
		what := fmt.Sprintf("%7.0f/s", rate)
		if rate == 0 {
			what = fmt.Sprintf("%3d conns", cfg.Workers)
		}
		cfg.progress("  %-8s %-6s %s: achieved %7.0f/s  p50 %s  p99 %s  errors %d  (kernel: %d backlog drops, %d retransmissions; load %s)",
			name, modeName(stream), what, res.Achieved(), ms(res.Percentile(0.5)), ms(res.Percentile(0.99)), res.Errors, res.KernelDrops, res.Retrans, loadavg())
		return res
	}
	one := measure
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
	// Each cell is measured cfg.Repeat times, the rounds interleaved; the
	// table shows the round with the median p99, so that one burst of
	// another process's work on the shared cores does not decide a cell.
	cells := map[string][]*result{}
	var order []string
	for round := range max(cfg.Repeat, 1) {
		cfg.progress("fixed rates, round %d of %d", round+1, max(cfg.Repeat, 1))
		for _, rate := range cfg.Rates {
			for _, stream := range modes {
				for _, name := range cfg.Targets {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					k := fmt.Sprint(rate, stream, name)
					if round == 0 {
						order = append(order, k)
					}
					cells[k] = append(cells[k], one(name, stream, rate, cfg.Duration))
				}
			}
		}
	}
	for _, k := range order {
		rs := slices.Clone(cells[k])
		slices.SortStableFunc(rs, func(a, b *result) int { return cmp.Compare(a.Percentile(0.99), b.Percentile(0.99)) })
		rep.rows = append(rep.rows, row{res: rs[len(rs)/2], runs: len(rs)})
	}
	if cfg.Saturate {
		// Peak throughput: closed loop, cfg.Repeat interleaved rounds; the
		// median round by throughput.
		peaks := map[string][]*result{}
		for round := range max(cfg.Repeat, 1) {
			cfg.progress("peak throughput, %d requests in flight, round %d of %d", cfg.Workers, round+1, max(cfg.Repeat, 1))
			for _, stream := range modes {
				for _, name := range cfg.Targets {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					k := name + "/" + modeName(stream)
					peaks[k] = append(peaks[k], measure(name, stream, 0, cfg.Duration))
				}
			}
		}
		for _, stream := range modes {
			for _, name := range cfg.Targets {
				k := name + "/" + modeName(stream)
				rs := slices.Clone(peaks[k])
				slices.SortStableFunc(rs, func(a, b *result) int { return cmp.Compare(a.Achieved(), b.Achieved()) })
				rep.peak[k] = rs[len(rs)/2]
				rep.rows = append(rep.rows, row{res: rs[len(rs)/2], peak: true, runs: len(rs)})
			}
		}
	}
	if cfg.FindMax {
		for _, stream := range modes {
			for _, name := range cfg.Targets {
				cfg.progress("search: %s %s", name, modeName(stream))
				best := findMax(ctx, cfg, func(rate float64) *result {
					// A step that fails is tried once more: a rate is held
					// if either try holds it. An overloaded step leaves
					// work behind (abandoned requests still being served,
					// connections waiting out retransmission timeouts,
					// thousands of idle connections), so the idle
					// connections are dropped and the next step starts
					// after a settling pause.
					var res *result
					for try := 0; try <= cfg.Retries && ctx.Err() == nil; try++ {
						res = one(name, stream, rate, cfg.Step)
						if res.sustained(cfg.MaxP99) {
							break
						}
						env.dropIdle()
						pause(ctx, settleAfterOverload)
					}
					return res
				})
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

// settleAfterOverload is the pause after a search step that failed: longer
// than TCP's minimum retransmission timeout several times over.
const settleAfterOverload = 2 * time.Second

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
		if r.isMax || r.peak || r.res.Run.Target.Name == "direct" {
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
		if !r.isMax && !r.peak && r.res.Run.Target.Name == name && r.res.Run.Stream == stream && r.res.Run.Rate == rate {
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
		switch {
		case r.isMax:
			rate = "**max " + rate + "**"
		case r.peak:
			rate = fmt.Sprintf("**peak** (%d in flight)", res.Run.Workers)
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
	var drops, retrans int64
	for _, r := range rep.rows {
		drops += r.res.KernelDrops
		retrans += r.res.Retrans
	}
	if drops > 0 || retrans > 0 {
		fmt.Fprintf(w, "\nDuring the runs shown the kernel dropped %d loopback packets from its input backlog and retransmitted %d TCP segments (each drop stalls a connection for at least the 200 ms minimum RTO).", drops, retrans)
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

// bars checks the bars in each mode measured: the gateway's
// throughput is at least 70% of the bare proxy's (judged on peak
// throughput, closed loop, and shown also for the highest rate sustained
// with p99 under the search's bar), and at 1000 req/s it adds at most 1 ms
// at p99 over direct.
func (rep *benchReport) bars() []bar {
	var out []bar
	modes := rep.cfg.modes()
	ratio := func(name string, results map[string]*result, m string, value func(*result) float64) bar {
		b := bar{Name: fmt.Sprintf("gateway >= 70%% of the bare proxy, %s (%s)", name, m)}
		gw, okG := results["gateway/"+m]
		px, okP := results["proxy/"+m]
		switch {
		case !okG || !okP:
			b.Detail = "not measured"
		case px == nil:
			b.Detail = "the proxy sustained no rate"
		case gw == nil:
			b.Known, b.Detail = true, "the gateway sustained no rate"
		default:
			r := value(gw) / value(px)
			b.Known, b.Pass = true, r >= 0.7
			b.Detail = fmt.Sprintf("gateway %.0f/s vs proxy %.0f/s: %.0f%%", value(gw), value(px), 100*r)
		}
		return b
	}
	for _, stream := range modes {
		m := modeName(stream)
		out = append(out, ratio("peak throughput", rep.peak, m, (*result).Achieved))
		out = append(out, ratio("highest rate with p99 under "+rep.cfg.MaxP99.String(), rep.max, m, func(r *result) float64 { return r.Run.Rate }))

		b := bar{Name: fmt.Sprintf("at 1000 req/s the gateway adds <= 1 ms at p99 over direct (%s)", m)}
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

// kernelCounters reads, on Linux, the packets the kernel dropped from its
// per-CPU input backlog (loopback traffic goes through it; a drop costs the
// connection a retransmission after at least 200 ms) and the TCP segments
// retransmitted. ok is false where they cannot be read.
func kernelCounters() (drops, retrans int64, ok bool) {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			n, _ := strconv.ParseInt(f[1], 16, 64)
			drops += n
		}
	}
	b, err = os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, 0, false
	}
	var head []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, name := range head {
			if name == "RetransSegs" && i < len(f) {
				retrans, _ = strconv.ParseInt(f[i], 10, 64)
			}
		}
	}
	return drops, retrans, true
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
