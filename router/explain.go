package router

import (
	"time"

	"github.com/modelroute/modelroute/alias"
)

// Explanation tells how a request for a name would be routed right now,
// without calling anything.
type Explanation struct {
	Requested string
	Chain     []string // aliases walked; nil when Requested is not an alias
	Target    string   // final target of the chain
	Group     string   // the group serving Target (a wildcard pattern for wildcard groups)
	Strategy  string   // LiteLLM strategy name, or "custom"
	// Deployments lists the group's deployments, best order tier first,
	// each with the reason it is or is not a candidate.
	Deployments []ExplainedDeployment
	// Fallbacks, ContextWindowFallbacks and ContentPolicyFallbacks are the
	// names that would be tried, in order, after the group fails that way.
	Fallbacks, ContextWindowFallbacks, ContentPolicyFallbacks []string
}

// ExplainedDeployment is one deployment in an Explanation.
type ExplainedDeployment struct {
	ID            string
	Model         string // upstream model the request would be sent
	Provider      string
	Order         int // 0: unset
	Weight        float64
	Candidate     bool
	Reason        Reason
	CooldownUntil time.Time // set while cooling down
}

// Explain answers how a request for name would be routed: the alias chain,
// the group, every deployment with the reason it is or is not a candidate
// (for a request without tags whose prompt fits every context window), the
// strategy and the fallbacks. It calls nothing and changes nothing. Unknown
// and disabled names fail like a request would.
func (r *Router) Explain(name string) (Explanation, error) {
	tab := r.tab.Load()
	res, err := r.resolve(tab, name)
	if err != nil {
		return Explanation{}, err
	}
	g, match := tab.lookup(res.Target)
	if g == nil {
		return Explanation{}, &NameError{Name: name, Err: alias.ErrNotFound}
	}
	e := Explanation{Requested: name, Chain: res.Chain, Target: res.Target, Group: g.name, Strategy: tab.set.strategyName}
	now := time.Now().UnixNano()
	cand := Candidates{now: now, set: &tab.set, estimate: 0}
	found := false
	for _, t := range g.tiers {
		tierHas := false
		for _, d := range t.deps {
			reason := cand.reason(d)
			if reason == ReasonCandidate {
				tierHas = true
				if found {
					reason = ReasonLowerTier
				}
			}
			x := ExplainedDeployment{
				ID: d.ID, Model: d.upstreamFor(match), Provider: d.prov, Order: d.Order,
				Weight: d.weight, Candidate: reason == ReasonCandidate, Reason: reason,
			}
			if reason == ReasonCooldown {
				x.CooldownUntil = time.Unix(0, d.st.cooldownUntil.Load())
			}
			e.Deployments = append(e.Deployments, x)
		}
		found = found || tierHas
	}
	keys := fallbackKeys(res, g)
	e.Fallbacks = appendFallbacks(nil, tab.set.fallbacks, keys)
	e.ContextWindowFallbacks = appendFallbacks(nil, tab.set.cwFallbacks, keys)
	e.ContentPolicyFallbacks = appendFallbacks(nil, tab.set.cpFallbacks, keys)
	return e, nil
}
