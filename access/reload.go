package access

import (
	"context"
	"fmt"
)

// Reload replaces the Checker's principals and access groups with what its
// Store holds now, as New loads them. It is for a RowStore that several
// Checkers (one per replica of a service) share: when one writes, the
// others reload and apply the change without a restart.
//
// Spend is kept whole: Reload first flushes the spend recorded here (as
// Flush does), then takes each principal's spend from the store, which
// then holds every replica's flushed spend, this one's included. Spend
// recorded during the reload itself is carried over.
//
// A stored state that does not validate is refused: Reload returns the
// error and the Checker keeps its state. Readers see the old state or the
// new, never a mix. After Close it returns ErrClosed.
func (c *Checker) Reload(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if _, ok := c.store.(RowStore); ok {
		if err := c.flushLocked(ctx); err != nil {
			return err
		}
	}
	st, err := c.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("access: reload: %w", err)
	}
	d, err := defsFromState(st)
	if err != nil {
		return fmt.Errorf("access: reload: %w", err)
	}
	old := c.snap()
	s := build(nil, d, old.groupsGen+1, c.implyTargets, c.clock().UnixNano())
	c.cur.Store(s)
	// Spend recorded on the old counters since the flush above.
	carry := func(from, to *usdCounter) {
		if from == nil || to == nil {
			return
		}
		fp, tp := from.cur.Load(), to.cur.Load()
		if n := fp.nanos.Load() - fp.flushed; n > 0 && fp.end == tp.end {
			tp.nanos.Add(n)
		}
	}
	for id, e := range s.keys {
		if oe := old.keys[id]; oe != nil {
			carry(oe.spend, e.spend)
		}
	}
	for id, e := range s.teams {
		if oe := old.teams[id]; oe != nil {
			carry(oe.spend, e.spend)
		}
	}
	for id, e := range s.orgs {
		if oe := old.orgs[id]; oe != nil {
			carry(oe.spend, e.spend)
		}
	}
	return nil
}

// AddFlushedSpend adds spend that another Checker sharing this one's
// RowStore has flushed to it (the store's announcement of an Apply, for
// example): as if this Checker had recorded it and flushed it itself, so
// that budgets count the spend of every replica without reloading. A
// delta for an unknown principal, or for a budget period other than the
// one this Checker is in for that principal, is ignored (Reload takes the
// store's word for it). It is lock-free for readers.
func (c *Checker) AddFlushedSpend(ch Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.snap()
	add := func(u *usdCounter, d SpendDelta) {
		if u == nil || d.Nanos <= 0 {
			return
		}
		p := u.cur.Load()
		if p.end != unixNanos(d.ResetAt) {
			return
		}
		p.nanos.Add(d.Nanos)
		p.flushed += d.Nanos
	}
	for _, d := range ch.KeySpend {
		if e := s.keys[d.ID]; e != nil {
			add(e.spend, d)
		}
	}
	for _, d := range ch.TeamSpend {
		if e := s.teams[d.ID]; e != nil {
			add(e.spend, d)
		}
	}
	for _, d := range ch.OrganizationSpend {
		if e := s.orgs[d.ID]; e != nil {
			add(e.spend, d)
		}
	}
}
