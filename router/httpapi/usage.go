package httpapi

import (
	"context"
	"net/http"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/router"
)

// callOptions returns the context and router options of one request made
// by the caller r carries: its tags; the Checker as the Router's Authorizer,
// with the caller's key in the context, so that the Router resolves the
// name once (the key's own aliases first) and authorizes it on the name
// requested (not for the master key, nor without a Checker); and the hook
// that records its usage under the requested name and the caller.
func (h *Handler) callOptions(r *http.Request, requested string, tags []string) (context.Context, []router.CallOption, *apiError) {
	ctx := r.Context()
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil, nil, errorf(http.StatusUnauthorized, typeAuthentication, CodeInvalidAPIKey, errNoKey.Error())
	}
	opts := make([]router.CallOption, 0, 3)
	if len(tags) > 0 {
		opts = append(opts, router.WithTags(tags...))
	}
	if h.ac != nil && !p.Master {
		ctx = access.NewContext(ctx, p.KeyID)
		opts = append(opts, router.WithAuthorizer(h.ac))
	}
	if h.usage != nil || h.ac != nil {
		opts = append(opts, router.WithRequestObserver(func(e router.RequestEvent) {
			h.record(p, requested, e)
		}))
	}
	return ctx, opts, nil
}

// record accounts one finished request: usage under the name the client
// requested (not the key alias or fallback it was routed to: Route.Requested), its cost
// against the key's budget, and its tokens against the key's tpm_limit.
func (h *Handler) record(p Principal, requested string, e router.RequestEvent) {
	var team string
	if h.ac != nil && p.KeyID != "" {
		if k, err := h.ac.GetKey(p.KeyID); err == nil {
			team = k.TeamID
		}
		h.ac.RecordTokens(p.KeyID, int64(e.Usage.PromptTokens+e.Usage.CompletionTokens))
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
