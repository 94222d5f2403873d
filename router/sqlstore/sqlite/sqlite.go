// Package sqlite opens a modelroute SQL store in an SQLite file, through
// the pure-Go driver modernc.org/sqlite (no cgo): the embedded default
// that needs no server.
//
// The database runs in WAL mode with synchronous=FULL, so that a write is
// on disk when it returns, and with one connection: writes from the alias
// Registry, the access Checker and Usage queue in the pool rather than
// fail with SQLITE_BUSY. Other processes opening the same file wait up to
// five seconds for a lock (busy_timeout).
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	"github.com/modelroute/modelroute/router/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating it if needed) the SQLite database at path and
// applies the migrations it lacks. Close on the returned DB closes it.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(5000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s, err := sqlstore.New(ctx, db, sqlstore.SQLite)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return s, nil
}
