// Package google is how modelroute calls Google's models: Vertex AI with
// Google Cloud credentials, and Google AI Studio (Gemini API keys).
//
// # Which API, and why
//
// Both go through Google's own OpenAI-compatible endpoints, not the
// google.golang.org/genai SDK. For chat completions, streams, tools, images
// and usage they are equivalent to the native generateContent API as
// modelroute uses it, Google maintains them, and they keep modelroute's one
// OpenAI-compatible code path (provider.OpenAI: its stream reader, error
// classification and conformance) for them, with no SDK in the import
// graph: this package adds only golang.org/x/oauth2 for Vertex's tokens.
//
//   - gemini/ (Google AI Studio) needs nothing here: it is a prefix of
//     provider.DefaultTable, https://generativelanguage.googleapis.com/v1beta/openai/
//     with GEMINI_API_KEY as the bearer key; chat, streams and embeddings.
//     Its error answers, a JSON array [{"error": {"code", "message",
//     "status"}}], are classified by HTTP status.
//   - vertex_ai/ is Vertex: NewVertex builds a provider.OpenAI over
//     https://LOCATION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/LOCATION/endpoints/openapi
//     whose every request carries an OAuth token from Application Default
//     Credentials, or from a given service account key. Vertex's endpoint
//     serves Gemini models (sent as "google/MODEL") and OpenAI-compatible
//     Model Garden deployments. Claude on Vertex is Anthropic's Messages API
//     over rawPredict: anthropic.NewVertex with the client of TokenClient
//     (router/gateway wires vertex_ai/claude-… deployments so).
//
// # Lifecycle and concurrency
//
// NewVertex → calls → Close. A Vertex is safe for concurrent use; tokens
// are cached and refreshed by one oauth2.ReuseTokenSource. A failure to get
// a token fails the call with KindAuth (a *TokenError inside), so that the
// router tries another deployment. The package has no package-level
// mutable state; VertexConfig has no useful zero value (a project is
// needed, from the config or the credentials).
package google
