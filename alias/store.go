package alias

import (
	"context"
	"sync"
)

// Store persists the registry's aliases. The Registry calls Load once, in
// New, and Save on every write, with its write lock held, before the write
// becomes visible: if Save fails the write is refused and the error returned.
//
// Save receives the whole state sorted by name. The slice and the maps in it
// are never modified afterwards, so a Store may keep them, but must not
// modify them itself. Load returns aliases the Registry then owns.
type Store interface {
	Load(ctx context.Context) ([]Alias, error)
	Save(ctx context.Context, all []Alias) error // whole state, sorted by name
}

// RowStore is a Store that writes one alias at a time. When the Registry's
// Store implements it, Create and Update call Put with the alias as it will
// be published (Revision, Created and Updated set) and Delete calls Delete,
// instead of Save with the whole state, so that the cost of a write in the
// store does not grow with the number of aliases. The rules of Save hold:
// the call is made with the write lock held, before the write becomes
// visible, and an error refuses the write and leaves the registry as it
// was. Save is still used by callers that replace the whole state (an
// import, for example).
//
// A store may change other rows in the same transaction: a store that also
// keeps access groups removes a deleted alias from them (see the package
// sqlstore).
type RowStore interface {
	Store
	Put(ctx context.Context, a Alias) error        // insert or replace alias a.Name
	Delete(ctx context.Context, name string) error // remove alias name; not an error if absent
}

// MemoryStore keeps the aliases in memory. It is the default Store. It is
// safe for concurrent use; the zero value is an empty store.
type MemoryStore struct {
	mu  sync.Mutex // protects all
	all []Alias
}

var (
	_ Store = (*MemoryStore)(nil)
	_ Store = (*FileStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load returns a copy of what was last saved.
func (m *MemoryStore) Load(ctx context.Context) ([]Alias, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Alias, len(m.all))
	for i, a := range m.all {
		out[i] = a.clone()
	}
	return out, nil
}

// Save keeps all, without copying it.
func (m *MemoryStore) Save(ctx context.Context, all []Alias) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.all = all
	return nil
}
