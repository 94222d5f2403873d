package httpapi

import (
	"context"
	"maps"
	"net/http"
	"slices"

	"github.com/modelroute/modelroute/router"
)

// Models serves GET /v1/models: the groups and the active, non-hidden
// aliases the caller may use, and nothing else.
func (h *Handler) Models() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Object string  `json:"object"`
			Data   []model `json:"data"`
		}{"list", h.models(r.Context())})
	})
}

// models lists what the caller may use: the catalog's names through the
// Checker, then the key's own aliases, which it may always call.
func (h *Handler) models(ctx context.Context) []model {
	ms := catalogModels(h.catalog(ctx))
	p, _ := PrincipalFrom(ctx)
	if h.ac == nil || p.Master || h.ac.CheckKey(p.KeyID) != nil {
		return ms
	}
	k, err := h.ac.GetKey(p.KeyID)
	if err != nil || len(k.Aliases) == 0 {
		return ms
	}
	listed := make(map[string]bool, len(ms))
	for _, m := range ms {
		listed[m.ID] = true
	}
	var all []model // the whole catalog, read once if needed
	for _, name := range slices.Sorted(maps.Keys(k.Aliases)) {
		if listed[name] {
			continue
		}
		// The Router resolves the target, as a request for name would.
		ex, err := h.rt.Explain(k.Aliases[name])
		if err != nil {
			continue // disabled or gone: not usable, so not listed
		}
		if all == nil {
			all = catalogModels(h.rt.Catalog(ctx, nil))
		}
		m := model{ID: name, Object: "model", Created: k.Created.Unix(), OwnedBy: "modelroute"}
		for _, c := range all {
			if c.ID == ex.Group {
				m.OwnedBy = c.OwnedBy
			}
		}
		ms = append(ms, m)
	}
	return ms
}

// ModelInfo serves GET /model/info: one row per deployment per name the
// caller may use; an alias gets a row for each deployment of its group, with
// the same id. No row carries an API key.
func (h *Handler) ModelInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Data []modelInfo `json:"data"`
		}{catalogModelInfo(h.catalog(r.Context()))})
	})
}

// ModelGroupInfo serves GET /model_group/info: one row per name the caller
// may use, aliases included under their own name.
func (h *Handler) ModelGroupInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Data []groupInfo `json:"data"`
		}{catalogGroupInfo(h.catalog(r.Context()))})
	})
}

// Health serves GET /health: it probes every deployment once, now, however
// many names reach it, or with ?model=NAME what that one name (alias or
// group) resolves to. A name the caller may not use is refused like a
// request for it, and a restricted key sees only the deployments behind the
// names it may use.
func (h *Handler) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hc := h.health
		if hc == nil {
			hc = h.rt.NewHealthChecker()
			defer hc.Close()
		}
		var (
			rep router.HealthReport
			err error
		)
		if name := r.URL.Query().Get("model"); name != "" {
			if e := h.mayUse(r.Context(), name); e != nil {
				writeError(w, e)
				return
			}
			rep, err = hc.CheckName(r.Context(), name)
			if err != nil {
				writeError(w, modelError(name, err))
				return
			}
		} else {
			// A restricted key sees, and so probes, only the deployments
			// behind the names it may use: no other deployment's model or
			// address, and no probes of them on its behalf.
			if p, _ := PrincipalFrom(r.Context()); !p.Master && h.ac != nil {
				var ids []string
				for _, l := range h.catalog(r.Context()) {
					for _, d := range l.Deployments {
						ids = append(ids, d.ID)
					}
				}
				rep, err = hc.CheckDeployments(r.Context(), ids)
			} else {
				rep, err = hc.Check(r.Context())
			}
			if err != nil {
				writeError(w, errorf(http.StatusServiceUnavailable, typeAPI, CodeInternal, "health check: "+err.Error()))
				return
			}
		}
		writeJSON(w, http.StatusOK, newHealthReport(rep))
	})
}

// Liveliness serves GET /health/liveliness: the process is up.
func (h *Handler) Liveliness() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "healthy"})
	})
}

// Readiness serves GET /health/readiness: the router is ready to route.
func (h *Handler) Readiness() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "healthy", "db": "not connected", "cache": nil})
	})
}
