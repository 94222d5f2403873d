// Package sqltest gives tests a PostgreSQL database of their own: a fresh
// schema on the server that MODELROUTE_POSTGRES_URL names (.ci/run
// installs PostgreSQL, starts it on 127.0.0.1 and sets the variable),
// dropped when the test ends.
package sqltest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresEnv names the variable that points the tests at a server.
const PostgresEnv = "MODELROUTE_POSTGRES_URL"

var seq atomic.Int64

// PostgresURL returns the URL of a new, empty schema on the server
// PostgresEnv names (the URL with search_path set to it), dropped when the
// test ends, or kept and logged if the test failed. Without the variable
// the test is skipped, saying why; with CI=true it fails instead.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		msg := PostgresEnv + " is not set: this test needs a PostgreSQL server (.ci/run installs PostgreSQL, starts it on 127.0.0.1 and sets the variable)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(base)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		t.Fatalf("%s: want a postgres:// URL", PostgresEnv)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("mr_test_%d_%d", os.Getpid(), seq.Add(1))
	if _, err := db.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE; CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("%s: create schema: %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("schema %s kept for inspection", schema)
			return
		}
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
