package redisstate_test

import (
	"context"
	"log"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/redisstate"
)

// One replica of a fleet: the alias registry, the access Checker and the
// Router's cooldowns and limits live in the Redis every replica shares.
// (Not run: it needs a Redis.)
func Example() {
	ctx := context.Background()
	c, err := redisstate.NewURL("redis://127.0.0.1:6379")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	aliases := c.AliasStore()
	reg, err := alias.New(ctx, alias.WithStore(aliases))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	defer aliases.FollowAliases(reg)() // see the other replicas' writes

	accessStore := c.AccessStore()
	checker, err := access.New(ctx, access.WithStore(accessStore))
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	defer accessStore.FollowAccess(checker)()

	r, err := router.New(reg, router.Config{Deployments: []router.Deployment{
		{Group: "chat", Model: "openai/gpt-4o-mini", Provider: providertest.NewFake(), RPM: 600},
	}}, router.WithSharedState(c.Routing())) // 600 rpm across the fleet
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
}
