package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Dialect is the SQL database a DB talks to.
type Dialect int

const (
	SQLite     Dialect = iota + 1 // SQLite 3.35 or later (modernc.org/sqlite)
	PostgreSQL                    // PostgreSQL 12 or later (pgx's database/sql driver)
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// DB is one SQL database holding aliases, access definitions, spend and
// usage. Make it with New (or sqlite.Open, postgres.Open); its stores share
// the connection pool.
type DB struct {
	db      *sql.DB
	dialect Dialect
}

// New returns a DB over db, after applying the migrations db lacks. The DB
// takes db over: Close closes it. If New fails, db is left open.
func New(ctx context.Context, db *sql.DB, d Dialect) (*DB, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if d != SQLite && d != PostgreSQL {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", d)
	}
	s := &DB{db: db, dialect: d}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SQL returns the underlying database.
func (s *DB) SQL() *sql.DB { return s.db }

// Dialect returns the dialect the DB was made with.
func (s *DB) Dialect() Dialect { return s.dialect }

// Close closes the *sql.DB. The stores must not be used afterwards.
func (s *DB) Close() error { return s.db.Close() }

// Aliases returns the store of the alias registry (alias.RowStore).
func (s *DB) Aliases() *AliasStore { return &AliasStore{db: s} }

// Access returns the store of the access Checker (access.RowStore).
func (s *DB) Access() *AccessStore { return &AccessStore{db: s} }

// Usage returns the store of the usage counters (access.UsageRowStore).
func (s *DB) Usage() *UsageStore { return &UsageStore{db: s} }

// tx runs fn in a transaction, committed if fn returns nil and rolled
// back otherwise.
func (s *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// unixNanos stores a time as unix nanoseconds; the zero time is 0.
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNanos is the inverse of unixNanos, in UTC.
func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// jsonText encodes a list or map column; empty ones are "[]" or "{}".
func jsonText[T any](v T, empty string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if s := string(b); s != "null" {
		return s, nil
	}
	return empty, nil
}

// listColumn decodes a JSON list column: an empty list is nil.
func listColumn(table, id, col, text string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, fmt.Errorf("sqlstore: %s %q: column %s: %w", table, id, col, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// mapColumn decodes a JSON object column: an empty object is nil.
func mapColumn(table, id, col, text string) (map[string]string, error) {
	var out map[string]string
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, fmt.Errorf("sqlstore: %s %q: column %s: %w", table, id, col, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
