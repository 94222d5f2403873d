package litellm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

// TestRouterEndToEnd loads a config whose upstream is the fake OpenAI
// server, converts it, and routes a request through an alias.
func TestRouterEndToEnd(t *testing.T) {
	srv := providertest.NewServer(providertest.WithAPIKey("sk-upstream"))
	defer srv.Close()
	config := `model_list:
  - model_name: model-group-1
    litellm_params:
      model: openai/gpt-4o
      api_base: os.environ/FAKE_BASE
      api_key: os.environ/FAKE_KEY
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: os.environ/FAKE_BASE, api_key: os.environ/FAKE_KEY}
router_settings:
  model_group_alias:
    alias-1: model-group-1
    hidden-1: {model: model-group-1, hidden: true}
  num_retries: 0
`
	env := envOf(map[string]string{"FAKE_BASE": srv.URL(), "FAKE_KEY": "sk-upstream"})
	c, err := Parse([]byte(config), "c.yaml", WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.RouterConfig(OpenAIProviders(nil, srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if rc.NumRetries != -1 {
		t.Errorf("NumRetries = %d; num_retries: 0 must mean none (-1)", rc.NumRetries)
	}
	ctx := context.Background()
	reg, err := alias.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	r, err := router.New(reg, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, a := range c.Aliases {
		if _, err := reg.Create(ctx, alias.Alias{Name: a.Name, Target: a.Target, Hidden: a.Hidden}); err != nil {
			t.Fatalf("alias %s: %v", a.Name, err)
		}
	}
	for _, tt := range []struct{ requested, group, upstream string }{
		{"alias-1", "model-group-1", "gpt-4o"},
		{"hidden-1", "model-group-1", "gpt-4o"},
		{"model-group-1", "model-group-1", "gpt-4o"},
		{"openai/gpt-4o-mini", "openai/*", "gpt-4o-mini"},
	} {
		req := openai.ChatCompletionRequest{Model: tt.requested, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}
		_, route, err := r.Complete(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tt.requested, err)
		}
		if route.Group != tt.group || route.Model != tt.upstream || route.Deployment == "" {
			t.Errorf("%s: route = %+v", tt.requested, route)
		}
	}
	if n := srv.CountModel("gpt-4o"); n != 3 {
		t.Errorf("upstream saw gpt-4o %d times, want 3", n)
	}
}

func TestRouterConfigMapping(t *testing.T) {
	env := envOf(map[string]string{"UPSTREAM_KEY": "sk-up", "OPENAI_API_KEY": "sk-oa", "MASTER": "sk-master", "DATABASE_URL": "postgres://db/x"})
	c, err := Parse([]byte(fullConfig), "config.yaml", WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	var built []string
	fake := providertest.NewFake()
	rc, err := c.RouterConfig(func(d Deployment) (provider.Provider, error) {
		built = append(built, d.ID)
		return fake, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d0, d1 := c.Deployments[0], c.Deployments[1]
	want := router.Config{
		Strategy:               "usage-based-routing",
		NumRetries:             -1,
		AllowedFails:           3,
		CooldownTime:           5 * time.Second,
		Timeout:                30 * time.Second,
		Fallbacks:              map[string][]string{"model-group-1": {"model-group-2"}, "*": {"model-group-2"}},
		ContextWindowFallbacks: map[string][]string{"alias-1": {"openai/gpt-4.1"}},
		ContentPolicyFallbacks: map[string][]string{"model-group-2": {"model-group-1"}},
		Deployments: []router.Deployment{
			{
				ID: "dep-a", Group: "model-group-1", Model: "gpt-4o", ProviderName: "openai", APIBase: "http://127.0.0.1:9100/v1",
				Weight: 2, RPM: 100, TPM: 20000, MaxParallel: 8, Order: 1, Tags: []string{"fast", "eu"},
				Timeout: 30 * time.Second, StreamTimeout: 500 * time.Millisecond,
				InputCostPerToken: 0.000001, OutputCostPerToken: 0.000002, ContextWindow: 128000, Mode: "chat",
				Info: d0.Info, Params: d0.Params,
			},
			{ID: d1.ID, Group: "model-group-2", Model: "my-deployment", ProviderName: "azure", APIBase: "https://example.openai.azure.com", Params: d1.Params},
			{ID: c.Deployments[2].ID, Group: "openai/*", Model: "*", ProviderName: "openai", Params: c.Deployments[2].Params},
		},
	}
	if diff := cmp.Diff(want, rc, cmpopts.IgnoreFields(router.Deployment{}, "Provider")); diff != "" {
		t.Errorf("RouterConfig (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dep-a", d1.ID, c.Deployments[2].ID}, built); diff != "" {
		t.Errorf("providers built for (-want +got):\n%s", diff)
	}
	r, err := router.New(nil, rc)
	if err != nil {
		t.Fatalf("router refuses the converted config: %v", err)
	}
	r.Close()
}

func TestRouterConfigErrors(t *testing.T) {
	// Loads with a warning (no key anywhere); building the provider fails,
	// naming the deployment.
	config := "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x}\n  - model_name: h\n    litellm_params: {model: openai/y, api_key: k}\n"
	c, err := Parse([]byte(config), "c.yaml", WithEnv(envOf(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warningsText(c), "OPENAI_API_KEY is not set") {
		t.Errorf("warnings:\n%s", warningsText(c))
	}
	_, err = c.RouterConfig(nil)
	if err == nil || !errors.Is(err, provider.ErrUnsetSecret) || !strings.Contains(err.Error(), `c.yaml:2: "g"`) || strings.Contains(err.Error(), `"h"`) {
		t.Errorf("err = %v", err)
	}
	_, err = c.RouterConfig(func(Deployment) (provider.Provider, error) { return nil, nil })
	if err == nil || !strings.Contains(err.Error(), "no provider built") {
		t.Errorf("nil provider: err = %v", err)
	}
}

func TestOpenAIConfig(t *testing.T) {
	for _, tt := range []struct {
		d        Deployment
		wantBase string
		check    func(provider.OpenAIConfig) bool
	}{
		{Deployment{Provider: "ollama", APIBase: "http://localhost:11434"}, "http://localhost:11434/v1", nil},
		{Deployment{Provider: "ollama", APIBase: "http://gpu:11434/"}, "http://gpu:11434/v1", nil},
		{Deployment{Provider: "ollama", APIBase: "http://gpu:11434/v1"}, "http://gpu:11434/v1", nil},
		{Deployment{Provider: "ollama"}, "http://localhost:11434/v1", nil},
		{Deployment{Provider: "anthropic", APIKey: "k", APIBase: "https://api.anthropic.com"}, "https://api.anthropic.com/v1/", nil},
		{Deployment{Provider: "anthropic", APIKey: "k", APIBase: "https://gw.example/v1/messages"}, "https://gw.example/v1/", nil},
		{Deployment{Provider: "anthropic", APIKey: "k"}, "https://api.anthropic.com/v1/", nil},
		{Deployment{Provider: "openai", APIKey: "k", APIBase: "https://x.example/", Organization: "org"}, "https://x.example/",
			func(c provider.OpenAIConfig) bool {
				return c.Organization == "org" && c.APIKey == "k" && c.Azure == nil
			}},
		{Deployment{Provider: "azure", APIKey: "k", APIBase: "https://r.openai.azure.com", APIVersion: "2024-02-01"}, "https://r.openai.azure.com",
			func(c provider.OpenAIConfig) bool { return c.Azure != nil && c.Azure.APIVersion == "2024-02-01" }},
		{Deployment{Provider: "openai", APIKey: "k", Extra: map[string]any{"extra_headers": map[string]any{"X-A": "1"}}}, provider.DefaultOpenAIBaseURL,
			func(c provider.OpenAIConfig) bool { return c.Headers["X-A"] == "1" }},
	} {
		cfg, err := tt.d.OpenAIConfig(nil)
		if err != nil {
			t.Errorf("%+v: %v", tt.d, err)
			continue
		}
		if cfg.BaseURL != tt.wantBase || (tt.check != nil && !tt.check(cfg)) {
			t.Errorf("%+v: got %+v", tt.d, cfg)
		}
	}
	if _, err := (Deployment{Provider: "bedrock"}).OpenAIConfig(nil); !errors.Is(err, provider.ErrUnknownPrefix) {
		t.Errorf("bedrock: err = %v", err)
	}
	if _, err := (Deployment{Provider: "openai", APIKey: "k", Extra: map[string]any{"extra_headers": map[string]any{"X": 1}}}).OpenAIConfig(nil); err == nil {
		t.Errorf("non-string header accepted")
	}
}

// TestConfigsRouterConfig: every config that loads (skipping what is
// unsupported), of the testdata and the corpus when set, converts into a
// Config the router accepts.
func TestConfigsRouterConfig(t *testing.T) {
	for _, name := range allConfigs(t) {
		c, err := Load(name, WithEnv(fakeEnv), WithSkipUnsupported())
		if err != nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			rc, err := c.RouterConfig(Providers(nil, nil, fakeNatives(t)))
			if err != nil {
				t.Fatal(err)
			}
			if len(rc.Deployments) == 0 {
				// model_list: [] is valid LiteLLM (models come from its
				// database); router.New wants at least one deployment.
				return
			}
			r, err := router.New(nil, rc)
			if err != nil {
				t.Fatalf("router refuses it: %v", err)
			}
			r.Close()
		})
	}
}
