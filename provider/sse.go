package provider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	openai "github.com/sashabaranov/go-openai"
)

// Limits of the server-sent event reader.
const (
	// maxEventLine bounds one line of a stream: a chunk larger than this is
	// an error, not a reason to buffer without end.
	maxEventLine = 8 << 20
	// maxNonDataLines bounds the lines between two data lines (comments,
	// event: and id: fields, blank lines, stray text), as go-openai's
	// EmptyMessagesLimit does.
	maxNonDataLines = 300
	// maxStray bounds the stray text kept to explain a stream that ends
	// without a chunk: an error answer sent with status 200.
	maxStray = 64 << 10
)

// errBadChunk marks a chunk that is not a JSON object: the upstream's
// answer arrived but cannot be used (KindUnavailable).
var errBadChunk = errors.New("stream chunk is not a JSON object")

// errLineTooLong is the failure of a line longer than maxEventLine.
var errLineTooLong = fmt.Errorf("%w: a line of the stream is longer than %d bytes", errBadChunk, maxEventLine)

// eventReader reads the data of the server-sent events of a chat completion
// stream, as OpenAI sends them: "data: {json}" lines, ended by
// "data: [DONE]". It reads the body itself, with no regular expressions and
// no allocation per event: next returns a slice of its buffer.
//
// It is as lenient as go-openai's reader: any amount of space after "data:",
// blank lines, comments and other fields are skipped, and text that is not
// an event at all is kept, so that an error object sent as a plain body
// (some servers answer 200 and then an error) explains the stream's end.
type eventReader struct {
	br    *bufio.Reader
	long  []byte // a line longer than br's buffer, assembled
	stray []byte // text that is not an event, up to maxStray
	done  bool   // "data: [DONE]" was read
}

func newEventReader(body io.Reader) *eventReader {
	return &eventReader{br: bufio.NewReaderSize(body, 4096)}
}

// next returns the data of the next event: a chunk's JSON, valid until the
// next call. At "data: [DONE]" it returns io.EOF; at the body's end without
// it, the stray text's OpenAI error if it holds one, else the read error
// (io.EOF for a body that simply ended: the caller decides whether the
// stream was complete). An "error" event is returned as its *openai.APIError.
func (r *eventReader) next() ([]byte, error) {
	if r.done {
		return nil, io.EOF
	}
	skipped := 0
	for {
		line, err := r.line()
		if err != nil {
			if apiErr := r.strayError(); apiErr != nil {
				return nil, apiErr
			}
			if errors.Is(err, io.EOF) && string(bytes.TrimSpace(line)) == "data: [DONE]" {
				r.done = true // the marker without its line end
			}
			// A last line without its end is dropped, as go-openai does:
			// the caller tells a complete stream from a cut one.
			return nil, err
		}
		line = bytes.TrimSpace(line)
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			if skipped++; skipped > maxNonDataLines {
				return nil, openai.ErrTooManyEmptyStreamMessages
			}
			r.keepStray(line)
			continue
		}
		data = bytes.TrimLeft(data, " \t")
		if string(data) == "[DONE]" {
			r.done = true
			return nil, io.EOF
		}
		if isErrorEvent(data) {
			if e := apiError(data); e != nil {
				return nil, e
			}
			return nil, fmt.Errorf("%w: an error event that is not an OpenAI error: %.200q", errBadChunk, data)
		}
		return data, nil
	}
}

// ready reports whether the data line of the next event is already
// buffered whole, so that next returns without reading the body.
func (r *eventReader) ready() bool {
	if r.done {
		return false
	}
	buf, _ := r.br.Peek(r.br.Buffered())
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return false
		}
		if bytes.HasPrefix(bytes.TrimSpace(buf[:i]), []byte("data:")) {
			return true
		}
		buf = buf[i+1:]
	}
}

// line returns the next line, without its end, valid until the next call.
// At the body's end it returns what was left (possibly nothing) and the
// read error.
func (r *eventReader) line() ([]byte, error) {
	b, err := r.br.ReadSlice('\n')
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return b, err
	}
	r.long = append(r.long[:0], b...)
	for {
		b, err = r.br.ReadSlice('\n')
		if len(r.long)+len(b) > maxEventLine {
			return nil, errLineTooLong
		}
		r.long = append(r.long, b...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return r.long, err
		}
	}
}

// keepStray keeps a line that is not part of an event: not blank, not a
// comment, not a field of the event format.
func (r *eventReader) keepStray(line []byte) {
	if len(line) == 0 || line[0] == ':' || len(r.stray) >= maxStray {
		return
	}
	for _, f := range []string{"event:", "id:", "retry:"} {
		if bytes.HasPrefix(line, []byte(f)) {
			return
		}
	}
	r.stray = append(r.stray, line...)
}

// strayError returns the OpenAI error the stray text holds, if it does.
func (r *eventReader) strayError() error {
	if e := apiError(r.stray); e != nil {
		return e // a nil *APIError must not become a non-nil error
	}
	return nil
}

// apiError returns the OpenAI error b holds ({"error": {...}}), or nil.
func apiError(b []byte) *openai.APIError {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '[' {
		// Google's OpenAI-compatible endpoints wrap the error in an array:
		// [{"error": {"code": 429, "message": …, "status": …}}].
		var ers []openai.ErrorResponse
		if json.Unmarshal(b, &ers) != nil || len(ers) == 0 {
			return nil
		}
		return ers[0].Error
	}
	var er openai.ErrorResponse
	if len(b) == 0 || json.Unmarshal(b, &er) != nil {
		return nil
	}
	return er.Error
}

// isErrorEvent reports whether data is an object whose first key is
// "error": how OpenAI-compatible servers report a failure mid-stream.
func isErrorEvent(data []byte) bool {
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	rest := bytes.TrimLeft(data[1:], " \t\r\n")
	return bytes.HasPrefix(rest, []byte(`"error"`))
}

// finishReasons calls f with the value of every "finish_reason" key in a
// chunk's JSON that holds a string, without decoding the chunk. Inside a
// JSON string a quote is escaped, so a match is always a key.
func finishReasons(chunk []byte, f func(reason []byte)) {
	const key = `"finish_reason"`
	for {
		i := bytes.Index(chunk, []byte(key))
		if i < 0 {
			return
		}
		chunk = bytes.TrimLeft(chunk[i+len(key):], " \t\r\n")
		if len(chunk) == 0 || chunk[0] != ':' {
			continue
		}
		chunk = bytes.TrimLeft(chunk[1:], " \t\r\n")
		if len(chunk) == 0 || chunk[0] != '"' {
			continue // null
		}
		end := bytes.IndexByte(chunk[1:], '"')
		if end < 0 {
			return
		}
		f(chunk[1 : 1+end])
		chunk = chunk[1+end:]
	}
}
