// Package anthropic is a provider.Provider for Anthropic's Messages API,
// spoken natively over net/http, so that Claude deployments are routed,
// retried and failed over like OpenAI-compatible ones, with what
// Anthropic's OpenAI-compatibility endpoint leaves out (prompt-cache usage,
// stop reasons, error types).
//
// # Model
//
// A Provider translates each OpenAI chat request to POST /v1/messages:
// system and developer messages become the system prompt; user, assistant
// and tool messages become alternating turns (tool results as tool_result
// blocks, tool calls as tool_use blocks, images as base64 or URL image
// blocks); tools and tool_choice (with parallel_tool_calls false as
// disable_parallel_tool_use) carry over; max_completion_tokens, else
// max_tokens, else Config.MaxTokens is sent as max_tokens, which the API
// requires. What the Messages API cannot express (n > 1, logprobs,
// response_format, legacy functions, content types it lacks) fails with
// KindUnsupported before any call: another deployment of the group, of
// another provider, may serve it, and the router moves it there without
// holding it against this one.
//
// Answers come back as OpenAI responses: text, tool calls and thinking
// (as reasoning_content); stop reasons as finish reasons (end_turn and
// stop_sequence "stop", max_tokens "length", tool_use "tool_calls");
// usage with the prompt-cache tokens counted into prompt_tokens and the
// cache reads reported as cached_tokens. A "refusal" is an error of
// KindContentPolicy, so that content-policy fallbacks apply. Streams map
// the Messages events to OpenAI chunks; see Stream.
//
// Errors are classified by Anthropic's error type, then the HTTP status:
// rate_limit_error (429) is KindRateLimited, overloaded_error (529) and
// api_error KindUnavailable, authentication_error, permission_error and
// billing_error KindAuth, and a prompt over the context window (400
// invalid_request_error, "prompt is too long") KindContextWindow. The
// Retry-After of an error answer is kept. Every error is a
// *provider.Error wrapping an *APIError when the upstream answered.
//
// Anthropic has no embeddings API: Embeddings fails with KindUnsupported.
//
// NewVertex serves Claude on Google Cloud's Vertex AI the same way, through
// Vertex's rawPredict and streamRawPredict methods (model in the URL,
// anthropic_version in the body, a Google OAuth token from the HTTP client:
// see package provider/google's TokenClient).
//
// # Lifecycle and concurrency
//
// New → calls → Close, which releases the idle connections of the HTTP
// client New built when Config.HTTPClient was nil. A Provider is safe for
// concurrent use; a Stream is read by one goroutine, and may be closed from
// any. The package has no package-level mutable state, and depends on
// nothing outside the standard library but package provider and go-openai's
// types. The zero Config talks to Anthropic's API without a key.
//
// Package anthropictest is a fake Messages API for tests.
package anthropic
