package access

import (
	"context"
	"errors"
	"testing"
)

// Two Checkers over one Store: what one writes, the other applies on
// Reload; a stored state that does not validate is refused.
func TestReload(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	a := newChecker(t, WithStore(store))
	b := newChecker(t, WithStore(store))
	mustGroup(t, a, AccessGroup{Name: "beta", Members: []string{"smart"}})
	mustKey(t, a, Key{ID: "k1", AccessGroups: []string{"beta"}})
	if err := b.Authorize("k1", "smart"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before Reload: %v, want ErrUnknownKey", err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Authorize("k1", "smart"); err != nil {
		t.Fatalf("after Reload: %v", err)
	}
	// A key of a team that does not exist does not validate.
	if err := store.Save(ctx, State{Keys: []Key{{ID: "k2", TeamID: "nope"}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err == nil {
		t.Fatal("Reload accepted a key of a missing team")
	}
	if err := b.Authorize("k1", "smart"); err != nil {
		t.Errorf("after a refused Reload: %v", err)
	}
	b.Close()
	if err := b.Reload(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Reload after Close: %v, want ErrClosed", err)
	}
}

// AddFlushedSpend counts spend flushed elsewhere in the budgets here.
func TestAddFlushedSpend(t *testing.T) {
	c := newChecker(t, WithStore(&rowStore{}))
	mustKey(t, c, Key{ID: "k1", MaxBudget: 1})
	c.AddFlushedSpend(Changes{KeySpend: []SpendDelta{{ID: "k1", Nanos: 6e8}, {ID: "unknown", Nanos: 1}}})
	if err := c.Authorize("k1", "m"); err != nil {
		t.Fatalf("under budget: %v", err)
	}
	c.AddFlushedSpend(Changes{KeySpend: []SpendDelta{{ID: "k1", Nanos: 5e8}}})
	if err := c.Authorize("k1", "m"); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("over budget: %v, want ErrBudgetExceeded", err)
	}
	// Spend flushed elsewhere is not sent again by this Checker's flush.
	rs := c.store.(*rowStore)
	rs.take()
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rs.take(); len(got) != 0 {
		t.Errorf("Flush sent %+v, want nothing", got)
	}
}

// AddSavedUsage shows usage saved elsewhere, and Save does not send it again.
func TestAddSavedUsage(t *testing.T) {
	u := &Usage{}
	u.Record(UsageRecord{Requested: "smart", PromptTokens: 1})
	u.AddSavedUsage(UsageSnapshot{
		Names: map[string]Stats{"smart": {Calls: 2, PromptTokens: 20}, "bad": {Calls: -1}},
		Keys:  map[string]Stats{"k1": {Errors: 1}},
	})
	if got := u.ByName("smart"); got.Calls != 3 || got.PromptTokens != 21 {
		t.Errorf("smart: %+v, want 3 calls and 21 prompt tokens", got)
	}
	if got := u.ByName("bad"); got != (Stats{}) {
		t.Errorf("an invalid entry was added: %+v", got)
	}
	if got := u.Lookup(PerKey, "k1"); got.Errors != 1 {
		t.Errorf("k1: %+v", got)
	}
	for _, c := range []*usageCounters{u.counters(PerName, "smart"), u.counters(PerKey, "k1")} {
		if d := c.load().sub(c.saved); d.calls+d.errors > 1 {
			t.Errorf("counts to send after AddSavedUsage: %+v, want only the local record", d)
		}
	}
}
