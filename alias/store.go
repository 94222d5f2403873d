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
