package redisstate

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelroute/modelroute/access"
)

// slidingAdmitScript counts one request in a sliding one-minute window
// (see access.Limiter and router.SharedState: the same semantics) when it
// fits the limits; Routing and KeyLimits both run it. KEYS: the request counters
// of the current and the previous minute, then the token counters of the
// current and the previous minute; ARGV: rpm limit, tpm limit (0: none),
// the tokens the request is taken to add to the tpm check, the previous
// minute's weight in 60000ths (access.SlidingMinute), the counters' TTL in
// ms. Counts are compared scaled by 60000, so exactly. It returns 0 when admitted (and counted), 1
// when over rpm, 2 when over tpm.
var slidingAdmitScript = redis.NewScript(`
local rpm, tpm, tok, w = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
local function count(i)
  return tonumber(v[i + 1] or '0') * w + tonumber(v[i] or '0') * 60000
end
if rpm > 0 and count(1) + 60000 > rpm * 60000 then
  return 1
end
if tpm > 0 and count(3) + tok * 60000 > tpm * 60000 then
  return 2
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return 0
`)

// KeyLimits is the access.Limiter of a Client: pass it to access.New with
// access.WithLimiter, and every replica's Checker counts a key's requests
// and tokens in the same sliding window, so that a key's rpm_limit and
// tpm_limit hold across the fleet.
//
// Keys: PREFIX:{key:ID}:rpm:MINUTE and PREFIX:{key:ID}:tpm:MINUTE count a
// key's requests and tokens in a Unix minute; they expire three minutes
// after they are made (the previous minute's count is read through the
// current one). Admission is one Lua script, so one round trip; tokens are
// queued and sent in pipelined batches off the request path.
//
// It also counts in this process (an access.MemoryLimiter), and while
// Redis is down it admits by that count alone: each replica then holds a
// key to its limit on its own, and the Client logs the outage once.
type KeyLimits struct {
	c     *Client
	local access.MemoryLimiter
}

var _ access.Limiter = (*KeyLimits)(nil)

// KeyLimits returns the access.Limiter over c.
func (c *Client) KeyLimits() *KeyLimits { return &KeyLimits{c: c} }

func (l *KeyLimits) counterKey(id, what string, minute int64) string {
	return l.c.prefix + ":{key:" + id + "}:" + what + ":" + strconv.FormatInt(minute, 10)
}

// Admit implements access.Limiter in one round trip.
func (l *KeyLimits) Admit(ctx context.Context, keyID string, now time.Time, rpm, tpm int64) (access.Admission, error) {
	if l.c.down.Load() {
		return l.local.Admit(ctx, keyID, now, rpm, tpm)
	}
	minute, w := access.SlidingMinute(now.UnixNano())
	n, err := slidingAdmitScript.Run(ctx, l.c.rdb, []string{
		l.counterKey(keyID, "rpm", minute), l.counterKey(keyID, "rpm", minute-1),
		l.counterKey(keyID, "tpm", minute), l.counterKey(keyID, "tpm", minute-1),
	}, rpm, tpm, 1, w, counterTTL.Milliseconds()).Int()
	if l.c.check(err) != nil {
		return l.local.Admit(ctx, keyID, now, rpm, tpm)
	}
	a := access.Admission(n)
	if a == access.Admitted {
		l.local.Admit(ctx, keyID, now, 0, 0) // this replica's share, for an outage
	}
	return a, nil
}

// AddTokens implements access.Limiter: the count is queued and sent with
// the next batch.
func (l *KeyLimits) AddTokens(keyID string, now time.Time, tokens int64) {
	l.local.AddTokens(keyID, now, tokens)
	minute, _ := access.SlidingMinute(now.UnixNano())
	l.c.queueTokens(l.counterKey(keyID, "tpm", minute), tokens)
}
