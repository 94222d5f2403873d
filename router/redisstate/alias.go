package redisstate

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/modelroute/modelroute/alias"
)

// AliasStore is an alias.RowStore in Redis that several Registries share:
// the hash PREFIX:aliases maps each alias name to its JSON. Put and Delete
// write one alias; Save writes only the aliases that changed since this
// store last loaded or saved. So two replicas writing different aliases at
// once do not undo each other (for one alias, the last write wins). Each
// write announces the change on PREFIX:events in the same transaction. FollowAliases makes a Registry reload
// on every announcement from another replica.
//
// A Save while Redis is unreachable fails, so the Registry refuses the
// write and keeps its state; resolving names goes on from the Registry's
// memory.
type AliasStore struct {
	c *Client

	mu   sync.Mutex        // serializes Load and Save; protects last
	last map[string]string // name → JSON, as last loaded or saved
}

var _ alias.RowStore = (*AliasStore)(nil)

// AliasStore returns the alias.Store over c.
func (c *Client) AliasStore() *AliasStore { return &AliasStore{c: c} }

// Load implements alias.Store.
func (s *AliasStore) Load(ctx context.Context) ([]alias.Alias, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, err := s.c.rdb.HGetAll(ctx, s.c.key("aliases")).Result()
	if err := s.c.check(err); err != nil {
		return nil, fmt.Errorf("redisstate: load aliases: %w", err)
	}
	out := make([]alias.Alias, 0, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		var a alias.Alias
		if err := json.Unmarshal([]byte(raw[name]), &a); err != nil {
			return nil, fmt.Errorf("redisstate: load aliases: %q: %w", name, err)
		}
		if a.Name != name {
			return nil, fmt.Errorf("redisstate: load aliases: field %q holds alias %q", name, a.Name)
		}
		out = append(out, a)
	}
	s.last = raw
	return out, nil
}

// Save implements alias.Store.
func (s *AliasStore) Save(ctx context.Context, all []alias.Alias) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]string, len(all))
	var set []any
	var changed []string
	for _, a := range all {
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("redisstate: save alias %q: %w", a.Name, err)
		}
		next[a.Name] = string(b)
		if s.last[a.Name] != string(b) {
			set = append(set, a.Name, string(b))
			changed = append(changed, a.Name)
		}
	}
	var del []string
	for name := range s.last {
		if _, ok := next[name]; !ok {
			del = append(del, name)
			changed = append(changed, name)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	if err := s.write(ctx, set, del, changed); err != nil {
		return err
	}
	s.last = next
	return nil
}

// Put implements alias.RowStore.
func (s *AliasStore) Put(ctx context.Context, a alias.Alias) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("redisstate: save alias %q: %w", a.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(ctx, []any{a.Name, string(b)}, nil, []string{a.Name}); err != nil {
		return err
	}
	if s.last == nil {
		s.last = map[string]string{}
	}
	s.last[a.Name] = string(b)
	return nil
}

// Delete implements alias.RowStore.
func (s *AliasStore) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(ctx, nil, []string{name}, []string{name}); err != nil {
		return err
	}
	delete(s.last, name)
	return nil
}

// write sets and deletes hash fields and announces the change, in one
// transaction. s.mu is held.
func (s *AliasStore) write(ctx context.Context, set []any, del, changed []string) error {
	if s.c.down.Load() {
		return fmt.Errorf("redisstate: save aliases: %w", ErrUnavailable)
	}
	h := s.c.key("aliases")
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if len(set) > 0 {
			p.HSet(ctx, h, set...)
		}
		if len(del) > 0 {
			p.HDel(ctx, h, del...)
		}
		p.Publish(ctx, s.c.channel, s.c.notification(kindAliases, strings.Join(changed, ",")))
		return nil
	})
	if err := s.c.check(err); err != nil {
		return fmt.Errorf("redisstate: save aliases: %w", err)
	}
	return nil
}

// FollowAliases reloads reg (which must use this store) whenever another
// replica announces a change, and after the subscription is remade
// following an outage. A reload that fails (the stored state is refused,
// Redis went away) is logged and leaves reg as it was. Cancel stops it.
func (s *AliasStore) FollowAliases(reg *alias.Registry) (cancel func()) {
	reload := func(ctx context.Context) {
		if err := reg.Reload(ctx); err != nil {
			s.c.log.Warn("redisstate: reload aliases", "err", err)
		}
	}
	stop1 := s.c.on(kindAliases, func(string) { reload(s.c.ctx) })
	stop2 := s.c.onResync(reload)
	return func() { stop1(); stop2() }
}
