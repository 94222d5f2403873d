package alias

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// benchAliases returns n aliases in chains of the given depth, and the names
// at the head of each chain (those whose Resolve walks the full depth).
func benchAliases(n, depth int) (all []Alias, heads []string) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		a := Alias{Name: fmt.Sprintf("alias-%06d", i), Created: created, Updated: created, Revision: uint64(i + 1)}
		if i%depth == depth-1 || i == n-1 {
			a.Target = fmt.Sprintf("group-%d", i%100)
		} else {
			a.Target = fmt.Sprintf("alias-%06d", i+1)
		}
		if i%depth == 0 && n-i >= depth {
			heads = append(heads, a.Name)
		}
		all = append(all, a)
	}
	return all, heads
}

// benchRegistry builds a registry holding all through its store, the way a
// large registry starts in production.
func benchRegistry(b *testing.B, all []Alias) *Registry {
	b.Helper()
	ctx := context.Background()
	store := NewMemoryStore()
	if err := store.Save(ctx, all); err != nil {
		b.Fatal(err)
	}
	r, err := New(ctx, WithStore(store))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

func BenchmarkResolve(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		for _, depth := range []int{1, 3} {
			b.Run(fmt.Sprintf("aliases=%d/depth=%d", n, depth), func(b *testing.B) {
				all, heads := benchAliases(n, depth)
				r := benchRegistry(b, all)
				// Visit the heads in random order so that large registries
				// pay for cache misses as real traffic would.
				rand.New(rand.NewPCG(1, 2)).Shuffle(len(heads), func(i, j int) { heads[i], heads[j] = heads[j], heads[i] })
				var seed atomic.Uint64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := int(seed.Add(7919)) % len(heads)
					for pb.Next() {
						res, err := r.Resolve(heads[i])
						if err != nil || len(res.Chain) != depth {
							b.Errorf("Resolve(%q) = %v, %v", heads[i], res, err)
							return
						}
						if i++; i == len(heads) {
							i = 0
						}
					}
				})
			})
		}
	}
}

// BenchmarkUpdate measures one write: it copies the snapshot, recomputes the
// aliases chained through the changed one and hands the whole state to the
// (in-memory) store.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 1000, 100000} {
		b.Run(fmt.Sprintf("aliases=%d", n), func(b *testing.B) {
			all, heads := benchAliases(n, 3)
			r := benchRegistry(b, all)
			targets := []string{"group-1", "group-2"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				// Re-point the last alias of a chain: two others depend on it.
				name := fmt.Sprintf("alias-%06d", (i%len(heads))*3+2)
				if _, err := r.Update(ctx, name, Update{Target: &targets[i%2]}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
