package litellm

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzParse: no input panics; a refusal is made of *Errors naming a file; a
// load gives unique IDs, named groups and resolved aliases; and neither
// errors, warnings nor display maps ever hold a value read from the
// environment.
func FuzzParse(f *testing.F) {
	for _, name := range allConfigs(f) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Add([]byte(fullConfig), false)
	f.Add([]byte(`{"model_list": [{"model_name": "g", "litellm_params": {"model": "openai/x"}}]}`), true)
	f.Add([]byte("a: &a [*a]\nmodel_list: *a\n"), false)
	f.Add([]byte("model_list:\n  - <<: {model_name: g}\n    litellm_params: {model: gpt-4}\n"), false)

	// Includes resolve inside this file system only.
	fsys := fstest.MapFS{
		"included_models.yaml": {Data: []byte("model_list:\n  - model_name: included-model\n    litellm_params:\n      model: gpt-4\n")},
	}
	f.Fuzz(func(t *testing.T, data []byte, json bool) {
		name := "fuzz.yaml"
		if json {
			name = "fuzz.json"
		}
		c, err := Parse(data, name, WithEnv(fakeEnv), WithFS(fsys), WithSkipUnsupported())
		if err != nil {
			if c != nil {
				t.Fatal("Config returned with an error")
			}
			if strings.Contains(err.Error(), fakeSecret) {
				t.Fatalf("error holds an environment value: %v", err)
			}
			for _, p := range problems(t, err) {
				if p.File == "" || p.Err == nil {
					t.Fatalf("problem without a file or cause: %#v", p)
				}
				if !errors.Is(p, ErrSyntax) && !errors.Is(p, ErrInvalid) && !errors.Is(p, ErrUnknownProvider) &&
					!errors.Is(p, ErrUnsupported) && !errors.Is(p, ErrEnv) && !errors.Is(p, ErrInclude) {
					t.Fatalf("problem wraps no sentinel: %v", p)
				}
			}
			return
		}
		if strings.Contains(warningsText(c), fakeSecret) {
			t.Fatalf("warnings hold an environment value:\n%s", warningsText(c))
		}
		ids := map[string]bool{}
		groups := map[string]bool{}
		for _, d := range c.Deployments {
			if d.ID == "" || ids[d.ID] {
				t.Fatalf("empty or duplicate ID %q", d.ID)
			}
			ids[d.ID] = true
			if strings.TrimSpace(d.ModelName) == "" || d.Provider == "" || strings.TrimSpace(d.UpstreamModel) == "" {
				t.Fatalf("incomplete deployment %+v", d)
			}
			groups[d.ModelName] = true
			if holdsSecret(d.Params) || holdsSecret(d.Info) {
				t.Fatalf("display maps hold an environment value: %v %v", d.Params, d.Info)
			}
		}
		for _, a := range c.Aliases {
			if groups[a.Name] || a.Target == "" {
				t.Fatalf("alias %+v shadows a group or has no target", a)
			}
		}
	})
}

func holdsSecret(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, fakeSecret)
	case map[string]any:
		for _, e := range v {
			if holdsSecret(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if holdsSecret(e) {
				return true
			}
		}
	}
	return false
}
