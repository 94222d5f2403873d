package alias

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Two Registries over one Store: what one writes, the other sees after
// Reload, with one event per changed alias.
func TestReloadSeesAnotherWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store := NewMemoryStore()
		a := newTestRegistry(t, WithStore(store))
		b := newTestRegistry(t, WithStore(store))
		mustCreate(t, a, Alias{Name: "smart", Target: "g1"}, Alias{Name: "fast", Target: "g2"})
		var rec recorder
		b.Subscribe(rec.record)

		if err := b.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if res, err := b.Resolve("smart"); err != nil || res.Target != "g1" {
			t.Fatalf("b.Resolve(smart) = %+v, %v", res, err)
		}
		g3 := "g3"
		if _, err := a.Update(ctx, "smart", Update{Target: &g3}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Delete(ctx, "fast"); err != nil {
			t.Fatal(err)
		}
		if err := b.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if res, err := b.Resolve("smart"); err != nil || res.Target != "g3" {
			t.Fatalf("after reload b.Resolve(smart) = %+v, %v", res, err)
		}
		if _, err := b.Get("fast"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("b.Get(fast) = %v, want ErrNotFound", err)
		}
		// A reload with nothing new sends nothing.
		if err := b.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		type ev struct {
			Kind      EventKind
			Name, Tgt string
		}
		var got []ev
		for _, e := range rec.take() {
			n := e.New
			if e.Kind == EventDeleted {
				n = e.Old
			}
			got = append(got, ev{e.Kind, n.Name, n.Target})
		}
		want := []ev{
			{EventCreated, "fast", "g2"}, {EventCreated, "smart", "g1"},
			{EventUpdated, "smart", "g3"},
			{EventDeleted, "fast", "g2"},
		}
		// The second reload saw the update and the delete together, sorted by name.
		want[2], want[3] = want[3], want[2]
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

type refuse struct{ target string }

func (r refuse) CheckAlias(name, target string) error {
	if target == r.target {
		return errors.New("no such group")
	}
	return nil
}
func (refuse) Known(string) bool { return true }

// A stored state the Registry would refuse leaves it as it was.
func TestReloadRefusesBadState(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		stored []Alias
		check  TargetCheck
		want   error
	}{
		{"cycle", []Alias{{Name: "a", Target: "b"}, {Name: "b", Target: "a"}}, nil, ErrCycle},
		{"bad name", []Alias{{Name: "", Target: "g"}}, nil, ErrInvalid},
		{"target refused", []Alias{{Name: "a", Target: "gone"}}, refuse{"gone"}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemoryStore()
			r := newTestRegistry(t, WithStore(store))
			if tt.check != nil {
				if err := r.SetTargetCheck(tt.check); err != nil {
					t.Fatal(err)
				}
			}
			mustCreate(t, r, Alias{Name: "keep", Target: "g"})
			if err := store.Save(ctx, tt.stored); err != nil {
				t.Fatal(err)
			}
			if err := r.Reload(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("Reload = %v, want %v", err, tt.want)
			}
			if res, err := r.Resolve("keep"); err != nil || res.Target != "g" {
				t.Errorf("after a refused reload Resolve(keep) = %+v, %v", res, err)
			}
		})
	}
}
