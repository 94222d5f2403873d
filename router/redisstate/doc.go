// Package redisstate lets several replicas of a modelroute service (gateway
// processes behind one load balancer) share their state through Redis, on
// github.com/redis/go-redis/v9. It implements the small interfaces the
// owning packages define, whose in-memory implementations stay the
// default; nothing in the core imports this package or go-redis.
//
//	c, err := redisstate.NewURL("redis://127.0.0.1:6379")
//	…
//	defer c.Close()
//	aliases := c.AliasStore()
//	reg, err := alias.New(ctx, alias.WithStore(aliases))   // the shared registry
//	defer aliases.FollowAliases(reg)()                      // see the others' writes within milliseconds
//	r, err := router.New(reg, cfg, router.WithSharedState(c.Routing()))
//
// # What is shared
//
//   - Cooldowns (Routing, a router.SharedState): a deployment that cools
//     down on one replica cools down on all of them until the same moment;
//     a replica that starts, or reconnects after an outage, reads the
//     cooldowns in force.
//   - rpm and tpm limits of deployments (Routing): counted per deployment
//     in a sliding window of one minute over Unix minutes, the same on
//     every replica: the previous minute's count weighed by the part of it
//     still in the window, plus the current minute's (a limit of N rpm
//     admits N requests in any minute across the fleet, with no burst of
//     2N at the turn of a minute). Admission is one Lua script, so
//     one round trip, made only for deployments that have a limit; token
//     counts are added after the answer, queued and sent in pipelined
//     batches off the request path, so a tpm limit can be passed by the
//     answers in flight when it is reached.
//   - rpm_limit and tpm_limit of keys (KeyLimits, an access.Limiter):
//     counted per key in the same sliding window (see access.Limiter), by
//     the same Lua script, one per request of a key with a limit, tokens
//     queued and batched as above. While Redis is down each replica holds
//     a key to its limit by its own count.
//   - The alias registry (AliasStore, an alias.RowStore, with
//     FollowAliases): aliases live in a Redis hash; a write on one replica
//     is announced on a pub/sub channel and every other replica reloads
//     its Registry (alias.Registry.Reload), well within a second.
//   - Keys, teams, organizations, access groups and spend (AccessStore, an
//     access.RowStore, with FollowAccess): definitions live in Redis
//     hashes and a change reloads every other replica's Checker
//     (access.Checker.Reload); spend arrives as deltas (Checker.Flush),
//     is added in Redis and announced, and every other replica adds it to
//     its budgets at once (access.Checker.AddFlushedSpend). The gateway
//     flushes as soon as spend is recorded (access.WithSpendHook), so a
//     budget is overspent by at most the requests in flight when it is
//     reached, on each replica, plus those authorized during the round
//     trip that announces the spend.
//   - Usage counters (UsageStore, an access.UsageRowStore, with
//     FollowUsage): each replica adds what it counted since its last save
//     (access.Usage.Save) to Redis hashes and announces it; the others add
//     it to their counters (access.Usage.AddSavedUsage), so every replica
//     shows the fleet's usage.
//
// # Outages
//
// A Client notices a failed call and then fails fast (ErrUnavailable, no
// round trip) while it pings Redis every 200 ms. Meanwhile each replica
// routes from its own state: the Router admits by its own rpm/tpm
// counters and keeps its own cooldowns, so requests that state can serve
// are served (the Router logs one warning per outage); queued token counts
// and cooldown announcements are dropped; alias and access writes fail
// (the Registry or Checker refuses the write and keeps its state; spend
// waits for the next flush) while resolving and authorizing go on from
// memory. When Redis answers again the subscription is remade and every
// replica catches up: it reads the cooldowns in force and reloads the
// registry and the Checker.
//
// Aliases, keys and spend live in Redis: run it with persistence (appendonly yes), or a
// restart of Redis empties the registry of every replica.
//
// # Keys
//
// Every key and the channel start with a prefix (WithPrefix, default
// "modelroute"): PREFIX:{ID}:rpm:MINUTE and PREFIX:{ID}:tpm:MINUTE,
// PREFIX:{key:ID}:rpm:MINUTE and PREFIX:{key:ID}:tpm:MINUTE,
// PREFIX:cooldowns, PREFIX:aliases, PREFIX:access:key, :team, :org,
// :group, :spend and :reset, PREFIX:usage:DIMENSION:FIELD, and the channel
// PREFIX:events.
//
// # Lifecycle and concurrency
//
// New (or NewURL) → use → Close. A Client runs three goroutines (the
// subscription, the health check, the batch writer) until Close, which
// sends what is queued and closes the connections. Everything is safe for
// concurrent use. Notification handlers run on the subscription's
// goroutine, one at a time.
package redisstate
