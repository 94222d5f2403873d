package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func newOpenAIClient(g *testGateway, key string) *openai.Client {
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = g.base + "/v1"
	return openai.NewClientWithConfig(cfg)
}

// TestGoOpenAI drives the gateway with the go-openai client: chat, a
// stream, embeddings and the model list, through an alias, a hidden alias
// and a group; every response's model is the requested name.
func TestGoOpenAI(t *testing.T) {
	t.Parallel()
	g, up := seedGateway(t)
	c := newOpenAIClient(g, testMasterKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hello"}}

	t.Run("chat", func(t *testing.T) {
		for _, model := range []string{"alias-1", "hidden-1", "model-group-1", "model-group-2"} {
			resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: model, Messages: msgs})
			if err != nil {
				t.Fatalf("%s: %v", model, err)
			}
			if resp.Model != model {
				t.Errorf("%s: response model %q, want the requested name", model, resp.Model)
			}
			if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "ok" {
				t.Errorf("%s: choices %+v, want one \"ok\"", model, resp.Choices)
			}
			if resp.Usage.TotalTokens == 0 {
				t.Errorf("%s: no usage", model)
			}
		}
	})

	t.Run("stream", func(t *testing.T) {
		before := up.Count("/v1/chat/completions")
		s, err := c.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: "alias-1", Messages: msgs, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var content strings.Builder
		chunks := 0
		for {
			ch, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Recv after %d chunks: %v", chunks, err)
			}
			chunks++
			if ch.Model != "alias-1" {
				t.Errorf("chunk %d: model %q, want alias-1", chunks, ch.Model)
			}
			for _, c := range ch.Choices {
				content.WriteString(c.Delta.Content)
			}
		}
		if content.String() != "ok" || chunks < 2 {
			t.Errorf("streamed %q in %d chunks, want \"ok\" in at least 2", content.String(), chunks)
		}
		if got := up.Count("/v1/chat/completions") - before; got != 1 {
			t.Errorf("upstream chat calls for one stream: %d, want 1", got)
		}
		if hd := s.Header(); hd.Get("x-modelroute-model-group") != "model-group-1" {
			t.Errorf("stream header x-modelroute-model-group = %q, want model-group-1", hd.Get("x-modelroute-model-group"))
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		resp, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequest{Model: "text-embedding-3-small", Input: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Model) != "text-embedding-3-small" {
			t.Errorf("model %q, want text-embedding-3-small", resp.Model)
		}
		if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 {
			t.Errorf("data %+v, want two vectors", resp.Data)
		}
		if up.CountModel(upEmbed) != 1 {
			t.Errorf("upstream embeddings calls for %s: %d, want 1", upEmbed, up.CountModel(upEmbed))
		}
	})

	t.Run("models", func(t *testing.T) {
		l, err := c.ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range l.Models {
			ids = append(ids, m.ID)
			if m.Object != "model" || m.OwnedBy == "" || m.CreatedAt == 0 {
				t.Errorf("model %+v: want object model, owned_by and created", m)
			}
		}
		for _, want := range []string{"model-group-1", "model-group-2", "text-embedding-3-small", "alias-1"} {
			if !slices.Contains(ids, want) {
				t.Errorf("models %q lack %q", ids, want)
			}
		}
		if slices.Contains(ids, "hidden-1") {
			t.Errorf("models %q list the hidden alias hidden-1", ids)
		}
	})

	t.Run("error", func(t *testing.T) {
		_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "no-such-model", Messages: msgs})
		var ae *openai.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v, want an *openai.APIError", err)
		}
		if ae.HTTPStatusCode != 404 || ae.Code != "model_not_found" || ae.Type != "not_found_error" {
			t.Errorf("APIError %+v, want 404 model_not_found not_found_error", ae)
		}
	})
}

// TestRouteHeaders checks the x-modelroute-* headers on plain, streamed and
// embeddings answers: the group the alias resolved to, one of its
// deployments, and the number of attempts.
func TestRouteHeaders(t *testing.T) {
	t.Parallel()
	g, _ := seedGateway(t)

	check := func(t *testing.T, what string, hd http.Header, group string, deps ...string) {
		t.Helper()
		if got := hd.Get("x-modelroute-model-group"); got != group {
			t.Errorf("%s: x-modelroute-model-group = %q, want %q", what, got, group)
		}
		if got := hd.Get("x-modelroute-deployment-id"); !slices.Contains(deps, got) {
			t.Errorf("%s: x-modelroute-deployment-id = %q, want one of %q", what, got, deps)
		}
		if got := hd.Get("x-modelroute-attempts"); got != "1" {
			t.Errorf("%s: x-modelroute-attempts = %q, want 1", what, got)
		}
	}

	for _, model := range []string{"alias-1", "hidden-1", "model-group-1"} {
		r := g.chat(testMasterKey, model)
		mustStatus(t, "chat "+model, r, 200)
		check(t, "chat "+model, r.Header, "model-group-1", "dep-a", "dep-b")
	}
	r := g.chat(testMasterKey, "model-group-2")
	mustStatus(t, "chat model-group-2", r, 200)
	check(t, "chat model-group-2", r.Header, "model-group-2", "dep-c")

	r = g.do("POST", "/v1/embeddings", testMasterKey, map[string]any{"model": "text-embedding-3-small", "input": "x"})
	mustStatus(t, "embeddings", r, 200)
	check(t, "embeddings", r.Header, "text-embedding-3-small", "dep-emb")

	// Streamed: the headers come before the first chunk; the body is SSE
	// ending with [DONE], every chunk naming the alias.
	body := chatBody("alias-1")
	body["stream"] = true
	r = g.do("POST", "/v1/chat/completions", testMasterKey, body)
	mustStatus(t, "stream", r, 200)
	check(t, "stream", r.Header, "model-group-1", "dep-a", "dep-b")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("stream: Content-Type %q, want text/event-stream", ct)
	}
	var data []string
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	if len(data) < 2 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream: data lines %q, want chunks ending with [DONE]", data)
	}
	for _, d := range data[:len(data)-1] {
		if !strings.Contains(d, `"model":"alias-1"`) {
			t.Errorf("stream chunk %s does not name model alias-1", d)
		}
	}
}
