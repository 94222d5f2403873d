package redisstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelroute/modelroute/access"
)

const kindUsage = "usage" // notification: counts another replica saved

// usageFields are the counters of access.Stats kept per name, in nano-USD
// for the cost.
var usageFields = []string{"calls", "errors", "prompt", "completion", "cost_nanos", "latency_ns"}

// UsageStore is an access.UsageRowStore in Redis that several Usages (one
// per replica) share: the hash PREFIX:usage:DIMENSION:FIELD maps each
// name (requested name, group, deployment, key or team) to one counter.
// AddUsage adds what a replica counted since its last save and announces
// it, in one transaction; FollowUsage adds the other replicas' counts to a
// Usage as they are announced, so that each replica shows the fleet's
// usage.
type UsageStore struct{ c *Client }

var _ access.UsageRowStore = (*UsageStore)(nil)

// UsageStore returns the access.UsageRowStore over c.
func (c *Client) UsageStore() *UsageStore { return &UsageStore{c: c} }

func (s *UsageStore) hash(d access.Dimension, field string) string {
	return s.c.key("usage", d.String(), field)
}

// dimensions are the tables of a snapshot, by dimension.
func dimensions(u *access.UsageSnapshot) []struct {
	d access.Dimension
	m *map[string]access.Stats
} {
	return []struct {
		d access.Dimension
		m *map[string]access.Stats
	}{
		{access.PerName, &u.Names}, {access.PerGroup, &u.Groups}, {access.PerDeployment, &u.Deployments},
		{access.PerKey, &u.Keys}, {access.PerTeam, &u.Teams},
	}
}

func values(st access.Stats) []int64 {
	return []int64{st.Calls, st.Errors, st.PromptTokens, st.CompletionTokens, int64(st.CostUSD*1e9 + 0.5), int64(st.Latency)}
}

// Load implements access.UsageStore, in one round trip.
func (s *UsageStore) Load(ctx context.Context) (access.UsageSnapshot, error) {
	var snap access.UsageSnapshot
	if s.c.down.Load() {
		return snap, fmt.Errorf("redisstate: load usage: %w", ErrUnavailable)
	}
	dims := dimensions(&snap)
	cmds := make([][]*redis.MapStringStringCmd, len(dims))
	_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, dm := range dims {
			for _, f := range usageFields {
				cmds[i] = append(cmds[i], p.HGetAll(ctx, s.hash(dm.d, f)))
			}
		}
		return nil
	})
	if err := s.c.check(err); err != nil {
		return snap, fmt.Errorf("redisstate: load usage: %w", err)
	}
	for i, dm := range dims {
		for j, cmd := range cmds[i] {
			for name, v := range cmd.Val() {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return access.UsageSnapshot{}, fmt.Errorf("redisstate: load usage: %s %q %s: %w", dm.d, name, usageFields[j], err)
				}
				if *dm.m == nil {
					*dm.m = map[string]access.Stats{}
				}
				st := (*dm.m)[name]
				switch j {
				case 0:
					st.Calls = n
				case 1:
					st.Errors = n
				case 2:
					st.PromptTokens = n
				case 3:
					st.CompletionTokens = n
				case 4:
					st.CostUSD = float64(n) / 1e9
				case 5:
					st.Latency = time.Duration(n)
				}
				(*dm.m)[name] = st
			}
		}
	}
	return snap, nil
}

// Save implements access.UsageStore: it replaces every counter.
func (s *UsageStore) Save(ctx context.Context, snap access.UsageSnapshot) error {
	if s.c.down.Load() {
		return fmt.Errorf("redisstate: save usage: %w", ErrUnavailable)
	}
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, dm := range dimensions(&snap) {
			for _, f := range usageFields {
				p.Del(ctx, s.hash(dm.d, f))
			}
			for name, st := range *dm.m {
				for j, v := range values(st) {
					if v != 0 {
						p.HSet(ctx, s.hash(dm.d, usageFields[j]), name, v)
					}
				}
			}
		}
		return nil
	})
	if err := s.c.check(err); err != nil {
		return fmt.Errorf("redisstate: save usage: %w", err)
	}
	return nil
}

// AddUsage implements access.UsageRowStore.
func (s *UsageStore) AddUsage(ctx context.Context, delta access.UsageSnapshot) error {
	if s.c.down.Load() {
		return fmt.Errorf("redisstate: save usage: %w", ErrUnavailable)
	}
	msg, err := json.Marshal(delta)
	if err != nil {
		return fmt.Errorf("redisstate: save usage: %w", err)
	}
	_, err = s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, dm := range dimensions(&delta) {
			for name, st := range *dm.m {
				for j, v := range values(st) {
					if v != 0 {
						p.HIncrBy(ctx, s.hash(dm.d, usageFields[j]), name, v)
					}
				}
			}
		}
		p.Publish(ctx, s.c.channel, s.c.notification(kindUsage, string(msg)))
		return nil
	})
	if err := s.c.check(err); err != nil {
		return fmt.Errorf("redisstate: save usage: %w", err)
	}
	return nil
}

// FollowUsage adds the counts other replicas save to u (which must use
// this store) as they are announced. Counts announced while this replica
// was cut off from Redis are not added (a restart loads them). Cancel
// stops it.
func (s *UsageStore) FollowUsage(u *access.Usage) (cancel func()) {
	return s.c.on(kindUsage, func(data string) {
		var delta access.UsageSnapshot
		if err := json.Unmarshal([]byte(data), &delta); err != nil {
			s.c.log.Warn("redisstate: usage announcement", "err", err)
			return
		}
		u.AddSavedUsage(delta)
	})
}
