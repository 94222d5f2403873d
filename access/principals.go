package access

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Key is a virtual API key: the principal every request is authorized as.
//
// The zero value of every optional field means "no restriction of this
// kind": no team, no budget, never expires, not blocked. An empty grant
// list (Models and AccessGroups both empty) means whatever the team allows,
// or every name when the key has no team.
type Key struct {
	// ID identifies the key. Required, unique. The gateway stores a hash of
	// the secret here, never the secret itself.
	ID string `json:"id"`
	// Name is an optional human label (LiteLLM's key_alias). Errors name
	// the key by Name when set, else by the first characters of ID.
	Name string `json:"name,omitempty"`
	// TeamID is the team the key belongs to, if any; it must exist. The
	// key's rights are narrowed by the team's: a key never reaches beyond
	// its team.
	TeamID string `json:"team_id,omitempty"`
	// Models are the key's grants: exact names, "*", prefix wildcards such
	// as "openai/*", or access-group names (which grant the group's
	// members as well as the literal name).
	Models []string `json:"models,omitempty"`
	// AccessGroups are access groups granted to the key; each must exist.
	AccessGroups []string `json:"access_groups,omitempty"`
	// Aliases are the key's own aliases (LiteLLM's key-level aliases): a
	// name the key may call, and the name it stands for. The key may
	// always call its own aliases, whatever its grants; the router
	// resolves them first (Checker.CallerAlias).
	Aliases map[string]string `json:"aliases,omitempty"`
	// MaxBudget is the key's budget in USD; 0 means no limit.
	MaxBudget float64 `json:"max_budget,omitempty"`
	// BudgetDuration, when not zero, makes MaxBudget a budget per period
	// (LiteLLM's budget_duration: 1d, 7d, 30d): spend restarts from 0 at
	// the end of each period. Periods are counted from Created. Changing
	// it restarts spend from 0. At least a second, at most ten years.
	BudgetDuration time.Duration `json:"budget_duration,omitempty"`
	// RPMLimit and TPMLimit are the key's rate limits (LiteLLM's
	// rpm_limit and tpm_limit): at most RPMLimit requests, and no new
	// request once TPMLimit tokens are used, in any minute, counted by
	// the Checker's Limiter as a sliding window (see Limiter); 0 means no
	// limit. Tokens are counted after each answer (RecordTokens).
	RPMLimit int64 `json:"rpm_limit,omitempty"`
	TPMLimit int64 `json:"tpm_limit,omitempty"`
	// Blocked refuses every request with ErrBlocked.
	Blocked bool `json:"blocked,omitempty"`
	// Expires, when not zero, is when the key stops working (ErrExpired).
	Expires time.Time `json:"expires,omitzero"`

	// Spend is the USD recorded against the key so far, in the current
	// budget period if BudgetDuration is set. Read-only: filled in by
	// GetKey and ListKeys, ignored by CreateKey and UpdateKey.
	Spend float64 `json:"spend,omitempty"`
	// BudgetResetAt is when the current period ends and Spend restarts
	// from 0; zero without BudgetDuration. Read-only, as Spend, and
	// stored with it.
	BudgetResetAt time.Time `json:"budget_reset_at,omitzero"`
	// Created and Updated are set by the Checker.
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// Team groups keys. A team may belong to an organization, whose grants
// narrow the team's.
type Team struct {
	ID             string `json:"id"`                        // required, unique
	OrganizationID string `json:"organization_id,omitempty"` // must exist when set
	Name           string `json:"name,omitempty"`            // LiteLLM's team_alias
	// Models and AccessGroups are the team's grants, with the same syntax
	// and the same "empty means the organization's rights, or everything"
	// rule as a Key's.
	Models       []string `json:"models,omitempty"`
	AccessGroups []string `json:"access_groups,omitempty"`
	// MaxBudget is the team's budget in USD, shared by its keys (the
	// gateway's credits_allocated); 0 means no limit.
	MaxBudget float64 `json:"max_budget,omitempty"`
	// BudgetDuration is the team's budget period, as Key.BudgetDuration.
	BudgetDuration time.Duration `json:"budget_duration,omitempty"`
	// Blocked refuses every key of the team with ErrBlocked.
	Blocked bool `json:"blocked,omitempty"`

	Spend         float64   `json:"spend,omitempty"`          // read-only, as Key.Spend
	BudgetResetAt time.Time `json:"budget_reset_at,omitzero"` // read-only, as Key.BudgetResetAt
	Created       time.Time `json:"created,omitzero"`
	Updated       time.Time `json:"updated,omitzero"`
}

// Organization groups teams.
type Organization struct {
	ID   string `json:"id"` // required, unique
	Name string `json:"name,omitempty"`
	// Models and AccessGroups, when not both empty, narrow every team of
	// the organization (and so every key of those teams).
	Models       []string `json:"models,omitempty"`
	AccessGroups []string `json:"access_groups,omitempty"`
	// MaxBudget is the organization's budget in USD, shared by all its
	// teams' keys; 0 means no limit.
	MaxBudget float64 `json:"max_budget,omitempty"`
	// BudgetDuration is the organization's budget period, as
	// Key.BudgetDuration.
	BudgetDuration time.Duration `json:"budget_duration,omitempty"`

	Spend         float64   `json:"spend,omitempty"`          // read-only, as Key.Spend
	BudgetResetAt time.Time `json:"budget_reset_at,omitzero"` // read-only, as Key.BudgetResetAt
	Created       time.Time `json:"created,omitzero"`
	Updated       time.Time `json:"updated,omitzero"`
}

// AccessGroup is a named set of model names (aliases, groups, or prefix
// wildcards). Granting the group grants its members; changing the members
// changes the rights of every holder at once.
type AccessGroup struct {
	Name        string    `json:"name"` // required, unique; may not contain '*'
	Description string    `json:"description,omitempty"`
	Members     []string  `json:"members,omitempty"` // kept sorted and without duplicates
	Created     time.Time `json:"created,omitzero"`
	Updated     time.Time `json:"updated,omitzero"`
}

// maxNameLen bounds every ID, name and grant.
const maxNameLen = 512

// maxUSD bounds budgets and spend so that they fit the nano-dollar counters.
const maxUSD = 1e9

// checkName validates an ID or a plain name: not empty, at most maxNameLen
// bytes of valid UTF-8, no control characters, no leading or trailing
// space.
func checkName(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > maxNameLen:
		return "longer than " + strconv.Itoa(maxNameLen) + " bytes"
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.TrimSpace(s) != s:
		return "leading or trailing space"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "control character"
		}
	}
	return ""
}

// checkPlainName is checkName for names that may not be wildcards.
func checkPlainName(s string) string {
	if p := checkName(s); p != "" {
		return p
	}
	if strings.Contains(s, "*") {
		return "'*' not allowed"
	}
	return ""
}

// checkGrant validates a grant or access-group member: a plain name, "*",
// or a prefix followed by a single trailing '*'.
func checkGrant(s string) string {
	if p := checkName(s); p != "" {
		return p
	}
	if i := strings.IndexByte(s, '*'); i >= 0 && i != len(s)-1 {
		return "'*' only allowed at the end"
	}
	return ""
}

func checkBudget(usd float64) string {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 || usd > maxUSD {
		return fmt.Sprintf("max_budget %v: want a number from 0 to %g", usd, float64(maxUSD))
	}
	return ""
}

// maxLimit bounds rpm_limit and tpm_limit.
const maxLimit = 1 << 40

func checkLimit(field string, n int64) string {
	if n < 0 || n > maxLimit {
		return fmt.Sprintf("%s %d: want a number from 0 to %d", field, n, int64(maxLimit))
	}
	return ""
}

// normalizeList validates a grant list and removes duplicates, keeping the
// first occurrence. check validates one entry.
func normalizeList(field string, list []string, check func(string) string) ([]string, string) {
	if len(list) == 0 {
		return nil, ""
	}
	out := make([]string, 0, len(list))
	seen := make(map[string]struct{}, len(list))
	for _, e := range list {
		if p := check(e); p != "" {
			return nil, fmt.Sprintf("%s entry %q: %s", field, e, p)
		}
		if _, dup := seen[e]; dup {
			continue
		}
		seen[e] = struct{}{}
		out = append(out, e)
	}
	return out, ""
}

// sortedSet returns list sorted and without duplicates, in a new slice.
func sortedSet(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

func keyLabel(k *Key) string {
	if k.Name != "" {
		return "key " + strconv.Quote(k.Name)
	}
	return "key " + strconv.Quote(idPrefix(k.ID))
}

// idPrefix shortens a key ID (a hash of the secret) for messages.
func idPrefix(id string) string {
	const n = 8
	if len(id) <= n {
		return id
	}
	// Cut on a rune boundary.
	i := n
	for i > 0 && !utf8.RuneStart(id[i]) {
		i--
	}
	return id[:i] + "…"
}

func teamLabel(id string) string { return "team " + strconv.Quote(id) }
func orgLabel(id string) string  { return "organization " + strconv.Quote(id) }
func groupLabel(n string) string { return "access group " + strconv.Quote(n) }

// normalize validates k's own fields (not its references) and returns a
// copy that shares nothing with the caller.
func (k Key) normalize() (Key, error) {
	subject := "key"
	if k.ID != "" && checkName(k.ID) == "" {
		subject = keyLabel(&k)
	}
	fail := func(p string) (Key, error) { return Key{}, errorf(subject, ErrInvalid, "%s", p) }
	if p := checkName(k.ID); p != "" {
		return fail("id: " + p)
	}
	if k.Name != "" {
		if p := checkName(k.Name); p != "" {
			return fail("name: " + p)
		}
	}
	if k.TeamID != "" {
		if p := checkName(k.TeamID); p != "" {
			return fail("team_id: " + p)
		}
	}
	var p string
	if k.Models, p = normalizeList("models", k.Models, checkGrant); p != "" {
		return fail(p)
	}
	if k.AccessGroups, p = normalizeList("access_groups", k.AccessGroups, checkPlainName); p != "" {
		return fail(p)
	}
	if p := checkBudget(k.MaxBudget); p != "" {
		return fail(p)
	}
	if p := checkBudgetDuration(k.BudgetDuration); p != "" {
		return fail(p)
	}
	if p := checkLimit("rpm_limit", k.RPMLimit); p != "" {
		return fail(p)
	}
	if p := checkLimit("tpm_limit", k.TPMLimit); p != "" {
		return fail(p)
	}
	if len(k.Aliases) > 0 {
		aliases := make(map[string]string, len(k.Aliases))
		for name, target := range k.Aliases {
			if p := checkPlainName(name); p != "" {
				return fail(fmt.Sprintf("alias %q: %s", name, p))
			}
			if p := checkPlainName(target); p != "" {
				return fail(fmt.Sprintf("alias %q: target: %s", name, p))
			}
			if target == name {
				return fail(fmt.Sprintf("alias %q: points at itself", name))
			}
			if _, ok := k.Aliases[target]; ok {
				return fail(fmt.Sprintf("alias %q: target is another alias of the key (key aliases are one hop)", name))
			}
			aliases[name] = target
		}
		k.Aliases = aliases
	} else {
		k.Aliases = nil
	}
	k.Spend, k.BudgetResetAt = 0, time.Time{}
	return k, nil
}

func (t Team) normalize() (Team, error) {
	subject := "team"
	if checkName(t.ID) == "" {
		subject = teamLabel(t.ID)
	}
	fail := func(p string) (Team, error) { return Team{}, errorf(subject, ErrInvalid, "%s", p) }
	if p := checkName(t.ID); p != "" {
		return fail("id: " + p)
	}
	if t.OrganizationID != "" {
		if p := checkName(t.OrganizationID); p != "" {
			return fail("organization_id: " + p)
		}
	}
	if t.Name != "" {
		if p := checkName(t.Name); p != "" {
			return fail("name: " + p)
		}
	}
	var p string
	if t.Models, p = normalizeList("models", t.Models, checkGrant); p != "" {
		return fail(p)
	}
	if t.AccessGroups, p = normalizeList("access_groups", t.AccessGroups, checkPlainName); p != "" {
		return fail(p)
	}
	if p := checkBudget(t.MaxBudget); p != "" {
		return fail(p)
	}
	if p := checkBudgetDuration(t.BudgetDuration); p != "" {
		return fail(p)
	}
	t.Spend, t.BudgetResetAt = 0, time.Time{}
	return t, nil
}

func (o Organization) normalize() (Organization, error) {
	subject := "organization"
	if checkName(o.ID) == "" {
		subject = orgLabel(o.ID)
	}
	fail := func(p string) (Organization, error) { return Organization{}, errorf(subject, ErrInvalid, "%s", p) }
	if p := checkName(o.ID); p != "" {
		return fail("id: " + p)
	}
	if o.Name != "" {
		if p := checkName(o.Name); p != "" {
			return fail("name: " + p)
		}
	}
	var p string
	if o.Models, p = normalizeList("models", o.Models, checkGrant); p != "" {
		return fail(p)
	}
	if o.AccessGroups, p = normalizeList("access_groups", o.AccessGroups, checkPlainName); p != "" {
		return fail(p)
	}
	if p := checkBudget(o.MaxBudget); p != "" {
		return fail(p)
	}
	if p := checkBudgetDuration(o.BudgetDuration); p != "" {
		return fail(p)
	}
	o.Spend, o.BudgetResetAt = 0, time.Time{}
	return o, nil
}

func (g AccessGroup) normalize() (AccessGroup, error) {
	subject := "access group"
	if checkPlainName(g.Name) == "" {
		subject = groupLabel(g.Name)
	}
	if p := checkPlainName(g.Name); p != "" {
		return AccessGroup{}, errorf(subject, ErrInvalid, "name: %s", p)
	}
	for _, m := range g.Members {
		if p := checkGrant(m); p != "" {
			return AccessGroup{}, errorf(subject, ErrInvalid, "member %q: %s", m, p)
		}
	}
	g.Members = sortedSet(g.Members)
	return g, nil
}

// clone returns a deep copy of k.
func (k Key) clone() Key {
	k.Models = slices.Clone(k.Models)
	k.AccessGroups = slices.Clone(k.AccessGroups)
	if k.Aliases != nil {
		m := make(map[string]string, len(k.Aliases))
		for n, t := range k.Aliases {
			m[n] = t
		}
		k.Aliases = m
	}
	return k
}

func (t Team) clone() Team {
	t.Models = slices.Clone(t.Models)
	t.AccessGroups = slices.Clone(t.AccessGroups)
	return t
}

func (o Organization) clone() Organization {
	o.Models = slices.Clone(o.Models)
	o.AccessGroups = slices.Clone(o.AccessGroups)
	return o
}

func (g AccessGroup) clone() AccessGroup {
	g.Members = slices.Clone(g.Members)
	return g
}
