package alias

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// t0 is the first time a testClock reads.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// testClock advances one second on every reading.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: t0} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.t
	c.t = c.t.Add(time.Second)
	return now
}

// at returns the time of the i-th reading (from 0).
func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }

// newTestRegistry returns a Registry with a testClock, closed when t ends.
func newTestRegistry(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	opts = append([]Option{WithClock(newTestClock().Now)}, opts...)
	r, err := New(context.Background(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// mustCreate creates each alias in order.
func mustCreate(t testing.TB, r *Registry, as ...Alias) {
	t.Helper()
	for _, a := range as {
		if _, err := r.Create(context.Background(), a); err != nil {
			t.Fatalf("Create(%q → %q): %v", a.Name, a.Target, err)
		}
	}
}

// baseAliases is the registry most tests start from, created in this order
// (revisions 1 to 6, clock readings 0 to 5):
//
//	smart → gpt-4o-group
//	fast → smart → gpt-4o-group
//	old (disabled) → gpt-3-group
//	via-old → old
//	secret (hidden) → gpt-4o-group
//	raw → openai/gpt-4o-mini
func baseAliases() []Alias {
	return []Alias{
		{Name: "smart", Target: "gpt-4o-group", Description: "best model", Labels: map[string]string{"tier": "1"}},
		{Name: "fast", Target: "smart"},
		{Name: "old", Target: "gpt-3-group", Disabled: true},
		{Name: "via-old", Target: "old"},
		{Name: "secret", Target: "gpt-4o-group", Hidden: true},
		{Name: "raw", Target: "openai/gpt-4o-mini"},
	}
}

// stored returns a as the registry stores the i-th created alias.
func stored(a Alias, i int) Alias {
	a.Created, a.Updated, a.Revision = at(i), at(i), uint64(i+1)
	return a
}

// baseStored returns baseAliases as stored, by name.
func baseStored() map[string]Alias {
	m := make(map[string]Alias)
	for i, a := range baseAliases() {
		m[a.Name] = stored(a, i)
	}
	return m
}

// groups is a TargetCheck that knows a fixed set of group names.
type groups struct {
	mu    sync.Mutex
	names map[string]bool
	calls []string // "name → target" per CheckAlias call
}

var errNoGroup = errors.New("no such group")
var errShadows = errors.New("shadows a group")

func newGroups(names ...string) *groups {
	g := &groups{names: make(map[string]bool)}
	for _, n := range names {
		g.names[n] = true
	}
	return g
}

func (g *groups) CheckAlias(name, target string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, name+" → "+target)
	if g.names[name] {
		return errShadows
	}
	if !g.names[target] {
		return errNoGroup
	}
	return nil
}

func (g *groups) Known(name string) bool { return g.names[name] }

func (g *groups) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.calls
	g.calls = nil
	return out
}

// failStore is a MemoryStore whose Save fails while fail is set.
type failStore struct {
	MemoryStore
	mu   sync.Mutex
	fail error
}

func (f *failStore) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

func (f *failStore) Save(ctx context.Context, all []Alias) error {
	f.mu.Lock()
	err := f.fail
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.MemoryStore.Save(ctx, all)
}

func ptr[T any](v T) *T { return &v }
