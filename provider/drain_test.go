package provider_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/modelroute/modelroute/provider"
)

// eventBody is a streamed answer's body: its events arrive in one read and
// the body's end (on the network: the chunked encoding's last chunk) in
// the next, or, when linger is set, not until the body is closed.
type eventBody struct {
	events *strings.Reader
	linger bool

	mu         sync.Mutex
	closed     chan struct{}
	sawEOF     bool // a read returned io.EOF
	eofAtClose bool // ... before the first Close
	closes     int
}

func newEventBody(linger bool) *eventBody {
	return &eventBody{
		events: strings.NewReader(`data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}` + "\n\n" +
			`data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
			"data: [DONE]\n\n"),
		linger: linger,
		closed: make(chan struct{}),
	}
}

func (b *eventBody) Read(p []byte) (int, error) {
	if b.events.Len() > 0 {
		return b.events.Read(p)
	}
	if b.linger {
		<-b.closed
		return 0, errors.New("read on closed body")
	}
	b.mu.Lock()
	b.sawEOF = true
	b.mu.Unlock()
	return 0, io.EOF
}

func (b *eventBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closes == 0 {
		b.eofAtClose = b.sawEOF
		close(b.closed)
	}
	b.closes++
	return nil
}

// bodies answers every request with the next body.
type bodies struct {
	next func() *eventBody
}

func (t bodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    t.next(),
		Request: r,
	}, nil
}

// TestOpenAIStreamCloseReadsToTheEnd: a stream read to "data: [DONE]" and
// closed has its body read to the end first, so that net/http keeps the
// connection for the next call instead of closing it (as a reverse proxy
// does, which reads every body to its end). A server that keeps the answer
// open after [DONE] holds Close up for a bounded wait only, and the next
// streams of that provider are closed at once for a while.
func TestOpenAIStreamCloseReadsToTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var body *eventBody
		linger := false
		p := newOpenAI(t, provider.OpenAIConfig{BaseURL: "http://upstream.test/v1", HTTPClient: &http.Client{
			Transport: bodies{next: func() *eventBody { body = newEventBody(linger); return body }},
		}})
		// stream runs one stream to its end and closes it; it returns how
		// long Close took and whether the body had ended when closed.
		stream := func() (time.Duration, bool) {
			t.Helper()
			s, err := p.ChatCompletionStream(t.Context(), chat("m"))
			if err != nil {
				t.Fatal(err)
			}
			chunks := 0
			for {
				_, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("Recv: %v", err)
				}
				chunks++
			}
			if chunks != 2 {
				t.Errorf("%d chunks, want 2", chunks)
			}
			start := time.Now()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return time.Since(start), body.eofAtClose
		}

		if took, ended := stream(); !ended || took != 0 {
			t.Errorf("answer that ends after [DONE]: Close took %v, body read to its end: %v; want no wait and the end read", took, ended)
		}
		linger = true
		if took, ended := stream(); ended || took <= 0 || took > time.Second {
			t.Errorf("answer kept open after [DONE]: Close took %v (body ended: %v); want a short bounded wait", took, ended)
		}
		// After a server kept an answer open, the next streams are closed
		// at once, then draining is tried again.
		linger = false
		skipped := 0
		for range 200 {
			took, ended := stream()
			if took != 0 {
				t.Fatalf("Close waited %v on an answer that ended", took)
			}
			if ended {
				break
			}
			skipped++
		}
		if skipped == 0 || skipped >= 200 {
			t.Errorf("after a lingering answer %d streams were closed without reading their end; want some, then reading again", skipped)
		}
	})
}
