package router

import (
	"fmt"
	"math"
	"time"
)

// Strategy picks one deployment among the Candidates of a request: it
// returns the index of an eligible deployment, or -1 when none is eligible.
// Implementations must be safe for concurrent use and should not allocate;
// keep per-pick state on the stack and use the Candidates' randomness.
//
// The Router calls Pick once per order tier, best tier first, until a
// deployment is picked; it never calls a deployment Pick returned as
// ineligible.
type Strategy interface {
	Pick(c *Candidates) int
}

// StrategyFunc adapts a function to Strategy.
type StrategyFunc func(c *Candidates) int

// Pick calls f(c).
func (f StrategyFunc) Pick(c *Candidates) int { return f(c) }

// StrategyByName returns the strategy LiteLLM calls name (routing_strategy).
func StrategyByName(name string) (Strategy, error) {
	switch name {
	case "simple-shuffle", "":
		return WeightedRandom{}, nil
	case "round-robin":
		return RoundRobin{}, nil
	case "least-busy":
		return LeastBusy{}, nil
	case "latency-based-routing":
		return LowestLatency{Buffer: 0.1}, nil
	case "usage-based-routing", "usage-based-routing-v2":
		return UsageBased{}, nil
	case "cost-based-routing":
		return LowestCost{}, nil
	}
	return nil, fmt.Errorf("router: unknown routing strategy %q", name)
}

// StrategyNames lists the names StrategyByName knows.
func StrategyNames() []string {
	return []string{"simple-shuffle", "round-robin", "least-busy", "latency-based-routing", "usage-based-routing", "usage-based-routing-v2", "cost-based-routing"}
}

// WeightedRandom picks at random, each deployment with a chance proportional
// to its weight (LiteLLM's simple-shuffle; the default). It samples the
// tier's prefix sums by binary search and rejects ineligible picks, which
// keeps the distribution exact over the eligible ones; after a few
// rejections it falls back to one pass over the tier.
type WeightedRandom struct{}

func (WeightedRandom) Pick(c *Candidates) int {
	t := c.tier
	if len(t.deps) > 1 {
		for range 4 {
			if i := t.sample(c.Float64()); c.Eligible(i) {
				return i
			}
		}
	}
	return c.PickWeighted()
}

// sample maps u in [0,1) to the deployment whose weight interval holds
// u·total.
func (t *tier) sample(u float64) int {
	x := u * t.total
	lo, hi := 0, len(t.prefix)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.prefix[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// RoundRobin cycles through the deployments in proportion to their weights,
// interleaving them smoothly (a weight-5 deployment gets five turns spread
// over the cycle, not five in a row). It is lock-free: grpc-go's static
// stride scheduler over an atomic counter per tier.
type RoundRobin struct{}

const strideMax = 1<<16 - 1

func (RoundRobin) Pick(c *Candidates) int {
	t := c.tier
	n := uint64(len(t.deps))
	if n == 0 {
		return -1
	}
	for range 64 {
		seq := c.Next()
		i := seq % n
		gen := seq / n
		w := uint64(t.deps[i].weight / t.wmax * strideMax)
		if w == 0 {
			w = 1
		}
		if (w*gen+strideMax/2*i)%strideMax < strideMax-w {
			continue
		}
		if c.Eligible(int(i)) {
			return int(i)
		}
	}
	start := int(c.Next() % n)
	for k := range int(n) {
		if i := (start + k) % int(n); c.Eligible(i) {
			return i
		}
	}
	return -1
}

// LeastBusy picks the deployment with the fewest requests in flight
// (LiteLLM's least-busy). In tiers of more than eight it compares two
// weighted random picks (power of two choices) instead of scanning.
type LeastBusy struct{}

func (LeastBusy) Pick(c *Candidates) int {
	t := c.tier
	if len(t.deps) > 8 {
		a := WeightedRandom{}.Pick(c)
		if a < 0 {
			return -1
		}
		b := a
		for range 4 { // a second, distinct choice
			if b = (WeightedRandom{}).Pick(c); b != a {
				break
			}
		}
		if b >= 0 && c.InFlight(b) < c.InFlight(a) {
			return b
		}
		return a
	}
	best, ties := -1, 0
	var low int64
	for i := range t.deps {
		if !c.Eligible(i) {
			continue
		}
		n := c.InFlight(i)
		switch {
		case best < 0 || n < low:
			best, low, ties = i, n, 1
		case n == low:
			ties++
			if c.Uint64()%uint64(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// LowestLatency picks among the deployments whose latency moving average is
// within Buffer (a fraction, 0.1 = 10%) of the fastest one, weighted at
// random, so the fastest is not piled on (LiteLLM's latency-based-routing).
// A deployment with no measurement yet counts as fastest, so new ones get
// tried.
type LowestLatency struct {
	Buffer float64
}

func (s LowestLatency) Pick(c *Candidates) int {
	first, low := -1, time.Duration(math.MaxInt64)
	for i := range c.tier.deps {
		if !c.Eligible(i) {
			continue
		}
		if first < 0 {
			first = i
		}
		low = min(low, c.Latency(i))
	}
	if first < 0 {
		return -1
	}
	limit := time.Duration(float64(low) * (1 + max(s.Buffer, 0)))
	best, total := -1, 0.0
	for i, d := range c.tier.deps {
		if c.Latency(i) > limit || c.reason(d) != ReasonCandidate {
			continue
		}
		total += d.weight
		if c.Float64()*total < d.weight {
			best = i
		}
	}
	if best < 0 {
		return first
	}
	return best
}

// UsageBased picks the deployment with the most rpm/tpm headroom in the
// sliding minute up to now: the lowest share used of its tightest limit, then the fewest
// tokens used, ties broken at random (LiteLLM's usage-based-routing).
// Deployments without limits have all their headroom.
type UsageBased struct{}

func (UsageBased) Pick(c *Candidates) int {
	best, ties := -1, 0
	var bestShare float64
	var bestTPM int64
	for i, d := range c.tier.deps {
		if !c.Eligible(i) {
			continue
		}
		rpm, tpm := c.Usage(i)
		share := 0.0
		if d.RPM > 0 {
			share = float64(rpm) / float64(d.RPM)
		}
		if d.TPM > 0 {
			share = max(share, float64(tpm)/float64(d.TPM))
		}
		switch {
		case best < 0 || share < bestShare || (share == bestShare && tpm < bestTPM):
			best, bestShare, bestTPM, ties = i, share, tpm, 1
		case share == bestShare && tpm == bestTPM:
			ties++
			if c.Uint64()%uint64(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// LowestCost picks the deployment with the lowest price per token (input
// plus output), ties broken at random (LiteLLM's cost-based-routing). A
// deployment without prices counts as free.
type LowestCost struct{}

func (LowestCost) Pick(c *Candidates) int {
	best, ties := -1, 0
	var low float64
	for i, d := range c.tier.deps {
		if !c.Eligible(i) {
			continue
		}
		p := d.InputCostPerToken + d.OutputCostPerToken
		switch {
		case best < 0 || p < low:
			best, low, ties = i, p, 1
		case p == low:
			ties++
			if c.Uint64()%uint64(ties) == 0 {
				best = i
			}
		}
	}
	return best
}
