package litellm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
	"github.com/modelroute/modelroute/router"
)

// ProviderFunc builds the Provider that calls one deployment.
type ProviderFunc func(d Deployment) (provider.Provider, error)

// OpenAIProviders returns a ProviderFunc that builds each deployment's
// provider with provider.NewOpenAI from d.OpenAIConfig(table). table nil
// means provider.DefaultTable(); client, when not nil, is shared by every
// provider (one connection pool), otherwise each builds its own.
func OpenAIProviders(table *provider.Table, client *http.Client) ProviderFunc {
	if table == nil {
		table = provider.DefaultTable()
	}
	return func(d Deployment) (provider.Provider, error) {
		cfg, err := d.OpenAIConfig(table)
		if err != nil {
			return nil, err
		}
		cfg.HTTPClient = client
		return provider.NewOpenAI(cfg)
	}
}

// Providers returns the ProviderFunc RouterConfig uses when given none (with
// nil, nil, nil): each deployment of a prefix in native is built by its
// function; anthropic deployments, unless native has its own function for
// them, get the native Messages API (anthropic.New with d.AnthropicConfig);
// every other deployment gets OpenAIProviders(table, client). client, when
// not nil, is shared by the anthropic providers too.
//
// bedrock and vertex_ai deployments need a function in native: their
// providers (packages provider/bedrock and provider/google) bring SDKs that
// this package leaves out of the import graph of its users. Without one,
// building such a deployment fails, naming the prefix.
func Providers(table *provider.Table, client *http.Client, native map[string]ProviderFunc) ProviderFunc {
	openAI := OpenAIProviders(table, client)
	return func(d Deployment) (provider.Provider, error) {
		if f, ok := native[d.Provider]; ok && f != nil {
			return f(d)
		}
		switch d.Provider {
		case PrefixAnthropic:
			cfg, err := d.AnthropicConfig()
			if err != nil {
				return nil, err
			}
			cfg.HTTPClient = client
			return anthropic.New(cfg)
		case PrefixBedrock, PrefixVertexAI:
			return nil, fmt.Errorf("%w: provider %q needs its native provider: give litellm.Providers a ProviderFunc for %q", provider.ErrInvalidConfig, d.Provider, d.Provider)
		}
		return openAI(d)
	}
}

// AnthropicConfig returns the configuration of d's native Messages API
// provider: d's api_base (LiteLLM's, a server root or its /v1/messages
// URL; default Anthropic's), api_key and the string values of
// litellm_params.extra_headers.
func (d Deployment) AnthropicConfig() (anthropic.Config, error) {
	h, err := d.extraHeaders()
	if err != nil {
		return anthropic.Config{}, err
	}
	return anthropic.Config{Name: d.Provider, BaseURL: d.APIBase, APIKey: d.APIKey, Headers: h}, nil
}

// extraHeaders returns the string values of litellm_params.extra_headers,
// nil when there are none.
func (d Deployment) extraHeaders() (map[string]string, error) {
	h, ok := d.Extra["extra_headers"].(map[string]any)
	if !ok {
		return nil, nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: extra_headers[%q] is not a string", provider.ErrInvalidConfig, k)
		}
		out[k] = s
	}
	return out, nil
}

// OpenAIConfig returns the configuration of d's OpenAI-compatible endpoint:
// its provider's spec in table (nil: provider.DefaultTable()) with d's
// api_base, api_key, organization and, for Azure, api_version. String
// values of litellm_params.extra_headers become request headers.
//
// LiteLLM calls ollama and anthropic through their own APIs, so their
// api_base is a server root; it is mapped to the OpenAI-compatible path:
// "http://host:11434" → "http://host:11434/v1", "https://api.anthropic.com"
// (or …/v1/messages) → "https://api.anthropic.com/v1/".
func (d Deployment) OpenAIConfig(table *provider.Table) (provider.OpenAIConfig, error) {
	if table == nil {
		table = provider.DefaultTable()
	}
	spec, ok := table.Lookup(d.Provider)
	if !ok {
		return provider.OpenAIConfig{}, fmt.Errorf("%w %q", provider.ErrUnknownPrefix, d.Provider)
	}
	// Everything was resolved at load: the environment is not read again.
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := spec.Config(openAIBase(d.Provider, d.APIBase), d.APIKey, noEnv)
	if err != nil {
		return provider.OpenAIConfig{}, err
	}
	cfg.Organization = d.Organization
	if cfg.Azure != nil && d.APIVersion != "" {
		cfg.Azure.APIVersion = d.APIVersion
	}
	if cfg.Headers, err = d.extraHeaders(); err != nil {
		return provider.OpenAIConfig{}, err
	}
	return cfg, nil
}

// openAIBase maps LiteLLM's api_base of a provider it calls natively to the
// provider's OpenAI-compatible base.
func openAIBase(prov, base string) string {
	if base == "" {
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	path := strings.TrimSuffix(u.Path, "/")
	switch prov {
	case "ollama":
		if path == "" {
			return strings.TrimSuffix(base, "/") + "/v1"
		}
	case "anthropic":
		switch {
		case path == "":
			return strings.TrimSuffix(base, "/") + "/v1/"
		case strings.HasSuffix(path, "/v1/messages"):
			u.Path = strings.TrimSuffix(path, "messages")
			return u.String()
		}
	}
	return base
}

// RouterConfig converts c into the router's Config, building every
// deployment's Provider with newProvider (nil: Providers(nil, nil, nil)).
// It fails, naming each deployment whose provider could not be built, and
// then closes the providers it did build.
//
// Aliases are not part of router.Config: create c.Aliases in the
// alias.Registry given to router.New. Settings the router has no field for
// are not carried over: router_settings.retry_after, stream_timeout,
// max_fallbacks, disable_cooldowns, enable_tag_filtering (the router always
// filters by the tags a request carries) and enable_pre_call_checks (it
// always skips deployments whose known context window is too small);
// general_settings belong to the server.
func (c *Config) RouterConfig(newProvider ProviderFunc) (router.Config, error) {
	if newProvider == nil {
		newProvider = Providers(nil, nil, nil)
	}
	rt := c.Router
	out := router.Config{
		Strategy:               rt.Strategy.String(),
		AllowedFails:           rt.AllowedFails,
		CooldownTime:           rt.CooldownTime,
		Timeout:                rt.Timeout,
		Fallbacks:              cloneLists(rt.Fallbacks),
		ContextWindowFallbacks: cloneLists(rt.ContextWindowFallbacks),
		ContentPolicyFallbacks: cloneLists(rt.ContentPolicyFallbacks),
	}
	if rt.NumRetries != nil {
		// LiteLLM's num_retries: 0 means none; the router's zero means its default.
		out.NumRetries = *rt.NumRetries
		if out.NumRetries == 0 {
			out.NumRetries = -1
		}
	}
	var errs []error
	for _, d := range c.Deployments {
		p, err := newProvider(d)
		if err == nil && p == nil {
			err = errors.New("no provider built")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("litellm: %s: %q (id %s): %w", d.Source, d.ModelName, d.ID, err))
			continue
		}
		out.Deployments = append(out.Deployments, router.Deployment{
			ID:                 d.ID,
			Group:              d.ModelName,
			Model:              d.UpstreamModel,
			ProviderName:       d.Provider,
			Provider:           p,
			APIBase:            d.APIBase,
			Weight:             d.Weight,
			RPM:                int(d.RPM),
			TPM:                int(d.TPM),
			MaxParallel:        d.MaxParallel,
			Order:              d.Order,
			Tags:               append([]string(nil), d.Tags...),
			Timeout:            d.Timeout,
			StreamTimeout:      d.StreamTimeout,
			InputCostPerToken:  d.InputCostPerToken,
			OutputCostPerToken: d.OutputCostPerToken,
			ContextWindow:      d.ContextWindow,
			Mode:               d.Mode,
			Info:               d.Info,
			Params:             d.Params,
		})
	}
	if len(errs) > 0 {
		for _, d := range out.Deployments {
			if cl, ok := d.Provider.(io.Closer); ok {
				cl.Close()
			}
		}
		return router.Config{}, errors.Join(errs...)
	}
	return out, nil
}

func cloneLists(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = append([]string(nil), v...)
	}
	return out
}
