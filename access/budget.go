package access

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// usdCounter is the spend of one principal, in nano-USD, per budget
// period. Integers make concurrent sums exact and independent of the order
// of the additions; int64 nano-USD holds about 9.2 billion USD.
//
// With a budget duration, spend belongs to a period: periods of length
// every are counted from anchor (the principal's creation time), and the
// spend of a period that has ended no longer counts. A new period starts
// lazily, when spend is recorded or read after the old one's end: its
// struct replaces the old one with a compare-and-swap, so adds are never
// lost to a reset, and an add racing the swap lands in the period that
// just ended.
type usdCounter struct {
	every  int64 // period length in nanoseconds; 0: spend never resets
	anchor int64 // unix nanoseconds periods are counted from
	cur    atomic.Pointer[spendPeriod]

	// flushedPeriod is the period Flush last persisted (row stores send
	// deltas). Guarded by Checker.mu.
	flushedPeriod *spendPeriod
}

// spendPeriod is the spend of one budget period.
type spendPeriod struct {
	end   int64 // unix nanoseconds when this period's spend resets; 0: never
	nanos atomic.Int64
	// flushed is the part of nanos a RowStore holds. Guarded by Checker.mu.
	flushed int64
}

// newUSDCounter returns the counter of a principal with budget duration
// every (0: none), created at anchor, that has spent nanos in the period
// ending at resetAt (unix nanoseconds; 0: none) as the store holds it. now
// places a period-less stored spend into the current period.
func newUSDCounter(every time.Duration, anchor time.Time, nanos int64, resetAt time.Time, now int64) *usdCounter {
	u := &usdCounter{every: int64(every), anchor: unixNanos(anchor)}
	p := &spendPeriod{}
	p.nanos.Store(nanos)
	p.flushed = nanos // what the store holds
	if u.every != 0 {
		p.end = unixNanos(resetAt)
		if p.end == 0 {
			// Spend stored without a period counts in the current one;
			// the store has it without a reset time, so the first flush
			// sends it whole.
			p.end = u.nextEnd(now)
			p.flushed = 0
		}
	}
	u.cur.Store(p)
	u.flushedPeriod = p
	return u
}

// nextEnd returns the end of the period that holds now.
func (u *usdCounter) nextEnd(now int64) int64 {
	if u.every == 0 {
		return 0
	}
	k := (now - u.anchor) / u.every // rounds toward zero: before anchor, the first period
	if now < u.anchor {
		k = 0
	}
	return u.anchor + (k+1)*u.every
}

// period returns the period that holds now, starting it if the current one
// has ended.
func (u *usdCounter) period(now int64) *spendPeriod {
	for {
		p := u.cur.Load()
		if p.end == 0 || now < p.end {
			return p
		}
		np := &spendPeriod{end: u.nextEnd(now)}
		if u.cur.CompareAndSwap(p, np) {
			return np
		}
	}
}

// spent returns the spend of the period that holds now (0 once the current
// period has ended), without starting a period.
func (u *usdCounter) spent(now int64) int64 {
	p := u.cur.Load()
	if p.end != 0 && now >= p.end {
		return 0
	}
	return p.nanos.Load()
}

// view returns the spend in USD and the reset time of the period that
// holds now, as GetKey and the whole-state Save show them.
func (u *usdCounter) view(now int64) (usd float64, resetAt time.Time) {
	p := u.cur.Load()
	end, nanos := p.end, p.nanos.Load()
	if end != 0 && now >= end {
		end, nanos = u.nextEnd(now), 0
	}
	return float64(nanos) / 1e9, fromUnixNanos(end)
}

// unixNanos converts t to unix nanoseconds; the zero time is 0.
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNanos is the inverse of unixNanos, in UTC.
func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// toNanos converts a validated, non-negative USD amount.
func toNanos(usd float64) int64 { return int64(math.Round(usd * 1e9)) }

func checkSpend(usd float64) string {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 || usd > maxUSD {
		return fmt.Sprintf("spend %v: want a number from 0 to %g", usd, float64(maxUSD))
	}
	return ""
}

// RecordSpend adds usd to the spend of the key, of its team and of the
// team's organization, in the budget period of each that holds the
// current time. It is lock-free (a map lookup and up to three atomic adds)
// and meant to be called from the router's observer once a call's cost is
// known. Authorize refuses a key with ErrBudgetExceeded once any of the
// three has reached its MaxBudget in its current period.
//
// An unknown key is ErrUnknownKey; a negative, NaN or infinite amount is
// ErrInvalid. Spend recorded against a key that is deleted concurrently may
// be lost with it.
//
// Spend lives in memory and is persisted by Flush and Close (and, with a
// Store that is not a RowStore, with every write); a crash loses what was
// recorded since.
func (c *Checker) RecordSpend(keyID string, usd float64) error {
	if p := checkSpend(usd); p != "" {
		return errorf("spend", ErrInvalid, "%s", p)
	}
	k := c.snap().keys[keyID]
	if k == nil {
		return ErrUnknownKey
	}
	n := toNanos(usd)
	if n == 0 {
		return nil
	}
	var now int64
	if k.periodic {
		now = c.clock().UnixNano()
	}
	k.spend.period(now).nanos.Add(n)
	if t := k.team; t != nil {
		t.spend.period(now).nanos.Add(n)
		if o := t.org; o != nil {
			o.spend.period(now).nanos.Add(n)
		}
	}
	// After the adds: a flush that clears the flag before reading the
	// counters reads these adds, or the flag stays set for the next one.
	if !c.unflushed.Load() {
		c.unflushed.Store(true)
	}
	if c.onSpend != nil {
		c.onSpend()
	}
	return nil
}

// overBudget returns the first budget on the key's path that is spent at
// now, or nil. now matters only for a key with periodic budgets.
func (k *keyEntry) overBudget(now int64) *budgetRef {
	for i := range k.budgets {
		b := &k.budgets[i]
		if b.spend.spent(now) >= b.max {
			return b
		}
	}
	return nil
}

func (b *budgetRef) err(now int64) error {
	return &BudgetError{
		Principal: b.label,
		Spend:     float64(b.spend.spent(now)) / 1e9,
		Budget:    float64(b.max) / 1e9,
	}
}

// maxBudgetDuration bounds BudgetDuration.
const maxBudgetDuration = 10 * 366 * 24 * time.Hour

func checkBudgetDuration(d time.Duration) string {
	if d != 0 && (d < time.Second || d > maxBudgetDuration) {
		return fmt.Sprintf("budget_duration %v: want 0 (no reset) or from 1s to %v", d, maxBudgetDuration)
	}
	return ""
}
