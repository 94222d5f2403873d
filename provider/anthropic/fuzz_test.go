package anthropic

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/modelroute/modelroute/provider"
)

// FuzzStream feeds arbitrary bodies to a Stream: it never panics, and every
// stream ends with io.EOF or an *provider.Error, for good, within a bounded
// number of chunks.
func FuzzStream(f *testing.F) {
	f.Add("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"usage\":{\"input_tokens\":1}}}\n\n" +
		"data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n" +
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}\n\n" +
		"data: {\"type\":\"message_stop\"}\n\n")
	f.Add("data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
	f.Add("data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\r\n\r\ndata: [DONE]\n")
	f.Add(": comment\n\nevent: ping\ndata: {}\n\ndata")
	f.Fuzz(func(t *testing.T, body string) {
		p := &Provider{name: "anthropic"}
		s := newStream(context.Background(), p, "m", io.NopCloser(strings.NewReader(body)), true)
		defer s.Close()
		for i := 0; ; i++ {
			if i > len(body)+2 {
				t.Fatalf("more chunks (%d) than the body has bytes", i)
			}
			_, err := s.Recv()
			if err == nil {
				continue
			}
			var e *provider.Error
			if err != io.EOF && !errors.As(err, &e) {
				t.Fatalf("stream ended with %v (%T), want io.EOF or a *provider.Error", err, err)
			}
			if _, again := s.Recv(); again != err {
				t.Fatalf("Recv after the end = %v, want %v again", again, err)
			}
			return
		}
	})
}

// FuzzErrorBody classifies arbitrary error answers without panicking; the
// Kind comes from a known type or the status, never KindUnknown for an
// error status.
func FuzzErrorBody(f *testing.F) {
	f.Add(429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
	f.Add(400, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 1 tokens > 0 maximum"}}`)
	f.Add(529, `{"error":null}`)
	f.Add(500, `not json`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 400 || status > 599 {
			return
		}
		ae := parseError([]byte(body))
		kind, _ := classify(status, ae.Type, ae.Message)
		if kind == provider.KindUnknown || kind == provider.KindCanceled || kind == provider.KindConnection {
			t.Fatalf("status %d, body %q: kind %v", status, body, kind)
		}
		_ = ae.Error()
	})
}
