package access

import "context"

type keyIDKey struct{}

// NewContext returns ctx carrying the ID of the key a request is made with,
// for the Checker's Allow and CallerAlias, which the router calls with the
// request's context.
func NewContext(ctx context.Context, keyID string) context.Context {
	return context.WithValue(ctx, keyIDKey{}, keyID)
}

// KeyFromContext returns the key ID ctx carries, and whether it carries one.
func KeyFromContext(ctx context.Context) (keyID string, ok bool) {
	keyID, ok = ctx.Value(keyIDKey{}).(string)
	return keyID, ok
}
