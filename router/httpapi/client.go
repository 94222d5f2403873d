package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/internal/chunk"
)

// chatRequest is a chat completion request as clients send it: OpenAI's
// fields plus LiteLLM's tags, for tag-based routing.
type chatRequest struct {
	openai.ChatCompletionRequest
	Tags []string `json:"tags,omitempty"`
}

// decode reads a JSON request body into v, refusing bodies over the limit
// with 413 and anything that is not one JSON object with 400.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	b, e := h.readBody(w, r)
	if e != nil {
		return e
	}
	return decodeBytes(b, v)
}

// decodeBytes decodes the JSON body b into v; anything that is not one JSON
// object is 400, explained in JSON's terms.
func decodeBytes(b []byte, v any) *apiError {
	if json.Unmarshal(b, v) == nil {
		return nil
	}
	// The decoder tells what is wrong as a client should read it.
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("request body is empty: expected a JSON object")
		}
		return badRequest(jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("request body has data after its JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error in JSON's terms, not Go's: a
// client should read "field messages: expected an array, got a string", not
// the name of a Go type.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "request body is not valid JSON (at byte " + strconv.FormatInt(se.Offset, 10) + "): " + se.Error()
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the request body"
		} else {
			field = "field " + strconv.Quote(field)
		}
		return field + ": expected " + jsonKind(te.Type) + ", got a JSON " + te.Value
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "request body is not valid JSON: it ends too early"
	}
	return "request body is not a valid request: " + err.Error()
}

// jsonKind names the JSON kind a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another value"
}

func setRouteHeaders(w http.ResponseWriter, rt router.Route) {
	hd := w.Header()
	hd.Set(headerModelGroup, rt.Group)
	hd.Set(headerDeploymentID, rt.Deployment)
	hd.Set(headerAttempts, strconv.Itoa(len(rt.Attempts)))
}

// ChatCompletions serves POST /v1/chat/completions: routed by the request's
// model, streamed as server-sent events when "stream" is true.
func (h *Handler) ChatCompletions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, e := h.readBody(w, r)
		if e != nil {
			writeError(w, e)
			return
		}
		var req chatRequest
		if e := decodeBytes(body, &req); e != nil {
			writeError(w, e)
			return
		}
		requested := req.Model
		if requested == "" {
			writeError(w, badParam("model", "missing required field \"model\""))
			return
		}
		if len(req.Messages) == 0 {
			writeError(w, badParam("messages", "missing required field \"messages\": give at least one message"))
			return
		}
		ctx, opts, e := h.callOptions(r, requested, req.Tags)
		if e != nil {
			writeError(w, e)
			return
		}
		if req.Stream {
			h.stream(ctx, w, requested, body, &req.ChatCompletionRequest, opts)
			return
		}
		h.complete(ctx, w, requested, body, &req.ChatCompletionRequest, opts)
	})
}

// stream answers a streamed chat completion: each chunk is written as it
// arrives and flushed unless the next one has arrived too, ending with
// "data: [DONE]". The request goes upstream as the client sent it when it
// can (forwardable), and chunks pass through as the upstream sent them
// (Stream.RecvRaw), with only their "model" replaced by the name the client
// asked for. A client that goes away cancels the request's context and with
// it the upstream call.
func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, requested string, body []byte, req *openai.ChatCompletionRequest, opts []router.CallOption) {
	var s *router.Stream
	var err error
	if forwardable(body, req) {
		s, err = h.rt.StreamRaw(ctx, *req, body, opts...)
	} else {
		s, err = h.rt.Stream(ctx, *req, opts...)
	}
	if err != nil {
		writeError(w, modelError(requested, err))
		return
	}
	defer s.Close()
	setRouteHeaders(w, s.Route())
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	bw := h.streamWriter(w)
	defer h.streamWriters.Put(bw)
	defer bw.Reset(nil)
	model := appendQuoted(make([]byte, 0, len(requested)+2), requested)
	for {
		raw, err := s.RecvRaw()
		if errors.Is(err, io.EOF) {
			bw.WriteString("data: [DONE]\n\n")
			bw.Flush()
			rc.Flush()
			return
		}
		if err != nil {
			if ctx.Err() != nil {
				return // the client left; nothing to tell it
			}
			// Headers are gone: report the break in-band, as OpenAI does.
			b, _ := json.Marshal(struct {
				Error *apiError `json:"error"`
			}{modelError(requested, err)})
			bw.WriteString("data: ")
			bw.Write(b)
			bw.WriteString("\n\n")
			bw.Flush()
			rc.Flush()
			return
		}
		bw.WriteString("data: ")
		if start, end, ok := chunk.Field(raw, "model"); ok {
			bw.Write(raw[:start])
			bw.Write(model)
			bw.Write(raw[end:])
		} else {
			bw.Write(raw)
		}
		bw.WriteString("\n\n")
		if s.Ready() {
			continue // the next chunk is there: one flush for both
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
	}
}

// streamWriter returns a buffer of 4 KiB writing to w, from the Handler's
// pool: one per stream, not one allocated for each.
func (h *Handler) streamWriter(w io.Writer) *bufio.Writer {
	if bw, ok := h.streamWriters.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, 4096)
}

// Embeddings serves POST /v1/embeddings, routed by the request's model.
func (h *Handler) Embeddings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req openai.EmbeddingRequest
		if e := h.decode(w, r, &req); e != nil {
			writeError(w, e)
			return
		}
		requested := string(req.Model)
		if requested == "" {
			writeError(w, badParam("model", "missing required field \"model\""))
			return
		}
		if req.Input == nil {
			writeError(w, badParam("input", "missing required field \"input\""))
			return
		}
		ctx, opts, e := h.callOptions(r, requested, nil)
		if e != nil {
			writeError(w, e)
			return
		}
		resp, rt, err := h.rt.Embed(ctx, req, opts...)
		if err != nil {
			writeError(w, modelError(requested, err))
			return
		}
		resp.Model = openai.EmbeddingModel(requested)
		setRouteHeaders(w, rt)
		writeJSON(w, http.StatusOK, resp)
	})
}
