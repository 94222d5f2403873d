package anthropic_test

import (
	"context"
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider/anthropic"
	"github.com/modelroute/modelroute/provider/anthropic/anthropictest"
	"github.com/modelroute/modelroute/provider/providertest"
)

// A Provider calls the Messages API with OpenAI requests; here the fake
// Messages API stands in for Anthropic's.
func Example() {
	upstream := providertest.NewServer(providertest.WithChunks("Hello", " from Claude"))
	defer upstream.Close()
	fake := anthropictest.NewServer(upstream)
	defer fake.Close()

	p, err := anthropic.New(anthropic.Config{BaseURL: fake.URL(), APIKey: "sk-ant-example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	resp, err := p.ChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: "Be brief."},
			{Role: openai.ChatMessageRoleUser, Content: "Hi"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Choices[0].Message.Content, resp.Choices[0].FinishReason)
	// Output: Hello from Claude stop
}
