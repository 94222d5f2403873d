package anthropic_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
)

// BenchmarkChatCompletion compares a chat completion through the Provider
// (translating the request and the answer) with the bare HTTP call of the
// same Messages request, both against one recorded answer on loopback.
func BenchmarkChatCompletion(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answerText)
	}))
	defer srv.Close()
	req := openai.ChatCompletionRequest{
		Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessage{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Hello, who are you?"},
		},
	}
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":4096,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":[{"type":"text","text":"Hello, who are you?"}]}]}`)

	hc := provider.NewHTTPClient()
	defer hc.CloseIdleConnections()
	p, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, APIKey: "sk-ant-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()

	b.Run("net/http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/messages", bytes.NewReader(body))
			req.Header.Set("X-Api-Key", "sk-ant-bench")
			req.Header.Set("Anthropic-Version", anthropic.DefaultVersion)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
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

// BenchmarkStream measures reading a streamed answer of many text deltas
// as OpenAI chunks, per chunk.
func BenchmarkStream(b *testing.B) {
	const deltas = 100
	var sb strings.Builder
	sb.WriteString(streamText[:strings.Index(streamText, "event: content_block_delta")])
	for range deltas {
		sb.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n")
	}
	sb.WriteString(streamText[strings.Index(streamText, "event: content_block_stop"):])
	answer := sb.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	p, err := anthropic.New(anthropic.Config{BaseURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	req := openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}
	b.ReportAllocs()
	for b.Loop() {
		s, err := p.ChatCompletionStream(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			if _, err := s.Recv(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			n++
		}
		s.Close()
		if n != deltas+1 {
			b.Fatalf("%d chunks, want %d", n, deltas+1)
		}
	}
}
