package litellm

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

// testdataDir holds the loader's own configs, written for this project: one
// file per feature the loader accepts or refuses (testdataConfigs).
const testdataDir = "testdata/configs"

// corpusEnv names the environment variable that points the extra corpus
// tests at a folder of real LiteLLM proxy configs (the project's shared
// litellm-configs, whose expected outcomes are in corpus). .ci/run sets it;
// without it those tests say they did not run.
const corpusEnv = "MODELROUTE_LITELLM_CORPUS"

// outcome is what loading one corpus file must give.
type outcome struct {
	deployments int      // deployments loaded; -1: refused
	skipped     int      // "deployment skipped" warnings (WithSkipUnsupported only)
	kind        error    // refused: a sentinel every problem reported must not contradict, matched with errors.Is
	contains    []string // refused: substrings of the error (entries, providers, keys)
}

func loads(n int) outcome { return outcome{deployments: n} }
func loadsSkipping(n, skipped int) outcome {
	return outcome{deployments: n, skipped: skipped}
}
func refused(kind error, contains ...string) outcome {
	return outcome{deployments: -1, kind: kind, contains: contains}
}

// corpus is the expected outcome for every file, plain and with
// WithSkipUnsupported.
var corpus = map[string]struct{ plain, skip outcome }{
	"cookbook_rag_gateway__litellm_config.example.yaml": {
		refused(ErrInvalid, "router_settings.fallbacks", "flat list"),
		refused(ErrInvalid, "router_settings.fallbacks", "flat list"),
	},
	"deploy_aws__example-config.yaml":                     {loads(6), loads(6)},
	"example_config_yaml___health_check_test_config.yaml": {loads(1), loads(1)},
	"example_config_yaml__adaptive_router_example.yaml": {
		refused(ErrUnsupported, `model_list[0] "smart-cheap-router"`, `provider "auto_router"`),
		loadsSkipping(2, 1),
	},
	"example_config_yaml__aliases_config.yaml": {loads(3), loads(3)},
	"example_config_yaml__azure_config.yaml":   {loads(2), loads(2)},
	"example_config_yaml__china_domestic_free_sources.yaml": {
		refused(ErrUnknownProvider, `model_list[0] "sf-deepseek-r1"`, `"siliconflow"`, `model_list[2] "glm-4-flash"`, `"zhipu"`),
		refused(ErrUnknownProvider, `model_list[0] "sf-deepseek-r1"`, `"siliconflow"`, `model_list[2] "glm-4-flash"`, `"zhipu"`),
	},
	"example_config_yaml__enterprise_config.yaml": {loads(1), loads(1)},
	"example_config_yaml__hosted_litellm.yaml": {
		refused(ErrSyntax, "hosted_litellm.yaml:8:", "invalid YAML"),
		refused(ErrSyntax, "hosted_litellm.yaml:8:", "invalid YAML"),
	},
	"example_config_yaml__load_balancer.yaml": {
		refused(ErrUnknownProvider, `model_list[3] "mistral-7b-instruct"`, `"mistralai"`),
		refused(ErrUnknownProvider, `model_list[3] "mistral-7b-instruct"`, `"mistralai"`),
	},
	"example_config_yaml__oai_misc_config.yaml": {loads(5), loads(5)},
	"example_config_yaml__otel_test_config.yaml": {
		refused(ErrUnsupported, `model_list[2] "rerank-english-v3.0"`, `provider "cohere"`),
		loadsSkipping(3, 1),
	},
	"example_config_yaml__pass_through_config.yaml": {loads(7), loads(7)},
	"included_models.yaml":                          {loads(1), loads(1)},
	"litellm_proxy___new_secret_config.yaml":        {loads(4), loads(4)},
	"litellm_proxy__proxy_config.yaml": {
		refused(ErrSyntax, "proxy_config.yaml:25:", "invalid YAML"),
		refused(ErrSyntax, "proxy_config.yaml:25:", "invalid YAML"),
	},
	"root__proxy_server_config.yaml": {
		refused(ErrUnsupported, `model_list[5] "sagemaker-completion-model"`, `provider "sagemaker"`,
			`model_list[7] "dall-e-2"`, `"azure/"`, `model_list[18] "gpt-instruct"`, `provider "text-completion-openai"`),
		loadsSkipping(16, 3),
	},
	"tests_batches_tests_local-litellm__litellm-config.yaml": {loads(7), loads(7)},
	"tests_e2e_claude_code__test_config.yaml": {
		refused(ErrUnsupported, `model_list[12] "claude-haiku-4-5-azure"`, `provider "azure_ai"`),
		loadsSkipping(12, 3),
	},
	"tests_e2e_gateway__litellm-config.yml": {loads(14), loads(14)},
	"tests_integration__proxy_config.yaml":  {loads(0), loads(0)},
	"tests_local_testing_test_configs__test_config_no_auth.yaml": {
		refused(ErrUnsupported, `model_list[16] "dall-e-2"`, `"azure/"`),
		loadsSkipping(20, 1),
	},
	"tests_local_testing_test_configs__test_custom_logger.yaml": {loads(3), loads(3)},
	"tests_proxy_unit_tests_example_config_yaml__config_with_env_vars.yaml": {
		refused(ErrSyntax, "litellm_settings.success_callback", "duplicate key"),
		refused(ErrSyntax, "litellm_settings.success_callback", "duplicate key"),
	},
	"tests_proxy_unit_tests_example_config_yaml__config_with_include.yaml": {loads(1), loads(1)},
	"tests_proxy_unit_tests_example_config_yaml__config_with_missing_include.yaml": {
		refused(ErrInclude, `include[0] "non-existent-file.yaml"`, "not found"),
		refused(ErrInclude, `include[0] "non-existent-file.yaml"`, "not found"),
	},
}

// testdataConfigs is the expected outcome for every file in testdataDir,
// plain and with WithSkipUnsupported; env, when set, replaces fakeEnv.
var testdataConfigs = map[string]expected{
	"full.yaml":                 {plain: loads(4), skip: loads(4)},
	"wildcards.yaml":            {plain: loads(3), skip: loads(3)},
	"include.yaml":              {plain: loads(2), skip: loads(2)},
	"include_models.yaml":       {plain: loads(1), skip: loads(1)},
	"litellm_settings.yaml":     {plain: loads(3), skip: loads(3)},
	"environment.yaml":          {plain: loads(3), skip: loads(3)},
	"inferred.yaml":             {plain: loads(5), skip: loads(5)},
	"identical.yaml":            {plain: loads(3), skip: loads(3)},
	"empty.yaml":                {plain: loads(0), skip: loads(0)},
	"config.json":               {plain: loads(2), skip: loads(2)},
	"unknown-keys.yaml":         {plain: loads(1), skip: loads(1)},
	"nested-include-inner.yaml": {plain: loads(1), skip: loads(1)},
	"unsupported.yaml": {
		plain: refused(ErrUnsupported, `model_list[1] "on-sagemaker"`, `provider "sagemaker"`, `model_list[2] "claude-on-azure-ai"`, `provider "azure_ai"`,
			`model_list[3] "rerank"`, `provider "cohere"`, `model_list[4] "legacy"`, `provider "text-completion-openai"`),
		skip: loadsSkipping(1, 4),
	},
	"native.yaml": {plain: loads(5), skip: loads(5)},
	"unknown-provider.yaml": {
		plain: refused(ErrUnknownProvider, `model_list[1] "mistral"`, `"mistralai"`),
		skip:  refused(ErrUnknownProvider, `model_list[1] "mistral"`, `"mistralai"`),
	},
	"table-extra.yaml": {
		plain: refused(ErrUnknownProvider, `model_list[0] "sf"`, `"siliconflow"`, `model_list[1] "glm"`, `"zhipu"`),
		skip:  refused(ErrUnknownProvider, `model_list[0] "sf"`, `"siliconflow"`, `model_list[1] "glm"`, `"zhipu"`),
	},
	"bad-syntax.yaml": {
		plain: refused(ErrSyntax, "bad-syntax.yaml:2:", "invalid YAML"),
		skip:  refused(ErrSyntax, "bad-syntax.yaml:2:", "invalid YAML"),
	},
	"duplicate-key.yaml": {
		plain: refused(ErrSyntax, "duplicate-key.yaml:6:", "litellm_settings.num_retries", "duplicate key"),
		skip:  refused(ErrSyntax, "duplicate-key.yaml:6:", "litellm_settings.num_retries", "duplicate key"),
	},
	"missing-include.yaml": {
		plain: refused(ErrInclude, `include[0] "no-such-file.yaml"`, "not found"),
		skip:  refused(ErrInclude, `include[0] "no-such-file.yaml"`, "not found"),
	},
	"nested-include.yaml": {
		plain: refused(ErrInclude, "nested-include-inner.yaml:2:", "may not include others"),
		skip:  refused(ErrInclude, "nested-include-inner.yaml:2:", "may not include others"),
	},
	"invalid-values.yaml": {
		plain: refused(ErrInvalid, `model_list[0] "g": litellm_params.weight: must not be negative`, "litellm_params.rpm: must be a number",
			`model_list[1] "h": litellm_params.api_base`, "model_list[2]: model_name is missing",
			"alias cycle: loop-a → loop-b → loop-a", `alias "g" has the name of a model_list group`, `"dangling" points at "nowhere"`,
			`unknown routing strategy "fastest-please"`, "router_settings.fallbacks", "flat list", "router_settings.num_retries: must not be negative"),
		skip: refused(ErrInvalid, "alias cycle: loop-a → loop-b → loop-a", "router_settings.num_retries: must not be negative"),
	},
	"unset-env.yaml": {
		plain: refused(ErrEnv, `model_list[0] "g": litellm_params.api_key`, "MODELROUTE_TEST_UNSET_KEY is not set", "general_settings.master_key", "MODELROUTE_TEST_UNSET_MASTER"),
		skip:  refused(ErrEnv, "MODELROUTE_TEST_UNSET_KEY is not set", "MODELROUTE_TEST_UNSET_MASTER"),
		env:   envOf(nil),
	},
}

// literalSecrets are secrets written literally in corpus files; no error or
// warning may repeat them.
var literalSecrets = []string{"sk-literal-test-key", "sk-test-master", "sk-uj6F", "sk-Imn", "sk-1234", "fake-key", "sk-hosted-litellm", "dbpassword9090", "eYVX71", fakeSecret}

// configFiles lists the config files (.yaml, .yml, .json) in dir, failing
// clearly when there are none.
func configFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading the config folder: %v", err)
	}
	var files []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			files = append(files, e.Name())
		}
	}
	if len(files) == 0 {
		t.Fatalf("no config files in %s", dir)
	}
	return files
}

// corpusDir returns the folder of the external LiteLLM corpus named by
// corpusEnv, or "" when the variable is unset.
func corpusDir() string { return os.Getenv(corpusEnv) }

// allConfigs lists every config the loader is tested on: the project's
// testdata and, when corpusEnv names it, the external corpus.
func allConfigs(t testing.TB) []string {
	t.Helper()
	var paths []string
	for _, name := range configFiles(t, testdataDir) {
		paths = append(paths, filepath.Join(testdataDir, name))
	}
	if dir := corpusDir(); dir != "" {
		for _, name := range configFiles(t, dir) {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	return paths
}

// expected is what loading one config must give, plain and with
// WithSkipUnsupported; env, when set, replaces fakeEnv.
type expected struct {
	plain, skip outcome
	env         func(string) (string, bool)
}

// TestTestdata loads every config of the project's own testdata: each loads,
// or is refused with errors naming the entry and the problem; none panics;
// no deployment goes missing without a warning; no secret is repeated.
func TestTestdata(t *testing.T) { checkOutcomes(t, testdataDir, testdataConfigs) }

// TestCorpus loads every real LiteLLM config of the external corpus (see
// corpusEnv): each loads, or is refused with errors naming the entry and
// the unsupported feature; none panics; and no deployment goes missing
// without a warning.
func TestCorpus(t *testing.T) {
	dir := corpusDir()
	if dir == "" {
		t.Skipf("the external LiteLLM corpus did not run: %s is not set (.ci/run sets it to the shared litellm-configs folder; the loader's own configs in %s run always, in TestTestdata)", corpusEnv, testdataDir)
	}
	table := make(map[string]expected, len(corpus))
	for name, want := range corpus {
		table[name] = expected{plain: want.plain, skip: want.skip}
	}
	checkOutcomes(t, dir, table)
}

// checkOutcomes loads every config in dir, plain and skipping what is
// unsupported, and checks each against table, which must name them all.
func checkOutcomes(t *testing.T, dir string, table map[string]expected) {
	files := configFiles(t, dir)
	for name := range table {
		if !slices.Contains(files, name) {
			t.Errorf("expected outcome for %s, which is not in %s", name, dir)
		}
	}
	for _, name := range files {
		want, ok := table[name]
		if !ok {
			t.Errorf("%s: no expected outcome in the table; add one", name)
			continue
		}
		env := want.env
		if env == nil {
			env = fakeEnv
		}
		for _, skip := range []bool{false, true} {
			mode, w, opts := "plain", want.plain, []Option{WithEnv(env)}
			if skip {
				mode, w, opts = "skip", want.skip, append(opts, WithSkipUnsupported())
			}
			t.Run(name+"/"+mode, func(t *testing.T) {
				path := filepath.Join(dir, name)
				c, err := Load(path, opts...)
				checkCorpusOutcome(t, path, c, err, w)
			})
		}
	}
}

func checkCorpusOutcome(t *testing.T, path string, c *Config, err error, w outcome) {
	t.Helper()
	if w.deployments < 0 {
		if err == nil {
			t.Fatalf("loaded %d deployments; want refused with %v", len(c.Deployments), w.kind)
		}
		if c != nil {
			t.Errorf("refused, but returned a Config too")
		}
		msg := err.Error()
		for _, s := range w.contains {
			if !strings.Contains(msg, s) {
				t.Errorf("error does not contain %q:\n%s", s, msg)
			}
		}
		if !errors.Is(err, w.kind) {
			t.Errorf("error is not %v:\n%s", w.kind, msg)
		}
		for _, p := range problems(t, err) {
			if p.File == "" || (p.Line == 0 && p.Entry == "" && p.Key == "") {
				t.Errorf("problem names no file, line, entry or key: %v", p)
			}
		}
		for _, s := range literalSecrets {
			if strings.Contains(msg, s) {
				t.Errorf("error contains the secret %q:\n%s", s, msg)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("refused; want %d deployments:\n%v", w.deployments, err)
	}
	if got := len(c.Deployments); got != w.deployments {
		t.Errorf("loaded %d deployments, want %d", got, w.deployments)
	}
	warn := warningsText(c)
	if got := strings.Count(warn, "deployment skipped"); got != w.skipped {
		t.Errorf("%d deployments skipped, want %d:\n%s", got, w.skipped, warn)
	}
	for _, s := range literalSecrets {
		if strings.Contains(warn, s) {
			t.Errorf("warnings contain the secret %q:\n%s", s, warn)
		}
	}
	// Nothing dropped silently: every model_list entry, here or included,
	// is a deployment or a skipped-deployment warning.
	if raw := rawEntries(t, path); len(c.Deployments)+w.skipped != raw {
		t.Errorf("%d deployments + %d skipped != %d model_list entries", len(c.Deployments), w.skipped, raw)
	}
	ids := map[string]bool{}
	for _, d := range c.Deployments {
		if ids[d.ID] {
			t.Errorf("duplicate deployment ID %q", d.ID)
		}
		ids[d.ID] = true
		if d.ID == "" || d.ModelName == "" || d.Provider == "" || d.UpstreamModel == "" {
			t.Errorf("incomplete deployment: %+v", d)
		}
		if _, ok := d.Params["api_key"]; ok {
			t.Errorf("%s: Params holds api_key", d.Source)
		}
		for k, v := range d.Params {
			if s, ok := v.(string); ok && strings.Contains(s, fakeSecret) {
				t.Errorf("%s: Params[%q] holds a resolved secret", d.Source, k)
			}
		}
	}
}

// rawEntries counts model_list entries in a file and its includes with a
// plain generic parse, independent of the loader.
func rawEntries(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ModelList []any    `yaml:"model_list"`
		Include   []string `yaml:"include"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("generic parse: %v", err)
	}
	n := len(doc.ModelList)
	for _, inc := range doc.Include {
		n += rawEntries(t, filepath.Join(filepath.Dir(path), inc))
	}
	return n
}

// TestLoadConcurrent: Load shares no state between calls; loading every
// config (testdata, and the corpus when set) from many goroutines at once (under -race) gives the results
// of loading them one by one.
func TestLoadConcurrent(t *testing.T) {
	files := allConfigs(t)
	type result struct {
		cfg *Config
		err string
	}
	load := func(name string) result {
		c, err := Load(name, WithEnv(fakeEnv), WithSkipUnsupported())
		if err != nil {
			return result{err: err.Error()}
		}
		return result{cfg: c}
	}
	want := map[string]result{}
	for _, name := range files {
		want[name] = load(name)
	}
	var wg sync.WaitGroup
	got := make([][]result, 4)
	for i := range got {
		got[i] = make([]result, len(files))
		for j, name := range files {
			wg.Go(func() { got[i][j] = load(name) })
		}
	}
	wg.Wait()
	for i := range got {
		for j, name := range files {
			if diff := cmp.Diff(want[name], got[i][j], cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("%s, concurrent load %d (-sequential +concurrent):\n%s", name, i, diff)
			}
		}
	}
}
