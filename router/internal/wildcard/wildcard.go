// Package wildcard is the one rule for wildcard model group names, shared
// by the router, which routes by it, and the LiteLLM loader, which checks
// aliases and fallbacks against it: a group name holding one "*" serves
// every name that has the text before the "*" as its prefix, the text
// after it as its suffix, and at least one character between ("openai/*"
// serves "openai/gpt-4o" but not "openai/"; "*" serves every name).
package wildcard

import "strings"

// Split returns the text around pattern's "*". ok is false when pattern
// holds no "*" (it names one group) or more than one (no group may).
func Split(pattern string) (prefix, suffix string, ok bool) {
	prefix, suffix, ok = strings.Cut(pattern, "*")
	if !ok || strings.Contains(suffix, "*") {
		return "", "", false
	}
	return prefix, suffix, true
}

// Match reports whether the wildcard with the given prefix and suffix (see
// Split) serves name, and returns what its "*" stands for. It allocates
// nothing.
func Match(prefix, suffix, name string) (match string, ok bool) {
	if len(name) > len(prefix)+len(suffix) && strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
		return name[len(prefix) : len(name)-len(suffix)], true
	}
	return "", false
}
