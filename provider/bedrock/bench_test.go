package bedrock_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider/bedrock"
)

// BenchmarkChatCompletion compares a chat completion through the Provider
// (translating the request and the answer) with the bare SDK Converse call
// of the same request, both against one recorded answer on loopback.
func BenchmarkChatCompletion(b *testing.B) {
	hermetic(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answerText)
	}))
	defer srv.Close()
	ctx := context.Background()
	bare := bedrockruntime.New(bedrockruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
	})
	in := &bedrockruntime.ConverseInput{
		ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
		System:  []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Be brief."}},
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: "Hello, who are you?"},
		}}},
	}
	p, err := bedrock.New(ctx, bedrock.Config{Region: "us-east-1", AccessKeyID: "AKIDBENCH", SecretAccessKey: "secret", Endpoint: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	req := openai.ChatCompletionRequest{
		Model: "anthropic.claude-3-haiku-20240307-v1:0",
		Messages: []openai.ChatCompletionMessage{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Hello, who are you?"},
		},
	}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bare.Converse(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("provider", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.ChatCompletion(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
