package bedrock_test

import (
	"context"
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider/bedrock"
	"github.com/modelroute/modelroute/provider/bedrock/bedrocktest"
	"github.com/modelroute/modelroute/provider/providertest"
)

// A Provider calls Converse with OpenAI requests; here the fake Bedrock
// runtime stands in for AWS's, and static keys for the credentials chain.
func Example() {
	upstream := providertest.NewServer(providertest.WithChunks("Hello", " from Bedrock"))
	defer upstream.Close()
	fake := bedrocktest.NewServer(upstream, bedrocktest.WithCredentials("AKIDEXAMPLE", "us-west-2"))
	defer fake.Close()

	p, err := bedrock.New(context.Background(), bedrock.Config{
		Region: "us-west-2", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "example-secret", Endpoint: fake.URL(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	resp, err := p.ChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "anthropic.claude-3-opus-20240229-v1:0",
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
	// Output: Hello from Bedrock stop
}
