package httpapi

import (
	"net/http"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/router"
)

// callOptions returns the router options of one request: its tags, and the
// hook that records its usage under the requested name and the caller.
func (h *Handler) callOptions(r *http.Request, requested string, tags []string) []router.CallOption {
	opts := make([]router.CallOption, 0, 2)
	if len(tags) > 0 {
		opts = append(opts, router.WithTags(tags...))
	}
	if h.usage != nil || h.ac != nil {
		p, _ := PrincipalFrom(r.Context())
		opts = append(opts, router.WithRequestObserver(func(e router.RequestEvent) {
			h.record(p, requested, e)
		}))
	}
	return opts
}

// record accounts one finished request: usage under the name the client
// requested (not the key alias or fallback it was routed to), and its cost
// against the key's budget.
func (h *Handler) record(p Principal, requested string, e router.RequestEvent) {
	var team string
	if h.ac != nil && p.KeyID != "" {
		if k, err := h.ac.GetKey(p.KeyID); err == nil {
			team = k.TeamID
		}
		if e.Cost > 0 {
			if err := h.ac.RecordSpend(p.KeyID, e.Cost); err != nil {
				h.log.Warn("record spend", "err", err)
			}
		}
	}
	if h.usage != nil {
		h.usage.Record(access.UsageRecord{
			Requested: requested, Group: e.Group, Deployment: e.Deployment,
			KeyID: p.KeyID, TeamID: team,
			PromptTokens: e.Usage.PromptTokens, CompletionTokens: e.Usage.CompletionTokens,
			CostUSD: e.Cost, Latency: e.Latency, Err: e.Err != nil,
		})
	}
}
