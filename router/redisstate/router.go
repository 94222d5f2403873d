package redisstate

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/router"
)

// Notification kinds.
const (
	kindCooldown = "cooldown"
	kindAliases  = "aliases"
	kindAccess   = "access"
)

// cooldownScript records a cooldown end (Unix ms) for a deployment unless a
// later one is recorded. KEYS: the cooldowns hash; ARGV: ID, end.
const cooldownScript = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`

// Routing is the router.SharedState of a Client: pass it to router.New
// with router.WithSharedState.
//
// Limits count in a sliding window of one minute (see router.SharedState).
// Keys: PREFIX:{ID}:rpm:MINUTE and PREFIX:{ID}:tpm:MINUTE count a
// deployment's requests and tokens in a Unix minute (the ID in braces keeps
// them on one Redis Cluster slot) and expire three minutes after they are
// made (the previous minute's count is read through the current one); the hash
// PREFIX:cooldowns maps deployment IDs to cooldown ends in Unix
// milliseconds, and each new cooldown is announced on PREFIX:events.
type Routing struct{ c *Client }

var _ router.SharedState = (*Routing)(nil)

// Routing returns the router.SharedState over c.
func (c *Client) Routing() *Routing { return &Routing{c: c} }

func (r *Routing) counterKey(id, what string, minute int64) string {
	return r.c.prefix + ":{" + id + "}:" + what + ":" + strconv.FormatInt(minute, 10)
}

// Admit implements router.SharedState in one round trip (a Lua script,
// the one KeyLimits runs).
// While Redis is down it returns ErrUnavailable at once.
func (r *Routing) Admit(ctx context.Context, id string, now time.Time, rpm, tpm, tokens int) (bool, error) {
	if r.c.down.Load() {
		return false, ErrUnavailable
	}
	minute, w := access.SlidingMinute(now.UnixNano())
	n, err := slidingAdmitScript.Run(ctx, r.c.rdb, []string{
		r.counterKey(id, "rpm", minute), r.counterKey(id, "rpm", minute-1),
		r.counterKey(id, "tpm", minute), r.counterKey(id, "tpm", minute-1),
	}, rpm, tpm, tokens, w, counterTTL.Milliseconds()).Int()
	if err := r.c.check(err); err != nil {
		return false, err
	}
	return n == 0, nil
}

// AddTokens implements router.SharedState: the count is queued and sent
// with the next batch.
func (r *Routing) AddTokens(id string, now time.Time, tokens int) {
	minute, _ := access.SlidingMinute(now.UnixNano())
	r.c.queueTokens(r.counterKey(id, "tpm", minute), int64(tokens))
}

// Cooldown implements router.SharedState: the cooldown is queued, then
// recorded and announced with the next batch.
func (r *Routing) Cooldown(id string, until time.Time) {
	q := &r.c.queue
	q.mu.Lock()
	q.cools = append(q.cools, cooldown{id, until})
	q.mu.Unlock()
	q.signal()
}

// WatchCooldowns implements router.SharedState. The cooldowns in force are
// read when it is called and again whenever the subscription is remade
// after an outage (announcements may have been missed meanwhile).
func (r *Routing) WatchCooldowns(fn func(id string, until time.Time)) (cancel func()) {
	c := r.c
	stop1 := c.on(kindCooldown, func(data string) {
		ms, id, ok := cutInt(data)
		if ok {
			fn(id, time.UnixMilli(ms))
		}
	})
	sync := func(ctx context.Context) { r.syncCooldowns(ctx, fn) }
	stop2 := c.onResync(sync)
	ctx, done := context.WithTimeout(c.ctx, DefaultTimeout)
	sync(ctx)
	done()
	return func() { stop1(); stop2() }
}

// syncCooldowns passes every cooldown in force to fn, and drops the ended
// ones from the hash.
func (r *Routing) syncCooldowns(ctx context.Context, fn func(string, time.Time)) {
	c := r.c
	if c.down.Load() {
		return
	}
	h := c.key("cooldowns")
	all, err := c.rdb.HGetAll(ctx, h).Result()
	if c.check(err) != nil {
		return
	}
	now := time.Now().UnixMilli()
	var ended []string
	for id, v := range all {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= now {
			ended = append(ended, id)
			continue
		}
		fn(id, time.UnixMilli(ms))
	}
	if len(ended) > 0 {
		c.check(c.rdb.HDel(ctx, h, ended...).Err())
	}
}

// cutInt splits "123 rest" into 123 and "rest".
func cutInt(s string) (int64, string, bool) {
	a, b, ok := strings.Cut(s, " ")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, b, err == nil
}
