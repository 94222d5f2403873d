package wildcard

import "testing"

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		match         string
		ok            bool
	}{
		{"openai/*", "openai/gpt-4o", "gpt-4o", true},
		{"openai/*", "openai/", "", false}, // the "*" stands for at least one character
		{"openai/*", "azure/gpt-4o", "", false},
		{"*", "anything/at-all", "anything/at-all", true},
		{"*", "", "", false},
		{"gpt-*-mini", "gpt-4o-mini", "4o", true},
		{"gpt-*-mini", "gpt--mini", "", false},
		{"gpt-*-mini", "gpt-mini", "", false}, // prefix and suffix may not overlap
	} {
		p, s, ok := Split(tc.pattern)
		if !ok {
			t.Fatalf("Split(%q): not a wildcard", tc.pattern)
		}
		if m, ok := Match(p, s, tc.name); m != tc.match || ok != tc.ok {
			t.Errorf("%q serves %q: %q, %v; want %q, %v", tc.pattern, tc.name, m, ok, tc.match, tc.ok)
		}
	}
	for _, p := range []string{"model-group-1", "a*b*", "**"} {
		if _, _, ok := Split(p); ok {
			t.Errorf("Split(%q) is a wildcard; want not (none, or more than one \"*\")", p)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Match("openai/", "", "openai/gpt-4o-mini")
	}
}
