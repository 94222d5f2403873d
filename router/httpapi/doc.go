// Package httpapi serves modelroute over HTTP: the OpenAI API for clients
// (/v1/chat/completions, /v1/embeddings, /v1/models), LiteLLM's operator API
// (/model/info, /model_group/info, /health) and the admin API for model
// aliases, access groups, organizations, teams and keys.
//
// Each endpoint is an http.Handler returned by a method of Handler, so a Go
// service can mount the ones it wants on its own mux, behind its own
// authentication (setting the caller with WithPrincipal). Handler.Mux wires
// them all behind Authenticate, which is what examples/gateway serves.
//
// Every error answer has OpenAI's shape:
//
//	{"error": {"message": "...", "type": "...", "param": null, "code": "..."}}
//
// and a refusal names only the name the client requested, never what it
// resolved to. Responses carry x-modelroute-model-group,
// x-modelroute-deployment-id and x-modelroute-attempts, and their model field
// (every streamed chunk's too) is the requested name. Streamed chunks are
// passed on as the upstream sent them (router.Stream.RecvRaw), with only
// that field replaced: no decoding and re-encoding per chunk. A chat
// completion request that decoding and encoding would not change (only
// keys go-openai knows, each once, no empty optional field) is forwarded
// as the client sent it, only its model replaced, and a plain answer comes
// back the same way (router.Router.CompleteRaw, StreamRaw); any other goes
// through go-openai's types. Either way the request is decoded first, and
// refused with 400 when it is not a valid one.
//
// Lifecycle: New → mount → serve. A Handler holds no goroutines of its own;
// the Router, Registry, Checker and HealthChecker it is given belong to the
// caller, who closes them. Safe for concurrent use.
package httpapi
