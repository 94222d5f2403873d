package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
)

// aliasJSON is an alias as the admin API shows it (the product guide's
// shape, with LiteLLM's names).
type aliasJSON struct {
	Alias        string            `json:"alias"`
	LiteLLMModel string            `json:"litellm_model"`
	Description  string            `json:"description"`
	Active       bool              `json:"active"`
	Hidden       bool              `json:"hidden"`
	Labels       map[string]string `json:"labels,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Revision     uint64            `json:"revision"`
	UsageCount   *int64            `json:"usage_count,omitempty"`

	// Detail view only.
	AccessGroups    []string    `json:"access_groups,omitzero"`
	TeamsWithAccess *int        `json:"teams_with_access,omitempty"`
	UsageStats      *usageStats `json:"usage_stats,omitempty"`
}

type usageStats struct {
	TotalCalls       int64   `json:"total_calls"`
	TotalCostUSD     float64 `json:"total_cost_usd"`
	AvgTokensPerCall float64 `json:"avg_tokens_per_call"`
}

func toAliasJSON(a alias.Alias) aliasJSON {
	return aliasJSON{
		Alias: a.Name, LiteLLMModel: a.Target, Description: a.Description,
		Active: a.Active(), Hidden: a.Hidden, Labels: a.Labels,
		CreatedAt: a.Created, UpdatedAt: a.Updated, Revision: a.Revision,
	}
}

// adminError maps an error of the Registry or the Checker to its answer.
// Admin answers may name what they like: only the master key sees them.
func adminError(err error) *apiError {
	switch {
	case errors.Is(err, alias.ErrExists):
		return errorf(http.StatusConflict, typeInvalidRequest, CodeAliasExists, err.Error())
	case errors.Is(err, alias.ErrNotFound):
		return errorf(http.StatusNotFound, typeNotFound, CodeAliasNotFound, err.Error())
	case errors.Is(err, alias.ErrConflict):
		return errorf(http.StatusConflict, typeInvalidRequest, "revision_conflict", err.Error())
	case errors.Is(err, access.ErrExists), errors.Is(err, access.ErrInUse):
		return errorf(http.StatusConflict, typeInvalidRequest, CodeExists, err.Error())
	case errors.Is(err, access.ErrNotFound):
		return errorf(http.StatusNotFound, typeNotFound, CodeNotFound, err.Error())
	case errors.Is(err, alias.ErrInvalid), errors.Is(err, alias.ErrCycle), errors.Is(err, access.ErrInvalid):
		return badRequest(err.Error())
	case errors.Is(err, alias.ErrClosed), errors.Is(err, access.ErrClosed):
		return errorf(http.StatusServiceUnavailable, typeAPI, CodeInternal, err.Error())
	case errors.Is(err, alias.ErrStore), errors.Is(err, access.ErrStore):
		// The write was refused because its store failed (a disk, a
		// database, an unreachable Redis): the server's trouble, not the
		// caller's, and worth a retry.
		return errorf(http.StatusServiceUnavailable, typeAPI, CodeStoreUnavailable, err.Error())
	}
	// A target check refusal (unknown target, shadowed group) is the
	// caller's mistake; the Registry leaves it unwrapped from its sentinels.
	return badRequest(err.Error())
}

// Admin serves the admin API under /api/: model aliases, access groups,
// organizations and teams. Mount it behind the master key (Mux does).
func (h *Handler) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/model-aliases/create", h.createAlias)
	mux.HandleFunc("GET /api/model-aliases", h.listAliases)
	mux.HandleFunc("GET /api/model-aliases/{alias...}", h.getAlias)
	mux.HandleFunc("PUT /api/model-aliases/{alias...}", h.updateAlias)
	mux.HandleFunc("PATCH /api/model-aliases/{alias...}", h.updateAlias)
	mux.HandleFunc("DELETE /api/model-aliases/{alias...}", h.deleteAlias)
	mux.HandleFunc("POST /api/model-access-groups/create", h.createAccessGroup)
	mux.HandleFunc("GET /api/model-access-groups", h.listAccessGroups)
	mux.HandleFunc("POST /api/model-access-groups/{group}/add-models", h.addGroupModels)
	mux.HandleFunc("POST /api/model-access-groups/{group}/remove-models", h.removeGroupModels)
	mux.HandleFunc("POST /api/organizations/create", h.createOrganization)
	mux.HandleFunc("GET /api/organizations", h.listOrganizations)
	mux.HandleFunc("POST /api/teams/create", h.createTeam)
	mux.HandleFunc("GET /api/teams", h.listTeams)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, typeNotFound, CodeNotFound, "no endpoint "+r.Method+" "+r.URL.Path))
	})
	return mux
}

func (h *Handler) needRegistry(w http.ResponseWriter) bool {
	if h.reg == nil {
		writeError(w, errorf(http.StatusNotImplemented, typeAPI, CodeInternal, "this server has no alias registry"))
		return false
	}
	return true
}

func (h *Handler) needAccess(w http.ResponseWriter) bool {
	if h.ac == nil {
		writeError(w, errorf(http.StatusNotImplemented, typeAPI, CodeInternal, "this server has no access checker"))
		return false
	}
	return true
}

func (h *Handler) createAlias(w http.ResponseWriter, r *http.Request) {
	if !h.needRegistry(w) {
		return
	}
	var in struct {
		Alias        string            `json:"alias"`
		LiteLLMModel string            `json:"litellm_model"`
		Description  string            `json:"description"`
		Active       *bool             `json:"active"`
		Hidden       bool              `json:"hidden"`
		Labels       map[string]string `json:"labels"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	if in.Alias == "" {
		writeError(w, badParam("alias", "missing required field \"alias\""))
		return
	}
	if in.LiteLLMModel == "" {
		writeError(w, badParam("litellm_model", "missing required field \"litellm_model\""))
		return
	}
	a, err := h.reg.Create(r.Context(), alias.Alias{
		Name: in.Alias, Target: in.LiteLLMModel, Description: in.Description,
		Disabled: in.Active != nil && !*in.Active, Hidden: in.Hidden, Labels: in.Labels,
	})
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	writeJSON(w, http.StatusCreated, toAliasJSON(a))
}

func (h *Handler) calls(name string) int64 {
	if h.usage == nil {
		return 0
	}
	return h.usage.ByName(name).Calls
}

func (h *Handler) listAliases(w http.ResponseWriter, r *http.Request) {
	if !h.needRegistry(w) {
		return
	}
	all := h.reg.List(alias.ListOptions{IncludeHidden: true, IncludeDisabled: true})
	out := make([]aliasJSON, len(all))
	for i, a := range all {
		out[i] = toAliasJSON(a)
		n := h.calls(a.Name)
		out[i].UsageCount = &n
	}
	writeJSON(w, http.StatusOK, map[string]any{"aliases": out})
}

func (h *Handler) getAlias(w http.ResponseWriter, r *http.Request) {
	if !h.needRegistry(w) {
		return
	}
	a, err := h.reg.Get(r.PathValue("alias"))
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	out := toAliasJSON(a)
	n := h.calls(a.Name)
	out.UsageCount = &n
	out.AccessGroups = []string{}
	teams := 0
	if h.ac != nil {
		if g := h.ac.GroupsContaining(a.Name); g != nil {
			out.AccessGroups = g
		}
		t, _ := h.ac.WhoCanUse(a.Name)
		teams = len(t)
	}
	out.TeamsWithAccess = &teams
	out.UsageStats = &usageStats{}
	if h.usage != nil {
		s := h.usage.ByName(a.Name)
		out.UsageStats = &usageStats{TotalCalls: s.Calls, TotalCostUSD: s.CostUSD, AvgTokensPerCall: s.AvgTokensPerCall}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) updateAlias(w http.ResponseWriter, r *http.Request) {
	if !h.needRegistry(w) {
		return
	}
	var in struct {
		LiteLLMModel *string            `json:"litellm_model"`
		Description  *string            `json:"description"`
		Active       *bool              `json:"active"`
		Hidden       *bool              `json:"hidden"`
		Labels       *map[string]string `json:"labels"`
		Revision     uint64             `json:"revision"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	u := alias.Update{Target: in.LiteLLMModel, Description: in.Description, Hidden: in.Hidden, IfRevision: in.Revision}
	if in.LiteLLMModel != nil && *in.LiteLLMModel == "" {
		writeError(w, badParam("litellm_model", "\"litellm_model\" may not be empty"))
		return
	}
	if in.Active != nil {
		d := !*in.Active
		u.Disabled = &d
	}
	if in.Labels != nil {
		u.Labels = *in.Labels
		if u.Labels == nil {
			u.Labels = map[string]string{}
		}
	}
	a, err := h.reg.Update(r.Context(), r.PathValue("alias"), u)
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	writeJSON(w, http.StatusOK, toAliasJSON(a))
}

func (h *Handler) deleteAlias(w http.ResponseWriter, r *http.Request) {
	if !h.needRegistry(w) {
		return
	}
	a, err := h.reg.Delete(r.Context(), r.PathValue("alias"))
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	if h.ac != nil {
		// Also wired through the Registry's Subscribe by the gateway; doing
		// it here makes the answer true as soon as it is sent.
		if err := h.ac.RemoveName(r.Context(), a.Name); err != nil {
			writeError(w, adminError(err))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "alias": a.Name})
}

func (h *Handler) createAccessGroup(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	var in struct {
		GroupName    string   `json:"group_name"`
		Description  string   `json:"description"`
		ModelAliases []string `json:"model_aliases"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	if in.GroupName == "" {
		writeError(w, badParam("group_name", "missing required field \"group_name\""))
		return
	}
	g, err := h.ac.CreateAccessGroup(r.Context(), access.AccessGroup{Name: in.GroupName, Description: in.Description, Members: in.ModelAliases})
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	writeJSON(w, http.StatusCreated, groupJSON(g))
}

func groupJSON(g access.AccessGroup) map[string]any {
	m := g.Members
	if m == nil {
		m = []string{}
	}
	return map[string]any{"group_name": g.Name, "description": g.Description, "model_aliases": m}
}

func (h *Handler) listAccessGroups(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	all := h.ac.ListAccessGroups()
	out := make([]map[string]any, len(all))
	for i, g := range all {
		out[i] = groupJSON(g)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_groups": out})
}

func (h *Handler) groupMembers(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, group string, names ...string) (access.AccessGroup, error)) {
	if !h.needAccess(w) {
		return
	}
	var in struct {
		ModelAliases []string `json:"model_aliases"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	if len(in.ModelAliases) == 0 {
		writeError(w, badParam("model_aliases", "missing required field \"model_aliases\""))
		return
	}
	g, err := change(r.Context(), r.PathValue("group"), in.ModelAliases...)
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	writeJSON(w, http.StatusOK, groupJSON(g))
}

func (h *Handler) addGroupModels(w http.ResponseWriter, r *http.Request) {
	h.groupMembers(w, r, h.ac.AddGroupMembers)
}

func (h *Handler) removeGroupModels(w http.ResponseWriter, r *http.Request) {
	h.groupMembers(w, r, h.ac.RemoveGroupMembers)
}

func (h *Handler) createOrganization(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	var in struct {
		OrganizationID string   `json:"organization_id"`
		Name           string   `json:"name"`
		Models         []string `json:"models"`
		MaxBudget      float64  `json:"max_budget"`
		BudgetDuration string   `json:"budget_duration"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	if in.OrganizationID == "" {
		writeError(w, badParam("organization_id", "missing required field \"organization_id\""))
		return
	}
	period, ok := budgetDuration(w, in.BudgetDuration)
	if !ok {
		return
	}
	o, err := h.ac.CreateOrganization(r.Context(), access.Organization{ID: in.OrganizationID, Name: in.Name, Models: in.Models,
		MaxBudget: in.MaxBudget, BudgetDuration: period})
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	out := map[string]any{"organization_id": o.ID, "name": o.Name, "models": o.Models, "max_budget": o.MaxBudget}
	addBudgetPeriod(out, o.BudgetDuration, o.BudgetResetAt)
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) listOrganizations(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"organizations": h.ac.ListOrganizations()})
}

func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	var in struct {
		OrganizationID   string   `json:"organization_id"`
		TeamID           string   `json:"team_id"`
		TeamAlias        string   `json:"team_alias"`
		Models           []string `json:"models"`
		AccessGroups     []string `json:"access_groups"`
		CreditsAllocated float64  `json:"credits_allocated"`
		BudgetDuration   string   `json:"budget_duration"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	if in.TeamID == "" {
		writeError(w, badParam("team_id", "missing required field \"team_id\""))
		return
	}
	period, ok := budgetDuration(w, in.BudgetDuration)
	if !ok {
		return
	}
	t, err := h.ac.CreateTeam(r.Context(), access.Team{
		ID: in.TeamID, OrganizationID: in.OrganizationID, Name: in.TeamAlias,
		Models: in.Models, AccessGroups: in.AccessGroups, MaxBudget: in.CreditsAllocated, BudgetDuration: period,
	})
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	writeJSON(w, http.StatusCreated, teamJSON(t))
}

func teamJSON(t access.Team) map[string]any {
	out := map[string]any{
		"team_id": t.ID, "organization_id": t.OrganizationID, "team_alias": t.Name,
		"models": t.Models, "access_groups": t.AccessGroups, "credits_allocated": t.MaxBudget, "spend": t.Spend,
	}
	addBudgetPeriod(out, t.BudgetDuration, t.BudgetResetAt)
	return out
}

// budgetDuration reads a budget_duration field ("1d", "7d", "30d", or what
// parseDuration takes; "" is none), writing the error response if it is
// bad.
func budgetDuration(w http.ResponseWriter, s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	d, err := parseDuration(s)
	if err != nil {
		writeError(w, badParam("budget_duration", "budget_"+err.Error()))
		return 0, false
	}
	return d, true
}

// addBudgetPeriod adds LiteLLM's budget_duration ("30d", or "90m" for
// what is not whole days) and budget_reset_at to a response, when a budget
// has a period.
func addBudgetPeriod(out map[string]any, d time.Duration, resetAt time.Time) {
	if d == 0 {
		return
	}
	if d%(24*time.Hour) == 0 {
		out["budget_duration"] = strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	} else {
		out["budget_duration"] = d.String()
	}
	if !resetAt.IsZero() {
		out["budget_reset_at"] = resetAt
	}
}

func (h *Handler) listTeams(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	all := h.ac.ListTeams()
	out := make([]map[string]any, len(all))
	for i, t := range all {
		out[i] = teamJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": out})
}

// Keys serves LiteLLM's key endpoints: POST /key/generate and
// POST /key/delete. Mount it behind the master key (Mux does).
func (h *Handler) Keys() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /key/generate", h.generateKey)
	mux.HandleFunc("POST /key/delete", h.deleteKeys)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, typeNotFound, CodeNotFound, "no endpoint "+r.Method+" "+r.URL.Path))
	})
	return mux
}

// newSecret returns a fresh virtual key: "sk-" and 32 random bytes.
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "sk-" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (h *Handler) generateKey(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	var in struct {
		Models         []string          `json:"models"`
		TeamID         string            `json:"team_id"`
		Aliases        map[string]string `json:"aliases"`
		MaxBudget      float64           `json:"max_budget"`
		KeyAlias       string            `json:"key_alias"`
		AccessGroups   []string          `json:"access_groups"`
		Duration       string            `json:"duration"`
		BudgetDuration string            `json:"budget_duration"`
		RPMLimit       int64             `json:"rpm_limit"`
		TPMLimit       int64             `json:"tpm_limit"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	period, ok := budgetDuration(w, in.BudgetDuration)
	if !ok {
		return
	}
	var expires time.Time
	if in.Duration != "" {
		d, err := parseDuration(in.Duration)
		if err != nil {
			writeError(w, badParam("duration", err.Error()))
			return
		}
		expires = time.Now().Add(d)
	}
	secret, err := newSecret()
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, typeAPI, CodeInternal, "cannot make a key: "+err.Error()))
		return
	}
	k, err := h.ac.CreateKey(r.Context(), access.Key{
		ID: HashKey(secret), Name: in.KeyAlias, TeamID: in.TeamID, Models: in.Models,
		AccessGroups: in.AccessGroups, Aliases: in.Aliases, MaxBudget: in.MaxBudget, Expires: expires,
		BudgetDuration: period, RPMLimit: in.RPMLimit, TPMLimit: in.TPMLimit,
	})
	if err != nil {
		writeError(w, adminError(err))
		return
	}
	out := map[string]any{
		"key": secret, "token": k.ID, "key_alias": k.Name, "team_id": k.TeamID,
		"models": nonNil(k.Models), "aliases": k.Aliases, "max_budget": k.MaxBudget,
		"rpm_limit": nullIfZero(k.RPMLimit), "tpm_limit": nullIfZero(k.TPMLimit),
	}
	if !k.Expires.IsZero() {
		out["expires"] = k.Expires
	}
	addBudgetPeriod(out, k.BudgetDuration, k.BudgetResetAt)
	writeJSON(w, http.StatusOK, out)
}

// nullIfZero is a limit as LiteLLM answers it: null when there is none.
func nullIfZero(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// parseDuration reads LiteLLM's key durations: "30s", "30m", "30h", "30d",
// or anything time.ParseDuration takes.
func parseDuration(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		days, err := strconv.Atoi(s[:n-1])
		if err == nil && days > 0 && days < 100000 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("duration " + strconv.Quote(s) + " is not a positive duration such as \"30m\", \"12h\" or \"30d\"")
	}
	return d, nil
}

func (h *Handler) deleteKeys(w http.ResponseWriter, r *http.Request) {
	if !h.needAccess(w) {
		return
	}
	var in struct {
		Keys []string `json:"keys"`
	}
	if e := h.decode(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	if len(in.Keys) == 0 {
		writeError(w, badParam("keys", "missing required field \"keys\""))
		return
	}
	deleted := make([]string, 0, len(in.Keys))
	for _, k := range in.Keys {
		id := k
		if len(k) > 3 && k[:3] == "sk-" {
			id = HashKey(k) // a secret; IDs (hashes) are accepted too
		}
		if _, err := h.ac.DeleteKey(r.Context(), id); err != nil {
			writeError(w, adminError(err))
			return
		}
		deleted = append(deleted, id)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted_keys": deleted})
}
