package alias

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzNames are the names and targets fuzzed operations use: a few valid
// ones that chain easily, and some that break each name rule.
var fuzzNames = []string{"a", "b", "c", "d", "e", "f", "A", "g/h", "é", "", "a b", "\xff", "x\x00"}

// fuzzInput hands out the fuzzer's bytes; past the end it returns zeros.
type fuzzInput struct{ data []byte }

func (in *fuzzInput) byte() byte {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return b
}

func (in *fuzzInput) name() string { return fuzzNames[int(in.byte())%len(fuzzNames)] }

func (in *fuzzInput) text() string {
	n := int(in.byte() % 4)
	if n > len(in.data) {
		n = len(in.data)
	}
	s := string(in.data[:n])
	in.data = in.data[n:]
	return s
}

// fuzzCheck is a TargetCheck over a set of known names: it refuses an alias
// that shadows one of them or whose final target is not one of them.
type fuzzCheck map[string]bool

func (c fuzzCheck) CheckAlias(name, target string) error {
	if c[name] {
		return errShadows
	}
	if !c[target] {
		return errNoGroup
	}
	return nil
}

func (c fuzzCheck) Known(name string) bool { return c[name] }

// modelWalk follows name through m. It reports a cycle instead of looping.
func modelWalk(m map[string]Alias, name string) (chain []string, target string, disabled, cycle bool) {
	cur := name
	for {
		a, ok := m[cur]
		if !ok {
			return chain, cur, disabled, false
		}
		if len(chain) > len(m) {
			return chain, cur, disabled, true
		}
		chain = append(chain, cur)
		disabled = disabled || a.Disabled
		cur = a.Target
	}
}

// modelReasons returns the sentinels that may refuse turning before into
// after, where name is the alias written: every rule after breaks.
func modelReasons(before, after map[string]Alias, name string, maxDepth int, check fuzzCheck) []error {
	var reasons []error
	for n := range after {
		chain, target, _, cycle := modelWalk(after, n)
		if cycle {
			reasons = append(reasons, ErrCycle)
			continue
		}
		if len(chain) > maxDepth {
			reasons = append(reasons, ErrInvalid)
		}
		if check == nil {
			continue
		}
		_, old, _, _ := modelWalk(before, n)
		if _, existed := before[n]; n == name || !existed || old != target {
			if check.CheckAlias(n, target) != nil {
				reasons = append(reasons, ErrInvalid)
			}
		}
	}
	return reasons
}

// FuzzRegistry applies random sequences of operations to a Registry and to a
// simple model of it, and checks after each one that the registry agrees
// with the model, never stores a cycle or a chain that is too deep, refuses
// only what it must, and that a FileStore reloads exactly what was saved.
func FuzzRegistry(f *testing.F) {
	f.Add([]byte{3, 0, 0, 1, 0, 1, 2, 0, 0, 2, 0, 1, 0, 0, 4, 2, 1})
	f.Add([]byte{2, 0, 0, 1, 0, 0, 1, 2, 0, 0, 2, 0, 0, 1, 0, 1, 0})
	f.Add([]byte{1, 0, 3, 4, 0, 0, 0, 6, 7, 0, 0, 4, 0, 4, 5, 5, 0, 1, 0, 2})
	f.Add([]byte("\x05\x00\x01\x02\x00\x00\x00\x06\x0f\x00\x09\x0a\x00\x03\x03\x00\x08\x07\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		in := &fuzzInput{data: data}
		maxDepth := 1 + int(in.byte()%4)
		store := &failStore{}
		storeErr := errors.New("store down")
		r, err := New(ctx, WithStore(store), WithClock(newTestClock().Now), WithMaxDepth(maxDepth))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()

		model := map[string]Alias{} // Name, Target, Description, Disabled, Hidden, Labels, Revision
		var rev uint64
		var check fuzzCheck
		failing := false

		for op := 0; len(in.data) > 0 && op < 100; op++ {
			kind := in.byte() % 8
			name := in.name()
			var (
				err     error
				got     Alias
				after   = maps.Clone(model)
				reasons []error
				changed = true // whether a successful op changes the state
				desc    string
			)
			current, exists := model[name]
			switch kind {
			case 0: // create
				flags := in.byte()
				a := Alias{Name: name, Target: in.name(), Disabled: flags&1 != 0, Hidden: flags&2 != 0}
				if flags&4 != 0 {
					a.Description = in.text()
				}
				if flags&8 != 0 {
					a.Labels = map[string]string{in.text(): in.text()}
				}
				desc = fmt.Sprintf("Create(%q → %q)", a.Name, a.Target)
				reasons = inputReasons(a)
				if exists {
					reasons = append(reasons, ErrExists)
				}
				a.Labels = normLabels(a.Labels)
				after[name] = a
				got, err = r.Create(ctx, a)
			case 1, 2, 3, 7: // update
				var u Update
				switch kind {
				case 1:
					u.Target = ptr(in.name())
				case 2:
					u.Disabled = ptr(in.byte()&1 != 0)
				case 3:
					u.Hidden = ptr(in.byte()&1 != 0)
					u.Description = ptr(in.text())
					if b := in.byte(); b&1 != 0 {
						u.Labels = map[string]string{}
						if b&2 != 0 {
							u.Labels[in.text()] = in.text()
						}
					}
				case 7:
					u.Target = ptr(in.name())
					u.IfRevision = uint64(in.byte() % 8)
				}
				desc = fmt.Sprintf("Update(%q, %+v)", name, u)
				if !exists {
					reasons = append(reasons, ErrNotFound)
					got, err = r.Update(ctx, name, u)
					break
				}
				if u.IfRevision != 0 && u.IfRevision != current.Revision {
					reasons = append(reasons, ErrConflict)
				}
				a := current
				if u.Target != nil {
					a.Target = *u.Target
				}
				if u.Description != nil {
					a.Description = *u.Description
				}
				if u.Disabled != nil {
					a.Disabled = *u.Disabled
				}
				if u.Hidden != nil {
					a.Hidden = *u.Hidden
				}
				if u.Labels != nil {
					a.Labels = normLabels(u.Labels)
				}
				reasons = append(reasons, inputReasons(a)...)
				changed = !sameContent(a, current)
				after[name] = a
				got, err = r.Update(ctx, name, u)
			case 4: // delete
				desc = fmt.Sprintf("Delete(%q)", name)
				if !exists {
					reasons = append(reasons, ErrNotFound)
				}
				delete(after, name)
				got, err = r.Delete(ctx, name)
			case 5: // the store starts or stops failing
				failing = !failing
				if failing {
					store.setFail(storeErr)
				} else {
					store.setFail(nil)
				}
				continue
			case 6: // install a check knowing some names, or none
				b := in.byte()
				var c fuzzCheck
				if b&1 != 0 {
					c = fuzzCheck{}
					for i, n := range fuzzNames {
						if b&(2<<(i%7)) != 0 {
							c[n] = true
						}
					}
				}
				var tc TargetCheck
				if c != nil {
					tc = c
				}
				err := r.SetTargetCheck(tc)
				refused := false
				if c != nil {
					for n := range model {
						_, target, _, _ := modelWalk(model, n)
						if c.CheckAlias(n, target) != nil {
							refused = true
						}
					}
				}
				if refused != (err != nil) {
					t.Fatalf("SetTargetCheck(%v) = %v; model says refused=%v", c, err, refused)
				}
				if err == nil {
					check = c
				}
				continue
			}

			if len(reasons) == 0 && changed {
				reasons = modelReasons(model, after, name, maxDepth, check)
				if failing {
					reasons = append(reasons, storeErr)
				}
			}
			if err != nil {
				justified := false
				for _, reason := range reasons {
					justified = justified || errors.Is(err, reason)
				}
				if !justified {
					t.Fatalf("%s refused with %v; the model allows only %v", desc, err, reasons)
				}
				if !strings.HasPrefix(err.Error(), "alias: ") {
					t.Fatalf("%s: error %q lacks the package prefix", desc, err)
				}
			} else {
				if len(reasons) > 0 {
					t.Fatalf("%s succeeded; the model says it breaks %v", desc, reasons)
				}
				if changed {
					rev++
					if a, ok := after[name]; ok {
						a.Revision = rev
						after[name] = a
					}
				}
				model = after
				want := model[name]
				if kind == 4 {
					want = current
				}
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Alias{}, "Created", "Updated")); diff != "" {
					t.Fatalf("%s returned (-model +got):\n%s", desc, diff)
				}
			}
			checkAgainstModel(t, r, model, check, maxDepth)
		}

		// The FileStore reloads exactly what the registry saved.
		saved, _ := store.Load(ctx)
		if diff := cmp.Diff(r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true}), saved, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("store does not hold the registry (-registry +store):\n%s", diff)
		}
		fs := NewFileStore(filepath.Join(t.TempDir(), "aliases.json"))
		if err := fs.Save(ctx, saved); err != nil {
			t.Fatal(err)
		}
		loaded, err := fs.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(saved, loaded, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("FileStore reload (-saved +loaded):\n%s", diff)
		}
		r2, err := New(ctx, WithStore(fs), WithMaxDepth(maxDepth))
		if err != nil {
			t.Fatalf("New from the saved file: %v", err)
		}
		defer r2.Close()
		checkAgainstModel(t, r2, model, nil, maxDepth)
	})
}

// inputReasons returns the sentinels the fields of a alone may be refused with.
func inputReasons(a Alias) []error {
	var out []error
	if !validName(a.Name) || !validName(a.Target) || !utf8.ValidString(a.Description) {
		out = append(out, ErrInvalid)
	}
	for k, v := range a.Labels {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			out = append(out, ErrInvalid)
		}
	}
	if a.Name == a.Target {
		out = append(out, ErrCycle)
	}
	return out
}

// checkAgainstModel checks that r holds exactly model and resolves every name
// the way the model does.
func checkAgainstModel(t *testing.T, r *Registry, model map[string]Alias, check fuzzCheck, maxDepth int) {
	t.Helper()
	var want []Alias
	for _, n := range slices.Sorted(maps.Keys(model)) {
		want = append(want, model[n])
	}
	got := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Alias{}, "Created", "Updated")); diff != "" {
		t.Fatalf("registry (-model +registry):\n%s", diff)
	}
	for _, n := range append(slices.Clone(fuzzNames), "group") {
		chain, target, disabled, cycle := modelWalk(model, n)
		if cycle {
			t.Fatalf("the registry stored a cycle through %q: %v", n, chain)
		}
		if len(chain) > maxDepth {
			t.Fatalf("the registry stored chain %v, deeper than %d", chain, maxDepth)
		}
		res, err := r.Resolve(n)
		var wantErr error
		switch {
		case disabled:
			wantErr = ErrDisabled
		case len(chain) == 0 && !validName(n):
			wantErr = ErrNotFound
		case check != nil && !check.Known(target):
			wantErr = ErrNotFound
		}
		if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
			t.Fatalf("Resolve(%q) = %+v, %v; model: chain %v, target %q, want error %v", n, res, err, chain, target, wantErr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), quote(n)) || (target != n && strings.Contains(err.Error(), quote(target))) {
				t.Fatalf("Resolve(%q) error %q does not name only the requested name", n, err)
			}
			continue
		}
		if diff := cmp.Diff(Resolution{Requested: n, Chain: chain, Target: target}, res); diff != "" {
			t.Fatalf("Resolve(%q) (-model +got):\n%s", n, diff)
		}
	}
}

// FuzzValidName checks the name rules against a plain statement of them, and
// that Create accepts exactly the valid names.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"smart", "openai/gpt-4o", "", "a b", "a\tb", "\u00a0", "\u2028", "\x7f", "\u0085", "é", "\xff", "\xc3", strings.Repeat("x", 257), "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) > 0 && len(s) <= MaxNameLen && utf8.ValidString(s)
		for _, r := range s {
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				want = false
			}
		}
		if got := validName(s); got != want {
			t.Fatalf("validName(%q) = %v, want %v", s, got, want)
		}
		if p := nameProblem(s); (p == "") != want {
			t.Fatalf("nameProblem(%q) = %q, want valid=%v", s, p, want)
		}
		r, err := New(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = r.Create(context.Background(), Alias{Name: s, Target: "group"})
		if want {
			if err != nil {
				t.Fatalf("Create(%q): %v", s, err)
			}
			if res, err := r.Resolve(s); err != nil || res.Target != "group" {
				t.Fatalf("Resolve(%q) = %v, %v", s, res, err)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "alias: name "+quote(s)+": ") {
			t.Fatalf("Create(%q) error = %v, want ErrInvalid naming the input", s, err)
		}
	})
}
