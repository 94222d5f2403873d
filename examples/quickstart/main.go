// Command quickstart shows modelroute's alias Registry and Router working
// together over fake providers: no keys, no network.
//
// It routes a handful of requests through aliases, re-points one alias
// mid-way, fails over from a failing deployment to a healthy one, and prints
// each request's route.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// The alias Registry: friendly names clients call.
	reg, err := alias.New(ctx)
	if err != nil {
		return err
	}
	defer reg.Close()

	// Fake upstreams. The OpenAI one answers its first call with a 503.
	openaiAPI, azureAPI, groqAPI, togetherAPI := providertest.NewFake(), providertest.NewFake(), providertest.NewFake(), providertest.NewFake()
	openaiAPI.Enqueue(providertest.Reply{Kind: provider.KindUnavailable, Status: 503})

	// Two model groups: gpt-4o (OpenAI first, Azure as the order-2 backup)
	// and llama-3.1-8b (Groq and Together, weighted 2:1).
	r, err := router.New(reg, router.Config{
		Deployments: []router.Deployment{
			{ID: "openai-gpt-4o", Group: "gpt-4o", Model: "openai/gpt-4o", Provider: openaiAPI, Order: 1},
			{ID: "azure-gpt-4o", Group: "gpt-4o", Model: "azure/gpt-4o-eu", Provider: azureAPI, Order: 2},
			{ID: "groq-llama", Group: "llama-3.1-8b", Model: "groq/llama-3.1-8b-instant", Provider: groqAPI, Weight: 2},
			{ID: "together-llama", Group: "llama-3.1-8b", Model: "together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", Provider: togetherAPI, Weight: 1},
		},
		Fallbacks: map[string][]string{"gpt-4o": {"llama-3.1-8b"}},
	}, router.WithSeed(7))
	if err != nil {
		return err
	}
	defer r.Close()

	for _, a := range []alias.Alias{
		{Name: "smart", Target: "gpt-4o", Description: "our best model"},
		{Name: "fast", Target: "llama-3.1-8b", Description: "cheap and quick"},
	} {
		if _, err := reg.Create(ctx, a); err != nil {
			return err
		}
	}

	ask := func(model string) error {
		req := openai.ChatCompletionRequest{
			Model:    model,
			Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Hello!"}},
		}
		_, route, err := r.Complete(ctx, req)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, describe(route))
		return nil
	}

	for _, name := range []string{"smart", "fast", "fast", "smart"} {
		if err := ask(name); err != nil {
			return err
		}
	}

	// Re-point an alias: the next request follows it, no restart.
	target := "llama-3.1-8b"
	if _, err := reg.Update(ctx, "smart", alias.Update{Target: &target}); err != nil {
		return err
	}
	fmt.Fprintln(w, "re-pointed smart → llama-3.1-8b")
	for _, name := range []string{"smart", "gpt-4o"} {
		if err := ask(name); err != nil {
			return err
		}
	}
	return nil
}

// describe renders a route on one line, for example
//
//	smart → gpt-4o: openai-gpt-4o ✗ unavailable, azure-gpt-4o ✓ (failover; upstream model gpt-4o-eu)
func describe(route router.Route) string {
	var b strings.Builder
	b.WriteString(route.Requested)
	if route.Requested != route.Group || route.Fallback {
		b.WriteString(" → ")
		b.WriteString(route.Group)
	}
	b.WriteString(": ")
	for i, a := range route.Attempts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Deployment)
		if a.Err != nil {
			b.WriteString(" ✗ ")
			b.WriteString(a.Kind.String())
		} else {
			b.WriteString(" ✓")
		}
	}
	var notes []string
	if len(route.Attempts) > 1 {
		notes = append(notes, "failover")
	}
	if route.Fallback {
		notes = append(notes, "fallback to "+route.Target)
	}
	notes = append(notes, "upstream model "+route.Model)
	b.WriteString(" (" + strings.Join(notes, "; ") + ")")
	return b.String()
}
