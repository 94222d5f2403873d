// Package providertest provides test doubles for package provider, so that
// code built on modelroute is tested without keys or a network, the way
// net/http/httptest and testing/fstest serve their packages.
//
//   - Fake is a scriptable provider.Provider and provider.Prober: per call, a
//     response, an error of any kind and status (with Retry-After), a latency
//     that respects the context, streamed chunks, or a stream that breaks.
//     It records every call.
//   - Handler is a fake OpenAI-compatible HTTP API (chat completions, JSON
//     and SSE, embeddings, models) with fault injection per model or for
//     every request, and counters per path and per model. Server runs one on
//     httptest; a Handler also serves on any listener, for load tests and
//     demos.
//   - Run is a conformance suite that checks any Provider, through a
//     Harness, for success, streaming, the classification of every error
//     kind, Retry-After, and prompt return on cancellation. Providers of
//     native protocols run it through a fake of their protocol standing in
//     front of a Server (ReadStream, ReadError, WriteJSON and Drop help such
//     fakes translate; see anthropictest and bedrocktest).
//
// Lifecycle: NewFake → script → use; NewServer → SetFault → use → Close.
// Everything here is safe for concurrent use, holds no package-level mutable
// state and does nothing on the network but loopback. The zero Fake is ready
// to use; Handler and Server need their constructors.
package providertest
