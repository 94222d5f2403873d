package litellm

import (
	"errors"
	"strings"
	"testing"
)

// fakeSecret is the value fakeEnv gives every variable; no error or warning
// may ever contain it.
const fakeSecret = "secret-value-"

// fakeEnv sets every variable, to fakeSecret followed by its name; inside a
// URL for variables named like one (AZURE_API_BASE, DATABASE_URL).
func fakeEnv(name string) (string, bool) {
	if strings.HasSuffix(name, "_BASE") || strings.HasSuffix(name, "_URL") {
		return "https://fake.example/" + fakeSecret + name, true
	}
	if strings.HasSuffix(name, "_PORT") {
		return "6379", true
	}
	return fakeSecret + name, true
}

// envOf is a lookup over a fixed set of variables.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// problems splits a joined error into its *Error parts.
func problems(t *testing.T, err error) []*Error {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	var out []*Error
	for _, e := range errs {
		var le *Error
		if !errors.As(e, &le) {
			t.Errorf("problem %q is not an *Error", e)
			continue
		}
		out = append(out, le)
	}
	return out
}

// warningsText joins the warnings, one a line.
func warningsText(c *Config) string {
	var b strings.Builder
	for _, w := range c.Warnings {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}
