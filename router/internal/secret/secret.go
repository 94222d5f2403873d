// Package secret is the one place that decides what is a credential: the
// config and display keys that hold one (IsKey), the URL query parameters
// that do (IsQueryKey), and how URLs (CleanURL) and messages (Redact) are
// cleaned of them. The router's catalog and health reports and the LiteLLM
// loader all ask it, so that what one drops the others drop too.
package secret

import (
	"net/url"
	"regexp"
	"strings"
)

// IsKey reports whether a key of a config, params or info map, or a URL
// query parameter, names a credential:
// api_key (any spelling), any *_key or *_key_id, anything naming a secret,
// password, credential or authorization, token and *_token (but not
// max_*_token(s) or *_per_token), and headers, which usually carry
// Authorization.
func IsKey(key string) bool {
	k := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	switch {
	case k == "key", k == "apikey", k == "api_key", strings.HasSuffix(k, "_key"), strings.HasSuffix(k, "_key_id"),
		strings.Contains(k, "secret"), strings.Contains(k, "password"), strings.Contains(k, "passwd"),
		strings.Contains(k, "credential"), strings.Contains(k, "authorization"),
		k == "token", k == "sig", k == "signature",
		strings.HasSuffix(k, "_token") && !strings.HasPrefix(k, "max_") && !strings.HasSuffix(k, "per_token"),
		strings.Contains(k, "header"):
		return true
	}
	return false
}

// CleanURL removes user information and secret query parameters from s if
// it is an absolute URL, and returns other strings unchanged.
func CleanURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Not a URL we can take apart: keep only what precedes any user
		// information, rather than risk showing it.
		if i := strings.Index(s, "://"); i >= 0 && strings.Contains(s[i:], "@") {
			return s[:i+3] + "[redacted]"
		}
		return s
	}
	if u.User == nil && u.RawQuery == "" {
		return s
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if IsQueryKey(k) {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// IsQueryKey reports whether a URL query parameter carries a credential:
// what IsKey names, and "code" (Azure Functions keys).
func IsQueryKey(key string) bool { return IsKey(key) || strings.EqualFold(key, "code") }

// secretPattern matches what may carry a credential in a message: bearer
// tokens, OpenAI-style keys, URL query parameters (Redact keeps those
// IsQueryKey does not name) and user information in URLs.
var secretPattern = regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;]+|\b(sk|pk|rk)-[A-Za-z0-9_\-*.]{6,}|([?&][^=&\s"']+=)[^&\s"']+|(//)[^/\s"'@]+@`)

// Redact removes credentials from a message (an upstream error, say):
// bearer tokens, OpenAI-style keys, user information in URLs, and the
// values of URL query parameters IsQueryKey names.
func Redact(msg string) string {
	return secretPattern.ReplaceAllStringFunc(msg, func(m string) string {
		sub := secretPattern.FindStringSubmatch(m)
		switch {
		case sub[1] != "":
			return sub[1] + "[redacted]"
		case sub[2] != "":
			return "[redacted]"
		case sub[3] != "":
			if !IsQueryKey(sub[3][1 : len(sub[3])-1]) {
				return m // a query parameter that is not a credential
			}
			return sub[3] + "[redacted]"
		case sub[4] != "":
			return "//[redacted]@"
		}
		return "[redacted]"
	})
}
