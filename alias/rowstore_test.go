package alias

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rowStore records Put and Delete calls, fails on demand, and fails the
// test if the Registry falls back to Save.
type rowStore struct {
	MemoryStore
	t     *testing.T
	calls []string
	fail  error
}

func (s *rowStore) Save(context.Context, []Alias) error {
	s.t.Error("Save called on a RowStore")
	return nil
}

func (s *rowStore) Put(_ context.Context, a Alias) error {
	if s.fail != nil {
		return s.fail
	}
	s.calls = append(s.calls, "put "+a.Name+" -> "+a.Target)
	return nil
}

func (s *rowStore) Delete(_ context.Context, name string) error {
	if s.fail != nil {
		return s.fail
	}
	s.calls = append(s.calls, "delete "+name)
	return nil
}

// A RowStore receives the one alias written, and a refused row write
// leaves the registry as it was.
func TestRowStore(t *testing.T) {
	ctx := context.Background()
	rs := &rowStore{t: t}
	r, err := New(ctx, WithStore(rs))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, a := range []Alias{{Name: "a", Target: "g"}, {Name: "b", Target: "a"}} {
		if _, err := r.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	target := "h"
	if _, err := r.Update(ctx, "a", Update{Target: &target}); err != nil { // b's chain changes too, but b's row does not
		t.Fatal(err)
	}
	if _, err := r.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	want := []string{"put a -> g", "put b -> a", "put a -> h", "delete b"}
	if diff := cmp.Diff(want, rs.calls); diff != "" {
		t.Errorf("row writes (-want +got):\n%s", diff)
	}

	rs.fail = errors.New("disk on fire")
	before := r.List(ListOptions{IncludeHidden: true})
	if _, err := r.Create(ctx, Alias{Name: "c", Target: "g"}); !errors.Is(err, rs.fail) {
		t.Errorf("Create with a failing Put: %v", err)
	}
	if _, err := r.Delete(ctx, "a"); !errors.Is(err, rs.fail) {
		t.Errorf("Delete with a failing Delete: %v", err)
	}
	if diff := cmp.Diff(before, r.List(ListOptions{IncludeHidden: true})); diff != "" {
		t.Errorf("registry after refused writes (-before +after):\n%s", diff)
	}
	if res, err := r.Resolve("a"); err != nil || res.Target != "h" {
		t.Errorf("Resolve(a) after refused writes = %+v, %v", res, err)
	}
}
