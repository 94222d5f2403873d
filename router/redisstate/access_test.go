package redisstate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/router/redisstate"
	"github.com/modelroute/modelroute/router/redisstate/redistest"
)

func newChecker(t *testing.T, srv *redistest.Server) *access.Checker {
	t.Helper()
	s := newClient(t, srv, nil).AccessStore()
	c, err := access.New(context.Background(), access.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Cleanup(s.FollowAccess(c))
	return c
}

// Keys, teams and access groups written on one replica are in force on the
// others within a second, and budgets count every replica's spend.
func TestAccessShared(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := newChecker(t, srv), newChecker(t, srv)
	if _, err := a.CreateAccessGroup(ctx, access.AccessGroup{Name: "beta", Members: []string{"smart"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateTeam(ctx, access.Team{ID: "t1", MaxBudget: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateKey(ctx, access.Key{ID: "k1", TeamID: "t1", AccessGroups: []string{"beta"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "B authorizes k1 for smart", func() bool { return b.Authorize("k1", "smart") == nil })
	if err := b.Authorize("k1", "other"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("B: k1 may use other: %v", err)
	}

	// Spend recorded on each replica counts on both.
	if err := a.RecordSpend("k1", 0.6); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "B sees A's spend", func() bool {
		tm, err := b.GetTeam("t1")
		return err == nil && tm.Spend > 0.59 && tm.Spend < 0.61
	})
	if err := b.Authorize("k1", "smart"); err != nil {
		t.Fatalf("B refuses k1 under budget: %v", err)
	}
	if err := b.RecordSpend("k1", 0.5); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "A refuses k1 once the team's budget is spent on both", func() bool {
		return errors.Is(a.Authorize("k1", "smart"), access.ErrBudgetExceeded)
	})
	if err := b.Authorize("k1", "smart"); !errors.Is(err, access.ErrBudgetExceeded) {
		t.Errorf("B: %v, want ErrBudgetExceeded", err)
	}

	// A change of definitions reloads the other replica without losing
	// the spend recorded there.
	if err := b.RecordSpend("k1", 0.25); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateAccessGroup(ctx, access.AccessGroup{Name: "beta", Members: []string{"smart", "fast"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "B sees the new member", func() bool {
		g, err := b.GetAccessGroup("beta")
		return err == nil && len(g.Members) == 2
	})
	tm, _ := b.GetTeam("t1")
	if tm.Spend < 1.34 || tm.Spend > 1.36 {
		t.Errorf("B's team spend after the reload is %v, want 1.35", tm.Spend)
	}
	// A replica started now loads it all.
	c := newChecker(t, srv)
	if k, err := c.GetKey("k1"); err != nil || k.TeamID != "t1" {
		t.Errorf("a new replica: key %+v, %v", k, err)
	}

	// Deleting the key on B removes it everywhere.
	if _, err := b.DeleteKey(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "A forgets k1", func() bool { return errors.Is(a.CheckKey("k1"), access.ErrUnknownKey) })
}

// Usage saved on one replica shows on the others, and is not sent twice.
func TestUsageShared(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	newUsage := func() (*access.Usage, *redisstate.UsageStore) {
		s := newClient(t, srv, nil).UsageStore()
		u, err := access.NewUsage(ctx, access.WithUsageStore(s))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.FollowUsage(u))
		return u, s
	}
	a, _ := newUsage()
	b, bs := newUsage()
	a.Record(access.UsageRecord{Requested: "smart", Group: "g", PromptTokens: 10, CompletionTokens: 5, CostUSD: 0.25, Latency: time.Second})
	b.Record(access.UsageRecord{Requested: "smart", Group: "g", Err: true})
	if err := a.Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx); err != nil {
		t.Fatal(err)
	}
	want := access.Stats{Calls: 1, Errors: 1, PromptTokens: 10, CompletionTokens: 5, CostUSD: 0.25, Latency: time.Second,
		AvgTokensPerCall: 15, AvgLatency: time.Second}
	for name, u := range map[string]*access.Usage{"A": a, "B": b} {
		eventually(t, time.Second, name+" shows both replicas' usage", func() bool { return u.ByName("smart") == want })
	}
	// Saving again sends nothing new: the store still holds one call.
	if err := b.Save(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := bs.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Names["smart"]; got.Calls != 1 || got.Errors != 1 || got.PromptTokens != 10 {
		t.Errorf("stored usage of smart: %+v", got)
	}
	// A replica started later loads it.
	c, _ := newUsage()
	if got := c.ByName("smart"); got != want {
		t.Errorf("a new replica: %+v, want %+v", got, want)
	}
}
