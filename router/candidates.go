package router

import (
	"fmt"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Reason tells why a deployment is or is not a candidate for a request.
type Reason int

const (
	ReasonCandidate     Reason = iota // may be picked
	ReasonTags                        // shares none of the request's tags
	ReasonContextWindow               // its context window is smaller than the prompt
	ReasonTried                       // already failed in this request
	ReasonUnhealthy                   // an active health probe failed
	ReasonCooldown                    // cooling down after failures
	ReasonProbing                     // cooldown over; its one probe request is in flight
	ReasonParallel                    // at its max_parallel_requests
	ReasonRPM                         // at its requests-per-minute limit
	ReasonTPM                         // at its tokens-per-minute limit
	ReasonLowerTier                   // a better order tier has candidates
)

var reasonNames = [...]string{
	ReasonCandidate:     "candidate",
	ReasonTags:          "tag mismatch",
	ReasonContextWindow: "context window too small",
	ReasonTried:         "already tried",
	ReasonUnhealthy:     "unhealthy (active probe)",
	ReasonCooldown:      "cooling down",
	ReasonProbing:       "half-open probe in flight",
	ReasonParallel:      "max parallel requests reached",
	ReasonRPM:           "rpm limit reached",
	ReasonTPM:           "tpm limit reached",
	ReasonLowerTier:     "lower order tier",
}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Estimator estimates a chat request's prompt size in tokens, for the
// context-window filter and tpm limits. It must be cheap and safe for
// concurrent use, and must not keep req.
type Estimator func(req *openai.ChatCompletionRequest) int

// EstimateTokens is the default Estimator: about four bytes of text per
// token plus a few tokens per message. It allocates nothing.
func EstimateTokens(req *openai.ChatCompletionRequest) int {
	n := 0
	for i := range req.Messages {
		m := &req.Messages[i]
		n += 16 + len(m.Content) + len(m.Name) + len(m.ToolCallID)
		for j := range m.MultiContent {
			n += len(m.MultiContent[j].Text)
		}
		for j := range m.ToolCalls {
			n += len(m.ToolCalls[j].Function.Name) + len(m.ToolCalls[j].Function.Arguments)
		}
		if m.FunctionCall != nil {
			n += len(m.FunctionCall.Name) + len(m.FunctionCall.Arguments)
		}
	}
	for i := range req.Tools {
		if f := req.Tools[i].Function; f != nil {
			n += 64 + len(f.Name) + len(f.Description)
		}
	}
	return n / 4
}

// Candidates is the view a Strategy picks from: the deployments of one order
// tier of one group, for one request. Len counts them all; Eligible says
// which may be picked right now (not cooling down, unhealthy, at a limit,
// tag or context-window mismatched, or already tried). The other methods
// read a deployment's live figures and give randomness from the Router's
// seeded source.
//
// A Candidates is only valid during the Pick call it is passed to and must
// not be used from other goroutines.
type Candidates struct {
	tier       *tier
	now        int64
	set        *settings
	rng        uint64
	tags       []string
	estimate   int // prompt tokens; -1: not estimated yet
	req        *openai.ChatCompletionRequest
	est        Estimator
	tried      []*dep // deployments that failed in this request
	rejected   []*dep // picked in this round but could not be acquired
	allowTried bool
	noRamp     bool // slow-start does not apply: nothing else is available
}

// Len returns how many deployments the tier holds, eligible or not.
func (c *Candidates) Len() int { return len(c.tier.deps) }

// Deployment returns deployment i. It must not be modified.
func (c *Candidates) Deployment(i int) *Deployment { return &c.tier.deps[i].Deployment }

// Weight returns deployment i's weight (1 when unset).
func (c *Candidates) Weight(i int) float64 { return c.tier.deps[i].weight }

// InFlight returns how many requests deployment i is serving now.
func (c *Candidates) InFlight(i int) int64 { return c.tier.deps[i].st.inflight.Load() }

// Latency returns deployment i's latency moving average; 0 before its first
// success.
func (c *Candidates) Latency(i int) time.Duration { return c.tier.deps[i].st.latency() }

// Usage returns the requests and tokens deployment i served in the
// sliding minute up to now (see SharedState), as its limits count them.
func (c *Candidates) Usage(i int) (rpm, tpm int64) { return c.tier.deps[i].st.usage(c.now) }

// Uint64 returns a pseudo-random number from the Router's seeded source.
func (c *Candidates) Uint64() uint64 {
	c.rng += 0x9e3779b97f4a7c15
	z := c.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Float64 returns a pseudo-random number in [0, 1).
func (c *Candidates) Float64() float64 { return float64(c.Uint64()>>11) / (1 << 53) }

// Next returns the tier's round-robin position and advances it.
func (c *Candidates) Next() uint64 { return c.tier.seq.Add(1) - 1 }

// Eligible reports whether deployment i may be picked now. A deployment
// ramping up after a cooldown (slow-start) is eligible only for its current
// share of traffic, so Eligible may answer differently on each call.
func (c *Candidates) Eligible(i int) bool {
	d := c.tier.deps[i]
	st := d.st
	if d.plain && len(c.tags) == 0 && len(c.rejected) == 0 && (c.allowTried || len(c.tried) == 0) {
		// The common case, inlined: only the circuit and health matter.
		if st.probeDown.Load() {
			return false
		}
		if u := st.cooldownUntil.Load(); u != 0 && (c.now < u || st.needsProbe.Load() && st.probing.Load()) {
			return false
		}
	} else if c.reason(d) != ReasonCandidate {
		return false
	}
	if r := st.recoveredAt.Load(); r != 0 && !c.noRamp && c.set.slowStart > 0 {
		if ramp := st.ramp(c.now, c.set.slowStart); ramp < 1 && c.Float64() >= ramp {
			return false
		}
	}
	return true
}

// PickWeighted picks among the eligible deployments at random, each with a
// chance proportional to its weight, in one pass (weighted reservoir
// sampling). It returns -1 when none is eligible.
func (c *Candidates) PickWeighted() int {
	best, total := -1, 0.0
	for i, d := range c.tier.deps {
		if !c.Eligible(i) {
			continue
		}
		total += d.weight
		if c.Float64()*total < d.weight {
			best = i
		}
	}
	return best
}

// tokens returns the request's estimated prompt tokens, estimating once.
func (c *Candidates) tokens() int {
	if c.estimate < 0 {
		c.estimate = 0
		if c.req != nil && c.est != nil {
			c.estimate = c.est(c.req)
		}
	}
	return c.estimate
}

// reason tells why d is or is not a candidate now, ignoring slow-start.
// Static reasons (tags, context window) come first so that a group ruled out
// by the context window alone can be told apart.
func (c *Candidates) reason(d *dep) Reason {
	if len(c.tags) > 0 && !d.hasTag(c.tags) {
		return ReasonTags
	}
	if d.ContextWindow > 0 && c.tokens() > d.ContextWindow {
		return ReasonContextWindow
	}
	for _, x := range c.rejected {
		if x == d {
			return ReasonTried
		}
	}
	if !c.allowTried {
		for _, x := range c.tried {
			if x == d {
				return ReasonTried
			}
		}
	}
	st := d.st
	if st.probeDown.Load() {
		return ReasonUnhealthy
	}
	switch st.phase(c.now, c.set.slowStart) {
	case phaseCooling:
		return ReasonCooldown
	case phaseProbing:
		return ReasonProbing
	}
	if d.MaxParallel > 0 && st.inflight.Load() >= int64(d.MaxParallel) {
		return ReasonParallel
	}
	if d.RPM > 0 || d.TPM > 0 {
		rpm, tpm := st.usage(c.now)
		if d.RPM > 0 && rpm >= int64(d.RPM) {
			return ReasonRPM
		}
		if d.TPM > 0 && tpm+int64(c.tokens()) > int64(d.TPM) {
			return ReasonTPM
		}
	}
	return ReasonCandidate
}
