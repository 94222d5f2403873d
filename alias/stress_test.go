package alias

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestStress resolves in a loop while other goroutines create, re-point,
// disable and delete aliases. Run it with -race. Readers check that:
//   - aliases that exist throughout always resolve, to the right target;
//   - every resolution is one the registry held as a whole: a chain and its
//     target always belong to the same write, never half of one.
func TestStress(t *testing.T) {
	ctx := context.Background()
	const (
		stable  = 20  // s-0 … s-19 → g-(i%10); never written
		churn   = 30  // tmp-w-0 … per churn writer
		rounds  = 300 // per writer
		readers = 4
	)
	known := []string{"g-A", "g-R", "g-1"}
	for i := range 10 {
		known = append(known, fmt.Sprintf("g-%d", i))
	}
	check := newGroups(known...)
	r := newTestRegistry(t)
	for i := range stable {
		mustCreate(t, r, Alias{Name: fmt.Sprintf("s-%d", i), Target: fmt.Sprintf("g-%d", i%10)})
	}
	// p → q, and q flips between g-A and r → g-R.
	mustCreate(t, r,
		Alias{Name: "r", Target: "g-R"},
		Alias{Name: "q", Target: "g-A"},
		Alias{Name: "p", Target: "q"},
		Alias{Name: "d", Target: "g-1"}, // flips between disabled and enabled
		Alias{Name: "e", Target: "d"},
	)
	if err := r.SetTargetCheck(check); err != nil {
		t.Fatal(err)
	}

	var done atomic.Bool
	var failed atomic.Int64
	fail := func(format string, args ...any) {
		if failed.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	var writers, readersWG sync.WaitGroup

	// Churn writers: create tmp aliases pointing at stable ones, re-point
	// them, delete them.
	for w := range 2 {
		writers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range rounds {
				name := fmt.Sprintf("tmp-%d-%d", w, rng.IntN(churn))
				target := fmt.Sprintf("s-%d", rng.IntN(stable))
				var err error
				switch rng.IntN(3) {
				case 0:
					_, err = r.Create(ctx, Alias{Name: name, Target: target})
					if errors.Is(err, ErrExists) {
						err = nil
					}
				case 1:
					_, err = r.Update(ctx, name, Update{Target: &target})
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
				case 2:
					_, err = r.Delete(ctx, name)
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
				}
				if err != nil {
					fail("churn write %s: %v", name, err)
				}
			}
		})
	}
	// Pair and toggle writer.
	writers.Go(func() {
		for i := range rounds {
			target := "g-A"
			if i%2 == 0 {
				target = "r"
			}
			if _, err := r.Update(ctx, "q", Update{Target: &target}); err != nil {
				fail("re-point q: %v", err)
			}
			if _, err := r.Update(ctx, "d", Update{Disabled: ptr(i%2 == 0)}); err != nil {
				fail("toggle d: %v", err)
			}
		}
	})

	var resolves atomic.Int64
	for g := range readers {
		readersWG.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			n := 0
			for !done.Load() {
				n++
				// A stable alias always resolves, to its own target.
				i := rng.IntN(stable)
				res, err := r.Resolve(fmt.Sprintf("s-%d", i))
				if err != nil || res.Target != fmt.Sprintf("g-%d", i%10) || len(res.Chain) != 1 {
					fail("Resolve(s-%d) = %+v, %v", i, res, err)
				}
				// p resolves through the old or the new q, never a mix.
				res, err = r.Resolve("p")
				switch {
				case err != nil:
					fail("Resolve(p): %v", err)
				case slices.Equal(res.Chain, []string{"p", "q"}) && res.Target == "g-A":
				case slices.Equal(res.Chain, []string{"p", "q", "r"}) && res.Target == "g-R":
				default:
					fail("Resolve(p) = %+v: half-applied write", res)
				}
				// e is disabled exactly when d is.
				res, err = r.Resolve("e")
				if !errors.Is(err, ErrDisabled) && (err != nil || !slices.Equal(res.Chain, []string{"e", "d"}) || res.Target != "g-1") {
					fail("Resolve(e) = %+v, %v", res, err)
				}
				// A churned alias is gone or resolves through a stable one.
				name := fmt.Sprintf("tmp-%d-%d", rng.IntN(2), rng.IntN(churn))
				res, err = r.Resolve(name)
				if err == nil {
					var k int
					if len(res.Chain) != 2 || res.Chain[0] != name {
						fail("Resolve(%s) = %+v", name, res)
					} else if _, serr := fmt.Sscanf(res.Chain[1], "s-%d", &k); serr != nil || res.Target != fmt.Sprintf("g-%d", k%10) {
						fail("Resolve(%s) = %+v: chain and target from different writes", name, res)
					}
				} else if !errors.Is(err, ErrNotFound) {
					fail("Resolve(%s): %v", name, err)
				}
				// A listing is one state: q and what p resolves to agree.
				if n%50 == 0 {
					all := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})
					for _, a := range all {
						if a.Name == "q" && a.Target != "g-A" && a.Target != "r" {
							fail("List shows q → %s", a.Target)
						}
					}
				}
			}
			resolves.Add(int64(n))
		})
	}

	writers.Wait()
	done.Store(true)
	readersWG.Wait()
	t.Logf("%d reader rounds during %d writes", resolves.Load(), 4*rounds)
}
