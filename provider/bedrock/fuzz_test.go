package bedrock_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/bedrock"
)

// answer is what the fuzz server sends: a status, an exception name and a
// body.
type answer struct {
	status    int
	exception string
	body      []byte
}

func fuzzProvider(f *testing.F) (*bedrock.Provider, *atomic.Pointer[answer]) {
	hermetic(f)
	var next atomic.Pointer[answer]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		a := next.Load()
		if a.exception != "" {
			w.Header().Set("X-Amzn-Errortype", a.exception)
		}
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(a.status)
		w.Write(a.body)
	}))
	f.Cleanup(srv.Close)
	p, err := bedrock.New(f.Context(), bedrock.Config{Region: "us-east-1", AccessKeyID: "AKIDFUZZ", SecretAccessKey: "s", Endpoint: srv.URL})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	return p, &next
}

func encode(events [][2]string) []byte {
	var b bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, ev := range events {
		var h eventstream.Headers
		h.Set(":event-type", eventstream.StringValue(ev[0]))
		h.Set(":content-type", eventstream.StringValue("application/json"))
		h.Set(":message-type", eventstream.StringValue("event"))
		enc.Encode(&b, eventstream.Message{Headers: h, Payload: []byte(ev[1])})
	}
	return b.Bytes()
}

// FuzzStream feeds arbitrary ConverseStream bodies to a Stream: it never
// panics and ends with io.EOF or an *provider.Error, for good.
func FuzzStream(f *testing.F) {
	f.Add(encode([][2]string{evStart, evHello, evBang, evStop0, evEnd, evMeta}))
	f.Add(encode([][2]string{evStart, evReason, evTool, evToolIn1, evToolIn2, evToolEnd}))
	f.Add(encode([][2]string{evStart, {"contentBlockDelta", `{"contentBlockIndex":7,"delta":{"toolUse":{"input":"{"}}}`}}))
	f.Add([]byte("not an event stream"))
	p, next := fuzzProvider(f)
	req := openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}, StreamOptions: &openai.StreamOptions{IncludeUsage: true}}
	f.Fuzz(func(t *testing.T, body []byte) {
		next.Store(&answer{status: 200, body: body})
		s, err := p.ChatCompletionStream(t.Context(), req)
		if err != nil {
			var e *provider.Error
			if !errors.As(err, &e) {
				t.Fatalf("start failed with %v (%T), not a *provider.Error", err, err)
			}
			return
		}
		defer s.Close()
		for i := 0; ; i++ {
			if i > len(body) {
				t.Fatalf("more chunks than the body has bytes")
			}
			_, err := s.Recv()
			if err == nil {
				continue
			}
			var e *provider.Error
			if err != io.EOF && !errors.As(err, &e) {
				t.Fatalf("stream ended with %v (%T)", err, err)
			}
			if _, again := s.Recv(); again != err {
				t.Fatalf("Recv after the end = %v, want %v again", again, err)
			}
			return
		}
	})
}

// FuzzErrorAnswer classifies arbitrary error answers: always an
// *provider.Error with the answer's status, never KindUnknown.
func FuzzErrorAnswer(f *testing.F) {
	f.Add(429, "ThrottlingException", []byte(`{"message":"Too many requests"}`))
	f.Add(400, "ValidationException", []byte(`{"message":"Input is too long for requested model."}`))
	f.Add(503, "", []byte(`<html>`))
	f.Add(424, "ModelErrorException:http://internal.amazon.com/coral/com.amazon.bedrock/", []byte(`{"message":"x"}`))
	p, next := fuzzProvider(f)
	req := openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}
	f.Fuzz(func(t *testing.T, status int, exception string, body []byte) {
		if status < 400 || status > 599 || !validHeader(exception) {
			return
		}
		next.Store(&answer{status: status, exception: exception, body: body})
		_, err := p.ChatCompletion(t.Context(), req)
		var e *provider.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
		}
		if e.Kind == provider.KindUnknown || e.Status != status {
			t.Fatalf("status %d, %q, %q: kind %v, status %d", status, exception, body, e.Kind, e.Status)
		}
	})
}

func validHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
