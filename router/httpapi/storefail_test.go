package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/httpapi"
)

var errDown = errors.New("store down (test)")

// flakyAliases is an alias store whose saves fail while down is set.
type flakyAliases struct {
	alias.MemoryStore
	down *atomic.Bool
}

func (s *flakyAliases) Save(ctx context.Context, all []alias.Alias) error {
	if s.down.Load() {
		return errDown
	}
	return s.MemoryStore.Save(ctx, all)
}

// flakyAccess is an access store whose saves fail while down is set.
type flakyAccess struct {
	access.MemoryStore
	down *atomic.Bool
}

func (s *flakyAccess) Save(ctx context.Context, st access.State) error {
	if s.down.Load() {
		return errDown
	}
	return s.MemoryStore.Save(ctx, st)
}

// TestStoreFailure: an admin write whose store fails (a disk, a database,
// an unreachable Redis) is the server's trouble: 503 store_unavailable in
// OpenAI's shape, not a 400 blaming the caller; and it leaves the state as it
// was, so the same write succeeds once the store is back.
func TestStoreFailure(t *testing.T) {
	ctx := context.Background()
	var down atomic.Bool
	reg, err := alias.New(ctx, alias.WithStore(&flakyAliases{down: &down}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	rt, err := router.New(reg, router.Config{Deployments: []router.Deployment{
		{ID: "d1", Group: "model-group-1", Model: "openai/gpt-4o", Provider: providertest.NewFake()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	ac, err := access.New(ctx, access.WithStore(&flakyAccess{down: &down}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ac.Close() })
	fx := &fixture{reg: reg, rt: rt, ac: ac}
	fx.srv = httpapi.New(rt, reg, httpapi.WithAccess(ac), httpapi.WithMasterKey(master)).Mux()

	writes := []struct{ name, method, path, body string }{
		{"create alias", "POST", "/api/model-aliases/create", `{"alias":"smart","litellm_model":"model-group-1"}`},
		{"generate key", "POST", "/key/generate", `{"models":["model-group-1"]}`},
		{"create team", "POST", "/api/teams/create", `{"team_id":"t1"}`},
	}
	down.Store(true)
	for _, w := range writes {
		code, out := fx.do(t, w.method, w.path, master, w.body)
		var e errorBody
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("%s: answer is not JSON: %s", w.name, out)
		}
		if code != 503 || e.Error.Code != httpapi.CodeStoreUnavailable || e.Error.Type != "api_error" ||
			!strings.Contains(e.Error.Message, errDown.Error()) {
			t.Errorf("%s with the store down: %d %s; want 503 store_unavailable naming the store's error", w.name, code, out)
		}
	}
	if _, err := reg.Get("smart"); !errors.Is(err, alias.ErrNotFound) {
		t.Errorf("the refused create left an alias behind: %v", err)
	}
	if _, err := ac.GetTeam("t1"); !errors.Is(err, access.ErrNotFound) {
		t.Errorf("the refused team create left a team behind: %v", err)
	}

	down.Store(false)
	for _, w := range writes {
		if code, out := fx.do(t, w.method, w.path, master, w.body); code != 200 && code != 201 {
			t.Errorf("%s with the store back: %d %s", w.name, code, out)
		}
	}
}
