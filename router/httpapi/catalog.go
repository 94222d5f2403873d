package httpapi

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/modelroute/modelroute/router"
)

// The LiteLLM and OpenAI shapes of the Router's catalog (router.Catalog):
// /v1/models, /model/info and /model_group/info.

// groupCreated is the "created" time of a group in /v1/models. Groups have
// no creation time of their own; this is the fixed value LiteLLM's proxy
// answers, so clients that cache on it see a stable value.
const groupCreated = 1677610602

// model is one entry of OpenAI's model list (GET /v1/models).
type model struct {
	ID string `json:"id"`
	// Object is always "model".
	Object string `json:"object"`
	// Created is the alias's creation time in Unix seconds; for a group,
	// LiteLLM's fixed 1677610602.
	Created int64 `json:"created"`
	// OwnedBy is the provider prefix of the first deployment (in config
	// order) of the group the name stands for, or "openai" when it has none.
	OwnedBy string `json:"owned_by"`
}

// modelInfo is one row of LiteLLM's /model/info: one deployment under one
// listed name. An alias has one row per deployment of the group it
// resolves to, with the same id as the group's rows.
type modelInfo struct {
	ModelName string           `json:"model_name"`
	Params    deploymentParams `json:"litellm_params"`
	Info      deploymentInfo   `json:"model_info"`
}

// deploymentParams is a deployment's litellm_params for display (the
// catalog has dropped its secrets).
type deploymentParams struct {
	Model               string   `json:"model"`
	CustomLLMProvider   string   `json:"custom_llm_provider,omitempty"`
	APIBase             string   `json:"api_base,omitempty"`
	RPM                 int      `json:"rpm,omitempty"`
	TPM                 int      `json:"tpm,omitempty"`
	Weight              float64  `json:"weight,omitempty"`
	Order               int      `json:"order,omitempty"`
	MaxParallelRequests int      `json:"max_parallel_requests,omitempty"`
	Timeout             float64  `json:"timeout,omitempty"`        // seconds
	StreamTimeout       float64  `json:"stream_timeout,omitempty"` // seconds
	Tags                []string `json:"tags,omitempty"`
	// Extra holds the other keys of Deployment.Params. In JSON they sit
	// beside the fields above, which win on a clash.
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the fields and Extra as one object.
func (p deploymentParams) MarshalJSON() ([]byte, error) {
	type plain deploymentParams
	return marshalMerged(plain(p), p.Extra)
}

// deploymentInfo is a deployment's model_info for display.
type deploymentInfo struct {
	ID                 string  `json:"id"` // the same under a group and its aliases
	Mode               string  `json:"mode"`
	Provider           string  `json:"litellm_provider,omitempty"`
	MaxInputTokens     int     `json:"max_input_tokens,omitempty"`
	InputCostPerToken  float64 `json:"input_cost_per_token,omitempty"`
	OutputCostPerToken float64 `json:"output_cost_per_token,omitempty"`
	// AccessGroups is Deployment.Info["access_groups"], when it is a list
	// of strings.
	AccessGroups []string `json:"access_groups,omitempty"`
	// Extra holds the other keys of Deployment.Info, beside the fields
	// above in JSON.
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the fields and Extra as one object.
func (i deploymentInfo) MarshalJSON() ([]byte, error) {
	type plain deploymentInfo
	return marshalMerged(plain(i), i.Extra)
}

// groupInfo is one row of LiteLLM's /model_group/info: a listed name (a
// group, or an alias under its own name) summarised over the deployments
// it reaches.
type groupInfo struct {
	ModelGroup string
	// Providers are the distinct provider prefixes, sorted.
	Providers []string
	// Mode is the first deployment's mode (config order); Modes lists the
	// distinct modes, sorted.
	Mode  string
	Modes []string
	// MaxInputTokens is the largest context window among the deployments:
	// a prompt that fits it fits at least one. 0: unknown.
	MaxInputTokens int
	// RPM and TPM total the limits of the deployments that have one (as
	// LiteLLM does); 0: none has.
	RPM, TPM int
	// InputCostPerToken and OutputCostPerToken are the highest prices
	// among the deployments: what a request may cost at worst.
	InputCostPerToken, OutputCostPerToken float64
	// Health is the group's health now, from both signals (cooldowns and
	// active probes); HealthyDeployments of Deployments are in rotation.
	Health             health
	HealthyDeployments int
	Deployments        int
}

// MarshalJSON writes the row as LiteLLM does: max_input_tokens, rpm, tpm
// and the prices are always present, null when unknown, so clients that
// index them find the keys.
func (g groupInfo) MarshalJSON() ([]byte, error) {
	orNull := func(v int) *int {
		if v == 0 {
			return nil
		}
		return &v
	}
	orNullF := func(v float64) *float64 {
		if v == 0 {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		ModelGroup         string   `json:"model_group"`
		Providers          []string `json:"providers"`
		Mode               string   `json:"mode"`
		Modes              []string `json:"modes"`
		MaxInputTokens     *int     `json:"max_input_tokens"`
		RPM                *int     `json:"rpm"`
		TPM                *int     `json:"tpm"`
		InputCostPerToken  *float64 `json:"input_cost_per_token"`
		OutputCostPerToken *float64 `json:"output_cost_per_token"`
		Health             health   `json:"health"`
		HealthyDeployments int      `json:"healthy_deployments"`
		Deployments        int      `json:"deployments"`
	}{
		g.ModelGroup, g.Providers, g.Mode, g.Modes,
		orNull(g.MaxInputTokens), orNull(g.RPM), orNull(g.TPM),
		orNullF(g.InputCostPerToken), orNullF(g.OutputCostPerToken),
		g.Health, g.HealthyDeployments, g.Deployments,
	})
}

// health is how much of a group is in rotation.
type health int

const (
	healthHealthy   health = iota // every deployment is in rotation
	healthDegraded                // some are out (cooling down or failing probes)
	healthUnhealthy               // none is in rotation
)

var healthNames = [...]string{"healthy", "degraded", "unhealthy"}

func (h health) String() string {
	if h >= 0 && int(h) < len(healthNames) {
		return healthNames[h]
	}
	return "health(" + strconv.Itoa(int(h)) + ")"
}

// MarshalText writes the String form.
func (h health) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// catalogModels shapes a catalog as /v1/models entries. Never nil.
func catalogModels(cat []router.Listing) []model {
	out := make([]model, 0, len(cat))
	for _, l := range cat {
		m := model{ID: l.Name, Object: "model", Created: groupCreated, OwnedBy: "openai"}
		if l.Alias != nil {
			m.Created = l.Alias.Created.Unix()
		}
		if len(l.Deployments) > 0 && l.Deployments[0].ProviderPrefix != "" {
			m.OwnedBy = l.Deployments[0].ProviderPrefix
		}
		out = append(out, m)
	}
	return out
}

// catalogModelInfo shapes a catalog as /model/info rows: one per
// deployment per name. Never nil.
func catalogModelInfo(cat []router.Listing) []modelInfo {
	n := 0
	for _, l := range cat {
		n += len(l.Deployments)
	}
	out := make([]modelInfo, 0, n)
	for _, l := range cat {
		for _, d := range l.Deployments {
			out = append(out, modelInfo{ModelName: l.Name, Params: params(d), Info: info(d)})
		}
	}
	return out
}

// catalogGroupInfo shapes a catalog as /model_group/info rows, aliases
// under their own names. Never nil.
func catalogGroupInfo(cat []router.Listing) []groupInfo {
	out := make([]groupInfo, 0, len(cat))
	for _, l := range cat {
		gi := groupInfo{ModelGroup: l.Name, Providers: []string{}, Modes: []string{}, Deployments: len(l.Deployments)}
		for i, d := range l.Deployments {
			if i == 0 {
				gi.Mode = d.Mode
			}
			if d.ProviderPrefix != "" && !slices.Contains(gi.Providers, d.ProviderPrefix) {
				gi.Providers = append(gi.Providers, d.ProviderPrefix)
			}
			if !slices.Contains(gi.Modes, d.Mode) {
				gi.Modes = append(gi.Modes, d.Mode)
			}
			gi.MaxInputTokens = max(gi.MaxInputTokens, d.ContextWindow)
			gi.RPM += d.RPM
			gi.TPM += d.TPM
			gi.InputCostPerToken = max(gi.InputCostPerToken, d.InputCostPerToken)
			gi.OutputCostPerToken = max(gi.OutputCostPerToken, d.OutputCostPerToken)
			if d.Out == 0 {
				gi.HealthyDeployments++
			}
		}
		slices.Sort(gi.Providers)
		slices.Sort(gi.Modes)
		switch gi.HealthyDeployments {
		case gi.Deployments:
			gi.Health = healthHealthy
		case 0:
			gi.Health = healthUnhealthy
		default:
			gi.Health = healthDegraded
		}
		out = append(out, gi)
	}
	return out
}

// paramKeys are the litellm_params keys deploymentParams has fields for.
var paramKeys = []string{
	"model", "custom_llm_provider", "api_base", "rpm", "tpm", "weight", "order",
	"max_parallel_requests", "timeout", "stream_timeout", "tags",
}

// infoKeys are the model_info keys deploymentInfo has fields for.
var infoKeys = []string{
	"id", "mode", "litellm_provider", "max_input_tokens", "input_cost_per_token",
	"output_cost_per_token", "access_groups",
}

func params(d router.ListedDeployment) deploymentParams {
	return deploymentParams{
		Model:               d.DisplayModel,
		CustomLLMProvider:   d.ProviderName,
		APIBase:             d.APIBase,
		RPM:                 d.RPM,
		TPM:                 d.TPM,
		Weight:              d.Weight,
		Order:               d.Order,
		MaxParallelRequests: d.MaxParallel,
		Timeout:             d.Timeout.Seconds(),
		StreamTimeout:       d.StreamTimeout.Seconds(),
		Tags:                d.Tags,
		Extra:               without(d.Params, paramKeys),
	}
}

func info(d router.ListedDeployment) deploymentInfo {
	return deploymentInfo{
		ID:                 d.ID,
		Mode:               d.Mode,
		Provider:           d.ProviderPrefix,
		MaxInputTokens:     d.ContextWindow,
		InputCostPerToken:  d.InputCostPerToken,
		OutputCostPerToken: d.OutputCostPerToken,
		AccessGroups:       stringList(d.Info["access_groups"]),
		Extra:              without(d.Info, infoKeys),
	}
}

// without returns m without the keys in skip; nil if nothing is left.
func without(m map[string]any, skip []string) map[string]any {
	var out map[string]any
	for k, v := range m {
		if slices.Contains(skip, k) {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
		}
		out[k] = v
	}
	return out
}

// stringList returns v as a list of strings if it is one.
func stringList(v any) []string {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

// marshalMerged writes plain's JSON object, its fields in declaration
// order, followed by the keys of extra it lacks, sorted.
func marshalMerged(plain any, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(plain)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var have map[string]json.RawMessage
	if err := json.Unmarshal(b, &have); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if _, ok := have[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return b, nil
	}
	slices.Sort(keys)
	out := b[:len(b)-1] // drop the closing brace
	for _, k := range keys {
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(extra[k])
		if err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(append(append(out, kb...), ':'), vb...)
	}
	return append(out, '}'), nil
}
