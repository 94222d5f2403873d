package redisstate

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelroute/modelroute/access"
)

// Kinds of principal, in keys and hash fields.
const (
	kindKey   = "key"
	kindTeam  = "team"
	kindOrg   = "org"
	kindGroup = "group"
	kindSpend = "spend" // notification: spend another replica flushed
)

// spendScript applies one access.SpendDelta. KEYS: the spend hash, the
// reset-time hash, the principal's definitions hash; ARGV: the spend field,
// the principal's ID, nanos, reset time in Unix nanoseconds (0: none).
var spendScript = `
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then return 0 end
local f, n, r = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = tonumber(redis.call('HGET', KEYS[2], f) or '0')
if r == 0 then
  redis.call('HINCRBY', KEYS[1], f, n)
  redis.call('HDEL', KEYS[2], f)
elseif r == cur then
  redis.call('HINCRBY', KEYS[1], f, n)
elseif r > cur then
  redis.call('HSET', KEYS[1], f, n)
  redis.call('HSET', KEYS[2], f, r)
end
return 1
`

// AccessStore is an access.RowStore in Redis that several Checkers (one
// per replica) share: the hashes PREFIX:access:key, :team, :org and :group
// map IDs and names to their definitions as JSON, and PREFIX:access:spend
// and :reset hold each principal's spend in nano-USD and the end of its
// budget period ("key:ID", "team:ID", "org:ID"). Apply writes the rows a
// write changes and adds spend as deltas, in one transaction, and announces
// it on PREFIX:events: a change of definitions, or the spend deltas
// themselves, so that the other replicas count every replica's spend
// without reloading (FollowAccess).
//
// While Redis is unreachable, writes and flushes fail (the Checker keeps
// its state, and its unflushed spend for the next flush); Authorize goes on
// from memory.
type AccessStore struct{ c *Client }

var _ access.RowStore = (*AccessStore)(nil)

// AccessStore returns the access.RowStore over c.
func (c *Client) AccessStore() *AccessStore { return &AccessStore{c: c} }

func (s *AccessStore) hash(kind string) string { return s.c.key("access", kind) }

// Load implements access.Store, in one round trip.
func (s *AccessStore) Load(ctx context.Context) (access.State, error) {
	var st access.State
	if s.c.down.Load() {
		return st, fmt.Errorf("redisstate: load access: %w", ErrUnavailable)
	}
	kinds := []string{kindKey, kindTeam, kindOrg, kindGroup, "spend", "reset"}
	cmds := make([]*redis.MapStringStringCmd, len(kinds))
	_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range kinds {
			cmds[i] = p.HGetAll(ctx, s.hash(k))
		}
		return nil
	})
	if err := s.c.check(err); err != nil {
		return st, fmt.Errorf("redisstate: load access: %w", err)
	}
	spend, reset := cmds[4].Val(), cmds[5].Val()
	money := func(kind, id string) (float64, time.Time, error) {
		f := kind + ":" + id
		var usd float64
		if v, ok := spend[f]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, time.Time{}, fmt.Errorf("redisstate: load access: spend of %s: %w", f, err)
			}
			usd = float64(n) / 1e9
		}
		var at time.Time
		if v, ok := reset[f]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, time.Time{}, fmt.Errorf("redisstate: load access: reset time of %s: %w", f, err)
			}
			if n != 0 {
				at = time.Unix(0, n).UTC()
			}
		}
		return usd, at, nil
	}
	if err := decodeAll(cmds[0].Val(), kindKey, &st.Keys, func(k *access.Key) (err error) {
		k.Spend, k.BudgetResetAt, err = money(kindKey, k.ID)
		return err
	}); err != nil {
		return access.State{}, err
	}
	if err := decodeAll(cmds[1].Val(), kindTeam, &st.Teams, func(t *access.Team) (err error) {
		t.Spend, t.BudgetResetAt, err = money(kindTeam, t.ID)
		return err
	}); err != nil {
		return access.State{}, err
	}
	if err := decodeAll(cmds[2].Val(), kindOrg, &st.Organizations, func(o *access.Organization) (err error) {
		o.Spend, o.BudgetResetAt, err = money(kindOrg, o.ID)
		return err
	}); err != nil {
		return access.State{}, err
	}
	if err := decodeAll(cmds[3].Val(), kindGroup, &st.AccessGroups, func(*access.AccessGroup) error { return nil }); err != nil {
		return access.State{}, err
	}
	return st, nil
}

// decodeAll decodes the JSON values of m, sorted by field, into out,
// finishing each with fill.
func decodeAll[T any](m map[string]string, kind string, out *[]T, fill func(*T) error) error {
	for _, id := range slices.Sorted(maps.Keys(m)) {
		var v T
		if err := json.Unmarshal([]byte(m[id]), &v); err != nil {
			return fmt.Errorf("redisstate: load access: %s %q: %w", kind, id, err)
		}
		if err := fill(&v); err != nil {
			return err
		}
		*out = append(*out, v)
	}
	return nil
}

// Save implements access.Store: it replaces the whole state, spend
// included.
func (s *AccessStore) Save(ctx context.Context, st access.State) error {
	if s.c.down.Load() {
		return fmt.Errorf("redisstate: save access: %w", ErrUnavailable)
	}
	type row struct {
		kind, id string
		v        any
		usd      float64
		reset    time.Time
	}
	var rows []row
	for _, k := range st.Keys {
		usd, at := k.Spend, k.BudgetResetAt
		k.Spend, k.BudgetResetAt = 0, time.Time{}
		rows = append(rows, row{kindKey, k.ID, k, usd, at})
	}
	for _, t := range st.Teams {
		usd, at := t.Spend, t.BudgetResetAt
		t.Spend, t.BudgetResetAt = 0, time.Time{}
		rows = append(rows, row{kindTeam, t.ID, t, usd, at})
	}
	for _, o := range st.Organizations {
		usd, at := o.Spend, o.BudgetResetAt
		o.Spend, o.BudgetResetAt = 0, time.Time{}
		rows = append(rows, row{kindOrg, o.ID, o, usd, at})
	}
	for _, g := range st.AccessGroups {
		rows = append(rows, row{kind: kindGroup, id: g.Name, v: g})
	}
	enc := make([]string, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r.v)
		if err != nil {
			return fmt.Errorf("redisstate: save access: %s %q: %w", r.kind, r.id, err)
		}
		enc[i] = string(b)
	}
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range []string{kindKey, kindTeam, kindOrg, kindGroup, "spend", "reset"} {
			p.Del(ctx, s.hash(k))
		}
		for i, r := range rows {
			p.HSet(ctx, s.hash(r.kind), r.id, enc[i])
			if r.usd > 0 {
				p.HSet(ctx, s.hash("spend"), r.kind+":"+r.id, int64(math.Round(r.usd*1e9)))
			}
			if !r.reset.IsZero() {
				p.HSet(ctx, s.hash("reset"), r.kind+":"+r.id, r.reset.UnixNano())
			}
		}
		p.Publish(ctx, s.c.channel, s.c.notification(kindAccess, ""))
		return nil
	})
	if err := s.c.check(err); err != nil {
		return fmt.Errorf("redisstate: save access: %w", err)
	}
	return nil
}

// accessRow is one definition to write.
type accessRow struct {
	kind, id string
	v        any
	every    time.Duration // budget duration
}

// Apply implements access.RowStore: the rows of ch and its spend deltas in
// one transaction, with the announcement.
func (s *AccessStore) Apply(ctx context.Context, ch access.Changes) error {
	if s.c.down.Load() {
		return fmt.Errorf("redisstate: save access: %w", ErrUnavailable)
	}
	var puts []accessRow
	for _, k := range ch.PutKeys {
		puts = append(puts, accessRow{kindKey, k.ID, k, k.BudgetDuration})
	}
	for _, t := range ch.PutTeams {
		puts = append(puts, accessRow{kindTeam, t.ID, t, t.BudgetDuration})
	}
	for _, o := range ch.PutOrganizations {
		puts = append(puts, accessRow{kindOrg, o.ID, o, o.BudgetDuration})
	}
	for _, g := range ch.PutAccessGroups {
		puts = append(puts, accessRow{kind: kindGroup, id: g.Name, v: g})
	}
	// A principal whose budget duration changes starts its spend from 0.
	restart, err := s.durationChanged(ctx, puts)
	if err != nil {
		return err
	}
	enc := make([]string, len(puts))
	for i, p := range puts {
		b, err := json.Marshal(p.v)
		if err != nil {
			return fmt.Errorf("redisstate: save access: %s %q: %w", p.kind, p.id, err)
		}
		enc[i] = string(b)
	}
	dels := []struct {
		kind string
		ids  []string
	}{{kindKey, ch.DeleteKeys}, {kindTeam, ch.DeleteTeams}, {kindOrg, ch.DeleteOrganizations}, {kindGroup, ch.DeleteAccessGroups}}
	spends := []struct {
		kind string
		ds   []access.SpendDelta
	}{{kindKey, ch.KeySpend}, {kindTeam, ch.TeamSpend}, {kindOrg, ch.OrganizationSpend}}
	defsChanged := len(puts) > 0
	for _, d := range dels {
		defsChanged = defsChanged || len(d.ids) > 0
	}
	var spendMsg []byte
	if len(ch.KeySpend)+len(ch.TeamSpend)+len(ch.OrganizationSpend) > 0 {
		spendMsg, _ = json.Marshal(access.Changes{KeySpend: ch.KeySpend, TeamSpend: ch.TeamSpend, OrganizationSpend: ch.OrganizationSpend})
	}
	sh, rh := s.hash("spend"), s.hash("reset")
	_, err = s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range puts {
			p.HSet(ctx, s.hash(r.kind), r.id, enc[i])
		}
		for _, f := range restart {
			p.HDel(ctx, sh, f)
			p.HDel(ctx, rh, f)
		}
		for _, d := range dels {
			if len(d.ids) == 0 {
				continue
			}
			p.HDel(ctx, s.hash(d.kind), d.ids...)
			if d.kind != kindGroup {
				fields := make([]string, len(d.ids))
				for i, id := range d.ids {
					fields[i] = d.kind + ":" + id
				}
				p.HDel(ctx, sh, fields...)
				p.HDel(ctx, rh, fields...)
			}
		}
		for _, sp := range spends {
			for _, d := range sp.ds {
				var r int64
				if !d.ResetAt.IsZero() {
					r = d.ResetAt.UnixNano()
				}
				p.Eval(ctx, spendScript, []string{sh, rh, s.hash(sp.kind)}, sp.kind+":"+d.ID, d.ID, d.Nanos, r)
			}
		}
		if defsChanged {
			p.Publish(ctx, s.c.channel, s.c.notification(kindAccess, ""))
		}
		if spendMsg != nil {
			p.Publish(ctx, s.c.channel, s.c.notification(kindSpend, string(spendMsg)))
		}
		return nil
	})
	if err := s.c.check(err); err != nil {
		return fmt.Errorf("redisstate: save access: %w", err)
	}
	return nil
}

// durationChanged returns the spend fields of the principals in puts whose
// stored budget duration differs from the new one.
func (s *AccessStore) durationChanged(ctx context.Context, puts []accessRow) ([]string, error) {
	var out []string
	for _, p := range puts {
		if p.kind == kindGroup {
			continue
		}
		old, err := s.c.rdb.HGet(ctx, s.hash(p.kind), p.id).Result()
		if err := s.c.check(err); err == redis.Nil {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("redisstate: save access: %w", err)
		}
		var prev struct {
			Every time.Duration `json:"budget_duration"`
		}
		if json.Unmarshal([]byte(old), &prev) == nil && prev.Every != p.every {
			out = append(out, p.kind+":"+p.id)
		}
	}
	return out, nil
}

// FollowAccess keeps c (which must use this store) in step with the other
// replicas: it reloads c when another replica changes a definition, and
// after the subscription is remade following an outage; it adds the spend
// other replicas flush to c's budgets as it is announced. A reload that
// fails is logged and leaves c as it was. Cancel stops it.
func (s *AccessStore) FollowAccess(c *access.Checker) (cancel func()) {
	reload := func(ctx context.Context) {
		if err := c.Reload(ctx); err != nil {
			s.c.log.Warn("redisstate: reload access", "err", err)
		}
	}
	stop1 := s.c.on(kindAccess, func(string) { reload(s.c.ctx) })
	stop2 := s.c.on(kindSpend, func(data string) {
		var ch access.Changes
		if err := json.NewDecoder(strings.NewReader(data)).Decode(&ch); err != nil {
			s.c.log.Warn("redisstate: spend announcement", "err", err)
			return
		}
		c.AddFlushedSpend(ch)
	})
	stop3 := s.c.onResync(reload)
	return func() { stop1(); stop2(); stop3() }
}
