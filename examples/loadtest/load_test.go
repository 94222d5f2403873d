package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of 4 is the 2nd", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p99.9 of 1..100 is the max", ms(hundred...), 0.999, 100 * time.Millisecond},
		{"p100", ms(1, 5, 9), 1, 9 * time.Millisecond},
		{"tiny p is the min", ms(1, 5, 9), 0.0001, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.in, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
			}
		})
	}
}

// TestAttack checks the generator against a local server: it sends
// rate × duration requests, counts what failed, and reads streams to the end.
func TestAttack(t *testing.T) {
	var n atomic.Int64
	s, err := serve("test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		var body bytes.Buffer
		body.ReadFrom(r.Body)
		switch {
		case i%10 == 0:
			http.Error(w, "no", http.StatusServiceUnavailable)
		case strings.Contains(body.String(), `"stream":true`):
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: {\"choices\":[]}\n\ndata: [DONE]\n\n"))
		default:
			w.Write([]byte(`{"choices":[]}`))
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := newClient(16)
	defer client.CloseIdleConnections()
	for _, stream := range []bool{false, true} {
		t.Run(modeName(stream), func(t *testing.T) {
			n.Store(0)
			res := attack(context.Background(), client, runSpec{
				Target: target{Name: "local", URL: s.URL(), Model: "m"}, Stream: stream,
				Rate: 200, Duration: 500 * time.Millisecond, MaxInFlight: 16, Timeout: 5 * time.Second,
			})
			got := map[string]int{"sent": res.Sent, "ok": res.OK, "errors": res.Errors, "latencies": len(res.Lat)}
			want := map[string]int{"sent": 100, "ok": 90, "errors": 10, "latencies": 90}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("counts (-want +got):\n%s\nerrors: %s", diff, topErrors(res, 3))
			}
			if res.ErrKinds["status 503"] != 10 {
				t.Errorf("error kinds %v, want 10× status 503", res.ErrKinds)
			}
			if a := res.Achieved(); a < 150 || a > 200 {
				t.Errorf("achieved %.0f/s, want about 180", a)
			}
		})
	}
}

// TestAttackBound: with every request stuck, the generator sends at most
// MaxInFlight and counts the rest as not sent.
func TestAttackBound(t *testing.T) {
	release := make(chan struct{})
	s, err := serve("test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte(`{"choices":[]}`))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := newClient(4)
	defer client.CloseIdleConnections()
	go func() {
		time.Sleep(400 * time.Millisecond) // the run is due to end at 250 ms
		close(release)
	}()
	res := attack(context.Background(), client, runSpec{
		Target: target{URL: s.URL(), Model: "m"}, Rate: 200, Duration: 250 * time.Millisecond, MaxInFlight: 4, Timeout: 5 * time.Second,
	})
	if res.OK != 4 || res.Dropped != res.Sent-4 || res.Sent != 50 {
		t.Errorf("sent %d, ok %d, dropped %d; want 50, 4, 46", res.Sent, res.OK, res.Dropped)
	}
	// Latency runs from the due time: the stuck requests waited ~400 ms.
	if p := res.Percentile(0.5); p < 300*time.Millisecond {
		t.Errorf("p50 %v, want at least 300ms", p)
	}
}

// TestFindMax checks the search on targets that hold up to a given rate.
func TestFindMax(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     float64
		start     float64
		wantRate  float64
		wantSteps []float64
	}{
		{"doubling then bisecting", 5000, 1000, 5000, []float64{1000, 2000, 4000, 8000, 6000, 5000, 5500}},
		// Bisection steps are rounded to multiples of 50: 375 → 400.
		{"halving when the start fails", 300, 1000, 300, []float64{1000, 500, 250, 400, 350, 300}},
		{"nothing holds", 10, 100, 0, []float64{100, 50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var steps []float64
			measure := func(rate float64) *result {
				steps = append(steps, rate)
				res := &result{Run: runSpec{Rate: rate}, Sent: 100, OK: 100, Elapsed: time.Duration(float64(100) / rate * float64(time.Second))}
				lat := time.Millisecond
				if rate > tc.limit {
					lat = time.Second
				}
				for range 100 {
					res.Lat = append(res.Lat, lat)
				}
				return res
			}
			best := findMax(context.Background(), benchConfig{StartRate: tc.start, Bisect: 3, MaxP99: 50 * time.Millisecond}, measure)
			got := 0.0
			if best != nil {
				got = best.Run.Rate
			}
			if got != tc.wantRate {
				t.Errorf("found %v, want %v", got, tc.wantRate)
			}
			if diff := cmp.Diff(tc.wantSteps, steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRun runs the tool's load measurement, tiny: every target, both
// modes, one low rate. Nothing may fail, and the table has every row.
func TestRun(t *testing.T) {
	var out, progress bytes.Buffer
	err := run(context.Background(), []string{"-rates", "100", "-duration", "500ms", "-warmup", "200ms", "-repeat", "1", "-find-max=false"}, &out, &progress)
	t.Logf("%s", out.String())
	if err != nil && err != errBarsFailed {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	for _, want := range []string{
		"| direct | plain | 100 |", "| proxy | plain | 100 |", "| gateway | plain | 100 |",
		"| direct | stream | 100 |", "| proxy | stream | 100 |", "| gateway | stream | 100 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table has no row %q", want)
		}
	}
	if strings.Contains(out.String(), "errors, ") {
		t.Errorf("some requests failed")
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{o.bench.Duration, o.bench.Step, o.bench.Rates, o.bench.Targets, o.load}
	want := []any{2 * time.Second, time.Second, []float64{1000}, []string{"direct", "proxy", "gateway"}, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-quick (-want +got):\n%s", diff)
	}
	o, err = parseFlags([]string{"-scale"}, &bytes.Buffer{})
	if err != nil || o.load {
		t.Errorf("-scale alone should not run the load table (load %v, err %v)", o.load, err)
	}
	for _, bad := range [][]string{{"-rates", "x"}, {"-targets", "nginx"}, {"-max-inflight", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
