package router

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// An operation is what one kind of request does upstream: the retry loop
// is the same for every kind, and asks its operation to make each attempt.
// A new kind of request (a raw pass-through, say) is a new operation, not
// a new branch in the loop.
type operation interface {
	// kind is CallChat, CallStream or CallEmbeddings: the Call of events.
	kind() string
	// call makes one upstream call on d, sending it the upstream model.
	// On success the operation keeps the answer, and reports the tokens
	// the answer used and whether d stays in flight after the call
	// returns (a stream holds it until it ends, and counts its tokens).
	call(ctx context.Context, d *dep, upstream string) (usage openai.Usage, held bool, err error)
}

// chatOp is a chat completion; resp is the answer of the last call.
type chatOp struct {
	req  openai.ChatCompletionRequest
	resp openai.ChatCompletionResponse
}

func (o *chatOp) kind() string { return CallChat }

func (o *chatOp) call(ctx context.Context, d *dep, upstream string) (openai.Usage, bool, error) {
	req := o.req
	req.Model = upstream
	var err error
	if d.timeout > 0 {
		actx, cancel := context.WithTimeout(ctx, d.timeout)
		o.resp, err = d.Provider.ChatCompletion(actx, req)
		cancel()
	} else {
		o.resp, err = d.Provider.ChatCompletion(ctx, req)
	}
	return o.resp.Usage, false, err
}

// embedOp is an embeddings request; resp is the answer of the last call.
type embedOp struct {
	req  openai.EmbeddingRequest
	resp openai.EmbeddingResponse
}

func (o *embedOp) kind() string { return CallEmbeddings }

func (o *embedOp) call(ctx context.Context, d *dep, upstream string) (openai.Usage, bool, error) {
	req := o.req
	req.Model = openai.EmbeddingModel(upstream)
	var err error
	if d.timeout > 0 {
		actx, cancel := context.WithTimeout(ctx, d.timeout)
		o.resp, err = d.Provider.Embeddings(actx, req)
		cancel()
	} else {
		o.resp, err = d.Provider.Embeddings(ctx, req)
	}
	return o.resp.Usage, false, err
}

// streamOp is a streamed chat completion. A call opens the stream and
// waits for its first chunk, within the deployment's stream timeout; on
// success it holds the stream, its first chunk (decoded, or undecoded when
// the stream is a provider.RawStream) and the cancel of its context, and
// the deployment stays in flight until the Stream ends.
type streamOp struct {
	req      openai.ChatCompletionRequest
	body     []byte // StreamRaw's request as the client sent it; nil for Stream
	stream   provider.Stream
	first    openai.ChatCompletionStreamResponse
	firstRaw []byte // the first chunk as the upstream sent it
	emptyEOF bool   // the stream ended before any chunk
	cancel   context.CancelFunc
}

func (o *streamOp) kind() string { return CallStream }

func (o *streamOp) call(ctx context.Context, d *dep, upstream string) (openai.Usage, bool, error) {
	req := o.req
	req.Model = upstream
	req.Stream = true
	sctx, cancel := context.WithCancel(ctx)
	var timer *time.Timer
	if d.stimeout > 0 {
		timer = time.AfterFunc(d.stimeout, cancel)
	}
	s, err := o.open(sctx, d, req) // raw.go
	var first openai.ChatCompletionStreamResponse
	var firstRaw []byte
	emptyEOF := false
	if err == nil {
		if rs, ok := s.(provider.RawStream); ok {
			firstRaw, err = rs.RecvRaw()
			firstRaw = bytes.Clone(firstRaw) // the stream reuses its buffer
		} else {
			first, err = s.Recv()
		}
		if errors.Is(err, io.EOF) {
			emptyEOF, err = true, nil
		}
	}
	if timer != nil && !timer.Stop() && err == nil {
		// The timeout fired as the first chunk arrived: the stream's
		// context is gone, so the stream is too.
		err = &provider.Error{Kind: provider.KindTimeout, Err: context.DeadlineExceeded}
	}
	if err != nil {
		if s != nil {
			s.Close()
		}
		cancel()
		return openai.Usage{}, false, err
	}
	o.stream, o.first, o.firstRaw, o.emptyEOF, o.cancel = s, first, firstRaw, emptyEOF, cancel
	return openai.Usage{}, true, nil // the Stream counts its tokens as they come
}

var (
	_ operation = (*chatOp)(nil)
	_ operation = (*embedOp)(nil)
	_ operation = (*streamOp)(nil)
)
