package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// rawBody is a request as a client sends it, with a key go-openai does not
// know and the fields in the client's order.
const rawBody = `{"messages":[{"role":"user","content":"hi"}],"model":"smart","x_client_field":{"keep":[1,2]},"temperature":0}`

// TestCompleteRaw: through an OpenAI-compatible provider the request
// reaches the upstream as the client sent it, only "model" replaced by the
// deployment's upstream model, and the answer comes back as the upstream
// sent it; usage reaches the observers; a failed attempt fails over as in
// Complete.
func TestCompleteRaw(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	newProv := func() provider.Provider {
		p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	reg := newRegistry(t)
	var events []RequestEvent
	r := mustNew(t, reg, Config{
		Deployments: []Deployment{
			{ID: "broken", Group: "g", Model: "openai/broken-model", Provider: newProv(), Order: 1},
			{ID: "good", Group: "g", Model: "openai/gpt-4o", Provider: newProv(), Order: 2},
		},
		NumRetries: 2,
	}, WithObserver(ObserverFuncs{Request: func(e RequestEvent) { events = append(events, e) }}))
	mustAlias(t, reg, "smart", "g")
	srv.SetFault("broken-model", providertest.Fault{Status: http.StatusInternalServerError})

	var req openai.ChatCompletionRequest
	if err := json.Unmarshal([]byte(rawBody), &req); err != nil {
		t.Fatal(err)
	}
	answer, route, err := r.CompleteRaw(context.Background(), req, []byte(rawBody))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"broken", "good"}, attemptIDs(route)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if route.Deployment != "good" || route.Model != "gpt-4o" || route.Requested != "smart" {
		t.Errorf("route = %+v, want good, gpt-4o, requested smart", route)
	}
	last, _ := srv.LastRequest()
	const wantSent = `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o","x_client_field":{"keep":[1,2]},"temperature":0}`
	if string(last.Body) != wantSent {
		t.Errorf("upstream got\n%s\nwant\n%s", last.Body, wantSent)
	}
	var resp openai.ChatCompletionResponse
	if err := json.Unmarshal(answer, &resp); err != nil {
		t.Fatalf("answer %s: %v", answer, err)
	}
	if resp.Model != "gpt-4o" || len(resp.Choices) == 0 || resp.Usage.TotalTokens == 0 {
		t.Errorf("answer = %s; want the upstream's, with its model, choices and usage", answer)
	}
	if len(events) != 1 || events[0].Usage != resp.Usage || events[0].Err != nil || events[0].Deployment != "good" {
		t.Errorf("observed %+v; want one successful request on good with usage %+v", events, resp.Usage)
	}
}

// TestCompleteRawTypedProviders: a provider without a raw call (the Fake
// here) is called with the decoded request, and CompleteRaw answers what
// Complete answers, encoded.
func TestCompleteRawTypedProviders(t *testing.T) {
	reg := newRegistry(t)
	d, f := fakeDep("a", "gpt", "openai/gpt-4o")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d}})
	mustAlias(t, reg, "smart", "gpt")

	want, wantRoute, err := r.Complete(context.Background(), chat("smart"))
	if err != nil {
		t.Fatal(err)
	}
	answer, route, err := r.CompleteRaw(context.Background(), chat("smart"), []byte(rawBody))
	if err != nil {
		t.Fatal(err)
	}
	var got openai.ChatCompletionResponse
	if err := json.Unmarshal(answer, &got); err != nil {
		t.Fatal(err)
	}
	got.ID = want.ID // the fake numbers its answers
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(openai.ChatCompletionResponse{})); diff != "" {
		t.Errorf("answer (-Complete +CompleteRaw):\n%s", diff)
	}
	if diff := cmp.Diff(wantRoute, route, cmpopts.IgnoreFields(Attempt{}, "Duration")); diff != "" {
		t.Errorf("route (-Complete +CompleteRaw):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gpt-4o", "gpt-4o"}, models(f)); diff != "" {
		t.Errorf("upstream models (-want +got):\n%s", diff)
	}
}

// TestCompleteRawErrors: CompleteRaw fails as Complete fails.
func TestCompleteRawErrors(t *testing.T) {
	reg := newRegistry(t)
	d, f := fakeDep("a", "gpt", "openai/gpt-4o")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d}})
	f.SetDefault(providertest.Reply{Err: &provider.Error{Kind: provider.KindBadRequest, Status: 400}})
	for _, tc := range []struct {
		name string
		want error
	}{
		{"unknown", ErrNoDeployment},
		{"gpt", nil},
	} {
		_, _, errTyped := r.Complete(context.Background(), chat(tc.name))
		_, _, errRaw := r.CompleteRaw(context.Background(), chat(tc.name), []byte(`{"model":"`+tc.name+`","messages":[]}`))
		if errTyped == nil || errRaw == nil || errTyped.Error() != errRaw.Error() {
			t.Errorf("%s: Complete: %v, CompleteRaw: %v; want the same error", tc.name, errTyped, errRaw)
		}
	}
	r.Close()
	if _, _, err := r.CompleteRaw(context.Background(), chat("gpt"), []byte(rawBody)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// FuzzWithModel: whatever the JSON object, the body sent upstream is valid
// JSON that decodes to the original with "model" set to the upstream's
// name, and an object without a top-level "model" is refused.
func FuzzWithModel(f *testing.F) {
	f.Add([]byte(rawBody), "gpt-4o")
	f.Add([]byte(`{"model":"a","model":"b"}`), "x")
	f.Add([]byte(` { "m\u006fdel" : "a" , "n":{"model":1}} `), `quote " and \ and </script>`)
	f.Add([]byte(`{"n":{"model":"inner"}}`), "x")
	f.Add([]byte(`{"model":null}`), "\u2028")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		var orig map[string]any
		if json.Unmarshal(body, &orig) != nil || orig == nil {
			return // not an object: the caller has decoded the body first
		}
		got, ok := withModel(body, model)
		_, has := orig["model"]
		if ok != has {
			t.Fatalf("withModel(%q) ok = %v, body has model: %v", body, ok, has)
		}
		if !ok {
			return
		}
		var sent map[string]any
		if err := json.Unmarshal(got, &sent); err != nil {
			t.Fatalf("withModel(%q, %q) = %q, not JSON: %v", body, model, got, err)
		}
		b, err := json.Marshal(model)
		if err != nil {
			t.Fatal(err)
		}
		var quoted string
		json.Unmarshal(b, &quoted) // model as JSON carries it (invalid UTF-8 replaced)
		orig["model"] = quoted
		if diff := cmp.Diff(orig, sent); diff != "" {
			t.Fatalf("withModel(%q, %q) = %q (-want +got):\n%s", body, model, got, diff)
		}
	})
}

// TestStreamRaw: a streamed request reaches an OpenAI-compatible upstream
// as the client sent it, only "model" replaced, and its chunks come back as
// Stream's do; a provider without a raw call gets the decoded request.
func TestStreamRaw(t *testing.T) {
	srv := providertest.NewServer(providertest.WithChunks("a", "b"))
	defer srv.Close()
	p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	fd, f := fakeDep("fake", "typed", "openai/fake-model")
	reg := newRegistry(t)
	r := mustNew(t, reg, Config{Deployments: []Deployment{
		{ID: "raw", Group: "g", Model: "openai/gpt-4o", Provider: p}, fd,
	}})
	const body = `{"stream":true,"model":"g","x_client_field":1,"messages":[{"role":"user","content":"hi"}]}`
	var req openai.ChatCompletionRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	read := func(s *Stream) []string {
		t.Helper()
		defer s.Close()
		var out []string
		for {
			c, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Choices) > 0 {
				out = append(out, c.Choices[0].Delta.Content)
			}
		}
	}
	s, err := r.StreamRaw(context.Background(), req, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", ""}, read(s)); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	last, _ := srv.LastRequest()
	if want := `{"stream":true,"model":"gpt-4o","x_client_field":1,"messages":[{"role":"user","content":"hi"}]}`; string(last.Body) != want {
		t.Errorf("upstream got %s, want %s", last.Body, want)
	}

	req.Model = "typed"
	s, err = r.StreamRaw(context.Background(), req, []byte(strings.Replace(body, `"g"`, `"typed"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(read(s)) == 0 {
		t.Error("typed provider: no chunks")
	}
	if diff := cmp.Diff([]string{"fake-model"}, models(f)); diff != "" {
		t.Errorf("fake's calls (-want +got):\n%s", diff)
	}
}
