package access

import (
	"context"
	"fmt"
)

// WithSpendHook calls fn after each RecordSpend that recorded spend, on
// the caller's goroutine: for example to flush at once, so that the other
// Checkers sharing the store count the spend within a round trip rather
// than at the next periodic flush. fn must be cheap and must not block
// (signal a goroutine that flushes).
func WithSpendHook(fn func()) Option { return func(o *options) { o.onSpend = fn } }

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

// AddSavedUsage adds counts that another Usage sharing this one's
// UsageRowStore has saved to it (the store's announcement of an AddUsage,
// for example): as if they had been recorded and saved here, so that every
// replica's counters show the usage of all of them, and this Usage does
// not send them again. Entries with negative counters or an invalid cost
// are ignored.
func (u *Usage) AddSavedUsage(delta UsageSnapshot) {
	u.saveMu.Lock()
	defer u.saveMu.Unlock()
	for d := range numDimensions {
		for name, st := range *delta.table(d) {
			if name == "" || checkStats(st) != nil {
				continue
			}
			add := counts{st.Calls, st.Errors, st.PromptTokens, st.CompletionTokens, toNanos(st.CostUSD), int64(st.Latency)}
			c := u.counters(d, name)
			c.calls.Add(add.calls)
			c.errors.Add(add.errors)
			c.prompt.Add(add.prompt)
			c.completion.Add(add.completion)
			c.costNanos.Add(add.costNanos)
			c.latency.Add(add.latency)
			c.saved = counts{c.saved.calls + add.calls, c.saved.errors + add.errors, c.saved.prompt + add.prompt,
				c.saved.completion + add.completion, c.saved.costNanos + add.costNanos, c.saved.latency + add.latency}
		}
	}
}
