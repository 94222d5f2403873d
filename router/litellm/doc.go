// Package litellm loads LiteLLM proxy config files, so a service moving from
// LiteLLM to modelroute keeps its existing config.yaml.
//
// # Model
//
// Load (or Parse, for bytes in memory) reads one file and returns a *Config:
// plain data with every os.environ/NAME reference resolved, every value
// checked, and every name cross-checked. There is no lifecycle: no Close, no
// goroutines, nothing kept after the call. Load and Parse are safe to call
// from many goroutines; a Config is never mutated by this package, so it may
// be shared read-only.
//
// What is read:
//
//   - model_list: each entry becomes a Deployment. litellm_params fields
//     modelroute uses become typed fields (api_base, api_key, weight, rpm, tpm,
//     order, timeouts, tags, costs, …); the rest are kept in Deployment.Extra
//     and named in a warning. model_info is kept whole in Deployment.Info, and
//     id, mode, access_groups, max_input_tokens, base_model and costs are read.
//   - include: files named relative to the config's directory; their
//     model_list entries are appended after the main file's. An included file
//     may not include others.
//   - router_settings: model_group_alias (both the string form and
//     {model, hidden}), routing_strategy (usage-based-routing-v2 is read as
//     usage-based-routing), num_retries, allowed_fails, cooldown_time,
//     disable_cooldowns, timeout, stream_timeout, retry_after, max_fallbacks,
//     the three kinds of fallbacks and default_fallbacks (stored under "*"),
//     enable_tag_filtering and enable_pre_call_checks.
//   - litellm_settings: fallbacks, context_window_fallbacks,
//     content_policy_fallbacks, default_fallbacks, num_retries and
//     request_timeout, used where router_settings does not set them.
//   - general_settings: master_key, database_url (the gateway's
//     PostgreSQL store), background_health_checks, health_check_interval.
//   - environment_variables: an extra layer in front of the environment
//     lookup (WithEnv, default os.LookupEnv). LiteLLM copies these into the
//     process environment at start, overriding what is there; this package
//     never modifies the process environment, but gives them the same
//     precedence for os.environ/NAME references in this config.
//
// Every other key, at any level the loader reads, is named in a Warning and
// otherwise ignored; model_info is the exception, being free-form metadata
// (description, supports_vision, …) kept whole in Deployment.Info.
//
// # Providers
//
// litellm_params.model is "provider/model": the prefix up to the first "/"
// picks the provider, and the rest goes upstream unchanged
// ("openai/llava-hf/llava-v1.6" sends "llava-hf/llava-v1.6"). A bare name
// gets the provider LiteLLM infers for the common families: gpt-…, chatgpt-…,
// o1…/o3…/o4…, text-embedding-…, dall-e-…, whisper…, tts-… are openai;
// claude-… is anthropic; Bedrock ids (amazon.titan-…, anthropic.claude-…) are
// bedrock; gemini-… is vertex_ai, as in LiteLLM (write gemini/… for Google
// AI Studio). custom_llm_provider, when given, names the provider instead.
//
// modelroute calls the native APIs of anthropic (the Messages API), bedrock
// (Converse) and vertex_ai, and the OpenAI-compatible endpoints of the
// prefixes in its provider table (provider.DefaultTable, or the table given
// with WithTable; gemini/ is Google AI Studio's OpenAI-compatible
// endpoint). Native deployments read their own litellm_params into typed
// fields: aws_region_name (else AWS_REGION_NAME), aws_access_key_id,
// aws_secret_access_key and aws_session_token for bedrock; vertex_project
// (else VERTEXAI_PROJECT), vertex_location (else VERTEXAI_LOCATION) and
// vertex_credentials (a key's JSON, a path, or a map) for vertex_ai; left
// out, credentials come from the AWS chain and Application Default
// Credentials. LiteLLM's route segments (bedrock/converse/…,
// bedrock/invoke/…) are not sent upstream. A deployment of any other LiteLLM
// provider (sagemaker, cohere, azure_ai, text-completion-openai,
// auto_router, …) is an ErrUnsupported error naming the entry and the
// provider, unless
// WithSkipUnsupported is given: then it is left out and named in a Warning,
// as is every alias or fallback that only reached it. A prefix LiteLLM does
// not define ("mistralai/…") is ErrUnknownProvider. Nothing is dropped
// silently.
//
// When api_key is absent, the provider's usual variable (OPENAI_API_KEY,
// AZURE_API_KEY, …) is read through the same lookup, as LiteLLM does at call
// time; when that is unset too, a Warning says so.
//
// # Deployment IDs
//
// A deployment's ID is model_info.id when given; two entries with the same
// id are an error. Otherwise it is the first 16 hex digits of the SHA-256 of
// the entry's model_name and litellm_params as written, in a canonical form
// (keys sorted). os.environ/NAME references are hashed as written, so the ID
// survives rotating a key held in the environment, and a reload keeps per-
// deployment state. Identical entries (LiteLLM configs have them, to weight
// a group) would hash alike: the second gets "-2" appended, the third "-3",
// and so on, so every entry stays its own deployment.
//
// # Building a router
//
// Config.RouterConfig turns a Config into a router.Config, building each
// deployment's provider.Provider with a ProviderFunc; by default
// Providers(nil, nil, nil): anthropic deployments get package
// provider/anthropic (Deployment.AnthropicConfig), the others
// provider.NewOpenAI (OpenAIProviders, Deployment.OpenAIConfig). bedrock and
// vertex_ai deployments need the ProviderFunc of their own packages
// (provider/bedrock, provider/google), given to Providers: this package does
// not import their SDKs. Aliases go to the alias.Registry given to
// router.New.
//
// # Errors and secrets
//
// Load collects every problem rather than stopping at the first, and returns
// them joined with errors.Join; each is an *Error whose Location names the
// file and line, the model_list entry (`model_list[3] "gpt-4"`) or the
// settings key (router_settings.fallbacks), and the problem. Each wraps one
// of ErrSyntax, ErrInvalid, ErrUnknownProvider, ErrUnsupported, ErrEnv or
// ErrInclude. Duplicate keys are refused (PyYAML keeps the last one
// silently).
//
// Secrets (api_key, master_key and every value read from the environment)
// are resolved at load and appear only in Deployment.APIKey, the typed
// fields they were read into, Deployment.Extra and General.MasterKey — never
// in an error, a warning, Deployment.Params or Deployment.Info.
package litellm
