package provider_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/provider"
)

func TestDefaultTable(t *testing.T) {
	want := map[string]provider.Spec{
		"openai":       {Prefix: "openai", BaseURL: "https://api.openai.com/v1", KeyEnv: "OPENAI_API_KEY"},
		"azure":        {Prefix: "azure", BaseURLEnv: "AZURE_API_BASE", KeyEnv: "AZURE_API_KEY", Azure: true},
		"groq":         {Prefix: "groq", BaseURL: "https://api.groq.com/openai/v1", KeyEnv: "GROQ_API_KEY"},
		"together_ai":  {Prefix: "together_ai", BaseURL: "https://api.together.xyz/v1", KeyEnv: "TOGETHERAI_API_KEY"},
		"mistral":      {Prefix: "mistral", BaseURL: "https://api.mistral.ai/v1", KeyEnv: "MISTRAL_API_KEY"},
		"deepseek":     {Prefix: "deepseek", BaseURL: "https://api.deepseek.com/v1", KeyEnv: "DEEPSEEK_API_KEY"},
		"fireworks_ai": {Prefix: "fireworks_ai", BaseURL: "https://api.fireworks.ai/inference/v1", KeyEnv: "FIREWORKS_AI_API_KEY"},
		"openrouter":   {Prefix: "openrouter", BaseURL: "https://openrouter.ai/api/v1", KeyEnv: "OPENROUTER_API_KEY"},
		"perplexity":   {Prefix: "perplexity", BaseURL: "https://api.perplexity.ai", KeyEnv: "PERPLEXITYAI_API_KEY"},
		"xai":          {Prefix: "xai", BaseURL: "https://api.x.ai/v1", KeyEnv: "XAI_API_KEY"},
		"cerebras":     {Prefix: "cerebras", BaseURL: "https://api.cerebras.ai/v1", KeyEnv: "CEREBRAS_API_KEY"},
		"deepinfra":    {Prefix: "deepinfra", BaseURL: "https://api.deepinfra.com/v1/openai", KeyEnv: "DEEPINFRA_API_KEY"},
		"anthropic":    {Prefix: "anthropic", BaseURL: "https://api.anthropic.com/v1/", KeyEnv: "ANTHROPIC_API_KEY"},
		"gemini":       {Prefix: "gemini", BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai/", KeyEnv: "GEMINI_API_KEY"},
		"ollama":       {Prefix: "ollama", BaseURL: "http://localhost:11434/v1"},
		"hosted_vllm":  {Prefix: "hosted_vllm", BaseURLEnv: "HOSTED_VLLM_API_BASE", KeyEnv: "HOSTED_VLLM_API_KEY", KeyOptional: true},
		"lm_studio":    {Prefix: "lm_studio", BaseURL: "http://localhost:1234/v1", BaseURLEnv: "LM_STUDIO_API_BASE", KeyEnv: "LM_STUDIO_API_KEY", KeyOptional: true},
	}
	tab := provider.DefaultTable()
	got := map[string]provider.Spec{}
	for _, p := range tab.Prefixes() {
		s, ok := tab.Lookup(p)
		if !ok {
			t.Fatalf("Lookup(%q) failed for a listed prefix", p)
		}
		got[p] = s
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultTable (-want +got):\n%s", diff)
	}
	for p, s := range got {
		if s.BaseURL != "" {
			if _, err := provider.NewOpenAI(provider.OpenAIConfig{Name: p, BaseURL: s.BaseURL}); err != nil {
				t.Errorf("%s: default base URL refused: %v", p, err)
			}
		}
	}
}

func TestTableIsFresh(t *testing.T) {
	a, b := provider.DefaultTable(), provider.DefaultTable()
	if err := a.Add(provider.Spec{Prefix: "mine", BaseURL: "http://127.0.0.1:9/v1"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Lookup("mine"); ok {
		t.Error("a prefix added to one table shows in another")
	}
	if _, ok := a.Lookup("mine"); !ok {
		t.Error("the added prefix is missing")
	}
	var zero provider.Table
	if err := zero.Add(provider.Spec{Prefix: "x"}); err != nil {
		t.Errorf("zero Table Add: %v", err)
	}
	if got := zero.Prefixes(); !cmp.Equal(got, []string{"x"}) {
		t.Errorf("zero Table Prefixes = %v", got)
	}
}

func TestTableAdd(t *testing.T) {
	tests := []struct {
		name string
		spec provider.Spec
		want error
	}{
		{"ok", provider.Spec{Prefix: "my_llm-2", BaseURL: "https://llm.internal/v1", KeyEnv: "MY_LLM_KEY"}, nil},
		{"no base is fine", provider.Spec{Prefix: "bare"}, nil},
		{"duplicate", provider.Spec{Prefix: "groq"}, provider.ErrDuplicate},
		{"empty prefix", provider.Spec{}, provider.ErrInvalidSpec},
		{"upper case", provider.Spec{Prefix: "Groq2"}, provider.ErrInvalidSpec},
		{"slash", provider.Spec{Prefix: "a/b"}, provider.ErrInvalidSpec},
		{"bad URL scheme", provider.Spec{Prefix: "ftp", BaseURL: "ftp://x"}, provider.ErrInvalidSpec},
		{"relative URL", provider.Spec{Prefix: "rel", BaseURL: "/v1"}, provider.ErrInvalidSpec},
		{"bad key env", provider.Spec{Prefix: "env", KeyEnv: "1BAD"}, provider.ErrInvalidSpec},
		{"bad base env", provider.Spec{Prefix: "env2", BaseURLEnv: "A-B"}, provider.ErrInvalidSpec},
	}
	tab := provider.DefaultTable()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tab.Add(tt.spec)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Add(%+v) = %v, want %v", tt.spec, err, tt.want)
			}
			if err == nil {
				if got, ok := tab.Lookup(tt.spec.Prefix); !ok || got != tt.spec {
					t.Errorf("Lookup after Add = %+v, %v", got, ok)
				}
			} else if !strings.HasPrefix(err.Error(), "provider: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
	if s, _ := tab.Lookup("groq"); s.BaseURL != "https://api.groq.com/openai/v1" {
		t.Errorf("a refused duplicate changed groq: %+v", s)
	}
}

func TestTableParse(t *testing.T) {
	tests := []struct {
		model, prefix, upstream string
		want                    error
	}{
		{"groq/llama-3.1-70b", "groq", "llama-3.1-70b", nil},
		{"openai/gpt-4o", "openai", "gpt-4o", nil},
		{"openrouter/meta-llama/llama-3-70b-instruct", "openrouter", "meta-llama/llama-3-70b-instruct", nil},
		{"ollama/llama3:8b", "ollama", "llama3:8b", nil},
		{"azure/my-deployment", "azure", "my-deployment", nil},
		{"openai/*", "openai", "*", nil},
		{"gpt-4o", "", "", provider.ErrInvalidModel},
		{"/gpt-4o", "", "", provider.ErrInvalidModel},
		{"openai/", "", "", provider.ErrInvalidModel},
		{"", "", "", provider.ErrInvalidModel},
		{"bedrock/anthropic.claude-3", "", "", provider.ErrUnknownPrefix},
		{"OpenAI/gpt-4o", "", "", provider.ErrUnknownPrefix},
	}
	tab := provider.DefaultTable()
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			spec, upstream, err := tab.Parse(tt.model)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.model, err, tt.want)
			}
			if spec.Prefix != tt.prefix || upstream != tt.upstream {
				t.Errorf("Parse(%q) = %q, %q; want %q, %q", tt.model, spec.Prefix, upstream, tt.prefix, tt.upstream)
			}
		})
	}
}

func TestParseUnknownListsKnown(t *testing.T) {
	var tab provider.Table
	for _, p := range []string{"zeta", "alpha", "mid"} {
		if err := tab.Add(provider.Spec{Prefix: p}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := tab.Parse("bedrock/claude")
	want := `provider: unknown provider prefix "bedrock" in "bedrock/claude" (known: alpha, mid, zeta)`
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v\nwant %s", err, want)
	}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestResolveSecret(t *testing.T) {
	lookup := env(map[string]string{"KEY": "sk-123", "EMPTY": ""})
	tests := []struct {
		in, want string
		err      error
	}{
		{"sk-literal", "sk-literal", nil},
		{"", "", nil},
		{"os.environ/KEY", "sk-123", nil},
		{"os.environ/EMPTY", "", nil},
		{"os.environ/MISSING", "", provider.ErrUnsetSecret},
		{"os.environ/", "", provider.ErrInvalidConfig},
		{"os.environ/BAD NAME", "", provider.ErrInvalidConfig},
		{"OS.ENVIRON/KEY", "OS.ENVIRON/KEY", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := provider.ResolveSecret(tt.in, lookup)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("ResolveSecret(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ResolveSecret(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	_, err := provider.ResolveSecret("os.environ/UPSTREAM_KEY", lookup)
	if err == nil || !strings.Contains(err.Error(), "UPSTREAM_KEY") {
		t.Errorf("the error %v does not name the unset variable", err)
	}
}

func TestSpecConfig(t *testing.T) {
	tab := provider.DefaultTable()
	spec := func(p string) provider.Spec { s, _ := tab.Lookup(p); return s }
	lookup := env(map[string]string{
		"GROQ_API_KEY":         "gsk-env",
		"MY_KEY":               "sk-mine",
		"HOSTED_VLLM_API_BASE": "http://vllm.internal:8000/v1",
		"AZURE_API_KEY":        "az-key",
	})
	tests := []struct {
		name            string
		spec            provider.Spec
		apiBase, apiKey string
		want            provider.OpenAIConfig
		err             error
		errHas          string
	}{
		{name: "defaults from the table", spec: spec("groq"),
			want: provider.OpenAIConfig{Name: "groq", BaseURL: "https://api.groq.com/openai/v1", APIKey: "gsk-env"}},
		{name: "own base and key", spec: spec("groq"), apiBase: "http://127.0.0.1:9/v1", apiKey: "os.environ/MY_KEY",
			want: provider.OpenAIConfig{Name: "groq", BaseURL: "http://127.0.0.1:9/v1", APIKey: "sk-mine"}},
		{name: "literal key", spec: spec("openai"), apiKey: "sk-lit",
			want: provider.OpenAIConfig{Name: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "sk-lit"}},
		{name: "missing key", spec: spec("openai"), err: provider.ErrUnsetSecret, errHas: "OPENAI_API_KEY"},
		{name: "unset reference", spec: spec("openai"), apiKey: "os.environ/NOPE", err: provider.ErrUnsetSecret, errHas: "NOPE"},
		{name: "no key needed", spec: spec("ollama"),
			want: provider.OpenAIConfig{Name: "ollama", BaseURL: "http://localhost:11434/v1"}},
		{name: "optional key", spec: spec("lm_studio"),
			want: provider.OpenAIConfig{Name: "lm_studio", BaseURL: "http://localhost:1234/v1"}},
		{name: "base from env", spec: spec("hosted_vllm"),
			want: provider.OpenAIConfig{Name: "hosted_vllm", BaseURL: "http://vllm.internal:8000/v1"}},
		{name: "base required", spec: provider.Spec{Prefix: "bare"}, err: provider.ErrInvalidConfig, errHas: "api_base"},
		{name: "azure", spec: spec("azure"), apiBase: "https://r.openai.azure.com",
			want: provider.OpenAIConfig{Name: "azure", BaseURL: "https://r.openai.azure.com", APIKey: "az-key", Azure: &provider.AzureConfig{}}},
		{name: "azure without base", spec: spec("azure"), err: provider.ErrInvalidConfig, errHas: "AZURE_API_BASE"},
		{name: "bad base", spec: spec("openai"), apiBase: "localhost:8000", apiKey: "k", err: provider.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spec.Config(tt.apiBase, tt.apiKey, lookup)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Config error = %v, want %v", err, tt.err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("error %q does not mention %q", err, tt.errHas)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Config (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"groq/llama-3.1-70b", "openrouter/a/b", "x", "/", "a/", "/b", "ollama/llama3:8b", "\xff/\x00"} {
		f.Add(s)
	}
	tab := provider.DefaultTable()
	f.Fuzz(func(t *testing.T, model string) {
		spec, upstream, err := tab.Parse(model)
		if err != nil {
			if spec != (provider.Spec{}) || upstream != "" {
				t.Errorf("Parse(%q) failed but returned %+v, %q", model, spec, upstream)
			}
			if !errors.Is(err, provider.ErrInvalidModel) && !errors.Is(err, provider.ErrUnknownPrefix) {
				t.Errorf("Parse(%q): unexpected error %v", model, err)
			}
			return
		}
		if spec.Prefix+"/"+upstream != model {
			t.Errorf("Parse(%q) = %q + %q, which does not rebuild the name", model, spec.Prefix, upstream)
		}
		if upstream == "" {
			t.Errorf("Parse(%q) gave an empty model", model)
		}
	})
}

func FuzzResolveSecret(f *testing.F) {
	for _, s := range []string{"os.environ/KEY", "os.environ/", "sk-x", "", "os.environ/A B", "os.environ/KEY/x"} {
		f.Add(s)
	}
	lookup := env(map[string]string{"KEY": "v"})
	f.Fuzz(func(t *testing.T, in string) {
		got, err := provider.ResolveSecret(in, lookup)
		name, isRef := strings.CutPrefix(in, provider.EnvPrefix)
		switch {
		case !isRef:
			if err != nil || got != in {
				t.Errorf("ResolveSecret(%q) = %q, %v; want it unchanged", in, got, err)
			}
		case err == nil:
			if name != "KEY" || got != "v" {
				t.Errorf("ResolveSecret(%q) = %q without error", in, got)
			}
		case errors.Is(err, provider.ErrUnsetSecret):
			if !strings.Contains(err.Error(), name) {
				t.Errorf("ResolveSecret(%q): error %q does not name %q", in, err, name)
			}
		case !errors.Is(err, provider.ErrInvalidConfig):
			t.Errorf("ResolveSecret(%q): unexpected error %v", in, err)
		}
	})
}
