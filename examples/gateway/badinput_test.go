package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// bigChat returns a chat request for model whose body is n bytes long.
func bigChat(model string, n int) []byte {
	head := `{"model":"` + model + `","messages":[{"role":"user","content":"`
	tail := `"}]}`
	return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

// TestBadInput: malformed JSON, missing fields, an unknown model, a body
// over 10 MiB and a wrong key, on the client endpoints, each refused with
// its status and code in OpenAI's error shape, and none reaching the
// upstream.
func TestBadInput(t *testing.T) {
	t.Parallel()
	g, up := seedGateway(t)
	m := testMasterKey
	const limit = 10 << 20

	cases := []struct {
		name, path, key string
		body            any
		status          int
		code, param     string
	}{
		{"malformed JSON", "/v1/chat/completions", m, `{"model": "alias-1", "messages": [`, 400, "invalid_request", ""},
		{"not an object", "/v1/chat/completions", m, `["alias-1"]`, 400, "invalid_request", ""},
		{"trailing data", "/v1/chat/completions", m, `{"model":"alias-1","messages":[{"role":"user","content":"hi"}]} x`, 400, "invalid_request", ""},
		{"wrong field type", "/v1/chat/completions", m, `{"model": 7, "messages": []}`, 400, "invalid_request", ""},
		{"empty body", "/v1/chat/completions", m, ``, 400, "invalid_request", ""},
		{"missing model", "/v1/chat/completions", m, map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}}, 400, "invalid_request", "model"},
		{"empty model", "/v1/chat/completions", m, chatBody(""), 400, "invalid_request", "model"},
		{"missing messages", "/v1/chat/completions", m, map[string]any{"model": "alias-1"}, 400, "invalid_request", "messages"},
		{"unknown model", "/v1/chat/completions", m, chatBody("no-such-model"), 404, "model_not_found", ""},
		{"unknown model, stream", "/v1/chat/completions", m, map[string]any{"model": "no-such-model", "stream": true, "messages": []map[string]string{{"role": "user", "content": "hi"}}}, 404, "model_not_found", ""},
		{"unknown model, no /v1", "/chat/completions", m, chatBody("no-such-model"), 404, "model_not_found", ""},
		{"body over 10 MiB", "/v1/chat/completions", m, bigChat("alias-1", limit+1), 413, "request_too_large", ""},
		{"no key", "/v1/chat/completions", "", chatBody("alias-1"), 401, "invalid_api_key", ""},
		{"wrong key", "/v1/chat/completions", "sk-wrong", chatBody("alias-1"), 401, "invalid_api_key", ""},
		{"wrong key, bad body", "/v1/chat/completions", "sk-wrong", `{`, 401, "invalid_api_key", ""},
		{"wrong key, big body", "/v1/chat/completions", "sk-wrong", bigChat("alias-1", limit+1), 401, "invalid_api_key", ""},

		{"embeddings: malformed JSON", "/v1/embeddings", m, `{"model":`, 400, "invalid_request", ""},
		{"embeddings: missing model", "/v1/embeddings", m, map[string]any{"input": "x"}, 400, "invalid_request", "model"},
		{"embeddings: missing input", "/v1/embeddings", m, map[string]any{"model": "text-embedding-3-small"}, 400, "invalid_request", "input"},
		{"embeddings: unknown model", "/v1/embeddings", m, map[string]any{"model": "no-such-model", "input": "x"}, 404, "model_not_found", ""},
		{"embeddings: body over 10 MiB", "/v1/embeddings", m, `{"model":"text-embedding-3-small","input":"` + strings.Repeat("a", limit) + `"}`, 413, "request_too_large", ""},
		{"embeddings: wrong key", "/v1/embeddings", "sk-wrong", map[string]any{"model": "text-embedding-3-small", "input": "x"}, 401, "invalid_api_key", ""},

		{"admin: malformed JSON", "/api/model-aliases/create", m, `{"alias":`, 400, "invalid_request", ""},
		{"admin: missing alias", "/api/model-aliases/create", m, map[string]any{"litellm_model": "model-group-1"}, 400, "invalid_request", "alias"},
		{"admin: body over 10 MiB", "/api/model-aliases/create", m, `{"alias":"big","litellm_model":"model-group-1","description":"` + strings.Repeat("a", limit) + `"}`, 413, "request_too_large", ""},
		{"key/generate: malformed JSON", "/key/generate", m, `{"models":[`, 400, "invalid_request", ""},
	}
	before := up.Total()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := g.with(t)
			e := wantError(t, c.name, g.do("POST", c.path, c.key, c.body), c.status, c.code)
			if c.param != "" && (e.Param == nil || *e.Param != c.param) {
				t.Errorf("%s: param %v, want %q", c.name, e.Param, c.param)
			}
		})
	}
	if n := up.Total() - before; n != 0 {
		t.Errorf("%d refused requests reached the upstream", n)
	}

	// Just under the limit is served: the limit is 10 MiB, not less.
	r := g.do("POST", "/v1/chat/completions", m, bigChat("alias-1", limit-1024))
	mustStatus(t, "chat just under 10 MiB", r, 200)

	// A body over the limit without a Content-Length (chunked) is refused
	// the same way.
	req, _ := http.NewRequest("POST", g.base+"/v1/chat/completions", io.MultiReader(bytes.NewReader(bigChat("alias-1", limit+1))))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+m)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("chunked body over 10 MiB: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, "chunked body over 10 MiB", response{Status: resp.StatusCode, Header: resp.Header, Body: b}, 413, "request_too_large")

	// Authorization schemes other than Bearer are not keys.
	req, _ = http.NewRequest("GET", g.base+"/v1/models", nil)
	req.Header.Set("Authorization", "Basic "+m)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, "Basic auth with the master key", response{Status: resp.StatusCode, Header: resp.Header, Body: b}, 401, "invalid_api_key")
}
