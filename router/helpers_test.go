package router

import (
	"context"
	"errors"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider/providertest"
)

// newRegistry returns an in-memory Registry holding the given aliases
// (name, target pairs), created after the Router plugs its check in.
func newRegistry(t testing.TB) *alias.Registry {
	t.Helper()
	reg, err := alias.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

func mustAlias(t testing.TB, reg *alias.Registry, name, target string) {
	t.Helper()
	if _, err := reg.Create(context.Background(), alias.Alias{Name: name, Target: target}); err != nil {
		t.Fatal(err)
	}
}

func mustNew(t testing.TB, reg *alias.Registry, cfg Config, opts ...Option) *Router {
	t.Helper()
	r, err := New(reg, cfg, append([]Option{WithSeed(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func chat(model string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	}
}

// dep returns a deployment of group on a fresh fake.
func fakeDep(id, group, model string) (Deployment, *providertest.Fake) {
	f := providertest.NewFake()
	return Deployment{ID: id, Group: group, Model: model, Provider: f}, f
}

// attemptIDs lists the deployments of a route's attempts.
func attemptIDs(r Route) []string {
	var ids []string
	for _, a := range r.Attempts {
		ids = append(ids, a.Deployment)
	}
	return ids
}

// models lists the models of a fake's calls.
func models(f *providertest.Fake) []string {
	var m []string
	for _, c := range f.Calls() {
		m = append(m, c.Model)
	}
	return m
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func timeNow() time.Time { return time.Now() }

// testRequest starts a chat request on r the way Complete does, without
// resolving or serving it; release returns its scratch to the pool.
func testRequest(r *Router, opts ...CallOption) (q *request, release func()) {
	s := r.getScratch()
	s.cand.req = &s.chat.req
	rq := r.newRequest(context.Background(), s, &s.chat, opts)
	s.cand.set = &rq.tab.set
	s.cand.est = r.est
	s.cand.estimate = -1
	return &rq, func() { r.putScratch(s, &s.chat, rq.n) }
}
