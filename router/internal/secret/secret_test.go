package secret

import (
	"strings"
	"testing"
)

func TestIsKey(t *testing.T) {
	for key, want := range map[string]bool{
		"api_key": true, "API-Key": true, "apikey": true, "aws_secret_access_key": true,
		"aws_access_key_id": true, "vertex_credentials": true, "password": true, "token": true,
		"access_token": true, "extra_headers": true, "Authorization": true, "client_secret": true,
		"model": false, "api_base": false, "max_tokens": false, "max_input_token": false,
		"input_cost_per_token": false, "api_version": false, "rpm": false, "access_groups": false,
	} {
		if got := IsKey(key); got != want {
			t.Errorf("IsKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestCleanURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.openai.com/v1":                     "https://api.openai.com/v1",
		"https://user:pw@host.test/v1":                  "https://host.test/v1",
		"https://host.test/v1?api-key=k&api-version=1":  "https://host.test/v1?api-version=1",
		"https://host.test/v1?key=k":                    "https://host.test/v1",
		"not a url":                                     "not a url",
		"os.environ/AZURE_API_BASE":                     "os.environ/AZURE_API_BASE",
		"https://u:p@host.test/%zz":                     "https://[redacted]",
		"http://127.0.0.1:9100/v1":                      "http://127.0.0.1:9100/v1",
		"https://host.test/v1?sig=abc&sv=2024&code=xyz": "https://host.test/v1?sv=2024",
	} {
		if got := CleanURL(in); got != want {
			t.Errorf("CleanURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"provider: auth (status 401): Incorrect API key provided: sk-proj-abcdef123456": "provider: auth (status 401): Incorrect API key provided: [redacted]",
		`Post "https://u:pw@host.test/v1/chat?api-key=abc123&x=1": dial tcp: refused`:   `Post "https://[redacted]@host.test/v1/chat?api-key=[redacted]&x=1": dial tcp: refused`,
		"header Authorization: Bearer abc.def-ghi was refused":                          "header Authorization: Bearer [redacted] was refused",
		"provider: unavailable (status 503)":                                            "provider: unavailable (status 503)",
		"task-1234567 failed":                                                           "task-1234567 failed",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("error: ", "0123456789abcdef", " end")
	f.Add("https://h/?key=", "xyzxyzxyz", "&a=b")
	f.Fuzz(func(t *testing.T, before, key, after string) {
		if len(key) < 6 || strings.ContainsFunc(key, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			return // not key-shaped: redaction need not find it
		}
		secret := "sk-" + key
		if strings.HasSuffix(before, "-") || before != "" && isWordByte(before[len(before)-1]) {
			before += " "
		}
		if got := Redact(before + secret + after); strings.Contains(got, secret) {
			t.Errorf("redact kept %q in %q", secret, got)
		}
	})
}

// A query parameter that is not a credential is kept; one IsQueryKey names
// is redacted whatever its spelling.
func TestRedactQuery(t *testing.T) {
	for in, want := range map[string]string{
		"GET https://h.test/v1?region=eu&API-Key=abc123 failed":    "GET https://h.test/v1?region=eu&API-Key=[redacted] failed",
		"https://h.test/x?page_token=zzz&max_tokens=5":             "https://h.test/x?page_token=[redacted]&max_tokens=5",
		"https://fn.test/api?code=azfunckey&x=1":                   "https://fn.test/api?code=[redacted]&x=1",
		"https://h.test/v1?aws_secret_access_key=abc&model=gpt-4o": "https://h.test/v1?aws_secret_access_key=[redacted]&model=gpt-4o",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
