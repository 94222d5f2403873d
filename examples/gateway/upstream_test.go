package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
)

// faultConfig has one single-deployment group per upstream failure, each
// with an alias, and a priced group for budgets. %[1]s is the upstream.
const faultConfig = `
model_list:
  - model_name: g-flaky
    litellm_params: {model: openai/flaky-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-flaky}
  - model_name: g-limited
    litellm_params: {model: openai/limited-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-limited}
  - model_name: g-down
    litellm_params: {model: openai/down-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-down}
  - model_name: g-drop
    litellm_params: {model: openai/drop-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-drop}
  - model_name: g-window
    litellm_params: {model: openai/window-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-window}
  - model_name: g-policy
    litellm_params: {model: openai/policy-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-policy}
  - model_name: g-cut
    litellm_params: {model: openai/cut-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-cut}
  - model_name: g-priced
    litellm_params:
      model: openai/priced-model
      api_base: %[1]s
      api_key: ` + upstreamSecret + `
      input_cost_per_token: 0.01
      output_cost_per_token: 0.01
    model_info: {id: dep-priced}
router_settings:
  model_group_alias:
    a-flaky: g-flaky
    a-limited: g-limited
    a-down: g-down
    a-drop: g-drop
    a-window: g-window
    a-policy: g-policy
    a-cut: g-cut
    a-priced: g-priced
  num_retries: 1
  timeout: 30
general_settings:
  master_key: ` + testMasterKey + `
`

// TestUpstreamErrors: what a client sees when the upstream fails: a retry
// that succeeds shows in x-modelroute-attempts; rate limits, outages,
// dropped connections, context-window and content-policy refusals map to
// the statuses and codes of GATEWAY.md in OpenAI's shape; a stream cut
// short ends with an in-band error; a spent budget is 429. No message names
// anything but the requested alias.
func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	up.SetFault("flaky-model", providertest.Fault{Status: 500, Times: 1})
	up.SetFault("limited-model", providertest.Fault{Status: 429, RetryAfter: time.Second})
	up.SetFault("down-model", providertest.Fault{Status: 503})
	up.SetFault("drop-model", providertest.Fault{Drop: true})
	up.SetFault("window-model", providertest.Fault{Status: 400, Code: "context_length_exceeded"})
	up.SetFault("policy-model", providertest.Fault{FinishReason: "content_filter"})
	up.SetFault("cut-model", providertest.Fault{CutAfter: 1})
	g := startGateway(t, writeConfig(t, faultConfig, up), t.TempDir())
	m := testMasterKey

	// onlyNames checks that msg names alias and no group, deployment or
	// upstream model.
	onlyNames := func(t *testing.T, what, msg, alias string) {
		t.Helper()
		if !strings.Contains(msg, `"`+alias+`"`) {
			t.Errorf("%s: message %q does not name %q", what, msg, alias)
		}
		for _, leak := range []string{"g-", "dep-", "-model", "openai", "127.0.0.1"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%s: message %q contains %q: only the requested name may be named", what, msg, leak)
			}
		}
	}

	t.Run("retried", func(t *testing.T) {
		g := g.with(t)
		r := g.chat(m, "a-flaky")
		mustStatus(t, "a-flaky", r, 200)
		if got := r.Header.Get("x-modelroute-attempts"); got != "2" {
			t.Errorf("a-flaky: x-modelroute-attempts %q, want 2 (one failure, one success)", got)
		}
		if n := up.CountModel("flaky-model"); n != 2 {
			t.Errorf("a-flaky: %d upstream calls, want 2", n)
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		g := g.with(t)
		r := g.chat(m, "a-limited")
		e := wantError(t, "a-limited", r, http.StatusTooManyRequests, "no_deployment_available")
		onlyNames(t, "a-limited", e.Message, "a-limited")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("a-limited: 429 without Retry-After")
		}
	})

	for _, c := range []struct {
		alias  string
		status int
		code   string
	}{
		{"a-down", 503, "no_deployment_available"},
		{"a-drop", 503, "no_deployment_available"},
		{"a-window", 400, "context_length_exceeded"},
		{"a-policy", 400, "content_policy_violation"},
	} {
		t.Run(c.alias, func(t *testing.T) {
			g := g.with(t)
			e := wantError(t, c.alias, g.chat(m, c.alias), c.status, c.code)
			onlyNames(t, c.alias, e.Message, c.alias)
			if c.status >= 500 && e.Type != "api_error" {
				t.Errorf("%s: type %q, want api_error", c.alias, e.Type)
			}
			// The same refusal before a stream starts is a plain JSON error.
			body := chatBody(c.alias)
			body["stream"] = true
			if c.alias != "a-policy" { // a content filter shows at the stream's end
				e = wantError(t, c.alias+" stream", g.do("POST", "/v1/chat/completions", m, body), c.status, c.code)
				onlyNames(t, c.alias+" stream", e.Message, c.alias)
			}
		})
	}

	t.Run("stream cut short", func(t *testing.T) {
		g := g.with(t)
		body := chatBody("a-cut")
		body["stream"] = true
		r := g.do("POST", "/v1/chat/completions", m, body)
		if r.Status != 200 {
			// The router may fail over before anything was sent; then it is
			// an error answer like the others.
			e := wantError(t, "a-cut stream", r, 503, "no_deployment_available")
			onlyNames(t, "a-cut stream", e.Message, "a-cut")
			return
		}
		last := lastEvent(string(r.Body))
		if last == "[DONE]" {
			t.Fatalf("a stream cut short upstream ended with [DONE]: %s", r.Body)
		}
		e, err := errorShape([]byte(last))
		if err != nil {
			t.Fatalf("a stream cut short ended with %q: %v, want an OpenAI-shaped error event", last, err)
		}
		onlyNames(t, "a-cut stream", e.Message, "a-cut")
	})

	t.Run("content filter in a stream", func(t *testing.T) {
		g := g.with(t)
		body := chatBody("a-policy")
		body["stream"] = true
		r := g.do("POST", "/v1/chat/completions", m, body)
		if r.Status != 200 {
			e := wantError(t, "a-policy stream", r, 400, "content_policy_violation")
			onlyNames(t, "a-policy stream", e.Message, "a-policy")
			return
		}
		// Streamed, the filter shows at the end as an in-band error event,
		// not as a clean finish.
		last := lastEvent(string(r.Body))
		e, err := errorShape([]byte(last))
		if err != nil || e.Code != "content_policy_violation" {
			t.Fatalf("a filtered stream ended with %q (%v), want an error event with code content_policy_violation", last, err)
		}
		onlyNames(t, "a-policy stream", e.Message, "a-policy")
	})

	t.Run("usage counts successes only", func(t *testing.T) {
		g := g.with(t)
		// Every call above to these aliases failed (a-cut's was a stream
		// cut short), and a-flaky's one call succeeded after a retry.
		for alias, want := range map[string]int64{"a-flaky": 1, "a-limited": 0, "a-down": 0, "a-drop": 0, "a-window": 0, "a-policy": 0, "a-cut": 0} {
			g.waitUsage(t, alias, want)
		}
	})

	t.Run("budget", func(t *testing.T) {
		g := g.with(t)
		// Each call costs 10*0.01 + 5*0.01 = $0.15; the key may spend $0.20.
		key := g.generateKey(map[string]any{"models": []string{"a-priced"}, "max_budget": 0.2})
		var r response
		calls := 0
		if !eventually(5*time.Second, func() bool {
			r = g.chat(key, "a-priced")
			calls++
			return r.Status != 200 || calls > 10
		}) || r.Status == 200 {
			t.Fatalf("a key with a $0.20 budget made %d calls costing $0.15 each and was never refused", calls)
		}
		if calls < 2 {
			t.Errorf("the first call was refused: %s", r)
		}
		e := wantError(t, "over budget", r, http.StatusTooManyRequests, "budget_exceeded")
		if strings.Contains(e.Message, "g-priced") || strings.Contains(e.Message, "priced-model") {
			t.Errorf("over budget: message %q names the group or the upstream model", e.Message)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("over budget: 429 without Retry-After")
		}
		// Another key is not affected.
		mustStatus(t, "master key after another key's budget ran out", g.chat(m, "a-priced"), 200)
	})

}

// lastEvent returns the data of an SSE body's last "data:" line.
func lastEvent(body string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			last = d
		}
	}
	return last
}

// fallbackConfig has one failing group per kind of fallback, each falling
// back to model-group-1.
const fallbackConfig = `
model_list:
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-a}
  - model_name: g-down
    litellm_params: {model: groq/down-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-down}
  - model_name: g-window
    litellm_params: {model: openai/window-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-window}
  - model_name: g-policy
    litellm_params: {model: openai/policy-model, api_base: %[1]s, api_key: ` + upstreamSecret + `}
    model_info: {id: dep-policy}
router_settings:
  model_group_alias: {fast: g-down}
  num_retries: 1
  fallbacks: [{g-down: [model-group-1]}]
  context_window_fallbacks: [{g-window: [model-group-1]}]
  content_policy_fallbacks: [{g-policy: [model-group-1]}]
general_settings:
  master_key: ` + testMasterKey + `
`

// TestFallbacks: each of LiteLLM's three kinds of fallbacks, from the
// config, serves a request its group cannot; the answer carries the name
// requested, its headers the group that served it, and usage counts under
// the requested name.
func TestFallbacks(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	up.SetFault("down-model", providertest.Fault{Status: 503})
	up.SetFault("window-model", providertest.Fault{Status: 400, Code: "context_length_exceeded"})
	// Refused before anything is streamed, so a stream can fall back too
	// (a filter that trips at a stream's end cannot be undone).
	up.SetFault("policy-model", providertest.Fault{Status: 400, Code: "content_policy_violation"})
	g := startGateway(t, writeConfig(t, fallbackConfig, up), t.TempDir())

	for _, name := range []string{"fast", "g-down", "g-window", "g-policy"} {
		for _, stream := range []bool{false, true} {
			what := fmt.Sprintf("%s (stream %v)", name, stream)
			body := chatBody(name)
			body["stream"] = stream
			r := g.do("POST", "/v1/chat/completions", testMasterKey, body)
			mustStatus(t, what, r, 200)
			if got := r.Header.Get("x-modelroute-model-group"); got != "model-group-1" {
				t.Errorf("%s: served by %q, want the fallback model-group-1", what, got)
			}
			// The first request for a group tries it and fails; later
			// ones may skip it while it cools down.
			if n, _ := strconv.Atoi(r.Header.Get("x-modelroute-attempts")); n < 1 || name == "fast" && !stream && n < 2 {
				t.Errorf("%s: x-modelroute-attempts %q", what, r.Header.Get("x-modelroute-attempts"))
			}
			if stream {
				if lastEvent(string(r.Body)) != "[DONE]" || strings.Contains(string(r.Body), `"model":"model-group-1"`) {
					t.Errorf("%s: %s, want chunks naming %s ending with [DONE]", what, r.Body, name)
				}
			} else if mdl := decodeJSON[struct{ Model string }](t, what, r).Model; mdl != name {
				t.Errorf("%s: model %q, want %q", what, mdl, name)
			}
		}
	}
	g.waitUsage(t, "fast", 2)
}
