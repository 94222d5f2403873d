package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is what one conformance case gets: a way to start a "process" over
// the implementation's persisted state, and the clock its parts read.
type env struct {
	t    *testing.T
	open func() stores
	now  time.Time
}

// proc is one life of a process over the stores.
type proc struct {
	reg   *alias.Registry
	ac    *access.Checker
	usage *access.Usage
	st    stores

	pruned chan string // names the subscriber has pruned from access groups
}

// start opens the stores and builds a Registry, a Checker and a Usage over
// them, with the gateway's wiring: deleting an alias prunes it from access
// groups.
func (e *env) start() *proc {
	e.t.Helper()
	ctx := context.Background()
	p := &proc{st: e.open(), pruned: make(chan string, 16)}
	clock := func() time.Time { return e.now }
	var err error
	if p.reg, err = alias.New(ctx, alias.WithStore(p.st.aliases), alias.WithClock(clock)); err != nil {
		e.t.Fatalf("alias.New: %v", err)
	}
	if p.ac, err = access.New(ctx, access.WithStore(p.st.access), access.WithClock(clock)); err != nil {
		e.t.Fatalf("access.New: %v", err)
	}
	if p.usage, err = access.NewUsage(ctx, access.WithUsageStore(p.st.usage)); err != nil {
		e.t.Fatalf("access.NewUsage: %v", err)
	}
	p.reg.Subscribe(func(ev alias.Event) {
		if ev.Kind == alias.EventDeleted {
			if err := p.ac.RemoveName(context.Background(), ev.Old.Name); err != nil {
				e.t.Errorf("RemoveName: %v", err)
			}
			p.pruned <- ev.Old.Name
		}
	})
	return p
}

// stop closes the parts as the gateway does: usage saved, spend flushed.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.usage.Save(context.Background()); err != nil {
		t.Errorf("usage.Save: %v", err)
	}
	p.reg.Close()
	if err := p.ac.Close(); err != nil {
		t.Errorf("Checker.Close: %v", err)
	}
	p.st.close()
}

// crash drops the process without saving or flushing.
func (p *proc) crash() {
	p.reg.Close()
	p.st.close()
}

// view is what a restart must preserve.
type view struct {
	Aliases []alias.Alias
	Keys    []access.Key
	Teams   []access.Team
	Orgs    []access.Organization
	Groups  []access.AccessGroup
}

func (p *proc) view() view {
	return view{
		Aliases: p.reg.List(alias.ListOptions{IncludeHidden: true, IncludeDisabled: true}),
		Keys:    p.ac.ListKeys(), Teams: p.ac.ListTeams(), Orgs: p.ac.ListOrganizations(), Groups: p.ac.ListAccessGroups(),
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// conformance is the table every store implementation passes.
var conformance = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"aliases survive a restart", func(t *testing.T, e *env) {
		ctx := context.Background()
		p := e.start()
		mustA := must[alias.Alias](t)
		mustA(p.reg.Create(ctx, alias.Alias{Name: "group-a", Target: "openai/gpt-4o"}))
		mustA(p.reg.Create(ctx, alias.Alias{Name: "smart", Target: "group-a", Description: "the smart one",
			Labels: map[string]string{"team": "ml", "tier": "1"}}))
		mustA(p.reg.Create(ctx, alias.Alias{Name: "hidden", Target: "smart", Hidden: true, Disabled: true}))
		mustA(p.reg.Create(ctx, alias.Alias{Name: "gone", Target: "smart"}))
		mustA(p.reg.Create(ctx, alias.Alias{Name: `naïve-'q'-"名前"`, Target: "group-a",
			Description: `'); DROP TABLE aliases; --`, Labels: map[string]string{"ключ": "值 🚀", `"`: `\`}}))
		e.now = e.now.Add(time.Minute)
		desc := "changed"
		mustA(p.reg.Update(ctx, "smart", alias.Update{Description: &desc}))
		mustA(p.reg.Delete(ctx, "gone"))
		want := p.view().Aliases
		p.stop(t)

		p = e.start()
		defer p.stop(t)
		if diff := cmp.Diff(want, p.view().Aliases); diff != "" {
			t.Errorf("after a restart (-want +got):\n%s", diff)
		}
		r, err := p.reg.Resolve("hidden")
		if !errors.Is(err, alias.ErrDisabled) {
			t.Errorf("Resolve(hidden) = %v, %v; want ErrDisabled", r, err)
		}
		a := mustA(p.reg.Create(ctx, alias.Alias{Name: "new", Target: "group-a"}))
		if a.Revision != 7 {
			t.Errorf("revision after a restart = %d, want 7 (after the highest stored, 6)", a.Revision)
		}
	}},
	{"every acknowledged admin write survives a crash", func(t *testing.T, e *env) {
		ctx := context.Background()
		p := e.start()
		must[alias.Alias](t)(p.reg.Create(ctx, alias.Alias{Name: "a", Target: "g"}))
		must[access.AccessGroup](t)(p.ac.CreateAccessGroup(ctx, access.AccessGroup{Name: "grp", Members: []string{"a", "b"}}))
		must[access.Key](t)(p.ac.CreateKey(ctx, access.Key{ID: "k", AccessGroups: []string{"grp"}}))
		want := p.view()
		p.crash()

		p = e.start()
		defer p.stop(t)
		if diff := cmp.Diff(want, p.view()); diff != "" {
			t.Errorf("after a crash (-want +got):\n%s", diff)
		}
	}},
	{"access state and spend survive a restart", func(t *testing.T, e *env) {
		ctx := context.Background()
		p := e.start()
		must[access.AccessGroup](t)(p.ac.CreateAccessGroup(ctx, access.AccessGroup{Name: "beta", Description: "beta models", Members: []string{"m2", "openai/*"}}))
		must[access.Organization](t)(p.ac.CreateOrganization(ctx, access.Organization{ID: "o", Name: "Org", Models: []string{"m1", "m2", "openai/*"}, MaxBudget: 100, BudgetDuration: 30 * 24 * time.Hour}))
		must[access.Team](t)(p.ac.CreateTeam(ctx, access.Team{ID: "t", OrganizationID: "o", Name: "Team", AccessGroups: []string{"beta"}, MaxBudget: 10}))
		must[access.Key](t)(p.ac.CreateKey(ctx, access.Key{ID: "k", Name: "bot", TeamID: "t", Models: []string{"beta", "m1"},
			Aliases: map[string]string{"mine": "m2"}, MaxBudget: 1, BudgetDuration: 24 * time.Hour, Expires: t0.AddDate(1, 0, 0), RPMLimit: 60, TPMLimit: 100000}))
		must[access.Key](t)(p.ac.CreateKey(ctx, access.Key{ID: "blocked", Blocked: true}))
		must[access.Key](t)(p.ac.CreateKey(ctx, access.Key{ID: "deleted"}))
		if err := p.ac.RecordSpend("k", 0.25); err != nil {
			t.Fatal(err)
		}
		if err := p.ac.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.ac.RecordSpend("k", 0.125); err != nil { // only Close persists this one
			t.Fatal(err)
		}
		e.now = e.now.Add(time.Hour)
		k := must[access.Key](t)(p.ac.GetKey("k"))
		k.Models = append(k.Models, "m3")
		must[access.Key](t)(p.ac.UpdateKey(ctx, k))
		must[access.Key](t)(p.ac.DeleteKey(ctx, "deleted"))
		must[access.AccessGroup](t)(p.ac.AddGroupMembers(ctx, "beta", "m4"))
		want := p.view()
		p.stop(t)

		p = e.start()
		defer p.stop(t)
		got := p.view()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after a restart (-want +got):\n%s", diff)
		}
		if k := got.Keys[len(got.Keys)-1]; k.Spend != 0.375 || !k.BudgetResetAt.Equal(t0.Add(24*time.Hour)) {
			t.Errorf("key k: spend %v, reset at %v; want 0.375, %v", k.Spend, k.BudgetResetAt, t0.Add(24*time.Hour))
		}
	}},
	{"a budget period ends and spend restarts from the stored spend", func(t *testing.T, e *env) {
		ctx := context.Background()
		p := e.start()
		must[access.Key](t)(p.ac.CreateKey(ctx, access.Key{ID: "k", MaxBudget: 1, BudgetDuration: 24 * time.Hour}))
		if err := p.ac.RecordSpend("k", 1); err != nil {
			t.Fatal(err)
		}
		if err := p.ac.Authorize("k", "m"); !errors.Is(err, access.ErrBudgetExceeded) {
			t.Fatalf("Authorize after spending the budget = %v, want ErrBudgetExceeded", err)
		}
		p.stop(t)

		e.now = t0.Add(23 * time.Hour) // same period: still spent
		p = e.start()
		if err := p.ac.Authorize("k", "m"); !errors.Is(err, access.ErrBudgetExceeded) {
			t.Fatalf("Authorize after a restart in the same period = %v, want ErrBudgetExceeded", err)
		}
		p.stop(t)

		e.now = t0.Add(25 * time.Hour) // the next period
		p = e.start()
		if err := p.ac.Authorize("k", "m"); err != nil {
			t.Fatalf("Authorize in the next period = %v, want nil", err)
		}
		if err := p.ac.RecordSpend("k", 0.5); err != nil {
			t.Fatal(err)
		}
		p.stop(t)

		p = e.start()
		defer p.stop(t)
		k := must[access.Key](t)(p.ac.GetKey("k"))
		if k.Spend != 0.5 || !k.BudgetResetAt.Equal(t0.Add(48*time.Hour)) {
			t.Errorf("key: spend %v, reset at %v; want 0.5, %v", k.Spend, k.BudgetResetAt, t0.Add(48*time.Hour))
		}
	}},
	{"changing the budget duration restarts spend", func(t *testing.T, e *env) {
		ctx := context.Background()
		p := e.start()
		k := must[access.Key](t)(p.ac.CreateKey(ctx, access.Key{ID: "k", MaxBudget: 1}))
		if err := p.ac.RecordSpend("k", 0.75); err != nil {
			t.Fatal(err)
		}
		if err := p.ac.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		k.BudgetDuration = 7 * 24 * time.Hour
		if k = must[access.Key](t)(p.ac.UpdateKey(ctx, k)); k.Spend != 0 {
			t.Errorf("spend after setting a duration = %v, want 0", k.Spend)
		}
		if err := p.ac.RecordSpend("k", 0.25); err != nil {
			t.Fatal(err)
		}
		p.stop(t)

		p = e.start()
		defer p.stop(t)
		k = must[access.Key](t)(p.ac.GetKey("k"))
		if k.Spend != 0.25 || !k.BudgetResetAt.Equal(t0.Add(7*24*time.Hour)) {
			t.Errorf("key: spend %v, reset at %v; want 0.25, %v", k.Spend, k.BudgetResetAt, t0.Add(7*24*time.Hour))
		}
	}},
	{"usage survives a restart", func(t *testing.T, e *env) {
		ctx := context.Background()
		p := e.start()
		rec := access.UsageRecord{Requested: "smart", Group: "g", Deployment: "d1", KeyID: "k", TeamID: "t",
			PromptTokens: 10, CompletionTokens: 5, CostUSD: 0.001, Latency: time.Millisecond}
		p.usage.Record(rec)
		if err := p.usage.Save(ctx); err != nil {
			t.Fatal(err)
		}
		p.usage.Record(rec)
		rec.Err, rec.Deployment = true, "d2"
		p.usage.Record(rec)
		want := p.usage.Snapshot()
		p.stop(t)

		p = e.start()
		defer p.stop(t)
		if diff := cmp.Diff(want, p.usage.Snapshot()); diff != "" {
			t.Errorf("after a restart (-want +got):\n%s", diff)
		}
	}},
	{"deleting an alias prunes it from access groups", func(t *testing.T, e *env) {
		ctx := context.Background()
		p := e.start()
		must[alias.Alias](t)(p.reg.Create(ctx, alias.Alias{Name: "a", Target: "g"}))
		must[access.AccessGroup](t)(p.ac.CreateAccessGroup(ctx, access.AccessGroup{Name: "grp", Members: []string{"a", "b"}}))
		must[alias.Alias](t)(p.reg.Delete(ctx, "a"))
		<-p.pruned
		p.stop(t)

		p = e.start()
		defer p.stop(t)
		if got := p.ac.GroupsContaining("a"); len(got) != 0 {
			t.Errorf("groups containing the deleted alias after a restart: %v", got)
		}
	}},
}

func TestStoreConformance(t *testing.T) {
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for _, tc := range conformance {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, &env{t: t, open: im.open(t), now: t0})
				})
			}
		})
	}
}
