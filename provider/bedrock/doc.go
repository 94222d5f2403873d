// Package bedrock is a provider.Provider for Amazon Bedrock's Converse and
// ConverseStream APIs, over the AWS SDK for Go v2 (bedrockruntime), so that
// bedrock/ deployments of every model family Converse serves (Anthropic
// Claude, Meta Llama, Mistral, Amazon Nova, Cohere, AI21, …) are routed,
// retried and failed over like OpenAI-compatible ones.
//
// # Model
//
// A Provider translates each OpenAI chat request to one Converse request
// (ConverseStream when streamed): system and developer messages become the
// system prompt; user, assistant and tool messages become alternating
// turns (tool calls as toolUse blocks, tool results as toolResult blocks,
// images, which must be base64 data URLs, as image bytes); tools and
// tool_choice carry over; max_completion_tokens (else max_tokens),
// temperature, top_p and stop go to inferenceConfig. What Converse cannot
// express (n > 1, logprobs, response_format, legacy functions, image links)
// fails with KindUnsupported before any call, so that the router moves the
// request to a deployment of another provider without holding it against
// this one; a malformed request fails with KindBadRequest.
//
// Answers come back as OpenAI responses: stop reasons as finish reasons
// (end_turn and stop_sequence "stop", max_tokens "length", tool_use
// "tool_calls"); an answer stopped by a guardrail or content filter is an
// error of KindContentPolicy, so that content-policy fallbacks apply; usage
// counts the prompt-cache tokens into prompt_tokens and reports cache reads
// as cached_tokens. Streams map Converse events to OpenAI chunks; see
// Stream. Embeddings go through InvokeModel for the Titan and Cohere
// embedding models.
//
// Errors are classified by Bedrock's exception, then the HTTP status:
// ThrottlingException and ServiceQuotaExceededException are KindRateLimited,
// a ValidationException about the prompt's length KindContextWindow (the
// one place message text is read: Bedrock has no code for it),
// other ValidationExceptions KindBadRequest, AccessDeniedException and
// signature errors KindAuth, ModelTimeoutException KindTimeout, and
// ModelNotReady, ServiceUnavailable, InternalServer and ModelError
// KindUnavailable. A failure of the credentials chain is KindAuth (a
// *CredentialsError inside). Retry-After headers are kept.
//
// # Credentials, region and retries
//
// Without static keys in the Config, credentials come from the AWS SDK's
// standard chain, resolved at the first call and cached; the region from
// the Config or the chain (AWS_REGION, the profile). The SDK's own retries
// are off: the router retries, on another deployment where it can, within
// its budget.
//
// # Dependencies
//
// This package brings the AWS SDK (bedrockruntime, config, credentials,
// sso, sts, …): it is a package of its own so that importing package
// provider or router does not pull it in. It pins bedrockruntime v1.62:
// later versions decode event streams with one buffer shared by every
// concurrent stream of a client, a data race.
//
// # Lifecycle and concurrency
//
// New → calls → Close, which releases the idle connections of the client
// New built. A Provider is safe for concurrent use; a Stream is read by one
// goroutine and may be closed from any. No package-level mutable state.
// Package bedrocktest is a fake Bedrock runtime for tests.
package bedrock
