package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router"
)

// Handler serves the HTTP API over a Router and its Registry. Build it with
// New; its methods return the individual endpoints.
type Handler struct {
	rt     *router.Router
	reg    *alias.Registry
	ac     *access.Checker       // nil: every authenticated caller may use every name
	usage  *access.Usage         // nil: usage is not recorded
	health *router.HealthChecker // nil: /health probes with a one-off checker
	log    *slog.Logger
	master [sha256.Size]byte // hash of the master key
	hasKey bool              // a master key is set
	limit  int64             // request body limit in bytes

	streamWriters sync.Pool // of *bufio.Writer, for streams (client.go)
}

// Option configures a Handler.
type Option func(*Handler)

// WithAccess authorizes every request through c, on the requested name.
// Without it every authenticated caller may use every name.
func WithAccess(c *access.Checker) Option { return func(h *Handler) { h.ac = c } }

// WithUsage records every finished request in u: per requested name,
// group, deployment, key and team.
func WithUsage(u *access.Usage) Option { return func(h *Handler) { h.usage = u } }

// WithHealthChecker makes /health report through hc (probing each
// deployment once, now) instead of a checker made for the call.
func WithHealthChecker(hc *router.HealthChecker) Option {
	return func(h *Handler) { h.health = hc }
}

// WithMasterKey sets the key that may do everything, the admin API included.
// Without it Authenticate accepts only virtual keys and the admin API
// refuses everyone.
func WithMasterKey(key string) Option {
	return func(h *Handler) {
		if key != "" {
			h.master, h.hasKey = sha256.Sum256([]byte(key)), true
		}
	}
}

// WithLogger logs through l (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithMaxBodyBytes limits request bodies to n bytes (default 10 MiB);
// larger ones are refused with 413.
func WithMaxBodyBytes(n int64) Option { return func(h *Handler) { h.limit = n } }

// New returns a Handler serving rt and reg. reg may be nil when rt routes
// group names only.
func New(rt *router.Router, reg *alias.Registry, opts ...Option) *Handler {
	h := &Handler{rt: rt, reg: reg, limit: defaultMaxBodyBytes}
	for _, o := range opts {
		o(h)
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// Principal is the caller of a request, as Authenticate established it.
type Principal struct {
	Master bool   // the master key: may do everything
	KeyID  string // the virtual key's ID (HashKey of its secret); "" for the master key
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p. A service that authenticates callers
// itself sets it before calling an endpoint of this package.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller ctx carries, and whether it carries one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// HashKey returns the ID under which a virtual key's secret is stored: the
// hex SHA-256 of the secret. Secrets themselves are never stored.
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// bearer returns the key a request presents: "Authorization: Bearer KEY" or
// "x-api-key: KEY".
func bearer(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			return strings.TrimSpace(a[7:])
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("x-api-key"))
}

// Authenticate admits requests presenting the master key or a known virtual
// key, and refuses the rest with 401 invalid_api_key. The master key is
// compared in constant time; a virtual key is looked up by the hash of its
// secret, so no secret is compared or kept.
func (h *Handler) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(bearer(r))
		if err != nil {
			writeError(w, errorf(http.StatusUnauthorized, typeAuthentication, CodeInvalidAPIKey, err.Error()))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

var errNoKey = errors.New("missing API key: send Authorization: Bearer <key>")

func (h *Handler) principal(key string) (Principal, error) {
	if key == "" {
		return Principal{}, errNoKey
	}
	sum := sha256.Sum256([]byte(key))
	if h.hasKey && subtle.ConstantTimeCompare(sum[:], h.master[:]) == 1 {
		return Principal{Master: true}, nil
	}
	if h.ac != nil {
		id := hex.EncodeToString(sum[:])
		if err := h.ac.CheckKey(id); err == nil || errors.Is(err, access.ErrBudgetExceeded) {
			// An exhausted budget is refused per request, with 429.
			return Principal{KeyID: id}, nil
		}
	}
	return Principal{}, errors.New("invalid API key")
}

// requireMaster wraps an admin endpoint: only the master key may call it.
// No key or an unknown key is 401; any other key 403.
func (h *Handler) requireMaster(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok {
			var err error
			if p, err = h.principal(bearer(r)); err != nil {
				writeError(w, errorf(http.StatusUnauthorized, typeAuthentication, CodeInvalidAPIKey, err.Error()))
				return
			}
		}
		if !p.Master {
			writeError(w, errorf(http.StatusForbidden, typePermission, CodeForbidden, "this endpoint needs the master key"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mayUse decides whether the caller may use name, for endpoints that do
// not route it (/health?model=): on the name alone, as the Router's
// Authorizer decides a request.
func (h *Handler) mayUse(ctx context.Context, name string) *apiError {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return errorf(http.StatusUnauthorized, typeAuthentication, CodeInvalidAPIKey, errNoKey.Error())
	}
	if p.Master || h.ac == nil {
		return nil
	}
	if err := h.ac.Authorize(p.KeyID, name); err != nil {
		return modelError(name, err)
	}
	return nil
}

// catalog returns the Router's catalog as the caller may see it: what the
// Checker permits the caller's key, asked as a request would be (with each
// name's resolution) but without counting a request against the key's
// rate limits; everything for the master key or without a Checker.
func (h *Handler) catalog(ctx context.Context) []router.Listing {
	p, _ := PrincipalFrom(ctx)
	if p.Master || h.ac == nil {
		return h.rt.Catalog(ctx, nil)
	}
	return h.rt.Catalog(access.NewContext(ctx, p.KeyID), router.AuthorizerFunc(h.ac.Permits))
}

// Mux returns every endpoint on one mux: the client and operator endpoints
// behind Authenticate, the admin endpoints behind the master key, and the
// liveness and readiness probes open.
func (h *Handler) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	auth := h.Authenticate
	for _, p := range []string{"/v1/chat/completions", "/chat/completions"} {
		mux.Handle("POST "+p, auth(h.ChatCompletions()))
	}
	for _, p := range []string{"/v1/embeddings", "/embeddings"} {
		mux.Handle("POST "+p, auth(h.Embeddings()))
	}
	for _, p := range []string{"/v1/models", "/models"} {
		mux.Handle("GET "+p, auth(h.Models()))
	}
	for _, p := range []string{"/model/info", "/v1/model/info"} {
		mux.Handle("GET "+p, auth(h.ModelInfo()))
	}
	mux.Handle("GET /model_group/info", auth(h.ModelGroupInfo()))
	mux.Handle("GET /health", auth(h.Health()))
	mux.Handle("GET /health/liveliness", h.Liveliness())
	mux.Handle("GET /health/liveness", h.Liveliness())
	mux.Handle("GET /health/readiness", h.Readiness())
	mux.Handle("/key/", h.requireMaster(h.Keys()))
	mux.Handle("/api/", h.requireMaster(h.Admin()))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, typeNotFound, CodeNotFound, "no endpoint "+r.Method+" "+r.URL.Path))
	}))
	return mux
}
