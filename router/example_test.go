package router_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

func hello(model string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Hello"}},
	}
}

// A request for an alias fails over from a failing deployment to a healthy
// one; the Route tells the whole story.
func ExampleRouter_Complete() {
	ctx := context.Background()
	reg, _ := alias.New(ctx)
	defer reg.Close()

	primary, backup := providertest.NewFake(), providertest.NewFake()
	primary.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
	r, err := router.New(reg, router.Config{Deployments: []router.Deployment{
		{ID: "openai-1", Group: "gpt-4o", Model: "openai/gpt-4o", Provider: primary, Order: 1},
		{ID: "azure-1", Group: "gpt-4o", Model: "azure/gpt-4o-eu", Provider: backup, Order: 2},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	reg.Create(ctx, alias.Alias{Name: "smart", Target: "gpt-4o"})

	resp, route, err := r.Complete(ctx, hello("smart"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Choices[0].Message.Content)
	fmt.Printf("%s → %v → group %s → %s (%s)\n", route.Requested, route.Chain, route.Group, route.Deployment, route.Model)
	for _, a := range route.Attempts {
		outcome := "ok"
		if a.Err != nil {
			outcome = a.Kind.String()
		}
		fmt.Printf("  attempt %s: %s\n", a.Deployment, outcome)
	}
	// Output:
	// ok
	// smart → [smart] → group gpt-4o → azure-1 (gpt-4o-eu)
	//   attempt openai-1: unavailable
	//   attempt azure-1: ok
}

// Explain tells how a name would be routed, calling nothing.
func ExampleRouter_Explain() {
	fake := providertest.NewFake()
	r, _ := router.New(nil, router.Config{
		Strategy: "least-busy",
		Deployments: []router.Deployment{
			{ID: "a", Group: "chat", Model: "openai/gpt-4o-mini", Provider: fake, Order: 1, Tags: []string{"eu"}},
			{ID: "b", Group: "chat", Model: "groq/llama-3.1-8b-instant", Provider: fake, Order: 2},
			{ID: "c", Group: "chat-big", Model: "openai/gpt-4o", Provider: fake},
		},
		Fallbacks: map[string][]string{"*": {"chat-big"}},
	})
	defer r.Close()

	e, _ := r.Explain("chat")
	fmt.Println("group", e.Group, "strategy", e.Strategy, "fallbacks", e.Fallbacks)
	for _, d := range e.Deployments {
		fmt.Printf("  %s %s/%s order %d: %v\n", d.ID, d.Provider, d.Model, d.Order, d.Reason)
	}
	// Output:
	// group chat strategy least-busy fallbacks [chat-big]
	//   a openai/gpt-4o-mini order 1: candidate
	//   b groq/llama-3.1-8b-instant order 2: lower order tier
}

// When every deployment is cooling down, the error says how long to wait.
func ExampleExhaustedError() {
	fake := providertest.NewFake()
	fake.SetDefault(providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: time.Minute})
	r, _ := router.New(nil, router.Config{
		NumRetries:  -1,
		Deployments: []router.Deployment{{ID: "a", Group: "chat", Model: "openai/gpt-4o", Provider: fake}},
	})
	defer r.Close()
	r.Complete(context.Background(), hello("chat")) // 429: cools down for a minute
	// A cooldown longer than MaxCooldownWait (default 30s) is not waited for.
	_, _, err := r.Complete(context.Background(), hello("chat"))
	fmt.Println(err)
	var ex *router.ExhaustedError
	fmt.Println(errors.As(err, &ex), errors.Is(err, router.ErrCooldown), ex.CooldownWait.Round(1e9))
	// Output:
	// router: no deployment available for "chat" (0 attempts; earliest cooldown ends in 1m0s)
	// true true 1m0s
}

// An Authorizer decides on the name the client asked for, and is handed
// the whole resolution; the Router resolves the name once. (A gateway
// passes an access.Checker, with the caller's key in the context.)
func ExampleWithAuthorizer() {
	ctx := context.Background()
	reg, _ := alias.New(ctx)
	defer reg.Close()
	rt, _ := router.New(reg, router.Config{Deployments: []router.Deployment{
		{Group: "model-group-1", Model: "gpt-4o", Provider: providertest.NewFake()},
	}})
	defer rt.Close()
	reg.Create(ctx, alias.Alias{Name: "alias-1", Target: "model-group-1"})

	// This caller was granted alias-1 only.
	auth := router.AuthorizerFunc(func(ctx context.Context, requested string, resolved []string) error {
		fmt.Printf("may the caller use %q (resolving through %q)?\n", requested, resolved)
		if requested != "alias-1" {
			return errors.New("denied: " + requested)
		}
		return nil
	})
	_, route, err := rt.Complete(ctx, hello("alias-1"), router.WithAuthorizer(auth))
	fmt.Println(route.Requested, route.Group, err)
	_, _, err = rt.Complete(ctx, hello("model-group-1"), router.WithAuthorizer(auth))
	fmt.Println(err)
	// Output:
	// may the caller use "alias-1" (resolving through ["model-group-1"])?
	// alias-1 model-group-1 <nil>
	// may the caller use "model-group-1" (resolving through [])?
	// denied: model-group-1
}
