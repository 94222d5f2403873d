package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// RawCompleter is implemented by providers that can make a chat completion
// call with the request's JSON as a client sent it and hand back the
// answer's JSON undecoded. A gateway that forwards requests passes them on
// without decoding the answer into go-openai's types and encoding it again,
// as it passes streamed chunks on (RawStream); router.Router.CompleteRaw
// uses it when it is there.
type RawCompleter interface {
	// ChatCompletionRaw makes one non-streaming chat completion call. body
	// is the request's JSON object, sent as it is: the caller has set its
	// "model" to the upstream model name, which model repeats (Azure
	// routes by it; errors name it). body must not ask for a stream. It
	// returns the answer's JSON object, checked to be one. Errors are
	// ChatCompletion's: an error answer is an *Error with its status, code
	// and Retry-After, and an answer whose every choice finished with
	// "content_filter" an *Error of KindContentPolicy.
	ChatCompletionRaw(ctx context.Context, model string, body []byte) ([]byte, error)
}

// RawStreamer is implemented by providers that can start a streamed chat
// completion with the request's JSON as a client sent it, as RawCompleter
// makes a plain one; router.Router.StreamRaw uses it when it is there.
type RawStreamer interface {
	// ChatCompletionStreamRaw starts a streamed chat completion. body is
	// the request's JSON object, sent as it is: the caller has set its
	// "model" to the upstream model name, which model repeats, and its
	// "stream" to true. Errors and the Stream are ChatCompletionStream's.
	ChatCompletionStreamRaw(ctx context.Context, model string, body []byte) (Stream, error)
}

var (
	_ RawCompleter = (*OpenAI)(nil)
	_ RawStreamer  = (*OpenAI)(nil)
)

// rawTarget is what ChatCompletionRaw needs of the endpoint: what go-openai
// builds each request from, kept by NewOpenAI.
type rawTarget struct {
	base       string // without a trailing "/"
	azure      bool
	apiVersion string              // Azure only
	deployment func(string) string // Azure only: the deployment of a model, path-escaped
	authKey    string              // "Authorization" or "api-key"
	authValue  []string            // nil: no credentials
	org        []string            // OpenAI-Organization; nil: none
}

func newRawTarget(base string, azure bool, apiVersion string, deployment func(string) string, key, org string) rawTarget {
	t := rawTarget{base: strings.TrimRight(base, "/"), azure: azure, apiVersion: apiVersion, deployment: deployment}
	switch {
	case key == "":
	case azure:
		t.authKey, t.authValue = "Api-Key", []string{key}
	default:
		t.authKey, t.authValue = "Authorization", []string{"Bearer " + key}
	}
	if org != "" {
		t.org = []string{org}
	}
	return t
}

// chatURL is the chat completions URL for model, as go-openai builds it.
func (t *rawTarget) chatURL(model string) string {
	if !t.azure {
		return t.base + "/chat/completions"
	}
	return t.base + "/openai/deployments/" + t.deployment(model) + "/chat/completions?api-version=" + url.QueryEscape(t.apiVersion)
}

// Header values of the raw requests; never modified.
var (
	jsonContentType = []string{"application/json"}
	eventStream     = []string{"text/event-stream"}
	noCache         = []string{"no-cache"}
)

// ChatCompletionRaw sends body to the endpoint's chat completions and
// returns the answer's JSON object. It sends the headers ChatCompletion
// sends (credentials, organization, the configured extra headers).
func (p *OpenAI) ChatCompletionRaw(ctx context.Context, model string, body []byte) ([]byte, error) {
	resp, err := p.postRaw(ctx, model, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := readAnswer(resp)
	if err != nil {
		return nil, p.fail(ctx, err, model)
	}
	if !validObject(answer) {
		return nil, p.fail(ctx, badAnswer(answer), model)
	}
	if filteredRaw(answer) {
		return nil, p.contentFiltered(model)
	}
	return answer, nil
}

// ChatCompletionStreamRaw sends body to the endpoint's chat completions and
// returns the stream of its answer, as ChatCompletionStream does.
func (p *OpenAI) ChatCompletionStreamRaw(ctx context.Context, model string, body []byte) (Stream, error) {
	resp, err := p.postRaw(ctx, model, body, true)
	if err != nil {
		return nil, err
	}
	return &openAIStream{ctx: ctx, p: p, model: model, body: resp.Body, ev: newEventReader(resp.Body)}, nil
}

// postRaw posts body to the chat completions URL for model, with the
// headers go-openai sends for a plain or a streamed call, and returns a
// successful answer; an error answer is an *Error.
func (p *OpenAI) postRaw(ctx context.Context, model string, body []byte, stream bool) (*http.Response, error) {
	t := &p.raw
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.chatURL(model), bytes.NewReader(body))
	if err != nil {
		return nil, p.fail(ctx, err, model)
	}
	h := make(http.Header, 5+len(p.doer.headers))
	h["Content-Type"], h["Accept"] = jsonContentType, jsonContentType
	if stream {
		h["Accept"], h["Cache-Control"] = eventStream, noCache
	}
	if t.authValue != nil {
		h[t.authKey] = t.authValue
	}
	if t.org != nil {
		h["Openai-Organization"] = t.org
	}
	req.Header = h
	resp, err := p.doer.Do(req)
	if err != nil {
		return nil, p.fail(ctx, err, model)
	}
	return resp, nil
}

// badAnswer is the error of an answer that is not a JSON object, as
// go-openai's decoder reports it for ChatCompletion: io.EOF for an empty
// one (KindConnection: it was cut), else a *json.SyntaxError or
// *json.UnmarshalTypeError (KindUnavailable).
func badAnswer(answer []byte) error {
	if len(bytes.TrimSpace(answer)) == 0 {
		return io.EOF
	}
	var v struct{}
	if err := json.Unmarshal(answer, &v); err != nil {
		return err
	}
	return &json.UnmarshalTypeError{Value: "non-object"} // not reached: an object decodes
}

// readAnswer reads an answer's body, in one allocation when its length is
// known.
func readAnswer(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n < 64<<20 {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(resp.Body)
}

// filteredRaw reports, as filtered does for a decoded answer, whether the
// answer has choices and every one finished with "content_filter": every
// "finish_reason" string in it is content_filter, and there is one for
// each choice (a choice still without one holds null).
func filteredRaw(answer []byte) bool {
	if !bytes.Contains(answer, []byte(openai.FinishReasonContentFilter)) {
		return false // nearly every answer
	}
	var a struct {
		Choices []struct {
			FinishReason openai.FinishReason `json:"finish_reason"`
		} `json:"choices"`
	}
	if json.Unmarshal(answer, &a) != nil {
		return false
	}
	for _, c := range a.Choices {
		if c.FinishReason != openai.FinishReasonContentFilter {
			return false
		}
	}
	return len(a.Choices) > 0
}
