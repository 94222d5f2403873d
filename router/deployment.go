package router

import (
	"encoding/hex"
	"hash/fnv"
	"strings"
	"time"

	"github.com/modelroute/modelroute/provider"
)

// Deployment is one upstream model reachable through one Provider: a row of
// LiteLLM's model_list. Deployments sharing a Group form a model group that
// clients call by that name.
//
// Only Group, Model and Provider are required; every other field's zero value
// is documented.
type Deployment struct {
	// ID identifies the deployment across config reloads: its cooldown,
	// counters and latency survive an Update as long as the ID does. Empty: a
	// stable hash of Group, Model, ProviderName and APIBase.
	ID string

	// Group is the name clients call (LiteLLM's model_name). A group name
	// containing one "*" is a wildcard group: "openai/*" serves every
	// "openai/…" name that no exact group serves, "*" serves everything;
	// the most specific pattern (longest literal part) wins.
	Group string

	// Model is the upstream model, as "provider/upstream" (LiteLLM's
	// litellm_params.model: the part after the first "/" goes upstream) or,
	// when ProviderName is set, the upstream model name as is. In a wildcard
	// group, a "*" in Model is replaced by the part of the requested name the
	// group's "*" matched: group "openai/*" with Model "openai/*" sends
	// "gpt-4o" upstream for a request for "openai/gpt-4o".
	Model string

	// ProviderName is the provider prefix ("openai", "azure", …). Empty: the
	// part of Model before the first "/", if any.
	ProviderName string

	// Provider makes the calls. Required.
	Provider provider.Provider

	// APIBase is the upstream base URL, for display and the default ID; the
	// Provider already knows it.
	APIBase string

	// Weight is the deployment's share of traffic within its order tier for
	// the weighted strategies. Zero: 1. Negative is invalid.
	Weight float64

	// RPM and TPM are requests and tokens per minute this deployment accepts,
	// counted in a sliding one-minute window (see SharedState); at the limit
	// it is not a candidate until enough of its count slides out of the
	// window. Zero: no limit.
	RPM, TPM int

	// MaxParallel is the most requests in flight at once. Zero: no limit.
	MaxParallel int

	// Order is the priority tier: lower orders are tried first and a higher
	// order only serves when no deployment of a lower one is a candidate.
	// Zero (unset) ranks after every positive order.
	Order int

	// Tags restrict which requests this deployment serves: a request carrying
	// tags (WithTags) only goes to deployments sharing at least one of them.
	// Requests without tags may use every deployment.
	Tags []string

	// Timeout bounds one non-streaming attempt. Zero: Config.Timeout; when
	// both are zero only the caller's context bounds it.
	Timeout time.Duration

	// StreamTimeout bounds the wait for a stream's first chunk. Zero: Timeout
	// (or Config.Timeout).
	StreamTimeout time.Duration

	// InputCostPerToken and OutputCostPerToken price the deployment in
	// dollars per token; used for cost-based routing and observer events.
	// Zero: free / unknown.
	InputCostPerToken, OutputCostPerToken float64

	// ContextWindow is the most prompt tokens the model accepts. A request
	// whose estimated prompt is larger skips this deployment. Zero: unknown,
	// never filtered.
	ContextWindow int

	// Mode is what the model does ("chat", "embedding", …), for display.
	// Empty: "chat".
	Mode string

	// Info holds extra model_info fields to show on /model/info. Optional,
	// never interpreted by the router.
	Info map[string]any

	// Params holds the litellm_params to show on /model/info, without any
	// secret (never put an API key here). Optional, never interpreted by the
	// router.
	Params map[string]any
}

// providerAndUpstream splits Model per the rules in Deployment's doc.
func (d *Deployment) providerAndUpstream() (prov, upstream string) {
	if d.ProviderName != "" {
		return d.ProviderName, d.Model
	}
	if p, u, ok := strings.Cut(d.Model, "/"); ok {
		return p, u
	}
	return "", d.Model
}

// defaultID is the stable hash of the identifying parameters.
func (d *Deployment) defaultID() string {
	h := fnv.New64a()
	for _, s := range [...]string{d.Group, d.Model, d.ProviderName, d.APIBase} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var b [8]byte
	return hex.EncodeToString(h.Sum(b[:0]))
}

// dep is a Deployment as compiled into one table: immutable, pointing at
// state shared by every table that holds the same ID.
type dep struct {
	Deployment
	prov     string // provider prefix
	upstream string // upstream model (may contain "*" in wildcard groups)
	wildUp   bool   // upstream contains "*"
	weight   float64
	tier     int // normalized order: positive orders, then unset
	timeout  time.Duration
	stimeout time.Duration
	plain    bool // no limits, no context window: eligibility is the circuit alone
	st       *state
}

// upstreamFor returns the upstream model name for a request whose wildcard
// matched part is match (empty for exact groups). It allocates only when the
// upstream template has text around its "*".
func (d *dep) upstreamFor(match string) string {
	if !d.wildUp {
		return d.upstream
	}
	if d.upstream == "*" {
		return match
	}
	return strings.Replace(d.upstream, "*", match, 1)
}

func (d *dep) hasTag(tags []string) bool {
	for _, t := range tags {
		for _, dt := range d.Tags {
			if t == dt {
				return true
			}
		}
	}
	return false
}
