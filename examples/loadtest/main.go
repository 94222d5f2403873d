// Command loadtest measures what modelroute's gateway costs and checks that
// it keeps working under faults, churn and crashes.
//
//	go run ./examples/loadtest                 # the load table and its bars (about 10 minutes)
//	go run ./examples/loadtest -quick          # the same, shorter (about 2 minutes)
//	go run ./examples/loadtest -scale          # 100000 aliases and 10000 deployments in one Router
//	go run ./examples/loadtest -chaos 1m       # faults upstream under steady load
//	go run ./examples/loadtest -churn 1m       # aliases created, re-pointed, disabled, deleted under load
//	go run ./examples/loadtest -crash 20       # SIGKILL the gateway binary during admin writes and traffic, 20 times (SQLite)
//	go run ./examples/loadtest -crash 20 -crash-database postgres://…  # the same on PostgreSQL
//	go run ./examples/loadtest -external       # every part its own process, driven by wrk (about 1.5 minutes)
//
// # External
//
// With -external the gateway is measured as users run it: the
// examples/gateway binary (go build), the providertest fake upstream and a
// bare httputil.ReverseProxy each run as a process of their own (the tool
// starts its own executable again for the upstream and the proxy), and wrk
// (Debian: apt-get install -y wrk) drives the proxy and the gateway in
// turn: plain and streamed chat completions through the alias, with -conns
// connections (8 and 32) on -threads threads, -duration each (10 s). The
// table gives each target's req/s, p50, p90 and p99, and on the gateway's
// rows its req/s over the proxy's and the p50 it adds; the bars: at least
// 0.9× the proxy's req/s everywhere, at most 0.2 ms added p50 at 8
// connections. -cpuprofile then profiles the gateway process:
//
//	go run ./examples/loadtest -external -cpuprofile gw.out
//	go tool pprof -top -cum gw.out
//
// # Load
//
// Everything runs on loopback in one process: the providertest fake
// OpenAI-compatible server on a listener of its own, a bare
// httputil.ReverseProxy in front of it (the cost of a Go HTTP hop that
// parses nothing), and the gateway, wired as examples/gateway wires it (alias
// Registry, access Checker and Usage persisted to a temporary state
// directory, Router over a LiteLLM config, HealthChecker, router/httpapi
// behind a virtual key) in front of it. With -exec the gateway is instead
// the examples/gateway binary, built and run as a process of its own.
//
// Chat completions go through the alias "smart" (a group of two
// deployments on the fake), plain and streamed (seven content chunks).
// Fixed-rate runs are open-loop: a scheduler hands request i, due at
// start + i/rate, to an idle worker whatever the earlier requests are doing,
// at most -max-inflight at once (a request due beyond that is not sent and
// counts as an error); latency runs from each request's due time, so
// queueing anywhere, in the load generator included, counts. Each target
// has its own keep-alive client keeping -max-inflight idle connections; the
// reverse proxy and the gateway (its deployments share one client) keep
// 1024 idle connections to the upstream (provider.NewHTTPClient), unless
// -upstream-idle says otherwise.
//
// The tool prints one table: for each rate of -rates, target and mode, the
// achieved throughput, p50, p90, p99, p99.9, errors, and the latency added
// over direct at the same rate and mode at p50 and p99 (each cell measured
// -repeat times, interleaved, the round with the median p99 shown); each
// target's peak throughput, closed loop with -workers requests in flight
// (the median of -repeat rounds); and each target's highest rate with p99
// under -max-p99, found by doubling from -start-rate, then bisecting (a
// step that fails is tried -retries more times). Then the bars: the gateway
// keeps at least 70% of the bare proxy's throughput (judged on peak
// throughput, and shown for the highest sustained rate too), and at 1000
// req/s it adds at most 1 ms at p99 over direct.
//
// The load generator, the fake upstream, the proxy and the gateway share
// the machine's cores, as they would on one 2-core host; so does anything
// else running there. The tool prints the load average, and for each run
// the kernel's loopback backlog drops and TCP retransmissions. Every
// part's goroutines carry the profiler label part=loadgen, upstream, proxy
// or gateway, so a -cpuprofile splits by part:
//
//	go run ./examples/loadtest -targets gateway -rates "" -find-max=false -cpuprofile cpu.out
//	go tool pprof -tags cpu.out                           # CPU per part
//	go tool pprof -tagfocus part=gateway -top -cum cpu.out
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if part := os.Getenv(partEnv); part != "" {
		// A part of -external, started by the tool itself.
		if err := servePart(ctx, part, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errBarsFailed) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// errBarsFailed is returned when a measurement ran but missed a bar.
var errBarsFailed = errors.New("a bar was missed")

type options struct {
	bench      benchConfig
	rates      string
	targets    string
	quick      bool
	load       bool
	cpuprofile string

	scale       bool
	aliases     int
	deployments int

	chaos     time.Duration
	chaosRate float64
	chaosDrop bool
	chaosWait time.Duration
	chaosCool time.Duration

	churn     time.Duration
	churnRate float64

	crash         int
	crashDatabase string

	external bool
	ext      externalConfig
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(out)
	b := &o.bench
	fs.DurationVar(&b.Duration, "duration", 5*time.Second, "length of each fixed-rate run")
	fs.DurationVar(&b.Warmup, "warmup", time.Second, "unrecorded run at 200 req/s per target and mode before the measurements")
	fs.StringVar(&o.rates, "rates", "500,1000,2000", "fixed rates to measure, requests per second, comma-separated")
	fs.BoolVar(&b.Stream, "stream", true, "measure streamed chat completions")
	plain := fs.Bool("plain", true, "measure plain (non-streamed) chat completions")
	fs.BoolVar(&b.Saturate, "peak", true, "measure each target's peak throughput, closed loop with -workers requests in flight")
	fs.IntVar(&b.Workers, "workers", 64, "requests in flight for -peak")
	fs.BoolVar(&b.FindMax, "find-max", true, "search each target's highest rate with p99 under -max-p99")
	fs.DurationVar(&b.Step, "step", 3*time.Second, "length of each step of the search")
	fs.Float64Var(&b.StartRate, "start-rate", 1000, "first rate of the search")
	fs.IntVar(&b.Bisect, "bisect", 3, "bisection steps of the search after the doubling")
	fs.IntVar(&b.Retries, "retries", 1, "more tries of a search step that failed (a burst of another process's work should not end the search)")
	fs.IntVar(&b.Repeat, "repeat", 3, "rounds of the fixed-rate runs, interleaved; the table shows each cell's round with the median p99")
	fs.DurationVar(&b.MaxP99, "max-p99", 50*time.Millisecond, "the search's p99 bar")
	fs.StringVar(&o.targets, "targets", "direct,proxy,gateway", "targets to measure, comma-separated")
	fs.IntVar(&b.MaxInFlight, "max-inflight", 2000, "most requests in flight per run; a request due beyond it is not sent and counts as an error")
	fs.DurationVar(&b.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.IntVar(&b.UpstreamIdle, "upstream-idle", 0, "idle connections per host the proxy and the in-process gateway keep to the upstream (0: provider.NewHTTPClient's 1024)")
	fs.BoolVar(&b.Exec, "exec", false, "run the gateway as the examples/gateway binary (go build), in a process of its own")
	fs.BoolVar(&o.quick, "quick", false, "shorter: -duration 2s -step 1s -bisect 2 -rates 1000 (unless given)")
	fs.BoolVar(&o.load, "load", true, "run the load table (off by default when -scale, -chaos, -churn or -crash is given)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run (every part runs in this process unless -exec) to this file")

	fs.BoolVar(&o.scale, "scale", false, "measure one Router with -aliases aliases and -deployments deployments")
	fs.IntVar(&o.aliases, "aliases", 100000, "aliases for -scale")
	fs.IntVar(&o.deployments, "deployments", 10000, "deployments for -scale")

	fs.DurationVar(&o.chaos, "chaos", 0, "run the chaos scenario for this long (0: not)")
	fs.Float64Var(&o.chaosRate, "chaos-rate", 50, "requests per second during -chaos")
	fs.DurationVar(&o.chaosCool, "chaos-cooldown", time.Second, "the router's cooldown_time during -chaos")
	fs.BoolVar(&o.chaosDrop, "chaos-drop", false, "the down deployment drops connections instead of answering 503")
	fs.DurationVar(&o.chaosWait, "chaos-max-wait", 0, "the router's MaxCooldownWait during -chaos, which a LiteLLM config cannot set (0: the router's default, the gateway exactly as configured)")

	fs.DurationVar(&o.churn, "churn", 0, "run the alias churn scenario for this long (0: not)")
	fs.Float64Var(&o.churnRate, "churn-rate", 300, "requests per second during -churn")

	fs.IntVar(&o.crash, "crash", 0, "SIGKILL the gateway binary during admin writes and traffic this many times (0: not)")
	fs.StringVar(&o.crashDatabase, "crash-database", "", "-crash: a PostgreSQL URL of an empty database for the gateway's -database (default: SQLite under -state)")

	fs.BoolVar(&o.external, "external", false, "measure the gateway binary, the bare proxy and the fake upstream each as a process of its own, driven by wrk: -conns, -threads, -duration (default 10s here), -warmup, -repeat (default 1 here), -targets (default proxy,gateway here), -plain, -stream; -cpuprofile profiles the gateway process")
	conns := fs.String("conns", "8,32", "-external: wrk connection counts, comma-separated")
	fs.IntVar(&o.ext.Threads, "threads", 2, "-external: wrk threads (-t)")
	fs.StringVar(&o.ext.Wrk, "wrk", "", "-external: the wrk executable (default: wrk on PATH)")

	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.external {
		if !set["duration"] {
			b.Duration = 10 * time.Second
		}
		if !set["repeat"] {
			b.Repeat = 1
		}
		if !set["targets"] {
			o.targets = "proxy,gateway"
		}
		if !set["load"] {
			o.load = false
		}
		if err := o.ext.parse(*conns); err != nil {
			return o, err
		}
	}
	b.NoPlain = !*plain
	if b.NoPlain && !b.Stream {
		return o, errors.New("-plain=false and -stream=false: nothing to measure")
	}
	if !set["load"] && (o.scale || o.chaos > 0 || o.churn > 0 || o.crash > 0) {
		o.load = false
	}
	if o.quick {
		if !set["duration"] {
			b.Duration = 2 * time.Second
		}
		if !set["step"] {
			b.Step = time.Second
		}
		if !set["bisect"] {
			b.Bisect = 2
		}
		if !set["rates"] {
			o.rates = "1000"
		}
		if !set["repeat"] {
			b.Repeat = 1
		}
	}
	for _, s := range strings.Split(o.rates, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r <= 0 {
			return o, fmt.Errorf("-rates: %q is not a positive number", s)
		}
		b.Rates = append(b.Rates, r)
	}
	for _, s := range strings.Split(o.targets, ",") {
		switch s = strings.TrimSpace(s); s {
		case "direct", "proxy", "gateway":
			b.Targets = append(b.Targets, s)
		case "":
		default:
			return o, fmt.Errorf("-targets: unknown target %q (direct, proxy, gateway)", s)
		}
	}
	if len(b.Targets) == 0 {
		return o, errors.New("-targets: none")
	}
	if o.external {
		e := &o.ext
		e.Duration, e.Warmup, e.Repeat, e.Targets, e.Modes, e.CPUProfile = b.Duration, b.Warmup, b.Repeat, b.Targets, b.modes(), o.cpuprofile
		if e.Duration < time.Second {
			return o, errors.New("-duration: wrk runs whole seconds, at least 1s")
		}
		o.cpuprofile = "" // the gateway process's, not the tool's
	}
	if b.MaxInFlight < 1 || b.Workers < 1 || b.Duration <= 0 || b.Step <= 0 || b.StartRate <= 0 {
		return o, errors.New("-max-inflight, -duration, -step and -start-rate must be positive")
	}
	return o, nil
}

// run parses args and runs what they ask; results go to out, progress to
// progress.
func run(ctx context.Context, args []string, out, progress io.Writer) error {
	o, err := parseFlags(args, progress)
	if err != nil {
		return err
	}
	o.bench.Progress = progress
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(out, "machine: %s\nload average before: %s\n\n", machine(), loadavg())
	var failed bool
	if o.load {
		rep, err := runBench(ctx, o.bench)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "gateway: %s\nfixed-rate runs %v each, %d rounds (each cell: the round with the median p99); search steps %v (a failed step tried %d more time(s)), p99 bar %v; at most %d requests in flight\n\n",
			rep.gateway, o.bench.Duration, max(o.bench.Repeat, 1), o.bench.Step, o.bench.Retries, o.bench.MaxP99, o.bench.MaxInFlight)
		rep.writeTable(out)
		fmt.Fprintln(out)
		bars := rep.bars()
		writeBars(out, bars)
		for _, b := range bars {
			failed = failed || b.Known && !b.Pass
		}
		fmt.Fprintln(out)
	}
	if o.external {
		o.ext.Progress = progress
		if o.ext.Wrk, err = findWrk(o.ext.Wrk); err != nil {
			return err
		}
		rep, err := runExternal(ctx, o.ext)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "every part its own process, driven by wrk -t%d, %v per run, %d round(s) (each cell: the median round; the proxy and the gateway: the round with the median ratio)\n\n",
			o.ext.Threads, o.ext.Duration, max(o.ext.Repeat, 1))
		rep.write(out)
		fmt.Fprintln(out)
		bars := rep.bars()
		writeBars(out, bars)
		for _, b := range bars {
			failed = failed || b.Known && !b.Pass
		}
		fmt.Fprintln(out)
	}
	if o.scale {
		rep, err := runScale(ctx, scaleConfig{Aliases: o.aliases, Deployments: o.deployments, Bench: true, Progress: progress})
		if err != nil {
			return err
		}
		rep.write(out)
		fmt.Fprintln(out)
	}
	if o.chaos > 0 {
		rep, err := runChaos(ctx, chaosConfig{Duration: o.chaos, Rate: o.chaosRate, Drop: o.chaosDrop, MaxCooldownWait: o.chaosWait, Cooldown: o.chaosCool})
		if err != nil {
			return err
		}
		rep.write(out)
		failed = failed || !rep.ok()
		fmt.Fprintln(out)
	}
	if o.churn > 0 {
		rep, err := runChurn(ctx, churnConfig{Duration: o.churn, Rate: o.churnRate})
		if err != nil {
			return err
		}
		rep.write(out)
		failed = failed || !rep.ok()
		fmt.Fprintln(out)
	}
	if o.crash > 0 {
		rep, err := runCrash(ctx, crashConfig{Cycles: o.crash, Database: o.crashDatabase})
		if err != nil {
			return err
		}
		rep.write(out)
		failed = failed || !rep.ok()
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "load average after: %s\n", loadavg())
	if failed {
		return errBarsFailed
	}
	return nil
}
