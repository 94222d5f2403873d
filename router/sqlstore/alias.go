package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/modelroute/modelroute/alias"
)

// AliasStore keeps the alias registry in the aliases table, one row per
// alias: an alias.RowStore. Put and Delete touch one row, and Delete also
// removes the alias from the members of every access group in the same
// transaction, so that a later alias of the same name does not inherit
// the deleted one's access, even if the process dies before the access
// Checker hears of the delete.
type AliasStore struct {
	db *DB
}

var _ alias.RowStore = (*AliasStore)(nil)

const aliasColumns = `name, target, description, disabled, hidden, labels, created_ns, updated_ns, revision`

// Load returns every alias, sorted by name.
func (s *AliasStore) Load(ctx context.Context) ([]alias.Alias, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+aliasColumns+` FROM aliases ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load aliases: %w", err)
	}
	defer rows.Close()
	var out []alias.Alias
	for rows.Next() {
		var a alias.Alias
		var disabled, hidden, created, updated, rev int64
		var labels string
		if err := rows.Scan(&a.Name, &a.Target, &a.Description, &disabled, &hidden, &labels, &created, &updated, &rev); err != nil {
			return nil, fmt.Errorf("sqlstore: load aliases: %w", err)
		}
		a.Disabled, a.Hidden = disabled != 0, hidden != 0
		a.Created, a.Updated, a.Revision = fromUnixNanos(created), fromUnixNanos(updated), uint64(rev)
		if a.Labels, err = mapColumn("alias", a.Name, "labels", labels); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: load aliases: %w", err)
	}
	return out, nil
}

// Save replaces every alias with all, in one transaction.
func (s *AliasStore) Save(ctx context.Context, all []alias.Alias) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM aliases`); err != nil {
			return fmt.Errorf("sqlstore: save aliases: %w", err)
		}
		for _, a := range all {
			if err := putAlias(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// Put inserts or replaces alias a.Name.
func (s *AliasStore) Put(ctx context.Context, a alias.Alias) error {
	return putAlias(ctx, s.db.db, a)
}

// Delete removes alias name and its access-group memberships, in one
// transaction.
func (s *AliasStore) Delete(ctx context.Context, name string) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE name = $1`, name); err != nil {
			return fmt.Errorf("sqlstore: delete alias %q: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM access_group_members WHERE member = $1`, name); err != nil {
			return fmt.Errorf("sqlstore: delete alias %q: prune access groups: %w", name, err)
		}
		return nil
	})
}

// execer is what *sql.DB and *sql.Tx have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func putAlias(ctx context.Context, db execer, a alias.Alias) error {
	labels, err := jsonText(a.Labels, "{}")
	if err != nil {
		return fmt.Errorf("sqlstore: put alias %q: %w", a.Name, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO aliases (`+aliasColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (name) DO UPDATE SET target = excluded.target, description = excluded.description,
			disabled = excluded.disabled, hidden = excluded.hidden, labels = excluded.labels,
			created_ns = excluded.created_ns, updated_ns = excluded.updated_ns, revision = excluded.revision`,
		a.Name, a.Target, a.Description, boolInt(a.Disabled), boolInt(a.Hidden), labels,
		unixNanos(a.Created), unixNanos(a.Updated), int64(a.Revision))
	if err != nil {
		return fmt.Errorf("sqlstore: put alias %q: %w", a.Name, err)
	}
	return nil
}
