package provider

import (
	"context"

	openai "github.com/sashabaranov/go-openai"
)

// Provider is one upstream LLM endpoint: a base URL and its credentials.
//
// The caller (normally the router) sets the request's Model field to the
// upstream model name of the deployment it picked before calling; a Provider
// sends that name upstream unchanged and never sees the name a client asked for.
//
// Every method blocks until the upstream answers, the context is done, or the
// call fails; every error returned can be matched with errors.As to *Error.
// Implementations are safe for concurrent use.
type Provider interface {
	// ChatCompletion makes one non-streaming chat completion call.
	ChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
	// ChatCompletionStream starts a streamed chat completion. The caller must
	// Close the returned Stream.
	ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (Stream, error)
	// Embeddings makes one embeddings call.
	Embeddings(ctx context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error)
}

// Stream is a streamed chat completion. Recv returns the next chunk, or io.EOF
// when the upstream finished cleanly; any other error is an *Error.
// Close releases the connection and may be called more than once.
type Stream interface {
	Recv() (openai.ChatCompletionStreamResponse, error)
	Close() error
}

// RawStream is implemented by Streams that can hand out each chunk as the
// upstream sent it: the JSON object of one server-sent event, undecoded. A
// gateway forwarding chunks to its clients passes them on without decoding
// and re-encoding them; router.Stream.RecvRaw uses it when it is there.
type RawStream interface {
	Stream
	// RecvRaw is Recv without the decoding: it returns the next chunk's
	// JSON object, checked to be one, or the error Recv would return. The
	// bytes are valid until the next call of Recv or RecvRaw and must not
	// be modified. Calls of Recv and RecvRaw may be mixed.
	RecvRaw() ([]byte, error)
}

// Readier is implemented by Streams that can tell whether their next chunk
// has arrived already. A forwarder writes every chunk that has arrived and
// flushes its connection once, when Ready is false, instead of once per
// chunk; a stream that cannot tell is flushed after every chunk.
type Readier interface {
	// Ready reports whether the next Recv or RecvRaw returns without
	// waiting for the upstream.
	Ready() bool
}

// Prober is implemented by providers that have a cheap health probe (for an
// OpenAI-compatible endpoint: listing models). A nil error means healthy.
type Prober interface {
	Probe(ctx context.Context) error
}
