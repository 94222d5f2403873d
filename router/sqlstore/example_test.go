package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/sqlstore/sqlite"
)

// The alias Registry and the access Checker keep their state in one SQLite
// file; a restart finds it there.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlstore-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.db")

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	reg, _ := alias.New(ctx, alias.WithStore(db.Aliases()))
	checker, _ := access.New(ctx, access.WithStore(db.Access()))
	reg.Create(ctx, alias.Alias{Name: "smart", Target: "gpt-4o-group"})
	checker.CreateKey(ctx, access.Key{ID: "key-1", Models: []string{"smart"}, MaxBudget: 10, BudgetDuration: 30 * 24 * time.Hour})
	checker.RecordSpend("key-1", 0.25)
	reg.Close()
	checker.Close() // flushes the spend
	db.Close()

	// A restart.
	db, _ = sqlite.Open(ctx, path)
	defer db.Close()
	reg, _ = alias.New(ctx, alias.WithStore(db.Aliases()))
	defer reg.Close()
	checker, _ = access.New(ctx, access.WithStore(db.Access()))
	defer checker.Close()
	r, _ := reg.Resolve("smart")
	k, _ := checker.GetKey("key-1")
	fmt.Println("smart →", r.Target)
	fmt.Println("key-1 spent", k.Spend, "USD of", k.MaxBudget, "this period; allowed:", checker.Authorize("key-1", "smart") == nil)
	// Output:
	// smart → gpt-4o-group
	// key-1 spent 0.25 USD of 10 this period; allowed: true
}
