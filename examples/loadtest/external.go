package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
)

// The external mode (-external) measures the gateway as users run it: the
// examples/gateway binary, the providertest fake upstream and a bare
// httputil.ReverseProxy each run as a process of their own (the upstream
// and the proxy are this tool's executable, started again with partEnv
// set), and wrk, a load generator of its own, drives them from outside.

// partEnv, when set in the environment, makes the tool's executable serve
// one part of the external mode instead of measuring: "upstream" (the fake
// OpenAI-compatible server) or "proxy" (a bare reverse proxy to the URL in
// proxyTargetEnv).
const (
	partEnv        = "MODELROUTE_LOADTEST_PART"
	proxyTargetEnv = "MODELROUTE_LOADTEST_PROXY_TARGET"
)

// partReady matches the line a part prints once it accepts connections.
var partReady = regexp.MustCompile(`loadtest part ready.* addr=(127\.0\.0\.1:[0-9]+)`)

// externalBars are the bars for the external mode.
const (
	minExternalRatio = 0.9                    // the gateway's req/s over the proxy's, every mode and connection count
	maxAddedP50      = 200 * time.Microsecond // the gateway's p50 over the proxy's, at barConns connections
	barConns         = 8
)

// servePart serves the part named part (see partEnv) on a loopback port
// until ctx is done, announcing its address on out.
func servePart(ctx context.Context, part string, out io.Writer) error {
	var s *server
	var closeFn func()
	switch part {
	case "upstream":
		up, err := startUpstream(false, providertest.WithChunks(streamChunks()...))
		if err != nil {
			return err
		}
		s, closeFn = up.server, up.Close
	case "proxy":
		target := os.Getenv(proxyTargetEnv)
		if target == "" {
			return fmt.Errorf("part proxy: %s is not set", proxyTargetEnv)
		}
		px, _, closePx, err := startProxy(target, 0)
		if err != nil {
			return err
		}
		s, closeFn = px, closePx
	default:
		return fmt.Errorf("%s=%q: unknown part (upstream, proxy)", partEnv, part)
	}
	defer closeFn()
	fmt.Fprintf(out, "loadtest part ready part=%s addr=%s\n", part, s.addr)
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.errc:
		s.errc <- err // for closeFn
		return err
	}
}

// startPart runs this tool's executable again as the part named part, with
// the extra environment env, and waits for it to be ready.
func startPart(part string, env ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("part %s: %w", part, err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), partEnv+"="+part), env...)
	return startCmd(part, cmd, partReady)
}

// externalConfig is what an external measurement runs.
type externalConfig struct {
	Wrk        string        // the wrk executable
	Duration   time.Duration // of each wrk run; whole seconds
	Warmup     time.Duration // of the unrecorded wrk run per target and mode first; 0: none
	Conns      []int         // connection counts to measure
	Threads    int           // wrk's -t, at most the smallest of Conns
	Modes      []bool        // false: plain, true: streamed
	Targets    []string      // of "direct", "proxy", "gateway"
	Repeat     int           // interleaved rounds; each cell shows its median round (the proxy's and the gateway's: by their ratio)
	CPUProfile string        // when set, the gateway binary writes its CPU profile here
	Progress   io.Writer     // progress lines; nil: none
}

func (cfg *externalConfig) progress(format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

// parse sets Conns from a comma-separated list and checks Threads.
func (cfg *externalConfig) parse(conns string) error {
	cfg.Conns = nil
	for _, s := range strings.Split(conns, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-conns: %q is not a positive whole number", s)
		}
		cfg.Conns = append(cfg.Conns, n)
	}
	if len(cfg.Conns) == 0 {
		return errors.New("-conns: none")
	}
	if cfg.Threads < 1 {
		return fmt.Errorf("-threads: %d is not positive", cfg.Threads)
	}
	return nil
}

// findWrk returns the wrk to run: path when set, else wrk on PATH.
func findWrk(path string) (string, error) {
	if path == "" {
		path = "wrk"
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("-external needs wrk (%v); on Debian or Ubuntu: apt-get install -y wrk", err)
	}
	return p, nil
}

// wrkResult is one wrk run's summary.
type wrkResult struct {
	Target string
	Stream bool
	Conns  int

	Requests     int64
	Duration     time.Duration
	SocketErrors int64 // connect, read, write and timeout errors
	StatusErrors int64 // answers with a status other than 2xx or 3xx
	P50, P90     time.Duration
	P99, Max     time.Duration
	Load         string // the load average after the run
	// CPU is the CPU time the target's process used during the run (user
	// and system, from /proc); 0 where it cannot be read.
	CPU time.Duration
}

// CPUPerRequest is the target process's CPU time per completed request: a
// cost that the other processes on the machine disturb much less than
// they disturb req/s and latency.
func (r *wrkResult) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// processCPU returns the user and system CPU time process pid has used, on
// Linux; ok is false elsewhere.
func processCPU(pid int) (_ time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from the last ')'. utime and stime are fields 14 and 15, in clock
	// ticks of 1/100 s (USER_HZ, fixed for user space on Linux).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// Rate is the completed requests per second.
func (r *wrkResult) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

// Errors counts every failed request.
func (r *wrkResult) Errors() int64 { return r.SocketErrors + r.StatusErrors }

// wrkScript makes every wrk request a POST of the body given as the
// script's first argument, with the key given as its second (if any), and
// prints the summary as one line wrkSummary parses. Latencies are in
// microseconds.
const wrkScript = `-- modelroute loadtest: a POST per request, the summary on one line.
function init(args)
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/json"
  if args[2] ~= nil and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("modelroute-wrk requests=%d duration_us=%d socket_errors=%d status_errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
    math.floor(latency:percentile(99)), math.floor(latency.max)))
end
`

// parseWrkSummary reads the summary line wrkScript prints from wrk's
// output into r.
func parseWrkSummary(out string, r *wrkResult) error {
	var line string
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "modelroute-wrk ") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		return errors.New("wrk printed no summary line")
	}
	var reqs, dur, sock, status, p50, p90, p99, mx int64
	n, err := fmt.Sscanf(line, "modelroute-wrk requests=%d duration_us=%d socket_errors=%d status_errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d",
		&reqs, &dur, &sock, &status, &p50, &p90, &p99, &mx)
	if err != nil || n != 8 {
		return fmt.Errorf("wrk summary %q: %v", line, err)
	}
	if reqs < 0 || dur <= 0 {
		return fmt.Errorf("wrk summary %q: no requests or no duration", line)
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	r.Requests, r.Duration, r.SocketErrors, r.StatusErrors = reqs, us(dur), sock, status
	r.P50, r.P90, r.P99, r.Max = us(p50), us(p90), us(p99), us(mx)
	return nil
}

// externalTarget is one target of the external mode.
type externalTarget struct {
	URL string // the chat completions URL
	Key string // "" for none
	PID int    // the process serving it
}

// runWrk drives t with wrk for d with conns connections and threads
// threads.
func runWrk(ctx context.Context, cfg externalConfig, script string, name string, t externalTarget, stream bool, conns int, d time.Duration) (*wrkResult, error) {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	args := []string{
		"-t", fmt.Sprint(min(cfg.Threads, conns)), "-c", fmt.Sprint(conns), "-d", fmt.Sprintf("%ds", secs),
		"--timeout", "10s", "-s", script, t.URL, "--", string(chatBody(loadAlias, stream)), t.Key,
	}
	cmd := exec.CommandContext(ctx, cfg.Wrk, args...)
	cpu0, ok0 := processCPU(t.PID)
	out, err := cmd.CombinedOutput()
	cpu1, ok1 := processCPU(t.PID)
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args[:len(args)-1], " "), err, out)
	}
	r := &wrkResult{Target: name, Stream: stream, Conns: conns, Load: loadavg()}
	if ok0 && ok1 {
		r.CPU = cpu1 - cpu0
	}
	if err := parseWrkSummary(string(out), r); err != nil {
		return nil, fmt.Errorf("%s %s, %d conns: %w\n%s", name, modeName(stream), conns, err, out)
	}
	return r, nil
}

// externalReport is what an external measurement found: for each mode,
// connection count and target (in that order), the median round (for the
// proxy and the gateway, the round with the median ratio between them).
type externalReport struct {
	cfg  externalConfig
	rows []*wrkResult
}

// runExternal starts the parts as processes of their own and measures each
// target with wrk: every mode and connection count, the targets
// interleaved, cfg.Repeat rounds.
func runExternal(ctx context.Context, cfg externalConfig) (_ *externalReport, err error) {
	dir, err := os.MkdirTemp("", "modelroute-loadtest-external-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "chat.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return nil, err
	}
	cfg.progress("building %s", gatewayPkg)
	bin, err := buildGatewayBinary(ctx, dir)
	if err != nil {
		return nil, err
	}

	up, err := startPart("upstream")
	if err != nil {
		return nil, err
	}
	defer up.stop()
	px, err := startPart("proxy", proxyTargetEnv+"="+up.URL())
	if err != nil {
		return nil, err
	}
	defer px.stop()
	conf := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(loadConfig, up.URL()+"/v1")), 0o600); err != nil {
		return nil, err
	}
	args := []string{"-config", conf, "-state", filepath.Join(dir, "state"), "-addr", "127.0.0.1:0"}
	if cfg.CPUProfile != "" {
		args = append(args, "-cpuprofile", cfg.CPUProfile)
	}
	gw, err := startProc(bin, args...)
	if err != nil {
		return nil, err
	}
	gwStopped := false
	defer func() {
		if !gwStopped {
			gw.stop()
		}
	}()
	adm := &admin{base: gw.URL(), client: newClient(4)}
	defer adm.client.CloseIdleConnections()
	key, err := adm.generateKey(ctx, []string{loadAlias})
	if err != nil {
		return nil, err
	}
	targets := map[string]externalTarget{
		"direct":  {URL: up.URL() + "/v1/chat/completions", PID: up.cmd.Process.Pid},
		"proxy":   {URL: px.URL() + "/v1/chat/completions", PID: px.cmd.Process.Pid},
		"gateway": {URL: gw.URL() + "/v1/chat/completions", Key: key, PID: gw.cmd.Process.Pid},
	}
	for _, name := range cfg.Targets {
		for _, stream := range cfg.Modes {
			if err := checkTarget(ctx, name, targets[name], stream); err != nil {
				return nil, err
			}
		}
	}

	maxConns := slices.Max(cfg.Conns)
	if cfg.Warmup > 0 {
		cfg.progress("warm-up")
		for _, name := range cfg.Targets {
			for _, stream := range cfg.Modes {
				if _, err := runWrk(ctx, cfg, script, name, targets[name], stream, maxConns, cfg.Warmup); err != nil {
					return nil, err
				}
			}
		}
	}
	type cell struct {
		stream bool
		conns  int
		target string
	}
	var order []cell
	for _, stream := range cfg.Modes {
		for _, conns := range cfg.Conns {
			for _, name := range cfg.Targets {
				order = append(order, cell{stream, conns, name})
			}
		}
	}
	rounds := map[cell][]*wrkResult{}
	for round := range max(cfg.Repeat, 1) {
		cfg.progress("round %d of %d", round+1, max(cfg.Repeat, 1))
		for _, c := range order {
			r, err := runWrk(ctx, cfg, script, c.target, targets[c.target], c.stream, c.conns, cfg.Duration)
			if err != nil {
				return nil, err
			}
			cfg.progress("  %-8s %-6s %3d conns: %7.0f req/s  p50 %s  p99 %s  errors %d  CPU %s/request  (load %s)",
				c.target, modeName(c.stream), c.conns, r.Rate(), ms(r.P50), ms(r.P99), r.Errors(), us(r.CPUPerRequest()), r.Load)
			rounds[c] = append(rounds[c], r)
		}
	}
	rep := &externalReport{cfg: cfg}
	for _, c := range order {
		pick := medianRound(rounds[c])
		gw, px := rounds[cell{c.stream, c.conns, "gateway"}], rounds[cell{c.stream, c.conns, "proxy"}]
		if (c.target == "gateway" || c.target == "proxy") && gw != nil && px != nil {
			// Both from the round with the median ratio: in each round the
			// two ran back to back, under the machine's load of the moment.
			pick = medianRatioRound(gw, px)
		}
		rep.rows = append(rep.rows, rounds[c][pick])
	}
	// The gateway writes its profile when it shuts down.
	gwStopped = true
	if err := gw.stop(); err != nil {
		return nil, fmt.Errorf("gateway: %v\n%s", err, gw.out)
	}
	return rep, nil
}

// medianRound returns the index of the round with the median req/s.
func medianRound(rs []*wrkResult) int {
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(rs[a].Rate(), rs[b].Rate()) })
	return idx[len(idx)/2]
}

// medianRatioRound returns the index of the round with the median ratio of
// the gateway's req/s to the proxy's.
func medianRatioRound(gw, px []*wrkResult) int {
	ratios := make([]*wrkResult, len(gw)) // the ratio in Requests, per second of Duration
	for i := range gw {
		ratios[i] = &wrkResult{Requests: int64(1e6 * gw[i].Rate() / max(px[i].Rate(), 1e-9)), Duration: time.Second}
	}
	return medianRound(ratios)
}

// checkTarget sends one request to t and checks the answer (a 200 with
// choices, or a stream ending in [DONE]), so that wrk, which counts answers
// without reading them, measures working requests.
func checkTarget(ctx context.Context, name string, t externalTarget, stream bool) error {
	c := newClient(1)
	defer c.CloseIdleConnections()
	err := do(ctx, c, runSpec{Target: target{Name: name, URL: t.URL, Key: t.Key, Model: loadAlias}, Stream: stream, Timeout: 10 * time.Second}, chatBody(loadAlias, stream))
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, modeName(stream), err)
	}
	return nil
}

// find returns the row of target at mode and conns, or nil.
func (rep *externalReport) find(target string, stream bool, conns int) *wrkResult {
	for _, r := range rep.rows {
		if r.Target == target && r.Stream == stream && r.Conns == conns {
			return r
		}
	}
	return nil
}

// write prints the table: each target's req/s, p50, p90, p99, errors and
// CPU per request; on the gateway's rows its req/s over the proxy's, the
// p50 it adds and its CPU per request over the proxy's.
func (rep *externalReport) write(w io.Writer) {
	fmt.Fprintln(w, "| mode | conns | target | req/s | p50 | p90 | p99 | errors | CPU/request | gateway/proxy | added p50 | CPU/request vs proxy | load |")
	fmt.Fprintln(w, "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	for _, r := range rep.rows {
		ratio, added, cpu := "", "", ""
		if px := rep.find("proxy", r.Stream, r.Conns); r.Target == "gateway" && px != nil {
			ratio = fmt.Sprintf("%.2f×", r.Rate()/px.Rate())
			added = signedMs(r.P50 - px.P50)
			if px.CPU > 0 {
				cpu = fmt.Sprintf("%.2f×", float64(r.CPUPerRequest())/float64(px.CPUPerRequest()))
			}
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n",
			modeName(r.Stream), r.Conns, r.Target, r.Rate(), ms(r.P50), ms(r.P90), ms(r.P99), r.Errors(), us(r.CPUPerRequest()), ratio, added, cpu, r.Load)
	}
}

// us formats d in microseconds; "" for 0 (not measured).
func us(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// bars checks the bars: the gateway serves at least
// minExternalRatio of the proxy's req/s at every connection count and
// mode, without errors, and at barConns connections adds at most
// maxAddedP50 at p50.
func (rep *externalReport) bars() []bar {
	var out []bar
	for _, stream := range rep.cfg.Modes {
		m := modeName(stream)
		for _, conns := range rep.cfg.Conns {
			b := bar{Name: fmt.Sprintf("gateway >= %.1f× the proxy's req/s, %s, %d conns", minExternalRatio, m, conns)}
			g, p := rep.find("gateway", stream, conns), rep.find("proxy", stream, conns)
			if g == nil || p == nil {
				b.Detail = "not measured (needs targets proxy and gateway)"
				out = append(out, b)
				continue
			}
			ratio := g.Rate() / p.Rate()
			b.Known, b.Pass = true, ratio >= minExternalRatio && g.Errors() == 0
			b.Detail = fmt.Sprintf("gateway %.0f/s vs proxy %.0f/s: %.2f×", g.Rate(), p.Rate(), ratio)
			if g.Errors() > 0 {
				b.Detail += fmt.Sprintf(", and %d errors", g.Errors())
			}
			out = append(out, b)
			if conns == barConns {
				b := bar{Name: fmt.Sprintf("gateway adds <= %s at p50 over the proxy, %s, %d conns", ms(maxAddedP50), m, conns)}
				added := g.P50 - p.P50
				b.Known, b.Pass = true, added <= maxAddedP50
				b.Detail = fmt.Sprintf("gateway p50 %s, proxy p50 %s: %s", ms(g.P50), ms(p.P50), signedMs(added))
				out = append(out, b)
			}
		}
	}
	return out
}
