// Package provider is how modelroute talks to LLM APIs.
//
// A Provider is one upstream endpoint (a base URL and its credentials); the
// router sets each request's Model to the upstream model of the deployment it
// picked, and the Provider sends that name unchanged. Every error a Provider
// returns can be matched with errors.As to an *Error whose Kind drives the
// router's retries, cooldowns and fallbacks; Classify does that matching, and
// classifies raw errors from go-openai, net/http and contexts, from status
// codes and OpenAI error codes, never from message text.
//
// # The OpenAI-compatible provider
//
// NewOpenAI builds a Provider (and Prober) over go-openai's client for OpenAI,
// Azure OpenAI and every OpenAI-compatible endpoint, from a plain OpenAIConfig
// that it validates. It captures what go-openai drops: the HTTP status, the
// OpenAI error code and the Retry-After of an error answer, and a stream cut
// before its end. It reads stream bodies itself (no allocation per chunk),
// and its streams are RawStreams: RecvRaw hands each chunk on as the upstream
// sent it, for a gateway to forward without decoding and re-encoding it.
// Without an HTTP client of the caller's, it builds one from NewHTTPClient
// (1024 idle connections per host, no overall timeout: contexts bound
// calls); providers that share a client share one pool per upstream host.
//
// # Prefixes and secrets
//
// A Table maps "provider/model" prefixes (groq, together_ai, ollama, …) to a
// Spec: the default base URL and the environment variable of the key.
// DefaultTable returns a fresh table of the known providers; callers add their
// own with Add. Spec.Config and ResolveSecret read "os.environ/NAME" secrets
// through an injectable environment lookup.
//
// # Lifecycle and concurrency
//
// NewOpenAI → calls → Close (which only releases idle connections of the HTTP
// client NewOpenAI built itself). Providers and Tables are safe for concurrent
// use; a Stream is used by one goroutine, though Close may come from any. The
// package has no mutable package-level state. The zero Table is empty and
// usable; the zero OpenAIConfig talks to OpenAI's API without a key.
//
// Test doubles live in package providertest: a scriptable fake Provider, a
// fake OpenAI-compatible HTTP server with fault injection, and a conformance
// suite for any Provider.
package provider
