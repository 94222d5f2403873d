package providertest_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

var ctx = context.Background()

func chat(model string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi " + model}},
	}
}

// readAll reads a stream to its end: the contents of its chunks and the
// error that ended it.
func readAll(s provider.Stream) ([]string, error) {
	var got []string
	for {
		c, err := s.Recv()
		if err != nil {
			return got, err
		}
		got = append(got, c.Choices[0].Delta.Content)
	}
}

func TestFakeCannedAnswers(t *testing.T) {
	f := providertest.NewFake()
	resp, err := f.ChatCompletion(ctx, chat("m1"))
	if err != nil {
		t.Fatal(err)
	}
	want := openai.ChatCompletionResponse{
		ID: "chatcmpl-fake", Object: "chat.completion", Created: 1735689600, Model: "m1",
		Choices: []openai.ChatCompletionChoice{{
			Message:      openai.ChatCompletionMessage{Role: "assistant", Content: "ok"},
			FinishReason: openai.FinishReasonStop,
		}},
		Usage: openai.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15},
	}
	if diff := cmp.Diff(want, resp, cmpopts.IgnoreUnexported(openai.ChatCompletionResponse{})); diff != "" {
		t.Errorf("ChatCompletion (-want +got):\n%s", diff)
	}

	s, err := f.ChatCompletionStream(ctx, chat("m2"))
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := readAll(s)
	if err != io.EOF || !cmp.Equal(chunks, []string{"o", "k"}) {
		t.Errorf("stream = %q, %v; want [o k], io.EOF", chunks, err)
	}
	s.Close()

	emb, err := f.Embeddings(ctx, openai.EmbeddingRequest{Model: "e", Input: []string{"a", "b", "c"}})
	if err != nil || len(emb.Data) != 3 || emb.Data[2].Index != 2 || emb.Model != "e" {
		t.Errorf("Embeddings = %+v, %v", emb, err)
	}
	if err := f.Probe(ctx); err != nil {
		t.Errorf("Probe: %v", err)
	}

	calls := f.Calls()
	var got []string
	for _, c := range calls {
		got = append(got, c.Method+":"+c.Model)
		if c.Time.IsZero() {
			t.Errorf("call %s has no time", c.Method)
		}
	}
	if diff := cmp.Diff([]string{"chat:m1", "stream:m2", "embeddings:e", "probe:"}, got); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
	if calls[0].Messages[0].Content != "hi m1" {
		t.Errorf("recorded messages = %+v", calls[0].Messages)
	}
	if f.CallCount() != 4 {
		t.Errorf("CallCount = %d, want 4", f.CallCount())
	}
	calls[0].Model = "changed"
	if f.Calls()[0].Model != "m1" {
		t.Error("Calls does not return a copy")
	}
}

func TestFakeEmbeddingInputs(t *testing.T) {
	tests := []struct {
		input any
		want  int
	}{
		{"one", 1},
		{[]string{"a", "b"}, 2},
		{[][]int{{1, 2}, {3}}, 2},
		{[]int{1, 2, 3}, 1},
		{[]any{"a", "b", "c"}, 3},
		{[]any{1.0, 2.0}, 1},
		{nil, 0},
	}
	f := providertest.NewFake()
	for _, tt := range tests {
		resp, err := f.Embeddings(ctx, openai.EmbeddingRequest{Model: "e", Input: tt.input})
		if err != nil || len(resp.Data) != tt.want {
			t.Errorf("input %#v: %d vectors, %v; want %d", tt.input, len(resp.Data), err, tt.want)
		}
	}
}

// content returns the answer's content, or the error's kind.
func content(f *providertest.Fake) string {
	resp, err := f.ChatCompletion(ctx, chat("m"))
	if err != nil {
		return provider.Classify(err).Kind.String()
	}
	return resp.Choices[0].Message.Content
}

func TestFakeScript(t *testing.T) {
	f := providertest.NewFake()
	f.SetDefault(providertest.Reply{Chunks: []string{"de", "fault"}})
	f.Enqueue(providertest.Reply{Kind: provider.KindRateLimited}, providertest.Reply{Chunks: []string{"second"}})
	f.Enqueue(providertest.Reply{Response: &openai.ChatCompletionResponse{Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Content: "given"}}}}})

	var got []string
	got = append(got, content(f))
	if err := f.Probe(ctx); err != nil { // probes do not consume the queue
		t.Fatal(err)
	}
	f.SetFunc(func(c providertest.Call) providertest.Reply {
		return providertest.Reply{Chunks: []string{"func:" + c.Method}}
	})
	got = append(got, content(f)) // the function wins over the queue
	f.SetFunc(nil)
	for range 4 {
		got = append(got, content(f))
	}
	want := []string{"rate_limited", "func:chat", "second", "given", "default", "default"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

func TestFakeErrors(t *testing.T) {
	given := &provider.Error{Kind: provider.KindAuth, Status: 403, Provider: "mine"}
	tests := []struct {
		name  string
		reply providertest.Reply
		want  provider.Error // Err is not compared
		same  error          // if set, the error returned must be this one
	}{
		{"rate limited", providertest.Reply{Kind: provider.KindRateLimited, RetryAfter: 3 * time.Second},
			provider.Error{Kind: provider.KindRateLimited, Status: 429, Code: "rate_limit_exceeded", Provider: "fake", Model: "m", RetryAfter: 3 * time.Second}, nil},
		{"status given", providertest.Reply{Kind: provider.KindUnavailable, Status: 502},
			provider.Error{Kind: provider.KindUnavailable, Status: 502, Provider: "fake", Model: "m"}, nil},
		{"context window", providertest.Reply{Kind: provider.KindContextWindow},
			provider.Error{Kind: provider.KindContextWindow, Status: 400, Code: "context_length_exceeded", Provider: "fake", Model: "m"}, nil},
		{"code given", providertest.Reply{Kind: provider.KindContentPolicy, Code: "content_policy_violation"},
			provider.Error{Kind: provider.KindContentPolicy, Status: 400, Code: "content_policy_violation", Provider: "fake", Model: "m"}, nil},
		{"connection", providertest.Reply{Kind: provider.KindConnection},
			provider.Error{Kind: provider.KindConnection, Provider: "fake", Model: "m"}, nil},
		{"timeout", providertest.Reply{Kind: provider.KindTimeout},
			provider.Error{Kind: provider.KindTimeout, Provider: "fake", Model: "m"}, nil},
		{"raw error classified", providertest.Reply{Err: io.ErrUnexpectedEOF},
			provider.Error{Kind: provider.KindConnection, Provider: "fake", Model: "m"}, nil},
		{"raw error with kind", providertest.Reply{Err: errors.New("quota"), Kind: provider.KindRateLimited, Status: 429, RetryAfter: time.Minute},
			provider.Error{Kind: provider.KindRateLimited, Status: 429, Provider: "fake", Model: "m", RetryAfter: time.Minute}, nil},
		{"go-openai error", providertest.Reply{Err: &openai.APIError{HTTPStatusCode: 404, Code: "model_not_found"}},
			provider.Error{Kind: provider.KindNotFound, Status: 404, Code: "model_not_found", Provider: "fake", Model: "m"}, nil},
		{"*provider.Error as is", providertest.Reply{Err: given},
			provider.Error{Kind: provider.KindAuth, Status: 403, Provider: "mine"}, given},
		{"content filter", providertest.Reply{FinishReason: openai.FinishReasonContentFilter},
			provider.Error{Kind: provider.KindContentPolicy, Status: 200, Code: "content_filter", Provider: "fake", Model: "m"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := providertest.NewFake()
			f.SetDefault(tt.reply)
			calls := map[string]func() error{
				"chat": func() error { _, err := f.ChatCompletion(ctx, chat("m")); return err },
				"stream": func() error {
					s, err := f.ChatCompletionStream(ctx, chat("m"))
					if err != nil {
						return err
					}
					defer s.Close()
					_, err = readAll(s)
					return err
				},
			}
			if tt.reply.FinishReason == "" { // a finish reason is no embeddings matter
				calls["embeddings"] = func() error {
					_, err := f.Embeddings(ctx, openai.EmbeddingRequest{Model: "m", Input: "x"})
					return err
				}
			}
			for name, call := range calls {
				err := call()
				if tt.same != nil {
					if err != tt.same {
						t.Errorf("%s: error %v, want the given error itself", name, err)
					}
					continue
				}
				var e *provider.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %v is not a *provider.Error", name, err)
				}
				got := *e
				got.Err = nil
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s: error (-want +got):\n%s", name, diff)
				}
				if tt.reply.Err != nil && !errors.Is(err, tt.reply.Err) {
					t.Errorf("%s: error does not wrap the scripted one", name)
				}
			}
		})
	}
}

func TestFakeLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := providertest.NewFake()
		f.SetDefault(providertest.Reply{Latency: 5 * time.Second})
		start := time.Now()
		if _, err := f.ChatCompletion(ctx, chat("m")); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("answered after %v, want 5s", d)
		}
		if at := f.Calls()[0].Time; !at.Equal(start) {
			t.Errorf("call recorded at %v, want %v", at, start)
		}

		// A deadline passing first: KindTimeout, at the deadline.
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		start = time.Now()
		_, err := f.ChatCompletion(dctx, chat("m"))
		if e := provider.Classify(err); e.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) || e.Model != "m" {
			t.Errorf("deadline: %v, want KindTimeout", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("deadline: returned after %v, want 1s", d)
		}

		// A cancellation: KindCanceled, at once.
		cctx, cancel2 := context.WithCancel(ctx)
		time.AfterFunc(2*time.Second, cancel2)
		start = time.Now()
		_, err = f.ChatCompletionStream(cctx, chat("m"))
		if e := provider.Classify(err); e.Kind != provider.KindCanceled || !errors.Is(err, context.Canceled) {
			t.Errorf("cancel: %v, want KindCanceled", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("cancel: returned after %v, want 2s", d)
		}

		// Already canceled: no wait at all, even without latency.
		f.SetDefault(providertest.Reply{})
		_, err = f.Embeddings(cctx, openai.EmbeddingRequest{Model: "m", Input: "x"})
		if provider.Classify(err).Kind != provider.KindCanceled {
			t.Errorf("canceled context: %v, want KindCanceled", err)
		}
	})
}

func TestFakeStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := providertest.NewFake()
		f.Enqueue(
			providertest.Reply{Chunks: []string{"a", "b", "c"}, ChunkLatency: time.Second, FinishReason: openai.FinishReasonLength},
			providertest.Reply{Chunks: []string{"a", "b", "c"}, BreakAfter: 2},
			providertest.Reply{Chunks: []string{"a", "b"}, ChunkLatency: time.Hour},
		)

		start := time.Now()
		s, err := f.ChatCompletionStream(ctx, chat("m"))
		if err != nil {
			t.Fatal(err)
		}
		var finish []openai.FinishReason
		var roles []string
		for {
			c, err := s.Recv()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("Recv: %v", err)
				}
				break
			}
			finish = append(finish, c.Choices[0].FinishReason)
			roles = append(roles, c.Choices[0].Delta.Role)
			if c.Model != "m" {
				t.Errorf("chunk model = %q", c.Model)
			}
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("stream took %v, want 2s (1s before each chunk after the first)", d)
		}
		if diff := cmp.Diff([]openai.FinishReason{"", "", "length"}, finish); diff != "" {
			t.Errorf("finish reasons (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"assistant", "", ""}, roles); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
		if _, err := s.Recv(); err != io.EOF {
			t.Errorf("Recv after the end = %v, want io.EOF", err)
		}

		s, _ = f.ChatCompletionStream(ctx, chat("m"))
		got, err := readAll(s)
		if !cmp.Equal(got, []string{"a", "b"}) || provider.Classify(err).Kind != provider.KindConnection {
			t.Errorf("BreakAfter 2: %q, %v; want [a b] then KindConnection", got, err)
		}
		if _, again := s.Recv(); again != err {
			t.Errorf("Recv after the break = %v, want the same error", again)
		}

		// Close unblocks a waiting Recv.
		s, _ = f.ChatCompletionStream(ctx, chat("m"))
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(time.Second, func() { s.Close() })
		start = time.Now()
		_, err = s.Recv()
		if provider.Classify(err).Kind != provider.KindCanceled || time.Since(start) != time.Second {
			t.Errorf("Recv during Close: %v after %v, want KindCanceled after 1s", err, time.Since(start))
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestFakeProbe(t *testing.T) {
	f := providertest.NewFake()
	f.Enqueue(providertest.Reply{Kind: provider.KindAuth})
	if err := f.Probe(ctx); err != nil {
		t.Errorf("Probe = %v; the queue is for calls", err)
	}
	down := &provider.Error{Kind: provider.KindUnavailable, Status: 503}
	f.SetProbeError(down)
	if err := f.Probe(ctx); err != down {
		t.Errorf("Probe = %v, want the probe error", err)
	}
	f.SetProbeError(errors.New("no route"))
	if e := provider.Classify(f.Probe(ctx)); e.Provider != "fake" || e.Kind != provider.KindUnknown {
		t.Errorf("raw probe error: %+v", e)
	}
	f.SetProbeError(nil)
	f.SetFunc(func(c providertest.Call) providertest.Reply {
		if c.Method == providertest.MethodProbe {
			return providertest.Reply{Kind: provider.KindUnavailable}
		}
		return providertest.Reply{}
	})
	if e := provider.Classify(f.Probe(ctx)); e.Kind != provider.KindUnavailable {
		t.Errorf("probe through SetFunc: %v", e)
	}
}

func TestFakeReset(t *testing.T) {
	f := providertest.NewFake()
	f.Enqueue(providertest.Reply{Kind: provider.KindAuth})
	f.SetDefault(providertest.Reply{Kind: provider.KindAuth})
	f.SetProbeError(errors.New("down"))
	content(f)
	f.Reset()
	if f.CallCount() != 0 || content(f) != "ok" || f.Probe(ctx) != nil {
		t.Error("Reset left a script or calls behind")
	}
}

func TestFakeConcurrent(t *testing.T) {
	const workers, calls = 16, 200
	f := providertest.NewFake()
	for range workers * calls / 2 {
		f.Enqueue(providertest.Reply{Kind: provider.KindRateLimited})
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
	)
	for range workers {
		wg.Go(func() {
			for range calls {
				if _, err := f.ChatCompletion(ctx, chat("m")); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
				f.Calls()
			}
		})
	}
	wg.Wait()
	if f.CallCount() != workers*calls || failed != workers*calls/2 {
		t.Errorf("%d calls, %d failed; want %d and %d", f.CallCount(), failed, workers*calls, workers*calls/2)
	}
}

// BenchmarkFake is the cost of the Fake's success path, which router
// benchmarks compare against.
func BenchmarkFake(b *testing.B) {
	f := providertest.NewFake()
	req := chat("m")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.ChatCompletion(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
