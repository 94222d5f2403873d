package router_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
	"github.com/modelroute/modelroute/provider/anthropic/anthropictest"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
)

// mixedGroup is the group "smart" with an OpenAI deployment and an Anthropic
// one, each over HTTP to its own fake upstream (the Anthropic one through
// the fake Messages API), and the alias "claude" pointing at it.
type mixedGroup struct {
	r                 *router.Router
	openAI, anthropic *providertest.Server // the upstreams; set faults here
}

// newMixedGroup builds the group; first names the deployment tried first
// ("openai" or "anthropic"), by order.
func newMixedGroup(t *testing.T, first string, cfg router.Config) *mixedGroup {
	t.Helper()
	g := &mixedGroup{openAI: providertest.NewServer(), anthropic: providertest.NewServer()}
	t.Cleanup(g.openAI.Close)
	t.Cleanup(g.anthropic.Close)
	fake := anthropictest.NewServer(g.anthropic)
	t.Cleanup(fake.Close)

	op, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: g.openAI.URL(), APIKey: "sk-openai"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	ap, err := anthropic.New(anthropic.Config{BaseURL: fake.URL(), APIKey: "sk-ant"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ap.Close() })

	oOrder, aOrder := 1, 2
	if first == "anthropic" {
		oOrder, aOrder = 2, 1
	}
	cfg.Deployments = append(cfg.Deployments,
		router.Deployment{ID: "openai", Group: "smart", Model: "gpt-4o", ProviderName: "openai", Provider: op, Order: oOrder},
		router.Deployment{ID: "anthropic", Group: "smart", Model: "claude-3-opus-20240229", ProviderName: "anthropic", Provider: ap, Order: aOrder},
	)
	reg, err := alias.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	g.r, err = router.New(reg, cfg, router.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.r.Close() })
	if _, err := reg.Create(context.Background(), alias.Alias{Name: "claude", Target: "smart"}); err != nil {
		t.Fatal(err)
	}
	return g
}

type attempt struct {
	Deployment string
	Kind       string // "" for the successful attempt
}

func attempts(r router.Route) []attempt {
	var out []attempt
	for _, a := range r.Attempts {
		k := ""
		if a.Err != nil {
			k = a.Kind.String()
		}
		out = append(out, attempt{a.Deployment, k})
	}
	return out
}

func mixedRequest() openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    "claude",
		Messages: []openai.ChatCompletionMessage{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hi"}},
	}
}

// TestMixedGroupFailover: a group mixing OpenAI and Anthropic deployments
// fails over between them on the errors each one's own API sends, for
// calls and streams alike, and stops on the errors no other deployment
// can fix.
func TestMixedGroupFailover(t *testing.T) {
	tests := []struct {
		name   string
		first  string
		fault  func(g *mixedGroup) // injects the first deployment's failure
		want   []attempt
		served string // "" when the request must fail
	}{
		{
			name: "anthropic overloaded (529), openai serves", first: "anthropic",
			fault: func(g *mixedGroup) { g.anthropic.SetFault("", providertest.Fault{Status: 529}) },
			want:  []attempt{{"anthropic", "unavailable"}, {"openai", ""}}, served: "openai",
		},
		{
			name: "anthropic rate limited (429), openai serves", first: "anthropic",
			fault: func(g *mixedGroup) { g.anthropic.SetFault("", providertest.RateLimited(0)) },
			want:  []attempt{{"anthropic", "rate_limited"}, {"openai", ""}}, served: "openai",
		},
		{
			name: "anthropic key refused (401), openai serves", first: "anthropic",
			fault: func(g *mixedGroup) { g.anthropic.SetFault("", providertest.Fault{Status: 401}) },
			want:  []attempt{{"anthropic", "auth"}, {"openai", ""}}, served: "openai",
		},
		{
			name: "anthropic connection dropped, openai serves", first: "anthropic",
			fault: func(g *mixedGroup) { g.anthropic.SetFault("", providertest.Fault{Drop: true}) },
			want:  []attempt{{"anthropic", "connection"}, {"openai", ""}}, served: "openai",
		},
		{
			name: "openai rate limited, anthropic serves", first: "openai",
			fault: func(g *mixedGroup) { g.openAI.SetFault("", providertest.RateLimited(0)) },
			want:  []attempt{{"openai", "rate_limited"}, {"anthropic", ""}}, served: "anthropic",
		},
		{
			name: "openai down, anthropic serves", first: "openai",
			fault: func(g *mixedGroup) { g.openAI.SetFault("", providertest.Fault{Status: 503}) },
			want:  []attempt{{"openai", "unavailable"}, {"anthropic", ""}}, served: "anthropic",
		},
		{
			name: "anthropic prompt too long is final", first: "anthropic",
			fault: func(g *mixedGroup) { g.anthropic.SetFault("", providertest.ContextLengthExceeded()) },
			want:  []attempt{{"anthropic", "context_window_exceeded"}},
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name + "/complete"
			if stream {
				name = tt.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				g := newMixedGroup(t, tt.first, router.Config{AllowedFails: 100})
				tt.fault(g)
				var (
					route   router.Route
					content string
					err     error
				)
				if stream {
					var s *router.Stream
					s, err = g.r.Stream(context.Background(), mixedRequest())
					if err == nil {
						for {
							c, rerr := s.Recv()
							if rerr != nil {
								if rerr != io.EOF {
									err = rerr
								}
								break
							}
							for _, ch := range c.Choices {
								content += ch.Delta.Content
							}
						}
						route = s.Route()
						s.Close()
					} else {
						var ex *router.ExhaustedError
						if errors.As(err, &ex) {
							route.Attempts = ex.Attempts
						}
					}
				} else {
					var resp openai.ChatCompletionResponse
					resp, route, err = g.r.Complete(context.Background(), mixedRequest())
					if err == nil {
						content = resp.Choices[0].Message.Content
					}
				}
				if diff := cmp.Diff(tt.want, attempts(route)); diff != "" {
					t.Errorf("attempts (-want +got):\n%s", diff)
				}
				if tt.served == "" {
					if err == nil {
						t.Fatalf("served by %s, want a failure", route.Deployment)
					}
					return
				}
				if err != nil {
					t.Fatalf("failed: %v", err)
				}
				if route.Deployment != tt.served || content != "ok" || route.Requested != "claude" || route.Group != "smart" {
					t.Errorf("route %+v with content %q; want %s serving \"ok\" for claude → smart", route, content, tt.served)
				}
			})
		}
	}
}

// TestMixedGroupUnsupported: a request the Anthropic deployment's API cannot
// express (logprobs, n > 1, response_format) moves to the OpenAI one even
// with retries off, since no call was made and moving on is not a retry;
// the Anthropic deployment is not held to account (no failure counted, no
// cooldown) and serves the next ordinary request. In a group where no
// deployment can express it, the request fails as the client's own.
func TestMixedGroupUnsupported(t *testing.T) {
	for name, mutate := range map[string]func(*openai.ChatCompletionRequest){
		"logprobs": func(r *openai.ChatCompletionRequest) { r.LogProbs = true },
		"n > 1":    func(r *openai.ChatCompletionRequest) { r.N = 2 },
		"response_format": func(r *openai.ChatCompletionRequest) {
			r.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: "json_object"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			g := newMixedGroup(t, "anthropic", router.Config{NumRetries: -1, AllowedFails: 1})
			req := mixedRequest()
			mutate(&req)
			_, route, err := g.r.Complete(context.Background(), req)
			if err != nil {
				t.Fatalf("failed: %v", err)
			}
			want := []attempt{{"anthropic", "unsupported"}, {"openai", ""}}
			if diff := cmp.Diff(want, attempts(route)); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			for _, s := range g.r.Snapshot() {
				if !s.CooldownUntil.IsZero() || s.Failures != 0 {
					t.Errorf("deployment %s: %d failures, cooled down until %v after a request it could not express", s.ID, s.Failures, s.CooldownUntil)
				}
			}
			if _, route, err := g.r.Complete(context.Background(), mixedRequest()); err != nil || route.Deployment != "anthropic" {
				t.Errorf("next ordinary request: served by %q, err %v; want anthropic, first in order", route.Deployment, err)
			}
			if g.anthropic.Total() != 1 || g.openAI.Total() != 1 {
				t.Errorf("upstream calls: anthropic %d, openai %d; want 1 each (the refusal made none)", g.anthropic.Total(), g.openAI.Total())
			}
		})
	}

	t.Run("no deployment can express it", func(t *testing.T) {
		srv := providertest.NewServer()
		t.Cleanup(srv.Close)
		fake := anthropictest.NewServer(srv)
		t.Cleanup(fake.Close)
		ap, err := anthropic.New(anthropic.Config{BaseURL: fake.URL(), APIKey: "sk-ant"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ap.Close() })
		r, err := router.New(nil, router.Config{Deployments: []router.Deployment{
			{ID: "a1", Group: "claude", Model: "claude-3-opus-20240229", ProviderName: "anthropic", Provider: ap},
			{ID: "a2", Group: "claude", Model: "claude-3-5-sonnet-20240620", ProviderName: "anthropic", Provider: ap},
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		req := mixedRequest()
		req.LogProbs = true
		_, _, err = r.Complete(context.Background(), req)
		var ex *router.ExhaustedError
		if !errors.As(err, &ex) || ex.Kind != provider.KindUnsupported || len(ex.Attempts) != 2 {
			t.Fatalf("err = %v; want an ExhaustedError of kind unsupported after trying both", err)
		}
		if srv.Total() != 0 {
			t.Errorf("%d upstream calls, want none", srv.Total())
		}
	})
}
