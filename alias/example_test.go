package alias_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelroute/modelroute/alias"
)

// Create aliases, resolve a chain, re-point and disable an alias.
func Example() {
	ctx := context.Background()
	reg, err := alias.New(ctx)
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	reg.Create(ctx, alias.Alias{Name: "smart", Target: "gpt-4o-group"})
	reg.Create(ctx, alias.Alias{Name: "default", Target: "smart"})

	res, _ := reg.Resolve("default")
	fmt.Println(res.Chain, "→", res.Target)

	// Re-pointing smart changes what default resolves to.
	claude := "claude-group"
	reg.Update(ctx, "smart", alias.Update{Target: &claude})
	res, _ = reg.Resolve("default")
	fmt.Println(res.Chain, "→", res.Target)

	// A name that is not an alias resolves to itself.
	res, _ = reg.Resolve("gpt-4o-group")
	fmt.Println(res.IsAlias(), res.Target)

	// Disabling smart disables everything chained through it; the error
	// names only the requested name.
	off := true
	reg.Update(ctx, "smart", alias.Update{Disabled: &off})
	_, err = reg.Resolve("default")
	fmt.Println(err, errors.Is(err, alias.ErrDisabled))

	// Cycles are refused when written.
	_, err = reg.Create(ctx, alias.Alias{Name: "claude-group", Target: "default"})
	fmt.Println(err)

	// Output:
	// [default smart] → gpt-4o-group
	// [default smart] → claude-group
	// false gpt-4o-group
	// alias: "default": disabled true
	// alias: create "claude-group": would create a cycle: claude-group → default → smart → claude-group
}

// Two admins edit the same alias; the one holding a stale revision is refused.
func ExampleRegistry_Update() {
	ctx := context.Background()
	reg, _ := alias.New(ctx)
	defer reg.Close()

	a, _ := reg.Create(ctx, alias.Alias{Name: "smart", Target: "gpt-4o-group"})

	first, second := "Best model", "Our best model"
	_, err := reg.Update(ctx, "smart", alias.Update{Description: &first, IfRevision: a.Revision})
	fmt.Println(err)
	_, err = reg.Update(ctx, "smart", alias.Update{Description: &second, IfRevision: a.Revision})
	fmt.Println(err, errors.Is(err, alias.ErrConflict))

	// Output:
	// <nil>
	// alias: update "smart": revision is 2, not 1 true
}

// Keep the registry in a JSON file that survives restarts.
func ExampleNewFileStore() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "aliases")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "aliases.json")

	reg, err := alias.New(ctx, alias.WithStore(alias.NewFileStore(path)))
	if err != nil {
		panic(err) // the file exists but cannot be read or is invalid
	}
	reg.Create(ctx, alias.Alias{Name: "smart", Target: "gpt-4o-group"})
	reg.Close()

	again, _ := alias.New(ctx, alias.WithStore(alias.NewFileStore(path)))
	defer again.Close()
	res, _ := again.Resolve("smart")
	fmt.Println(res.Target)

	// Output:
	// gpt-4o-group
}

// groupSet is what a router plugs in: it knows its model groups.
type groupSet map[string]bool

func (g groupSet) CheckAlias(name, target string) error {
	if g[name] {
		return fmt.Errorf("%q is a model group", name)
	}
	if !g[target] {
		return fmt.Errorf("no model group %q", target)
	}
	return nil
}

func (g groupSet) Known(name string) bool { return g[name] }

// The router vets aliases against its model groups.
func ExampleRegistry_SetTargetCheck() {
	ctx := context.Background()
	reg, _ := alias.New(ctx)
	defer reg.Close()
	reg.SetTargetCheck(groupSet{"gpt-4o-group": true, "claude-group": true})

	_, err := reg.Create(ctx, alias.Alias{Name: "smart", Target: "gpt-4o-grup"})
	fmt.Println(err)
	_, err = reg.Create(ctx, alias.Alias{Name: "claude-group", Target: "gpt-4o-group"})
	fmt.Println(err)

	// Names the router does not know no longer resolve to themselves.
	_, err = reg.Resolve("llama-group")
	fmt.Println(err)

	// Output:
	// alias: create "smart": target "gpt-4o-grup" refused: no model group "gpt-4o-grup"
	// alias: create "claude-group": target "gpt-4o-group" refused: "claude-group" is a model group
	// alias: "llama-group": not found
}

// Watch changes as they happen.
func ExampleRegistry_Subscribe() {
	ctx := context.Background()
	reg, _ := alias.New(ctx)
	defer reg.Close()

	events := make(chan alias.Event, 10)
	cancel := reg.Subscribe(func(e alias.Event) { events <- e })
	defer cancel()

	reg.Create(ctx, alias.Alias{Name: "smart", Target: "gpt-4o-group"})
	target := "claude-group"
	reg.Update(ctx, "smart", alias.Update{Target: &target})
	reg.Delete(ctx, "smart")

	for range 3 {
		e := <-events
		fmt.Println(e.Kind, e.Old.Target, "→", e.New.Target)
	}

	// Output:
	// created  → gpt-4o-group
	// updated gpt-4o-group → claude-group
	// deleted claude-group →
}
