package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// benchChecker builds the BenchmarkAuthorize scenario: a key whose 50
// grants are 47 exact names, 2 access groups (10 members each) and one
// wildcard, with a budget, in a team that narrows it (a second level of
// 30 grants) under an organization with a budget.
func benchChecker(tb testing.TB, opts ...Option) (c *Checker, keyID string) {
	tb.Helper()
	var st State
	for g := range 2 {
		var members []string
		for i := range 10 {
			members = append(members, fmt.Sprintf("ag%d-model-%d", g, i))
		}
		st.AccessGroups = append(st.AccessGroups, AccessGroup{Name: fmt.Sprintf("ag%d", g), Members: members})
	}
	grants := []string{"ag0", "ag1", "openai/*"}
	for i := range 47 {
		grants = append(grants, fmt.Sprintf("model-group-%d", i))
	}
	teamGrants := []string{"ag0", "openai/*"}
	for i := range 28 {
		teamGrants = append(teamGrants, fmt.Sprintf("model-group-%d", i))
	}
	st.Organizations = []Organization{{ID: "org", MaxBudget: 1000}}
	st.Teams = []Team{{ID: "team", OrganizationID: "org", Models: teamGrants, MaxBudget: 100}}
	sum := sha256.Sum256([]byte("sk-bench-secret"))
	keyID = hex.EncodeToString(sum[:]) // what the gateway passes: a hash of the secret
	st.Keys = []Key{
		{ID: keyID, TeamID: "team", Models: grants, MaxBudget: 10},
		{ID: "solo", Models: grants, MaxBudget: 10},
	}
	// Other keys, so that the key lookup is not in a tiny map.
	for i := range 1000 {
		st.Keys = append(st.Keys, Key{ID: fmt.Sprintf("other-%d", i), TeamID: "team", Models: []string{"x", "openai/*"}})
	}
	store := NewMemoryStore()
	if err := store.Save(context.Background(), st); err != nil {
		tb.Fatal(err)
	}
	return newChecker(tb, append(opts, WithStore(store))...), keyID
}

func BenchmarkAuthorize(b *testing.B) {
	c, keyID := benchChecker(b)
	for _, bc := range []struct {
		name, key, model string
	}{
		{"exact", keyID, "model-group-7"},
		{"access-group", keyID, "ag0-model-3"},
		{"wildcard", keyID, "openai/gpt-4o"},
		{"no-team/exact", "solo", "model-group-40"},
		{"no-team/access-group", "solo", "ag1-model-9"},
	} {
		if err := c.Authorize(bc.key, bc.model); err != nil {
			b.Fatalf("%s: %v", bc.name, err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Authorize(bc.key, bc.model); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkAllowImplyTargets is the same key through Allow (as the router
// calls it) with WithTargetGrantsImplyAliases on: the levels are applied
// one by one, and an alias is allowed through its target's grant.
func BenchmarkAllowImplyTargets(b *testing.B) {
	c, keyID := benchChecker(b, WithTargetGrantsImplyAliases(true))
	ctx := NewContext(context.Background(), keyID)
	for _, bc := range []struct {
		name, model string
		resolved    []string
	}{
		{"exact", "model-group-7", nil},
		{"alias-via-target", "alias-67", []string{"model-group-7"}},
	} {
		if err := c.Allow(ctx, bc.model, bc.resolved); err != nil {
			b.Fatalf("%s: %v", bc.name, err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Allow(ctx, bc.model, bc.resolved); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func TestAuthorizeDoesNotAllocate(t *testing.T) {
	c, keyID := benchChecker(t)
	for _, model := range []string{"model-group-7", "ag0-model-3", "openai/gpt-4o"} {
		if n := testing.AllocsPerRun(100, func() { _ = c.Authorize(keyID, model) }); n != 0 {
			t.Errorf("Authorize(%q) allocates %v times, want 0", model, n)
		}
	}
	ctx := NewContext(context.Background(), keyID)
	if n := testing.AllocsPerRun(100, func() { _, _ = c.CallerAlias(ctx, "x") }); n != 0 {
		t.Errorf("CallerAlias allocates %v times, want 0", n)
	}
	resolved := []string{"model-group-7"}
	if n := testing.AllocsPerRun(100, func() { _ = c.Allow(ctx, "model-group-7", resolved) }); n != 0 {
		t.Errorf("Allow allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = c.RecordSpend(keyID, 1e-9) }); n != 0 {
		t.Errorf("RecordSpend allocates %v times, want 0", n)
	}
}

func BenchmarkVisible(b *testing.B) {
	c, keyID := benchChecker(b)
	var names []string
	for i := range 100 {
		names = append(names, fmt.Sprintf("model-group-%d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Visible(keyID, names)
	}
}

func BenchmarkRecordSpend(b *testing.B) {
	c, keyID := benchChecker(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = c.RecordSpend(keyID, 1e-9)
		}
	})
}

func BenchmarkUsageRecord(b *testing.B) {
	var u Usage
	r := UsageRecord{Requested: "alias-1", Group: "model-group-1", Deployment: "dep-a", KeyID: "k", TeamID: "t", PromptTokens: 100, CompletionTokens: 50, CostUSD: 0.001, Latency: 300 * time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u.Record(r)
		}
	})
}

// BenchmarkCreateKey measures a write (a create and a delete) with many
// keys present: the snapshot is rebuilt (compiled grant sets of unchanged
// keys are reused) and the whole state handed to the memory store.
func BenchmarkCreateKey(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			st := State{Teams: []Team{{ID: "t", Models: []string{"a", "b", "openai/*"}}}}
			for i := range n {
				st.Keys = append(st.Keys, Key{ID: fmt.Sprintf("k%d", i), TeamID: "t", Models: []string{"a", "b", "c"}})
			}
			store := NewMemoryStore()
			if err := store.Save(ctx, st); err != nil {
				b.Fatal(err)
			}
			c := newChecker(b, WithStore(store))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.CreateKey(ctx, Key{ID: fmt.Sprintf("new-%d", i), Models: []string{"a"}}); err != nil {
					b.Fatal(err)
				}
				if _, err := c.DeleteKey(ctx, fmt.Sprintf("new-%d", i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// discardLog is a UsageLogStore that keeps nothing.
type discardLog struct{ memUsage }

func (*discardLog) AppendUsageLog(context.Context, []UsageRecord) error { return nil }

// BenchmarkUsageRecordLogged is Record with a UsageLogStore: each record
// is also kept for the request log, saved every 1000 records.
func BenchmarkUsageRecordLogged(b *testing.B) {
	u, err := NewUsage(context.Background(), WithUsageStore(&discardLog{}))
	if err != nil {
		b.Fatal(err)
	}
	r := UsageRecord{Requested: "alias-1", Group: "model-group-1", Deployment: "dep-a", KeyID: "k", TeamID: "t", PromptTokens: 100, CompletionTokens: 50, CostUSD: 0.001, Latency: 300 * time.Millisecond}
	b.ReportAllocs()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u.Record(r)
			if n.Add(1)%1000 == 0 {
				u.Save(context.Background())
			}
		}
	})
}
