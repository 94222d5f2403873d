package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// drain reads s to the end, returning the content and the final error.
func drain(s *Stream) (string, error) {
	return drainWith(s.Recv)
}

// drainWith is drain receiving with recv.
func drainWith(recv func() (openai.ChatCompletionStreamResponse, error)) (string, error) {
	var b strings.Builder
	for {
		chunk, err := recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return b.String(), err
		}
		for _, ch := range chunk.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
}

func TestStreamFailoverBeforeFirstChunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, fa, fb := primaryBackup()
		cfg.Deployments[0].StreamTimeout = time.Second
		r := mustNew(t, nil, cfg)
		fa.Enqueue(
			providertest.Reply{Kind: provider.KindUnavailable}, // fails to open
			providertest.Reply{Latency: 5 * time.Second},       // first chunk too late
			providertest.Reply{Chunks: []string{"he", "llo"}},  // fine
		)
		fb.SetDefault(providertest.Reply{Chunks: []string{"fall", "back"}})
		for i, want := range []struct {
			text string
			ids  []string
		}{
			{"fallback", []string{"a", "b"}},
			{"fallback", []string{"a", "b"}},
			{"hello", []string{"a"}},
		} {
			s, err := r.Stream(context.Background(), chat("g"))
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
			text, err := drain(s)
			s.Close()
			if err != nil || text != want.text {
				t.Errorf("stream %d: %q, %v; want %q", i, text, err, want.text)
			}
			if diff := cmp.Diff(want.ids, attemptIDs(s.Route())); diff != "" {
				t.Errorf("stream %d attempts (-want +got):\n%s", i, diff)
			}
		}
		if s := stateOf(t, r, "a"); s.Failures != 2 || s.InFlight != 0 {
			t.Errorf("a: %d failures, %d in flight; want 2 (open error, first-chunk timeout) and 0", s.Failures, s.InFlight)
		}
	})
}

func TestStreamBreakAfterFirstChunkIsNotRetried(t *testing.T) {
	cfg, fa, fb := primaryBackup()
	r := mustNew(t, nil, cfg)
	fa.Enqueue(providertest.Reply{Chunks: []string{"a", "b", "c"}, BreakAfter: 2})
	s, err := r.Stream(context.Background(), chat("g"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := drain(s)
	s.Close()
	var se *StreamError
	if !errors.As(err, &se) || se.Kind != provider.KindConnection {
		t.Fatalf("err %v, want a *StreamError of kind connection", err)
	}
	if text != "ab" {
		t.Errorf("received %q, want exactly the chunks sent before the break", text)
	}
	if fb.CallCount() != 0 {
		t.Error("a broken stream was retried elsewhere: the caller would get text twice")
	}
	if s := stateOf(t, r, "a"); s.Failures != 1 || s.InFlight != 0 {
		t.Errorf("a: %+v; the break counts once and releases the deployment", s)
	}
	if want := `router: stream for "g" broke: connection`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestStreamCloseEarly(t *testing.T) {
	cfg, _, _ := primaryBackup()
	var got []RequestEvent
	r := mustNew(t, nil, cfg, WithObserver(ObserverFuncs{Request: func(e RequestEvent) { got = append(got, e) }}))
	s, err := r.Stream(context.Background(), chat("g"))
	if err != nil {
		t.Fatal(err)
	}
	s.Recv()
	s.Close()
	s.Close()
	if st := stateOf(t, r, "a"); st.InFlight != 0 || st.Failures != 0 {
		t.Errorf("after Close: %+v", st)
	}
	if len(got) != 1 || got[0].Err != nil || got[0].Deployment != "a" {
		t.Errorf("request events %+v, want one success", got)
	}
}

// typedOnly hides the provider.RawStream of a Provider's streams: RecvRaw
// must then encode what Recv gives.
type typedOnly struct{ provider.Provider }

func (p typedOnly) ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (provider.Stream, error) {
	s, err := p.Provider.ChatCompletionStream(ctx, req)
	if err != nil {
		return nil, err
	}
	return struct{ provider.Stream }{s}, nil
}

// rawScript is a Provider whose streams send the given chunks as they are.
type rawScript struct {
	provider.Provider
	chunks []string
	breaks bool // fail after the chunks instead of ending
}

func (p rawScript) ChatCompletionStream(context.Context, openai.ChatCompletionRequest) (provider.Stream, error) {
	return &rawScriptStream{p: p}, nil
}

type rawScriptStream struct {
	p rawScript
	i int
}

func (s *rawScriptStream) RecvRaw() ([]byte, error) {
	if s.i == len(s.p.chunks) {
		if s.p.breaks {
			return nil, &provider.Error{Kind: provider.KindConnection, Err: io.ErrUnexpectedEOF}
		}
		return nil, io.EOF
	}
	s.i++
	return []byte(s.p.chunks[s.i-1]), nil
}

func (s *rawScriptStream) Recv() (openai.ChatCompletionStreamResponse, error) {
	var c openai.ChatCompletionStreamResponse
	b, err := s.RecvRaw()
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	return c, err
}

func (s *rawScriptStream) Close() error { return nil }

// drainRaw reads s to the end with RecvRaw, decoding each chunk to check it.
func drainRaw(t *testing.T, s *Stream) (content string, models []string, err error) {
	content, err = drainWith(func() (openai.ChatCompletionStreamResponse, error) {
		var c openai.ChatCompletionStreamResponse
		raw, err := s.RecvRaw()
		if err != nil {
			return c, err
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("RecvRaw gave %q: %v", raw, err)
		}
		models = append(models, c.Model)
		return c, nil
	})
	return content, models, err
}

func TestStreamRecvRaw(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(provider.Provider) provider.Provider
	}{
		{"raw stream", func(p provider.Provider) provider.Provider { return p }},
		{"typed stream, encoded", func(p provider.Provider) provider.Provider { return typedOnly{p} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, f := fakeDep("a", "g", "openai/upstream-m")
			d.Provider = tt.wrap(f)
			r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
			f.SetDefault(providertest.Reply{Chunks: []string{"he", "ll", "o"}})
			s, err := r.Stream(context.Background(), chat("g"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			content, models, err := drainRaw(t, s)
			if err != nil || content != "hello" {
				t.Fatalf("RecvRaw read %q, %v; want hello", content, err)
			}
			if diff := cmp.Diff([]string{"upstream-m", "upstream-m", "upstream-m"}, models); diff != "" {
				t.Errorf("chunks' model, the upstream's (-want +got):\n%s", diff)
			}
			if _, err := s.RecvRaw(); err != io.EOF {
				t.Errorf("after the end: %v, want io.EOF", err)
			}
			// Mixed: Recv first, RecvRaw for the rest.
			s2, err := r.Stream(context.Background(), chat("g"))
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			c, err := s2.Recv()
			if err != nil || c.Choices[0].Delta.Content != "he" {
				t.Fatalf("Recv = %+v, %v", c, err)
			}
			if rest, _, err := drainRaw(t, s2); rest != "llo" || err != nil {
				t.Errorf("RecvRaw after Recv read %q, %v; want llo", rest, err)
			}
		})
	}
}

// The usage a raw chunk reports is accounted without decoding the chunk,
// and a break after the first chunk is a StreamError as with Recv.
func TestStreamRecvRawUsageAndBreak(t *testing.T) {
	chunks := []string{
		`{"id":"1","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null}`,
		`{"id":"1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
		`{"id":"1","model":"m","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}`,
	}
	for _, breaks := range []bool{false, true} {
		var got []RequestEvent
		r := mustNew(t, nil, Config{Deployments: []Deployment{{ID: "a", Group: "g", Model: "openai/m", Provider: rawScript{chunks: chunks, breaks: breaks}}}},
			WithObserver(ObserverFuncs{Request: func(e RequestEvent) { got = append(got, e) }}))
		s, err := r.Stream(context.Background(), chat("g"))
		if err != nil {
			t.Fatal(err)
		}
		content, _, err := drainRaw(t, s)
		s.Close()
		if content != "hi" {
			t.Errorf("content %q, want hi", content)
		}
		var se *StreamError
		if breaks != errors.As(err, &se) {
			t.Errorf("breaks %v: err %v", breaks, err)
		}
		if len(got) != 1 || got[0].Usage.TotalTokens != 9 || got[0].Usage.PromptTokens != 7 {
			t.Errorf("breaks %v: request events %+v, want one with the usage of the last chunk", breaks, got)
		}
	}
}

// Ready: the first chunk is in hand; after it, a stream that cannot tell
// (the Fake is no provider.Readier) is never ready, so its forwarder
// flushes every chunk; after the end, the end is ready.
func TestStreamReady(t *testing.T) {
	d, f := fakeDep("a", "g", "openai/m")
	r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
	f.SetDefault(providertest.Reply{Chunks: []string{"a", "b"}})
	s, err := r.Stream(context.Background(), chat("g"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []bool
	for {
		got = append(got, s.Ready())
		if _, err := s.RecvRaw(); err != nil {
			break
		}
	}
	got = append(got, s.Ready())
	if diff := cmp.Diff([]bool{true, false, false, true}, got); diff != "" {
		t.Errorf("Ready before each RecvRaw and after the end (-want +got):\n%s", diff)
	}
}
