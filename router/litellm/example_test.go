package litellm_test

import (
	"context"
	"errors"
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/litellm"
)

const exampleConfig = `
model_list:
  - model_name: smart
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 600
    model_info: {id: smart-openai}
  - model_name: smart
    litellm_params:
      model: azure/gpt-4o-eu
      api_base: https://example-eu.openai.azure.com
      api_key: os.environ/AZURE_API_KEY
      api_version: "2024-10-21"
    model_info: {id: smart-azure}
  - model_name: cheap
    litellm_params: {model: gpt-4o-mini}
    model_info: {id: cheap-openai}
router_settings:
  model_group_alias:
    gpt-4: smart
    internal: {model: cheap, hidden: true}
  routing_strategy: usage-based-routing-v2
  num_retries: 2
  fallbacks: [{smart: [cheap]}]
  cache_responses: true
`

func ExampleParse() {
	env := map[string]string{"OPENAI_API_KEY": "sk-openai", "AZURE_API_KEY": "azure-key"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }

	cfg, err := litellm.Parse([]byte(exampleConfig), "config.yaml", litellm.WithEnv(lookup))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range cfg.Deployments {
		fmt.Printf("%s: group %s, %s sends %q, rpm %d\n", d.ID, d.ModelName, d.Provider, d.UpstreamModel, d.RPM)
	}
	for _, a := range cfg.Aliases {
		fmt.Printf("alias %s -> %s (hidden %v)\n", a.Name, a.Target, a.Hidden)
	}
	fmt.Println("strategy:", cfg.Router.Strategy, "retries:", *cfg.Router.NumRetries, "fallbacks:", cfg.Router.Fallbacks)
	for _, w := range cfg.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// smart-openai: group smart, openai sends "gpt-4o", rpm 600
	// smart-azure: group smart, azure sends "gpt-4o-eu", rpm 0
	// cheap-openai: group cheap, openai sends "gpt-4o-mini", rpm 0
	// alias gpt-4 -> smart (hidden false)
	// alias internal -> cheap (hidden true)
	// strategy: usage-based-routing retries: 2 fallbacks: map[smart:[cheap]]
	// warning: config.yaml:26: router_settings.cache_responses: not used by modelroute; ignored
}

func ExampleParse_errors() {
	config := `
model_list:
  - model_name: llama2
    litellm_params: {model: sagemaker/jumpstart-llama-2}
  - model_name: llama
    litellm_params: {model: openai/llama-3, api_base: http://localhost:8000/v1, api_key: os.environ/LLAMA_KEY, weight: -1}
router_settings:
  model_group_alias: {llama: llama2}
`
	noEnv := func(string) (string, bool) { return "", false }
	_, err := litellm.Parse([]byte(config), "config.yaml", litellm.WithEnv(noEnv))
	fmt.Println(err)
	fmt.Println(errors.Is(err, litellm.ErrUnsupported), errors.Is(err, litellm.ErrEnv))

	// Skipping what modelroute cannot call names each skipped deployment.
	config = "model_list:\n  - model_name: llama2\n    litellm_params: {model: sagemaker/jumpstart-llama-2}\n"
	cfg, _ := litellm.Parse([]byte(config), "config.yaml", litellm.WithSkipUnsupported())
	fmt.Println(len(cfg.Deployments), "deployments;", cfg.Warnings[0])
	// Output:
	// litellm: config.yaml:4: model_list[0] "llama2": litellm_params.model: provider "sagemaker" of model "sagemaker/jumpstart-llama-2" is not supported: it needs AWS SigV4 signing and the SageMaker API, and modelroute calls only OpenAI-compatible endpoints and the native APIs of anthropic, bedrock and vertex_ai (load with WithSkipUnsupported to skip it)
	// litellm: config.yaml:6: model_list[1] "llama": litellm_params.api_key: environment variable LLAMA_KEY is not set (os.environ/LLAMA_KEY)
	// litellm: config.yaml:6: model_list[1] "llama": litellm_params.weight: must not be negative (got -1)
	// litellm: config.yaml:8: router_settings.model_group_alias.llama: alias "llama" has the name of a model_list group and would hide it
	// true true
	// 0 deployments; config.yaml:3: model_list[0] "llama2": litellm_params.model: deployment skipped: provider "sagemaker" of model "sagemaker/jumpstart-llama-2" is not supported: it needs AWS SigV4 signing and the SageMaker API, and modelroute calls only OpenAI-compatible endpoints and the native APIs of anthropic, bedrock and vertex_ai
}

func ExampleConfig_RouterConfig() {
	cfg, err := litellm.Parse([]byte(exampleConfig), "config.yaml", litellm.WithEnv(func(name string) (string, bool) { return "key-" + name, true }))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Real services pass nil (or litellm.OpenAIProviders) to call the
	// upstreams; here one fake stands in for all of them.
	fake := providertest.NewFake()
	rc, err := cfg.RouterConfig(func(litellm.Deployment) (provider.Provider, error) { return fake, nil })
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := router.New(nil, rc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	_, route, err := r.Complete(context.Background(), openai.ChatCompletionRequest{
		Model:    "cheap",
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	})
	fmt.Println(route.Group, route.Deployment, route.Model, err)
	// Output:
	// cheap cheap-openai gpt-4o-mini <nil>
}
