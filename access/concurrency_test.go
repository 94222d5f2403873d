package access

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentReadsAndWrites: readers never see a torn state while
// writers change teams, access groups, keys and key aliases, and record
// spend. Run with -race.
func TestConcurrentReadsAndWrites(t *testing.T) {
	ctx := context.Background()
	c := newChecker(t, WithTargetGrantsImplyAliases(true))
	mustGroup(t, c, AccessGroup{Name: "g", Members: []string{"stable"}})
	mustTeam(t, c, Team{ID: "t", AccessGroups: []string{"g"}, Models: []string{"stable-2"}})
	mustKey(t, c, Key{ID: "k", TeamID: "t", Models: []string{"g", "stable-2", "flip"}, MaxBudget: 1e6})

	kctx := NewContext(ctx, "k")
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				// Always granted, whatever the writers do.
				for _, n := range []string{"stable", "stable-2"} {
					if err := c.Authorize("k", n); err != nil {
						errs <- fmt.Errorf("Authorize(%q) = %v", n, err)
						return
					}
				}
				if err := c.Authorize("k", "flip"); err != nil && !errors.Is(err, ErrDenied) {
					errs <- fmt.Errorf("Authorize(flip) = %v", err)
					return
				}
				if err := c.Allow(kctx, "alias-of-flip", []string{"flip"}); err != nil && !errors.Is(err, ErrDenied) {
					errs <- fmt.Errorf("Allow(alias-of-flip) = %v", err)
					return
				}
				v := c.Visible("k", []string{"stable", "stable-2", "flip"})
				if len(v) < 2 || v[0] != "stable" || v[1] != "stable-2" {
					errs <- fmt.Errorf("Visible = %q", v)
					return
				}
				_ = c.RecordSpend("k", 1e-6)
				_, _ = c.WhoCanUse("flip")
			}
		})
	}
	for i := range 200 {
		var err error
		switch i % 5 {
		case 0:
			_, err = c.AddGroupMembers(ctx, "g", "flip")
		case 1:
			_, err = c.RemoveGroupMembers(ctx, "g", "flip")
		case 2:
			_, err = c.UpdateTeam(ctx, Team{ID: "t", AccessGroups: []string{"g"}, Models: []string{"stable-2", fmt.Sprint("x", i)}})
		case 3:
			_, err = c.CreateKey(ctx, Key{ID: fmt.Sprint("other-", i), TeamID: "t"})
		case 4:
			_, err = c.UpdateKey(ctx, Key{ID: "k", TeamID: "t", Models: []string{"g", "stable-2", "flip"}, MaxBudget: 1e6, Aliases: map[string]string{fmt.Sprint("mine-", i): "flip"}})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if k, _ := c.GetKey("k"); k.Spend <= 0 {
		t.Errorf("spend = %v, want > 0", k.Spend)
	}
}
