package alias

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// base returns a registry holding baseAliases.
func base(t *testing.T, opts ...Option) *Registry {
	t.Helper()
	r := newTestRegistry(t, opts...)
	mustCreate(t, r, baseAliases()...)
	return r
}

// checkErr compares err with the sentinel and, if msg is set, its message.
func checkErr(t *testing.T, err, want error, msg string) {
	t.Helper()
	if !errors.Is(err, want) || (want == nil) != (err == nil) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	if msg != "" && err.Error() != msg {
		t.Errorf("error message\n got: %s\nwant: %s", err.Error(), msg)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("error %v is not an *Error", err)
		}
	}
}

func TestCreate(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen)
	tests := []struct {
		name    string
		opts    []Option
		in      Alias
		want    Alias // Created, Updated and Revision are filled in
		wantErr error
		wantMsg string
	}{
		{
			name: "group target",
			in:   Alias{Name: "cheap", Target: "gpt-3-group", Description: "d", Hidden: true, Labels: map[string]string{"k": "v"}},
			want: Alias{Name: "cheap", Target: "gpt-3-group", Description: "d", Hidden: true, Labels: map[string]string{"k": "v"}},
		},
		{
			name: "provider/model target",
			in:   Alias{Name: "mini", Target: "openai/gpt-4o-mini"},
			want: Alias{Name: "mini", Target: "openai/gpt-4o-mini"},
		},
		{
			name: "alias target",
			in:   Alias{Name: "fastest", Target: "fast"},
			want: Alias{Name: "fastest", Target: "fast"},
		},
		{
			name: "names are case-sensitive",
			in:   Alias{Name: "Smart", Target: "smart"},
			want: Alias{Name: "Smart", Target: "smart"},
		},
		{
			name: "unicode name, longest name",
			in:   Alias{Name: "modèle-" + long[:MaxNameLen-len("modèle-")], Target: long},
			want: Alias{Name: "modèle-" + long[:MaxNameLen-len("modèle-")], Target: long},
		},
		{
			name: "caller's times and revision are ignored; empty labels dropped",
			in:   Alias{Name: "n", Target: "g", Created: t0.AddDate(-1, 0, 0), Updated: t0.AddDate(1, 0, 0), Revision: 99, Labels: map[string]string{}},
			want: Alias{Name: "n", Target: "g"},
		},
		{
			name: "disabled at creation",
			in:   Alias{Name: "off", Target: "g", Disabled: true},
			want: Alias{Name: "off", Target: "g", Disabled: true},
		},
		{
			name:    "exists",
			in:      Alias{Name: "smart", Target: "g"},
			wantErr: ErrExists,
			wantMsg: `alias: create "smart": already exists`,
		},
		{
			name:    "empty name",
			in:      Alias{Name: "", Target: "g"},
			wantErr: ErrInvalid,
			wantMsg: `alias: name "": is empty`,
		},
		{
			name:    "name too long",
			in:      Alias{Name: long + "y", Target: "g"},
			wantErr: ErrInvalid,
			wantMsg: `alias: name "` + long[:maxQuoted] + `"…: is 257 bytes long, more than 256`,
		},
		{
			name:    "name with space",
			in:      Alias{Name: "bad name", Target: "g"},
			wantErr: ErrInvalid,
			wantMsg: `alias: name "bad name": contains whitespace (U+0020 at byte 3)`,
		},
		{
			name:    "name with no-break space",
			in:      Alias{Name: "bad\u00a0name", Target: "g"},
			wantErr: ErrInvalid,
			wantMsg: `alias: name "bad\u00a0name": contains whitespace (U+00A0 at byte 3)`,
		},
		{
			name:    "name with control character",
			in:      Alias{Name: "bad\x00", Target: "g"},
			wantErr: ErrInvalid,
			wantMsg: `alias: name "bad\x00": contains a control character (U+0000 at byte 3)`,
		},
		{
			name:    "name not UTF-8",
			in:      Alias{Name: "bad\xff", Target: "g"},
			wantErr: ErrInvalid,
			wantMsg: `alias: name "bad\xff": is not valid UTF-8 (byte 3)`,
		},
		{
			name:    "empty target",
			in:      Alias{Name: "n", Target: ""},
			wantErr: ErrInvalid,
			wantMsg: `alias: create "n": target "" is empty`,
		},
		{
			name:    "target with newline",
			in:      Alias{Name: "n", Target: "g\n"},
			wantErr: ErrInvalid,
			wantMsg: `alias: create "n": target "g\n" contains whitespace (U+000A at byte 1)`,
		},
		{
			name:    "description not UTF-8",
			in:      Alias{Name: "n", Target: "g", Description: "\xc3"},
			wantErr: ErrInvalid,
			wantMsg: `alias: create "n": description is not valid UTF-8`,
		},
		{
			name:    "label not UTF-8",
			in:      Alias{Name: "n", Target: "g", Labels: map[string]string{"k": "\xc3"}},
			wantErr: ErrInvalid,
			wantMsg: `alias: create "n": label "k" value is not valid UTF-8`,
		},
		{
			name:    "targets itself",
			in:      Alias{Name: "n", Target: "n"},
			wantErr: ErrCycle,
			wantMsg: `alias: create "n": would create a cycle: n → n`,
		},
		{
			name:    "closes a cycle",
			opts:    nil,
			in:      Alias{Name: "gpt-4o-group", Target: "fast"},
			wantErr: ErrCycle,
			wantMsg: `alias: create "gpt-4o-group": would create a cycle: gpt-4o-group → fast → smart → gpt-4o-group`,
		},
		{
			name:    "too deep",
			opts:    []Option{WithMaxDepth(2)},
			in:      Alias{Name: "fastest", Target: "fast"},
			wantErr: ErrInvalid,
			wantMsg: `alias: create "fastest": chain fastest → fast → smart would be 3 deep, more than the limit of 2`,
		},
		{
			name:    "makes a dependent too deep",
			opts:    []Option{WithMaxDepth(2)},
			in:      Alias{Name: "gpt-4o-group", Target: "real-group"},
			wantErr: ErrInvalid,
			wantMsg: `alias: create "gpt-4o-group": chain fast → smart → gpt-4o-group would be 3 deep, more than the limit of 2`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base(t, tt.opts...)
			before := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})
			got, err := r.Create(context.Background(), tt.in)
			checkErr(t, err, tt.wantErr, tt.wantMsg)
			if err != nil {
				if diff := cmp.Diff(before, r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})); diff != "" {
					t.Errorf("registry changed by a refused create (-before +after):\n%s", diff)
				}
				return
			}
			want := stored(tt.want, len(baseAliases()))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Create (-want +got):\n%s", diff)
			}
			if g, err := r.Get(tt.in.Name); err != nil || !cmp.Equal(want, g) {
				t.Errorf("Get after Create = %v, %v; want %v", g, err, want)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	b := baseStored()
	// The update is the 7th write: clock reading 6, revision 7.
	updated := func(a Alias, change func(*Alias)) Alias {
		change(&a)
		a.Updated, a.Revision = at(6), 7
		return a
	}
	tests := []struct {
		name    string
		opts    []Option
		alias   string
		u       Update
		want    Alias
		wantErr error
		wantMsg string
	}{
		{
			name:  "target",
			alias: "fast", u: Update{Target: ptr("openai/gpt-4o")},
			want: updated(b["fast"], func(a *Alias) { a.Target = "openai/gpt-4o" }),
		},
		{
			name:  "description",
			alias: "smart", u: Update{Description: ptr("")},
			want: updated(b["smart"], func(a *Alias) { a.Description = "" }),
		},
		{
			name:  "disable",
			alias: "smart", u: Update{Disabled: ptr(true)},
			want: updated(b["smart"], func(a *Alias) { a.Disabled = true }),
		},
		{
			name:  "enable",
			alias: "old", u: Update{Disabled: ptr(false)},
			want: updated(b["old"], func(a *Alias) { a.Disabled = false }),
		},
		{
			name:  "unhide",
			alias: "secret", u: Update{Hidden: ptr(false)},
			want: updated(b["secret"], func(a *Alias) { a.Hidden = false }),
		},
		{
			name:  "replace labels",
			alias: "smart", u: Update{Labels: map[string]string{"a": "b"}},
			want: updated(b["smart"], func(a *Alias) { a.Labels = map[string]string{"a": "b"} }),
		},
		{
			name:  "clear labels",
			alias: "smart", u: Update{Labels: map[string]string{}},
			want: updated(b["smart"], func(a *Alias) { a.Labels = nil }),
		},
		{
			name:  "several fields, matching revision",
			alias: "raw", u: Update{Target: ptr("g"), Description: ptr("x"), Hidden: ptr(true), IfRevision: 6},
			want: updated(b["raw"], func(a *Alias) { a.Target, a.Description, a.Hidden = "g", "x", true }),
		},
		{
			name:  "nothing changes",
			alias: "smart", u: Update{Target: ptr("gpt-4o-group"), Labels: map[string]string{"tier": "1"}},
			want: b["smart"],
		},
		{
			name:  "empty update",
			alias: "smart", u: Update{},
			want: b["smart"],
		},
		{
			name:  "not found",
			alias: "nope", u: Update{Description: ptr("x")},
			wantErr: ErrNotFound,
			wantMsg: `alias: update "nope": not found`,
		},
		{
			name:  "stale revision",
			alias: "smart", u: Update{Description: ptr("x"), IfRevision: 5},
			wantErr: ErrConflict,
			wantMsg: `alias: update "smart": revision is 1, not 5`,
		},
		{
			name:  "bad target",
			alias: "smart", u: Update{Target: ptr("a b")},
			wantErr: ErrInvalid,
			wantMsg: `alias: update "smart": target "a b" contains whitespace (U+0020 at byte 1)`,
		},
		{
			name:  "bad description",
			alias: "smart", u: Update{Description: ptr("\xff")},
			wantErr: ErrInvalid,
		},
		{
			name:  "bad label key",
			alias: "smart", u: Update{Labels: map[string]string{"\xff": ""}},
			wantErr: ErrInvalid,
			wantMsg: `alias: update "smart": label key "\xff" is not valid UTF-8`,
		},
		{
			name:  "to itself",
			alias: "smart", u: Update{Target: ptr("smart")},
			wantErr: ErrCycle,
			wantMsg: `alias: update "smart": would create a cycle: smart → smart`,
		},
		{
			name:  "cycle through a dependent",
			alias: "smart", u: Update{Target: ptr("fast")},
			wantErr: ErrCycle,
			wantMsg: `alias: update "smart": would create a cycle: smart → fast → smart`,
		},
		{
			name:  "too deep",
			opts:  []Option{WithMaxDepth(2)},
			alias: "raw", u: Update{Target: ptr("fast")},
			wantErr: ErrInvalid,
			wantMsg: `alias: update "raw": chain raw → fast → smart would be 3 deep, more than the limit of 2`,
		},
		{
			name:  "dependent too deep",
			opts:  []Option{WithMaxDepth(2)},
			alias: "smart", u: Update{Target: ptr("raw")},
			wantErr: ErrInvalid,
			wantMsg: `alias: update "smart": chain fast → smart → raw would be 3 deep, more than the limit of 2`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base(t, tt.opts...)
			before := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})
			got, err := r.Update(context.Background(), tt.alias, tt.u)
			checkErr(t, err, tt.wantErr, tt.wantMsg)
			if err != nil {
				if diff := cmp.Diff(before, r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})); diff != "" {
					t.Errorf("registry changed by a refused update (-before +after):\n%s", diff)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Update (-want +got):\n%s", diff)
			}
			if g, _ := r.Get(tt.alias); !cmp.Equal(tt.want, g) {
				t.Errorf("Get after Update = %v, want %v", g, tt.want)
			}
		})
	}
}

func TestUpdateRecomputesDependents(t *testing.T) {
	ctx := context.Background()
	r := base(t)
	if _, err := r.Update(ctx, "smart", Update{Target: ptr("raw")}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve("fast")
	if err != nil {
		t.Fatal(err)
	}
	want := Resolution{Requested: "fast", Chain: []string{"fast", "smart", "raw"}, Target: "openai/gpt-4o-mini"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve(fast) after re-pointing smart (-want +got):\n%s", diff)
	}
	// Disabling smart disables fast; enabling it again enables fast.
	if _, err := r.Update(ctx, "smart", Update{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve("fast"); !errors.Is(err, ErrDisabled) {
		t.Errorf("Resolve(fast) with smart disabled: %v, want ErrDisabled", err)
	}
	if _, err := r.Update(ctx, "smart", Update{Disabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve("fast"); err != nil {
		t.Errorf("Resolve(fast) with smart enabled again: %v", err)
	}
	// Creating an alias named like a chain's final target extends the chain.
	mustCreate(t, r, Alias{Name: "openai/gpt-4o-mini", Target: "mini-group"})
	got, _ = r.Resolve("fast")
	want = Resolution{Requested: "fast", Chain: []string{"fast", "smart", "raw", "openai/gpt-4o-mini"}, Target: "mini-group"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve(fast) after extending its chain (-want +got):\n%s", diff)
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name      string
		alias     string
		want      Alias
		wantErr   error
		wantMsg   string
		resolve   string     // resolved after the delete
		wantResol Resolution // its resolution
	}{
		{
			name: "leaf", alias: "raw", want: baseStored()["raw"],
			resolve: "raw", wantResol: Resolution{Requested: "raw", Target: "raw"},
		},
		{
			name: "dependents now end at its name", alias: "smart", want: baseStored()["smart"],
			resolve: "fast", wantResol: Resolution{Requested: "fast", Chain: []string{"fast"}, Target: "smart"},
		},
		{
			name: "dependents no longer disabled", alias: "old", want: baseStored()["old"],
			resolve: "via-old", wantResol: Resolution{Requested: "via-old", Chain: []string{"via-old"}, Target: "old"},
		},
		{
			name: "not found", alias: "nope",
			wantErr: ErrNotFound, wantMsg: `alias: delete "nope": not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base(t)
			got, err := r.Delete(context.Background(), tt.alias)
			checkErr(t, err, tt.wantErr, tt.wantMsg)
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Delete (-want +got):\n%s", diff)
			}
			if _, err := r.Get(tt.alias); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Delete: %v, want ErrNotFound", err)
			}
			res, err := r.Resolve(tt.resolve)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.resolve, err)
			}
			if diff := cmp.Diff(tt.wantResol, res, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Resolve(%q) (-want +got):\n%s", tt.resolve, diff)
			}
		})
	}
}

func TestGet(t *testing.T) {
	r := base(t)
	for _, name := range []string{"smart", "old", "secret"} {
		got, err := r.Get(name)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		if diff := cmp.Diff(baseStored()[name], got); diff != "" {
			t.Errorf("Get(%q) (-want +got):\n%s", name, diff)
		}
	}
	_, err := r.Get("gpt-4o-group")
	checkErr(t, err, ErrNotFound, `alias: "gpt-4o-group": not found`)
}

func TestList(t *testing.T) {
	names := func(as []Alias) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Name)
		}
		return out
	}
	tests := []struct {
		o    ListOptions
		want []string
	}{
		{ListOptions{}, []string{"fast", "raw", "smart"}},
		{ListOptions{IncludeHidden: true}, []string{"fast", "raw", "secret", "smart"}},
		{ListOptions{IncludeDisabled: true}, []string{"fast", "old", "raw", "smart", "via-old"}},
		{ListOptions{IncludeHidden: true, IncludeDisabled: true}, []string{"fast", "old", "raw", "secret", "smart", "via-old"}},
	}
	r := base(t)
	for _, tt := range tests {
		got := r.List(tt.o)
		if diff := cmp.Diff(tt.want, names(got)); diff != "" {
			t.Errorf("List(%+v) (-want +got):\n%s", tt.o, diff)
		}
		for _, a := range got {
			if diff := cmp.Diff(baseStored()[a.Name], a); diff != "" {
				t.Errorf("List(%+v): %q (-want +got):\n%s", tt.o, a.Name, diff)
			}
		}
	}
	if got := newTestRegistry(t).List(ListOptions{}); got == nil || len(got) != 0 {
		t.Errorf("List on an empty registry = %#v, want empty non-nil", got)
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		check   TargetCheck
		in      string
		want    Resolution
		wantErr error
		wantMsg string
	}{
		{name: "alias", in: "smart", want: Resolution{Requested: "smart", Chain: []string{"smart"}, Target: "gpt-4o-group"}},
		{name: "chain", in: "fast", want: Resolution{Requested: "fast", Chain: []string{"fast", "smart"}, Target: "gpt-4o-group"}},
		{name: "hidden alias resolves", in: "secret", want: Resolution{Requested: "secret", Chain: []string{"secret"}, Target: "gpt-4o-group"}},
		{name: "provider/model", in: "raw", want: Resolution{Requested: "raw", Chain: []string{"raw"}, Target: "openai/gpt-4o-mini"}},
		{name: "not an alias", in: "gpt-4o-group", want: Resolution{Requested: "gpt-4o-group", Target: "gpt-4o-group"}},
		{name: "case matters", in: "SMART", want: Resolution{Requested: "SMART", Target: "SMART"}},
		{name: "disabled", in: "old", wantErr: ErrDisabled, wantMsg: `alias: "old": disabled`},
		{name: "disabled on the chain", in: "via-old", wantErr: ErrDisabled, wantMsg: `alias: "via-old": disabled`},
		{name: "empty", in: "", wantErr: ErrNotFound, wantMsg: `alias: "": not found`},
		{name: "malformed", in: "a b", wantErr: ErrNotFound, wantMsg: `alias: "a b": not found`},
		{
			name: "known group", check: newGroups("gpt-4o-group", "gpt-3-group", "openai/gpt-4o-mini"),
			in: "gpt-4o-group", want: Resolution{Requested: "gpt-4o-group", Target: "gpt-4o-group"},
		},
		{
			name: "known target", check: newGroups("gpt-4o-group", "gpt-3-group", "openai/gpt-4o-mini"),
			in: "fast", want: Resolution{Requested: "fast", Chain: []string{"fast", "smart"}, Target: "gpt-4o-group"},
		},
		{
			name: "unknown name", check: newGroups("gpt-4o-group", "gpt-3-group", "openai/gpt-4o-mini"),
			in: "nope", wantErr: ErrNotFound, wantMsg: `alias: "nope": not found`,
		},
		{
			name: "group name the check no longer knows", check: &forgetful{newGroups("gpt-4o-group", "gpt-3-group", "openai/gpt-4o-mini"), "gpt-4o-group"},
			in: "gpt-4o-group", wantErr: ErrNotFound, wantMsg: `alias: "gpt-4o-group": not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base(t)
			if tt.check != nil {
				if err := r.SetTargetCheck(tt.check); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.Resolve(tt.in)
			checkErr(t, err, tt.wantErr, tt.wantMsg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve(%q) (-want +got):\n%s", tt.in, diff)
			}
			if got.IsAlias() != (len(tt.want.Chain) > 0) {
				t.Errorf("IsAlias() = %v", got.IsAlias())
			}
		})
	}
}

// forgetful is a TargetCheck whose Known forgets one name after the aliases
// were checked: Resolve asks it about names that are not aliases.
type forgetful struct {
	*groups
	forgot string
}

func (f *forgetful) Known(name string) bool { return name != f.forgot && f.groups.Known(name) }

func TestResolveAllocs(t *testing.T) {
	r := base(t)
	if err := r.SetTargetCheck(newGroups("gpt-4o-group", "gpt-3-group", "openai/gpt-4o-mini")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fast", "gpt-4o-group"} {
		if n := testing.AllocsPerRun(100, func() { r.Resolve(name) }); n != 0 {
			t.Errorf("Resolve(%q) allocates %v times", name, n)
		}
	}
}

func TestTargetCheck(t *testing.T) {
	ctx := context.Background()
	g := newGroups("gpt-4o-group", "gpt-3-group", "openai/gpt-4o-mini", "other-group")
	r := base(t)

	// A check that refuses an existing alias is not installed.
	strict := newGroups("gpt-4o-group")
	err := r.SetTargetCheck(strict)
	checkErr(t, err, ErrInvalid, `alias: set target check "old": target "gpt-3-group" refused: no such group`)
	if !errors.Is(err, errNoGroup) {
		t.Errorf("SetTargetCheck error does not wrap the check's error: %v", err)
	}
	if _, err := r.Resolve("anything"); err != nil {
		t.Errorf("Resolve after a refused SetTargetCheck: %v (the refused check was installed)", err)
	}

	if err := r.SetTargetCheck(g); err != nil {
		t.Fatalf("SetTargetCheck: %v", err)
	}
	g.Calls()

	tests := []struct {
		name      string
		write     func() error
		wantErr   error
		wantCause error
		wantMsg   string
		wantCalls []string
	}{
		{
			name:      "create checks the final target",
			write:     func() error { _, err := r.Create(ctx, Alias{Name: "fastest", Target: "fast"}); return err },
			wantCalls: []string{"fastest → gpt-4o-group"},
		},
		{
			name:      "create pointing at nothing",
			write:     func() error { _, err := r.Create(ctx, Alias{Name: "typo", Target: "gpt-4o-gruop"}); return err },
			wantErr:   ErrInvalid,
			wantCause: errNoGroup,
			wantMsg:   `alias: create "typo": target "gpt-4o-gruop" refused: no such group`,
			wantCalls: []string{"typo → gpt-4o-gruop"},
		},
		{
			name:      "create shadowing a group",
			write:     func() error { _, err := r.Create(ctx, Alias{Name: "other-group", Target: "gpt-4o-group"}); return err },
			wantErr:   ErrInvalid,
			wantCause: errShadows,
			wantMsg:   `alias: create "other-group": target "gpt-4o-group" refused: shadows a group`,
			wantCalls: []string{"other-group → gpt-4o-group"},
		},
		{
			name: "re-pointing checks dependents whose target changes",
			write: func() error {
				_, err := r.Update(ctx, "smart", Update{Target: ptr("other-group")})
				return err
			},
			wantCalls: []string{"smart → other-group", "fast → other-group", "fastest → other-group"},
		},
		{
			name: "description change checks only the alias",
			write: func() error {
				_, err := r.Update(ctx, "smart", Update{Description: ptr("x")})
				return err
			},
			wantCalls: []string{"smart → other-group"},
		},
		{
			name:      "delete refused when a dependent would point at nothing",
			write:     func() error { _, err := r.Delete(ctx, "smart"); return err },
			wantErr:   ErrInvalid,
			wantCause: errNoGroup,
			wantCalls: []string{"fast → smart"},
		},
		{
			name:      "leaf delete checks nothing",
			write:     func() error { _, err := r.Delete(ctx, "raw"); return err },
			wantCalls: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			if tt.wantErr == nil && err != nil {
				t.Fatalf("write: %v", err)
			}
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr, tt.wantMsg)
				if !errors.Is(err, tt.wantCause) {
					t.Errorf("error %v does not wrap %v", err, tt.wantCause)
				}
			}
			// Dependents at the same depth may be checked in any order.
			calls := g.Calls()
			if diff := cmp.Diff(tt.wantCalls, calls, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("CheckAlias calls (-want +got):\n%s", diff)
			}
		})
	}

	// Removing the check accepts any well-formed target again.
	if err := r.SetTargetCheck(nil); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, r, Alias{Name: "typo", Target: "gpt-4o-gruop"})
}

func TestDependentCheckMessage(t *testing.T) {
	ctx := context.Background()
	r := base(t)
	if err := r.SetTargetCheck(newGroups("gpt-4o-group", "gpt-3-group", "openai/gpt-4o-mini")); err != nil {
		t.Fatal(err)
	}
	_, err := r.Delete(ctx, "smart")
	checkErr(t, err, ErrInvalid, `alias: delete "smart": alias "fast" would resolve to "smart", refused: no such group`)
}

func TestSaveFailure(t *testing.T) {
	ctx := context.Background()
	store := &failStore{}
	r := base(t, WithStore(store))
	events := make(chan Event, 10)
	cancel := r.Subscribe(func(e Event) { events <- e })
	defer cancel()
	before := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})
	beforeFast, _ := r.Resolve("fast")

	boom := errors.New("disk full")
	store.setFail(boom)
	writes := map[string]func() error{
		"create": func() error { _, err := r.Create(ctx, Alias{Name: "new", Target: "g"}); return err },
		"update": func() error { _, err := r.Update(ctx, "smart", Update{Target: ptr("g")}); return err },
		"delete": func() error { _, err := r.Delete(ctx, "smart"); return err },
	}
	for op, write := range writes {
		err := write()
		if !errors.Is(err, boom) || !errors.Is(err, ErrStore) {
			t.Errorf("%s with a failing store: %v, want %v matching ErrStore", op, err, boom)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "alias: "+op+" ") {
			t.Errorf("%s error %q does not say what failed", op, err)
		}
	}
	if diff := cmp.Diff(before, r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})); diff != "" {
		t.Errorf("registry changed by failed writes (-before +after):\n%s", diff)
	}
	if got, _ := r.Resolve("fast"); !cmp.Equal(beforeFast, got) {
		t.Errorf("Resolve(fast) = %v after failed writes, want %v", got, beforeFast)
	}

	// The next successful write takes the next revision: failed writes used none.
	store.setFail(nil)
	a, err := r.Create(ctx, Alias{Name: "new", Target: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Revision != 7 {
		t.Errorf("revision after failed writes = %d, want 7", a.Revision)
	}
	if e := <-events; e.Kind != EventCreated || e.New.Name != "new" {
		t.Errorf("first event = %v, want the successful create", e)
	}
	r.Close()
	if len(events) != 0 {
		t.Errorf("%d more events, want only the successful create", len(events))
	}
	loaded, _ := store.Load(ctx)
	if len(loaded) != len(before)+1 {
		t.Errorf("store holds %d aliases, want %d", len(loaded), len(before)+1)
	}
}

func TestNew(t *testing.T) {
	ctx := context.Background()
	seeded := func(as ...Alias) Option {
		s := NewMemoryStore()
		s.Save(ctx, as)
		return WithStore(s)
	}
	boom := errors.New("boom")
	tests := []struct {
		name    string
		opts    []Option
		wantErr error // nil: only a message check
		wantMsg string
	}{
		{name: "max depth 0", opts: []Option{WithMaxDepth(0)}, wantMsg: "alias: max depth 0 is less than 1"},
		{name: "nil clock", opts: []Option{WithClock(nil)}, wantMsg: "alias: WithClock: nil clock"},
		{name: "store fails", opts: []Option{WithStore(loadErrStore{boom})}, wantErr: boom, wantMsg: "alias: load store: boom"},
		{
			name: "duplicate", opts: []Option{seeded(Alias{Name: "a", Target: "g"}, Alias{Name: "a", Target: "h"})},
			wantErr: ErrExists, wantMsg: `alias: load "a": appears twice`,
		},
		{
			name: "bad name", opts: []Option{seeded(Alias{Name: "a b", Target: "g"})},
			wantErr: ErrInvalid, wantMsg: `alias: load "a b": name contains whitespace (U+0020 at byte 1)`,
		},
		{
			name: "bad target", opts: []Option{seeded(Alias{Name: "a", Target: ""})},
			wantErr: ErrInvalid, wantMsg: `alias: load "a": target "" is empty`,
		},
		{
			name: "cycle", opts: []Option{seeded(Alias{Name: "a", Target: "b"}, Alias{Name: "b", Target: "c"}, Alias{Name: "c", Target: "a"})},
			wantErr: ErrCycle, wantMsg: `alias: load "a": is on a cycle: a → b → c → a`,
		},
		{
			name: "self", opts: []Option{seeded(Alias{Name: "a", Target: "a"})},
			wantErr: ErrCycle, wantMsg: `alias: load "a": would create a cycle: a → a`,
		},
		{
			name: "too deep", opts: []Option{WithMaxDepth(2), seeded(Alias{Name: "a", Target: "b"}, Alias{Name: "b", Target: "c"}, Alias{Name: "c", Target: "g"})},
			wantErr: ErrInvalid, wantMsg: `alias: load "a": chain a → b → c would be 3 deep, more than the limit of 2`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(ctx, tt.opts...)
			if err == nil {
				r.Close()
				t.Fatal("New succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("New: %v, want %v", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("New error\n got: %s\nwant: %s", err, tt.wantMsg)
			}
		})
	}
}

type loadErrStore struct{ err error }

func (s loadErrStore) Load(context.Context) ([]Alias, error) { return nil, s.err }
func (s loadErrStore) Save(context.Context, []Alias) error   { return nil }

func TestNewLoads(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	r := base(t, WithStore(store))
	want := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})
	wantFast, _ := r.Resolve("fast")

	r2, err := New(ctx, WithStore(store), WithClock(func() time.Time { return at(100) }))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if diff := cmp.Diff(want, r2.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})); diff != "" {
		t.Errorf("reloaded registry (-want +got):\n%s", diff)
	}
	if got, _ := r2.Resolve("fast"); !cmp.Equal(wantFast, got) {
		t.Errorf("reloaded Resolve(fast) = %v, want %v", got, wantFast)
	}
	// Revisions continue after the highest one loaded.
	a, err := r2.Create(ctx, Alias{Name: "n", Target: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Revision != 7 || !a.Created.Equal(at(100)) {
		t.Errorf("Create after reload = rev %d at %v, want rev 7 at %v", a.Revision, a.Created, at(100))
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	r := base(t)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := r.Create(ctx, Alias{Name: "n", Target: "g"})
	checkErr(t, err, ErrClosed, `alias: create "n": registry closed`)
	_, err = r.Update(ctx, "smart", Update{Description: ptr("x")})
	checkErr(t, err, ErrClosed, "")
	_, err = r.Delete(ctx, "smart")
	checkErr(t, err, ErrClosed, "")
	if _, err := r.Resolve("fast"); err != nil {
		t.Errorf("Resolve after Close: %v", err)
	}
	if _, err := r.Get("fast"); err != nil {
		t.Errorf("Get after Close: %v", err)
	}
	cancel := r.Subscribe(func(Event) { t.Error("event after Close") })
	cancel()
}

func TestCanceledContext(t *testing.T) {
	r := base(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Create(ctx, Alias{Name: "n", Target: "g"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a canceled context: %v", err)
	}
	if _, err := r.Get("n"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Create with a canceled context created the alias")
	}
}

func TestIsolation(t *testing.T) {
	ctx := context.Background()
	r := newTestRegistry(t)
	labels := map[string]string{"k": "v"}
	a, err := r.Create(ctx, Alias{Name: "a", Target: "g", Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	labels["k"] = "changed by caller"
	a.Labels["k"] = "changed by caller"
	got, _ := r.Get("a")
	got.Labels["k"] = "changed by caller"
	r.List(ListOptions{})[0].Labels["k"] = "changed by caller"
	u := map[string]string{"k": "v2"}
	if _, err := r.Update(ctx, "a", Update{Labels: u}); err != nil {
		t.Fatal(err)
	}
	u["k"] = "changed by caller"
	got, _ = r.Get("a")
	if got.Labels["k"] != "v2" {
		t.Errorf("labels = %v, want k=v2: the caller's maps leak into the registry", got.Labels)
	}
	res, _ := r.Resolve("a")
	if cap(res.Chain) != len(res.Chain) {
		t.Errorf("Resolution.Chain has spare capacity: an append by a caller would write into shared memory")
	}
}

func TestErrorMessages(t *testing.T) {
	ctx := context.Background()
	r := newTestRegistry(t)
	mustCreate(t, r, Alias{Name: "b", Target: "c"}, Alias{Name: "c", Target: "a"})
	_, err := r.Create(ctx, Alias{Name: "a", Target: "b"})
	checkErr(t, err, ErrCycle, `alias: create "a": would create a cycle: a → b → c → a`)
	var e *Error
	if errors.As(err, &e); !cmp.Equal(e.Chain, []string{"a", "b", "c", "a"}) {
		t.Errorf("Error.Chain = %q", e.Chain)
	}
	_, err = r.Resolve("smart")
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, r, Alias{Name: "smart", Target: "g", Disabled: true})
	_, err = r.Resolve("smart")
	checkErr(t, err, ErrDisabled, `alias: "smart": disabled`)
	_, err = r.Get("nope")
	checkErr(t, err, ErrNotFound, `alias: "nope": not found`)
	_, err = r.Create(ctx, Alias{Name: "bad name", Target: "g"})
	if !strings.HasPrefix(err.Error(), `alias: name "bad name": contains whitespace`) {
		t.Errorf("bad name error: %v", err)
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{EventCreated: "created", EventUpdated: "updated", EventDeleted: "deleted", 0: "EventKind(0)", 9: "EventKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("EventKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestAliasActive(t *testing.T) {
	if !(Alias{}).Active() || (Alias{Disabled: true}).Active() {
		t.Error("Active is not the opposite of Disabled")
	}
}

func TestZeroRegistry(t *testing.T) {
	ctx := context.Background()
	var r Registry
	if res, err := r.Resolve("smart"); err != nil || res.Target != "smart" || res.IsAlias() {
		t.Errorf("Resolve on the zero Registry = %+v, %v", res, err)
	}
	if _, err := r.Resolve("a b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(malformed) on the zero Registry: %v", err)
	}
	if _, err := r.Get("smart"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get on the zero Registry: %v", err)
	}
	if got := r.List(ListOptions{}); len(got) != 0 {
		t.Errorf("List on the zero Registry = %v", got)
	}
	_, err := r.Create(ctx, Alias{Name: "a", Target: "g"})
	checkErr(t, err, ErrClosed, `alias: create "a": registry not created with New`)
	_, err = r.Update(ctx, "a", Update{})
	checkErr(t, err, ErrClosed, "")
	_, err = r.Delete(ctx, "a")
	checkErr(t, err, ErrClosed, "")
	checkErr(t, r.SetTargetCheck(nil), ErrClosed, "")
	r.Subscribe(func(Event) {})()
	if err := r.Close(); err != nil {
		t.Errorf("Close on the zero Registry: %v", err)
	}
}
