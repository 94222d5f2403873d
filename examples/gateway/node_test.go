package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// nodeResult is what e2e/client.mjs prints.
type nodeResult struct {
	SDKVersion string `json:"sdkVersion"`
	Models     struct {
		IDs    []string   `json:"ids"`
		Failed *nodeError `json:"failed"`
	} `json:"models"`
	Chat struct {
		Model        string     `json:"model"`
		Content      string     `json:"content"`
		FinishReason string     `json:"finishReason"`
		TotalTokens  int        `json:"totalTokens"`
		ModelGroup   string     `json:"modelGroup"`
		DeploymentID string     `json:"deploymentId"`
		Attempts     string     `json:"attempts"`
		Failed       *nodeError `json:"failed"`
	} `json:"chat"`
	Stream struct {
		Chunks       int        `json:"chunks"`
		Models       []string   `json:"models"`
		Content      string     `json:"content"`
		FinishReason string     `json:"finishReason"`
		Failed       *nodeError `json:"failed"`
	} `json:"stream"`
	NotFound nodeError `json:"notFound"`
	Denied   nodeError `json:"denied"`
	BadKey   nodeError `json:"badKey"`
}

// nodeError is a thrown error as the script describes it.
type nodeError struct {
	UnexpectedSuccess  bool   `json:"unexpectedSuccess"`
	Class              string `json:"class"`
	IsAPIError         bool   `json:"isAPIError"`
	IsNotFound         bool   `json:"isNotFound"`
	IsPermissionDenied bool   `json:"isPermissionDenied"`
	Status             int    `json:"status"`
	Code               string `json:"code"`
	Type               string `json:"type"`
	Message            string `json:"message"`
}

// TestNodeOpenAI drives the gateway with the official openai npm package
// (e2e/client.mjs, run by Node): models.list(), chat.completions.create
// plain and streamed through an alias, and the errors the SDK raises for an
// unknown model (NotFoundError, 404 model_not_found), a key refused a name
// (PermissionDeniedError, 403 model_access_denied) and a wrong key
// (AuthenticationError, 401 invalid_api_key).
//
// Node is required; the openai package is installed by the test itself
// (npmInstall) when examples/gateway/node_modules lacks it.
func TestNodeOpenAI(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (%v): this end-to-end test needs Node.js (with npm) to run the openai npm client", err)
	}
	npmInstall(t)

	g, up := seedGateway(t)
	limited := g.generateKey(map[string]any{"models": []string{"alias-1"}})

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "client.mjs"))
	cmd.Env = append(os.Environ(),
		"GATEWAY_BASE_URL="+g.base+"/v1",
		"GATEWAY_API_KEY="+testMasterKey,
		"GATEWAY_MODEL=alias-1",
		"GATEWAY_LIMITED_KEY="+limited,
		"GATEWAY_DENIED_MODEL=model-group-1",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node e2e/client.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	var res nodeResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("node e2e/client.mjs printed no JSON result (%v):\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("openai npm %s: %s", res.SDKVersion, bytes.TrimSpace(stdout.Bytes()))

	if res.Models.Failed != nil {
		t.Errorf("models.list() failed: %+v", *res.Models.Failed)
	}
	for _, want := range []string{"model-group-1", "alias-1"} {
		if !slices.Contains(res.Models.IDs, want) {
			t.Errorf("models.list() = %q, lacks %q", res.Models.IDs, want)
		}
	}
	if slices.Contains(res.Models.IDs, "hidden-1") {
		t.Errorf("models.list() = %q, lists the hidden alias", res.Models.IDs)
	}

	if c := res.Chat; c.Failed != nil {
		t.Errorf("chat.completions.create failed: %+v", *c.Failed)
	} else if c.Model != "alias-1" || c.Content != "ok" || c.FinishReason != "stop" || c.TotalTokens == 0 ||
		c.ModelGroup != "model-group-1" || (c.DeploymentID != "dep-a" && c.DeploymentID != "dep-b") || c.Attempts != "1" {
		t.Errorf("chat.completions.create = %+v, want model alias-1, content ok, finish stop, usage, headers model-group-1/dep-a|dep-b/1", c)
	}

	if s := res.Stream; s.Failed != nil {
		t.Errorf("streamed chat.completions.create failed: %+v", *s.Failed)
	} else if s.Chunks < 2 || s.Content != "ok" || s.FinishReason != "stop" || !slices.Equal(s.Models, []string{"alias-1"}) {
		t.Errorf("stream = %+v, want at least 2 chunks of \"ok\", finish stop, every chunk's model alias-1", s)
	}

	checkNodeError(t, "unknown model", res.NotFound, "NotFoundError", 404, "model_not_found", "not_found_error")
	checkNodeError(t, "denied model", res.Denied, "PermissionDeniedError", 403, "model_access_denied", "permission_error")
	checkNodeError(t, "wrong key", res.BadKey, "AuthenticationError", 401, "invalid_api_key", "authentication_error")

	if n := up.CountModel(upGroup1A) + up.CountModel(upGroup1B); n != 2 {
		t.Errorf("upstream chat calls to model-group-1: %d, want 2 (plain and streamed)", n)
	}
}

// npmInstall makes sure the openai npm package pinned by package-lock.json is
// in node_modules, running `npm ci` in this folder when it is not there
// (once: later runs find it). It fails, naming the command, when npm is
// missing or the install fails.
func npmInstall(t *testing.T) {
	t.Helper()
	pkg := filepath.Join("node_modules", "openai", "package.json")
	if _, err := os.Stat(pkg); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("the openai npm package is not installed and npm is not on PATH (%v): install Node.js with npm, or run `npm ci` in examples/gateway", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t.Logf("the openai npm package is not installed: running `npm ci` in examples/gateway")
	if err := cmd.Run(); err != nil {
		t.Fatalf("`npm ci` in examples/gateway failed (%v); run it by hand to see why:\n%s", err, out.Bytes())
	}
	if _, err := os.Stat(pkg); err != nil {
		t.Fatalf("`npm ci` in examples/gateway ran but %s is still missing: %v\n%s", pkg, err, out.Bytes())
	}
}

func checkNodeError(t *testing.T, what string, e nodeError, class string, status int, code, typ string) {
	t.Helper()
	if e.UnexpectedSuccess {
		t.Errorf("%s: the call succeeded, want %s", what, class)
		return
	}
	if e.Class != class || !e.IsAPIError || e.Status != status || e.Code != code || e.Type != typ {
		t.Errorf("%s: the SDK raised %+v, want %s with status %d, code %s, type %s", what, e, class, status, code, typ)
	}
	if class == "NotFoundError" && !e.IsNotFound || class == "PermissionDeniedError" && !e.IsPermissionDenied {
		t.Errorf("%s: error is not an instance of OpenAI.%s", what, class)
	}
}
