package redisstate

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// writeQueue holds the writes that must not block their caller (token
// counts, cooldowns), until the flush loop sends them in one
// pipeline. Token counts for the same key are summed.
type writeQueue struct {
	mu     sync.Mutex // protects the fields below
	tokens map[string]int64
	cools  []cooldown
	wake   chan struct{} // cap 1: there is something to send
}

type cooldown struct {
	id    string
	until time.Time
}

// counterTTL keeps a minute's counter through the next minute (a sliding
// window reads the previous minute's count), with a minute to spare for
// replicas whose clocks differ.
const counterTTL = 3 * time.Minute

func (q *writeQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// queueTokens adds n to the token counter k with the next batch.
func (c *Client) queueTokens(k string, n int64) {
	q := &c.queue
	q.mu.Lock()
	if q.tokens == nil {
		q.tokens = map[string]int64{}
	}
	q.tokens[k] += n
	q.mu.Unlock()
	q.signal()
}

// take empties the queue.
func (q *writeQueue) take() (tokens map[string]int64, cools []cooldown) {
	q.mu.Lock()
	defer q.mu.Unlock()
	tokens, cools = q.tokens, q.cools
	q.tokens, q.cools = nil, nil
	return tokens, cools
}

// flushLoop sends queued writes as they come, until Close; then once more.
func (c *Client) flushLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c.flush(ctx)
			cancel()
			return
		case <-c.queue.wake:
			c.flush(c.ctx)
		}
	}
}

// flush sends everything queued in one pipeline. While Redis is down the
// writes are dropped: each replica then counts on its own (see the package
// doc).
func (c *Client) flush(ctx context.Context) {
	tokens, cools := c.queue.take()
	if len(tokens)+len(cools) == 0 || c.down.Load() {
		return
	}
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, n := range tokens {
			p.IncrBy(ctx, k, n)
			p.PExpire(ctx, k, counterTTL)
		}
		if len(cools) > 0 {
			h := c.key("cooldowns")
			for _, cd := range cools {
				ms := strconv.FormatInt(cd.until.UnixMilli(), 10)
				p.Eval(ctx, cooldownScript, []string{h}, cd.id, ms)
				p.Publish(ctx, c.channel, c.notification(kindCooldown, ms+" "+cd.id))
			}
		}
		return nil
	})
	c.check(err)
}
