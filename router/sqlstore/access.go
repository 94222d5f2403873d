package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/modelroute/modelroute/access"
)

// AccessStore keeps the access Checker's keys, teams, organizations and
// access groups, one row each (group members one row per member), with
// each principal's spend and budget reset time in its row: an
// access.RowStore. A write changes the rows it names, in one transaction;
// spend arrives as deltas, so that several Checkers can add to it.
type AccessStore struct {
	db *DB
}

var _ access.RowStore = (*AccessStore)(nil)

const (
	keyColumns = `id, name, team_id, models, access_groups, aliases, max_budget, budget_duration_ns,
		blocked, expires_ns, created_ns, updated_ns, spend_nanos, budget_reset_ns, rpm_limit, tpm_limit`
	teamColumns = `id, organization_id, name, models, access_groups, max_budget, budget_duration_ns,
		blocked, created_ns, updated_ns, spend_nanos, budget_reset_ns`
	orgColumns = `id, name, models, access_groups, max_budget, budget_duration_ns,
		created_ns, updated_ns, spend_nanos, budget_reset_ns`
)

// Load reads the whole state, each list sorted by ID or name.
func (s *AccessStore) Load(ctx context.Context) (access.State, error) {
	var st access.State
	tx, err := s.db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.db.dialect == PostgreSQL})
	if err != nil {
		return st, fmt.Errorf("sqlstore: load access: %w", err)
	}
	defer tx.Rollback()
	if st.Keys, err = loadKeys(ctx, tx); err != nil {
		return access.State{}, err
	}
	if st.Teams, err = loadTeams(ctx, tx); err != nil {
		return access.State{}, err
	}
	if st.Organizations, err = loadOrgs(ctx, tx); err != nil {
		return access.State{}, err
	}
	if st.AccessGroups, err = loadGroups(ctx, tx); err != nil {
		return access.State{}, err
	}
	return st, nil
}

// Save replaces the whole state with st, spend included, in one
// transaction.
func (s *AccessStore) Save(ctx context.Context, st access.State) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range []string{"access_keys", "access_teams", "access_organizations", "access_groups", "access_group_members"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return fmt.Errorf("sqlstore: save access: %w", err)
			}
		}
		for _, k := range st.Keys {
			if err := putKey(ctx, tx, k, spendOf(k.Spend, k.BudgetResetAt)); err != nil {
				return err
			}
		}
		for _, t := range st.Teams {
			if err := putTeam(ctx, tx, t, spendOf(t.Spend, t.BudgetResetAt)); err != nil {
				return err
			}
		}
		for _, o := range st.Organizations {
			if err := putOrg(ctx, tx, o, spendOf(o.Spend, o.BudgetResetAt)); err != nil {
				return err
			}
		}
		for _, g := range st.AccessGroups {
			if err := putGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		return nil
	})
}

// Apply writes the rows ch names, in one transaction.
func (s *AccessStore) Apply(ctx context.Context, ch access.Changes) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, g := range ch.PutAccessGroups {
			if err := putGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		for _, o := range ch.PutOrganizations {
			if err := putOrg(ctx, tx, o, nil); err != nil {
				return err
			}
		}
		for _, t := range ch.PutTeams {
			if err := putTeam(ctx, tx, t, nil); err != nil {
				return err
			}
		}
		for _, k := range ch.PutKeys {
			if err := putKey(ctx, tx, k, nil); err != nil {
				return err
			}
		}
		for _, del := range []struct {
			ids   []string
			query string
		}{
			{ch.DeleteKeys, `DELETE FROM access_keys WHERE id = $1`},
			{ch.DeleteTeams, `DELETE FROM access_teams WHERE id = $1`},
			{ch.DeleteOrganizations, `DELETE FROM access_organizations WHERE id = $1`},
			{ch.DeleteAccessGroups, `DELETE FROM access_groups WHERE name = $1`},
			{ch.DeleteAccessGroups, `DELETE FROM access_group_members WHERE group_name = $1`},
		} {
			for _, id := range del.ids {
				if _, err := tx.ExecContext(ctx, del.query, id); err != nil {
					return fmt.Errorf("sqlstore: delete %q: %w", id, err)
				}
			}
		}
		for _, sp := range []struct {
			table  string
			deltas []access.SpendDelta
		}{
			{"access_keys", ch.KeySpend},
			{"access_teams", ch.TeamSpend},
			{"access_organizations", ch.OrganizationSpend},
		} {
			for _, d := range sp.deltas {
				if err := addSpend(ctx, tx, sp.table, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// addSpend applies one spend delta by the rules of access.SpendDelta.
func addSpend(ctx context.Context, tx *sql.Tx, table string, d access.SpendDelta) error {
	if d.Nanos <= 0 {
		return fmt.Errorf("sqlstore: %s %q: spend delta %d nano-USD is not positive", table, d.ID, d.Nanos)
	}
	reset := unixNanos(d.ResetAt)
	// CAST: PostgreSQL would otherwise infer int4 for $2 from "$2 = 0".
	_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET
			spend_nanos = CASE WHEN budget_reset_ns = CAST($2 AS BIGINT) OR CAST($2 AS BIGINT) = 0
				THEN spend_nanos + CAST($3 AS BIGINT) ELSE CAST($3 AS BIGINT) END,
			budget_reset_ns = CAST($2 AS BIGINT)
		WHERE id = $1 AND (CAST($2 AS BIGINT) = 0 OR budget_reset_ns <= CAST($2 AS BIGINT))`, d.ID, reset, d.Nanos)
	if err != nil {
		return fmt.Errorf("sqlstore: %s %q: add spend: %w", table, d.ID, err)
	}
	return nil
}

// storedSpend is the spend a whole-state Save writes; nil keeps the
// stored spend (a definition's Put).
type storedSpend struct {
	nanos, resetNs int64
}

func spendOf(usd float64, resetAt time.Time) *storedSpend {
	return &storedSpend{nanos: int64(math.Round(usd * 1e9)), resetNs: unixNanos(resetAt)}
}

// spendSet returns the SQL that sets spend_nanos and budget_reset_ns on
// conflict: from sp when given, else the stored ones, restarted from 0 if
// the budget duration changes.
func spendSet(table string, sp *storedSpend) string {
	if sp != nil {
		return `spend_nanos = excluded.spend_nanos, budget_reset_ns = excluded.budget_reset_ns`
	}
	same := table + `.budget_duration_ns = excluded.budget_duration_ns`
	return `spend_nanos = CASE WHEN ` + same + ` THEN ` + table + `.spend_nanos ELSE 0 END,
		budget_reset_ns = CASE WHEN ` + same + ` THEN ` + table + `.budget_reset_ns ELSE 0 END`
}

func (sp *storedSpend) values() (int64, int64) {
	if sp == nil {
		return 0, 0
	}
	return sp.nanos, sp.resetNs
}

func putKey(ctx context.Context, tx *sql.Tx, k access.Key, sp *storedSpend) error {
	models, err1 := jsonText(k.Models, "[]")
	groups, err2 := jsonText(k.AccessGroups, "[]")
	aliases, err3 := jsonText(k.Aliases, "{}")
	if err := firstErr(err1, err2, err3); err != nil {
		return fmt.Errorf("sqlstore: put key %q: %w", k.ID, err)
	}
	spend, reset := sp.values()
	_, err := tx.ExecContext(ctx, `INSERT INTO access_keys (`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, team_id = excluded.team_id,
			rpm_limit = excluded.rpm_limit, tpm_limit = excluded.tpm_limit,
			models = excluded.models, access_groups = excluded.access_groups, aliases = excluded.aliases,
			max_budget = excluded.max_budget, blocked = excluded.blocked, expires_ns = excluded.expires_ns,
			created_ns = excluded.created_ns, updated_ns = excluded.updated_ns,
			`+spendSet("access_keys", sp)+`,
			budget_duration_ns = excluded.budget_duration_ns`,
		k.ID, k.Name, k.TeamID, models, groups, aliases, k.MaxBudget, int64(k.BudgetDuration),
		boolInt(k.Blocked), unixNanos(k.Expires), unixNanos(k.Created), unixNanos(k.Updated), spend, reset,
		k.RPMLimit, k.TPMLimit)
	if err != nil {
		return fmt.Errorf("sqlstore: put key %q: %w", k.ID, err)
	}
	return nil
}

func putTeam(ctx context.Context, tx *sql.Tx, t access.Team, sp *storedSpend) error {
	models, err1 := jsonText(t.Models, "[]")
	groups, err2 := jsonText(t.AccessGroups, "[]")
	if err := firstErr(err1, err2); err != nil {
		return fmt.Errorf("sqlstore: put team %q: %w", t.ID, err)
	}
	spend, reset := sp.values()
	_, err := tx.ExecContext(ctx, `INSERT INTO access_teams (`+teamColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, name = excluded.name,
			models = excluded.models, access_groups = excluded.access_groups,
			max_budget = excluded.max_budget, blocked = excluded.blocked,
			created_ns = excluded.created_ns, updated_ns = excluded.updated_ns,
			`+spendSet("access_teams", sp)+`,
			budget_duration_ns = excluded.budget_duration_ns`,
		t.ID, t.OrganizationID, t.Name, models, groups, t.MaxBudget, int64(t.BudgetDuration),
		boolInt(t.Blocked), unixNanos(t.Created), unixNanos(t.Updated), spend, reset)
	if err != nil {
		return fmt.Errorf("sqlstore: put team %q: %w", t.ID, err)
	}
	return nil
}

func putOrg(ctx context.Context, tx *sql.Tx, o access.Organization, sp *storedSpend) error {
	models, err1 := jsonText(o.Models, "[]")
	groups, err2 := jsonText(o.AccessGroups, "[]")
	if err := firstErr(err1, err2); err != nil {
		return fmt.Errorf("sqlstore: put organization %q: %w", o.ID, err)
	}
	spend, reset := sp.values()
	_, err := tx.ExecContext(ctx, `INSERT INTO access_organizations (`+orgColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name,
			models = excluded.models, access_groups = excluded.access_groups,
			max_budget = excluded.max_budget,
			created_ns = excluded.created_ns, updated_ns = excluded.updated_ns,
			`+spendSet("access_organizations", sp)+`,
			budget_duration_ns = excluded.budget_duration_ns`,
		o.ID, o.Name, models, groups, o.MaxBudget, int64(o.BudgetDuration),
		unixNanos(o.Created), unixNanos(o.Updated), spend, reset)
	if err != nil {
		return fmt.Errorf("sqlstore: put organization %q: %w", o.ID, err)
	}
	return nil
}

// putGroup writes the group's row and replaces its members.
func putGroup(ctx context.Context, tx *sql.Tx, g access.AccessGroup) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO access_groups (name, description, created_ns, updated_ns)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET description = excluded.description,
			created_ns = excluded.created_ns, updated_ns = excluded.updated_ns`,
		g.Name, g.Description, unixNanos(g.Created), unixNanos(g.Updated))
	if err != nil {
		return fmt.Errorf("sqlstore: put access group %q: %w", g.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM access_group_members WHERE group_name = $1`, g.Name); err != nil {
		return fmt.Errorf("sqlstore: put access group %q: %w", g.Name, err)
	}
	for _, m := range g.Members {
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_group_members (group_name, member) VALUES ($1, $2)`, g.Name, m); err != nil {
			return fmt.Errorf("sqlstore: put access group %q: member %q: %w", g.Name, m, err)
		}
	}
	return nil
}

func loadKeys(ctx context.Context, tx *sql.Tx) ([]access.Key, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+keyColumns+` FROM access_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load keys: %w", err)
	}
	defer rows.Close()
	var out []access.Key
	for rows.Next() {
		var k access.Key
		var models, groups, aliases string
		var dur, blocked, expires, created, updated, spend, reset int64
		if err := rows.Scan(&k.ID, &k.Name, &k.TeamID, &models, &groups, &aliases, &k.MaxBudget, &dur,
			&blocked, &expires, &created, &updated, &spend, &reset, &k.RPMLimit, &k.TPMLimit); err != nil {
			return nil, fmt.Errorf("sqlstore: load keys: %w", err)
		}
		var err1, err2, err3 error
		k.Models, err1 = listColumn("key", k.ID, "models", models)
		k.AccessGroups, err2 = listColumn("key", k.ID, "access_groups", groups)
		k.Aliases, err3 = mapColumn("key", k.ID, "aliases", aliases)
		if err := firstErr(err1, err2, err3); err != nil {
			return nil, err
		}
		k.BudgetDuration, k.Blocked = time.Duration(dur), blocked != 0
		k.Expires, k.Created, k.Updated = fromUnixNanos(expires), fromUnixNanos(created), fromUnixNanos(updated)
		k.Spend, k.BudgetResetAt = float64(spend)/1e9, fromUnixNanos(reset)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: load keys: %w", err)
	}
	return out, nil
}

func loadTeams(ctx context.Context, tx *sql.Tx) ([]access.Team, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+teamColumns+` FROM access_teams ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load teams: %w", err)
	}
	defer rows.Close()
	var out []access.Team
	for rows.Next() {
		var t access.Team
		var models, groups string
		var dur, blocked, created, updated, spend, reset int64
		if err := rows.Scan(&t.ID, &t.OrganizationID, &t.Name, &models, &groups, &t.MaxBudget, &dur,
			&blocked, &created, &updated, &spend, &reset); err != nil {
			return nil, fmt.Errorf("sqlstore: load teams: %w", err)
		}
		var err1, err2 error
		t.Models, err1 = listColumn("team", t.ID, "models", models)
		t.AccessGroups, err2 = listColumn("team", t.ID, "access_groups", groups)
		if err := firstErr(err1, err2); err != nil {
			return nil, err
		}
		t.BudgetDuration, t.Blocked = time.Duration(dur), blocked != 0
		t.Created, t.Updated = fromUnixNanos(created), fromUnixNanos(updated)
		t.Spend, t.BudgetResetAt = float64(spend)/1e9, fromUnixNanos(reset)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: load teams: %w", err)
	}
	return out, nil
}

func loadOrgs(ctx context.Context, tx *sql.Tx) ([]access.Organization, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+orgColumns+` FROM access_organizations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load organizations: %w", err)
	}
	defer rows.Close()
	var out []access.Organization
	for rows.Next() {
		var o access.Organization
		var models, groups string
		var dur, created, updated, spend, reset int64
		if err := rows.Scan(&o.ID, &o.Name, &models, &groups, &o.MaxBudget, &dur,
			&created, &updated, &spend, &reset); err != nil {
			return nil, fmt.Errorf("sqlstore: load organizations: %w", err)
		}
		var err1, err2 error
		o.Models, err1 = listColumn("organization", o.ID, "models", models)
		o.AccessGroups, err2 = listColumn("organization", o.ID, "access_groups", groups)
		if err := firstErr(err1, err2); err != nil {
			return nil, err
		}
		o.BudgetDuration = time.Duration(dur)
		o.Created, o.Updated = fromUnixNanos(created), fromUnixNanos(updated)
		o.Spend, o.BudgetResetAt = float64(spend)/1e9, fromUnixNanos(reset)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: load organizations: %w", err)
	}
	return out, nil
}

func loadGroups(ctx context.Context, tx *sql.Tx) ([]access.AccessGroup, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, description, created_ns, updated_ns FROM access_groups ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load access groups: %w", err)
	}
	var out []access.AccessGroup
	index := map[string]int{}
	for rows.Next() {
		var g access.AccessGroup
		var created, updated int64
		if err := rows.Scan(&g.Name, &g.Description, &created, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: load access groups: %w", err)
		}
		g.Created, g.Updated = fromUnixNanos(created), fromUnixNanos(updated)
		index[g.Name] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: load access groups: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT group_name, member FROM access_group_members ORDER BY group_name, member`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load access group members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, m string
		if err := rows.Scan(&g, &m); err != nil {
			return nil, fmt.Errorf("sqlstore: load access group members: %w", err)
		}
		if i, ok := index[g]; ok {
			out[i].Members = append(out[i].Members, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: load access group members: %w", err)
	}
	return out, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
