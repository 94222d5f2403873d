package access_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modelroute/modelroute/access"
)

// A key granted only an alias may use the alias, sees it listed, and is
// refused the group the alias resolves to — by the name it asked for.
func Example() {
	ctx := context.Background()
	c, err := access.New(ctx) // in-memory store
	if err != nil {
		panic(err)
	}
	defer c.Close()

	const (
		alias = "Qwen/Qwen3-Coder-480B-A35B-Instruct"          // registry alias …
		group = "Qwen/Qwen3-Coder-480B-A35B-Instruct-bfloat16" // … of this group
	)
	c.CreateTeam(ctx, access.Team{ID: "research", Models: []string{alias, "openai/*"}})
	c.CreateKey(ctx, access.Key{
		ID:        "9f86d081884c7d65", // the gateway stores a hash of the secret
		Name:      "ci-bot",
		TeamID:    "research",
		Models:    []string{alias},
		Aliases:   map[string]string{"coder": alias}, // the key's own alias
		MaxBudget: 1,
	})

	fmt.Println(c.Visible("9f86d081884c7d65", []string{alias, group, "openai/gpt-4o"}))
	fmt.Println(c.Authorize("9f86d081884c7d65", alias))
	fmt.Println(c.Authorize("9f86d081884c7d65", group))
	// The router resolves the key's own alias as the first step of the
	// request's one resolution, asking the Checker with the key in ctx.
	fmt.Println(c.CallerAlias(access.NewContext(ctx, "9f86d081884c7d65"), "coder"))

	c.RecordSpend("9f86d081884c7d65", 1.25)
	err = c.Authorize("9f86d081884c7d65", alias)
	fmt.Println(errors.Is(err, access.ErrBudgetExceeded), err)
	// Output:
	// [Qwen/Qwen3-Coder-480B-A35B-Instruct coder]
	// <nil>
	// access: key "ci-bot" may not use "Qwen/Qwen3-Coder-480B-A35B-Instruct-bfloat16"
	// Qwen/Qwen3-Coder-480B-A35B-Instruct true
	// true access: key "ci-bot": budget exceeded (spent 1.25 of 1 USD)
}

// Access groups: changing the members changes every holder's rights.
func ExampleChecker_AddGroupMembers() {
	ctx := context.Background()
	c, _ := access.New(ctx)
	c.CreateAccessGroup(ctx, access.AccessGroup{Name: "beta-models", Members: []string{"alias-1"}})
	c.CreateTeam(ctx, access.Team{ID: "t1", AccessGroups: []string{"beta-models"}})
	c.CreateKey(ctx, access.Key{ID: "k1", TeamID: "t1"}) // empty list: the team's rights

	names := []string{"alias-1", "alias-2", "model-group-1"}
	fmt.Println(c.Visible("k1", names))
	c.AddGroupMembers(ctx, "beta-models", "alias-2")
	fmt.Println(c.Visible("k1", names))
	c.RemoveName(ctx, "alias-1") // the alias was deleted from the registry
	fmt.Println(c.Visible("k1", names))
	teams, _ := c.WhoCanUse("alias-2")
	fmt.Println(teams)
	// Output:
	// [alias-1]
	// [alias-1 alias-2]
	// [alias-2]
	// [t1]
}

func ExampleUsage() {
	var u access.Usage // the zero Usage is ready; NewUsage adds a store
	u.Record(access.UsageRecord{Requested: "alias-1", Group: "model-group-1", Deployment: "dep-a", KeyID: "k1",
		PromptTokens: 120, CompletionTokens: 30, CostUSD: 0.002, Latency: 800 * time.Millisecond})
	u.Record(access.UsageRecord{Requested: "alias-1", Group: "model-group-1", Deployment: "dep-b", KeyID: "k1",
		PromptTokens: 80, CompletionTokens: 20, CostUSD: 0.001, Latency: 400 * time.Millisecond})
	u.Record(access.UsageRecord{Requested: "alias-1", Group: "model-group-1", Deployment: "dep-b", KeyID: "k1", Err: true})

	s := u.ByName("alias-1")
	fmt.Printf("total_calls=%d errors=%d total_cost_usd=%g avg_tokens_per_call=%g avg_latency=%v\n",
		s.Calls, s.Errors, s.CostUSD, s.AvgTokensPerCall, s.AvgLatency)
	fmt.Println(u.Lookup(access.PerDeployment, "dep-b").Calls)
	// Output:
	// total_calls=2 errors=1 total_cost_usd=0.003 avg_tokens_per_call=125 avg_latency=600ms
	// 1
}
