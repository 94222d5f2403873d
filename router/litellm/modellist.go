package litellm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/modelroute/modelroute/router/internal/secret"
	yaml "go.yaml.in/yaml/v3"
)

// entry is a deployment being loaded, with what later checks need.
type entry struct {
	d      Deployment
	s      scope
	n      *yaml.Node // the entry, for its line
	idNode *yaml.Node // model_info.id when given
	hash   string     // hash of model_name and litellm_params as written
}

// modelList reads model_list (of the main file or of an include).
func (l *loader) modelList(s scope, n *yaml.Node) {
	v := deref(n)
	if isNull(v) {
		return
	}
	if v == nil || v.Kind != yaml.SequenceNode {
		l.fail(s.at(n, "model_list"), ErrInvalid, "must be a list of deployments, got %s", kindName(v))
		return
	}
	for i, e := range v.Content {
		l.deployment(scope{file: s.file, entry: fmt.Sprintf("model_list[%d]", i)}, e)
	}
}

// typedParams are the litellm_params read into Deployment fields.
var typedParams = []string{
	"model", "custom_llm_provider", "api_base", "api_key", "api_version", "organization",
	"weight", "rpm", "tpm", "order", "timeout", "stream_timeout", "max_parallel_requests",
	"tags", "input_cost_per_token", "output_cost_per_token", "base_model",
	"aws_region_name", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
	"vertex_project", "vertex_location", "vertex_credentials",
}

// servedModes are the model_info.mode values modelroute routes requests for.
var servedModes = []string{"", "chat", "embedding"}

func (l *loader) deployment(s scope, n *yaml.Node) {
	m := deref(n)
	if m == nil || m.Kind != yaml.MappingNode {
		l.fail(s.at(n, ""), ErrInvalid, "must be a map with model_name and litellm_params, got %s", kindName(m))
		return
	}
	var nameN, paramsN, infoN *yaml.Node
	var extraKeys []pair
	for _, p := range l.conv.pairs(m) {
		switch p.key {
		case "model_name":
			nameN = p.v
		case "litellm_params":
			paramsN = p.v
		case "model_info":
			infoN = p.v
		default:
			extraKeys = append(extraKeys, p)
		}
	}
	if nameN == nil {
		l.fail(s.at(n, ""), ErrInvalid, "model_name is missing")
		return
	}
	name, ok := l.str(s, "model_name", nameN, false)
	if !ok {
		return
	}
	if strings.TrimSpace(name) == "" {
		l.fail(s.at(nameN, "model_name"), ErrInvalid, "must not be empty")
		return
	}
	s.entry += " " + strconv.Quote(name)
	errsBefore := len(l.errs)
	defer func() {
		if len(l.errs) > errsBefore {
			l.failed[name] = true
		}
	}()
	for _, p := range extraKeys {
		hint := ""
		if slices.Contains(typedParams, p.key) {
			hint = " (LiteLLM reads it from litellm_params)"
		}
		l.warn(s.at(p.k, p.key), "not read at this level%s; ignored", hint)
	}
	if paramsN == nil {
		l.fail(s.at(n, "litellm_params"), ErrInvalid, "litellm_params is missing")
		return
	}
	params, ok := l.mapping(s, "litellm_params", paramsN)
	if !ok {
		return
	}
	if params == nil {
		l.fail(s.at(paramsN, "litellm_params"), ErrInvalid, "litellm_params is empty; it needs at least model")
		return
	}
	pv := map[string]pair{}
	for _, p := range l.conv.pairs(params) {
		pv[p.key] = p
	}
	e := &entry{s: s, n: n, d: Deployment{ModelName: name, Source: fmt.Sprintf("%s:%d", s.file, m.Line)}}
	d := &e.d

	// The provider decides whether the rest is worth reading.
	modelP, ok := pv["model"]
	if !ok {
		l.fail(s.at(paramsN, "litellm_params.model"), ErrInvalid, "litellm_params.model is missing")
		return
	}
	if d.Model, ok = l.str(s, "litellm_params.model", modelP.v, false); !ok {
		return
	}
	if strings.TrimSpace(d.Model) == "" {
		l.fail(s.at(modelP.k, "litellm_params.model"), ErrInvalid, "must not be empty")
		return
	}
	var custom string
	if p, ok := pv["custom_llm_provider"]; ok {
		if custom, ok = l.str(s, "litellm_params.custom_llm_provider", p.v, false); !ok {
			return
		}
	}
	info, ok := l.provider(s, modelP.k, d, custom)
	if !ok {
		return
	}

	// Display copy, secrets left out, os.environ/ references as written.
	display := map[string]any{}
	for _, p := range l.conv.pairs(params) {
		if secret.IsKey(p.key) {
			continue
		}
		if display[p.key], ok = l.anyValue(s, "litellm_params."+p.key, p.v); !ok {
			return
		}
	}
	d.Params = display

	var unused []string
	for _, p := range l.conv.pairs(params) {
		key := "litellm_params." + p.key
		switch p.key {
		case "model", "custom_llm_provider":
		case "api_base":
			d.APIBase, _ = l.str(s, key, p.v, true)
		case "api_key":
			d.APIKey, _ = l.str(s, key, p.v, true)
		case "api_version":
			d.APIVersion, _ = l.str(s, key, p.v, true)
		case "organization":
			d.Organization, _ = l.str(s, key, p.v, true)
		case "base_model":
			d.BaseModel, _ = l.str(s, key, p.v, false)
		case "weight":
			d.Weight, _ = l.num(s, key, p.v)
		case "rpm":
			d.RPM, _ = l.integer(s, key, p.v)
		case "tpm":
			d.TPM, _ = l.integer(s, key, p.v)
		case "order":
			o, _ := l.integer(s, key, p.v)
			d.Order = int(o)
		case "max_parallel_requests":
			mp, _ := l.integer(s, key, p.v)
			d.MaxParallel = int(mp)
		case "timeout":
			d.Timeout, _ = l.seconds(s, key, p.v)
		case "stream_timeout":
			d.StreamTimeout, _ = l.seconds(s, key, p.v)
		case "tags":
			d.Tags, _ = l.strList(s, key, p.v)
		case "input_cost_per_token":
			d.InputCostPerToken, _ = l.num(s, key, p.v)
		case "output_cost_per_token":
			d.OutputCostPerToken, _ = l.num(s, key, p.v)
		case "aws_region_name", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
			"vertex_project", "vertex_location", "vertex_credentials":
			l.nativeParam(s, key, p, d)
		default:
			unused = append(unused, p.key)
			if d.Extra == nil {
				d.Extra = map[string]any{}
			}
			if v := deref(p.v); v != nil && v.Kind == yaml.ScalarNode && !isNull(v) && v.Tag == "!!str" && strings.HasPrefix(strings.TrimSpace(v.Value), envPrefix) {
				d.Extra[p.key], _ = l.resolve(s, key, p.v, v.Value)
			} else {
				d.Extra[p.key], _ = l.anyValue(s, key, p.v)
			}
		}
	}
	if len(unused) > 0 {
		l.warn(s.at(paramsN, "litellm_params"), "not used by modelroute, kept in Deployment.Extra: %s", strings.Join(unused, ", "))
	}
	l.providerDefaults(s, paramsN, d, info, pv)
	if info.native {
		l.nativeDefaults(d)
	}

	if infoN != nil {
		l.modelInfo(s, infoN, e)
	}

	var b bytes.Buffer
	canonical(&b, map[string]any{"model_name": name, "litellm_params": rawParams(l, params)})
	sum := sha256.Sum256(b.Bytes())
	e.hash = hex.EncodeToString(sum[:8])
	l.deps = append(l.deps, e)
	l.groups[name] = true
}

// rawParams is litellm_params as written, secrets included, for the hash
// only; os.environ/ references stay references, so rotating a key kept in
// the environment does not change the ID.
func rawParams(l *loader, params *yaml.Node) any {
	v, err := l.conv.value(params, 0)
	if err != nil {
		return nil
	}
	return v
}

// provider works out d.Provider and d.UpstreamModel from d.Model and
// custom_llm_provider, and refuses (or skips) what modelroute cannot call.
func (l *loader) provider(s scope, at *yaml.Node, d *Deployment, custom string) (providerInfo, bool) {
	loc := s.at(at, "litellm_params.model")
	prefix, rest, slashed := strings.Cut(d.Model, "/")
	inferred := false
	switch {
	case custom != "":
		d.Provider, d.UpstreamModel = custom, d.Model
		if slashed && prefix == custom {
			d.UpstreamModel = rest
		}
	case slashed:
		d.Provider, d.UpstreamModel = prefix, rest
	default:
		p, ok := inferProvider(d.Model)
		if !ok {
			l.fail(loc, ErrUnknownProvider, "cannot infer the provider of the bare model %q; write it as provider/model (for example openai/%s)", d.Model, d.Model)
			return providerInfo{}, false
		}
		d.Provider, d.UpstreamModel, inferred = p, d.Model, true
	}
	info, known := l.lookupProvider(d.Provider)
	if info.native {
		d.UpstreamModel = nativeUpstream(d.Provider, d.UpstreamModel)
	}
	if !known {
		if custom != "" {
			loc.Key = "litellm_params.custom_llm_provider"
		}
		l.fail(loc, ErrUnknownProvider, "unknown provider %q in model %q: not a LiteLLM provider prefix (served: %s)", d.Provider, d.Model, strings.Join(l.o.table.Prefixes(), ", "))
		return providerInfo{}, false
	}
	how := ""
	if inferred {
		how = " (inferred from the bare name, as LiteLLM does)"
	}
	var reason string
	switch {
	case !info.served():
		reason = fmt.Sprintf("provider %q%s of model %q is not supported: it needs %s, and modelroute calls only OpenAI-compatible endpoints and the native APIs of %s", d.Provider, how, d.Model, info.why, nativeNames())
	case strings.TrimSpace(d.UpstreamModel) == "":
		reason = fmt.Sprintf("model %q names no model or deployment after the provider prefix (LiteLLM's legacy Azure DALL-E 2 form), which modelroute cannot route", d.Model)
	default:
		return info, true
	}
	if l.o.skipUnsupported {
		l.warn(loc, "deployment skipped: %s", reason)
		l.skipped[d.ModelName] = true
		return providerInfo{}, false
	}
	l.fail(loc, ErrUnsupported, "%s (load with WithSkipUnsupported to skip it)", reason)
	return providerInfo{}, false
}

// providerDefaults fills api_key and api_base from the provider's variables
// when litellm_params leaves them out, as LiteLLM does at call time, and
// checks api_base.
func (l *loader) providerDefaults(s scope, paramsN *yaml.Node, d *Deployment, info providerInfo, pv map[string]pair) {
	spec := info.spec
	if _, given := pv["api_key"]; !given && spec.KeyEnv != "" {
		if v, ok := l.lookupEnv(spec.KeyEnv); ok {
			d.APIKey = v
		} else if !spec.KeyOptional {
			l.warn(s.at(paramsN, "litellm_params.api_key"), "not given and %s is not set; requests go without a key", spec.KeyEnv)
		}
	}
	baseP, given := pv["api_base"]
	if !given && spec.BaseURLEnv != "" {
		if v, ok := l.lookupEnv(spec.BaseURLEnv); ok {
			d.APIBase = v
		}
	}
	switch {
	case d.APIBase != "":
		if u, err := url.Parse(d.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			loc := s.at(paramsN, "litellm_params.api_base")
			if given {
				loc = s.at(baseP.k, "litellm_params.api_base")
			}
			l.fail(loc, ErrInvalid, "must be an http:// or https:// URL with a host")
		}
	case spec.BaseURL == "" && !info.native:
		msg := "needs api_base"
		if spec.BaseURLEnv != "" {
			msg += " (or " + spec.BaseURLEnv + " set)"
		}
		l.fail(s.at(paramsN, "litellm_params.api_base"), ErrInvalid, "provider %q %s", d.Provider, msg)
	}
}

// modelInfo reads model_info into e.d.
func (l *loader) modelInfo(s scope, n *yaml.Node, e *entry) {
	m, ok := l.mapping(s, "model_info", n)
	if !ok || m == nil {
		return
	}
	d := &e.d
	info, ok := l.anyValue(s, "model_info", m)
	if !ok {
		return
	}
	d.Info, _ = info.(map[string]any)
	var maxTokens int64
	for _, p := range l.conv.pairs(m) {
		key := "model_info." + p.key
		switch p.key {
		case "id":
			id, ok := l.str(s, key, p.v, false)
			if ok && id != "" {
				d.ID, e.idNode = id, p.k
			}
		case "mode":
			d.Mode, _ = l.str(s, key, p.v, false)
			if d.Mode != "" && !slices.Contains(servedModes, d.Mode) {
				l.warn(s.at(p.k, key), "mode %q: modelroute routes chat and embedding requests only; loaded, but it serves neither", d.Mode)
			}
		case "base_model":
			d.BaseModel, _ = l.str(s, key, p.v, false)
		case "access_groups":
			d.AccessGroups, _ = l.strList(s, key, p.v)
		case "max_input_tokens":
			v, _ := l.integer(s, key, p.v)
			d.ContextWindow = int(v)
		case "max_tokens":
			maxTokens, _ = l.integer(s, key, p.v)
		case "max_output_tokens":
			v, _ := l.integer(s, key, p.v)
			d.MaxOutputTokens = int(v)
		case "input_cost_per_token":
			if v, ok := l.num(s, key, p.v); ok && d.InputCostPerToken == 0 {
				d.InputCostPerToken = v
			}
		case "output_cost_per_token":
			if v, ok := l.num(s, key, p.v); ok && d.OutputCostPerToken == 0 {
				d.OutputCostPerToken = v
			}
		}
	}
	if d.ContextWindow == 0 {
		d.ContextWindow = int(maxTokens)
	}
}
