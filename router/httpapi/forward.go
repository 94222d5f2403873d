package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/internal/chunk"
)

// A chat completion, plain or streamed, whose body says nothing that decoding into
// go-openai's request and encoding it again would change is forwarded as
// the client sent it (router.Router.CompleteRaw, StreamRaw): the upstream
// gets the client's JSON with only "model" replaced, and the client gets
// the upstream's answer (each streamed chunk) with only "model" replaced,
// as a reverse proxy would pass them on, without encoding the request or
// decoding and encoding the answer. The request is still decoded: it is validated as before, and
// routing reads it. Anything else (a key go-openai does not know, such as
// LiteLLM's "tags", which must not reach the upstream; a key given twice;
// an optional field holding its zero value, which the encoding drops; a
// key written with escapes) goes the typed way, as before.

// chatField is one top-level key of go-openai's chat completion request.
type chatField struct {
	index     []int // of the field in openai.ChatCompletionRequest
	omitEmpty bool  // encoding drops the key when the field is zero
	bit       uint64
}

// chatFields maps each JSON key of openai.ChatCompletionRequest to its
// field. Built once; read-only.
var chatFields = func() map[string]chatField {
	m := map[string]chatField{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
				walk(f.Type, idx)
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			m[name] = chatField{index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}
		}
	}
	walk(reflect.TypeFor[openai.ChatCompletionRequest](), nil)
	n := 0
	for k, f := range m {
		if n < 64 {
			f.bit = 1 << n
		}
		m[k] = f
		n++
	}
	return m
}()

// forwardable reports whether the chat completion body, decoded as req, may
// be forwarded as it is: every top-level key is one of go-openai's, given
// once, written without escapes, and holds a value that encoding req again
// would send too (not an empty value of an optional field; not
// stream_options in a plain request, which the plain call drops).
func forwardable(body []byte, req *openai.ChatCompletionRequest) bool {
	if !req.Stream && req.StreamOptions != nil {
		return false
	}
	v := reflect.ValueOf(req).Elem()
	var seen uint64
	return chunk.Keys(body, func(key []byte) bool {
		f, ok := chatFields[string(key)]
		if !ok || f.bit == 0 || seen&f.bit != 0 {
			return false
		}
		seen |= f.bit
		return !f.omitEmpty || !isEmptyValue(v.FieldByIndex(f.index))
	})
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// complete answers a plain chat completion: forwarded as the client sent it
// when it can be, else through go-openai's types.
func (h *Handler) complete(ctx context.Context, w http.ResponseWriter, requested string, body []byte, req *openai.ChatCompletionRequest, opts []router.CallOption) {
	if !forwardable(body, req) {
		resp, rt, err := h.rt.Complete(ctx, *req, opts...)
		if err != nil {
			writeError(w, modelError(requested, err))
			return
		}
		resp.Model = requested
		setRouteHeaders(w, rt)
		writeJSON(w, http.StatusOK, resp)
		return
	}
	answer, rt, err := h.rt.CompleteRaw(ctx, *req, body, opts...)
	if err != nil {
		writeError(w, modelError(requested, err))
		return
	}
	setRouteHeaders(w, rt)
	writeAnswer(w, answer, requested)
}

// writeAnswer writes a 200 with the JSON object answer, its top-level
// "model" set to requested (added when the upstream sent none), as
// writeJSON writes a response.
func writeAnswer(w http.ResponseWriter, answer []byte, requested string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	var qb [64]byte
	quoted := appendQuoted(qb[:0], requested)
	if s, e, ok := chunk.Field(answer, "model"); ok {
		// Three writes into the response's buffer, not a copy of the answer.
		w.Write(answer[:s])
		w.Write(quoted)
		w.Write(answer[e:])
	} else {
		w.Write(chunk.SetString(nil, answer, "model", quoted))
	}
	w.Write(newline)
}

var newline = []byte{'\n'}

// appendQuoted appends s as a JSON string, as writeJSON's encoder writes
// it (no HTML escaping).
func appendQuoted(dst []byte, s string) []byte {
	if safeString(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return append(dst, bytes.TrimSuffix(b.Bytes(), newline)...)
}

// safeString reports whether s needs no escaping in a JSON string.
func safeString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// readBody reads a request body, at most h.limit bytes: over the limit is
// 413.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body := http.MaxBytesReader(w, r.Body, h.limit)
	// A small body is read into one allocation of its announced length;
	// a larger one grows as its bytes arrive, so that a Content-Length
	// alone never makes the gateway allocate.
	var b []byte
	if n := r.ContentLength; n >= 0 && n <= min(h.limit, maxPrealloc) {
		b = make([]byte, 0, n+1) // +1: the read that sees the end
	}
	b, err := readAll(body, b)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		return nil, badRequest("request body could not be read: " + err.Error())
	}
	return b, nil
}

// maxPrealloc bounds what readBody allocates on a request's word.
const maxPrealloc = 64 << 10

// readAll is io.ReadAll into b's spare capacity.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
	}
}

func tooLarge(limit int64) *apiError {
	return errorf(http.StatusRequestEntityTooLarge, typeInvalidRequest, CodeTooLarge,
		"request body is larger than "+strconv.FormatInt(limit, 10)+" bytes")
}
