package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/httpapi"
)

// TestNoGoroutineOutlivesClose, in a synctest bubble: a Router, its
// running HealthChecker (with a probe stuck in flight) and the httpapi
// handler serve plain, streamed and abandoned requests and admin writes;
// after Close nothing they started is left. synctest.Test fails the test
// if any goroutine of the bubble is still blocked when the function
// returns.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		reg, err := alias.New(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fast, slow := providertest.NewFake(), providertest.NewFake()
		slow.SetFunc(func(c providertest.Call) providertest.Reply {
			if c.Method == "probe" {
				return providertest.Reply{Latency: time.Hour} // in flight at Close
			}
			return providertest.Reply{Latency: 50 * time.Millisecond, Chunks: []string{"a", "b", "c"}}
		})
		rt, err := router.New(reg, router.Config{Deployments: []router.Deployment{
			{ID: "fast", Group: "g", Model: "openai/m", Provider: fast},
			{ID: "slow", Group: "g", Model: "openai/m", Provider: slow},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Create(ctx, alias.Alias{Name: "smart", Target: "g"}); err != nil {
			t.Fatal(err)
		}
		hc := rt.NewHealthChecker(router.WithHealthInterval(time.Second), router.WithHealthTimeout(2*time.Hour))
		hc.Start()
		ac, err := access.New(ctx)
		if err != nil {
			t.Fatal(err)
		}
		usage, err := access.NewUsage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h := httpapi.New(rt, reg, httpapi.WithAccess(ac), httpapi.WithUsage(usage),
			httpapi.WithHealthChecker(hc), httpapi.WithMasterKey(masterKey)).Mux()
		do := func(ctx context.Context, method, path, body string) *httptest.ResponseRecorder {
			r := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+masterKey)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		for i := range 20 {
			if w := do(ctx, "POST", "/v1/chat/completions", string(chatBody("smart", i%2 == 1))); w.Code != 200 {
				t.Fatalf("chat: %d %s", w.Code, w.Body)
			}
		}
		// Streams abandoned by their clients, mid-way and before the answer.
		for range 4 {
			cctx, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
			do(cctx, "POST", "/v1/chat/completions", string(chatBody("smart", true)))
			cancel()
		}
		if w := do(ctx, "POST", "/api/model-aliases/create", `{"alias":"other","litellm_model":"g"}`); w.Code != 201 {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		do(ctx, "GET", "/v1/models", "")
		// A health check whose caller gives up while the probe is stuck.
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		do(cctx, "GET", "/health", "")
		cancel()
		time.Sleep(5 * time.Second) // fake time: scheduled rounds run
		synctest.Wait()

		hc.Close()
		rt.Close()
		ac.Close()
		reg.Close()
	})
}

// TestGatewayGoroutines: the gateway as the tool wires it, on real
// loopback sockets with background health checks, serves plain, streamed
// and abandoned requests; after Close (server, health checker, Router,
// Registry, Checker, usage saver, the providers' idle connections) and
// the client's idle connections closed, the goroutine count is back to
// where it was.
//
// It also measures what a gateway leaves behind if its shutdown does not
// close the deployments' providers (examples/gateway did not, before it was
// fixed): their idle keep-alive connections to the upstream (two goroutines
// each on the client side, one on the server side here) outlive it until
// the upstream closes them or the transport's 90 s IdleConnTimeout passes.
func TestGatewayGoroutines(t *testing.T) {
	for _, tc := range []struct {
		name           string
		leaveProviders bool
	}{
		{"closing providers", false},
		{"providers left open", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, err := startUpstream(false, providertest.WithChunks("a", "b", "c", "d"))
			if err != nil {
				t.Fatal(err)
			}
			defer up.Close()
			up.fake.SetFault("slow-model", providertest.Fault{ChunkLatency: 50 * time.Millisecond})
			client := newClient(16)
			base := settle(t, runtime.NumGoroutine(), time.Second) // the upstream's accept loop is in the baseline

			cfg := fmt.Sprintf(`
model_list:
  - model_name: g
    litellm_params: {model: openai/m, api_base: %[1]s, api_key: k}
  - model_name: g
    litellm_params: {model: openai/slow-model, api_base: %[1]s, api_key: k}
router_settings:
  model_group_alias: {smart: g}
general_settings:
  master_key: %[2]s
  background_health_checks: true
  health_check_interval: 0.2
`, up.BaseURL(), masterKey)
			lc, err := parseConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			g, err := startGateway(context.Background(), lc, t.TempDir(), gatewayOptions{leaveProviders: tc.leaveProviders})
			if err != nil {
				t.Fatal(err)
			}
			url := g.URL() + "/v1/chat/completions"
			for i := range 20 {
				res := attack(context.Background(), client, runSpec{
					Target: target{URL: url, Key: masterKey, Model: "smart"}, Stream: i%2 == 1,
					Rate: 50, Duration: 100 * time.Millisecond, MaxInFlight: 8, Timeout: 10 * time.Second,
				})
				if res.Errors > 0 {
					t.Fatalf("requests failed: %s", topErrors(res, 3))
				}
			}
			// Streams abandoned by the client mid-way.
			for range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(chatBody("smart", true)))
				req.Header.Set("Authorization", "Bearer "+masterKey)
				if resp, err := client.Do(req); err == nil {
					bufio.NewReader(resp.Body).ReadString('\n')
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				cancel()
			}
			pause(context.Background(), 500*time.Millisecond) // health rounds run
			during := runtime.NumGoroutine()

			g.Close()
			client.CloseIdleConnections()
			if !tc.leaveProviders {
				if n := settle(t, base, 5*time.Second); n > base {
					dumpGoroutines(t)
					t.Fatalf("%d goroutines before the gateway, %d during, %d after Close", base, during, n)
				}
				return
			}
			left := settle(t, base, time.Second) - base
			t.Logf("%d goroutines before the gateway, %d during; examples/gateway's wiring leaves %d after Close (idle upstream connections of its providers)",
				base, during, left)
			for _, d := range g.cfg.Deployments {
				if c, ok := d.Provider.(io.Closer); ok {
					c.Close()
				}
			}
			g.upstream.CloseIdleConnections()
			if n := settle(t, base, 5*time.Second); n > base {
				dumpGoroutines(t)
				t.Fatalf("after closing the providers too: %d goroutines, want %d", n, base)
			}
		})
	}
}

// settle waits, at most limit, for the goroutine count to fall to want or
// below, and returns it.
func settle(t *testing.T, want int, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dumpGoroutines(t *testing.T) {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	t.Logf("goroutines:\n%s", b.String())
}
