package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are the schema, one version per entry: version i+1 is
// migrations[i]. Applied versions are recorded in schema_migrations; a
// migration is never edited once released, only followed by another.
// Times are unix nanoseconds (0: none), money nano-USD, booleans 0 or 1,
// lists and maps JSON text.
var migrations = [][]string{
	1: schemaV1,
	2: schemaV2,
	3: schemaV3,
}

// schemaV3 adds keys' rate limits (access.Key.RPMLimit, TPMLimit).
var schemaV3 = []string{
	`ALTER TABLE access_keys ADD COLUMN rpm_limit BIGINT NOT NULL DEFAULT 0`,
	`ALTER TABLE access_keys ADD COLUMN tpm_limit BIGINT NOT NULL DEFAULT 0`,
}

var schemaV1 = []string{
	`CREATE TABLE aliases (
		name        TEXT PRIMARY KEY,
		target      TEXT NOT NULL,
		description TEXT NOT NULL,
		disabled    BIGINT NOT NULL,
		hidden      BIGINT NOT NULL,
		labels      TEXT NOT NULL,
		created_ns  BIGINT NOT NULL,
		updated_ns  BIGINT NOT NULL,
		revision    BIGINT NOT NULL
	)`,
	`CREATE TABLE access_keys (
		id                 TEXT PRIMARY KEY,
		name               TEXT NOT NULL,
		team_id            TEXT NOT NULL,
		models             TEXT NOT NULL,
		access_groups      TEXT NOT NULL,
		aliases            TEXT NOT NULL,
		max_budget         DOUBLE PRECISION NOT NULL,
		budget_duration_ns BIGINT NOT NULL,
		blocked            BIGINT NOT NULL,
		expires_ns         BIGINT NOT NULL,
		created_ns         BIGINT NOT NULL,
		updated_ns         BIGINT NOT NULL,
		spend_nanos        BIGINT NOT NULL DEFAULT 0 CHECK (spend_nanos >= 0),
		budget_reset_ns    BIGINT NOT NULL DEFAULT 0
	)`,
	`CREATE INDEX access_keys_team ON access_keys (team_id)`,
	`CREATE TABLE access_teams (
		id                 TEXT PRIMARY KEY,
		organization_id    TEXT NOT NULL,
		name               TEXT NOT NULL,
		models             TEXT NOT NULL,
		access_groups      TEXT NOT NULL,
		max_budget         DOUBLE PRECISION NOT NULL,
		budget_duration_ns BIGINT NOT NULL,
		blocked            BIGINT NOT NULL,
		created_ns         BIGINT NOT NULL,
		updated_ns         BIGINT NOT NULL,
		spend_nanos        BIGINT NOT NULL DEFAULT 0 CHECK (spend_nanos >= 0),
		budget_reset_ns    BIGINT NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE access_organizations (
		id                 TEXT PRIMARY KEY,
		name               TEXT NOT NULL,
		models             TEXT NOT NULL,
		access_groups      TEXT NOT NULL,
		max_budget         DOUBLE PRECISION NOT NULL,
		budget_duration_ns BIGINT NOT NULL,
		created_ns         BIGINT NOT NULL,
		updated_ns         BIGINT NOT NULL,
		spend_nanos        BIGINT NOT NULL DEFAULT 0 CHECK (spend_nanos >= 0),
		budget_reset_ns    BIGINT NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE access_groups (
		name        TEXT PRIMARY KEY,
		description TEXT NOT NULL,
		created_ns  BIGINT NOT NULL,
		updated_ns  BIGINT NOT NULL
	)`,
	`CREATE TABLE access_group_members (
		group_name TEXT NOT NULL,
		member     TEXT NOT NULL,
		PRIMARY KEY (group_name, member)
	)`,
	`CREATE INDEX access_group_members_member ON access_group_members (member)`,
	`CREATE TABLE usage_counters (
		dimension         TEXT NOT NULL,
		name              TEXT NOT NULL,
		calls             BIGINT NOT NULL CHECK (calls >= 0),
		errors            BIGINT NOT NULL CHECK (errors >= 0),
		prompt_tokens     BIGINT NOT NULL CHECK (prompt_tokens >= 0),
		completion_tokens BIGINT NOT NULL CHECK (completion_tokens >= 0),
		cost_nanos        BIGINT NOT NULL CHECK (cost_nanos >= 0),
		latency_ns        BIGINT NOT NULL CHECK (latency_ns >= 0),
		PRIMARY KEY (dimension, name)
	)`,
}

// schemaV2 adds the request log: one row per finished request.
var schemaV2 = []string{
	`CREATE TABLE usage_log (
		time_ns           BIGINT NOT NULL,
		requested         TEXT NOT NULL,
		group_name        TEXT NOT NULL,
		deployment        TEXT NOT NULL,
		key_id            TEXT NOT NULL,
		team_id           TEXT NOT NULL,
		prompt_tokens     BIGINT NOT NULL,
		completion_tokens BIGINT NOT NULL,
		cost_nanos        BIGINT NOT NULL,
		latency_ns        BIGINT NOT NULL,
		failed            BIGINT NOT NULL
	)`,
	`CREATE INDEX usage_log_time ON usage_log (time_ns)`,
	`CREATE INDEX usage_log_key ON usage_log (key_id, time_ns)`,
}

// SchemaVersion is the schema version this package writes.
func SchemaVersion() int { return len(migrations) - 1 }

// migrate applies the migrations the database lacks, each in a
// transaction with its record in schema_migrations. On PostgreSQL an
// advisory lock makes replicas starting together migrate one at a time;
// on SQLite the write transaction does. A database newer than this
// package is refused.
func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		applied_ns BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for {
		done, err := s.migrateOne(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateOne applies the next migration, if any, and reports whether the
// schema is current.
func (s *DB) migrateOne(ctx context.Context) (current bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == PostgreSQL {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7217)`); err != nil {
				return fmt.Errorf("sqlstore: migrate: lock: %w", err)
			}
		}
		var v int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		switch {
		case v > int64(SchemaVersion()):
			return fmt.Errorf("sqlstore: the database has schema version %d, newer than this program's %d", v, SchemaVersion())
		case v == int64(SchemaVersion()):
			current = true
			return nil
		}
		next := v + 1
		for _, stmt := range migrations[next] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlstore: migrate to version %d: %w", next, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_ns) VALUES ($1, $2)`,
			next, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("sqlstore: migrate to version %d: %w", next, err)
		}
		return nil
	})
	return current, err
}
