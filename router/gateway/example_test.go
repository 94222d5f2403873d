package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/litellm"
)

// A Go service serves the whole gateway from a LiteLLM config. Here the
// upstream is providertest's fake OpenAI-compatible server; a real service
// would also keep its state with gateway.WithStateDir.
func Example() {
	upstream := providertest.NewServer(providertest.WithChunks("Hello!"))
	defer upstream.Close()
	cfg, err := litellm.Parse([]byte(`
model_list:
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o, api_base: `+upstream.URL()+`, api_key: upstream-key}
router_settings:
  model_group_alias: {smart: model-group-1}
general_settings:
  master_key: sk-master
`), "config.yaml")
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	g, err := gateway.New(ctx, cfg)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler()) // a real service: gateway.NewServer(g.Handler(), logger)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"smart","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-master")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("x-modelroute-model-group"))
	fmt.Println(strings.Contains(string(body), `"model":"smart"`))
	fmt.Println(g.Usage().ByName("smart").Calls)
	// Output:
	// 200 model-group-1
	// true
	// 1
}
