package router

import (
	"bytes"
	"context"
	"encoding/json"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router/internal/chunk"
)

// CompleteRaw routes one chat completion like Complete, for a gateway that
// forwards JSON rather than go-openai's types: body is the request's JSON
// object as the client sent it, req the same request decoded (its Model is
// the name routed; the candidates are chosen on it, as for Complete).
//
// Each attempt sends body with only its top-level "model" replaced by the
// deployment's upstream model, through provider.RawCompleter when the
// deployment's provider is one; any other provider is called with req (its
// Model replaced) and its answer encoded. The answer is the upstream's JSON
// object as it arrived, with the upstream's model name in it; usage is read
// from it for the observers. body must not ask for a stream and must have
// a "model" key (else the attempts call the typed way). body is not kept
// after CompleteRaw returns, nor modified.
func (r *Router) CompleteRaw(ctx context.Context, req openai.ChatCompletionRequest, body []byte, opts ...CallOption) ([]byte, Route, error) {
	if r.closed.Load() {
		return nil, Route{}, ErrClosed
	}
	s := r.getScratch()
	op := &s.raw
	op.req, op.body = req, body
	s.cand.req = &op.req
	q := r.newRequest(ctx, s, op, opts)
	srv, err := q.do(req.Model)
	answer, route := op.answer, q.route(srv)
	q.observeRequest(route, srv, err)
	r.putScratch(s, op, q.n)
	return answer, route, err
}

// StreamRaw routes a streamed chat completion like Stream, for a gateway
// that forwards JSON: body is the request's JSON object as the client sent
// it (asking for a stream), req the same request decoded, as for
// CompleteRaw. Each attempt sends body with only its top-level "model"
// replaced, through provider.RawStreamer when the deployment's provider is
// one; any other provider is called with req. The Stream is Stream's.
func (r *Router) StreamRaw(ctx context.Context, req openai.ChatCompletionRequest, body []byte, opts ...CallOption) (*Stream, error) {
	return r.stream(ctx, req, body, opts)
}

// open starts the upstream stream of one attempt on d, req being the
// request with its upstream model: StreamRaw's body through d's
// provider.RawStreamer, else the typed call.
func (o *streamOp) open(ctx context.Context, d *dep, req openai.ChatCompletionRequest) (provider.Stream, error) {
	if rs, ok := d.Provider.(provider.RawStreamer); ok && o.body != nil {
		if body, ok := withModel(o.body, req.Model); ok {
			return rs.ChatCompletionStreamRaw(ctx, req.Model, body)
		}
	}
	return d.Provider.ChatCompletionStream(ctx, req)
}

// rawOp is a CompleteRaw: req decoded, body as the client sent it; answer
// is the last call's, undecoded.
type rawOp struct {
	req    openai.ChatCompletionRequest
	body   []byte
	answer []byte
}

var _ operation = (*rawOp)(nil)

func (o *rawOp) kind() string { return CallChat }

// call makes one attempt on d, within d's timeout: the body with its model
// set to upstream through d's provider.RawCompleter, else the typed call
// with its answer encoded. On success it keeps the answer and returns the
// usage read from it.
func (o *rawOp) call(ctx context.Context, d *dep, upstream string) (openai.Usage, bool, error) {
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	rc, ok := d.Provider.(provider.RawCompleter)
	var body []byte
	if ok {
		body, ok = withModel(o.body, upstream)
	}
	if !ok {
		req := o.req
		req.Model = upstream
		resp, err := d.Provider.ChatCompletion(ctx, req)
		if err != nil {
			return openai.Usage{}, false, err
		}
		answer, err := json.Marshal(resp)
		if err != nil {
			return openai.Usage{}, false, err
		}
		o.answer = answer
		return resp.Usage, false, nil
	}
	answer, err := rc.ChatCompletionRaw(ctx, upstream, body)
	if err != nil {
		return openai.Usage{}, false, err
	}
	o.answer = answer
	usage, _ := rawUsage(answer)
	return usage, false, nil
}

// withModel returns a copy of the JSON object body with the value of its
// top-level "model" (the last, when there are several, as encoding/json
// decodes them) replaced by the JSON string of model; ok is false when body
// has no such key. A new copy each attempt: the transport may still read
// the last one.
func withModel(body []byte, model string) (_ []byte, ok bool) {
	start, end, ok := chunk.Field(body, "model")
	if !ok {
		return nil, false
	}
	quoted, err := json.Marshal(model)
	if err != nil {
		return nil, false
	}
	out := make([]byte, 0, len(body)-(end-start)+len(quoted))
	return append(append(append(out, body[:start]...), quoted...), body[end:]...), true
}

// rawUsage reads the top-level "usage" of a raw answer or chunk without
// decoding the rest of it.
func rawUsage(raw []byte) (openai.Usage, bool) {
	var u openai.Usage
	if !bytes.Contains(raw, []byte(`"usage"`)) {
		return u, false // most chunks; a key spelled with escapes is not looked for
	}
	start, end, ok := chunk.Field(raw, "usage")
	if !ok || raw[start] != '{' {
		return u, false
	}
	if json.Unmarshal(raw[start:end], &u) != nil {
		return openai.Usage{}, false
	}
	return u, true
}
