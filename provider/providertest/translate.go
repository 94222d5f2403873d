package providertest

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// This file helps fakes of other protocols (anthropictest, bedrocktest)
// stand in front of a Handler: they translate each request into an
// OpenAI-compatible one, call the Handler, and translate its answer back,
// so that the Handler's faults and counters apply to them unchanged.

// Drop closes w's connection without (finishing) an answer, passing on an
// upstream that dropped or broke off.
func Drop(w http.ResponseWriter) { drop(w) }

// UpstreamError is an OpenAI-shaped error answer, read back by a
// translating fake.
type UpstreamError struct {
	Status  int
	Code    string // the error's code ("context_length_exceeded"), "" when none
	Message string
	// Header holds the answer's Retry-After and Retry-After-Ms, to pass on.
	Header http.Header
}

// ReadError reads an error answer of a Handler.
func ReadError(resp *http.Response) UpstreamError {
	var eb struct {
		Error struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&eb)
	ue := UpstreamError{Status: resp.StatusCode, Message: eb.Error.Message, Header: http.Header{}}
	ue.Code, _ = eb.Error.Code.(string)
	for _, k := range []string{"Retry-After", "Retry-After-Ms"} {
		if v := resp.Header.Values(k); len(v) > 0 {
			ue.Header[k] = v
		}
	}
	return ue
}

// ReadStream calls f with each chunk of a Handler's streamed answer, as it
// arrives. It reports whether the stream ended with "data: [DONE]"; false
// when the body ended or broke first, a chunk was not JSON, or f returned
// false.
func ReadStream(body io.Reader, f func(openai.ChatCompletionStreamResponse) bool) bool {
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return true
		}
		var c openai.ChatCompletionStreamResponse
		if json.Unmarshal([]byte(data), &c) != nil || !f(c) {
			return false
		}
	}
	return false
}

// WriteJSON answers 200 with v as JSON, and the given headers.
func WriteJSON(w http.ResponseWriter, v any, header http.Header) {
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
