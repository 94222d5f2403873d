package litellm

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelroute/modelroute/provider"
)

const fullConfig = `
model_list:
  - model_name: model-group-1
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:9100/v1
      api_key: os.environ/UPSTREAM_KEY
      organization: org-1
      weight: 2
      rpm: 100
      tpm: 20_000
      order: 1
      timeout: 30
      stream_timeout: 0.5
      max_parallel_requests: 8
      tags: [fast, eu]
      input_cost_per_token: 0.000001
      temperature: 0.2
    model_info:
      id: dep-a
      mode: chat
      access_groups: [beta-models]
      max_input_tokens: 128000
      max_output_tokens: 4096
      base_model: gpt-4o-2024-08-06
      output_cost_per_token: 0.000002
      description: primary
  - model_name: model-group-2
    litellm_params:
      model: azure/my-deployment
      api_base: https://example.openai.azure.com
      api_key: literal-azure-key
      api_version: "2024-10-21"
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_key: os.environ/OPENAI_API_KEY}
router_settings:
  model_group_alias:
    alias-1: model-group-1
    hidden-1: {model: model-group-2, hidden: true}
    chained: alias-1
    via-wildcard: openai/gpt-4o-mini
  routing_strategy: usage-based-routing-v2
  num_retries: 0
  allowed_fails: 3
  cooldown_time: 5
  timeout: 30
  stream_timeout: 10
  retry_after: 1
  max_fallbacks: 4
  fallbacks: [{model-group-1: [model-group-2]}]
  context_window_fallbacks: [{alias-1: [openai/gpt-4.1]}]
  content_policy_fallbacks:
    - model-group-2: [model-group-1]
  default_fallbacks: [model-group-2]
  enable_tag_filtering: true
  enable_pre_call_checks: yes
  disable_cooldowns: false
general_settings:
  master_key: os.environ/MASTER
  database_url: os.environ/DATABASE_URL
  background_health_checks: True
  health_check_interval: 300
`

func TestParseFullConfig(t *testing.T) {
	env := envOf(map[string]string{"UPSTREAM_KEY": "sk-up", "OPENAI_API_KEY": "sk-oa", "MASTER": "sk-master", "DATABASE_URL": "postgres://db/x"})
	c, err := Parse([]byte(fullConfig), "config.yaml", WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	zero := 0
	want := &Config{
		File: "config.yaml",
		Deployments: []Deployment{
			{
				ID: "dep-a", ModelName: "model-group-1", Model: "openai/gpt-4o", Provider: "openai", UpstreamModel: "gpt-4o",
				APIBase: "http://127.0.0.1:9100/v1", APIKey: "sk-up", Organization: "org-1",
				Weight: 2, RPM: 100, TPM: 20000, Order: 1, Timeout: 30 * time.Second, StreamTimeout: 500 * time.Millisecond,
				MaxParallel: 8, Tags: []string{"fast", "eu"},
				InputCostPerToken: 0.000001, OutputCostPerToken: 0.000002, ContextWindow: 128000, MaxOutputTokens: 4096,
				Mode: "chat", BaseModel: "gpt-4o-2024-08-06", AccessGroups: []string{"beta-models"},
				Params: map[string]any{
					"model": "openai/gpt-4o", "api_base": "http://127.0.0.1:9100/v1", "organization": "org-1",
					"weight": int64(2), "rpm": int64(100), "tpm": int64(20000), "order": int64(1), "timeout": int64(30),
					"stream_timeout": 0.5, "max_parallel_requests": int64(8), "tags": []any{"fast", "eu"},
					"input_cost_per_token": 0.000001, "temperature": 0.2,
				},
				Extra: map[string]any{"temperature": 0.2},
				Info: map[string]any{
					"id": "dep-a", "mode": "chat", "access_groups": []any{"beta-models"}, "max_input_tokens": int64(128000),
					"max_output_tokens": int64(4096), "base_model": "gpt-4o-2024-08-06", "output_cost_per_token": 0.000002,
					"description": "primary",
				},
				Source: "config.yaml:3",
			},
			{
				ModelName: "model-group-2", Model: "azure/my-deployment", Provider: "azure", UpstreamModel: "my-deployment",
				APIBase: "https://example.openai.azure.com", APIKey: "literal-azure-key", APIVersion: "2024-10-21",
				Params: map[string]any{"model": "azure/my-deployment", "api_base": "https://example.openai.azure.com", "api_version": "2024-10-21"},
				Source: "config.yaml:28",
			},
			{
				ModelName: "openai/*", Model: "openai/*", Provider: "openai", UpstreamModel: "*", APIKey: "sk-oa",
				Params: map[string]any{"model": "openai/*"},
				Source: "config.yaml:34",
			},
		},
		Aliases: []Alias{
			{Name: "alias-1", Target: "model-group-1", Source: "config.yaml:38"},
			{Name: "chained", Target: "alias-1", Source: "config.yaml:40"},
			{Name: "hidden-1", Target: "model-group-2", Hidden: true, Source: "config.yaml:39"},
			{Name: "via-wildcard", Target: "openai/gpt-4o-mini", Source: "config.yaml:41"},
		},
		Router: RouterSettings{
			Strategy: StrategyUsageBased, NumRetries: &zero, AllowedFails: 3, CooldownTime: 5 * time.Second,
			Timeout: 30 * time.Second, StreamTimeout: 10 * time.Second, RetryAfter: time.Second, MaxFallbacks: 4,
			Fallbacks:              map[string][]string{"model-group-1": {"model-group-2"}, "*": {"model-group-2"}},
			ContextWindowFallbacks: map[string][]string{"alias-1": {"openai/gpt-4.1"}},
			ContentPolicyFallbacks: map[string][]string{"model-group-2": {"model-group-1"}},
			EnableTagFiltering:     true, EnablePreCallChecks: true,
		},
		General: GeneralSettings{MasterKey: "sk-master", DatabaseURL: "postgres://db/x", BackgroundHealthChecks: true, HealthCheckInterval: 300 * time.Second},
		Warnings: []Warning{{
			Location: Location{File: "config.yaml", Line: 5, Entry: `model_list[0] "model-group-1"`, Key: "litellm_params"},
			Msg:      "not used by modelroute, kept in Deployment.Extra: temperature",
		}},
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreFields(Deployment{}, "ID")); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if c.Deployments[0].ID != "dep-a" || len(c.Deployments[1].ID) != 16 || c.Deployments[1].ID == c.Deployments[2].ID {
		t.Errorf("IDs = %q, %q, %q; want dep-a and two distinct 16-digit hashes", c.Deployments[0].ID, c.Deployments[1].ID, c.Deployments[2].ID)
	}
}

// TestErrors checks that each invalid config is refused, with the error
// naming the file, the entry or key, and the problem.
func TestErrors(t *testing.T) {
	const group = "model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o}\n"
	tests := []struct {
		name     string
		file     string // default "c.yaml"
		config   string
		kind     error
		contains []string
	}{
		{"negative weight", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, weight: -1}\n",
			ErrInvalid, []string{"c.yaml:3", `model_list[0] "g"`, "litellm_params.weight", "must not be negative"}},
		{"negative rpm", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, rpm: -5}\n",
			ErrInvalid, []string{`model_list[0] "g"`, "litellm_params.rpm", "negative"}},
		{"negative tpm", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, tpm: -5}\n",
			ErrInvalid, []string{`model_list[0] "g"`, "litellm_params.tpm", "negative"}},
		{"fractional rpm", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, rpm: 1.5}\n",
			ErrInvalid, []string{"litellm_params.rpm", "whole number"}},
		{"rpm not a number, value not echoed", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, rpm: sk-should-not-print}\n",
			ErrInvalid, []string{"litellm_params.rpm", "must be a number, got a string"}},
		{"negative timeout", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, timeout: -1}\n",
			ErrInvalid, []string{"litellm_params.timeout", "negative"}},
		{"tags not a list", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, tags: a}\n",
			ErrInvalid, []string{"litellm_params.tags", "list of strings"}},
		{"missing model_name", "", "model_list:\n  - litellm_params: {model: openai/x}\n",
			ErrInvalid, []string{"model_list[0]", "model_name is missing"}},
		{"missing model", "", "model_list:\n  - model_name: g\n    litellm_params: {api_key: k}\n",
			ErrInvalid, []string{`model_list[0] "g"`, "litellm_params.model is missing"}},
		{"missing litellm_params", "", "model_list:\n  - model_name: g\n",
			ErrInvalid, []string{`model_list[0] "g"`, "litellm_params is missing"}},
		{"model_list not a list", "", "model_list: {a: b}\n",
			ErrInvalid, []string{"model_list", "must be a list"}},
		{"entry not a map", "", "model_list:\n  - just-a-name\n",
			ErrInvalid, []string{"model_list[0]", "must be a map"}},
		{"duplicate model_info.id", "", "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n    model_info: {id: same}\n  - model_name: b\n    litellm_params: {model: openai/y}\n    model_info: {id: same}\n",
			ErrInvalid, []string{`model_list[1] "b"`, `id "same" is already used by model_list[0] "a"`}},
		{"unknown provider prefix", "", "model_list:\n  - model_name: m\n    litellm_params: {model: mistralai/mistral-7b, api_key: sk-secret-1}\n",
			ErrUnknownProvider, []string{`model_list[0] "m"`, `unknown provider "mistralai"`}},
		{"unknown custom_llm_provider", "", "model_list:\n  - model_name: m\n    litellm_params: {model: llama, custom_llm_provider: nope}\n",
			ErrUnknownProvider, []string{"litellm_params.custom_llm_provider", `"nope"`}},
		{"bare name not inferable", "", "model_list:\n  - model_name: m\n    litellm_params: {model: llama-3-70b}\n",
			ErrUnknownProvider, []string{`model_list[0] "m"`, `bare model "llama-3-70b"`, "provider/model"}},
		{"unsupported provider", "", "model_list:\n  - model_name: b\n    litellm_params: {model: sagemaker/jumpstart-llama}\n",
			ErrUnsupported, []string{`model_list[0] "b"`, `provider "sagemaker"`, "WithSkipUnsupported"}},
		{"azure ai", "", "model_list:\n  - model_name: c\n    litellm_params: {model: azure_ai/claude-3-5-sonnet}\n",
			ErrUnsupported, []string{`model_list[0] "c"`, `provider "azure_ai"`}},
		{"empty azure deployment", "", "model_list:\n  - model_name: d\n    litellm_params: {model: azure/, api_base: https://x}\n",
			ErrUnsupported, []string{`model_list[0] "d"`, `"azure/"`}},
		{"azure without api_base", "", "model_list:\n  - model_name: d\n    litellm_params: {model: azure/dep}\n",
			ErrInvalid, []string{`model_list[0] "d"`, "litellm_params.api_base", "AZURE_API_BASE"}},
		{"unset env var", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, api_key: os.environ/NOT_SET_ANYWHERE}\n",
			ErrEnv, []string{"c.yaml:3", `model_list[0] "g"`, "litellm_params.api_key", "NOT_SET_ANYWHERE is not set"}},
		{"unset master key var", "", group + "general_settings: {master_key: os.environ/NO_MASTER}\n",
			ErrEnv, []string{"general_settings.master_key", "NO_MASTER"}},
		{"alias cycle", "", group + "router_settings:\n  model_group_alias: {a: b, b: c, c: a}\n",
			ErrInvalid, []string{"router_settings.model_group_alias.a", "alias cycle: a → b → c → a"}},
		{"alias self cycle", "", group + "router_settings:\n  model_group_alias: {a: a}\n",
			ErrInvalid, []string{"alias cycle: a → a"}},
		{"alias into cycle", "", group + "router_settings:\n  model_group_alias: {x: a, a: b, b: a}\n",
			ErrInvalid, []string{"alias cycle: a → b → a", "alias chain x → a → … leads into a cycle"}},
		{"alias shadows group", "", group + "router_settings:\n  model_group_alias: {g: g2}\n",
			ErrInvalid, []string{"router_settings.model_group_alias.g", `alias "g" has the name of a model_list group`}},
		{"alias to nothing", "", group + "router_settings:\n  model_group_alias: {a: nowhere}\n",
			ErrInvalid, []string{`alias "a" points at "nowhere"`}},
		// The alias Registry's own rules, checked at load.
		{"alias chain too deep", "", group + "router_settings:\n  model_group_alias: {a1: a2, a2: a3, a3: a4, a4: a5, a5: a6, a6: a7, a7: a8, a8: a9, a9: g}\n",
			ErrInvalid, []string{"router_settings.model_group_alias.a1", `alias "a1": chain a1 → a2 → a3 → a4 → a5 → a6 → a7 → a8 → a9 would be 9 deep, more than the limit of 8`}},
		{"alias name with whitespace", "", group + "router_settings:\n  model_group_alias: {\"my alias\": g}\n",
			ErrInvalid, []string{`alias "my alias": name contains whitespace`}},
		// The router's wildcard rule: "openai/*" serves "openai/gpt-4o",
		// not "openai/" (its "*" stands for at least one character).
		{"alias to a wildcard's empty match", "", "model_list:\n  - model_name: openai/*\n    litellm_params: {model: openai/*}\n" +
			"router_settings:\n  model_group_alias: {a: openai/gpt-4o, b: openai/}\n",
			ErrInvalid, []string{`alias "b" points at "openai/"`}},
		{"alias bad shape", "", group + "router_settings:\n  model_group_alias: {a: [g]}\n",
			ErrInvalid, []string{"router_settings.model_group_alias.a", "must be a group name or {model"}},
		{"alias map without model", "", group + "router_settings:\n  model_group_alias: {a: {hidden: true}}\n",
			ErrInvalid, []string{"router_settings.model_group_alias.a", "names no target"}},
		{"flat fallbacks", "", group + "router_settings:\n  fallbacks: [g, g]\n",
			ErrInvalid, []string{"router_settings.fallbacks", "list of {group: [fallback, …]} maps", "flat list"}},
		{"fallbacks not a list", "", group + "router_settings:\n  fallbacks: {g: [g]}\n",
			ErrInvalid, []string{"router_settings.fallbacks", "got a map"}},
		{"fallback targets not a list", "", group + "router_settings:\n  fallbacks: [{g: g}]\n",
			ErrInvalid, []string{"router_settings.fallbacks[0].g", "list of strings"}},
		{"fallback to unknown", "", group + "router_settings:\n  fallbacks: [{g: [nope]}]\n",
			ErrInvalid, []string{"router_settings.fallbacks[0].g", `fallback "nope" is not a model_list group`}},
		{"fallback from unknown", "", group + "litellm_settings:\n  context_window_fallbacks: [{nope: [g]}]\n",
			ErrInvalid, []string{"litellm_settings.context_window_fallbacks[0].nope", `"nope" is not a model_list group`}},
		{"fallbacks given twice", "", group + "router_settings:\n  fallbacks: [{g: [g]}, {g: [g]}]\n",
			ErrInvalid, []string{"router_settings.fallbacks[1].g", "already given at line 5"}},
		{"default_fallbacks conflicts with *", "", group + "router_settings:\n  fallbacks: [{\"*\": [g]}]\n  default_fallbacks: [g]\n",
			ErrInvalid, []string{"router_settings.default_fallbacks", `conflicts with the "*" entry`}},
		{"unknown routing strategy", "", group + "router_settings: {routing_strategy: fastest}\n",
			ErrInvalid, []string{"router_settings.routing_strategy", `unknown routing strategy "fastest"`, "simple-shuffle"}},
		{"bad bool", "", group + "router_settings: {enable_tag_filtering: maybe}\n",
			ErrInvalid, []string{"router_settings.enable_tag_filtering", "true or false"}},
		// yaml.v3 reports the line where the broken construct starts.
		{"bad YAML", "", "model_list:\n  - model_name: \"g\n",
			ErrSyntax, []string{"c.yaml:2", "invalid YAML", "end of stream"}},
		{"bad YAML indentation", "", "model_list:\n  - model_name: g\n   litellm_params: x\n",
			ErrSyntax, []string{"c.yaml:2:", "invalid YAML"}},
		{"bad YAML flow", "", "model_list:\n  - model_name: g\n    litellm_params: {model: x\n",
			ErrSyntax, []string{"c.yaml:3:", "invalid YAML"}},
		{"bad YAML on line 1", "", "a: b: c\n",
			ErrSyntax, []string{"c.yaml:1:", "invalid YAML"}},
		{"duplicate key", "", "model_list:\n  - model_name: g\n    model_name: h\n    litellm_params: {model: openai/x}\n",
			ErrSyntax, []string{"c.yaml:3", "model_list[0].model_name", "duplicate key (first defined at line 2)"}},
		{"duplicate top-level key", "", group + "model_list: []\n",
			ErrSyntax, []string{"c.yaml:4", "model_list", "duplicate key"}},
		{"two documents", "", group + "---\nmodel_list: []\n",
			ErrSyntax, []string{"more than one YAML document"}},
		{"empty file", "", "  \n# nothing\n",
			ErrInvalid, []string{"c.yaml", "empty"}},
		{"top level is a list", "", "- a\n- b\n",
			ErrInvalid, []string{"must be a map of sections"}},
		{"bad JSON", "c.json", "{\"model_list\": [\n  {\"model_name\": \"g\",}\n]}",
			ErrSyntax, []string{"c.json:2", "invalid JSON at line 2, column 22"}},
		{"JSON-looking YAML file", "", "{\"model_list\": [}\n",
			ErrSyntax, []string{"invalid JSON at line 1"}},
		{"JSON duplicate key", "c.json", `{"model_list": [], "model_list": []}`,
			ErrSyntax, []string{"c.json:1", "duplicate key"}},
		{"environment_variables not a map", "", group + "environment_variables: [A]\n",
			ErrInvalid, []string{"environment_variables", "must be a map"}},
		{"alias bomb", "", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\nmodel_list:\n  - model_name: g\n    litellm_params: {model: openai/x, bomb: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]}\n",
			ErrInvalid, []string{"litellm_params.bomb", "too many alias expansions"}},
		{"self-referencing anchor", "", "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, loop: &l [*l]}\n",
			ErrInvalid, []string{"litellm_params.loop", "too deeply nested"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "c.yaml"
			}
			c, err := Parse([]byte(tt.config), file, WithEnv(envOf(map[string]string{"OPENAI_API_KEY": "k"})))
			if err == nil {
				t.Fatalf("loaded %+v; want an error", c)
			}
			if c != nil {
				t.Errorf("returned a Config with the error")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error is not %v: %v", tt.kind, err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q:\n%v", s, err)
				}
			}
			for _, secret := range []string{"sk-should-not-print", "sk-secret-1"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a secret: %v", err)
				}
			}
		})
	}
}

// TestAllProblemsReported: one load reports every problem, in file order.
func TestAllProblemsReported(t *testing.T) {
	config := `model_list:
  - model_name: a
    litellm_params: {model: openai/x, weight: -1}
  - model_name: b
    litellm_params: {model: cohere/y}
  - model_name: c
    litellm_params: {model: openai/z, api_key: os.environ/UNSET}
router_settings:
  routing_strategy: nope
  fallbacks: [a, b]
`
	_, err := Parse([]byte(config), "c.yaml", WithEnv(envOf(nil)))
	ps := problems(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, p.Location.String())
	}
	want := []string{
		`c.yaml:3: model_list[0] "a": litellm_params.weight`,
		`c.yaml:5: model_list[1] "b": litellm_params.model`,
		`c.yaml:7: model_list[2] "c": litellm_params.api_key`,
		`c.yaml:9: router_settings.routing_strategy`,
		`c.yaml:10: router_settings.fallbacks`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem locations (-want +got):\n%s\nerror:\n%v", diff, err)
	}
	for i, kind := range []error{ErrInvalid, ErrUnsupported, ErrEnv, ErrInvalid, ErrInvalid} {
		if i < len(ps) && !errors.Is(ps[i], kind) {
			t.Errorf("problem %d = %v, want %v", i, ps[i], kind)
		}
	}
}

func TestWarnings(t *testing.T) {
	config := `model_list:
  - model_name: g
    litellm_params: {model: openai/x, region_name: eu, mock_timeout: true}
    tpm: 1000
    extra: 1
  - model_name: img
    litellm_params: {model: dall-e-3}
    model_info: {mode: image_generation}
router_settings:
  client_ttl: os.environ/REDIS_HOST
  num_retries: 3
  model_group_alias:
    a: {model: g, hidden: false, note: x}
litellm_settings:
  drop_params: true
  num_retries: 5
general_settings:
  master_key: sk-1
  database_url: postgres://x
guardrails: []
`
	c, err := Parse([]byte(config), "c.yaml", WithEnv(envOf(nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`c.yaml:3: model_list[0] "g": litellm_params: not used by modelroute, kept in Deployment.Extra: region_name, mock_timeout`,
		`c.yaml:3: model_list[0] "g": litellm_params.api_key: not given and OPENAI_API_KEY is not set; requests go without a key`,
		`c.yaml:4: model_list[0] "g": tpm: not read at this level (LiteLLM reads it from litellm_params); ignored`,
		`c.yaml:5: model_list[0] "g": extra: not read at this level; ignored`,
		`c.yaml:7: model_list[1] "img": litellm_params.api_key: not given and OPENAI_API_KEY is not set; requests go without a key`,
		`c.yaml:8: model_list[1] "img": model_info.mode: mode "image_generation": modelroute routes chat and embedding requests only; loaded, but it serves neither`,
		`c.yaml:10: router_settings.client_ttl: not used by modelroute; ignored`,
		`c.yaml:13: router_settings.model_group_alias.a.note: not used by modelroute; ignored`,
		`c.yaml:15: litellm_settings.drop_params: not used by modelroute; ignored`,
		`c.yaml:16: litellm_settings.num_retries: also set as router_settings.num_retries, which wins; ignored`,
		`c.yaml:20: guardrails: not used by modelroute; ignored`,
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if *c.Router.NumRetries != 3 {
		t.Errorf("NumRetries = %d, want router_settings' 3", *c.Router.NumRetries)
	}
	if got := c.Deployments[0].Extra; !cmp.Equal(got, map[string]any{"region_name": "eu", "mock_timeout": true}) {
		t.Errorf("Extra = %v", got)
	}
}

func TestProviders(t *testing.T) {
	tests := []struct {
		model, custom      string
		provider, upstream string
	}{
		{"openai/gpt-4o", "", "openai", "gpt-4o"},
		{"openai/llava-hf/llava-v1.6-vicuna-7b-hf", "", "openai", "llava-hf/llava-v1.6-vicuna-7b-hf"},
		{"fireworks_ai/accounts/fireworks/models/llama", "", "fireworks_ai", "accounts/fireworks/models/llama"},
		{"groq/*", "", "groq", "*"},
		{"gpt-3.5-turbo", "", "openai", "gpt-3.5-turbo"},
		{"gpt-4o-mini", "", "openai", "gpt-4o-mini"},
		{"chatgpt-4o-latest", "", "openai", "chatgpt-4o-latest"},
		{"o1", "", "openai", "o1"},
		{"o1-preview", "", "openai", "o1-preview"},
		{"o3-mini", "", "openai", "o3-mini"},
		{"o4-mini", "", "openai", "o4-mini"},
		{"text-embedding-3-small", "", "openai", "text-embedding-3-small"},
		{"dall-e-3", "", "openai", "dall-e-3"},
		{"whisper-1", "", "openai", "whisper-1"},
		{"tts-1-hd", "", "openai", "tts-1-hd"},
		{"claude-3-haiku-20240307", "", "anthropic", "claude-3-haiku-20240307"},
		{"meta-llama/Llama-3-70b", "openai", "openai", "meta-llama/Llama-3-70b"},
		{"azure/gpt-5", "azure", "azure", "gpt-5"},
		{"anthropic/claude-3-opus-20240229", "", "anthropic", "claude-3-opus-20240229"},
		{"bedrock/anthropic.claude-3-opus-20240229-v1:0", "", "bedrock", "anthropic.claude-3-opus-20240229-v1:0"},
		{"bedrock/converse/meta.llama3-70b-instruct-v1:0", "", "bedrock", "meta.llama3-70b-instruct-v1:0"},
		{"bedrock/invoke/us.anthropic.claude-3-5-sonnet-20240620-v1:0", "", "bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0"},
		{"amazon.titan-embed-text-v1", "", "bedrock", "amazon.titan-embed-text-v1"},
		{"anthropic.claude-3-sonnet-20240229-v1:0", "", "bedrock", "anthropic.claude-3-sonnet-20240229-v1:0"},
		{"us.anthropic.claude-3-5-sonnet-20240620-v1:0", "", "bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0"},
		{"gemini-pro", "", "vertex_ai", "gemini-pro"},
		{"vertex_ai/gemini-1.5-pro", "", "vertex_ai", "gemini-1.5-pro"},
		{"gemini/gemini-pro", "", "gemini", "gemini-pro"},
		{"vertex_ai/claude-3-5-sonnet@20240620", "", "vertex_ai", "claude-3-5-sonnet@20240620"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			params := "model: " + tt.model
			if tt.custom != "" {
				params += ", custom_llm_provider: " + tt.custom
			}
			config := "model_list:\n  - model_name: g\n    litellm_params: {" + params + ", api_key: k, api_base: http://h}\n"
			c, err := Parse([]byte(config), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			d := c.Deployments[0]
			if d.Provider != tt.provider || d.UpstreamModel != tt.upstream || d.Model != tt.model {
				t.Errorf("got provider %q upstream %q model %q; want %q %q %q", d.Provider, d.UpstreamModel, d.Model, tt.provider, tt.upstream, tt.model)
			}
		})
	}
	for _, bare := range []string{"gpt-3.5-turbo-instruct", "command-r"} {
		t.Run(bare, func(t *testing.T) {
			config := "model_list:\n  - model_name: g\n    litellm_params: {model: " + bare + "}\n"
			_, err := Parse([]byte(config), "c.yaml")
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "(inferred from the bare name") {
				t.Errorf("bare %q: err = %v; want ErrUnsupported naming the inferred provider", bare, err)
			}
		})
	}
}

func TestSkipUnsupported(t *testing.T) {
	config := `model_list:
  - model_name: ok
    litellm_params: {model: openai/x, api_key: k}
  - model_name: mixed
    litellm_params: {model: openai/y, api_key: k}
  - model_name: mixed
    litellm_params: {model: sagemaker/llama}
  - model_name: gone
    litellm_params: {model: cohere/command-r}
router_settings:
  model_group_alias: {to-gone: gone, to-alias: to-gone, to-mixed: mixed}
  fallbacks: [{ok: [gone, mixed]}, {gone: [ok]}]
`
	c, err := Parse([]byte(config), "c.yaml", WithSkipUnsupported())
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, d := range c.Deployments {
		groups = append(groups, d.ModelName)
	}
	if diff := cmp.Diff([]string{"ok", "mixed"}, groups); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Alias{{Name: "to-mixed", Target: "mixed", Source: "c.yaml:11"}}, c.Aliases); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"ok": {"mixed"}}, c.Router.Fallbacks); diff != "" {
		t.Errorf("fallbacks (-want +got):\n%s", diff)
	}
	text := warningsText(c)
	for _, s := range []string{
		`c.yaml:7: model_list[2] "mixed": litellm_params.model: deployment skipped: provider "sagemaker"`,
		`c.yaml:9: model_list[3] "gone": litellm_params.model: deployment skipped: provider "cohere"`,
		`router_settings.model_group_alias.to-gone: alias "to-gone" removed: every deployment of "gone" was skipped`,
		`router_settings.model_group_alias.to-alias: alias "to-alias" removed: every deployment of "gone" was skipped`,
		`router_settings.fallbacks[0].ok: fallback "gone" removed`,
		`router_settings.fallbacks[1].gone: removed: every deployment of "gone" was skipped`,
	} {
		if !strings.Contains(text, s) {
			t.Errorf("warnings lack %q:\n%s", s, text)
		}
	}
}

func TestEnvironment(t *testing.T) {
	config := `environment_variables:
  FROM_FILE: file-value
  SHADOWED: file-wins
  PORT: 6379
model_list:
  - model_name: g
    litellm_params:
      model: openai/x
      api_key: os.environ/FROM_FILE
      api_base: "os.environ/BASE"
      rpm: os.environ/PORT
      region: os.environ/SHADOWED
general_settings:
  master_key: os.environ/SHADOWED
  health_check_interval: os.environ/PORT
`
	env := envOf(map[string]string{"BASE": "http://from-env", "SHADOWED": "process"})
	c, err := Parse([]byte(config), "c.yaml", WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Deployments[0]
	if d.APIKey != "file-value" || d.APIBase != "http://from-env" || d.RPM != 6379 || d.Extra["region"] != "file-wins" {
		t.Errorf("deployment = key %q base %q rpm %d region %v", d.APIKey, d.APIBase, d.RPM, d.Extra["region"])
	}
	if c.General.MasterKey != "file-wins" || c.General.HealthCheckInterval != 6379*time.Second {
		t.Errorf("general = %+v", c.General)
	}
	if got := d.Params["api_key"]; got != nil {
		t.Errorf("Params holds api_key %v", got)
	}
	if got := d.Params["api_base"]; got != "os.environ/BASE" {
		t.Errorf("Params[api_base] = %v, want the reference as written", got)
	}

	// A variable holding something that is not a number is named, its value is not.
	bad := "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, api_key: k, rpm: os.environ/RPM}\n"
	_, err = Parse([]byte(bad), "c.yaml", WithEnv(envOf(map[string]string{"RPM": "sk-secret-rpm"})))
	if err == nil || !strings.Contains(err.Error(), "the value of RPM is not") || strings.Contains(err.Error(), "sk-secret-rpm") {
		t.Errorf("err = %v", err)
	}
}

func TestSecretParamsHidden(t *testing.T) {
	config := `model_list:
  - model_name: g
    litellm_params:
      model: openai/x
      api_key: sk-literal
      aws_secret_access_key: s1
      aws_access_key_id: s2
      vertex_credentials: s3
      extra_headers: {Authorization: Bearer s4}
      azure_ad_token: s5
      max_tokens: 10
`
	c, err := Parse([]byte(config), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"model": "openai/x", "max_tokens": int64(10)}
	if diff := cmp.Diff(want, c.Deployments[0].Params); diff != "" {
		t.Errorf("Params (-want +got):\n%s", diff)
	}
}

func TestIDs(t *testing.T) {
	entry := "  - model_name: g\n    litellm_params: {model: openai/x, api_key: os.environ/KEY}\n"
	config := "model_list:\n" + entry + entry + entry +
		"  - model_name: h\n    litellm_params: {model: openai/x, api_key: os.environ/KEY}\n"
	load := func(key string) []string {
		t.Helper()
		c, err := Parse([]byte(config), "c.yaml", WithEnv(envOf(map[string]string{"KEY": key})))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range c.Deployments {
			ids = append(ids, d.ID)
		}
		return ids
	}
	ids := load("k1")
	base := ids[0]
	want := []string{base, base + "-2", base + "-3", ids[3]}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	if ids[3] == base || len(ids[3]) != 16 {
		t.Errorf("model_name does not change the hash: %q", ids[3])
	}
	if diff := cmp.Diff(ids, load("k2-rotated")); diff != "" {
		t.Errorf("rotating the key in the environment changed IDs (-before +after):\n%s", diff)
	}
}

func TestStrategies(t *testing.T) {
	for name, want := range map[string]Strategy{
		"simple-shuffle": StrategySimpleShuffle, "least-busy": StrategyLeastBusy,
		"latency-based-routing": StrategyLatencyBased, "usage-based-routing": StrategyUsageBased,
		"usage-based-routing-v2": StrategyUsageBased, "cost-based-routing": StrategyCostBased,
		"round-robin": StrategyRoundRobin,
	} {
		c, err := Parse([]byte("router_settings: {routing_strategy: "+name+"}\n"), "c.yaml")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Router.Strategy != want {
			t.Errorf("%s: got %v, want %v", name, c.Router.Strategy, want)
		}
	}
	if got := Strategy(42).String(); got != "Strategy(42)" {
		t.Errorf("String() = %q", got)
	}
}

func TestSettingsPrecedence(t *testing.T) {
	const group = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_key: k}\n  - model_name: b\n    litellm_params: {model: openai/y, api_key: k}\n"
	t.Run("litellm_settings used when router_settings is silent", func(t *testing.T) {
		c, err := Parse([]byte(group+"litellm_settings:\n  num_retries: 4\n  request_timeout: 600\n  fallbacks: [{a: [b]}]\n  default_fallbacks: [b]\n"), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if *c.Router.NumRetries != 4 || c.Router.Timeout != 600*time.Second {
			t.Errorf("router = %+v", c.Router)
		}
		if diff := cmp.Diff(map[string][]string{"a": {"b"}, "*": {"b"}}, c.Router.Fallbacks); diff != "" {
			t.Errorf("fallbacks (-want +got):\n%s", diff)
		}
	})
	t.Run("router_settings wins", func(t *testing.T) {
		c, err := Parse([]byte(group+"router_settings:\n  timeout: 5\n  fallbacks: [{b: [a]}]\nlitellm_settings:\n  request_timeout: 600\n  fallbacks: [{a: [b]}]\n"), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if c.Router.Timeout != 5*time.Second {
			t.Errorf("Timeout = %v", c.Router.Timeout)
		}
		if diff := cmp.Diff(map[string][]string{"b": {"a"}}, c.Router.Fallbacks); diff != "" {
			t.Errorf("fallbacks (-want +got):\n%s", diff)
		}
		text := warningsText(c)
		for _, s := range []string{"litellm_settings.request_timeout: also set as router_settings.timeout", "litellm_settings.fallbacks: also set as router_settings.fallbacks"} {
			if !strings.Contains(text, s) {
				t.Errorf("warnings lack %q:\n%s", s, text)
			}
		}
	})
	t.Run("empty fallbacks are nil", func(t *testing.T) {
		c, err := Parse([]byte(group+"litellm_settings:\n  fallbacks: []\n  context_window_fallbacks: []\n"), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if c.Router.Fallbacks != nil || c.Router.ContextWindowFallbacks != nil || c.Router.NumRetries != nil {
			t.Errorf("router = %+v", c.Router)
		}
	})
}

func TestYAMLFeatures(t *testing.T) {
	config := "\ufeffdefaults: &defaults\n  api_key: k\n  rpm: 10\nmodel_list:\n  - model_name: a\n    litellm_params:\n      <<: *defaults\n      model: openai/x\n      rpm: 20\n  - model_name: b\n    litellm_params: {<<: *defaults, model: openai/y}\n"
	c, err := Parse([]byte(strings.ReplaceAll(config, "\n", "\r\n")), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := c.Deployments[0], c.Deployments[1]; a.RPM != 20 || a.APIKey != "k" || b.RPM != 10 || b.APIKey != "k" {
		t.Errorf("merge keys: a=%+v b=%+v", a, b)
	}
}

func TestJSON(t *testing.T) {
	config := `{
  "model_list": [
    {"model_name": "g", "litellm_params": {"model": "openai/x", "api_key": "k", "rpm": 5, "weight": 1.5}}
  ],
  "router_settings": {"model_group_alias": {"a": {"model": "g", "hidden": true}}, "num_retries": 2}
}`
	c, err := Parse([]byte(config), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	d := c.Deployments[0]
	if d.RPM != 5 || d.Weight != 1.5 || d.Source != "config.json:3" || *c.Router.NumRetries != 2 {
		t.Errorf("deployment %+v router %+v", d, c.Router)
	}
	if diff := cmp.Diff([]Alias{{Name: "a", Target: "g", Hidden: true, Source: "config.json:5"}}, c.Aliases); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
}

func TestInclude(t *testing.T) {
	fsys := fstest.MapFS{
		"conf/main.yaml":      {Data: []byte("include: [models/a.yaml, b.yaml]\nmodel_list:\n  - model_name: main\n    litellm_params: {model: openai/m, api_key: k}\nrouter_settings:\n  model_group_alias: {x: from-a}\n")},
		"conf/models/a.yaml":  {Data: []byte("model_list:\n  - model_name: from-a\n    litellm_params: {model: openai/a, api_key: k}\nrouter_settings: {}\n")},
		"conf/b.yaml":         {Data: []byte("model_list:\n  - model_name: from-b\n    litellm_params: {model: openai/b, api_key: k, rpm: -1}\n")},
		"conf/nested.yaml":    {Data: []byte("include: [b.yaml]\n")},
		"conf/nest-main.yaml": {Data: []byte("include: [nested.yaml]\n")},
		"conf/twice.yaml":     {Data: []byte("include: [b.yaml, ./b.yaml]\n")},
	}
	_, err := Load("conf/main.yaml", WithFS(fsys))
	if err == nil || !strings.Contains(err.Error(), `conf/b.yaml:3: model_list[0] "from-b": litellm_params.rpm: must not be negative`) {
		t.Fatalf("error in an included file: %v", err)
	}

	fsys["conf/b.yaml"] = &fstest.MapFile{Data: []byte("model_list:\n  - model_name: from-b\n    litellm_params: {model: openai/b, api_key: k}\n")}
	c, err := Load("conf/main.yaml", WithFS(fsys))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range c.Deployments {
		got = append(got, d.ModelName+"@"+d.Source)
	}
	if diff := cmp.Diff([]string{"main@conf/main.yaml:3", "from-a@conf/models/a.yaml:2", "from-b@conf/b.yaml:2"}, got); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	if !strings.Contains(warningsText(c), "conf/models/a.yaml:4: router_settings: only model_list is read from an included file; ignored") {
		t.Errorf("warnings:\n%s", warningsText(c))
	}

	for file, want := range map[string]string{
		"conf/nest-main.yaml": "conf/nested.yaml:1: include: an included file may not include others",
		"conf/twice.yaml":     `include[1] "./b.yaml": file is included more than once`,
		"conf/missing.yaml":   "file does not exist",
	} {
		_, err := Load(file, WithFS(fsys))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", file, err, want)
		}
	}
	if _, err := Load("conf/missing.yaml", WithFS(fsys)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v is not fs.ErrNotExist", err)
	}
	if _, err := Load("conf/twice.yaml", WithFS(fsys)); !errors.Is(err, ErrInclude) {
		t.Errorf("twice: %v is not ErrInclude", err)
	}
}

func TestLocationString(t *testing.T) {
	for _, tt := range []struct {
		loc  Location
		want string
	}{
		{Location{}, ""},
		{Location{File: "c.yaml"}, "c.yaml"},
		{Location{File: "c.yaml", Line: 3, Entry: `model_list[0] "g"`, Key: "litellm_params.rpm"}, `c.yaml:3: model_list[0] "g": litellm_params.rpm`},
		{Location{File: "c.yaml", Key: "router_settings"}, "c.yaml: router_settings"},
	} {
		if got := tt.loc.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.loc, got, tt.want)
		}
	}
	if got := (Warning{Msg: "m"}).String(); got != "m" {
		t.Errorf("Warning.String() = %q", got)
	}
	if got := (&Error{Err: ErrInvalid}).Error(); got != "litellm: invalid value" {
		t.Errorf("Error() = %q", got)
	}
}

// TestWithTable: a prefix the default table lacks loads once the caller adds
// it, as for testdata's siliconflow/ and zhipu/ deployments.
func TestWithTable(t *testing.T) {
	table := provider.DefaultTable()
	for _, s := range []provider.Spec{
		{Prefix: "siliconflow", BaseURL: "https://api.siliconflow.cn/v1", KeyEnv: "SILICONFLOW_API_KEY"},
		{Prefix: "zhipu", BaseURL: "https://open.bigmodel.cn/api/paas/v4", KeyEnv: "ZHIPU_API_KEY"},
	} {
		if err := table.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(filepath.Join(testdataDir, "table-extra.yaml"), WithEnv(fakeEnv), WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Deployments) != 2 || len(c.Router.Fallbacks) != 2 || c.Router.Strategy != StrategyUsageBased {
		t.Errorf("deployments %d, fallbacks %v, strategy %v", len(c.Deployments), c.Router.Fallbacks, c.Router.Strategy)
	}
	if d := c.Deployments[0]; d.Provider != "siliconflow" || d.UpstreamModel != "deepseek-ai/DeepSeek-V3" {
		t.Errorf("deployment 0 = %s %s", d.Provider, d.UpstreamModel)
	}

	// Without it, the error lists the prefixes that are served.
	_, err = Parse([]byte("model_list:\n  - model_name: g\n    litellm_params: {model: siliconflow/x}\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), "served: anthropic, azure,") {
		t.Errorf("err = %v", err)
	}
	// A LiteLLM prefix that speaks OpenAI but has no table entry says how to add one.
	_, err = Parse([]byte("model_list:\n  - model_name: g\n    litellm_params: {model: openai_like/x, api_base: http://h}\n"), "c.yaml")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "WithTable") {
		t.Errorf("err = %v", err)
	}
}

func TestAPIBase(t *testing.T) {
	for _, tt := range []struct {
		params string
		env    map[string]string
		want   string // error substring; "" loads
	}{
		{"model: openai/x, api_key: k, api_base: not-a-url", nil, "litellm_params.api_base: must be an http:// or https:// URL"},
		{"model: openai/x, api_key: k, api_base: ftp://h", nil, "must be an http:// or https:// URL"},
		{"model: openai/x, api_key: k, api_base: os.environ/B", map[string]string{"B": "nope"}, "must be an http:// or https:// URL"},
		{"model: hosted_vllm/x", nil, `provider "hosted_vllm" needs api_base (or HOSTED_VLLM_API_BASE set)`},
		{"model: hosted_vllm/x", map[string]string{"HOSTED_VLLM_API_BASE": "http://vllm:8000/v1"}, ""},
		{"model: azure/d, api_key: k", map[string]string{"AZURE_API_BASE": "https://r.openai.azure.com"}, ""},
		{"model: ollama/llama3", nil, ""},
	} {
		_, err := Parse([]byte("model_list:\n  - model_name: g\n    litellm_params: {"+tt.params+"}\n"), "c.yaml", WithEnv(envOf(tt.env)))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.params, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %q", tt.params, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "nope") {
			t.Errorf("error repeats the value of a variable: %v", err)
		}
	}
}

// TestHostileInputs: inputs that would take exponential or cubic time in a
// naive loader finish at once (a regression here hangs the test).
func TestHostileInputs(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 {api_key: k}\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [*a%d, *a%d, *a%d, *a%d]}\n", i, i, i-1, i-1, i-1, i-1)
	}
	b.WriteString("model_list:\n  - model_name: g\n    litellm_params: {<<: *a30, model: openai/x}\n")
	c, err := Parse([]byte(b.String()), "c.yaml")
	if err != nil {
		t.Fatalf("merge chain: %v", err)
	}
	if c.Deployments[0].APIKey != "k" {
		t.Errorf("merged api_key = %q", c.Deployments[0].APIKey)
	}

	b.Reset()
	b.WriteString("model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, api_key: k}\nrouter_settings:\n  model_group_alias:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "    a%d: a%d\n", i, i+1)
	}
	_, err = Parse([]byte(b.String()), "c.yaml")
	// Two problems, each once: the chain is deeper than the alias
	// Registry allows (reported where it first is), and it ends nowhere.
	if ps := problems(t, err); len(ps) != 2 || !strings.Contains(err.Error(), `alias "a4999" points at "a5000"`) ||
		!strings.Contains(err.Error(), `alias "a4991": chain a4991 → a4992 → a4993 → a4994 → a4995 → a4996 → a4997 → a4998 → a4999 would be 9 deep`) {
		t.Errorf("5000-alias chain to nowhere: want two problems, got %d: %.600v", len(ps), err)
	}

	for _, deep := range []string{strings.Repeat("[", 100000), strings.Repeat("{\"a\":", 100000)} {
		for _, name := range []string{"c.yaml", "c.json"} {
			if _, err := Parse([]byte(deep), name); !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalid) {
				t.Errorf("%s, deep nesting: err = %.200v", name, err)
			}
		}
	}
}

// router_settings.redis_* and redis_url name the Redis replicas share;
// litellm_settings.require_auth_for_metrics_endpoint guards /metrics.
func TestRedisAndMetricsSettings(t *testing.T) {
	const models = "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, api_key: k}\n"
	tests := []struct {
		name    string
		config  string
		want    Redis
		auth    bool
		wantErr string
	}{
		{name: "none", config: models},
		{name: "host port password", config: models + "router_settings:\n  redis_host: os.environ/REDIS_HOST\n  redis_port: 6380\n  redis_password: os.environ/REDIS_PASSWORD\n",
			want: Redis{Host: "10.0.0.5", Port: 6380, Password: "sk-redis"}},
		{name: "url", config: models + "router_settings:\n  redis_url: redis://:pw@127.0.0.1:6379/2\nlitellm_settings:\n  require_auth_for_metrics_endpoint: true\n",
			want: Redis{URL: "redis://:pw@127.0.0.1:6379/2"}, auth: true},
		{name: "port out of range", config: models + "router_settings:\n  redis_host: h\n  redis_port: 70000\n", wantErr: "router_settings.redis_port"},
		{name: "port not a number", config: models + "router_settings:\n  redis_host: h\n  redis_port: high\n", wantErr: "router_settings.redis_port"},
		{name: "unset variable", config: models + "router_settings:\n  redis_password: os.environ/NOPE\n", wantErr: "NOPE is not set"},
	}
	env := envOf(map[string]string{"REDIS_HOST": "10.0.0.5", "REDIS_PASSWORD": "sk-redis"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.config), "c.yaml", WithEnv(env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Router.Redis); diff != "" {
				t.Errorf("Redis (-want +got):\n%s", diff)
			}
			if c.Router.Redis.IsZero() != (tt.want == Redis{}) {
				t.Errorf("IsZero = %v", c.Router.Redis.IsZero())
			}
			if c.LiteLLM.RequireAuthForMetrics != tt.auth {
				t.Errorf("RequireAuthForMetrics = %v, want %v", c.LiteLLM.RequireAuthForMetrics, tt.auth)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings: %v", c.Warnings)
			}
		})
	}
}
