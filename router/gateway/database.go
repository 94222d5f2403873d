package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
)

// databaseStores fills the stores not given with o.db's, after importing
// the JSON files of the state directory, if there is one.
func (o *options) databaseStores(ctx context.Context, log *slog.Logger) error {
	if o.stateDir != "" {
		if err := importJSON(ctx, o, log); err != nil {
			return err
		}
	}
	if o.aliasStore == nil {
		o.aliasStore = o.db.Aliases()
	}
	if o.accessStore == nil {
		o.accessStore = o.db.Access()
	}
	if o.usageStore == nil {
		o.usageStore = o.db.Usage()
	}
	return nil
}

// jsonImport is one JSON state file a file-based gateway keeps.
type jsonImport struct {
	file  string
	what  string
	given bool // the part has a store of its own (WithAliasStore, WithRedis, …): nothing to import
	// load validates the file and returns how many records it holds and
	// a function that saves them into the database; held reports whether
	// the database already holds records of this kind.
	load func(ctx context.Context, path string) (n int, save func(context.Context) error, err error)
	held func(ctx context.Context) (bool, error)
}

// importJSON imports the JSON state files under o.stateDir into o.db, once
// (see WithDatabase).
func importJSON(ctx context.Context, o *options, log *slog.Logger) error {
	db := o.db
	imports := []jsonImport{
		{"aliases.json", "aliases", o.aliasStore != nil,
			func(ctx context.Context, path string) (int, func(context.Context) error, error) {
				reg, err := alias.New(ctx, alias.WithStore(alias.NewFileStore(path))) // validates
				if err != nil {
					return 0, nil, err
				}
				defer reg.Close()
				all := reg.List(alias.ListOptions{IncludeHidden: true, IncludeDisabled: true})
				return len(all), func(ctx context.Context) error { return db.Aliases().Save(ctx, all) }, nil
			},
			func(ctx context.Context) (bool, error) {
				all, err := db.Aliases().Load(ctx)
				return len(all) > 0, err
			}},
		{"access.json", "keys, teams, organizations and access groups", o.accessStore != nil,
			func(ctx context.Context, path string) (int, func(context.Context) error, error) {
				fstore := access.NewFileStore(path)
				c, err := access.New(ctx, access.WithStore(fstore)) // validates
				if err != nil {
					return 0, nil, err
				}
				c.Close()
				st, err := fstore.Load(ctx)
				if err != nil {
					return 0, nil, err
				}
				n := len(st.Keys) + len(st.Teams) + len(st.Organizations) + len(st.AccessGroups)
				return n, func(ctx context.Context) error { return db.Access().Save(ctx, st) }, nil
			},
			func(ctx context.Context) (bool, error) {
				st, err := db.Access().Load(ctx)
				return len(st.Keys)+len(st.Teams)+len(st.Organizations)+len(st.AccessGroups) > 0, err
			}},
		{"usage.json", "usage counters", o.usageStore != nil,
			func(ctx context.Context, path string) (int, func(context.Context) error, error) {
				fstore := access.NewUsageFileStore(path)
				if _, err := access.NewUsage(ctx, access.WithUsageStore(fstore)); err != nil { // validates
					return 0, nil, err
				}
				snap, err := fstore.Load(ctx)
				if err != nil {
					return 0, nil, err
				}
				n := len(snap.Names) + len(snap.Groups) + len(snap.Deployments) + len(snap.Keys) + len(snap.Teams)
				return n, func(ctx context.Context) error { return db.Usage().Save(ctx, snap) }, nil
			},
			func(ctx context.Context) (bool, error) {
				snap, err := db.Usage().Load(ctx)
				return len(snap.Names)+len(snap.Groups)+len(snap.Deployments)+len(snap.Keys)+len(snap.Teams) > 0, err
			}},
	}
	for _, im := range imports {
		path := filepath.Join(o.stateDir, im.file)
		if im.given {
			continue
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("gateway: import %s: %w", path, err)
		}
		held, err := im.held(ctx)
		if err != nil {
			return fmt.Errorf("gateway: import %s: %w", path, err)
		}
		if held {
			log.Warn("gateway: not importing a JSON state file: the database already holds "+im.what+"; move the file away to silence this",
				"file", path)
			continue
		}
		n, save, err := im.load(ctx, path)
		if err != nil {
			return fmt.Errorf("gateway: import %s: %w", path, err)
		}
		if err := save(ctx); err != nil {
			return fmt.Errorf("gateway: import %s: %w", path, err)
		}
		done := path + ".imported"
		if err := os.Rename(path, done); err != nil {
			return fmt.Errorf("gateway: import %s: imported, but: %w", path, err)
		}
		log.Info("gateway: imported a JSON state file into the database, once; the file is kept renamed",
			"file", path, "records", n, "what", im.what, "renamed_to", done)
	}
	return nil
}
