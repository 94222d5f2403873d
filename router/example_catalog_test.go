package router_test

import (
	"context"
	"fmt"

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

// The catalog lists groups and visible aliases with the deployments they
// reach, secrets dropped; router/httpapi serves it as /v1/models,
// /model/info and /model_group/info.
func ExampleRouter_Catalog() {
	r, reg := exampleRouter()
	defer reg.Close()
	defer r.Close()

	for _, l := range r.Catalog(context.Background(), nil) {
		for _, d := range l.Deployments {
			fmt.Println(l.Name, d.ID, d.DisplayModel, d.APIBase, d.Params)
		}
	}
	// The hidden alias is not listed, but it routes.
	_, route, err := r.Complete(context.Background(), exampleChat("hidden-1"))
	fmt.Println("hidden-1 →", route.Group, err)
	// Output:
	// model-group-1 dep-1 azure/gpt-1 https://xyz1.openai.azure.com/ map[]
	// model-group-1 dep-2 azure/gpt-2 https://xyz2.openai.azure.com/ map[]
	// alias-1 dep-1 azure/gpt-1 https://xyz1.openai.azure.com/ map[]
	// alias-1 dep-2 azure/gpt-2 https://xyz2.openai.azure.com/ map[]
	// hidden-1 → model-group-1 <nil>
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
