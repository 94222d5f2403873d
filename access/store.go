package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// State is everything a Checker persists: its principals with their spend,
// and its access groups, each sorted by ID or name.
type State struct {
	Keys          []Key          `json:"keys,omitempty"`
	Teams         []Team         `json:"teams,omitempty"`
	Organizations []Organization `json:"organizations,omitempty"`
	AccessGroups  []AccessGroup  `json:"access_groups,omitempty"`
}

// Store persists a Checker's State. The Checker calls Load once, in New,
// and Save with the whole state after every write (and from Flush and
// Close), serialized. A Save error fails the write, which then changes
// nothing; Load errors fail New.
//
// Save may keep the State it is given: the Checker builds a new one for
// every call and never touches it again. The State Load returns belongs to
// the caller.
type Store interface {
	Load(ctx context.Context) (State, error)
	Save(ctx context.Context, st State) error
}

// RowStore is a Store that writes only the rows a write changes. When the
// Checker's Store implements it, each write calls Apply with the
// definitions it creates, replaces or deletes, instead of Save with the
// whole state, so that the cost of a write in the store does not grow with
// the number of principals. Flush and Close call Apply with the spend
// recorded since the last flush, as deltas, so that several Checkers (one
// per gateway replica) can add to one store's spend.
//
// The rules of Save hold: calls are serialized, made before the write
// becomes visible, and an error refuses the write and leaves the Checker as
// it was. Apply must apply all of ch or none of it (one transaction).
// Save is still used by callers that replace the whole state (an import,
// for example).
type RowStore interface {
	Store
	Apply(ctx context.Context, ch Changes) error
}

// Changes are the rows one write of a Checker changes, applied together or
// not at all. The Put lists hold definitions to insert or replace, by ID
// or name; their Spend and BudgetResetAt are zero and must not overwrite
// the stored spend, except that a principal whose BudgetDuration changes
// starts its spend from 0 (as the Checker does). The Delete lists hold the
// IDs or names to remove, with their stored spend; an absent one is not an
// error. The Spend lists hold spend to add.
type Changes struct {
	PutKeys             []Key
	PutTeams            []Team
	PutOrganizations    []Organization
	PutAccessGroups     []AccessGroup
	DeleteKeys          []string
	DeleteTeams         []string
	DeleteOrganizations []string
	DeleteAccessGroups  []string
	KeySpend            []SpendDelta
	TeamSpend           []SpendDelta
	OrganizationSpend   []SpendDelta
}

// SpendDelta is spend recorded against one principal since the last flush.
//
// A store adds Nanos to the principal's spend when ResetAt is the reset
// time it holds, replaces its spend with Nanos and its reset time with
// ResetAt when ResetAt is later (a new period has begun), and ignores the
// delta when ResetAt is earlier (the delta belongs to a period that has
// ended) unless ResetAt is zero (no period: always add, and clear the reset
// time). A delta for a principal the store does not hold is ignored.
type SpendDelta struct {
	ID      string
	Nanos   int64     // nano-USD (1e-9 USD), > 0
	ResetAt time.Time // end of the period the spend belongs to; zero: no period
}

// MemoryStore keeps the last saved State in memory: the default Store.
// Safe for concurrent use.
type MemoryStore struct {
	mu sync.Mutex
	st State // protected by mu: a private copy of the last saved State
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load returns a copy of the last saved State, or an empty one.
func (m *MemoryStore) Load(ctx context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.clone(), nil
}

// Save keeps st (see Store: the caller does not modify it afterwards).
func (m *MemoryStore) Save(ctx context.Context, st State) error {
	m.mu.Lock()
	m.st = st
	m.mu.Unlock()
	return nil
}

// clone returns a deep copy of st.
func (st State) clone() State {
	out := State{
		Keys:          slices.Clone(st.Keys),
		Teams:         slices.Clone(st.Teams),
		Organizations: slices.Clone(st.Organizations),
		AccessGroups:  slices.Clone(st.AccessGroups),
	}
	for i := range out.Keys {
		out.Keys[i] = out.Keys[i].clone()
	}
	for i := range out.Teams {
		out.Teams[i] = out.Teams[i].clone()
	}
	for i := range out.Organizations {
		out.Organizations[i] = out.Organizations[i].clone()
	}
	for i := range out.AccessGroups {
		out.AccessGroups[i] = out.AccessGroups[i].clone()
	}
	return out
}

// FileStore keeps the State in one JSON file. Saves are crash-safe: the
// new state is written to a temporary file in the same directory, synced,
// renamed over the old file, and the directory is synced, so the file
// holds the old state or the new one, never a mix. A missing file loads as
// an empty state; a file that cannot be read or parsed is an error, never
// an empty state. Safe for concurrent use; one process should own a file.
type FileStore struct {
	path string
	mu   sync.Mutex // serializes saves
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a FileStore for path. The directory must exist; the
// file is created by the first save.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// fileVersion is the format version written in every file.
const fileVersion = 1

type stateFile struct {
	Version int `json:"version"`
	State
}

// Load reads the file.
func (f *FileStore) Load(ctx context.Context) (State, error) {
	var sf stateFile
	found, err := readJSONFile(f.path, &sf)
	if err != nil || !found {
		return State{}, err
	}
	if sf.Version != fileVersion {
		return State{}, fmt.Errorf("%s: unsupported version %d (want %d)", f.path, sf.Version, fileVersion)
	}
	return sf.State, nil
}

// Save replaces the file's contents with st, atomically.
func (f *FileStore) Save(ctx context.Context, st State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(stateFile{Version: fileVersion, State: st}, "", "  ")
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return writeFileAtomic(f.path, append(b, '\n'))
}

// readJSONFile decodes the JSON file at path into v. A missing file is
// (false, nil); an empty, truncated or otherwise malformed one is an error.
func readJSONFile(path string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true, fmt.Errorf("%s: empty file", path)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// writeFileAtomic replaces the file at path with data: temporary file in
// the same directory, fsync, rename, fsync of the directory. On error the
// old file is untouched and the temporary file removed.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there; the rename is durable enough
	}
	// Past this point the new file is in place: a failing directory sync
	// is reported, but the file may already hold the new state.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
