package providertest_test

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

// ask is the code under test: it asks p once more when the first answer is a
// retryable failure.
func ask(ctx context.Context, p provider.Provider, question string) (string, error) {
	req := openai.ChatCompletionRequest{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: question}},
	}
	resp, err := p.ChatCompletion(ctx, req)
	var e *provider.Error
	if errors.As(err, &e) && e.Kind.Retryable() {
		resp, err = p.ChatCompletion(ctx, req)
	}
	if err != nil {
		return "", err
	}
	return resp.Choices[0].Message.Content, nil
}

// Unit-testing code built on a Provider with the Fake: script a rate limit,
// then a success, and check what the code did.
func ExampleFake() {
	f := providertest.NewFake()
	f.Enqueue(
		providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: time.Second},
		providertest.Reply{Chunks: []string{"Paris"}}, // a canned answer with this content
	)

	answer, err := ask(context.Background(), f, "Capital of France?")
	fmt.Println(answer, err)
	for _, c := range f.Calls() {
		fmt.Println(c.Method, c.Model, c.Messages[0].Content)
	}

	// Scripted failures are *provider.Error values like real ones.
	f.Enqueue(providertest.Reply{Kind: provider.KindContextWindow}, providertest.Reply{})
	_, err = ask(context.Background(), f, "A very long question")
	fmt.Println(err, f.CallCount())
	// Output:
	// Paris <nil>
	// chat gpt-4o-mini Capital of France?
	// chat gpt-4o-mini Capital of France?
	// provider: context_window_exceeded from fake/gpt-4o-mini (status 400): providertest: scripted failure 3
}

// The fake OpenAI-compatible server, called with a plain go-openai client.
func ExampleNewServer() {
	srv := providertest.NewServer(providertest.WithChunks("Hello", "!"))
	defer srv.Close()

	cfg := openai.DefaultConfig("sk-test")
	cfg.BaseURL = srv.URL()
	c := openai.NewClientWithConfig(cfg)

	req := openai.ChatCompletionRequest{Model: "llama-3.1-8b", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}
	resp, err := c.CreateChatCompletion(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content)

	// Inject a fault for one model: the next two calls get 503.
	srv.SetFault("llama-3.1-8b", providertest.Fault{Status: 503, Times: 2})
	for range 3 {
		if _, err := c.CreateChatCompletion(context.Background(), req); err != nil {
			fmt.Println(provider.Classify(err).Kind)
		} else {
			fmt.Println("ok")
		}
	}
	fmt.Println(srv.CountModel("llama-3.1-8b"), srv.Count(providertest.PathChat))
	// Output:
	// Hello!
	// unavailable
	// unavailable
	// ok
	// 4 4
}
