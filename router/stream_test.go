package router

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// drain reads s to the end, returning the content and the final error.
func drain(s *Stream) (string, error) {
	var b strings.Builder
	for {
		chunk, err := s.Recv()
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
