package router

import (
	"context"
	"errors"

	"github.com/modelroute/modelroute/alias"
)

// An Authorizer decides whether the caller of a request may use the name it
// asked for. The Router calls it once per request given WithAuthorizer,
// after resolving the name and before any upstream call, with the name as
// the client sent it and resolved, the names it leads to in order: the
// caller's own alias's target (see CallerAliases), the Registry's aliases
// on the way, and the final target (a group or a wildcard-served name)
// last. resolved is empty when requested is itself the target, and when it
// resolves to nothing (unknown, or disabled): the Authorizer is asked
// first, so that a caller refused a name cannot learn whether it exists.
//
// Allow returns nil to let the request proceed; any other error fails the
// request with that error, unchanged, before anything is tried. The
// decision must be on requested (DESIGN invariant 1): resolved is there
// for policies that extend a grant on a target to the names resolving to
// it, not to authorize on the resolved name. resolved is valid only during
// the call and must not be modified. The principal travels in ctx, the
// request's context; package access's Checker is an Authorizer over the
// key access.NewContext puts there.
type Authorizer interface {
	Allow(ctx context.Context, requested string, resolved []string) error
}

// AuthorizerFunc adapts a function to an Authorizer.
type AuthorizerFunc func(ctx context.Context, requested string, resolved []string) error

// Allow calls f.
func (f AuthorizerFunc) Allow(ctx context.Context, requested string, resolved []string) error {
	return f(ctx, requested, resolved)
}

// CallerAliases is implemented by an Authorizer whose callers have names of
// their own (LiteLLM's key aliases: a key may call "my-model", routed to a
// target only that key sees). Resolution starts there: when CallerAlias
// reports a target for the requested name, the Registry resolves the
// target, and the Route, the events and every error still carry the
// requested name. A caller alias is one hop; its target may be a group or
// a Registry alias, not another caller alias.
type CallerAliases interface {
	CallerAlias(ctx context.Context, name string) (target string, ok bool)
}

// WithAuthorizer makes the request ask a whether its caller may use the
// requested name (see Authorizer), and resolve the caller's own aliases
// first when a implements CallerAliases. A refused request makes no
// upstream call and reaches no observer: the refusal is the caller's
// business, not a routing outcome. Without WithAuthorizer every request
// is allowed and names resolve through the Registry alone.
func WithAuthorizer(a Authorizer) CallOption { return func(o *callOptions) { o.auth = a } }

// resolveRequest resolves the name a request asked for, once: the
// caller's own alias (when the Authorizer has them), then the Registry's
// aliases, to the final target. With an Authorizer it then asks whether
// the caller may use requested, handing it the whole resolution. Errors
// name requested only, never what it resolves to; refused reports that
// the error is the Authorizer's.
func (q *request) resolveRequest(requested string) (_ alias.Resolution, refused bool, _ error) {
	auth := q.s.opts.auth
	if auth == nil {
		res, err := q.r.resolve(q.tab, requested)
		return res, false, err
	}
	name, own := requested, false
	if ca, ok := auth.(CallerAliases); ok {
		if t, ok := ca.CallerAlias(q.ctx, requested); ok {
			name, own = t, true
		}
	}
	res, err := q.r.resolve(q.tab, name)
	resolved := q.s.path[:0]
	if err == nil && (own || len(res.Chain) > 0) {
		chain := res.Chain
		if !own {
			chain = chain[1:] // chain[0] is requested itself
		}
		resolved = append(append(resolved, chain...), res.Target)
	}
	if aerr := auth.Allow(q.ctx, requested, resolved); aerr != nil {
		return alias.Resolution{}, true, aerr
	}
	if err != nil {
		if own {
			// The Registry's error names the target: keep only its kind.
			kind := alias.ErrNotFound
			if errors.Is(err, alias.ErrDisabled) {
				kind = alias.ErrDisabled
			}
			err = &NameError{Name: requested, Err: kind}
		}
		return alias.Resolution{}, false, err
	}
	if own {
		chain := make([]string, 0, 1+len(res.Chain))
		res.Chain = append(append(chain, requested), res.Chain...)
		res.Requested = requested
	}
	return res, false, nil
}
