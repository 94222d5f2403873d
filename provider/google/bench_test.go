package google_test

import (
	"context"
	"testing"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/oauth2"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/google"
	"github.com/modelroute/modelroute/provider/providertest"
)

// BenchmarkChatCompletion compares a chat completion through Vertex (a
// token on each request, the model's publisher added and removed) with the
// same call through the bare OpenAI-compatible provider, against the fake
// server on loopback.
func BenchmarkChatCompletion(b *testing.B) {
	srv := providertest.NewServer()
	defer srv.Close()
	bare, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: srv.URL(), APIKey: "ya29.bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	v, err := google.NewVertex(context.Background(), google.VertexConfig{
		BaseURL: srv.URL(), TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.bench"}),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	req := openai.ChatCompletionRequest{Model: "gemini-1.5-pro", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}
	for _, c := range []struct {
		name string
		p    provider.Provider
	}{{"provider.OpenAI", bare}, {"google.Vertex", v}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.p.ChatCompletion(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
