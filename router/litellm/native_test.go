package litellm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
	"github.com/modelroute/modelroute/provider/anthropic/anthropictest"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

// fakeNatives builds bedrock and vertex_ai deployments as fakes, checking
// that each has the placement its real provider needs.
func fakeNatives(t *testing.T) map[string]ProviderFunc {
	f := func(d Deployment) (provider.Provider, error) {
		if d.UpstreamModel == "" {
			t.Errorf("%s: native deployment without an upstream model", d.Source)
		}
		return providertest.NewFake(), nil
	}
	return map[string]ProviderFunc{PrefixBedrock: f, PrefixVertexAI: f}
}

func TestNativeParams(t *testing.T) {
	config := `model_list:
  - model_name: claude
    litellm_params:
      model: bedrock/anthropic.claude-3-opus-20240229-v1:0
      aws_region_name: us-west-2
      aws_access_key_id: os.environ/AWS_KEY_ID
      aws_secret_access_key: os.environ/AWS_SECRET
      aws_session_token: tok
  - model_name: llama
    litellm_params: {model: bedrock/converse/meta.llama3-70b-instruct-v1:0}
  - model_name: gemini
    litellm_params:
      model: vertex_ai/gemini-1.5-pro
      vertex_project: my-project
      vertex_location: europe-west4
      vertex_credentials: os.environ/VERTEX_CREDS
  - model_name: gemini-defaults
    litellm_params:
      model: vertex_ai/gemini-2.0-flash
      vertex_credentials: {type: service_account, project_id: p}
  - model_name: smart
    litellm_params: {model: anthropic/claude-3-opus-20240229}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_key: k, vertex_project: oops}
`
	env := envOf(map[string]string{
		"AWS_KEY_ID": "AKIA-ID", "AWS_SECRET": "aws-secret", "VERTEX_CREDS": `{"type":"service_account"}`,
		"AWS_REGION_NAME": "eu-central-1", "VERTEXAI_PROJECT": "env-project", "VERTEXAI_LOCATION": "us-central1",
		"ANTHROPIC_API_KEY": "sk-ant-env",
	})
	c, err := Parse([]byte(config), "c.yaml", WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	type native struct {
		Provider, Upstream, Key        string
		Region, KeyID, Secret, Session string
		Project, Location, Credentials string
	}
	var got []native
	for _, d := range c.Deployments {
		got = append(got, native{d.Provider, d.UpstreamModel, d.APIKey, d.AWSRegion, d.AWSAccessKeyID, d.AWSSecretAccessKey, d.AWSSessionToken, d.VertexProject, d.VertexLocation, d.VertexCredentials})
	}
	want := []native{
		{Provider: "bedrock", Upstream: "anthropic.claude-3-opus-20240229-v1:0", Region: "us-west-2", KeyID: "AKIA-ID", Secret: "aws-secret", Session: "tok"},
		{Provider: "bedrock", Upstream: "meta.llama3-70b-instruct-v1:0", Region: "eu-central-1"},
		{Provider: "vertex_ai", Upstream: "gemini-1.5-pro", Project: "my-project", Location: "europe-west4", Credentials: `{"type":"service_account"}`},
		{Provider: "vertex_ai", Upstream: "gemini-2.0-flash", Project: "env-project", Location: "us-central1", Credentials: `{"project_id":"p","type":"service_account"}`},
		{Provider: "anthropic", Upstream: "claude-3-opus-20240229", Key: "sk-ant-env"},
		{Provider: "openai", Upstream: "gpt-4o", Key: "k", Project: "oops"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	text := warningsText(c)
	if !strings.Contains(text, `litellm_params.vertex_project: used only by vertex_ai deployments, not by openai ones`) {
		t.Errorf("no warning for vertex_project on an openai deployment:\n%s", text)
	}
	for _, secret := range []string{"aws-secret", "AKIA-ID", "service_account", "tok"} {
		if strings.Contains(text, secret) {
			t.Errorf("warnings leak %q:\n%s", secret, text)
		}
		for _, d := range c.Deployments {
			for k, v := range d.Params {
				if s, ok := v.(string); ok && strings.Contains(s, secret) {
					t.Errorf("%s: Params[%q] holds a secret", d.Source, k)
				}
			}
		}
	}
	for _, w := range c.Warnings {
		if strings.Contains(w.Msg, "kept in Deployment.Extra") && strings.Contains(w.Msg, "aws_") {
			t.Errorf("native parameter left untyped: %v", w)
		}
	}
}

func TestProvidersBuild(t *testing.T) {
	deployments := []Deployment{
		{ID: "a", Provider: "anthropic", UpstreamModel: "claude-3-opus-20240229", APIKey: "sk-ant"},
		{ID: "o", Provider: "openai", UpstreamModel: "gpt-4o", APIKey: "sk"},
		{ID: "b", Provider: "bedrock", UpstreamModel: "anthropic.claude-v2"},
		{ID: "v", Provider: "vertex_ai", UpstreamModel: "gemini-pro"},
	}
	t.Run("defaults", func(t *testing.T) {
		f := Providers(nil, nil, nil)
		p, err := f(deployments[0])
		if _, ok := p.(*anthropic.Provider); err != nil || !ok {
			t.Errorf("anthropic deployment: %T, %v; want an *anthropic.Provider", p, err)
		}
		p, err = f(deployments[1])
		if _, ok := p.(*provider.OpenAI); err != nil || !ok {
			t.Errorf("openai deployment: %T, %v; want a *provider.OpenAI", p, err)
		}
		for _, d := range deployments[2:] {
			_, err := f(d)
			if !errors.Is(err, provider.ErrInvalidConfig) || !strings.Contains(err.Error(), `"`+d.Provider+`"`) {
				t.Errorf("%s without a native function: err = %v, want ErrInvalidConfig naming it", d.Provider, err)
			}
		}
	})
	t.Run("native functions", func(t *testing.T) {
		var built []string
		rec := func(d Deployment) (provider.Provider, error) {
			built = append(built, d.ID)
			return providertest.NewFake(), nil
		}
		f := Providers(nil, nil, map[string]ProviderFunc{"bedrock": rec, "vertex_ai": rec, "anthropic": rec})
		for _, d := range deployments {
			if _, err := f(d); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff([]string{"a", "b", "v"}, built); diff != "" {
			t.Errorf("built natively (-want +got):\n%s", diff)
		}
	})
}

func TestAnthropicConfig(t *testing.T) {
	d := Deployment{Provider: "anthropic", APIBase: "https://proxy.example/v1/messages", APIKey: "sk-ant",
		Extra: map[string]any{"extra_headers": map[string]any{"anthropic-beta": "prompt-caching-2024-07-31"}}}
	got, err := d.AnthropicConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := anthropic.Config{Name: "anthropic", BaseURL: "https://proxy.example/v1/messages", APIKey: "sk-ant",
		Headers: map[string]string{"anthropic-beta": "prompt-caching-2024-07-31"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AnthropicConfig (-want +got):\n%s", diff)
	}
	d.Extra = map[string]any{"extra_headers": map[string]any{"x": 1}}
	if _, err := d.AnthropicConfig(); err == nil {
		t.Errorf("a header that is not a string was accepted")
	}
}

// TestAnthropicEndToEnd routes the seed's headline use: the alias "smart"
// pointing at an anthropic/ deployment, loaded from a LiteLLM config and
// answered by the native Messages API (the fake).
func TestAnthropicEndToEnd(t *testing.T) {
	upstream := providertest.NewServer()
	defer upstream.Close()
	fake := anthropictest.NewServer(upstream, anthropictest.WithAPIKey("sk-ant-e2e"))
	defer fake.Close()
	config := `model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-opus-20240229, api_base: os.environ/ANTHROPIC_BASE, api_key: os.environ/ANTHROPIC_API_KEY}
router_settings:
  model_group_alias: {smart: claude}
`
	c, err := Parse([]byte(config), "c.yaml", WithEnv(envOf(map[string]string{"ANTHROPIC_BASE": fake.URL(), "ANTHROPIC_API_KEY": "sk-ant-e2e"})))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.RouterConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg, err := alias.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for _, a := range c.Aliases {
		if _, err := reg.Create(ctx, alias.Alias{Name: a.Name, Target: a.Target}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := router.New(reg, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	resp, _, err := r.Complete(ctx, openai.ChatCompletionRequest{Model: "smart", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "ok" || upstream.CountModel("claude-3-opus-20240229") != 1 {
		t.Errorf("answer %q, %d upstream calls for claude-3-opus-20240229", resp.Choices[0].Message.Content, upstream.CountModel("claude-3-opus-20240229"))
	}
}
