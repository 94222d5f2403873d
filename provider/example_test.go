package provider_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// A provider for any OpenAI-compatible base URL: here the fake server from
// providertest stands in for vLLM, Groq or OpenAI itself.
func ExampleNewOpenAI() {
	srv := providertest.NewServer()
	defer srv.Close()

	p, err := provider.NewOpenAI(provider.OpenAIConfig{
		Name:    "hosted_vllm",
		BaseURL: srv.URL(), // for example "http://127.0.0.1:8000/v1"
		APIKey:  "sk-anything",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	req := openai.ChatCompletionRequest{
		Model:    "llama-3.1-8b", // the upstream model, sent as is
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Say ok."}},
	}
	resp, err := p.ChatCompletion(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Model, resp.Choices[0].Message.Content)

	// Every error is a classified *provider.Error.
	srv.SetFault("llama-3.1-8b", providertest.Fault{Status: 429, RetryAfter: 2 * time.Second})
	_, err = p.ChatCompletion(context.Background(), req)
	var e *provider.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Status, e.RetryAfter, e.Kind.Retryable())
	}
	// Output:
	// llama-3.1-8b ok
	// rate_limited 429 2s true
}

// From a LiteLLM-style "provider/model" name to a provider config.
func ExampleTable_Parse() {
	tab := provider.DefaultTable()
	spec, model, err := tab.Parse("groq/llama-3.1-70b")
	if err != nil {
		log.Fatal(err)
	}
	env := func(name string) (string, bool) { return "gsk-example", name == "GROQ_API_KEY" }
	cfg, err := spec.Config("", "", env) // no api_base or api_key of its own: the table's defaults
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spec.Prefix, model, cfg.BaseURL, cfg.APIKey)

	_, err = spec.Config("", "os.environ/TEAM_GROQ_KEY", env)
	fmt.Println(err)

	_, _, err = tab.Parse("bedrock/claude-3")
	fmt.Println(errors.Is(err, provider.ErrUnknownPrefix))
	// Output:
	// groq llama-3.1-70b https://api.groq.com/openai/v1 gsk-example
	// provider: environment variable not set: TEAM_GROQ_KEY (from "os.environ/TEAM_GROQ_KEY")
	// true
}

func ExampleClassify() {
	// What go-openai returns for a 400 with code context_length_exceeded.
	err := &openai.APIError{Code: "context_length_exceeded", HTTPStatusCode: 400, Message: "too long"}
	e := provider.Classify(fmt.Errorf("attempt 1: %w", err))
	fmt.Println(e.Kind, e.Status, e.Code, e.Kind.Retryable())

	e = provider.Classify(context.Canceled)
	fmt.Println(e.Kind)
	// Output:
	// context_window_exceeded 400 context_length_exceeded false
	// canceled
}
