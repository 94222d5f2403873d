package litellm

import (
	"fmt"
	"time"
)

// Config is a loaded LiteLLM proxy config: plain data, every secret resolved,
// every name checked. It is safe to read from many goroutines; nothing in the
// package mutates it after Load returns.
type Config struct {
	// File is the path given to Load, or the name given to Parse.
	File string
	// Deployments are the model_list entries in file order, followed by those
	// of each include: file in the order listed. Skipped deployments (see
	// WithSkipUnsupported) are absent and named in Warnings.
	Deployments []Deployment
	// Aliases are router_settings.model_group_alias, sorted by name.
	Aliases []Alias
	// Router holds router_settings, completed from litellm_settings.
	Router RouterSettings
	// General holds the general_settings modelroute uses.
	General GeneralSettings
	// LiteLLM holds the litellm_settings modelroute uses beyond routing
	// (the routing ones complete Router).
	LiteLLM LiteLLMSettings
	// Warnings name every key the loader ignored and every deployment it
	// skipped, in file order.
	Warnings []Warning
}

// Deployment is one model_list entry: one upstream model behind one endpoint.
// Zero numeric fields mean "not set"; the router applies its defaults.
type Deployment struct {
	// ID is model_info.id when given, otherwise a stable hash of the entry
	// (see the package documentation). IDs are unique within a Config.
	ID string
	// ModelName is the group this deployment serves: model_name. It may
	// contain "*" (a wildcard group, as in "openai/*" or "*").
	ModelName string
	// Model is litellm_params.model as written ("azure/chatgpt-v-2", "gpt-4").
	Model string
	// Provider is the LiteLLM provider prefix ("openai", "azure", …): the part
	// of Model before the first "/", custom_llm_provider, or the provider
	// LiteLLM infers for a bare name ("gpt-4" → "openai").
	Provider string
	// UpstreamModel is the model name sent upstream: Model without its
	// provider prefix ("chatgpt-v-2", "llava-hf/llava-v1.6"). "*" for a
	// wildcard deployment.
	UpstreamModel string

	APIBase      string // litellm_params.api_base, resolved; "" means the provider's default
	APIKey       string // litellm_params.api_key, resolved, else the provider's key variable; a secret
	APIVersion   string // litellm_params.api_version (Azure)
	Organization string // litellm_params.organization (OpenAI)

	// The placement and credentials of native providers, resolved. Empty
	// credentials mean the provider's standard chain: the AWS SDK's
	// (environment, shared files, SSO, instance roles) for bedrock,
	// Application Default Credentials for vertex_ai.
	AWSRegion          string // litellm_params.aws_region_name, else AWS_REGION_NAME (bedrock)
	AWSAccessKeyID     string // litellm_params.aws_access_key_id; a secret
	AWSSecretAccessKey string // litellm_params.aws_secret_access_key; a secret
	AWSSessionToken    string // litellm_params.aws_session_token; a secret
	VertexProject      string // litellm_params.vertex_project, else VERTEXAI_PROJECT (vertex_ai)
	VertexLocation     string // litellm_params.vertex_location, else VERTEXAI_LOCATION (vertex_ai)
	VertexCredentials  string // litellm_params.vertex_credentials: a service account key's JSON or its file's path; a secret

	Weight        float64       // litellm_params.weight; 0: not set (equal weights)
	RPM           int64         // litellm_params.rpm; 0: no limit
	TPM           int64         // litellm_params.tpm; 0: no limit
	Order         int           // litellm_params.order; lower is tried first; 0: not set
	Timeout       time.Duration // litellm_params.timeout; 0: not set
	StreamTimeout time.Duration // litellm_params.stream_timeout; 0: not set
	MaxParallel   int           // litellm_params.max_parallel_requests; 0: no limit
	Tags          []string      // litellm_params.tags

	InputCostPerToken  float64 // litellm_params, else model_info, input_cost_per_token (USD)
	OutputCostPerToken float64 // litellm_params, else model_info, output_cost_per_token (USD)
	ContextWindow      int     // model_info.max_input_tokens, else model_info.max_tokens; 0: unknown
	MaxOutputTokens    int     // model_info.max_output_tokens; 0: unknown

	Mode         string   // model_info.mode ("chat", "embedding", …); "" means chat
	BaseModel    string   // model_info.base_model, else litellm_params.base_model
	AccessGroups []string // model_info.access_groups

	// Params is litellm_params as written, for display (/model/info):
	// os.environ/NAME references are kept as written, never resolved, and
	// api_key and every other secret-looking key (aws_secret_access_key,
	// vertex_credentials, extra_headers, …) are left out.
	Params map[string]any
	// Extra holds the litellm_params that have no field above
	// ("temperature", "max_tokens", "region_name", …), with top-level
	// os.environ/NAME strings resolved. The loader warns about each.
	Extra map[string]any
	// Info is model_info as written (id, mode, description, …), for display.
	Info map[string]any

	// Source is where the entry is defined: "config.yaml:12".
	Source string
}

// Alias is one router_settings.model_group_alias entry.
type Alias struct {
	Name   string // the name clients may call
	Target string // a group, another alias, or a name a wildcard group serves
	Hidden bool   // routable but never listed ({model: …, hidden: true})
	Source string // "config.yaml:160"
}

// RouterSettings are router_settings. Where router_settings leaves a value
// unset, the same key in litellm_settings is used (fallbacks,
// context_window_fallbacks, content_policy_fallbacks, default_fallbacks,
// num_retries, and request_timeout for Timeout), as LiteLLM's Router does.
type RouterSettings struct {
	Strategy Strategy // routing_strategy; zero value: simple-shuffle, LiteLLM's default

	NumRetries       *int          // num_retries; nil: not set (router default)
	AllowedFails     int           // allowed_fails; 0: not set
	CooldownTime     time.Duration // cooldown_time; 0: not set
	DisableCooldowns bool          // disable_cooldowns
	Timeout          time.Duration // timeout (else litellm_settings.request_timeout); 0: not set
	StreamTimeout    time.Duration // stream_timeout; 0: not set
	RetryAfter       time.Duration // retry_after: minimum wait before a retry; 0: not set
	MaxFallbacks     int           // max_fallbacks; 0: not set

	// Fallbacks, ContextWindowFallbacks and ContentPolicyFallbacks map a
	// group (or alias) to the names tried, in order, when it fails. The key
	// "*" holds the default for every name (LiteLLM's default_fallbacks, or a
	// "*" entry). Nil when not configured.
	Fallbacks              map[string][]string
	ContextWindowFallbacks map[string][]string
	ContentPolicyFallbacks map[string][]string

	// Redis is redis_host, redis_port, redis_password and redis_url.
	Redis Redis

	EnableTagFiltering  bool // enable_tag_filtering
	EnablePreCallChecks bool // enable_pre_call_checks: skip deployments whose context window is too small
}

// GeneralSettings are the general_settings modelroute uses.
// LiteLLMSettings are the litellm_settings modelroute uses beyond routing.
type LiteLLMSettings struct {
	// RequireAuthForMetrics is require_auth_for_metrics_endpoint: /metrics
	// asks for a valid key. false: /metrics is open, as LiteLLM's is by
	// default.
	RequireAuthForMetrics bool
}

// Redis is where several replicas share state: LiteLLM's
// router_settings.redis_host, redis_port and redis_password, or redis_url
// (which wins when both are set). The zero value means no Redis.
type Redis struct {
	Host     string // redis_host, resolved
	Port     int    // redis_port; 0: 6379 when Host is set
	Password string // redis_password, resolved; a secret
	URL      string // redis_url, resolved ("redis://user:pass@host:6379/0"); may hold a secret
}

// IsZero reports whether no Redis is configured.
func (r Redis) IsZero() bool { return r.Host == "" && r.URL == "" }

// GeneralSettings are the general_settings modelroute uses.
type GeneralSettings struct {
	MasterKey              string        // master_key, resolved; a secret; "" when not set
	DatabaseURL            string        // database_url, resolved (postgres://…); a secret; "" when not set
	BackgroundHealthChecks bool          // background_health_checks
	HealthCheckInterval    time.Duration // health_check_interval; 0: not set (LiteLLM's default is 300s)
}

// Strategy is a LiteLLM routing_strategy.
type Strategy int

const (
	StrategySimpleShuffle Strategy = iota // "simple-shuffle": weighted random; the default
	StrategyLeastBusy                     // "least-busy"
	StrategyLatencyBased                  // "latency-based-routing"
	StrategyUsageBased                    // "usage-based-routing", and "usage-based-routing-v2"
	StrategyCostBased                     // "cost-based-routing"
	StrategyRoundRobin                    // "round-robin"
)

var strategyNames = [...]string{
	StrategySimpleShuffle: "simple-shuffle",
	StrategyLeastBusy:     "least-busy",
	StrategyLatencyBased:  "latency-based-routing",
	StrategyUsageBased:    "usage-based-routing",
	StrategyCostBased:     "cost-based-routing",
	StrategyRoundRobin:    "round-robin",
}

// String returns the LiteLLM name of s.
func (s Strategy) String() string {
	if s >= 0 && int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// parseStrategy maps a LiteLLM routing_strategy name to a Strategy.
func parseStrategy(name string) (Strategy, bool) {
	if name == "usage-based-routing-v2" {
		return StrategyUsageBased, true
	}
	for s, n := range strategyNames {
		if n == name {
			return Strategy(s), true
		}
	}
	return 0, false
}
