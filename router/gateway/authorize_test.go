package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/httpapi"
)

// LiteLLM issue 13310, end to end: a key granted only an alias lists it
// and calls it (LiteLLM answered 401, having checked the resolved name),
// is refused the group behind it, and no answer names what the alias
// resolves to. The same holds for a Go service calling the Router with the
// Checker as its Authorizer.
func TestAliasOnlyKey(t *testing.T) {
	const (
		qwenAlias = "Qwen/Qwen3-Coder-480B-A35B-Instruct"
		qwenGroup = "Qwen/Qwen3-Coder-480B-A35B-Instruct-bfloat16"
	)
	cfg := parse(t, `
model_list:
  - model_name: `+qwenGroup+`
    litellm_params: {model: openai/qwen3-coder, api_base: http://127.0.0.1:9/v1, api_key: k}
router_settings:
  model_group_alias: {"`+qwenAlias+`": "`+qwenGroup+`"}
general_settings:
  master_key: sk-master
`)
	ctx := t.Context()
	g, err := gateway.New(ctx, cfg, fakes())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	const secret = "sk-alias-only"
	keyID := httpapi.HashKey(secret) // the ID a key is stored under
	if _, err := g.Access().CreateKey(ctx, access.Key{ID: keyID, Name: "alias-only", Models: []string{qwenAlias},
		Aliases: map[string]string{"coder": qwenAlias}}); err != nil {
		t.Fatal(err)
	}

	serve := func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	chat := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"Hello"}]}`
	}

	code, body := serve("GET", "/v1/models", "")
	var list struct{ Data []struct{ ID string } }
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("GET /v1/models: %d %s", code, body)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != qwenAlias+",coder" {
		t.Errorf("listed %q, want the alias and the key's own alias", ids)
	}
	for _, name := range []string{qwenAlias, "coder"} {
		if code, body := serve("POST", "/v1/chat/completions", chat(name)); code != 200 || !strings.Contains(body, `"model":"`+name+`"`) {
			t.Errorf("chat with %q: %d %s", name, code, body)
		}
	}
	code, body = serve("POST", "/v1/chat/completions", chat(qwenGroup))
	if code != 403 || !strings.Contains(body, `may not use model \"`+qwenGroup+`\"`) {
		t.Errorf("chat with the group: %d %s, want 403 naming the group", code, body)
	}
	if strings.Contains(body, `"`+qwenAlias+`"`) {
		t.Errorf("the refusal names the alias: %s", body)
	}
	if u := g.Usage().ByName("coder"); u.Calls != 1 {
		t.Errorf("usage under the key alias as requested: %+v", u)
	}

	// The Go API: the key in the context, the Checker as the Authorizer.
	kctx := access.NewContext(context.Background(), keyID)
	req := openai.ChatCompletionRequest{Model: "coder", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "Hello"}}}
	_, route, err := g.Router().Complete(kctx, req, router.WithAuthorizer(g.Access()))
	if err != nil || route.Requested != "coder" || route.Group != qwenGroup {
		t.Errorf("Complete(coder): %+v, %v", route, err)
	}
	req.Model = qwenGroup
	_, _, err = g.Router().Complete(kctx, req, router.WithAuthorizer(g.Access()))
	var de *access.DeniedError
	if !errors.As(err, &de) || de.Name != qwenGroup || strings.Contains(err.Error(), qwenAlias+`"`) {
		t.Errorf("Complete(group): %v, want a *access.DeniedError for the group only", err)
	}
	if _, _, err := g.Router().Complete(context.Background(), req, router.WithAuthorizer(g.Access())); !errors.Is(err, access.ErrUnknownKey) {
		t.Errorf("Complete without a key in the context: %v, want access.ErrUnknownKey", err)
	}
}
