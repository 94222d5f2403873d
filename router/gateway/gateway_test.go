package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/litellm"
)

const testConfig = `
model_list:
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o, api_base: http://127.0.0.1:9/v1, api_key: k}
  - model_name: model-group-2
    litellm_params: {model: openai/gpt-4o-mini, api_base: http://127.0.0.1:9/v1, api_key: k}
router_settings:
  model_group_alias:
    smart: model-group-1
    alias-1: smart
general_settings:
  master_key: sk-config-master
  background_health_checks: true
  health_check_interval: 60
`

func parse(t *testing.T, text string) *litellm.Config {
	t.Helper()
	cfg, err := litellm.Parse([]byte(text), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakes makes every deployment's provider a providertest.Fake: no network,
// so the gateway can run inside a synctest bubble.
func fakes() gateway.Option {
	return gateway.WithProviders(func(litellm.Deployment) (provider.Provider, error) {
		return providertest.NewFake(), nil
	})
}

// usageStore is an access.UsageStore in memory that counts its saves.
type usageStore struct {
	mu    sync.Mutex
	saves int
	last  access.UsageSnapshot
}

func (s *usageStore) Load(context.Context) (access.UsageSnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, nil
}

func (s *usageStore) Save(_ context.Context, snap access.UsageSnapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	s.last = snap
	return nil
}

func (s *usageStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// The gateway's lifecycle: the background health checker and usage saver
// run, Close stops every goroutine (synctest fails the test otherwise),
// saves usage once more, closes the Registry and the Checker, and may be
// called again.
func TestLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &usageStore{}
		g, err := gateway.New(t.Context(), parse(t, testConfig), fakes(),
			gateway.WithUsageStore(store), gateway.WithUsageSaveInterval(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		g.Usage().Record(access.UsageRecord{Requested: "smart", Group: "model-group-1"})
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		if n := store.count(); n != 2 {
			t.Errorf("after 2.5 intervals: %d usage saves, want 2", n)
		}

		g.Close()
		if n := store.count(); n != 3 {
			t.Errorf("after Close: %d usage saves, want 3 (one more on Close)", n)
		}
		if got := store.last.Names["smart"].Calls; got != 1 {
			t.Errorf("saved calls for smart = %d, want 1", got)
		}
		if _, err := g.Registry().Create(context.Background(), alias.Alias{Name: "late", Target: "model-group-1"}); !errors.Is(err, alias.ErrClosed) {
			t.Errorf("Registry().Create after Close: %v, want alias.ErrClosed", err)
		}
		if _, err := g.Access().CreateKey(context.Background(), access.Key{ID: "k"}); !errors.Is(err, access.ErrClosed) {
			t.Errorf("Access().CreateKey after Close: %v, want access.ErrClosed", err)
		}
		g.Close() // idempotent
		if n := store.count(); n != 3 {
			t.Errorf("a second Close saved usage again: %d saves", n)
		}
	})
}

// New refuses bad input with an error naming it, and closes whatever it had
// built (synctest fails the test on a leaked goroutine).
func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  string
		opts []gateway.Option
		want string
	}{
		{"no config", "", nil, "gateway: no config"},
		{"save interval", testConfig, []gateway.Option{gateway.WithUsageSaveInterval(-time.Second)}, "usage save interval -1s: must be positive"},
		{"router refuses the config", testConfig, []gateway.Option{gateway.WithAdjustConfig(func(c *router.Config) {
			c.Deployments[0].Weight = -1
		})}, "gateway: test.yaml: router:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cfg *litellm.Config
				if tc.cfg != "" {
					cfg = parse(t, tc.cfg)
				}
				g, err := gateway.New(t.Context(), cfg, append([]gateway.Option{fakes()}, tc.opts...)...)
				if err == nil {
					g.Close()
					t.Fatal("New succeeded")
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("New: %v, want it to contain %q", err, tc.want)
				}
			})
		})
	}
}

// Deleting an alias removes it from every access group, so that a later
// alias of the same name is not granted by accident.
func TestDeleteAliasPrunesAccessGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		g, err := gateway.New(ctx, parse(t, testConfig), fakes())
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if _, err := g.Access().CreateAccessGroup(ctx, access.AccessGroup{Name: "beta", Members: []string{"smart", "alias-1", "model-group-2"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Registry().Delete(ctx, "alias-1"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the subscription runs on its own goroutine
		ag, err := g.Access().GetAccessGroup("beta")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"model-group-2", "smart"}, ag.Members); diff != "" {
			t.Errorf("access group after deleting alias-1 (-want +got):\n%s", diff)
		}
	})
}

// With a state directory, aliases, keys and usage survive a restart; the
// config's aliases are synced again without touching the admin-made ones.
func TestStateDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir() + "/state" // New creates it
	ctx := t.Context()
	g, err := gateway.New(ctx, parse(t, testConfig), fakes(), gateway.WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Registry().Create(ctx, alias.Alias{Name: "mine", Target: "model-group-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Access().CreateKey(ctx, access.Key{ID: "key-1", Models: []string{"mine"}}); err != nil {
		t.Fatal(err)
	}
	g.Usage().Record(access.UsageRecord{Requested: "mine", Group: "model-group-2"})
	g.Close()

	g, err = gateway.New(ctx, parse(t, testConfig), fakes(), gateway.WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var got []string
	for _, a := range g.Registry().List(alias.ListOptions{}) {
		got = append(got, a.Name+"->"+a.Target)
	}
	if diff := cmp.Diff([]string{"alias-1->smart", "mine->model-group-2", "smart->model-group-1"}, got); diff != "" {
		t.Errorf("aliases after restart (-want +got):\n%s", diff)
	}
	if err := g.Access().Authorize("key-1", "mine"); err != nil {
		t.Errorf("key-1 after restart: %v", err)
	}
	if n := g.Usage().ByName("mine").Calls; n != 1 {
		t.Errorf("usage of mine after restart: %d calls, want 1", n)
	}
}

// The admin API answers to the master key: the config's, or the one
// WithMasterKey gives instead.
func TestMasterKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []gateway.Option
		key  string
		want int
	}{
		{"config's key", nil, "sk-config-master", http.StatusOK},
		{"WithMasterKey replaces it", []gateway.Option{gateway.WithMasterKey("sk-other")}, "sk-config-master", http.StatusUnauthorized},
		{"WithMasterKey's key", []gateway.Option{gateway.WithMasterKey("sk-other")}, "sk-other", http.StatusOK},
		{"empty WithMasterKey: none", []gateway.Option{gateway.WithMasterKey("")}, "sk-config-master", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := gateway.New(t.Context(), parse(t, testConfig), append([]gateway.Option{fakes()}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			req := httptest.NewRequest("GET", "/api/model-aliases", nil)
			req.Header.Set("Authorization", "Bearer "+tc.key)
			rec := httptest.NewRecorder()
			g.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("GET /api/model-aliases: %d %s, want %d", rec.Code, rec.Body, tc.want)
			}
		})
	}
}

// SyncAliases creates the config's aliases in any chain order, updates the
// changed ones, leaves admin-made ones alone, and names what it cannot do.
func TestSyncAliases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing []alias.Alias
		want     []litellm.Alias
		wantErr  string
		after    []string // name->target, listed with hidden ones
	}{
		{
			name:  "chain in reverse order",
			want:  []litellm.Alias{{Name: "a", Target: "b"}, {Name: "b", Target: "c"}, {Name: "c", Target: "model-group-1"}},
			after: []string{"a->b", "b->c", "c->model-group-1"},
		},
		{
			name:     "changed target and hidden flag are updated",
			existing: []alias.Alias{{Name: "a", Target: "model-group-1"}},
			want:     []litellm.Alias{{Name: "a", Target: "model-group-2", Hidden: true}},
			after:    []string{"a->model-group-2 (hidden)"},
		},
		{
			name:     "admin-made aliases are left alone",
			existing: []alias.Alias{{Name: "mine", Target: "model-group-1"}},
			want:     []litellm.Alias{{Name: "a", Target: "model-group-2"}},
			after:    []string{"a->model-group-2", "mine->model-group-1"},
		},
		{
			name:     "a cycle through an admin-made alias is named",
			existing: []alias.Alias{{Name: "mine", Target: "a"}, {Name: "a", Target: "model-group-1"}},
			want:     []litellm.Alias{{Name: "a", Target: "mine", Source: "config.yaml:7"}},
			wantErr:  "a (config.yaml:7): alias:",
			after:    []string{"a->model-group-1", "mine->a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			reg, err := alias.New(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			for _, a := range tc.existing {
				if _, err := reg.Create(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			err = gateway.SyncAliases(ctx, reg, tc.want)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("SyncAliases: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("SyncAliases: %v, want an error containing %q", err, tc.wantErr)
			}
			var got []string
			for _, a := range reg.List(alias.ListOptions{IncludeHidden: true}) {
				s := a.Name + "->" + a.Target
				if a.Hidden {
					s += " (hidden)"
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tc.after, got); diff != "" {
				t.Errorf("aliases (-want +got):\n%s", diff)
			}
		})
	}
}

// NewServer bounds reading a request but not writing a response, which
// lasts as long as a stream.
func TestNewServer(t *testing.T) {
	srv := gateway.NewServer(http.NotFoundHandler(), nil)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("read timeouts: header %v, request %v, idle %v: want all set", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout)
	}
	if srv.WriteTimeout != 0 {
		t.Errorf("WriteTimeout = %v, want none", srv.WriteTimeout)
	}
	if srv.ErrorLog == nil {
		t.Error("no ErrorLog")
	}
}
