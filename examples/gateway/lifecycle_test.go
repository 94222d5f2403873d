package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
)

// TestPersistence: aliases, keys (and a deleted key), access groups,
// organizations, teams and usage written through the admin API survive
// stopping the gateway and starting it again on the same -state.
func TestPersistence(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	config, state := writeConfig(t, seedConfig, up), t.TempDir()
	m := testMasterKey

	g1 := startGateway(t, config, state)
	r := g1.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": "kept", "litellm_model": "model-group-2", "description": "survives"})
	mustStatus(t, "create kept", r, 201)
	created := decodeJSON[aliasView](t, "create kept", r)
	mustStatus(t, "create disabled", g1.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": "off", "litellm_model": "model-group-1", "active": false}), 201)
	mustStatus(t, "create access group", g1.do("POST", "/api/model-access-groups/create", m, map[string]any{"group_name": "ag", "model_aliases": []string{"kept"}}), 201)
	mustStatus(t, "create organization", g1.do("POST", "/api/organizations/create", m, map[string]any{"organization_id": "org-1"}), 201)
	mustStatus(t, "create team", g1.do("POST", "/api/teams/create", m, map[string]any{"organization_id": "org-1", "team_id": "team-1", "access_groups": []string{"ag"}}), 201)
	key := g1.generateKey(map[string]any{"models": []string{"kept", "alias-1"}})
	teamKey := g1.generateKey(map[string]any{"team_id": "team-1"})
	gone := g1.generateKey(map[string]any{})
	mustStatus(t, "delete a key", g1.do("POST", "/key/delete", m, map[string]any{"keys": []string{gone}}), 200)
	wantError(t, "deleted key", g1.chat(gone, "alias-1"), 401, "invalid_api_key")
	for range 2 {
		mustStatus(t, "chat kept", g1.chat(key, "kept"), 200)
	}
	g1.waitUsage(t, "kept", 2)
	if err := g1.stop(); err != nil {
		t.Fatalf("stopping the first gateway: %v", err)
	}
	// Keys are stored hashed: no secret is written under -state.
	noSecretsIn(t, state, key, teamKey, gone, testMasterKey, upstreamSecret)
	if _, err := http.Get(g1.base + "/health/liveliness"); err == nil {
		t.Fatalf("the first gateway still answers after run returned")
	}

	g2 := startGateway(t, config, state)
	a := g2.getAlias("kept")
	if a.LiteLLMModel != "model-group-2" || a.Description != "survives" || !a.Active || !a.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("kept after restart: %+v, want target model-group-2, description, active, created_at %v", a, created.CreatedAt)
	}
	if !slices.Equal(a.AccessGroups, []string{"ag"}) || a.TeamsWithAccess == nil || *a.TeamsWithAccess != 1 {
		t.Errorf("kept after restart: access_groups %q, teams_with_access %v; want [ag], 1", a.AccessGroups, a.TeamsWithAccess)
	}
	if a.UsageCount == nil || *a.UsageCount != 2 {
		t.Errorf("kept after restart: usage_count %v, want 2", a.UsageCount)
	}
	if off := g2.getAlias("off"); off.Active {
		t.Errorf("off after restart: %+v, want inactive", off)
	}
	wantError(t, "chat off after restart", g2.chat(m, "off"), 403, "model_disabled")
	r = g2.do("GET", "/api/teams", m, nil)
	mustStatus(t, "GET /api/teams", r, 200)
	if !strings.Contains(string(r.Body), `"team-1"`) {
		t.Errorf("GET /api/teams after restart: %s, want team-1", r.Body)
	}

	// The keys still work, with the same grants; the deleted one does not.
	ids := g2.modelIDs(key)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"alias-1", "kept"}) {
		t.Errorf("GET /v1/models for the key after restart: %q, want alias-1 and kept", ids)
	}
	r = g2.chat(key, "kept")
	mustStatus(t, "chat kept after restart", r, 200)
	if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-2" {
		t.Errorf("chat kept after restart: group %q, want model-group-2", got)
	}
	wantError(t, "key: chat model-group-1 after restart", g2.chat(key, "model-group-1"), 403, "model_access_denied")
	mustStatus(t, "team key: chat kept after restart", g2.chat(teamKey, "kept"), 200)
	wantError(t, "team key: chat alias-1 after restart", g2.chat(teamKey, "alias-1"), 403, "model_access_denied")
	wantError(t, "deleted key after restart", g2.chat(gone, "alias-1"), 401, "invalid_api_key")
	g2.waitUsage(t, "kept", 4)
}

// noSecretsIn fails the test if a file under dir contains one of secrets.
func noSecretsIn(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret (%.6s…)", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("nothing was written under -state %s", dir)
	}
}

// TestRepointUnderTraffic: clients keep calling an alias while an operator
// re-points it back and forth between two groups; no request fails, both
// groups serve, and every success is counted.
func TestRepointUnderTraffic(t *testing.T) {
	t.Parallel()
	g, up := seedGateway(t)
	m := testMasterKey
	mustStatus(t, "create flip", g.do("POST", "/api/model-aliases/create", m, map[string]any{"alias": "flip", "litellm_model": "model-group-1"}), 201)

	const clients, perClient, minFlips = 4, 40, 10
	var (
		wg       sync.WaitGroup
		ok       atomic.Int64
		failures = make(chan string, 1<<16)
		mu       sync.Mutex
		groups   = map[string]int{}
		stopFlip = make(chan struct{})
		flips    atomic.Int64
	)
	client := &http.Client{Timeout: 20 * time.Second}
	send := func(stream bool) string {
		body := fmt.Sprintf(`{"model":"flip","stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream)
		req, _ := http.NewRequest("POST", g.base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+m)
		resp, err := client.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err.Error()
		}
		if resp.StatusCode != 200 {
			return fmt.Sprintf("%d %s", resp.StatusCode, b)
		}
		if stream && !strings.HasSuffix(strings.TrimSpace(string(b)), "data: [DONE]") {
			return "stream did not end with [DONE]: " + string(b)
		}
		if !strings.Contains(string(b), `"model":"flip"`) {
			return "answer does not name flip: " + string(b)
		}
		mu.Lock()
		groups[resp.Header.Get("x-modelroute-model-group")]++
		mu.Unlock()
		return ""
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// At least perClient requests each, and on until the alias
			// has been re-pointed a few times (or 15s have passed).
			deadline := time.Now().Add(15 * time.Second)
			for i := 0; i < perClient || flips.Load() < minFlips && time.Now().Before(deadline); i++ {
				if f := send((c+i)%3 == 0); f != "" {
					failures <- f
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	flipDone := make(chan struct{})
	go func() {
		defer close(flipDone)
		targets := []string{"model-group-2", "model-group-1"}
		for i := 0; ; i++ {
			select {
			case <-stopFlip:
				return
			default:
			}
			r, err := tryDo("PUT", g.base+aliasPath("flip"), m, map[string]any{"litellm_model": targets[i%2]})
			if err != nil || r.Status != 200 {
				failures <- fmt.Sprintf("PUT: %v %v", r, err)
				return
			}
			flips.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(stopFlip)
	<-flipDone
	close(failures)
	for f := range failures {
		t.Errorf("failed during re-pointing: %s", f)
	}
	t.Logf("%d requests, %d re-points, served by %v", ok.Load(), flips.Load(), groups)
	if flips.Load() < minFlips {
		t.Errorf("only %d re-points happened during the traffic", flips.Load())
	}
	if len(groups) != 2 || groups["model-group-1"] == 0 || groups["model-group-2"] == 0 {
		t.Errorf("served by %v, want both model-group-1 and model-group-2", groups)
	}
	for gname, n := range groups {
		if gname != "model-group-1" && gname != "model-group-2" {
			t.Errorf("%d requests served by %q", n, gname)
		}
	}
	if n := int64(up.CountModel(upGroup1A) + up.CountModel(upGroup1B) + up.CountModel(upGroup2)); n != ok.Load() {
		t.Errorf("upstream calls %d, want one per successful request (%d)", n, ok.Load())
	}
	g.waitUsage(t, "flip", ok.Load())
}

// streamConfig has one slow streaming deployment (the fake upstream waits
// between chunks) and the seed groups.
const streamConfig = `
model_list:
  - model_name: slow
    litellm_params: {model: openai/slow-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-slow}
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-a}
router_settings:
  model_group_alias: {slow-alias: slow}
  num_retries: 0
  timeout: 60
general_settings:
  master_key: ` + testMasterKey + `
`

// readEvent reads the next SSE "data:" line.
func readEvent(br *bufio.Reader) (string, error) {
	for {
		line, err := br.ReadString('\n')
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			return d, nil
		}
		if err != nil {
			return "", err
		}
	}
}

// TestStreamClientDisconnect: a client that goes away in the middle of a
// slow stream makes the gateway drop the upstream call at once: the fake
// upstream's handler sees its request canceled long before the stream
// would have ended, nothing stays in flight upstream, and the gateway goes
// on serving.
func TestStreamClientDisconnect(t *testing.T) {
	t.Parallel()
	chunks := make([]string, 40)
	for i := range chunks {
		chunks[i] = fmt.Sprintf("c%d ", i)
	}
	up := newUpstream(t, providertest.WithChunks(chunks...))
	const chunkLatency = 500 * time.Millisecond // the whole stream: 20s
	up.SetFault("slow-model", providertest.Fault{ChunkLatency: chunkLatency})
	g := startGateway(t, writeConfig(t, streamConfig, up), t.TempDir())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.base+"/v1/chat/completions",
		strings.NewReader(`{"model":"slow-alias","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+testMasterKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	br := bufio.NewReader(resp.Body)
	first, err := readEvent(br)
	if err != nil {
		t.Fatalf("reading the first chunk: %v", err)
	}
	if !strings.Contains(first, `"model":"slow-alias"`) {
		t.Errorf("first chunk %s does not name slow-alias", first)
	}
	// The first chunk came through while the upstream is still streaming:
	// chunks are flushed as they arrive, not buffered to the end.
	if n := up.inFlight.Load(); n != 1 {
		t.Errorf("upstream requests in flight when the first chunk arrived: %d, want 1", n)
	}

	canceledAt := time.Now()
	cancel()
	select {
	case e := <-up.endc:
		if e.Path != "/v1/chat/completions" || !e.Canceled {
			t.Errorf("upstream request ended %+v, want the chat stream, canceled", e)
		}
		if d := time.Since(canceledAt); d > 5*time.Second {
			t.Errorf("the upstream call ended %v after the client left", d)
		}
		if e.Duration > 10*time.Second {
			t.Errorf("the upstream call lasted %v: the stream ran on after the client left", e.Duration)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the upstream stream was still running 10s after the client went away (a full stream takes %v)", chunkLatency*time.Duration(len(chunks)-1))
	}
	if !eventually(2*time.Second, func() bool { return up.inFlight.Load() == 0 }) {
		t.Errorf("upstream requests in flight after the client left: %d, want 0", up.inFlight.Load())
	}

	// The gateway goes on serving, the same deployment included.
	mustStatus(t, "chat after the disconnect", g.chat(testMasterKey, "model-group-1"), 200)
	up.ClearFaults()
	mustStatus(t, "chat slow-alias after the disconnect", g.chat(testMasterKey, "slow-alias"), 200)
	// Usage counts successful calls: the abandoned stream is not one.
	g.waitUsage(t, "slow-alias", 1)
}

// TestGracefulShutdown: requests in flight when the gateway's context is
// canceled (SIGTERM in main) finish, a slow plain answer and a slow stream
// alike, while new connections are refused; run then returns nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, providertest.WithChunks("a", "b", "c", "d"))
	up.SetFault("slow-model", providertest.Fault{Latency: 800 * time.Millisecond, ChunkLatency: 200 * time.Millisecond})
	g := startGateway(t, writeConfig(t, streamConfig, up), t.TempDir())

	type result struct {
		what string
		r    response
		err  error
	}
	results := make(chan result, 2)
	call := func(what string, stream bool) {
		body := fmt.Sprintf(`{"model":"slow","stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream)
		req, _ := http.NewRequest("POST", g.base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testMasterKey)
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			results <- result{what: what, err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		results <- result{what, response{resp.StatusCode, resp.Header, b}, err}
	}
	go call("plain", false)
	go call("stream", true)
	// Wait until both reached the upstream, which holds them.
	for range 2 {
		select {
		case <-up.startc:
		case <-time.After(10 * time.Second):
			t.Fatal("the requests did not reach the upstream")
		}
	}

	stopped := make(chan error, 1)
	go func() { stopped <- g.stop() }()

	// New connections are refused once shutdown has begun.
	addr := strings.TrimPrefix(g.base, "http://")
	if !eventually(5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}) {
		t.Errorf("the gateway still accepts connections after its context was canceled")
	}

	for range 2 {
		res := <-results
		if res.err != nil {
			t.Errorf("%s request in flight at shutdown: %v", res.what, res.err)
			continue
		}
		if res.r.Status != 200 {
			t.Errorf("%s request in flight at shutdown: %s, want 200", res.what, res.r)
			continue
		}
		switch res.what {
		case "plain":
			if !strings.Contains(string(res.r.Body), `"content":"abcd"`) {
				t.Errorf("plain answer cut short: %s", res.r.Body)
			}
		case "stream":
			body := string(res.r.Body)
			if !strings.HasSuffix(strings.TrimSpace(body), "data: [DONE]") || strings.Count(body, `"content":`) < 4 {
				t.Errorf("stream cut short at shutdown: %s", body)
			}
		}
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("run returned %v after a graceful shutdown, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after the in-flight requests finished")
	}
}
