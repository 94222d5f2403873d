package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/modelroute/modelroute/access"
)

// UsageStore keeps usage counters in the usage_counters table, one row per
// dimension and name: an access.UsageRowStore. AddUsage adds the counts
// recorded since the last save to their rows in one transaction, so that
// several gateway replicas can add to the same counters.
type UsageStore struct {
	db *DB
}

var _ access.UsageRowStore = (*UsageStore)(nil)

// dimensions are the usage dimensions, as stored in the dimension column.
var dimensions = []access.Dimension{access.PerName, access.PerGroup, access.PerDeployment, access.PerKey, access.PerTeam}

// table returns the map of s that holds dimension d.
func table(s *access.UsageSnapshot, d access.Dimension) *map[string]access.Stats {
	switch d {
	case access.PerName:
		return &s.Names
	case access.PerGroup:
		return &s.Groups
	case access.PerDeployment:
		return &s.Deployments
	case access.PerKey:
		return &s.Keys
	default:
		return &s.Teams
	}
}

// Load reads every counter.
func (s *UsageStore) Load(ctx context.Context) (access.UsageSnapshot, error) {
	var snap access.UsageSnapshot
	rows, err := s.db.db.QueryContext(ctx, `SELECT dimension, name, calls, errors, prompt_tokens,
		completion_tokens, cost_nanos, latency_ns FROM usage_counters`)
	if err != nil {
		return snap, fmt.Errorf("sqlstore: load usage: %w", err)
	}
	defer rows.Close()
	byName := map[string]access.Dimension{}
	for _, d := range dimensions {
		byName[d.String()] = d
	}
	for rows.Next() {
		var dim, name string
		var st access.Stats
		var cost, latency int64
		if err := rows.Scan(&dim, &name, &st.Calls, &st.Errors, &st.PromptTokens, &st.CompletionTokens, &cost, &latency); err != nil {
			return snap, fmt.Errorf("sqlstore: load usage: %w", err)
		}
		d, ok := byName[dim]
		if !ok {
			return snap, fmt.Errorf("sqlstore: load usage: unknown dimension %q", dim)
		}
		st.CostUSD, st.Latency = float64(cost)/1e9, time.Duration(latency)
		m := table(&snap, d)
		if *m == nil {
			*m = map[string]access.Stats{}
		}
		(*m)[name] = st
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("sqlstore: load usage: %w", err)
	}
	return snap, nil
}

// Save replaces every counter with snap, in one transaction.
func (s *UsageStore) Save(ctx context.Context, snap access.UsageSnapshot) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM usage_counters`); err != nil {
			return fmt.Errorf("sqlstore: save usage: %w", err)
		}
		return addUsage(ctx, tx, snap)
	})
}

// AddUsage adds delta to the counters, in one transaction.
func (s *UsageStore) AddUsage(ctx context.Context, delta access.UsageSnapshot) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error { return addUsage(ctx, tx, delta) })
}

func addUsage(ctx context.Context, tx *sql.Tx, delta access.UsageSnapshot) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO usage_counters (dimension, name, calls, errors,
			prompt_tokens, completion_tokens, cost_nanos, latency_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (dimension, name) DO UPDATE SET calls = usage_counters.calls + excluded.calls,
			errors = usage_counters.errors + excluded.errors,
			prompt_tokens = usage_counters.prompt_tokens + excluded.prompt_tokens,
			completion_tokens = usage_counters.completion_tokens + excluded.completion_tokens,
			cost_nanos = usage_counters.cost_nanos + excluded.cost_nanos,
			latency_ns = usage_counters.latency_ns + excluded.latency_ns`)
	if err != nil {
		return fmt.Errorf("sqlstore: add usage: %w", err)
	}
	defer stmt.Close()
	for _, d := range dimensions {
		for name, st := range *table(&delta, d) {
			if _, err := stmt.ExecContext(ctx, d.String(), name, st.Calls, st.Errors, st.PromptTokens,
				st.CompletionTokens, int64(math.Round(st.CostUSD*1e9)), int64(st.Latency)); err != nil {
				return fmt.Errorf("sqlstore: add usage: %s %q: %w", d, name, err)
			}
		}
	}
	return nil
}
