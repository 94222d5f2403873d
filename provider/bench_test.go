package provider_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// chatCallers are the two ways BenchmarkChatCompletion makes the same call
// against srv: a bare go-openai client and the OpenAI provider, each with its
// own client from provider.NewHTTPClient.
func chatCallers(b *testing.B, srv *providertest.Server) []struct {
	name string
	call func(context.Context) error
} {
	req := chat("bench-model")

	cfg := openai.DefaultConfig("sk-bench")
	cfg.BaseURL = srv.URL()
	hc := provider.NewHTTPClient()
	b.Cleanup(hc.CloseIdleConnections)
	cfg.HTTPClient = hc
	bare := openai.NewClientWithConfig(cfg)

	p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: srv.URL(), APIKey: "sk-bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })

	return []struct {
		name string
		call func(context.Context) error
	}{
		{"go-openai", func(ctx context.Context) error { _, err := bare.CreateChatCompletion(ctx, req); return err }},
		{"provider", func(ctx context.Context) error { _, err := p.ChatCompletion(ctx, req); return err }},
	}
}

// BenchmarkChatCompletion compares a chat completion through the OpenAI
// provider with the same call made with a bare go-openai client, both
// against the fake server on loopback.
func BenchmarkChatCompletion(b *testing.B) {
	srv := providertest.NewServer()
	defer srv.Close()
	for _, c := range chatCallers(b, srv) {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChatCompletionParallel is BenchmarkChatCompletion with concurrent
// callers.
func BenchmarkChatCompletionParallel(b *testing.B) {
	srv := providertest.NewServer()
	defer srv.Close()
	for _, c := range chatCallers(b, srv) {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkChatCompletionInMemory is BenchmarkChatCompletion without the
// network: both clients get the fake server's answer from an in-memory
// transport, so that the difference is the provider's own cost alone.
func BenchmarkChatCompletionInMemory(b *testing.B) {
	srv := providertest.NewServer()
	defer srv.Close()
	// One real answer, replayed.
	resp, err := http.Post(srv.URL()+"/chat/completions", "application/json", strings.NewReader(`{"model":"bench-model"}`))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return &http.Response{
			StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/json"}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)), Request: r,
		}, nil
	})}
	req := chat("bench-model")
	cfg := openai.DefaultConfig("sk-bench")
	cfg.BaseURL = "http://fake.invalid/v1"
	cfg.HTTPClient = hc
	bare := openai.NewClientWithConfig(cfg)
	p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: "http://fake.invalid/v1", APIKey: "sk-bench", HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		call func(context.Context) error
	}{
		{"go-openai", func(ctx context.Context) error { _, err := bare.CreateChatCompletion(ctx, req); return err }},
		{"provider", func(ctx context.Context) error { _, err := p.ChatCompletion(ctx, req); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
