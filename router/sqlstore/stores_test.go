package sqlstore_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/sqlstore"
	"github.com/modelroute/modelroute/router/sqlstore/postgres"
	"github.com/modelroute/modelroute/router/sqlstore/sqlite"
	"github.com/modelroute/modelroute/router/sqlstore/sqltest"
)

// stores are the three stores a gateway persists through.
type stores struct {
	aliases alias.Store
	access  access.Store
	usage   access.UsageStore
	close   func()
	db      *sqlstore.DB // nil unless over SQL
}

// impl is one implementation of the stores. open returns a function that
// opens the stores over the same persisted data each time it is called,
// as a restarted process would; the test closes what it opens.
type impl struct {
	name string
	open func(t testing.TB) func() stores
}

func impls() []impl {
	return []impl{
		{"memory", func(t testing.TB) func() stores {
			a, c, u := alias.NewMemoryStore(), access.NewMemoryStore(), &memUsage{}
			return func() stores { return stores{a, c, u, func() {}, nil} }
		}},
		{"file", func(t testing.TB) func() stores {
			dir := t.TempDir()
			return func() stores {
				return stores{
					alias.NewFileStore(filepath.Join(dir, "aliases.json")),
					access.NewFileStore(filepath.Join(dir, "access.json")),
					access.NewUsageFileStore(filepath.Join(dir, "usage.json")),
					func() {},
					nil,
				}
			}
		}},
		{"sqlite", func(t testing.TB) func() stores {
			path := filepath.Join(t.TempDir(), "state.db")
			return func() stores {
				db, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				return sqlStores(db)
			}
		}},
		{"postgres", func(t testing.TB) func() stores {
			u := sqltest.PostgresURL(t)
			return func() stores {
				db, err := postgres.Open(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				return sqlStores(db)
			}
		}},
	}
}

func sqlStores(db *sqlstore.DB) stores {
	return stores{db.Aliases(), db.Access(), db.Usage(), func() { db.Close() }, db}
}

// memUsage is an in-memory UsageStore (the access package has none).
type memUsage struct {
	snap atomic.Pointer[access.UsageSnapshot]
}

func (m *memUsage) Load(context.Context) (access.UsageSnapshot, error) {
	if s := m.snap.Load(); s != nil {
		return *s, nil
	}
	return access.UsageSnapshot{}, nil
}

func (m *memUsage) Save(_ context.Context, s access.UsageSnapshot) error {
	m.snap.Store(&s)
	return nil
}
