package provider

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// Errors of the prefix table and of secrets, matched with errors.Is.
var (
	ErrUnknownPrefix = errors.New("provider: unknown provider prefix")
	ErrInvalidModel  = errors.New("provider: invalid model")
	ErrInvalidSpec   = errors.New("provider: invalid prefix spec")
	ErrDuplicate     = errors.New("provider: prefix already in the table")
	ErrUnsetSecret   = errors.New("provider: environment variable not set")
)

// EnvPrefix marks a secret read from the environment: "os.environ/NAME", as
// in LiteLLM configs.
const EnvPrefix = "os.environ/"

// Spec describes one provider prefix: where its OpenAI-compatible API lives
// by default and where its key comes from. It is plain data.
type Spec struct {
	// Prefix is the part before the first "/" of a model name: "groq" in
	// "groq/llama-3.1-70b". Lower-case ASCII letters, digits, '_' and '-'.
	Prefix string
	// BaseURL is the default API base. Empty: every deployment must give its
	// own (hosted_vllm, azure).
	BaseURL string
	// BaseURLEnv, if not empty, names an environment variable consulted for
	// the base URL when a deployment gives none, before BaseURL.
	BaseURLEnv string
	// KeyEnv names the environment variable that holds the API key when a
	// deployment gives none. Empty: the provider needs no key.
	KeyEnv string
	// KeyOptional: calls work without a key even though KeyEnv is set
	// (local servers); a missing key is then not an error.
	KeyOptional bool
	// Azure: the endpoint speaks Azure OpenAI (deployments, api-version).
	Azure bool
}

func (s Spec) check() error {
	if !validPrefix(s.Prefix) {
		return fmt.Errorf("%w: prefix %q: want lower-case letters, digits, '_' or '-'", ErrInvalidSpec, s.Prefix)
	}
	if s.BaseURL != "" {
		if err := checkBaseURL(s.BaseURL); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidSpec, s.Prefix, err)
		}
	}
	for _, env := range []string{s.KeyEnv, s.BaseURLEnv} {
		if env != "" && !validEnvName(env) {
			return fmt.Errorf("%w: %s: invalid environment variable name %q", ErrInvalidSpec, s.Prefix, env)
		}
	}
	return nil
}

// Config returns the OpenAIConfig of a deployment of this provider. apiBase
// and apiKey are the deployment's own (either may be empty, and either may
// be an "os.environ/NAME" reference); without them, the spec's defaults
// apply: BaseURLEnv then BaseURL, and KeyEnv. lookupEnv reads the environment;
// nil means os.LookupEnv.
//
// It fails, naming what is missing, when there is no base URL, when a
// referenced variable is unset, or when a key is required and there is none.
// For an Azure spec the config's Azure field is set with the default API
// version; callers set the version and deployments they need.
func (s Spec) Config(apiBase, apiKey string, lookupEnv func(string) (string, bool)) (OpenAIConfig, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	cfg := OpenAIConfig{Name: s.Prefix}
	if s.Azure {
		cfg.Azure = &AzureConfig{}
	}

	base, err := ResolveSecret(apiBase, lookupEnv)
	if err != nil {
		return OpenAIConfig{}, err
	}
	if base == "" && s.BaseURLEnv != "" {
		base, _ = lookupEnv(s.BaseURLEnv)
	}
	if base == "" {
		base = s.BaseURL
	}
	if base == "" {
		msg := "needs an api_base"
		if s.BaseURLEnv != "" {
			msg += " (or " + s.BaseURLEnv + ")"
		}
		return OpenAIConfig{}, fmt.Errorf("%w: %s %s", ErrInvalidConfig, s.Prefix, msg)
	}
	if err := checkBaseURL(base); err != nil {
		return OpenAIConfig{}, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, s.Prefix, err)
	}
	cfg.BaseURL = base

	key, err := ResolveSecret(apiKey, lookupEnv)
	if err != nil {
		return OpenAIConfig{}, err
	}
	if apiKey == "" && s.KeyEnv != "" {
		v, ok := lookupEnv(s.KeyEnv)
		if !ok && !s.KeyOptional {
			return OpenAIConfig{}, fmt.Errorf("%w: %s needs an API key: set %s or give api_key", ErrUnsetSecret, s.Prefix, s.KeyEnv)
		}
		key = v
	}
	cfg.APIKey = key
	return cfg, nil
}

// Table maps provider prefixes to their Spec. DefaultTable returns one with
// the known providers; the zero Table is empty and usable. A Table is safe for
// concurrent use. There is no package-level table: each caller owns its own.
type Table struct {
	mu    sync.RWMutex
	specs map[string]Spec // guarded by mu
}

// DefaultTable returns a new Table holding the providers modelroute knows,
// each with its OpenAI-compatible endpoint:
//
//	prefix        default base URL                                          key variable
//	openai        https://api.openai.com/v1                                 OPENAI_API_KEY
//	azure         (api_base or AZURE_API_BASE; Azure OpenAI)                AZURE_API_KEY
//	groq          https://api.groq.com/openai/v1                            GROQ_API_KEY
//	together_ai   https://api.together.xyz/v1                               TOGETHERAI_API_KEY
//	mistral       https://api.mistral.ai/v1                                 MISTRAL_API_KEY
//	deepseek      https://api.deepseek.com/v1                               DEEPSEEK_API_KEY
//	fireworks_ai  https://api.fireworks.ai/inference/v1                     FIREWORKS_AI_API_KEY
//	openrouter    https://openrouter.ai/api/v1                              OPENROUTER_API_KEY
//	perplexity    https://api.perplexity.ai                                 PERPLEXITYAI_API_KEY
//	xai           https://api.x.ai/v1                                       XAI_API_KEY
//	cerebras      https://api.cerebras.ai/v1                                CEREBRAS_API_KEY
//	deepinfra     https://api.deepinfra.com/v1/openai                       DEEPINFRA_API_KEY
//	anthropic     https://api.anthropic.com/v1/                             ANTHROPIC_API_KEY
//	gemini        https://generativelanguage.googleapis.com/v1beta/openai/  GEMINI_API_KEY
//	ollama        http://localhost:11434/v1                                 (none)
//	hosted_vllm   (api_base or HOSTED_VLLM_API_BASE)                        HOSTED_VLLM_API_KEY, optional
//	lm_studio     http://localhost:1234/v1 (or LM_STUDIO_API_BASE)          LM_STUDIO_API_KEY, optional
func DefaultTable() *Table {
	t := &Table{specs: make(map[string]Spec, len(defaultSpecs))}
	for _, s := range defaultSpecs {
		t.specs[s.Prefix] = s
	}
	return t
}

// defaultSpecs is copied by DefaultTable. Read-only.
var defaultSpecs = [...]Spec{
	{Prefix: "openai", BaseURL: DefaultOpenAIBaseURL, KeyEnv: "OPENAI_API_KEY"},
	{Prefix: "azure", BaseURLEnv: "AZURE_API_BASE", KeyEnv: "AZURE_API_KEY", Azure: true},
	{Prefix: "groq", BaseURL: "https://api.groq.com/openai/v1", KeyEnv: "GROQ_API_KEY"},
	{Prefix: "together_ai", BaseURL: "https://api.together.xyz/v1", KeyEnv: "TOGETHERAI_API_KEY"},
	{Prefix: "mistral", BaseURL: "https://api.mistral.ai/v1", KeyEnv: "MISTRAL_API_KEY"},
	{Prefix: "deepseek", BaseURL: "https://api.deepseek.com/v1", KeyEnv: "DEEPSEEK_API_KEY"},
	{Prefix: "fireworks_ai", BaseURL: "https://api.fireworks.ai/inference/v1", KeyEnv: "FIREWORKS_AI_API_KEY"},
	{Prefix: "openrouter", BaseURL: "https://openrouter.ai/api/v1", KeyEnv: "OPENROUTER_API_KEY"},
	{Prefix: "perplexity", BaseURL: "https://api.perplexity.ai", KeyEnv: "PERPLEXITYAI_API_KEY"},
	{Prefix: "xai", BaseURL: "https://api.x.ai/v1", KeyEnv: "XAI_API_KEY"},
	{Prefix: "cerebras", BaseURL: "https://api.cerebras.ai/v1", KeyEnv: "CEREBRAS_API_KEY"},
	{Prefix: "deepinfra", BaseURL: "https://api.deepinfra.com/v1/openai", KeyEnv: "DEEPINFRA_API_KEY"},
	{Prefix: "anthropic", BaseURL: "https://api.anthropic.com/v1/", KeyEnv: "ANTHROPIC_API_KEY"},
	{Prefix: "gemini", BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai/", KeyEnv: "GEMINI_API_KEY"},
	{Prefix: "ollama", BaseURL: "http://localhost:11434/v1"},
	{Prefix: "hosted_vllm", BaseURLEnv: "HOSTED_VLLM_API_BASE", KeyEnv: "HOSTED_VLLM_API_KEY", KeyOptional: true},
	{Prefix: "lm_studio", BaseURL: "http://localhost:1234/v1", BaseURLEnv: "LM_STUDIO_API_BASE", KeyEnv: "LM_STUDIO_API_KEY", KeyOptional: true},
}

// Add adds s to the table. It fails with ErrInvalidSpec for a bad prefix,
// base URL or variable name, and with ErrDuplicate when the prefix is
// already there (built-in prefixes cannot be replaced; give a deployment its
// own api_base instead).
func (t *Table) Add(s Spec) error {
	if err := s.check(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.specs[s.Prefix]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, s.Prefix)
	}
	if t.specs == nil {
		t.specs = make(map[string]Spec)
	}
	t.specs[s.Prefix] = s
	return nil
}

// Lookup returns the Spec of prefix.
func (t *Table) Lookup(prefix string) (Spec, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s, ok := t.specs[prefix]
	return s, ok
}

// Prefixes returns the table's prefixes, sorted.
func (t *Table) Prefixes() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.specs))
	for p := range t.specs {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Parse splits a "provider/model" name at its first "/" and returns the
// provider's Spec and the upstream model, which may itself contain "/"
// ("openrouter/meta-llama/llama-3-70b" → openrouter, "meta-llama/llama-3-70b").
// A name without a prefix or without a model is ErrInvalidModel; an unknown
// prefix is ErrUnknownPrefix, and the error lists the known prefixes.
func (t *Table) Parse(model string) (Spec, string, error) {
	prefix, upstream, ok := strings.Cut(model, "/")
	if !ok || prefix == "" || upstream == "" {
		return Spec{}, "", fmt.Errorf("%w %q: want provider/model", ErrInvalidModel, model)
	}
	if s, ok := t.Lookup(prefix); ok {
		return s, upstream, nil
	}
	return Spec{}, "", fmt.Errorf("%w %q in %q (known: %s)", ErrUnknownPrefix, prefix, model, strings.Join(t.Prefixes(), ", "))
}

// ResolveSecret returns the value of a configuration secret. A value of the
// form "os.environ/NAME" is read from the environment through lookupEnv (nil
// means os.LookupEnv); an unset variable is ErrUnsetSecret and the error names
// it. Any other value, including "", is returned as is.
func ResolveSecret(value string, lookupEnv func(string) (string, bool)) (string, error) {
	name, ok := strings.CutPrefix(value, EnvPrefix)
	if !ok {
		return value, nil
	}
	if !validEnvName(name) {
		return "", fmt.Errorf("%w: invalid environment variable name %q in %q", ErrInvalidConfig, name, value)
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	v, ok := lookupEnv(name)
	if !ok {
		return "", fmt.Errorf("%w: %s (from %q)", ErrUnsetSecret, name, value)
	}
	return v, nil
}

func validPrefix(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validEnvName accepts POSIX-style names: letters, digits and '_', not
// starting with a digit.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
