package access

import (
	"fmt"
	"math"
	"sync/atomic"
)

// usdCounter is a spend total in nano-USD. Integers make concurrent sums
// exact and independent of the order of the additions; int64 nano-USD holds
// about 9.2 billion USD.
type usdCounter struct {
	nanos atomic.Int64
}

func (u *usdCounter) usd() float64 { return float64(u.nanos.Load()) / 1e9 }

// toNanos converts a validated, non-negative USD amount.
func toNanos(usd float64) int64 { return int64(math.Round(usd * 1e9)) }

func checkSpend(usd float64) string {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 || usd > maxUSD {
		return fmt.Sprintf("spend %v: want a number from 0 to %g", usd, float64(maxUSD))
	}
	return ""
}

// RecordSpend adds usd to the spend of the key, of its team and of the
// team's organization. It is lock-free (a map lookup and up to three atomic
// adds) and meant to be called from the router's observer once a call's
// cost is known. Authorize refuses a key with ErrBudgetExceeded once any of
// the three has reached its MaxBudget.
//
// An unknown key is ErrUnknownKey; a negative, NaN or infinite amount is
// ErrInvalid. Spend recorded against a key that is deleted concurrently may
// be lost with it.
//
// Spend lives in memory and is persisted with every write of the Checker
// and by Flush and Close; a crash loses what was recorded since.
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
	k.spend.nanos.Add(n)
	if t := k.team; t != nil {
		t.spend.nanos.Add(n)
		if o := t.org; o != nil {
			o.spend.nanos.Add(n)
		}
	}
	return nil
}

// overBudget returns the first budget on the key's path that is spent, or
// nil.
func (k *keyEntry) overBudget() *budgetRef {
	for i := range k.budgets {
		b := &k.budgets[i]
		if b.spend.nanos.Load() >= b.max {
			return b
		}
	}
	return nil
}

func (b *budgetRef) err() error {
	return &BudgetError{
		Principal: b.label,
		Spend:     float64(b.spend.nanos.Load()) / 1e9,
		Budget:    float64(b.max) / 1e9,
	}
}
