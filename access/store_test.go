package access

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// populate creates one of everything, and some spend.
func populate(t *testing.T, c *Checker) {
	t.Helper()
	mustGroup(t, c, AccessGroup{Name: "beta", Description: "beta models", Members: []string{"m2", "openai/*"}})
	mustOrg(t, c, Organization{ID: "o", Name: "Org", Models: []string{"m1", "m2", "openai/*"}, MaxBudget: 100})
	mustTeam(t, c, Team{ID: "t", OrganizationID: "o", Name: "Team", AccessGroups: []string{"beta"}, MaxBudget: 10})
	mustKey(t, c, Key{ID: "k", Name: "bot", TeamID: "t", Models: []string{"beta", "m1"}, Aliases: map[string]string{"mine": "m2"}, MaxBudget: 1, Expires: t0.AddDate(1, 0, 0)})
	mustKey(t, c, Key{ID: "blocked", Blocked: true})
	if err := c.RecordSpend("k", 0.125); err != nil {
		t.Fatal(err)
	}
}

type dump struct {
	Keys   []Key
	Teams  []Team
	Orgs   []Organization
	Groups []AccessGroup
	Who    [][]string
	Vis    []string
}

func dumpChecker(c *Checker) dump {
	teams, keys := c.WhoCanUse("m2")
	return dump{
		Keys: c.ListKeys(), Teams: c.ListTeams(), Orgs: c.ListOrganizations(), Groups: c.ListAccessGroups(),
		Who: [][]string{teams, keys},
		Vis: c.Visible("k", []string{"m1", "m2", "openai/gpt-4o", "groq/x"}),
	}
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) Store
	}{
		{"memory", func(t *testing.T) Store { return NewMemoryStore() }},
		{"file", func(t *testing.T) Store { return NewFileStore(filepath.Join(t.TempDir(), "access.json")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store(t)
			c1 := newChecker(t, WithStore(st))
			populate(t, c1)
			if err := c1.RecordSpend("k", 0.125); err != nil { // after the last write: only Close persists it
				t.Fatal(err)
			}
			want := dumpChecker(c1)
			if err := c1.Close(); err != nil {
				t.Fatal(err)
			}
			if want.Keys[1].Spend != 0.25 {
				t.Fatalf("spend before restart = %v, want 0.25", want.Keys[1].Spend)
			}

			c2 := newChecker(t, WithStore(st))
			if diff := cmp.Diff(want, dumpChecker(c2)); diff != "" {
				t.Errorf("after reload (-want +got):\n%s", diff)
			}
			// Spend keeps counting from where it was.
			if err := c2.RecordSpend("k", 0.75); err != nil {
				t.Fatal(err)
			}
			if err := c2.Authorize("k", "m2"); !errors.Is(err, ErrBudgetExceeded) {
				t.Errorf("Authorize after reload and spend = %v, want ErrBudgetExceeded", err)
			}
			if _, err := st.Load(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFileStoreFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.json")
	c := newChecker(t, WithStore(NewFileStore(path)))
	// A missing file is an empty state.
	if got := c.ListKeys(); len(got) != 0 {
		t.Fatalf("keys from a missing file: %v", got)
	}
	populate(t, c)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"access.json"}, names); diff != "" {
		t.Errorf("directory after saves: no temporary file may remain (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600 (it holds key hashes)", perm)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"version": 1`) {
		t.Errorf("file has no version:\n%s", b)
	}
}

func TestCorruptFileFailsNew(t *testing.T) {
	ctx := context.Background()
	valid := `{"version": 1, "keys": [{"id": "k"}]}`
	for _, tc := range []struct {
		name, content string
	}{
		{"empty", ""},
		{"whitespace", " \n"},
		{"truncated", valid[:len(valid)-3]},
		{"garbage", "\x00\x01not json"},
		{"trailing data", valid + `{}`},
		{"wrong type", `{"version": 1, "keys": {"id": "k"}}`},
		{"unknown version", `{"version": 2, "keys": []}`},
		{"no version", `{"keys": []}`},
		{"duplicate key", `{"version": 1, "keys": [{"id": "k"}, {"id": "k"}]}`},
		{"key of a missing team", `{"version": 1, "keys": [{"id": "k", "team_id": "t"}]}`},
		{"team of a missing organization", `{"version": 1, "teams": [{"id": "t", "organization_id": "o"}]}`},
		{"missing access group", `{"version": 1, "teams": [{"id": "t", "access_groups": ["g"]}]}`},
		{"malformed grant", `{"version": 1, "keys": [{"id": "k", "models": ["a*b"]}]}`},
		{"negative spend", `{"version": 1, "keys": [{"id": "k", "spend": -1}]}`},
		{"empty ID", `{"version": 1, "keys": [{"id": ""}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := New(ctx, WithStore(NewFileStore(path)))
			if err == nil {
				t.Fatalf("New succeeded with %d keys; want an error", len(c.ListKeys()))
			}
			if !strings.HasPrefix(err.Error(), "access: load: ") {
				t.Errorf("error %q does not say it failed loading", err)
			}
			b, _ := os.ReadFile(path)
			if string(b) != tc.content {
				t.Errorf("New modified the corrupt file")
			}
		})
	}
	// The valid content itself loads.
	path := filepath.Join(t.TempDir(), "access.json")
	if err := os.WriteFile(path, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(ctx, WithStore(NewFileStore(path)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Authorize("k", "anything"); err != nil {
		t.Errorf("Authorize on loaded key = %v", err)
	}
}

func TestFailedSaveLeavesStateUnchanged(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("disk full")
	for _, tc := range []struct {
		name string
		do   func(c *Checker) error
	}{
		{"create key", func(c *Checker) error { _, err := c.CreateKey(ctx, Key{ID: "new", Models: []string{"m1"}}); return err }},
		{"update key", func(c *Checker) error {
			_, err := c.UpdateKey(ctx, Key{ID: "k", Models: []string{"other"}})
			return err
		}},
		{"delete key", func(c *Checker) error { _, err := c.DeleteKey(ctx, "blocked"); return err }},
		{"update team", func(c *Checker) error { _, err := c.UpdateTeam(ctx, Team{ID: "t", OrganizationID: "o"}); return err }},
		{"create organization", func(c *Checker) error { _, err := c.CreateOrganization(ctx, Organization{ID: "o2"}); return err }},
		{"add group members", func(c *Checker) error { _, err := c.AddGroupMembers(ctx, "beta", "m3"); return err }},
		{"remove name", func(c *Checker) error { return c.RemoveName(ctx, "m2") }},
		{"flush", func(c *Checker) error { return c.Flush(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &countingStore{Store: NewMemoryStore()}
			c := newChecker(t, WithStore(store))
			populate(t, c)
			before := dumpChecker(c)
			persisted, _ := store.Load(ctx)

			store.setFail(boom)
			err := tc.do(c)
			if !errors.Is(err, boom) || !errors.Is(err, ErrStore) {
				t.Fatalf("got %v, want the store's error", err)
			}
			if diff := cmp.Diff(before, dumpChecker(c)); diff != "" {
				t.Errorf("state changed by a failed write (-want +got):\n%s", diff)
			}
			after, _ := store.Load(ctx)
			if diff := cmp.Diff(persisted, after); diff != "" {
				t.Errorf("stored state changed (-want +got):\n%s", diff)
			}
			// The same write succeeds once the store recovers.
			store.setFail(nil)
			if err := tc.do(c); err != nil {
				t.Errorf("retry: %v", err)
			}
		})
	}
}

func TestLoadErrorFailsNew(t *testing.T) {
	boom := errors.New("unreachable")
	_, err := New(context.Background(), WithStore(failingLoadStore{boom}))
	if !errors.Is(err, boom) {
		t.Errorf("New = %v, want the store's error", err)
	}
}

type failingLoadStore struct{ err error }

func (s failingLoadStore) Load(context.Context) (State, error) { return State{}, s.err }
func (s failingLoadStore) Save(context.Context, State) error   { return nil }
