package sqlstore_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/sqlstore"
)

// sqlImpls are the implementations over SQL.
func sqlImpls() []impl { return impls()[2:] }

func openDB(t *testing.T, open func() stores) (*sqlstore.DB, stores) {
	t.Helper()
	st := open()
	t.Cleanup(st.close)
	return st.db, st
}

func TestSQL(t *testing.T) {
	ctx := context.Background()
	for _, im := range sqlImpls() {
		t.Run(im.name, func(t *testing.T) {
			t.Run("an alias delete prunes access groups in its transaction", func(t *testing.T) {
				open := im.open(t)
				e := &env{t: t, open: open, now: t0}
				p := e.start()
				must[access.AccessGroup](t)(p.ac.CreateAccessGroup(ctx, access.AccessGroup{Name: "grp", Members: []string{"a", "b"}}))
				must[alias.Alias](t)(p.reg.Create(ctx, alias.Alias{Name: "a", Target: "g"}))
				p.crash()

				// No subscriber this time: the store alone prunes.
				st := open()
				defer st.close()
				if err := st.aliases.(alias.RowStore).Delete(ctx, "a"); err != nil {
					t.Fatal(err)
				}
				got, err := st.access.Load(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{"b"}, got.AccessGroups[0].Members); diff != "" {
					t.Errorf("members after the delete (-want +got):\n%s", diff)
				}
			})
			t.Run("a failed Apply changes nothing", func(t *testing.T) {
				_, st := openDB(t, im.open(t))
				rs := st.access.(access.RowStore)
				err := rs.Apply(ctx, access.Changes{
					PutKeys:  []access.Key{{ID: "k1"}},
					KeySpend: []access.SpendDelta{{ID: "k1", Nanos: -5}},
				})
				if err == nil {
					t.Fatal("Apply with a negative spend delta succeeded")
				}
				got, err := st.access.Load(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Keys) != 0 {
					t.Errorf("keys after a failed Apply: %+v", got.Keys)
				}
			})
			t.Run("spend from two replicas adds up", func(t *testing.T) {
				open := im.open(t)
				clock := func() time.Time { return t0 }
				st1, st2 := open(), open()
				defer st1.close()
				defer st2.close()
				a, err := access.New(ctx, access.WithStore(st1.access), access.WithClock(clock))
				if err != nil {
					t.Fatal(err)
				}
				must[access.Key](t)(a.CreateKey(ctx, access.Key{ID: "k", MaxBudget: 10, BudgetDuration: time.Hour}))
				b, err := access.New(ctx, access.WithStore(st2.access), access.WithClock(clock))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []*access.Checker{a, b, a} {
					if err := c.RecordSpend("k", 1.5); err != nil {
						t.Fatal(err)
					}
					if err := c.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
				a.Close()
				b.Close()
				c, err := access.New(ctx, access.WithStore(st1.access), access.WithClock(clock))
				if err != nil {
					t.Fatal(err)
				}
				if k := must[access.Key](t)(c.GetKey("k")); k.Spend != 4.5 {
					t.Errorf("spend = %v, want 4.5", k.Spend)
				}
			})
			t.Run("migrations run once and a newer schema is refused", func(t *testing.T) {
				open := im.open(t)
				db, _ := openDB(t, open)
				var n, v int
				if err := db.SQL().QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
					t.Fatal(err)
				}
				if n != sqlstore.SchemaVersion() || v != sqlstore.SchemaVersion() {
					t.Errorf("schema_migrations: %d rows, version %d; want %d", n, v, sqlstore.SchemaVersion())
				}
				openDB(t, open) // again: nothing to do
				if _, err := db.SQL().Exec(`INSERT INTO schema_migrations (version, applied_ns) VALUES (99, 0)`); err != nil {
					t.Fatal(err)
				}
				_, err := sqlstore.New(ctx, db.SQL(), db.Dialect())
				if err == nil || !strings.Contains(err.Error(), "schema version 99") {
					t.Errorf("New over a newer schema: %v", err)
				}
			})
			t.Run("a corrupt row is an error naming it", func(t *testing.T) {
				db, st := openDB(t, im.open(t))
				if err := st.aliases.(alias.RowStore).Put(ctx, alias.Alias{Name: "x", Target: "g"}); err != nil {
					t.Fatal(err)
				}
				if _, err := db.SQL().Exec(`UPDATE aliases SET labels = 'not json'`); err != nil {
					t.Fatal(err)
				}
				_, err := alias.New(ctx, alias.WithStore(st.aliases))
				if err == nil || !strings.Contains(err.Error(), `alias "x": column labels`) {
					t.Errorf("New over a corrupt row: %v", err)
				}
			})
		})
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	if _, err := sqlstore.New(context.Background(), nil, sqlstore.SQLite); err == nil {
		t.Error("New(nil) succeeded")
	}
	db, _ := openDB(t, sqlImpls()[0].open(t))
	if _, err := sqlstore.New(context.Background(), db.SQL(), sqlstore.Dialect(9)); err == nil || !strings.Contains(err.Error(), "Dialect(9)") {
		t.Errorf("New with an unknown dialect: %v", err)
	}
}

// The request log keeps one row per saved request, in order, with what
// Usage counts.
func TestUsageLog(t *testing.T) {
	ctx := context.Background()
	for _, im := range sqlImpls() {
		t.Run(im.name, func(t *testing.T) {
			db, _ := openDB(t, im.open(t))
			u, err := access.NewUsage(ctx, access.WithUsageStore(db.Usage()))
			if err != nil {
				t.Fatal(err)
			}
			var want []access.UsageRecord
			for i := range 250 { // three INSERTs
				r := access.UsageRecord{Requested: "smart", Group: "g", Deployment: "d", KeyID: "k", TeamID: "t",
					PromptTokens: i, CompletionTokens: 2 * i, CostUSD: float64(i) / 1000, Latency: time.Duration(i) * time.Millisecond,
					Err: i%7 == 0, Time: t0.Add(time.Duration(i) * time.Second)}
				u.Record(r)
				want = append(want, r)
			}
			u.Record(access.UsageRecord{Requested: "bad", PromptTokens: -5, CostUSD: math.NaN(), Time: t0.Add(time.Hour)})
			want = append(want, access.UsageRecord{Requested: "bad", Time: t0.Add(time.Hour)})
			if err := u.Save(ctx); err != nil {
				t.Fatal(err)
			}
			if err := u.Save(ctx); err != nil { // nothing new: nothing appended twice
				t.Fatal(err)
			}
			got, err := db.Usage().UsageLog(ctx, t0, t0.Add(2*time.Hour), 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("usage log (-want +got):\n%s", diff)
			}
			if got, _ := db.Usage().UsageLog(ctx, t0, t0.Add(2*time.Hour), 3); len(got) != 3 {
				t.Errorf("with a limit of 3: %d rows", len(got))
			}
		})
	}
}
