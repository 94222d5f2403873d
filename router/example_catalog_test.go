package router_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

// exampleRouter is LiteLLM issue 5524's config on fakes: two deployments
// in model-group-1, alias-1 pointing at it and a hidden alias hidden-1.
func exampleRouter() (*router.Router, *alias.Registry) {
	reg, err := alias.New(context.Background())
	if err != nil {
		panic(err)
	}
	r, err := router.New(reg, router.Config{Deployments: []router.Deployment{
		{ID: "dep-1", Group: "model-group-1", Model: "azure/gpt-1", APIBase: "https://xyz1.openai.azure.com/",
			Provider: providertest.NewFake(), Params: map[string]any{"api_key": "sk-never-shown"}},
		{ID: "dep-2", Group: "model-group-1", Model: "azure/gpt-2", APIBase: "https://xyz2.openai.azure.com/",
			Provider: providertest.NewFake()},
	}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, a := range []alias.Alias{
		{Name: "alias-1", Target: "model-group-1"},
		{Name: "hidden-1", Target: "model-group-1", Hidden: true},
	} {
		if _, err := reg.Create(ctx, a); err != nil {
			panic(err)
		}
	}
	return r, reg
}

func ExampleRouter_Models() {
	r, reg := exampleRouter()
	defer reg.Close()
	defer r.Close()

	for _, m := range r.Models(nil) {
		fmt.Println(m.ID, m.OwnedBy)
	}
	// The hidden alias is not listed, but it routes.
	_, route, err := r.Complete(context.Background(), exampleChat("hidden-1"))
	fmt.Println("hidden-1 →", route.Group, err)
	// Output:
	// model-group-1 azure
	// alias-1 azure
	// hidden-1 → model-group-1 <nil>
}

func ExampleRouter_ModelInfo() {
	r, reg := exampleRouter()
	defer reg.Close()
	defer r.Close()

	// Only what a principal may use: here, the alias.
	allow := func(name string) bool { return name == "alias-1" }
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(map[string]any{"data": r.ModelInfo(allow)})
	// Output:
	// {
	//   "data": [
	//     {
	//       "model_name": "alias-1",
	//       "litellm_params": {
	//         "model": "azure/gpt-1",
	//         "api_base": "https://xyz1.openai.azure.com/"
	//       },
	//       "model_info": {
	//         "id": "dep-1",
	//         "mode": "chat",
	//         "litellm_provider": "azure"
	//       }
	//     },
	//     {
	//       "model_name": "alias-1",
	//       "litellm_params": {
	//         "model": "azure/gpt-2",
	//         "api_base": "https://xyz2.openai.azure.com/"
	//       },
	//       "model_info": {
	//         "id": "dep-2",
	//         "mode": "chat",
	//         "litellm_provider": "azure"
	//       }
	//     }
	//   ]
	// }
}

func ExampleRouter_GroupInfo() {
	r, reg := exampleRouter()
	defer reg.Close()
	defer r.Close()

	for _, g := range r.GroupInfo(nil) {
		fmt.Println(g.ModelGroup, g.Providers, g.Health, g.HealthyDeployments, "of", g.Deployments)
	}
	// Output:
	// model-group-1 [azure] healthy 2 of 2
	// alias-1 [azure] healthy 2 of 2
}

func ExampleHealthChecker_CheckName() {
	r, reg := exampleRouter()
	defer reg.Close()
	defer r.Close()

	hc := r.NewHealthChecker(router.WithHealthThresholds(1, 1))
	defer hc.Close()
	// Checking an alias probes the deployments it resolves to, once each.
	rep, err := hc.CheckName(context.Background(), "alias-1")
	if err != nil {
		panic(err)
	}
	for _, e := range rep.Healthy {
		fmt.Println("healthy:", e.ModelID, e.Model, e.Probe)
	}
	fmt.Println(rep.HealthyCount, "healthy,", rep.UnhealthyCount, "unhealthy")
	// Output:
	// healthy: dep-1 azure/gpt-1 list_models
	// healthy: dep-2 azure/gpt-2 list_models
	// 2 healthy, 0 unhealthy
}

func exampleChat(model string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi"}},
	}
}
