package gateway_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/sqlstore/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A gateway moved from JSON files to a database imports the files once,
// says so, and keeps them renamed; the next start imports nothing.
func TestDatabaseImportsJSONStateOnce(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	g, err := gateway.New(ctx, parse(t, testConfig), fakes(), gateway.WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Registry().Create(ctx, alias.Alias{Name: "mine", Target: "model-group-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Access().CreateKey(ctx, access.Key{ID: "key-1", Models: []string{"mine"}, MaxBudget: 1}); err != nil {
		t.Fatal(err)
	}
	if err := g.Access().RecordSpend("key-1", 0.5); err != nil {
		t.Fatal(err)
	}
	g.Usage().Record(access.UsageRecord{Requested: "mine", Group: "model-group-2"})
	g.Close()

	start := func() (*gateway.Gateway, string) {
		t.Helper()
		db, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var logs syncBuffer
		g, err := gateway.New(ctx, parse(t, testConfig), fakes(), gateway.WithDatabase(db), gateway.WithStateDir(dir),
			gateway.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		return g, logs.String()
	}
	check := func(g *gateway.Gateway) {
		t.Helper()
		if _, err := g.Registry().Get("mine"); err != nil {
			t.Errorf("alias mine: %v", err)
		}
		if k, err := g.Access().GetKey("key-1"); err != nil || k.Spend != 0.5 {
			t.Errorf("key-1: %+v, %v; want spend 0.5", k, err)
		}
		if n := g.Usage().ByName("mine").Calls; n != 1 {
			t.Errorf("usage of mine: %d calls, want 1", n)
		}
	}

	g, logs := start()
	check(g)
	g.Close()
	for _, f := range []string{"aliases.json", "access.json", "usage.json"} {
		if !strings.Contains(logs, "imported a JSON state file into the database") || !strings.Contains(logs, f) {
			t.Errorf("the log does not say %s was imported:\n%s", f, logs)
		}
		if _, err := os.Stat(filepath.Join(dir, f+".imported")); err != nil {
			t.Errorf("%s was not kept renamed: %v", f, err)
		}
	}

	// A JSON file that reappears is not imported over the database's state.
	if err := os.Rename(filepath.Join(dir, "aliases.json.imported"), filepath.Join(dir, "aliases.json")); err != nil {
		t.Fatal(err)
	}
	g, logs = start()
	defer g.Close()
	check(g)
	if strings.Contains(logs, "imported a JSON state file") || !strings.Contains(logs, "not importing a JSON state file: the database already holds aliases") {
		t.Errorf("second start's log:\n%s", logs)
	}
}

// Usage is saved as soon as a batch of requests has finished, before the
// interval is up.
func TestUsageBatchSavesEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &usageStore{}
		g, err := gateway.New(t.Context(), parse(t, testConfig), fakes(),
			gateway.WithUsageStore(store), gateway.WithUsageSaveInterval(time.Hour), gateway.WithUsageBatch(3))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		for i := range 7 {
			g.Usage().Record(access.UsageRecord{Requested: "smart", Group: "model-group-1"})
			synctest.Wait()
			if n, want := store.count(), (i+1)/3; n != want {
				t.Errorf("after %d records: %d saves, want %d", i+1, n, want)
			}
		}
	})
}

func TestNewRefusesBadBatch(t *testing.T) {
	_, err := gateway.New(context.Background(), parse(t, testConfig), fakes(), gateway.WithUsageBatch(0))
	if err == nil || !strings.Contains(err.Error(), "gateway: usage batch 0: must be positive") {
		t.Errorf("New with a batch of 0: %v", err)
	}
}
