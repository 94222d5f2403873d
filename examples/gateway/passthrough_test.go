package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sseData returns the data of each event of an SSE body.
func sseData(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	for _, ev := range strings.Split(strings.TrimSpace(string(body)), "\n\n") {
		d, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %q is not a data line", ev)
		}
		out = append(out, d)
	}
	return out
}

// TestStreamPassthrough: a streamed answer reaches the client as the
// upstream sent it, chunk for chunk and field for field (nothing added, such
// as go-openai's empty content_filter_results), with only the model
// replaced by the name the client asked for.
func TestStreamPassthrough(t *testing.T) {
	t.Parallel()
	g, up := seedGateway(t)
	req := func(model string) map[string]any {
		b := chatBody(model)
		b["stream"] = true
		b["stream_options"] = map[string]any{"include_usage": true}
		return b
	}
	got := g.do("POST", "/v1/chat/completions", testMasterKey, req("alias-1"))
	mustStatus(t, "gateway stream", got, 200)
	last, ok := up.LastRequest()
	if !ok || !last.Stream {
		t.Fatalf("the upstream's last request %+v, want the stream", last)
	}
	upModel := last.Model
	want := doURL(t, "POST", up.URL()+"/chat/completions", upstreamSecret, req(upModel))
	mustStatus(t, "upstream stream", want, 200)

	gd, ud := sseData(t, got.Body), sseData(t, want.Body)
	if len(gd) != len(ud) || gd[len(gd)-1] != "[DONE]" {
		t.Fatalf("gateway sent %d events, upstream %d:\n%s\nvs\n%s", len(gd), len(ud), got.Body, want.Body)
	}
	for i := range gd[:len(gd)-1] {
		var gc, uc map[string]any
		if err := json.Unmarshal([]byte(gd[i]), &gc); err != nil {
			t.Fatalf("gateway chunk %d %q: %v", i, gd[i], err)
		}
		if err := json.Unmarshal([]byte(ud[i]), &uc); err != nil {
			t.Fatalf("upstream chunk %d %q: %v", i, ud[i], err)
		}
		if gc["model"] != "alias-1" {
			t.Errorf("chunk %d: model %v, want alias-1", i, gc["model"])
		}
		delete(gc, "model")
		delete(uc, "model")
		delete(gc, "id") // the upstream numbers its answers
		delete(uc, "id")
		if diff := cmp.Diff(uc, gc); diff != "" {
			t.Errorf("chunk %d differs from the upstream's (-upstream +gateway):\n%s", i, diff)
		}
		if bytes.Contains([]byte(gd[i]), []byte("content_filter_results")) {
			t.Errorf("chunk %d has fields the upstream did not send: %s", i, gd[i])
		}
	}
}
