package provider_test

import (
	"context"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// BenchmarkChatCompletion compares a chat completion through the OpenAI
// provider with the same call made with a bare go-openai client, both
// against the fake server on loopback with the same HTTP client settings.
func BenchmarkChatCompletion(b *testing.B) {
	srv := providertest.NewServer()
	defer srv.Close()
	req := chat("bench-model")

	bare := func() func(context.Context) error {
		cfg := openai.DefaultConfig("sk-bench")
		cfg.BaseURL = srv.URL()
		hc := provider.NewHTTPClient()
		b.Cleanup(hc.CloseIdleConnections)
		cfg.HTTPClient = hc
		c := openai.NewClientWithConfig(cfg)
		return func(ctx context.Context) error { _, err := c.CreateChatCompletion(ctx, req); return err }
	}
	viaProvider := func() func(context.Context) error {
		p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: srv.URL(), APIKey: "sk-bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		return func(ctx context.Context) error { _, err := p.ChatCompletion(ctx, req); return err }
	}
	for _, bm := range []struct {
		name string
		call func() func(context.Context) error
	}{
		{"go-openai", bare},
		{"provider", viaProvider},
	} {
		b.Run(bm.name, func(b *testing.B) {
			call := bm.call()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bm.name+"/parallel", func(b *testing.B) {
			call := bm.call()
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
