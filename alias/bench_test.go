package alias

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
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

// lookupKeys returns copies of names in a shuffled order, each allocated in
// that order: like a request's model name, the key is a fresh string, not
// the one the registry stores, and is hot in cache when it is looked up.
func lookupKeys(names []string) []string {
	order := rand.New(rand.NewPCG(1, 2)).Perm(len(names))
	keys := make([]string, len(names))
	for i, j := range order {
		keys[i] = string([]byte(names[j]))
	}
	return keys
}

// hotNames is how many distinct names BenchmarkResolve asks for: real
// traffic asks for a few names far more often than the rest, so the entries
// it needs stay in the CPU caches, as the keys of a bare-map floor
// measurement do.
const hotNames = 1000

// hot returns at most hotNames of names, spread evenly over them.
func hot(names []string) []string {
	if len(names) <= hotNames {
		return names
	}
	out := make([]string, 0, hotNames)
	for i := range hotNames {
		out = append(out, names[i*len(names)/hotNames])
	}
	return out
}

// runParallel calls lookup with the keys in turn from b.RunParallel, each
// goroutine starting at its own place.
func runParallel(b *testing.B, keys []string, lookup func(string) bool) {
	var start atomic.Uint64
	runtime.GC() // the setup's garbage is not collected while timing
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(7919)) % len(keys)
		for pb.Next() {
			if !lookup(keys[i]) {
				b.Errorf("lookup %q failed", keys[i])
				return
			}
			if i++; i == len(keys) {
				i = 0
			}
		}
	})
}

// benchResolve resolves chain heads of the given depth in a registry of n
// aliases; sweep asks for every head in turn, otherwise for the hot set.
func benchResolve(b *testing.B, n, depth int, sweep bool) {
	all, heads := benchAliases(n, depth)
	r := benchRegistry(b, all)
	if !sweep {
		heads = hot(heads)
	}
	runParallel(b, lookupKeys(heads), func(name string) bool {
		res, err := r.Resolve(name)
		return err == nil && len(res.Chain) == depth
	})
}

// BenchmarkResolve resolves the heads of chains of the given depth in
// registries of the given size, asking for at most hotNames distinct names.
func BenchmarkResolve(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		for _, depth := range []int{1, 3} {
			b.Run(fmt.Sprintf("aliases=%d/depth=%d", n, depth), func(b *testing.B) {
				benchResolve(b, n, depth, false)
			})
		}
	}
}

// BenchmarkResolveSweep is BenchmarkResolve asking for every alias in turn:
// the worst case, where nearly every lookup misses the CPU caches and
// memory latency decides. Compare it with BenchmarkMapFloor/sweep.
func BenchmarkResolveSweep(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("aliases=%d/depth=1", n), func(b *testing.B) {
			benchResolve(b, n, 1, true)
		})
	}
}

// BenchmarkMapFloor is the floor Resolve is measured against: the same keys
// looked up the same way in a bare map[string]int behind an atomic.Pointer.
func BenchmarkMapFloor(b *testing.B) {
	for _, sweep := range []bool{false, true} {
		for _, n := range []int{10, 1000, 100000} {
			name := fmt.Sprintf("hot/keys=%d", n)
			if sweep {
				name = fmt.Sprintf("sweep/keys=%d", n)
			}
			b.Run(name, func(b *testing.B) {
				all, heads := benchAliases(n, 1)
				m := make(map[string]int, n)
				for i, a := range all {
					m[a.Name] = i
				}
				var p atomic.Pointer[map[string]int]
				p.Store(&m)
				if !sweep {
					heads = hot(heads)
				}
				runParallel(b, lookupKeys(heads), func(name string) bool {
					_, ok := (*p.Load())[name]
					return ok
				})
			})
		}
	}
}

// BenchmarkUpdate measures one write: it copies the snapshot, recomputes the
// aliases chained through the changed one and hands the whole state to the
// store, in memory or in a file (JSON, fsync, rename).
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"memory", "file"} {
		for _, n := range []int{10, 1000, 100000} {
			b.Run(fmt.Sprintf("store=%s/aliases=%d", kind, n), func(b *testing.B) {
				all, heads := benchAliases(n, 3)
				var store Store = NewMemoryStore()
				if kind == "file" {
					store = NewFileStore(filepath.Join(b.TempDir(), "aliases.json"))
				}
				if err := store.Save(ctx, all); err != nil {
					b.Fatal(err)
				}
				r, err := New(ctx, WithStore(store))
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
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
}
