package access

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)

// fixedClock returns a clock that reads *now.
func fixedClock(now *time.Time) func() time.Time { return func() time.Time { return *now } }

func newChecker(t testing.TB, opts ...Option) *Checker {
	t.Helper()
	now := t0
	opts = append([]Option{WithClock(fixedClock(&now))}, opts...)
	c, err := New(context.Background(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustKey(t testing.TB, c *Checker, k Key) Key {
	t.Helper()
	got, err := c.CreateKey(context.Background(), k)
	if err != nil {
		t.Fatalf("CreateKey(%q): %v", k.ID, err)
	}
	return got
}

func mustTeam(t testing.TB, c *Checker, tm Team) {
	t.Helper()
	if _, err := c.CreateTeam(context.Background(), tm); err != nil {
		t.Fatalf("CreateTeam(%q): %v", tm.ID, err)
	}
}

func mustOrg(t testing.TB, c *Checker, o Organization) {
	t.Helper()
	if _, err := c.CreateOrganization(context.Background(), o); err != nil {
		t.Fatalf("CreateOrganization(%q): %v", o.ID, err)
	}
}

func mustGroup(t testing.TB, c *Checker, g AccessGroup) {
	t.Helper()
	if _, err := c.CreateAccessGroup(context.Background(), g); err != nil {
		t.Fatalf("CreateAccessGroup(%q): %v", g.Name, err)
	}
}

// errKind names the sentinel err matches, for table comparisons.
func errKind(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{ErrDenied, "denied"},
		{ErrUnknownKey, "unknown-key"},
		{ErrBlocked, "blocked"},
		{ErrExpired, "expired"},
		{ErrBudgetExceeded, "budget"},
		{ErrNotFound, "not-found"},
		{ErrExists, "exists"},
		{ErrInvalid, "invalid"},
		{ErrInUse, "in-use"},
		{ErrClosed, "closed"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	if err == nil {
		return "ok"
	}
	return "other: " + err.Error()
}

// countingStore wraps a Store, counts saves and fails them on demand.
type countingStore struct {
	Store
	mu    sync.Mutex
	saves int
	fail  error
}

func (s *countingStore) Save(ctx context.Context, st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.saves++
	return s.Store.Save(ctx, st)
}

func (s *countingStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}
