package router

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelroute/modelroute/alias"
)

// The model catalog: what a gateway answers on /v1/models, /model/info and
// /model_group/info. Every read loads the Router's current table and the
// Registry's current aliases, so a config Update or an alias change shows in
// the next read; nothing is cached.
//
// Visible names are every model group and every alias that is active, not
// hidden and resolves (an alias whose chain passes through a disabled alias
// does not). Hidden aliases still route but are never listed; disabled ones
// neither route nor list. A wildcard group ("openai/*") is listed under its
// pattern, as LiteLLM's proxy lists it: the names it serves are open-ended.
// An alias whose target a wildcard group serves ("gpt" → "openai/gpt-4o")
// shows that group's deployments with the "*" of their model filled in.
//
// Order is stable: groups (wildcard patterns included) sorted by name, then
// aliases sorted by name; within a name, deployments in config order.
//
// allow, when not nil, filters the visible names (a gateway passes a closure
// over its access checker); a name it refuses appears nowhere. It is called
// once per visible name per read, outside any lock.

// groupCreated is the "created" time of a group in Models. Groups have no
// creation time of their own; this is the fixed value LiteLLM's proxy
// answers, so clients that cache on it see a stable value.
const groupCreated = 1677610602

// Model is one entry of OpenAI's model list (GET /v1/models).
type Model struct {
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

// ModelInfo is one row of LiteLLM's /model/info: one deployment under one
// visible name. An alias has one row per deployment of the group it
// resolves to, with the same Info.ID as the group's rows.
type ModelInfo struct {
	ModelName string           `json:"model_name"`
	Params    DeploymentParams `json:"litellm_params"`
	Info      DeploymentInfo   `json:"model_info"`
}

// DeploymentParams is a deployment's litellm_params for display. It never
// holds a secret: API keys, tokens, passwords, credentials and headers are
// dropped (not masked), at any depth of Extra, and user information and
// secret query parameters are removed from URLs.
type DeploymentParams struct {
	// Model is the deployment's model as configured ("azure/gpt-1"), with
	// a wildcard's "*" filled in when listed under an alias of a
	// wildcard-served name.
	Model string `json:"model"`
	// CustomLLMProvider is Deployment.ProviderName when set.
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
	// Extra holds the other keys of Deployment.Params, secrets dropped.
	// In JSON they sit beside the fields above, which win on a clash.
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the fields and Extra as one object.
func (p DeploymentParams) MarshalJSON() ([]byte, error) {
	type plain DeploymentParams
	return marshalMerged(plain(p), p.Extra)
}

// DeploymentInfo is a deployment's model_info for display.
type DeploymentInfo struct {
	// ID is the deployment ID: the same under a group and its aliases.
	ID   string `json:"id"`
	Mode string `json:"mode"`
	// Provider is the provider prefix ("azure", "openai", …).
	Provider           string  `json:"litellm_provider,omitempty"`
	MaxInputTokens     int     `json:"max_input_tokens,omitempty"`
	InputCostPerToken  float64 `json:"input_cost_per_token,omitempty"`
	OutputCostPerToken float64 `json:"output_cost_per_token,omitempty"`
	// AccessGroups is Deployment.Info["access_groups"], when it is a list
	// of strings.
	AccessGroups []string `json:"access_groups,omitempty"`
	// Extra holds the other keys of Deployment.Info, secrets dropped like
	// in DeploymentParams. In JSON they sit beside the fields above, which
	// win on a clash.
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the fields and Extra as one object.
func (i DeploymentInfo) MarshalJSON() ([]byte, error) {
	type plain DeploymentInfo
	return marshalMerged(plain(i), i.Extra)
}

// GroupInfo is one row of LiteLLM's /model_group/info: a visible name (a
// group, or an alias under its own name) summarised over the deployments
// it reaches.
type GroupInfo struct {
	ModelGroup string `json:"model_group"`
	// Providers are the distinct provider prefixes, sorted.
	Providers []string `json:"providers"`
	// Mode is the first deployment's mode (config order); Modes lists the
	// distinct modes, sorted.
	Mode  string   `json:"mode"`
	Modes []string `json:"modes"`
	// MaxInputTokens is the largest context window among the deployments:
	// a prompt that fits it fits at least one. 0: unknown.
	MaxInputTokens int `json:"max_input_tokens"`
	// RPM and TPM total the limits of the deployments that have one (as
	// LiteLLM does); 0: none has.
	RPM int `json:"rpm"`
	TPM int `json:"tpm"`
	// InputCostPerToken and OutputCostPerToken are the highest prices
	// among the deployments: what a request may cost at worst.
	InputCostPerToken  float64 `json:"input_cost_per_token"`
	OutputCostPerToken float64 `json:"output_cost_per_token"`
	// Health is the group's health now, from both signals (cooldowns and
	// active probes); HealthyDeployments of Deployments are in rotation.
	Health             Health `json:"health"`
	HealthyDeployments int    `json:"healthy_deployments"`
	Deployments        int    `json:"deployments"`
}

// MarshalJSON writes the row as LiteLLM does: max_input_tokens, rpm, tpm
// and the prices are always present, null when unknown, so clients that
// index them find the keys.
func (g GroupInfo) MarshalJSON() ([]byte, error) {
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
		Health             Health   `json:"health"`
		HealthyDeployments int      `json:"healthy_deployments"`
		Deployments        int      `json:"deployments"`
	}{
		g.ModelGroup, g.Providers, g.Mode, g.Modes,
		orNull(g.MaxInputTokens), orNull(g.RPM), orNull(g.TPM),
		orNullF(g.InputCostPerToken), orNullF(g.OutputCostPerToken),
		g.Health, g.HealthyDeployments, g.Deployments,
	})
}

// Health is how much of a group is in rotation.
type Health int

const (
	HealthHealthy   Health = iota // every deployment is in rotation
	HealthDegraded                // some are out (cooling down or failing probes)
	HealthUnhealthy               // none is in rotation
)

var healthNames = [...]string{"healthy", "degraded", "unhealthy"}

func (h Health) String() string {
	if h >= 0 && int(h) < len(healthNames) {
		return healthNames[h]
	}
	return "Health(" + strconv.Itoa(int(h)) + ")"
}

// MarshalText writes the String form.
func (h Health) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Models lists the visible names allow permits, as OpenAI's /v1/models
// entries. allow nil permits every name. The result is never nil.
func (r *Router) Models(allow func(name string) bool) []Model {
	names := r.visible(r.tab.Load(), allow)
	out := make([]Model, 0, len(names))
	for _, v := range names {
		m := Model{ID: v.name, Object: "model", Created: groupCreated, OwnedBy: "openai"}
		if v.alias != nil {
			m.Created = v.alias.Created.Unix()
		}
		if len(v.g.deps) > 0 && v.g.deps[0].prov != "" {
			m.OwnedBy = v.g.deps[0].prov
		}
		out = append(out, m)
	}
	return out
}

// ModelInfo lists one row per deployment per visible name allow permits,
// without secrets. allow nil permits every name. The result is never nil.
func (r *Router) ModelInfo(allow func(name string) bool) []ModelInfo {
	names := r.visible(r.tab.Load(), allow)
	n := 0
	for _, v := range names {
		n += len(v.g.deps)
	}
	out := make([]ModelInfo, 0, n)
	for _, v := range names {
		for _, d := range v.g.deps {
			out = append(out, ModelInfo{ModelName: v.name, Params: d.params(v.match), Info: d.info()})
		}
	}
	return out
}

// GroupInfo lists one row per visible name allow permits, aliases under
// their own names. allow nil permits every name. The result is never nil.
func (r *Router) GroupInfo(allow func(name string) bool) []GroupInfo {
	tab := r.tab.Load()
	names := r.visible(tab, allow)
	now := time.Now().UnixNano()
	out := make([]GroupInfo, 0, len(names))
	for _, v := range names {
		gi := GroupInfo{ModelGroup: v.name, Providers: []string{}, Modes: []string{}, Deployments: len(v.g.deps)}
		for i, d := range v.g.deps {
			if i == 0 {
				gi.Mode = d.Mode
			}
			if d.prov != "" && !slices.Contains(gi.Providers, d.prov) {
				gi.Providers = append(gi.Providers, d.prov)
			}
			if !slices.Contains(gi.Modes, d.Mode) {
				gi.Modes = append(gi.Modes, d.Mode)
			}
			gi.MaxInputTokens = max(gi.MaxInputTokens, d.ContextWindow)
			gi.RPM += d.RPM
			gi.TPM += d.TPM
			gi.InputCostPerToken = max(gi.InputCostPerToken, d.InputCostPerToken)
			gi.OutputCostPerToken = max(gi.OutputCostPerToken, d.OutputCostPerToken)
			if d.out(now, tab.set.slowStart) == 0 {
				gi.HealthyDeployments++
			}
		}
		slices.Sort(gi.Providers)
		slices.Sort(gi.Modes)
		switch gi.HealthyDeployments {
		case gi.Deployments:
			gi.Health = HealthHealthy
		case 0:
			gi.Health = HealthUnhealthy
		default:
			gi.Health = HealthDegraded
		}
		out = append(out, gi)
	}
	return out
}

// visibleName is one name the catalog lists and the group it stands for.
type visibleName struct {
	name  string
	g     *group
	match string       // what a wildcard group's "*" matched, for aliases
	alias *alias.Alias // nil for a group
}

// visible lists the names of tab and the Registry that allow permits, in
// catalog order.
func (r *Router) visible(tab *table, allow func(string) bool) []visibleName {
	out := make([]visibleName, 0, len(tab.groups)+len(tab.wild))
	for name, g := range tab.groups {
		out = append(out, visibleName{name: name, g: g})
	}
	for _, g := range tab.wild {
		out = append(out, visibleName{name: g.name, g: g})
	}
	slices.SortFunc(out, func(a, b visibleName) int { return strings.Compare(a.name, b.name) })
	if allow != nil {
		out = slices.DeleteFunc(out, func(v visibleName) bool { return !allow(v.name) })
	}
	if r.reg == nil {
		return out
	}
	// List leaves out hidden aliases and those that cannot resolve because
	// of a disabled alias on their chain, and sorts by name.
	for _, a := range r.reg.List(alias.ListOptions{}) {
		if allow != nil && !allow(a.Name) {
			continue
		}
		res, err := r.reg.Resolve(a.Name)
		if err != nil {
			continue // changed since List: the next read shows it
		}
		g, match := tab.lookup(res.Target)
		if g == nil {
			continue
		}
		out = append(out, visibleName{name: a.Name, g: g, match: match, alias: &a})
	}
	return out
}

// out says which signals keep d out of rotation at now (0: none), the way
// Snapshot reports them.
func (d *dep) out(now int64, slowStart time.Duration) Signal {
	var s Signal
	switch d.st.phase(now, slowStart) {
	case phaseCooling, phaseProbing:
		s |= SignalPassive
	}
	if d.st.probeDown.Load() {
		s |= SignalActive
	}
	return s
}

// displayModel is d's configured model as a request matching match would
// use it.
// displayModel is litellm_params.model as LiteLLM shows it: "provider/model".
func (d *dep) displayModel(match string) string {
	m := d.Model
	if match != "" && strings.Contains(m, "*") {
		m = strings.Replace(m, "*", match, 1)
	}
	if d.ProviderName != "" {
		m = d.ProviderName + "/" + m
	}
	return m
}

// paramKeys are the litellm_params keys DeploymentParams has fields for.
var paramKeys = []string{
	"model", "custom_llm_provider", "api_base", "rpm", "tpm", "weight", "order",
	"max_parallel_requests", "timeout", "stream_timeout", "tags",
}

// infoKeys are the model_info keys DeploymentInfo has fields for.
var infoKeys = []string{
	"id", "mode", "litellm_provider", "max_input_tokens", "input_cost_per_token",
	"output_cost_per_token", "access_groups",
}

func (d *dep) params(match string) DeploymentParams {
	return DeploymentParams{
		Model:               d.displayModel(match),
		CustomLLMProvider:   d.ProviderName,
		APIBase:             cleanURL(d.APIBase),
		RPM:                 d.RPM,
		TPM:                 d.TPM,
		Weight:              d.Weight,
		Order:               d.Order,
		MaxParallelRequests: d.MaxParallel,
		Timeout:             d.Timeout.Seconds(),
		StreamTimeout:       d.StreamTimeout.Seconds(),
		Tags:                slices.Clone(d.Tags),
		Extra:               extra(d.Params, paramKeys),
	}
}

func (d *dep) info() DeploymentInfo {
	return DeploymentInfo{
		ID:                 d.ID,
		Mode:               d.Mode,
		Provider:           d.prov,
		MaxInputTokens:     d.ContextWindow,
		InputCostPerToken:  d.InputCostPerToken,
		OutputCostPerToken: d.OutputCostPerToken,
		AccessGroups:       stringList(d.Info["access_groups"]),
		Extra:              extra(d.Info, infoKeys),
	}
}

// extra copies m without the keys in skip and without secrets; nil if
// nothing is left.
func extra(m map[string]any, skip []string) map[string]any {
	var out map[string]any
	for k, v := range m {
		if slices.Contains(skip, k) || isSecretKey(k) {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
		}
		out[k] = scrub(v)
	}
	return out
}

// scrub returns a deep copy of v with secret keys dropped from every map
// and URLs cleaned in every string.
func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if !isSecretKey(k) {
				out[k] = scrub(e)
			}
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			if !isSecretKey(k) {
				out[k] = cleanURL(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrub(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = cleanURL(e)
		}
		return out
	case string:
		return cleanURL(x)
	}
	return v
}

// isSecretKey reports whether a params or info key names a credential:
// api_key (any spelling), any *_key or *_key_id, anything naming a secret,
// password, credential or authorization, token and *_token (but not
// max_*_token(s) or *_per_token), and headers, which usually carry
// Authorization.
func isSecretKey(key string) bool {
	k := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	switch {
	case k == "key", k == "apikey", k == "api_key", strings.HasSuffix(k, "_key"), strings.HasSuffix(k, "_key_id"),
		strings.Contains(k, "secret"), strings.Contains(k, "password"), strings.Contains(k, "passwd"),
		strings.Contains(k, "credential"), strings.Contains(k, "authorization"),
		k == "token", k == "sig", k == "signature",
		strings.HasSuffix(k, "_token") && !strings.HasPrefix(k, "max_") && !strings.HasSuffix(k, "per_token"),
		strings.Contains(k, "header"):
		return true
	}
	return false
}

// cleanURL removes user information and secret query parameters from s if
// it is an absolute URL, and returns other strings unchanged.
func cleanURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Not a URL we can take apart: keep only what precedes any user
		// information, rather than risk showing it.
		if i := strings.Index(s, "://"); i >= 0 && strings.Contains(s[i:], "@") {
			return s[:i+3] + "[redacted]"
		}
		return s
	}
	if u.User == nil && u.RawQuery == "" {
		return s
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if isSecretKey(k) || strings.EqualFold(k, "code") { // "code": Azure Functions keys
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
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
