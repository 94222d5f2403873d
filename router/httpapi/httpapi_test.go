package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/httpapi"
)

const master = "sk-master"

// fixture is a Handler over two groups with fakes, an alias of each, a
// hidden and a disabled alias, a Checker and Usage.
type fixture struct {
	h       *httpapi.Handler
	srv     http.Handler
	reg     *alias.Registry
	ac      *access.Checker
	usage   *access.Usage
	rt      *router.Router
	f1, f2  *providertest.Fake
	keyAll  string // a key with no restrictions
	keyOnly string // a key granted only "alias-1"
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	fx := &fixture{f1: providertest.NewFake(), f2: providertest.NewFake()}
	var err error
	if fx.reg, err = alias.New(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.reg.Close() })
	fx.rt, err = router.New(fx.reg, router.Config{Deployments: []router.Deployment{
		{ID: "d1", Group: "model-group-1", Model: "openai/gpt-4o", Provider: fx.f1, InputCostPerToken: 0.01},
		{ID: "d2", Group: "model-group-2", Model: "groq/llama", Provider: fx.f2},
	}}, router.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.rt.Close() })
	for _, a := range []alias.Alias{
		{Name: "alias-1", Target: "model-group-1"},
		{Name: "alias-2", Target: "model-group-2"},
		{Name: "hidden-1", Target: "model-group-1", Hidden: true},
		{Name: "off", Target: "model-group-1", Disabled: true},
	} {
		if _, err := fx.reg.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if fx.ac, err = access.New(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.ac.Close() })
	fx.usage = &access.Usage{}
	fx.h = httpapi.New(fx.rt, fx.reg, httpapi.WithAccess(fx.ac), httpapi.WithUsage(fx.usage), httpapi.WithMasterKey(master))
	fx.srv = fx.h.Mux()
	fx.keyAll = fx.generate(t, `{}`)
	fx.keyOnly = fx.generate(t, `{"models":["alias-1"]}`)
	return fx
}

func (fx *fixture) generate(t testing.TB, body string) string {
	t.Helper()
	code, out := fx.do(t, "POST", "/key/generate", master, body)
	if code != 200 {
		t.Fatalf("key/generate: %d %s", code, out)
	}
	var k struct{ Key string }
	if err := json.Unmarshal([]byte(out), &k); err != nil || !strings.HasPrefix(k.Key, "sk-") {
		t.Fatalf("key/generate answer %s: %v", out, err)
	}
	return k.Key
}

func (fx *fixture) do(t testing.TB, method, path, key, body string) (int, string) {
	t.Helper()
	rec := fx.serve(method, path, key, body)
	return rec.Code, rec.Body.String()
}

func (fx *fixture) serve(method, path, key, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	fx.srv.ServeHTTP(rec, req)
	return rec
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func chatBody(model string) string {
	return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
}

// Every refusal has OpenAI's shape, the status and code of GATEWAY.md's
// table, and names no model but the requested one.
func TestErrors(t *testing.T) {
	fx := newFixture(t)
	fx.f2.SetDefault(providertest.Reply{Kind: provider.KindUnavailable, Status: 503})
	big := `{"model":"alias-1","messages":[{"role":"user","content":"` + strings.Repeat("x", 10<<20) + `"}]}`
	tests := []struct {
		name, key, path, body string
		status                int
		typ, code             string
	}{
		{"no key", "", "/v1/chat/completions", chatBody("alias-1"), 401, "authentication_error", "invalid_api_key"},
		{"unknown key", "sk-nope", "/v1/chat/completions", chatBody("alias-1"), 401, "authentication_error", "invalid_api_key"},
		{"denied group", fx.keyOnly, "/v1/chat/completions", chatBody("model-group-1"), 403, "permission_error", "model_access_denied"},
		{"unknown model", fx.keyAll, "/v1/chat/completions", chatBody("nope"), 404, "not_found_error", "model_not_found"},
		{"disabled alias", fx.keyAll, "/v1/chat/completions", chatBody("off"), 403, "permission_error", "model_disabled"},
		{"malformed json", fx.keyAll, "/v1/chat/completions", `{"model":`, 400, "invalid_request_error", "invalid_request"},
		{"missing model", fx.keyAll, "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "invalid_request"},
		{"missing messages", fx.keyAll, "/v1/chat/completions", `{"model":"alias-1"}`, 400, "invalid_request_error", "invalid_request"},
		{"wrong type", fx.keyAll, "/v1/chat/completions", `{"model":"alias-1","messages":"hi"}`, 400, "invalid_request_error", "invalid_request"},
		{"wrong type in a message", fx.keyAll, "/v1/chat/completions", `{"model":"alias-1","messages":[{"role":1}]}`, 400, "invalid_request_error", "invalid_request"},
		{"not an object", fx.keyAll, "/v1/chat/completions", `[1]`, 400, "invalid_request_error", "invalid_request"},
		{"trailing data", fx.keyAll, "/v1/chat/completions", chatBody("alias-1") + `{}`, 400, "invalid_request_error", "invalid_request"},
		{"too large", fx.keyAll, "/v1/chat/completions", big, 413, "invalid_request_error", "request_too_large"},
		{"all deployments fail", fx.keyAll, "/v1/chat/completions", chatBody("alias-2"), 503, "api_error", "no_deployment_available"},
		{"embeddings missing input", fx.keyAll, "/v1/embeddings", `{"model":"alias-1"}`, 400, "invalid_request_error", "invalid_request"},
		{"admin without key", "", "/api/model-aliases", "", 401, "authentication_error", "invalid_api_key"},
		{"admin with virtual key", fx.keyAll, "/api/model-aliases", "", 403, "permission_error", "forbidden"},
		{"unknown endpoint", master, "/v1/nothing", "", 404, "not_found_error", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.body == "" {
				method = "GET"
			}
			code, out := fx.do(t, method, tt.path, tt.key, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, out)
			}
			var e errorBody
			if err := json.Unmarshal([]byte(out), &e); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, out)
			}
			if e.Error.Type != tt.typ || e.Error.Code != tt.code || e.Error.Message == "" {
				t.Errorf("error %+v, want type %q code %q", e.Error, tt.typ, tt.code)
			}
			for _, leak := range []string{"gpt-4o", "llama", `"d1"`, `"d2"`, "Go value", "openai.", "httpapi."} {
				if strings.Contains(e.Error.Message, leak) {
					t.Errorf("message %q names %q", e.Error.Message, leak)
				}
			}
			if tt.body != "" && strings.Contains(tt.name, "group") && !strings.Contains(e.Error.Message, "model-group-1") {
				t.Errorf("message %q does not name the requested name", e.Error.Message)
			}
		})
	}
}

// The LiteLLM bug (issue 13310): a key granted only an alias lists it, calls
// it, and is refused the group it resolves to; the answer's model is the
// alias and the usage is recorded under it.
func TestAliasGrant(t *testing.T) {
	fx := newFixture(t)
	code, out := fx.do(t, "GET", "/v1/models", fx.keyOnly, "")
	if code != 200 {
		t.Fatal(code, out)
	}
	var list struct {
		Object string
		Data   []struct{ ID string }
	}
	json.Unmarshal([]byte(out), &list)
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if diff := cmp.Diff([]string{"alias-1"}, ids); diff != "" || list.Object != "list" {
		t.Errorf("models (-want +got):\n%s object %q", diff, list.Object)
	}

	rec := fx.serve("POST", "/v1/chat/completions", fx.keyOnly, chatBody("alias-1"))
	if rec.Code != 200 {
		t.Fatal(rec.Code, rec.Body)
	}
	var resp struct{ Model string }
	json.Unmarshal(rec.Body.Bytes(), &resp)
	if resp.Model != "alias-1" {
		t.Errorf("response model %q, want alias-1", resp.Model)
	}
	h := rec.Header()
	if h.Get("x-modelroute-model-group") != "model-group-1" || h.Get("x-modelroute-deployment-id") != "d1" || h.Get("x-modelroute-attempts") != "1" {
		t.Errorf("route headers %v", h)
	}
	if got := fx.f1.Calls()[0].Model; got != "gpt-4o" {
		t.Errorf("upstream got model %q, want gpt-4o", got)
	}
	if s := fx.usage.ByName("alias-1"); s.Calls != 1 || s.PromptTokens != 10 || s.CostUSD <= 0 {
		t.Errorf("usage of alias-1: %+v", s)
	}
	if code, out := fx.do(t, "POST", "/v1/chat/completions", fx.keyOnly, chatBody("model-group-1")); code != 403 {
		t.Errorf("group through alias-only key: %d %s", code, out)
	}
}

// A key's own alias routes to its target, is authorized on the name the key
// used, and shows in its model list.
func TestKeyAlias(t *testing.T) {
	fx := newFixture(t)
	key := fx.generate(t, `{"models":["mine"],"aliases":{"mine":"model-group-2"}}`)
	rec := fx.serve("POST", "/v1/chat/completions", key, chatBody("mine"))
	if rec.Code != 200 || rec.Header().Get("x-modelroute-model-group") != "model-group-2" {
		t.Fatalf("key alias: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	var resp struct{ Model string }
	json.Unmarshal(rec.Body.Bytes(), &resp)
	if resp.Model != "mine" {
		t.Errorf("response model %q, want mine", resp.Model)
	}
	// Listed, as it is usable; the target is not (the key is granted
	// "mine" only).
	_, out := fx.do(t, "GET", "/v1/models", key, "")
	if !strings.Contains(out, `"id":"mine"`) || strings.Contains(out, "model-group-2") {
		t.Errorf("models of a key with its own alias: %s", out)
	}
}

// A streamed answer is SSE: every chunk names the requested model, the
// route headers are set, and it ends with [DONE].
func TestStream(t *testing.T) {
	fx := newFixture(t)
	fx.f1.SetDefault(providertest.Reply{Chunks: []string{"a", "b", "c"}})
	rec := fx.serve("POST", "/v1/chat/completions", fx.keyAll,
		`{"model":"hidden-1","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	if rec.Header().Get("x-modelroute-deployment-id") != "d1" {
		t.Errorf("headers %v", rec.Header())
	}
	var text strings.Builder
	events := strings.Split(strings.TrimSpace(rec.Body.String()), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("last event %q", events[len(events)-1])
	}
	for _, ev := range events[:len(events)-1] {
		var c struct {
			Model   string
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		if c.Model != "hidden-1" {
			t.Errorf("chunk model %q", c.Model)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if text.String() != "abc" {
		t.Errorf("streamed text %q", text.String())
	}
	if s := fx.usage.ByName("hidden-1"); s.Calls != 1 {
		t.Errorf("usage %+v", s)
	}
}

// A stream that breaks after its first chunk reports the break in-band,
// in OpenAI's error shape, after the chunks already sent.
func TestStreamBreak(t *testing.T) {
	fx := newFixture(t)
	fx.f1.SetDefault(providertest.Reply{Chunks: []string{"a", "b", "c"}, BreakAfter: 2})
	rec := fx.serve("POST", "/v1/chat/completions", fx.keyAll,
		`{"model":"alias-1","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	body := rec.Body.String()
	if rec.Code != 200 || strings.Contains(body, "[DONE]") || !strings.Contains(body, `"error":{`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
}

// Hidden and disabled aliases are not listed; /model/info has a row per
// deployment per visible name, with no secrets.
func TestCatalogEndpoints(t *testing.T) {
	fx := newFixture(t)
	_, out := fx.do(t, "GET", "/v1/models", master, "")
	for _, name := range []string{"hidden-1", `"off"`} {
		if strings.Contains(out, name) {
			t.Errorf("/v1/models lists %s: %s", name, out)
		}
	}
	code, out := fx.do(t, "GET", "/model/info", master, "")
	var info struct {
		Data []struct {
			ModelName string `json:"model_name"`
			Params    struct {
				Model string `json:"model"`
			} `json:"litellm_params"`
			Info struct {
				ID string `json:"id"`
			} `json:"model_info"`
		}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || code != 200 {
		t.Fatal(code, err, out)
	}
	got := map[string]string{}
	for _, r := range info.Data {
		got[r.ModelName] = r.Info.ID + " " + r.Params.Model
	}
	want := map[string]string{
		"model-group-1": "d1 openai/gpt-4o", "alias-1": "d1 openai/gpt-4o",
		"model-group-2": "d2 groq/llama", "alias-2": "d2 groq/llama",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/model/info (-want +got):\n%s", diff)
	}
	code, out = fx.do(t, "GET", "/model_group/info", fx.keyOnly, "")
	if code != 200 || !strings.Contains(out, `"model_group":"alias-1"`) || strings.Contains(out, "model-group-1") {
		t.Errorf("/model_group/info for an alias-only key: %d %s", code, out)
	}
}

// /health probes each deployment once, and an alias resolves to its group.
func TestHealth(t *testing.T) {
	fx := newFixture(t)
	code, out := fx.do(t, "GET", "/health", master, "")
	var rep struct {
		Healthy []struct {
			ModelID string `json:"model_id"`
		} `json:"healthy_endpoints"`
		HealthyCount int `json:"healthy_count"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 200 || rep.HealthyCount != 2 {
		t.Fatalf("%d %v %s", code, err, out)
	}
	code, out = fx.do(t, "GET", "/health?model=alias-1", master, "")
	if code != 200 || !strings.Contains(out, `"model_id":"d1"`) || strings.Contains(out, `"d2"`) {
		t.Errorf("health of alias-1: %d %s", code, out)
	}
	probes := func(f *providertest.Fake) int {
		n := 0
		for _, c := range f.Calls() {
			if c.Method == providertest.MethodProbe {
				n++
			}
		}
		return n
	}
	p1, p2 := probes(fx.f1), probes(fx.f2)
	code, out = fx.do(t, "GET", "/health", fx.keyOnly, "")
	if code != 200 || !strings.Contains(out, `"model_id":"d1"`) || strings.Contains(out, "d2") || strings.Contains(out, "llama") {
		t.Errorf("health for a key granted alias-1 only: %d %s", code, out)
	}
	if n1, n2 := probes(fx.f1)-p1, probes(fx.f2)-p2; n1 != 1 || n2 != 0 {
		t.Errorf("health for a key granted alias-1 only probed d1 %d and d2 %d times, want 1 and 0", n1, n2)
	}
	if code, _ := fx.do(t, "GET", "/health?model=model-group-1", fx.keyOnly, ""); code != 403 {
		t.Errorf("health of a name the key may not use: %d", code)
	}
	for _, p := range []string{"/health/liveliness", "/health/readiness"} {
		if code, _ := fx.do(t, "GET", p, "", ""); code != 200 {
			t.Errorf("%s without a key: %d", p, code)
		}
	}
}

// The admin API's alias lifecycle, as the product guide describes it.
func TestAdminAliases(t *testing.T) {
	fx := newFixture(t)
	code, out := fx.do(t, "POST", "/api/model-aliases/create", master,
		`{"alias":"team/smart","litellm_model":"model-group-1","description":"d"}`)
	if code != 201 || !strings.Contains(out, `"created_at"`) || !strings.Contains(out, `"active":true`) {
		t.Fatalf("create: %d %s", code, out)
	}
	if code, out := fx.do(t, "POST", "/api/model-aliases/create", master, `{"alias":"team/smart","litellm_model":"model-group-1"}`); code != 409 || !strings.Contains(out, "alias_exists") {
		t.Errorf("create again: %d %s", code, out)
	}
	if code, out := fx.do(t, "POST", "/api/model-aliases/create", master, `{"alias":"x","litellm_model":"nowhere"}`); code != 400 {
		t.Errorf("create to an unknown target: %d %s", code, out)
	}
	if code, _ := fx.do(t, "POST", "/v1/chat/completions", fx.keyAll, chatBody("team/smart")); code != 200 {
		t.Fatalf("use: %d", code)
	}
	if code, out := fx.do(t, "PUT", "/api/model-aliases/team%2Fsmart", master, `{"litellm_model":"model-group-2"}`); code != 200 {
		t.Fatalf("re-point: %d %s", code, out)
	}
	rec := fx.serve("POST", "/v1/chat/completions", fx.keyAll, chatBody("team/smart"))
	if rec.Header().Get("x-modelroute-model-group") != "model-group-2" {
		t.Errorf("after re-pointing served by %q", rec.Header().Get("x-modelroute-model-group"))
	}
	fx.do(t, "PUT", "/api/model-aliases/team/smart", master, `{"active":false}`)
	if code, out := fx.do(t, "POST", "/v1/chat/completions", fx.keyAll, chatBody("team/smart")); code != 403 || !strings.Contains(out, "model_disabled") {
		t.Errorf("disabled: %d %s", code, out)
	}
	fx.do(t, "PUT", "/api/model-aliases/team/smart", master, `{"active":true}`)
	code, out = fx.do(t, "GET", "/api/model-aliases/team/smart", master, "")
	var detail struct {
		UsageCount int64 `json:"usage_count"`
		UsageStats struct {
			TotalCalls int64 `json:"total_calls"`
		} `json:"usage_stats"`
		TeamsWithAccess *int     `json:"teams_with_access"`
		AccessGroups    []string `json:"access_groups"`
	}
	if err := json.Unmarshal([]byte(out), &detail); err != nil || code != 200 {
		t.Fatal(code, err, out)
	}
	if detail.UsageCount != 2 || detail.UsageStats.TotalCalls != 2 || detail.TeamsWithAccess == nil || detail.AccessGroups == nil {
		t.Errorf("detail %s", out)
	}
	if code, _ := fx.do(t, "POST", "/api/model-access-groups/create", master, `{"group_name":"g","model_aliases":["team/smart"]}`); code != 201 {
		t.Fatalf("access group: %d", code)
	}
	if code, out := fx.do(t, "DELETE", "/api/model-aliases/team/smart", master, ""); code != 200 {
		t.Fatalf("delete: %d %s", code, out)
	}
	if g, _ := fx.ac.GetAccessGroup("g"); len(g.Members) != 0 {
		t.Errorf("deleted alias still in access group: %v", g.Members)
	}
	if code, out := fx.do(t, "GET", "/api/model-aliases/team/smart", master, ""); code != 404 || !strings.Contains(out, "alias_not_found") {
		t.Errorf("get deleted: %d %s", code, out)
	}
	if code, _ := fx.do(t, "POST", "/v1/chat/completions", fx.keyAll, chatBody("team/smart")); code != 404 {
		t.Errorf("use deleted: %d", code)
	}
}

// Teams narrow their keys, and a team's credits are its budget.
func TestTeamsAndBudgets(t *testing.T) {
	fx := newFixture(t)
	steps := []struct{ path, body string }{
		{"/api/organizations/create", `{"organization_id":"org","name":"Org"}`},
		{"/api/model-access-groups/create", `{"group_name":"starter","model_aliases":["alias-2"]}`},
		{"/api/teams/create", `{"organization_id":"org","team_id":"t1","team_alias":"prod","access_groups":["starter"],"credits_allocated":0.0001}`},
	}
	for _, s := range steps {
		if code, out := fx.do(t, "POST", s.path, master, s.body); code != 201 {
			t.Fatalf("%s: %d %s", s.path, code, out)
		}
	}
	key := fx.generate(t, `{"team_id":"t1"}`)
	if code, out := fx.do(t, "POST", "/v1/chat/completions", key, chatBody("alias-1")); code != 403 {
		t.Errorf("outside the team's access group: %d %s", code, out)
	}
	// alias-2's deployment costs nothing, so the budget holds; make it cost.
	if code, _ := fx.do(t, "POST", "/api/model-access-groups/starter/add-models", master, `{"model_aliases":["alias-1"]}`); code != 200 {
		t.Fatal("add-models")
	}
	if code, out := fx.do(t, "POST", "/v1/chat/completions", key, chatBody("alias-1")); code != 200 {
		t.Fatalf("inside: %d %s", code, out)
	}
	calls := fx.f1.CallCount()
	code, out := fx.do(t, "POST", "/v1/chat/completions", key, chatBody("alias-1"))
	if code != 429 || !strings.Contains(out, "budget_exceeded") {
		t.Errorf("over budget: %d %s", code, out)
	}
	if fx.f1.CallCount() != calls {
		t.Error("a request over budget reached the upstream")
	}
}

// budget_duration (LiteLLM's "1d", "7d", "30d") gives a budget a period:
// the answer says when it resets; a bad one is refused naming the field.
func TestBudgetDuration(t *testing.T) {
	fx := newFixture(t)
	for _, tc := range []struct {
		path, body string
		code       int
		want       []string
	}{
		{"/api/organizations/create", `{"organization_id":"org","max_budget":5,"budget_duration":"30d"}`, 201,
			[]string{`"budget_duration":"30d"`, `"budget_reset_at":`}},
		{"/api/teams/create", `{"team_id":"t1","credits_allocated":1,"budget_duration":"7d"}`, 201,
			[]string{`"budget_duration":"7d"`, `"budget_reset_at":`}},
		{"/key/generate", `{"max_budget":1,"budget_duration":"1d"}`, 200,
			[]string{`"budget_duration":"1d"`, `"budget_reset_at":`}},
		{"/key/generate", `{"max_budget":1,"budget_duration":"monthly"}`, 400,
			[]string{`budget_duration`, `monthly`}},
		{"/key/generate", `{"max_budget":1,"budget_duration":"1ms"}`, 400,
			[]string{`budget_duration 1ms`}},
	} {
		code, out := fx.do(t, "POST", tc.path, master, tc.body)
		if code != tc.code {
			t.Errorf("%s %s: %d %s, want %d", tc.path, tc.body, code, out, tc.code)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s %s: answer %s lacks %s", tc.path, tc.body, out, w)
			}
		}
	}
}

func TestPrincipalFromServiceAuth(t *testing.T) {
	fx := newFixture(t)
	// A service with its own authentication mounts one endpoint and sets
	// the caller itself.
	h := fx.h.ChatCompletions()
	req := httptest.NewRequest("POST", "/chat", strings.NewReader(chatBody("alias-1")))
	req = req.WithContext(httpapi.WithPrincipal(req.Context(), httpapi.Principal{Master: true}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// Without a principal the endpoint refuses.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/chat", strings.NewReader(chatBody("alias-1"))))
	if rec.Code != 401 {
		t.Errorf("no principal: %d", rec.Code)
	}
	// x-api-key works like a bearer token.
	req = httptest.NewRequest("GET", "/v1/models", nil)
	req.Header.Set("x-api-key", fx.keyOnly)
	rec = httptest.NewRecorder()
	fx.srv.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.Contains(string(body), "alias-1") {
		t.Errorf("x-api-key: %d %s", rec.Code, body)
	}
}

// FuzzChatCompletions sends arbitrary bodies and keys: no panic, every
// answer is 200 or an OpenAI-shaped error, never an internal error.
func FuzzChatCompletions(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{
		chatBody("alias-1"), chatBody("model-group-2"), `{"model":"alias-1","stream":true,"messages":[{"role":"user","content":"x"}]}`,
		`{"model":1}`, `[]`, `null`, `{"model":"alias-1","messages":"x"}`, `{"model":"alias-1","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		`{"model":"off","messages":[{}]}`, `{"model":"alias-1","tags":["a"],"messages":[{"role":"user","content":"x"}]}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, restricted bool) {
		key := fx.keyAll
		if restricted {
			key = fx.keyOnly
		}
		for _, path := range []string{"/v1/chat/completions", "/v1/embeddings"} {
			rec := fx.serve("POST", path, key, body)
			if rec.Code == 200 {
				continue
			}
			if rec.Code >= 500 && rec.Code != 502 && rec.Code != 503 {
				t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
			}
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Type == "" {
				t.Fatalf("%s %q: %d not an OpenAI error: %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}

// When every deployment is cooling down for longer than the router waits
// (router.DefaultMaxCooldownWait), the answer says when to come back, in
// its message and in Retry-After.
func TestCooldownRetryAfter(t *testing.T) {
	fx := newFixture(t)
	fx.f2.SetDefault(providertest.Reply{Kind: provider.KindRateLimited, Status: 429, RetryAfter: time.Minute})
	rec := fx.serve("POST", "/v1/chat/completions", fx.keyAll, chatBody("alias-2"))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("first: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	calls := fx.f2.CallCount()
	rec = fx.serve("POST", "/v1/chat/completions", fx.keyAll, chatBody("alias-2"))
	ra := rec.Header().Get("Retry-After")
	if rec.Code != 503 || (ra != "60" && ra != "59") || !strings.Contains(rec.Body.String(), "retry in") {
		t.Errorf("cooling down: %d Retry-After %q %s", rec.Code, ra, rec.Body)
	}
	if fx.f2.CallCount() != calls {
		t.Error("a deployment was called inside its cooldown")
	}
}

// A request no deployment's API can express (every one refused it as
// KindUnsupported, without a call) is the client's: 400 invalid_request in
// OpenAI's shape, naming the requested name and nothing it resolves to.
func TestUnsupportedRequest(t *testing.T) {
	fx := newFixture(t)
	fx.f1.SetDefault(providertest.Reply{Kind: provider.KindUnsupported})
	code, out := fx.do(t, "POST", "/v1/chat/completions", fx.keyAll, chatBody("alias-1"))
	var e errorBody
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, out)
	}
	if code != 400 || e.Error.Type != "invalid_request_error" || e.Error.Code != "invalid_request" || !strings.Contains(e.Error.Message, `"alias-1"`) {
		t.Errorf("%d %s; want 400 invalid_request naming alias-1", code, out)
	}
	for _, leak := range []string{"model-group-1", "gpt-4o", "d1"} {
		if strings.Contains(e.Error.Message, leak) {
			t.Errorf("message %q names %q", e.Error.Message, leak)
		}
	}
}
