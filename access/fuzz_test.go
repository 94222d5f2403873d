package access

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// byteGen turns fuzz input into choices; past the end of the input every
// choice is 0, so every input is a valid scenario.
type byteGen struct {
	b []byte
	i int
}

func (g *byteGen) n(k int) int {
	if k <= 1 || g.i >= len(g.b) {
		return 0
	}
	v := int(g.b[g.i]) % k
	g.i++
	return v
}

func (g *byteGen) pick(from []string) string { return from[g.n(len(from))] }

func (g *byteGen) list(from []string, max int) []string {
	var out []string
	for range g.n(max + 1) {
		out = append(out, g.pick(from))
	}
	return out
}

var (
	// fuzzNames are the model names of the scenario: groups, aliases,
	// provider/model names, and a name spelled like an access group.
	fuzzNames = []string{"a", "b", "grp-a", "grp-b", "alias-1", "alias-2", "alias-3", "p/x", "p/y", "p/z/w", "q/x", "ag1", "mine"}
	// fuzzGrants add wildcards and access-group names (ag3 never exists).
	fuzzGrants = append(slices.Clone(fuzzNames), "*", "p/*", "p/z/*", "q/*", "alias-*", "ag1", "ag2", "ag3")
	fuzzGroups = []string{"ag1", "ag2", "ag3"}
	// fuzzAliasNames are key-alias names: some shadow model names, some
	// exist only on the key (and are listed by Visible after the rest).
	fuzzAliasNames = append(slices.Clone(fuzzNames), "own-1", "own-2")
	// fuzzTargets is a registry: alias → final target.
	fuzzTargets = map[string]string{"alias-1": "grp-a", "alias-2": "grp-a", "alias-3": "p/x"}
)

// FuzzVisibleEqualsAuthorize builds random principals, grants, access
// groups, wildcards, key aliases and budgets, mutates them, and checks
// after every step that Visible lists exactly what Authorize allows, that
// Authorize agrees with a naive reference implementation of the rules, and
// that WhoCanUse agrees with it too.
func FuzzVisibleEqualsAuthorize(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		[]byte("the alias-permission bug: listed but refused"),
		{255, 0, 255, 0, 3, 3, 3, 7, 7, 7, 1, 1, 1, 9, 9, 9, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20},
		{1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 121, 98, 219, 61, 24, 85, 109, 194, 47, 241, 32},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkScenario(t, data, nil) })
}

// TestVisibleEqualsAuthorizeRandom runs the fuzz property over seeded
// random inputs on every test run, and checks that the scenarios exercise
// every verdict.
func TestVisibleEqualsAuthorizeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 2025))
	verdicts := map[string]int{}
	n := 400
	if testing.Short() {
		n = 50
	}
	for range n {
		data := make([]byte, 16+rng.IntN(96))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		checkScenario(t, data, verdicts)
		if t.Failed() {
			t.Fatalf("input: %q", data)
		}
	}
	for _, v := range []string{"ok", "denied", "budget", "blocked", "unknown-key"} {
		if verdicts[v] == 0 {
			t.Errorf("no scenario produced %q; verdicts: %v", v, verdicts)
		}
	}
	t.Logf("verdicts: %v", verdicts)
}

// checkScenario builds the scenario data describes and checks it; it
// counts Authorize verdicts into verdicts when not nil.
func checkScenario(t *testing.T, data []byte, verdicts map[string]int) {
	t.Helper()
	g := &byteGen{b: data}
	ctx := context.Background()
	imply := g.n(2) == 1
	c := newChecker(t, WithTargetGrantsImplyAliases(imply))
	// targets is what the router would hand Allow: the registry's aliases
	// and their final targets, or none.
	var targets map[string]string
	if g.n(4) != 0 {
		targets = fuzzTargets
	}
	resolved := func(name string) []string {
		if t, ok := targets[name]; ok {
			return []string{t}
		}
		return nil
	}
	// try accepts validation errors (the generator makes invalid
	// input too) and reports whether the write happened.
	try := func(err error) bool {
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("unexpected write error: %v", err)
		}
		return err == nil
	}

	for _, name := range fuzzGroups[:g.n(3)] {
		_, err := c.CreateAccessGroup(ctx, AccessGroup{Name: name, Members: g.list(fuzzGrants, 4)})
		try(err)
	}
	var orgs, teams, keys []string
	for i := range g.n(3) {
		id := fmt.Sprintf("o%d", i)
		_, err := c.CreateOrganization(ctx, Organization{ID: id, Models: g.list(fuzzGrants, 3), MaxBudget: float64(g.n(3))})
		if try(err) {
			orgs = append(orgs, id)
		}
	}
	for i := range g.n(4) {
		id := fmt.Sprintf("t%d", i)
		tm := Team{ID: id, Models: g.list(fuzzGrants, 3), AccessGroups: g.list(fuzzGroups[:2], 1), MaxBudget: float64(g.n(3)), Blocked: g.n(8) == 0}
		if len(orgs) > 0 && g.n(2) == 1 {
			tm.OrganizationID = g.pick(orgs)
		}
		_, err := c.CreateTeam(ctx, tm)
		if try(err) {
			teams = append(teams, id)
		}
	}
	for i := range 1 + g.n(4) {
		id := fmt.Sprintf("k%d", i)
		k := Key{ID: id, Models: g.list(fuzzGrants, 4), AccessGroups: g.list(fuzzGroups[:2], 1), MaxBudget: float64(g.n(3)), Blocked: g.n(10) == 0}
		if len(teams) > 0 && g.n(3) != 0 {
			k.TeamID = g.pick(teams)
		}
		if n := g.n(3); n > 0 {
			k.Aliases = map[string]string{}
			for range n {
				k.Aliases[g.pick(fuzzAliasNames)] = g.pick(fuzzNames)
			}
		}
		_, err := c.CreateKey(ctx, k)
		if try(err) {
			keys = append(keys, id)
		}
		if err := c.RecordSpend(id, float64(g.n(4))*0.5); err != nil && !errors.Is(err, ErrUnknownKey) {
			t.Fatal(err)
		}
	}
	keys = append(keys, "unknown")

	check := func(step string) {
		t.Helper()
		ref := newReference(c, imply, targets)
		byName := newReference(c, imply, nil) // Authorize, Visible and WhoCanUse see names only
		universe := append(slices.Clone(fuzzGrants), "zzz", "p/", "")
		for _, id := range keys {
			var allowed []string
			for _, n := range universe {
				err := c.Allow(NewContext(ctx, id), n, resolved(n))
				if verdicts != nil {
					verdicts[errKind(err)]++
				}
				if want := ref.authorize(id, n); errKind(err) != want {
					t.Fatalf("%s: Allow(%q, %q, %q) = %v, reference says %s\nstate: %+v", step, id, n, resolved(n), err, want, ref)
				}
				aerr := c.Authorize(id, n)
				if want := byName.authorize(id, n); errKind(aerr) != want {
					t.Fatalf("%s: Authorize(%q, %q) = %v, reference says %s\nstate: %+v", step, id, n, aerr, want, byName)
				}
				if aerr == nil {
					allowed = append(allowed, n)
				}
			}
			vis := c.Visible(id, universe)
			// Visible = the allowed names in order, then the key's own
			// aliases that are not in the universe.
			inUniverse := vis[:min(len(vis), len(allowed))]
			if diff := cmp.Diff(allowed, nilIfEmpty(inUniverse)); diff != "" {
				t.Fatalf("%s: Visible(%q) disagrees with Authorize (-authorize +visible):\n%s", step, id, diff)
			}
			for _, extra := range vis[len(inUniverse):] {
				if slices.Contains(universe, extra) {
					t.Fatalf("%s: Visible(%q) lists %q twice", step, id, extra)
				}
				if err := c.Authorize(id, extra); err != nil {
					t.Fatalf("%s: Visible(%q) lists %q but Authorize says %v", step, id, extra, err)
				}
			}
		}
		for _, n := range universe {
			teamsGot, keysGot := c.WhoCanUse(n)
			teamsWant, keysWant := byName.whoCanUse(n)
			if diff := cmp.Diff(teamsWant, teamsGot); diff != "" {
				t.Fatalf("%s: WhoCanUse(%q) teams (-reference +got):\n%s", step, n, diff)
			}
			if diff := cmp.Diff(keysWant, keysGot); diff != "" {
				t.Fatalf("%s: WhoCanUse(%q) keys (-reference +got):\n%s", step, n, diff)
			}
		}
	}
	check("initial")

	for step := range g.n(6) {
		switch g.n(9) {
		case 0:
			_, err := c.AddGroupMembers(ctx, g.pick(fuzzGroups), g.list(fuzzGrants, 2)...)
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		case 1:
			_, err := c.RemoveGroupMembers(ctx, g.pick(fuzzGroups), g.list(fuzzGrants, 2)...)
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		case 2:
			if err := c.RemoveName(ctx, g.pick(fuzzNames)); err != nil {
				t.Fatal(err)
			}
		case 3:
			if len(teams) > 0 {
				tm, err := c.GetTeam(g.pick(teams))
				if err != nil {
					t.Fatal(err)
				}
				tm.Models = g.list(fuzzGrants, 3)
				_, err = c.UpdateTeam(ctx, tm)
				try(err)
			}
		case 4:
			k, err := c.GetKey(g.pick(keys))
			if err == nil {
				k.Models = g.list(fuzzGrants, 3)
				_, err = c.UpdateKey(ctx, k)
				try(err)
			}
		case 5:
			if err := c.RecordSpend(g.pick(keys), 1); err != nil && !errors.Is(err, ErrUnknownKey) {
				t.Fatal(err)
			}
		case 6:
			if len(orgs) > 0 {
				o, err := c.GetOrganization(g.pick(orgs))
				if err != nil {
					t.Fatal(err)
				}
				o.Models = g.list(fuzzGrants, 3)
				_, err = c.UpdateOrganization(ctx, o)
				try(err)
			}
		case 7:
			// Move a key to another team (or none), or unblock it.
			k, err := c.GetKey(g.pick(keys))
			if err == nil {
				k.TeamID, k.Blocked = "", false
				if len(teams) > 0 && g.n(2) == 1 {
					k.TeamID = g.pick(teams)
				}
				_, err = c.UpdateKey(ctx, k)
				try(err)
			}
		case 8:
			// Replace an access group's members wholesale.
			_, err := c.UpdateAccessGroup(ctx, AccessGroup{Name: g.pick(fuzzGroups), Members: g.list(fuzzGrants, 3)})
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		}
		check(fmt.Sprintf("step %d", step))
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// reference is a deliberately naive implementation of the rules in the
// package documentation, read from the Checker's public listings.
type reference struct {
	keys    map[string]Key
	teams   map[string]Team
	orgs    map[string]Organization
	groups  map[string]AccessGroup
	imply   bool
	targets map[string]string
}

func newReference(c *Checker, imply bool, targets map[string]string) *reference {
	r := &reference{keys: map[string]Key{}, teams: map[string]Team{}, orgs: map[string]Organization{}, groups: map[string]AccessGroup{}, imply: imply, targets: targets}
	for _, k := range c.ListKeys() {
		r.keys[k.ID] = k
	}
	for _, t := range c.ListTeams() {
		r.teams[t.ID] = t
	}
	for _, o := range c.ListOrganizations() {
		r.orgs[o.ID] = o
	}
	for _, g := range c.ListAccessGroups() {
		r.groups[g.Name] = g
	}
	return r
}

func (r *reference) String() string {
	return fmt.Sprintf("keys=%+v teams=%+v orgs=%+v groups=%+v imply=%v targets=%v", r.keys, r.teams, r.orgs, r.groups, r.imply, r.targets)
}

func entryMatches(e, name string) bool {
	if p, ok := strings.CutSuffix(e, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return e == name
}

// listMatches: an entry of models matches by itself or through the access
// group it names; an entry of groups through the group only.
func (r *reference) listMatches(models, groups []string, name string) bool {
	for _, e := range models {
		if entryMatches(e, name) {
			return true
		}
		for _, m := range r.groups[e].Members {
			if entryMatches(m, name) {
				return true
			}
		}
	}
	for _, e := range groups {
		for _, m := range r.groups[e].Members {
			if entryMatches(m, name) {
				return true
			}
		}
	}
	return false
}

func (r *reference) levelAllows(models, groups []string, name string) bool {
	if len(models) == 0 && len(groups) == 0 {
		return true
	}
	if r.listMatches(models, groups, name) {
		return true
	}
	target, ok := r.targets[name]
	return r.imply && ok && r.listMatches(models, groups, target)
}

func (r *reference) teamAllows(teamID, name string) bool {
	t := r.teams[teamID]
	if !r.levelAllows(t.Models, t.AccessGroups, name) {
		return false
	}
	if t.OrganizationID == "" {
		return true
	}
	o := r.orgs[t.OrganizationID]
	return r.levelAllows(o.Models, o.AccessGroups, name)
}

func (r *reference) grantsAllow(k Key, name string) bool {
	if !r.levelAllows(k.Models, k.AccessGroups, name) {
		return false
	}
	return k.TeamID == "" || r.teamAllows(k.TeamID, name)
}

func (r *reference) authorize(keyID, name string) string {
	k, ok := r.keys[keyID]
	if !ok {
		return "unknown-key"
	}
	t, hasTeam := r.teams[k.TeamID]
	if k.Blocked || (hasTeam && t.Blocked) {
		return "blocked"
	}
	if _, own := k.Aliases[name]; !own && !r.grantsAllow(k, name) {
		return "denied"
	}
	spent := func(spend, budget float64) bool { return budget > 0 && spend >= budget }
	if spent(k.Spend, k.MaxBudget) {
		return "budget"
	}
	if hasTeam {
		if spent(t.Spend, t.MaxBudget) {
			return "budget"
		}
		if o, ok := r.orgs[t.OrganizationID]; ok && spent(o.Spend, o.MaxBudget) {
			return "budget"
		}
	}
	return "ok"
}

func (r *reference) whoCanUse(name string) (teams, keys []string) {
	for id := range r.teams {
		if r.teamAllows(id, name) {
			teams = append(teams, id)
		}
	}
	for id, k := range r.keys {
		if r.grantsAllow(k, name) {
			keys = append(keys, id)
		}
	}
	slices.Sort(teams)
	slices.Sort(keys)
	return teams, keys
}
