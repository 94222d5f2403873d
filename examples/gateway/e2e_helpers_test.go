package main

// Helpers of the end-to-end tests: a fake upstream, a gateway started with
// run() on loopback over a config written by the test, and small HTTP
// helpers that check OpenAI's error shape.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
)

const (
	testMasterKey = "sk-test-master-5c1d"
	// upstreamSecret is the API key the config gives every deployment. The
	// fake upstream insists on it, and no gateway answer may contain it.
	upstreamSecret = "sk-upstream-secret-9f27c4e1"
)

// seedConfig is the seed scenario's LiteLLM config: two deployments in
// model-group-1, one in model-group-2 (another provider), an embedding
// model, alias-1 (string form) and hidden-1 ({model, hidden}). %[1]s is the
// fake upstream's base URL.
const seedConfig = `
model_list:
  - model_name: model-group-1
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s
      api_key: ` + upstreamSecret + `
    model_info: {id: dep-a}
  - model_name: model-group-1
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: %[1]s
      api_key: ` + upstreamSecret + `
    model_info: {id: dep-b}
  - model_name: model-group-2
    litellm_params:
      model: groq/llama-3.1-70b
      api_base: %[1]s
      api_key: ` + upstreamSecret + `
    model_info: {id: dep-c}
  - model_name: text-embedding-3-small
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: %[1]s
      api_key: ` + upstreamSecret + `
    model_info: {id: dep-emb, mode: embedding}
router_settings:
  model_group_alias:
    alias-1: model-group-1
    hidden-1: {model: model-group-1, hidden: true}
  num_retries: 2
  timeout: 30
general_settings:
  master_key: ` + testMasterKey + `
`

// Upstream models of the seed config, as the fake upstream sees them.
const (
	upGroup1A = "gpt-4o"
	upGroup1B = "gpt-4o-mini"
	upGroup2  = "llama-3.1-70b"
	upEmbed   = "text-embedding-3-small"
)

// upstream is the fake OpenAI-compatible upstream: a providertest.Handler
// (counts per path and model, faults) on an httptest server of its own,
// wrapped so that tests also see each request end and whether its context
// was canceled, that is whether the gateway dropped the upstream call.
type upstream struct {
	*providertest.Handler
	srv *httptest.Server

	inFlight atomic.Int64
	mu       sync.Mutex
	ended    []upstreamEnd
	endc     chan upstreamEnd // every end, for tests that wait on one (buffered, lossy)
	startc   chan string      // every start's path (buffered, lossy)
}

type upstreamEnd struct {
	Path     string
	Canceled bool // the request's context ended before the handler returned
	Duration time.Duration
}

func newUpstream(t testing.TB, opts ...providertest.Option) *upstream {
	t.Helper()
	opts = append([]providertest.Option{providertest.WithAPIKey(upstreamSecret)}, opts...)
	u := &upstream{
		Handler: providertest.NewHandler(opts...),
		endc:    make(chan upstreamEnd, 1024),
		startc:  make(chan string, 1024),
	}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		u.inFlight.Add(1)
		select {
		case u.startc <- r.URL.Path:
		default:
		}
		defer func() {
			e := upstreamEnd{Path: r.URL.Path, Canceled: r.Context().Err() != nil, Duration: time.Since(start)}
			u.inFlight.Add(-1)
			u.mu.Lock()
			u.ended = append(u.ended, e)
			u.mu.Unlock()
			select {
			case u.endc <- e:
			default:
			}
		}()
		u.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		u.Handler.Close()
		u.srv.Close()
	})
	return u
}

// URL is the base URL to give the config's api_base (ends in /v1).
func (u *upstream) URL() string { return u.srv.URL + "/v1" }

// syncBuffer collects the gateway's log for failure reports.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testGateway is a gateway started with run() on 127.0.0.1:0, as seen from
// one test: its helpers report to t. Subtests use g.with(t).
type testGateway struct {
	t testing.TB
	*gatewayProc
}

// with returns g reporting to t (a subtest).
func (g *testGateway) with(t testing.TB) *testGateway {
	return &testGateway{t: t, gatewayProc: g.gatewayProc}
}

// gatewayProc is one run of the gateway.
type gatewayProc struct {
	base   string // http://127.0.0.1:PORT
	state  string
	config string
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// writeConfig writes a config, with %[1]s replaced by up's base URL, to a
// file in a new temporary directory and returns its path.
func writeConfig(t testing.TB, tmpl string, up *upstream) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(tmpl, up.URL())), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startGateway runs the gateway over the config file and state directory
// until the test ends (or stop is called), and waits until it is ready.
func startGateway(t testing.TB, config, state string) *testGateway {
	t.Helper()
	return startGatewayArgs(t, config, state)
}

// startGatewayArgs is startGateway with more command-line arguments.
func startGatewayArgs(t testing.TB, config, state string, extra ...string) *testGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &testGateway{t: t, gatewayProc: &gatewayProc{state: state, config: config, log: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}}
	ready := make(chan string, 1)
	go func() {
		g.done <- run(ctx, append([]string{"-config", config, "-state", state, "-addr", "127.0.0.1:0"}, extra...), g.log, ready)
	}()
	select {
	case addr := <-ready:
		g.base = "http://" + addr
	case err := <-g.done:
		cancel()
		t.Fatalf("gateway did not start: %v\nlog:\n%s", err, g.log)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("gateway not ready after 20s\nlog:\n%s", g.log)
	}
	t.Cleanup(func() {
		if err := g.stop(); err != nil {
			t.Errorf("gateway: run returned %v", err)
		}
		if l := g.log.String(); strings.Contains(l, upstreamSecret) || strings.Contains(l, testMasterKey) {
			t.Errorf("the gateway's log contains the upstream API key or the master key")
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", g.log)
		}
	})
	return g
}

// seedGateway starts a fake upstream and a gateway over seedConfig.
func seedGateway(t testing.TB) (*testGateway, *upstream) {
	t.Helper()
	up := newUpstream(t)
	return startGateway(t, writeConfig(t, seedConfig, up), t.TempDir()), up
}

// stop cancels run's context and waits for it to return (graceful
// shutdown); it returns run's error. Safe to call more than once.
func (g *gatewayProc) stop() error {
	g.once.Do(func() {
		g.cancel()
		select {
		case g.err = <-g.done:
		case <-time.After(40 * time.Second):
			g.err = fmt.Errorf("run did not return 40s after its context was canceled")
		}
	})
	return g.err
}

// response is an answer read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// do sends a request with key (none when empty) and a body that is
// marshalled to JSON unless it is a string or []byte already.
func (g *testGateway) do(method, path, key string, body any) response {
	g.t.Helper()
	return doURL(g.t, method, g.base+path, key, body)
}

func doURL(t testing.TB, method, url, key string, body any) response {
	t.Helper()
	r, err := tryDo(method, url, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is doURL for goroutines other than the test's: it returns what
// went wrong instead of failing the test.
func tryDo(method, url, key string, body any) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return response{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the answer: %w", method, url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// chatBody is a minimal chat completion request for model.
func chatBody(model string) map[string]any {
	return map[string]any{"model": model, "messages": []map[string]string{{"role": "user", "content": "hi"}}}
}

// chat sends a plain chat completion for model with key.
func (g *testGateway) chat(key, model string) response {
	g.t.Helper()
	return g.do("POST", "/v1/chat/completions", key, chatBody(model))
}

// mustStatus fails the test unless r has the status.
func mustStatus(t testing.TB, what string, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
	}
}

// decodeJSON unmarshals r's body into a value of type T, failing the test
// when it is not JSON.
func decodeJSON[T any](t testing.TB, what string, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%s: body is not the JSON expected (%v): %s", what, err, r.Body)
	}
	return v
}

// openAIError is OpenAI's error body.
type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// errorShape checks that body is exactly OpenAI's error shape
// {"error": {"message", "type", "param", "code"}}: those four keys, message,
// type and code non-empty strings, param a string or null. It returns the
// error or a description of what is wrong.
func errorShape(body []byte) (openAIError, error) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil {
		return openAIError{}, fmt.Errorf("not a JSON object: %v", err)
	}
	if len(outer) != 1 || outer["error"] == nil {
		return openAIError{}, fmt.Errorf("want exactly one key \"error\", got %d keys", len(outer))
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(outer["error"], &inner); err != nil {
		return openAIError{}, fmt.Errorf("\"error\" is not an object: %v", err)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := inner[k]; !ok {
			return openAIError{}, fmt.Errorf("\"error\" lacks %q", k)
		}
	}
	if len(inner) != 4 {
		return openAIError{}, fmt.Errorf("\"error\" has %d keys, want message, type, param, code", len(inner))
	}
	var e openAIError
	if err := json.Unmarshal(outer["error"], &e); err != nil {
		return openAIError{}, fmt.Errorf("\"error\" fields have the wrong types: %v", err)
	}
	if e.Message == "" || e.Type == "" || e.Code == "" {
		return e, fmt.Errorf("empty message, type or code")
	}
	return e, nil
}

// wantError checks that r is an error answer with status and code in
// OpenAI's shape (with the type OpenAI uses for that status), and returns it.
func wantError(t testing.TB, what string, r response, status int, code string) openAIError {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	e, err := errorShape(r.Body)
	if err != nil {
		t.Errorf("%s: not OpenAI's error shape: %v: %s", what, err, r.Body)
		return e
	}
	if e.Code != code {
		t.Errorf("%s: code %q, want %q (message %q)", what, e.Code, code, e.Message)
	}
	if want, ok := errorTypes[status]; ok && e.Type != want {
		t.Errorf("%s: type %q, want %q", what, e.Type, want)
	}
	return e
}

// errorTypes is the error type OpenAI uses for each status.
var errorTypes = map[int]string{
	400: "invalid_request_error",
	401: "authentication_error",
	403: "permission_error",
	404: "not_found_error",
	409: "invalid_request_error",
	413: "invalid_request_error",
	429: "rate_limit_error",
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// generateKey makes a virtual key with the master key.
func (g *testGateway) generateKey(body map[string]any) string {
	g.t.Helper()
	r := g.do("POST", "/key/generate", testMasterKey, body)
	mustStatus(g.t, "POST /key/generate", r, http.StatusOK)
	k := decodeJSON[struct {
		Key string `json:"key"`
	}](g.t, "POST /key/generate", r).Key
	if !strings.HasPrefix(k, "sk-") {
		g.t.Fatalf("POST /key/generate: key %q does not start with sk-", k)
	}
	return k
}

// modelIDs lists GET /v1/models for key.
func (g *testGateway) modelIDs(key string) []string {
	g.t.Helper()
	r := g.do("GET", "/v1/models", key, nil)
	mustStatus(g.t, "GET /v1/models", r, http.StatusOK)
	l := decodeJSON[struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}](g.t, "GET /v1/models", r)
	if l.Object != "list" {
		g.t.Errorf("GET /v1/models: object %q, want list", l.Object)
	}
	ids := make([]string, 0, len(l.Data))
	for _, m := range l.Data {
		if m.Object != "model" || m.Created == 0 || m.OwnedBy == "" {
			g.t.Errorf("GET /v1/models: entry %+v: want object \"model\", created and owned_by set", m)
		}
		ids = append(ids, m.ID)
	}
	return ids
}
