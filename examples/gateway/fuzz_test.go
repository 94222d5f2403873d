package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/litellm"
)

// fuzzGateway builds the gateway's handler the way run does (build, then
// gateway.handler) over seedConfig and a fake upstream, and returns it with
// a virtual key granted alias-1 only.
func fuzzGateway(f *testing.F) (http.Handler, string) {
	up := newUpstream(f)
	cfg, err := litellm.Parse([]byte(fmt.Sprintf(seedConfig, up.URL())), "fuzz.yaml")
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := gateway.New(context.Background(), cfg, gateway.WithStateDir(f.TempDir()), gateway.WithLogger(log))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(g.Close)
	h := g.Handler()

	req := httptest.NewRequest("POST", "/key/generate", strings.NewReader(`{"models":["alias-1"]}`))
	req.Header.Set("Authorization", "Bearer "+testMasterKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out struct{ Key string }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Key == "" {
		f.Fatalf("POST /key/generate: %d %s", rec.Code, rec.Body)
	}
	return h, out.Key
}

// isToken reports whether s is a valid HTTP method (an RFC 9110 token); a
// server refuses anything else before any handler runs.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// FuzzGatewayRequest sends arbitrary requests (method, path and query,
// body, key, content type) through the gateway's whole mux, auth included,
// and checks that nothing panics, that no status is a 5xx other than 502
// and 503 (an upstream's failure), that every error is OpenAI-shaped JSON,
// that JSON answers are JSON and SSE answers well-formed, and that no answer
// carries the upstream API key.
func FuzzGatewayRequest(f *testing.F) {
	h, vkey := fuzzGateway(f)

	chat := `{"model":"alias-1","messages":[{"role":"user","content":"hi"}]}`
	stream := `{"model":"alias-1","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	seeds := []struct {
		method, target, body string
		key                  uint8
	}{
		{"POST", "/v1/chat/completions", chat, 1},
		{"POST", "/v1/chat/completions", chat, 2},
		{"POST", "/chat/completions", stream, 1},
		{"POST", "/v1/chat/completions", stream, 2},
		{"POST", "/v1/chat/completions", `{"model":"hidden-1","messages":[{"role":"user","content":"hi"}],"tags":["a"]}`, 1},
		{"POST", "/v1/chat/completions", `{"model":"model-group-1","messages":[{"role":"user","content":"hi"}]}`, 2},
		{"POST", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, 1},
		{"POST", "/v1/chat/completions", `{"model":"alias-1","messages":[{"role":"tool","content":null,"tool_calls":[{}]}],"n":-1,"max_tokens":-5}`, 1},
		{"POST", "/v1/chat/completions", `{"model":"alias-1","messages":[]}`, 1},
		{"POST", "/v1/chat/completions", `{"model":`, 1},
		{"POST", "/v1/chat/completions", `null`, 1},
		{"POST", "/v1/chat/completions", ``, 0},
		{"POST", "/v1/chat/completions", chat, 3},
		{"POST", "/v1/embeddings", `{"model":"text-embedding-3-small","input":["a","b"]}`, 1},
		{"POST", "/embeddings", `{"model":"text-embedding-3-small","input":[[1,2],[3]]}`, 1},
		{"POST", "/v1/embeddings", `{"model":"text-embedding-3-small","input":null}`, 2},
		{"GET", "/v1/models", ``, 1},
		{"GET", "/models", ``, 2},
		{"GET", "/model/info", ``, 2},
		{"GET", "/v1/model/info", ``, 1},
		{"GET", "/model_group/info", ``, 1},
		{"GET", "/health", ``, 1},
		{"GET", "/health?model=alias-1", ``, 2},
		{"GET", "/health?model=%00", ``, 1},
		{"GET", "/health/liveliness", ``, 0},
		{"GET", "/health/readiness", ``, 0},
		{"POST", "/api/model-aliases/create", `{"alias":"fz","litellm_model":"model-group-1"}`, 1},
		{"POST", "/api/model-aliases/create", `{"alias":"a/b","litellm_model":"alias-1","active":false}`, 1},
		{"GET", "/api/model-aliases", ``, 1},
		{"GET", "/api/model-aliases/a%2Fb", ``, 1},
		{"PUT", "/api/model-aliases/fz", `{"litellm_model":"model-group-2","labels":null}`, 1},
		{"PATCH", "/api/model-aliases/fz", `{"active":false,"revision":1}`, 1},
		{"DELETE", "/api/model-aliases/fz", ``, 1},
		{"DELETE", "/api/model-aliases/", ``, 1},
		{"POST", "/api/model-access-groups/create", `{"group_name":"g","model_aliases":["alias-1"]}`, 1},
		{"POST", "/api/model-access-groups/g/add-models", `{"model_aliases":["fz"]}`, 1},
		{"POST", "/api/model-access-groups/g/remove-models", `{"model_aliases":["fz"]}`, 1},
		{"GET", "/api/model-access-groups", ``, 1},
		{"POST", "/api/organizations/create", `{"organization_id":"o","max_budget":-1}`, 1},
		{"POST", "/api/teams/create", `{"team_id":"t","organization_id":"o","access_groups":["g"]}`, 1},
		{"GET", "/api/teams", ``, 2},
		{"POST", "/key/generate", `{"models":["alias-1"],"duration":"30d","max_budget":0.5}`, 1},
		{"POST", "/key/generate", `{"duration":"-1s"}`, 1},
		{"POST", "/key/delete", `{"keys":["sk-nope"]}`, 1},
		{"GET", "/api/", ``, 0},
		{"GET", "/api", ``, 1},
		{"GET", "//v1/../v1/models", ``, 1},
		{"OPTIONS", "/v1/chat/completions", ``, 1},
		{"HEAD", "/v1/models", ``, 1},
		{"BREW", "/nowhere", `{}`, 1},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, []byte(s.body), s.key, "application/json", "")
	}

	f.Fuzz(func(t *testing.T, method, target string, body []byte, keySel uint8, ctype, keyText string) {
		if !isToken(method) || method == "CONNECT" || len(target) > 1<<12 {
			return
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, "http://gateway.test"+target, bytes.NewReader(body))
		if err != nil || req.URL.Host != "gateway.test" {
			return // not a request line a server would accept
		}
		req.RequestURI = req.URL.RequestURI()
		if ctype != "" && !strings.ContainsAny(ctype, "\r\n") {
			req.Header.Set("Content-Type", ctype)
		}
		switch keySel % 5 {
		case 1:
			req.Header.Set("Authorization", "Bearer "+testMasterKey)
		case 2:
			req.Header.Set("Authorization", "Bearer "+vkey)
		case 3:
			req.Header.Set("Authorization", keyText)
		case 4:
			req.Header.Set("x-api-key", keyText)
		}

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		got, _ := io.ReadAll(res.Body)
		what := fmt.Sprintf("%s %s (key %d) %q", method, target, keySel%5, body)

		if res.StatusCode < 100 || res.StatusCode > 599 && res.StatusCode != 499 {
			t.Fatalf("%s: status %d", what, res.StatusCode)
		}
		if res.StatusCode >= 500 && res.StatusCode != http.StatusBadGateway && res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d (only 502 and 503, from the upstream, may be a 5xx): %s", what, res.StatusCode, got)
		}
		if bytes.Contains(got, []byte(upstreamSecret)) {
			t.Fatalf("%s: the answer contains the upstream API key: %s", what, got)
		}
		ct := res.Header.Get("Content-Type")
		switch {
		case res.StatusCode >= 400:
			if !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%s: error %d with Content-Type %q: %s", what, res.StatusCode, ct, got)
			}
			if _, err := errorShape(got); err != nil {
				t.Fatalf("%s: error %d is not OpenAI-shaped (%v): %s", what, res.StatusCode, err, got)
			}
		case strings.HasPrefix(ct, "application/json"):
			if method != "HEAD" && !json.Valid(got) {
				t.Fatalf("%s: %d answer is not JSON: %s", what, res.StatusCode, got)
			}
		case strings.HasPrefix(ct, "text/event-stream"):
			checkSSE(t, what, got)
		}
	})
}

// checkSSE checks a streamed answer: "data:" lines of JSON chunks (or an
// OpenAI-shaped error), ending with [DONE] unless an error ended it.
func checkSSE(t *testing.T, what string, body []byte) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	var last string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("%s: stream line %q is not a data line", what, line)
		}
		if d != "[DONE]" && !json.Valid([]byte(d)) {
			t.Fatalf("%s: stream data %q is not JSON", what, d)
		}
		if strings.HasPrefix(d, `{"error"`) {
			if _, err := errorShape([]byte(d)); err != nil {
				t.Fatalf("%s: stream error %s is not OpenAI-shaped: %v", what, d, err)
			}
		}
		last = d
	}
	if last != "[DONE]" && !strings.HasPrefix(last, `{"error"`) {
		t.Fatalf("%s: stream ended with %q, want [DONE] or an error", what, last)
	}
}
