// Package postgres opens a modelroute SQL store in a PostgreSQL database,
// through pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib): the
// store for several gateway replicas sharing one database.
package postgres

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/modelroute/modelroute/router/sqlstore"
)

// Open connects to the database at url (postgres://user:pass@host:port/db?…,
// or a key=value connection string) and applies the migrations it lacks.
// Close on the returned DB closes the connection pool.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := sqlstore.New(ctx, db, sqlstore.PostgreSQL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}
