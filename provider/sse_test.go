package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	openai "github.com/sashabaranov/go-openai"
)

// FuzzEventReader feeds the stream reader arbitrary bodies, read in pieces of
// every size. It must not panic or loop; every chunk it returns is the data
// of a "data:" line of the body, in order, trimmed; and finishReasons finds a finish
// reason wherever decoding the chunk does (for chunks spelled the way
// servers spell them: the exact key, no escapes).
func FuzzEventReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
		"data:{\"choices\":[{\"finish_reason\" : \"content_filter\"}]}\r\n\r\n",
		": ping\n\nevent: x\nid: 1\nretry: 5\ndata: {\"a\":1}\n",
		"data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n",
		"{\n \"error\": {\"message\": \"x\"}\n}\n",
		"data: [DONE]",
		"data: {\"choices\":[{\"finish_reason\":\"st\\\"op\"}]}\n",
		"\n\n\n",
		"data",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, rd := range []io.Reader{bytes.NewReader(body), iotest.OneByteReader(bytes.NewReader(body)), iotest.HalfReader(bytes.NewReader(body))} {
			r := newEventReader(rd)
			pos := 0 // chunks come in the order of the body
			for n := 0; ; n++ {
				if n > len(body)+1 {
					t.Fatalf("%d chunks from a body of %d bytes", n, len(body))
				}
				data, err := r.next()
				if err != nil {
					var apiErr *openai.APIError
					if !errors.Is(err, io.EOF) && !errors.As(err, &apiErr) && !errors.Is(err, errBadChunk) &&
						!errors.Is(err, openai.ErrTooManyEmptyStreamMessages) {
						t.Fatalf("unexpected error %v", err)
					}
					if _, again := r.next(); errors.Is(err, io.EOF) && r.done && again != io.EOF {
						t.Fatalf("after [DONE]: %v, want io.EOF", again)
					}
					break
				}
				i := bytes.Index(body[pos:], data)
				if i < 0 {
					t.Fatalf("chunk %q is not in the body after the previous one", data)
				}
				pos += i + len(data)
				if len(data) > 0 && (data[0] == ' ' || data[0] == '\t' || bytes.HasSuffix(data, []byte("\n"))) {
					t.Fatalf("chunk %q is not trimmed", data)
				}
				checkFinishReasons(t, data)
			}
		}
	})
}

func checkFinishReasons(t *testing.T, data []byte) {
	var c openai.ChatCompletionStreamResponse
	if json.Unmarshal(data, &c) != nil || bytes.IndexByte(data, '\\') >= 0 ||
		bytes.Count(bytes.ToLower(data), []byte("finish_reason")) != bytes.Count(data, []byte("finish_reason")) {
		return
	}
	want := 0
	for _, ch := range c.Choices {
		if ch.FinishReason != "" {
			want++
		}
	}
	got := 0
	finishReasons(data, func(reason []byte) {
		if len(reason) > 0 {
			got++
		}
	})
	if want > 0 && got == 0 {
		t.Fatalf("finishReasons found none in %q; decoding finds %d", data, want)
	}
}

func TestFinishReasons(t *testing.T) {
	tests := []struct {
		chunk string
		want  []string
	}{
		{`{"choices":[{"finish_reason":null}]}`, nil},
		{`{"choices":[{"finish_reason":"stop"}]}`, []string{"stop"}},
		{`{"choices":[{"finish_reason" :  "length"},{"finish_reason":"content_filter"}]}`, []string{"length", "content_filter"}},
		{`{"choices":[{"delta":{"content":"say \"finish_reason\":\"stop\""},"finish_reason":null}]}`, nil},
		{`{"choices":[{"finish_reason":"stop`, nil},
		{`{"finish_reason"`, nil},
	}
	for _, tt := range tests {
		var got []string
		finishReasons([]byte(tt.chunk), func(r []byte) { got = append(got, string(r)) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("finishReasons(%s) = %q, want %q", tt.chunk, got, tt.want)
		}
	}
}

// ready says whether next can return without reading: a whole data line is
// buffered. It never claims a line that is still arriving.
func TestEventReaderReady(t *testing.T) {
	for _, tt := range []struct {
		body string
		want []bool // ready before each next, until the end
	}{
		{"data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\n", []bool{true, true, true}},
		{": ping\n\ndata: {\"a\":1}\n\n", []bool{true}},
		{"data: {\"a\":1}", []bool{false}},
		{"\n\n", []bool{false}},
	} {
		r := newEventReader(strings.NewReader(tt.body))
		r.br.Peek(1) // one read: the whole body is buffered
		var got []bool
		for range tt.want {
			got = append(got, r.ready())
			if _, err := r.next(); err != nil {
				break
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: ready %v, want %v", tt.body, got, tt.want)
		}
		if r.ready() {
			t.Errorf("%q: ready at the end", tt.body)
		}
	}
}
