// Package sqlstore keeps the alias registry, the access Checker's keys,
// teams, organizations and access groups, their spend, usage counters and
// a request log in one SQL database, one row per alias, principal, group
// member, counter and request.
//
// # Model
//
// A DB wraps a *sql.DB and a Dialect (SQLite or PostgreSQL). Its three
// stores plug into the core packages, which import no database driver:
//
//	db, err := sqlite.Open(ctx, "state.db") // or postgres.Open(ctx, "postgres://…")
//	reg, err := alias.New(ctx, alias.WithStore(db.Aliases()))
//	checker, err := access.New(ctx, access.WithStore(db.Access()))
//	usage, err := access.NewUsage(ctx, access.WithUsageStore(db.Usage()))
//
// The stores implement the row interfaces alias.RowStore, access.RowStore,
// access.UsageRowStore and access.UsageLogStore (one usage_log row per
// request, as LiteLLM's spend logs; read back with UsageStore.UsageLog):
// an alias create, a key update or a flush of spend touches its own rows,
// in one transaction, whatever the number of other rows. Deleting an alias also removes it from every access group's
// members in the same transaction, so no restart can bring back an access
// group that grants a deleted alias's name. Spend and usage arrive as
// deltas added to the stored values, so that several gateway replicas can
// share one PostgreSQL database; each replica still reads its own
// in-memory snapshot (loaded at start), so admin changes made through one
// replica reach the others when they reload. The whole-state Save methods
// replace everything in one transaction (an import).
//
// The drivers live in the subpackages sqlite (modernc.org/sqlite, pure Go,
// no cgo: the embedded default) and postgres (github.com/jackc/pgx/v5), so
// that a program imports only the one it uses.
//
// # Schema
//
// New applies the migrations the database lacks, each in a transaction
// recorded in the schema_migrations table (on PostgreSQL under an advisory
// lock, so that replicas starting together migrate once), and refuses a
// database whose schema is newer than the package. Times are stored as
// unix nanoseconds (0: none), money as nano-USD integers, booleans as 0 or
// 1, and grant lists, key aliases and labels as JSON text.
//
// # Durability
//
// A store call returns once its transaction has committed: on SQLite with
// synchronous=FULL in WAL mode, on PostgreSQL with the server's default
// synchronous_commit. An acknowledged admin write survives SIGKILL and, on
// SQLite, power loss. Spend and usage are written when the Checker is
// flushed and Usage saved (the gateway does both every second and after a
// batch of requests); what was recorded since is lost by SIGKILL. On
// PostgreSQL a write that was in flight when its process died may still
// commit after a restart, since the server finishes a statement it has
// received; it was never acknowledged, so either outcome is allowed, but a
// new replica can see it appear shortly after it started.
//
// # Concurrency and lifecycle
//
// The stores are safe for concurrent use; the Registry and the Checker
// serialize their own writes. Close closes the *sql.DB; close the Registry,
// Checker and Usage (which flush through the stores) first. There is no
// useful zero value: use New or an Open function.
package sqlstore
