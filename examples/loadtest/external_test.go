package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMain lets the test binary serve a part of the external mode when the
// tool's TestExternal starts it again as one (partEnv set), as the tool's
// own executable does.
func TestMain(m *testing.M) {
	if part := os.Getenv(partEnv); part != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := servePart(ctx, part, os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// wrkEnv names the wrk executable for TestExternal; .ci/run installs wrk
// and sets it.
const wrkEnv = "MODELROUTE_WRK"

// TestExternal runs the external mode at CI size: the gateway binary, the
// proxy and the upstream as processes of their own, one second of wrk per
// target, mode and connection count. Every cell must have served requests,
// the gateway's and the upstream's without an error, and the gateway's rows
// carry the ratio to the proxy. (The bare proxy itself loses a streamed
// connection now and then: httputil.ReverseProxy logs "read error during
// body copy: use of closed network connection" for it, and wrk counts a
// read error; that is the baseline's, not the gateway's, so it is only
// logged.)
func TestExternal(t *testing.T) {
	wrk := os.Getenv(wrkEnv)
	if wrk == "" {
		t.Skipf("%s is not set: this test drives the gateway with wrk (.ci/run installs wrk with apt-get and sets %s to its path)", wrkEnv, wrkEnv)
	}
	var progress bytes.Buffer
	cfg := externalConfig{
		Wrk: wrk, Duration: time.Second, Conns: []int{4}, Threads: 2,
		Modes: []bool{false, true}, Targets: []string{"direct", "proxy", "gateway"}, Repeat: 1,
		Progress: &progress,
	}
	rep, err := runExternal(t.Context(), cfg)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	var out bytes.Buffer
	rep.write(&out)
	writeBars(&out, rep.bars())
	t.Logf("\n%s", out.String())

	type cell struct {
		Mode   string
		Conns  int
		Target string
	}
	var got []cell
	for _, r := range rep.rows {
		got = append(got, cell{modeName(r.Stream), r.Conns, r.Target})
		if r.Requests == 0 || r.StatusErrors > 0 || r.Target != "proxy" && r.Errors() > 0 {
			t.Errorf("%s %s, %d conns: %d requests, %d errors; want some requests and no error", r.Target, modeName(r.Stream), r.Conns, r.Requests, r.Errors())
		}
	}
	want := []cell{
		{"plain", 4, "direct"}, {"plain", 4, "proxy"}, {"plain", 4, "gateway"},
		{"stream", 4, "direct"}, {"stream", 4, "proxy"}, {"stream", 4, "gateway"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.String(), "| plain | 4 | gateway |") || !strings.Contains(out.String(), "×") {
		t.Errorf("table lacks the gateway's row with its ratio:\n%s", out.String())
	}
}

func TestParseWrkSummary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		want    wrkResult
		wantErr bool
	}{
		{
			name: "summary after wrk's own lines",
			out: "Running 1s test @ http://127.0.0.1:1/v1/chat/completions\n  2 threads and 4 connections\n" +
				"modelroute-wrk requests=1200 duration_us=1000500 socket_errors=2 status_errors=1 p50_us=310 p90_us=650 p99_us=2100 max_us=9000\n",
			want: wrkResult{Requests: 1200, Duration: 1000500 * time.Microsecond, SocketErrors: 2, StatusErrors: 1,
				P50: 310 * time.Microsecond, P90: 650 * time.Microsecond, P99: 2100 * time.Microsecond, Max: 9 * time.Millisecond},
		},
		{name: "no summary", out: "Running 1s test\n", wantErr: true},
		{name: "truncated summary", out: "modelroute-wrk requests=5 duration_us=10\n", wantErr: true},
		{name: "zero duration", out: "modelroute-wrk requests=0 duration_us=0 socket_errors=0 status_errors=0 p50_us=0 p90_us=0 p99_us=0 max_us=0\n", wantErr: true},
		{name: "not numbers", out: "modelroute-wrk requests=x duration_us=1 socket_errors=0 status_errors=0 p50_us=0 p90_us=0 p99_us=0 max_us=0\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got wrkResult
			err := parseWrkSummary(tc.out, &got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestExternalBars: the ratio bar at every connection count and the added
// p50 bar at 8 connections, judged on the gateway's and the proxy's rows.
func TestExternalBars(t *testing.T) {
	row := func(target string, conns int, reqs int64, p50 time.Duration) *wrkResult {
		return &wrkResult{Target: target, Conns: conns, Requests: reqs, Duration: time.Second, P50: p50}
	}
	rep := &externalReport{
		cfg: externalConfig{Modes: []bool{false}, Conns: []int{8, 32}},
		rows: []*wrkResult{
			row("proxy", 8, 1000, 500*time.Microsecond), row("gateway", 8, 950, 650*time.Microsecond),
			row("proxy", 32, 1000, 2*time.Millisecond), row("gateway", 32, 800, 3*time.Millisecond),
		},
	}
	type verdict struct {
		Name string
		Pass bool
	}
	var got []verdict
	for _, b := range rep.bars() {
		got = append(got, verdict{b.Name, b.Pass})
	}
	want := []verdict{
		{"gateway >= 0.9× the proxy's req/s, plain, 8 conns", true},
		{"gateway adds <= 0.20 ms at p50 over the proxy, plain, 8 conns", true},
		{"gateway >= 0.9× the proxy's req/s, plain, 32 conns", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bars (-want +got):\n%s", diff)
	}
}

// TestProcessCPU: the tool reads its own CPU time from /proc, and it grows
// with work done.
func TestProcessCPU(t *testing.T) {
	before, ok := processCPU(os.Getpid())
	if !ok {
		t.Skip("no /proc/PID/stat on this system: CPU per request is not reported here")
	}
	deadline := time.Now().Add(time.Second)
	for {
		now, _ := processCPU(os.Getpid())
		if now > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time stayed at %v through a second of busy work", before)
		}
		for i := range 1_000_000 {
			_ = i * i
		}
	}
	if _, ok := processCPU(-1); ok {
		t.Errorf("processCPU(-1) reported a time")
	}
}

// TestMedianRatioRound: the proxy's and the gateway's rows come from one
// round, the one with the median ratio, not each from its own median.
func TestMedianRatioRound(t *testing.T) {
	r := func(reqs int64) *wrkResult { return &wrkResult{Requests: reqs, Duration: time.Second} }
	gw := []*wrkResult{r(900), r(1000), r(500)}
	px := []*wrkResult{r(1000), r(800), r(1000)} // ratios 0.9, 1.25, 0.5
	if got := medianRatioRound(gw, px); got != 0 {
		t.Errorf("medianRatioRound = round %d, want 0 (ratio 0.9)", got)
	}
	if got := medianRound(gw); got != 0 {
		t.Errorf("medianRound = round %d, want 0 (900 req/s)", got)
	}
}
