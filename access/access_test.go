package access

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	qwenAlias = "Qwen/Qwen3-Coder-480B-A35B-Instruct"
	qwenGroup = "Qwen/Qwen3-Coder-480B-A35B-Instruct-bfloat16"
)

// TestLiteLLMAliasScenario is LiteLLM's alias permission bug (seed 002),
// on the access side: the decisions are on the name as requested. The
// routing half (the allowed alias actually reaches the group) is tested in
// the router and the gateway.
func TestLiteLLMAliasScenario(t *testing.T) {
	listing := []string{qwenAlias, qwenGroup} // what exists, as the catalog would pass it
	type check struct {
		key, name string
		want      string // errKind
	}
	for _, tc := range []struct {
		name         string
		implyTargets bool
		checks       []check
		visible      map[string][]string
	}{
		{
			name: "default",
			checks: []check{
				{"alias-only", qwenAlias, "ok"},     // LiteLLM answered 401 here
				{"alias-only", qwenGroup, "denied"}, // a grant on the alias is not a grant on its target
				{"group-only", qwenGroup, "ok"},
				{"group-only", qwenAlias, "denied"}, // nor the other way round
			},
			visible: map[string][]string{
				"alias-only": {qwenAlias},
				"group-only": {qwenGroup},
			},
		},
		{
			name:         "target grants imply aliases",
			implyTargets: true,
			checks: []check{
				{"alias-only", qwenAlias, "ok"},
				{"alias-only", qwenGroup, "denied"}, // the option never widens an alias grant to its target
				{"group-only", qwenGroup, "ok"},
				{"group-only", qwenAlias, "ok"},
			},
			visible: map[string][]string{
				"alias-only": {qwenAlias},
				"group-only": {qwenAlias, qwenGroup},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t, WithTargetGrantsImplyAliases(tc.implyTargets))
			// What the router hands Allow: the names each one resolves to.
			resolved := map[string][]string{qwenAlias: {qwenGroup}}
			allow := func(key, name string) error {
				return c.Allow(NewContext(t.Context(), "sha256-of-"+key+"-key"), name, resolved[name])
			}
			mustKey(t, c, Key{ID: "sha256-of-alias-only-key", Name: "alias-only", Models: []string{qwenAlias}})
			mustKey(t, c, Key{ID: "sha256-of-group-only-key", Name: "group-only", Models: []string{qwenGroup}})

			for _, ch := range tc.checks {
				err := allow(ch.key, ch.name)
				if got := errKind(err); got != ch.want {
					t.Errorf("Allow(%q, %q) = %v, want %s", ch.key, ch.name, err, ch.want)
				}
				if !tc.implyTargets {
					// Without the option the resolution does not matter:
					// Authorize, given the name alone, decides the same.
					if aerr := c.Authorize("sha256-of-"+ch.key+"-key", ch.name); errKind(aerr) != ch.want {
						t.Errorf("Authorize(%q, %q) = %v, want %s", ch.key, ch.name, aerr, ch.want)
					}
				}
				if err == nil {
					continue
				}
				// The refusal names the requested name and the key, and
				// nothing else: not the names the key could have used.
				want := `access: key "` + ch.key + `" may not use "` + ch.name + `"`
				if err.Error() != want {
					t.Errorf("Authorize(%q, %q) message = %q, want %q", ch.key, ch.name, err, want)
				}
				var de *DeniedError
				if !errors.As(err, &de) || de.Name != ch.name {
					t.Errorf("Authorize(%q, %q) = %#v, want a *DeniedError for the requested name", ch.key, ch.name, err)
				}
			}
			for key, want := range tc.visible {
				// The router's catalog lists a name iff Allow, handed
				// the name's resolution, allows it.
				var got []string
				for _, n := range listing {
					if allow(key, n) == nil {
						got = append(got, n)
					}
				}
				slices.Sort(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("listing for %q (-want +got):\n%s", key, diff)
				}
				if !tc.implyTargets {
					id := "sha256-of-" + key + "-key"
					if diff := cmp.Diff(want, slices.Sorted(slices.Values(c.Visible(id, listing)))); diff != "" {
						t.Errorf("Visible(%q) (-want +got):\n%s", key, diff)
					}
				}
			}
		})
	}
}

func TestTeamNarrowing(t *testing.T) {
	type principals struct {
		org  *Organization
		team *Team
		key  Key
	}
	for _, tc := range []struct {
		name    string
		p       principals
		allowed []string
		denied  []string
	}{
		{
			name:    "no team, empty list: everything",
			p:       principals{key: Key{}},
			allowed: []string{"a", "b", "openai/gpt-4o"},
		},
		{
			name:    "no team, own list",
			p:       principals{key: Key{Models: []string{"a"}}},
			allowed: []string{"a"},
			denied:  []string{"b"},
		},
		{
			name:    "empty key list: the team's rights",
			p:       principals{team: &Team{Models: []string{"a", "b"}}, key: Key{}},
			allowed: []string{"a", "b"},
			denied:  []string{"c"},
		},
		{
			name:    "key broader than team: narrowed",
			p:       principals{team: &Team{Models: []string{"a"}}, key: Key{Models: []string{"a", "b"}}},
			allowed: []string{"a"},
			denied:  []string{"b", "c"},
		},
		{
			name:    "key star within team list",
			p:       principals{team: &Team{Models: []string{"a"}}, key: Key{Models: []string{"*"}}},
			allowed: []string{"a"},
			denied:  []string{"b"},
		},
		{
			name:    "key wildcard narrowed by team exact names",
			p:       principals{team: &Team{Models: []string{"openai/gpt-4o", "b"}}, key: Key{Models: []string{"openai/*"}}},
			allowed: []string{"openai/gpt-4o"},
			denied:  []string{"openai/gpt-4.1", "b"},
		},
		{
			name:    "team wildcard narrows key exact names",
			p:       principals{team: &Team{Models: []string{"openai/*"}}, key: Key{Models: []string{"openai/gpt-4o", "groq/llama"}}},
			allowed: []string{"openai/gpt-4o"},
			denied:  []string{"groq/llama", "openai/gpt-4.1"},
		},
		{
			name:    "team with empty list defers to its organization",
			p:       principals{org: &Organization{Models: []string{"a"}}, team: &Team{}, key: Key{}},
			allowed: []string{"a"},
			denied:  []string{"b"},
		},
		{
			name:    "organization narrows team and key",
			p:       principals{org: &Organization{Models: []string{"a", "b"}}, team: &Team{Models: []string{"b", "c"}}, key: Key{Models: []string{"*"}}},
			allowed: []string{"b"},
			denied:  []string{"a", "c", "d"},
		},
		{
			name:    "organization without a list does not restrict",
			p:       principals{org: &Organization{}, team: &Team{Models: []string{"a"}}, key: Key{}},
			allowed: []string{"a"},
			denied:  []string{"b"},
		},
		{
			name:    "team access group",
			p:       principals{team: &Team{AccessGroups: []string{"beta"}}, key: Key{}},
			allowed: []string{"beta-1", "beta-2"},
			denied:  []string{"gamma", "beta"},
		},
		{
			name:    "team access group narrows key star",
			p:       principals{team: &Team{AccessGroups: []string{"beta"}}, key: Key{Models: []string{"*"}}},
			allowed: []string{"beta-1"},
			denied:  []string{"gamma"},
		},
		{
			name:    "key's own alias is allowed whatever the team",
			p:       principals{team: &Team{Models: []string{"a"}}, key: Key{Models: []string{"a"}, Aliases: map[string]string{"mine": "b"}}},
			allowed: []string{"a", "mine"},
			denied:  []string{"b"}, // the alias's target is not granted by the alias
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t)
			mustGroup(t, c, AccessGroup{Name: "beta", Members: []string{"beta-1", "beta-2"}})
			if o := tc.p.org; o != nil {
				o.ID = "org"
				mustOrg(t, c, *o)
			}
			if tm := tc.p.team; tm != nil {
				tm.ID = "team"
				if tc.p.org != nil {
					tm.OrganizationID = "org"
				}
				mustTeam(t, c, *tm)
				tc.p.key.TeamID = "team"
			}
			tc.p.key.ID = "k"
			mustKey(t, c, tc.p.key)
			for _, n := range tc.allowed {
				if err := c.Authorize("k", n); err != nil {
					t.Errorf("Authorize(%q) = %v, want nil", n, err)
				}
			}
			for _, n := range tc.denied {
				if err := c.Authorize("k", n); !errors.Is(err, ErrDenied) {
					t.Errorf("Authorize(%q) = %v, want ErrDenied", n, err)
				}
			}
			all := append(append([]string(nil), tc.allowed...), tc.denied...)
			if diff := cmp.Diff(tc.allowed, c.Visible("k", all)); diff != "" {
				t.Errorf("Visible (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTeamChangeAppliesToKeys: narrowing is applied at decision time, so a
// change of the team's grants reaches its keys at once.
func TestTeamChangeAppliesToKeys(t *testing.T) {
	ctx := context.Background()
	c := newChecker(t)
	mustTeam(t, c, Team{ID: "t", Models: []string{"a", "b"}})
	mustKey(t, c, Key{ID: "k1", TeamID: "t"})
	mustKey(t, c, Key{ID: "k2", TeamID: "t", Models: []string{"b", "c"}})
	if _, err := c.UpdateTeam(ctx, Team{ID: "t", Models: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{"k1": c.Visible("k1", []string{"a", "b", "c"}), "k2": c.Visible("k2", []string{"a", "b", "c"})}
	want := map[string][]string{"k1": {"c"}, "k2": {"c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after UpdateTeam (-want +got):\n%s", diff)
	}
}

func TestAccessGroupMembershipChanges(t *testing.T) {
	ctx := context.Background()
	type step struct {
		do   func(c *Checker) error
		want map[string][]string // key → Visible(universe)
	}
	universe := []string{"m1", "m2", "m3", "p/x", "q/x"}
	add := func(g string, names ...string) func(*Checker) error {
		return func(c *Checker) error { _, err := c.AddGroupMembers(ctx, g, names...); return err }
	}
	remove := func(g string, names ...string) func(*Checker) error {
		return func(c *Checker) error { _, err := c.RemoveGroupMembers(ctx, g, names...); return err }
	}
	update := func(g AccessGroup) func(*Checker) error {
		return func(c *Checker) error { _, err := c.UpdateAccessGroup(ctx, g); return err }
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{
			name: "add reaches every holder at once",
			steps: []step{
				{do: add("g", "m2"), want: map[string][]string{"key-holder": {"m1", "m2"}, "team-holder": {"m1", "m2"}, "models-holder": {"m1", "m2"}, "other": {"m3"}}},
			},
		},
		{
			name: "remove reaches every holder at once",
			steps: []step{
				{do: remove("g", "m1"), want: map[string][]string{"key-holder": nil, "team-holder": nil, "models-holder": nil, "other": {"m3"}}},
			},
		},
		{
			name: "emptied group grants nothing (not everything)",
			steps: []step{
				{do: update(AccessGroup{Name: "g"}), want: map[string][]string{"key-holder": nil, "team-holder": nil, "models-holder": nil, "other": {"m3"}}},
			},
		},
		{
			name: "wildcard member",
			steps: []step{
				{do: add("g", "p/*"), want: map[string][]string{"key-holder": {"m1", "p/x"}, "team-holder": {"m1", "p/x"}, "models-holder": {"m1", "p/x"}, "other": {"m3"}}},
				{do: remove("g", "p/*", "m1"), want: map[string][]string{"key-holder": nil, "team-holder": nil, "models-holder": nil, "other": {"m3"}}},
			},
		},
		{
			name: "remove of a non-member and add of a member are no-ops",
			steps: []step{
				{do: remove("g", "m3"), want: map[string][]string{"key-holder": {"m1"}, "team-holder": {"m1"}, "models-holder": {"m1"}, "other": {"m3"}}},
				{do: add("g", "m1"), want: map[string][]string{"key-holder": {"m1"}, "team-holder": {"m1"}, "models-holder": {"m1"}, "other": {"m3"}}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t)
			mustGroup(t, c, AccessGroup{Name: "g", Members: []string{"m1"}})
			mustTeam(t, c, Team{ID: "t", AccessGroups: []string{"g"}})
			mustKey(t, c, Key{ID: "key-holder", AccessGroups: []string{"g"}})
			mustKey(t, c, Key{ID: "team-holder", TeamID: "t"})
			mustKey(t, c, Key{ID: "models-holder", Models: []string{"g"}})
			mustKey(t, c, Key{ID: "other", Models: []string{"m3"}})
			for i, st := range tc.steps {
				if err := st.do(c); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				got := map[string][]string{}
				for k := range st.want {
					got[k] = c.Visible(k, universe)
				}
				if diff := cmp.Diff(st.want, got); diff != "" {
					t.Errorf("step %d: Visible (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestRemoveNamePrunesAccessGroups(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		remove     string
		wantGroups map[string][]string // group → members after
		wantSaves  int                 // store saves caused by RemoveName
		visible    map[string][]string // key → Visible(universe) after
	}{
		{
			name:   "alias in two groups",
			remove: "alias-1",
			wantGroups: map[string][]string{
				"g1": {"alias-2", "p/*"},
				"g2": {"alias-3"},
			},
			wantSaves: 1,
			visible: map[string][]string{
				"via-groups": {"alias-2", "alias-3", "p/x"},
				"direct":     {"alias-1"}, // direct grants are left alone: an emptied list would mean everything
			},
		},
		{
			name:   "wildcard member is not a name",
			remove: "p/x",
			wantGroups: map[string][]string{
				"g1": {"alias-1", "alias-2", "p/*"},
				"g2": {"alias-1", "alias-3"},
			},
			wantSaves: 0,
			visible: map[string][]string{
				"via-groups": {"alias-1", "alias-2", "alias-3", "p/x"},
				"direct":     {"alias-1"},
			},
		},
		{
			name:   "name in no group: nothing written",
			remove: "nope",
			wantGroups: map[string][]string{
				"g1": {"alias-1", "alias-2", "p/*"},
				"g2": {"alias-1", "alias-3"},
			},
			wantSaves: 0,
			visible: map[string][]string{
				"via-groups": {"alias-1", "alias-2", "alias-3", "p/x"},
				"direct":     {"alias-1"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &countingStore{Store: NewMemoryStore()}
			c := newChecker(t, WithStore(store))
			mustGroup(t, c, AccessGroup{Name: "g1", Members: []string{"alias-1", "alias-2", "p/*"}})
			mustGroup(t, c, AccessGroup{Name: "g2", Members: []string{"alias-1", "alias-3"}})
			mustKey(t, c, Key{ID: "via-groups", AccessGroups: []string{"g1", "g2"}})
			mustKey(t, c, Key{ID: "direct", Models: []string{"alias-1"}})
			before := store.count()

			if err := c.RemoveName(ctx, tc.remove); err != nil {
				t.Fatalf("RemoveName: %v", err)
			}
			if got := store.count() - before; got != tc.wantSaves {
				t.Errorf("saves = %d, want %d", got, tc.wantSaves)
			}
			got := map[string][]string{}
			for _, g := range c.ListAccessGroups() {
				got[g.Name] = g.Members
			}
			if diff := cmp.Diff(tc.wantGroups, got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			universe := []string{"alias-1", "alias-2", "alias-3", "p/x"}
			for k, want := range tc.visible {
				if diff := cmp.Diff(want, c.Visible(k, universe)); diff != "" {
					t.Errorf("Visible(%q) (-want +got):\n%s", k, diff)
				}
			}
			if diff := cmp.Diff([]string(nil), c.GroupsContaining(tc.remove)); diff != "" {
				t.Errorf("GroupsContaining after RemoveName (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBudgetRefusal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keyBudget float64
		team      float64
		org       float64
		spend     []float64 // recorded against key "k" one after the other
		want      string    // errKind for k after the spend
		principal string    // BudgetError.Principal
		sibling   string    // errKind for "k2", another key of the same team
	}{
		{name: "under every budget", keyBudget: 1, team: 2, org: 3, spend: []float64{0.5, 0.49}, want: "ok", sibling: "ok"},
		{name: "key budget reached", keyBudget: 1, spend: []float64{0.5, 0.5}, want: "budget", principal: `key "k"`, sibling: "ok"},
		{name: "team credits spent: all its keys refused", team: 1, spend: []float64{1.5}, want: "budget", principal: `team "t"`, sibling: "budget"},
		{name: "organization budget spent", org: 0.25, spend: []float64{0.1, 0.1, 0.1}, want: "budget", principal: `organization "o"`, sibling: "budget"},
		{name: "first spent budget on the path is named", keyBudget: 1, team: 1, spend: []float64{2}, want: "budget", principal: `key "k"`, sibling: "budget"},
		{name: "no budget: never refused", spend: []float64{1e6}, want: "ok", sibling: "ok"},
		{name: "tiny amounts add up exactly", keyBudget: 3e-6, spend: []float64{1e-6, 1e-6, 1e-6}, want: "budget", principal: `key "k"`, sibling: "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t)
			mustOrg(t, c, Organization{ID: "o", MaxBudget: tc.org})
			mustTeam(t, c, Team{ID: "t", OrganizationID: "o", MaxBudget: tc.team})
			mustKey(t, c, Key{ID: "k", TeamID: "t", MaxBudget: tc.keyBudget, Models: []string{"m"}})
			mustKey(t, c, Key{ID: "k2", TeamID: "t", Models: []string{"m"}})
			for _, usd := range tc.spend {
				if err := c.Authorize("k", "m"); err != nil {
					t.Fatalf("Authorize before spending %v: %v", usd, err)
				}
				if err := c.RecordSpend("k", usd); err != nil {
					t.Fatal(err)
				}
			}
			err := c.Authorize("k", "m")
			if got := errKind(err); got != tc.want {
				t.Fatalf("Authorize = %v, want %s", err, tc.want)
			}
			if got := errKind(c.CheckKey("k")); got != tc.want {
				t.Errorf("CheckKey = %v, want %s", c.CheckKey("k"), tc.want)
			}
			if got := errKind(c.Authorize("k2", "m")); got != tc.sibling {
				t.Errorf("sibling Authorize = %v, want %s", c.Authorize("k2", "m"), tc.sibling)
			}
			if tc.want == "ok" {
				return
			}
			var be *BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("Authorize = %#v, want a *BudgetError", err)
			}
			if be.Principal != tc.principal {
				t.Errorf("BudgetError.Principal = %q, want %q", be.Principal, tc.principal)
			}
			// Listing equals usable: an exhausted key is shown nothing.
			if got := c.Visible("k", []string{"m"}); got != nil {
				t.Errorf("Visible over budget = %q, want nil", got)
			}
			// Even a name the key may not use is refused for its budget
			// only after the name check: denial wins.
			if got := errKind(c.Authorize("k", "not-granted")); got != "denied" {
				t.Errorf("Authorize(not granted) over budget = %s, want denied", got)
			}
		})
	}
}

func TestSpendIsRecordedOnThePath(t *testing.T) {
	c := newChecker(t)
	mustOrg(t, c, Organization{ID: "o"})
	mustTeam(t, c, Team{ID: "t", OrganizationID: "o"})
	mustKey(t, c, Key{ID: "k", TeamID: "t"})
	mustKey(t, c, Key{ID: "solo"})
	for _, r := range []struct {
		key string
		usd float64
	}{{"k", 0.25}, {"k", 0.5}, {"solo", 1}} {
		if err := c.RecordSpend(r.key, r.usd); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := c.GetKey("k")
	solo, _ := c.GetKey("solo")
	tm, _ := c.GetTeam("t")
	o, _ := c.GetOrganization("o")
	got := []float64{k.Spend, solo.Spend, tm.Spend, o.Spend}
	if diff := cmp.Diff([]float64{0.75, 1, 0.75, 0.75}, got); diff != "" {
		t.Errorf("spend key, solo, team, org (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		key  string
		usd  float64
		want string
	}{
		{"nope", 1, "unknown-key"},
		{"k", -1, "invalid"},
		{"k", 2e9, "invalid"},
		{"k", 0, "ok"},
	} {
		if got := errKind(c.RecordSpend(tc.key, tc.usd)); got != tc.want {
			t.Errorf("RecordSpend(%q, %v) = %s, want %s", tc.key, tc.usd, got, tc.want)
		}
	}
}

func TestAuthorizeErrors(t *testing.T) {
	ctx := context.Background()
	now := t0
	c, err := New(ctx, WithClock(fixedClock(&now)))
	if err != nil {
		t.Fatal(err)
	}
	mustTeam(t, c, Team{ID: "blocked-team", Blocked: true})
	mustKey(t, c, Key{ID: "ok", Models: []string{"m"}})
	mustKey(t, c, Key{ID: "blocked", Blocked: true})
	mustKey(t, c, Key{ID: "in-blocked-team", TeamID: "blocked-team"})
	mustKey(t, c, Key{ID: "expiring", Expires: t0.Add(time.Hour)})
	mustKey(t, c, Key{ID: "0123456789abcdef0123456789abcdef", Models: []string{"m"}})
	mustKey(t, c, Key{ID: "named", Name: "ci-bot", Models: []string{"m"}})

	for _, tc := range []struct {
		key, name string
		want      string
		msg       string
	}{
		{"ok", "m", "ok", ""},
		{"nope", "m", "unknown-key", "access: unknown key"},
		{"ok", "other", "denied", `access: key "ok" may not use "other"`},
		{"0123456789abcdef0123456789abcdef", "x", "denied", `access: key "01234567…" may not use "x"`},
		{"named", "x", "denied", `access: key "ci-bot" may not use "x"`},
		{"blocked", "m", "blocked", `access: key "blocked": blocked`},
		{"in-blocked-team", "m", "blocked", `access: team "blocked-team": blocked`},
		{"expiring", "m", "ok", ""},
	} {
		err := c.Authorize(tc.key, tc.name)
		if got := errKind(err); got != tc.want {
			t.Errorf("Authorize(%q, %q) = %v, want %s", tc.key, tc.name, err, tc.want)
			continue
		}
		if err != nil && err.Error() != tc.msg {
			t.Errorf("Authorize(%q, %q) message %q, want %q", tc.key, tc.name, err, tc.msg)
		}
	}

	now = t0.Add(time.Hour) // expiry is inclusive
	if got := errKind(c.Authorize("expiring", "m")); got != "expired" {
		t.Errorf("Authorize(expired key) = %s, want expired", got)
	}
	if got := c.Visible("expiring", []string{"m"}); got != nil {
		t.Errorf("Visible(expired key) = %q, want nil", got)
	}
}

func TestKeyAliases(t *testing.T) {
	c := newChecker(t)
	mustTeam(t, c, Team{ID: "t", Models: []string{"shared"}})
	mustKey(t, c, Key{ID: "k", TeamID: "t", Aliases: map[string]string{"my-fast": "groq/llama", "my-smart": "shared"}})
	mustKey(t, c, Key{ID: "other", TeamID: "t"})

	if target, ok := c.CallerAlias(NewContext(t.Context(), "k"), "my-fast"); !ok || target != "groq/llama" {
		t.Errorf("CallerAlias(k, my-fast) = %q, %v", target, ok)
	}
	for _, tc := range []struct{ key, name string }{{"k", "shared"}, {"other", "my-fast"}, {"nope", "my-fast"}} {
		if target, ok := c.CallerAlias(NewContext(t.Context(), tc.key), tc.name); ok {
			t.Errorf("CallerAlias(%q, %q) = %q, true; want false", tc.key, tc.name, target)
		}
	}
	if target, ok := c.CallerAlias(t.Context(), "my-fast"); ok {
		t.Errorf("CallerAlias(no key in the context, my-fast) = %q, true; want false", target)
	}
	// The key may call its aliases (decided on the name it used), not their targets.
	for _, tc := range []struct{ key, name, want string }{
		{"k", "my-fast", "ok"},
		{"k", "my-smart", "ok"},
		{"k", "groq/llama", "denied"},
		{"other", "my-fast", "denied"},
	} {
		if got := errKind(c.Authorize(tc.key, tc.name)); got != tc.want {
			t.Errorf("Authorize(%q, %q) = %s, want %s", tc.key, tc.name, got, tc.want)
		}
	}
	// They are listed even though the catalog does not know them.
	if diff := cmp.Diff([]string{"shared", "my-fast", "my-smart"}, c.Visible("k", []string{"shared", "groq/llama"})); diff != "" {
		t.Errorf("Visible(k) (-want +got):\n%s", diff)
	}
	// And not twice when the catalog has a name of the same spelling.
	if diff := cmp.Diff([]string{"my-fast", "my-smart"}, c.Visible("k", []string{"my-fast"})); diff != "" {
		t.Errorf("Visible(k, my-fast) (-want +got):\n%s", diff)
	}
}

func TestWhoCanUse(t *testing.T) {
	c := newChecker(t)
	mustGroup(t, c, AccessGroup{Name: "g", Members: []string{"alias-1"}})
	mustOrg(t, c, Organization{ID: "o", Models: []string{"alias-1", "alias-2"}})
	mustTeam(t, c, Team{ID: "t-group", AccessGroups: []string{"g"}})
	mustTeam(t, c, Team{ID: "t-org", OrganizationID: "o"})
	mustTeam(t, c, Team{ID: "t-other", Models: []string{"alias-2"}})
	mustTeam(t, c, Team{ID: "t-all"})
	mustKey(t, c, Key{ID: "k-group", TeamID: "t-group"})
	mustKey(t, c, Key{ID: "k-narrowed", TeamID: "t-other", Models: []string{"alias-1"}})
	mustKey(t, c, Key{ID: "k-wild", Models: []string{"alias-*"}})
	mustKey(t, c, Key{ID: "k-own-alias", Models: []string{"x"}, Aliases: map[string]string{"alias-1": "x"}})
	mustKey(t, c, Key{ID: "k-blocked", Models: []string{"alias-1"}, Blocked: true})

	teams, keys := c.WhoCanUse("alias-1")
	if diff := cmp.Diff([]string{"t-all", "t-group", "t-org"}, teams); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k-blocked", "k-group", "k-wild"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		do   func(c *Checker) error
		want string
	}{
		{"key without ID", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{}); return err }, "invalid"},
		{"key ID with newline", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: "a\nb"}); return err }, "invalid"},
		{"key ID with spaces around", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: " a"}); return err }, "invalid"},
		{"star inside a grant", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: "k", Models: []string{"a*b"}}); return err }, "invalid"},
		{"empty grant", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: "k", Models: []string{""}}); return err }, "invalid"},
		{"unknown team", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: "k", TeamID: "nope"}); return err }, "invalid"},
		{"unknown access group", func(c *Checker) error {
			_, err := c.CreateKey(ctx, Key{ID: "k", AccessGroups: []string{"nope"}})
			return err
		}, "invalid"},
		{"negative budget", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: "k", MaxBudget: -1}); return err }, "invalid"},
		{"alias to itself", func(c *Checker) error {
			_, err := c.CreateKey(ctx, Key{ID: "k", Aliases: map[string]string{"a": "a"}})
			return err
		}, "invalid"},
		{"alias chain inside a key", func(c *Checker) error {
			_, err := c.CreateKey(ctx, Key{ID: "k", Aliases: map[string]string{"a": "b", "b": "c"}})
			return err
		}, "invalid"},
		{"wildcard alias", func(c *Checker) error {
			_, err := c.CreateKey(ctx, Key{ID: "k", Aliases: map[string]string{"a*": "b"}})
			return err
		}, "invalid"},
		{"duplicate key", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: "existing"}); return err }, "exists"},
		{"update unknown key", func(c *Checker) error { _, err := c.UpdateKey(ctx, Key{ID: "nope"}); return err }, "not-found"},
		{"delete unknown key", func(c *Checker) error { _, err := c.DeleteKey(ctx, "nope"); return err }, "not-found"},
		{"team in unknown organization", func(c *Checker) error {
			_, err := c.CreateTeam(ctx, Team{ID: "t2", OrganizationID: "nope"})
			return err
		}, "invalid"},
		{"delete team with keys", func(c *Checker) error { _, err := c.DeleteTeam(ctx, "team"); return err }, "in-use"},
		{"delete organization with teams", func(c *Checker) error { _, err := c.DeleteOrganization(ctx, "org"); return err }, "in-use"},
		{"access group name with star", func(c *Checker) error {
			_, err := c.CreateAccessGroup(ctx, AccessGroup{Name: "g*"})
			return err
		}, "invalid"},
		{"access group member with inner star", func(c *Checker) error {
			_, err := c.AddGroupMembers(ctx, "used", "a*b")
			return err
		}, "invalid"},
		{"members of unknown group", func(c *Checker) error { _, err := c.AddGroupMembers(ctx, "nope", "a"); return err }, "not-found"},
		{"delete granted access group", func(c *Checker) error { _, err := c.DeleteAccessGroup(ctx, "used"); return err }, "in-use"},
		{"delete access group named in models", func(c *Checker) error { _, err := c.DeleteAccessGroup(ctx, "named"); return err }, "in-use"},
		{"delete unused access group", func(c *Checker) error { _, err := c.DeleteAccessGroup(ctx, "unused"); return err }, "ok"},
		{"duplicates are folded", func(c *Checker) error {
			k, err := c.CreateKey(ctx, Key{ID: "dups", Models: []string{"a", "b", "a"}})
			if err == nil && len(k.Models) != 2 {
				return errors.New("duplicates kept")
			}
			return err
		}, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t)
			mustGroup(t, c, AccessGroup{Name: "used"})
			mustGroup(t, c, AccessGroup{Name: "named"})
			mustGroup(t, c, AccessGroup{Name: "unused"})
			mustOrg(t, c, Organization{ID: "org"})
			mustTeam(t, c, Team{ID: "team", OrganizationID: "org", AccessGroups: []string{"used"}})
			mustKey(t, c, Key{ID: "existing", TeamID: "team", Models: []string{"named"}})
			before := c.snap()
			err := tc.do(c)
			if got := errKind(err); got != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "access: ") {
					t.Errorf("message %q does not start with the package name", err)
				}
				if c.snap() != before {
					t.Errorf("a refused write published a new snapshot")
				}
			}
		})
	}
}

func TestCRUDRoundTrip(t *testing.T) {
	ctx := context.Background()
	now := t0
	c, err := New(ctx, WithClock(fixedClock(&now)))
	if err != nil {
		t.Fatal(err)
	}
	in := Key{ID: "k", Name: "bot", Models: []string{"b", "a"}, Aliases: map[string]string{"x": "y"}, MaxBudget: 5}
	created, err := c.CreateKey(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := in.clone()
	want.Created, want.Updated = t0, t0
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("CreateKey (-want +got):\n%s", diff)
	}
	// Caller's slices and maps are not shared with the Checker.
	in.Models[0] = "changed"
	in.Aliases["x"] = "changed"
	created.Models[1] = "changed"
	got, _ := c.GetKey("k")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetKey after caller mutation (-want +got):\n%s", diff)
	}

	now = t0.Add(time.Minute)
	if err := c.RecordSpend("k", 1); err != nil {
		t.Fatal(err)
	}
	upd, err := c.UpdateKey(ctx, Key{ID: "k", Models: []string{"c"}, Spend: 99})
	if err != nil {
		t.Fatal(err)
	}
	want = Key{ID: "k", Models: []string{"c"}, Spend: 1, Created: t0, Updated: t0.Add(time.Minute)}
	if diff := cmp.Diff(want, upd); diff != "" {
		t.Errorf("UpdateKey keeps Created and spend, ignores input Spend (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Key{want}, c.ListKeys()); diff != "" {
		t.Errorf("ListKeys (-want +got):\n%s", diff)
	}
	if _, err := c.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := c.Authorize("k", "c"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Authorize after DeleteKey = %v, want ErrUnknownKey", err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := c.CreateKey(ctx, Key{ID: "late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateKey after Close = %v, want ErrClosed", err)
	}
}

func TestZeroChecker(t *testing.T) {
	var c Checker
	if err := c.Authorize("k", "m"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("zero Checker Authorize = %v, want ErrUnknownKey", err)
	}
	if got := c.Visible("k", []string{"m"}); got != nil {
		t.Errorf("zero Checker Visible = %q", got)
	}
	if _, err := c.CreateKey(context.Background(), Key{ID: "k", Models: []string{"m"}}); err != nil {
		t.Fatalf("zero Checker CreateKey: %v", err)
	}
	if err := c.Authorize("k", "m"); err != nil {
		t.Errorf("zero Checker Authorize after CreateKey = %v", err)
	}
}
