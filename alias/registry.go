package alias

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// DefaultMaxDepth is the longest chain of aliases a Registry accepts unless
// WithMaxDepth says otherwise: "a → b → group" has depth 2.
const DefaultMaxDepth = 8

// Option configures New.
type Option func(*options)

type options struct {
	store    Store
	clock    func() time.Time
	maxDepth int
}

// WithStore makes the Registry load from and save to s. The default (also
// when s is nil) is a new MemoryStore.
func WithStore(s Store) Option { return func(o *options) { o.store = s } }

// WithClock sets the clock that stamps Created and Updated. The default is
// time.Now. Times are stored in UTC without a monotonic reading.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithMaxDepth sets the longest chain of aliases allowed (at least 1). The
// default is DefaultMaxDepth.
func WithMaxDepth(n int) Option { return func(o *options) { o.maxDepth = n } }

// Registry holds aliases and resolves names. Create it with New; it is safe
// for concurrent use.
type Registry struct {
	snap     atomic.Pointer[snapshot] // the current state; readers load it without locks
	store    Store
	clock    func() time.Time
	maxDepth int

	// writeLock is held, as a token in the channel, by the one write in
	// progress. It is a channel so that waiting can end with the context.
	// It protects refs, closed and all calls to store.Save.
	writeLock chan struct{}
	refs      referrers
	closed    bool

	hub hub // subscribers
}

// New loads the aliases from the store and returns a Registry. It fails if
// the store cannot be read or holds an invalid state: a bad name or target,
// a duplicate, a cycle, or a chain deeper than the limit.
func New(ctx context.Context, opts ...Option) (*Registry, error) {
	o := options{clock: time.Now, maxDepth: DefaultMaxDepth}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	switch {
	case o.clock == nil:
		return nil, errors.New("alias: WithClock: nil clock")
	case o.maxDepth < 1:
		return nil, fmt.Errorf("alias: max depth %d is less than 1", o.maxDepth)
	case o.store == nil:
		o.store = NewMemoryStore()
	}
	all, rev, err := load(ctx, o.store)
	if err != nil {
		return nil, fmt.Errorf("alias: load store: %w", err)
	}
	entries, refs, err := build(all, o.maxDepth)
	if err != nil {
		var e *Error
		if fs, ok := o.store.(*FileStore); ok && errors.As(err, &e) {
			// Say which file holds the invalid alias.
			if e.Reason == "" {
				e.Reason = sentinelText(e.Err)
			}
			e.Reason += " (in " + fs.Path() + ")"
		}
		return nil, err
	}
	r := &Registry{
		store:     o.store,
		clock:     o.clock,
		maxDepth:  o.maxDepth,
		writeLock: make(chan struct{}, 1),
		refs:      refs,
	}
	r.snap.Store(&snapshot{idx: newIndex(maphash.MakeSeed(), entries), all: all, rev: rev})
	return r, nil
}

// Create adds a new alias. Name, Target, Description, Disabled, Hidden and
// Labels are taken from a; Created, Updated and Revision are set by the
// Registry. It fails with ErrExists if the name is taken; ErrInvalid for a
// bad name, target or text, a chain that would be too deep, or a refusal by
// the TargetCheck (whose error it wraps); ErrCycle if the target leads back
// to the alias; or with the Store's error if saving fails.
func (r *Registry) Create(ctx context.Context, a Alias) (Alias, error) {
	const op = "create"
	a = Alias{
		Name:        a.Name,
		Target:      a.Target,
		Description: a.Description,
		Disabled:    a.Disabled,
		Hidden:      a.Hidden,
		Labels:      normLabels(a.Labels),
	}
	if err := validate(op, a); err != nil {
		return Alias{}, err
	}
	if err := r.lock(ctx, op, a.Name); err != nil {
		return Alias{}, err
	}
	defer r.unlock()
	s := r.snap.Load()
	if s.idx.find(a.Name) >= 0 {
		return Alias{}, &Error{Op: op, Name: a.Name, Err: ErrExists}
	}
	a.Created = r.now()
	a.Updated = a.Created
	if err := r.commitLocked(ctx, op, s, a.Name, &a); err != nil {
		return Alias{}, err
	}
	r.hub.publish(Event{Kind: EventCreated, New: a})
	return a.clone(), nil
}

// Update changes the fields of alias name that u sets. An update that sets
// every field to its current value changes nothing: it returns the alias as
// it is, bumps no revision and sends no event. It fails like Create, with
// ErrNotFound if there is no such alias, and with ErrConflict if
// u.IfRevision is set and is not the current revision.
func (r *Registry) Update(ctx context.Context, name string, u Update) (Alias, error) {
	const op = "update"
	if err := r.lock(ctx, op, name); err != nil {
		return Alias{}, err
	}
	defer r.unlock()
	s := r.snap.Load()
	old, ok := s.idx.get(name)
	if !ok {
		return Alias{}, &Error{Op: op, Name: name, Err: ErrNotFound}
	}
	if u.IfRevision != 0 && u.IfRevision != old.alias.Revision {
		return Alias{}, &Error{Op: op, Name: name, Err: ErrConflict,
			Reason: fmt.Sprintf("revision is %d, not %d", old.alias.Revision, u.IfRevision)}
	}
	a := *old.alias
	if u.Target != nil {
		a.Target = *u.Target
	}
	if u.Description != nil {
		a.Description = *u.Description
	}
	if u.Disabled != nil {
		a.Disabled = *u.Disabled
	}
	if u.Hidden != nil {
		a.Hidden = *u.Hidden
	}
	if u.Labels != nil {
		a.Labels = normLabels(u.Labels)
	}
	if err := validate(op, a); err != nil {
		return Alias{}, err
	}
	if sameContent(a, *old.alias) {
		return old.alias.clone(), nil
	}
	a.Updated = r.now()
	if err := r.commitLocked(ctx, op, s, name, &a); err != nil {
		return Alias{}, err
	}
	r.hub.publish(Event{Kind: EventUpdated, Old: *old.alias, New: a})
	return a.clone(), nil
}

// Delete removes alias name and returns it. Aliases that pointed at it now
// end at its name; with a TargetCheck they are checked again, and the delete
// fails if the check refuses one of them.
func (r *Registry) Delete(ctx context.Context, name string) (Alias, error) {
	const op = "delete"
	if err := r.lock(ctx, op, name); err != nil {
		return Alias{}, err
	}
	defer r.unlock()
	s := r.snap.Load()
	old, ok := s.idx.get(name)
	if !ok {
		return Alias{}, &Error{Op: op, Name: name, Err: ErrNotFound}
	}
	if err := r.commitLocked(ctx, op, s, name, nil); err != nil {
		return Alias{}, err
	}
	r.hub.publish(Event{Kind: EventDeleted, Old: *old.alias})
	return old.alias.clone(), nil
}

// Get returns alias name, whether or not it is disabled or hidden. It fails
// with ErrNotFound if there is none.
func (r *Registry) Get(name string) (Alias, error) {
	e, ok := r.state().idx.get(name)
	if !ok {
		return Alias{}, &Error{Name: name, Err: ErrNotFound}
	}
	return e.alias.clone(), nil
}

// List returns the aliases o selects, sorted by name. By default it leaves
// out hidden aliases and those that cannot resolve because they or an alias
// on their chain are disabled. The result is never nil.
func (r *Registry) List(o ListOptions) []Alias {
	s := r.state()
	out := make([]Alias, 0, len(s.all))
	for _, a := range s.all {
		if a.Hidden && !o.IncludeHidden {
			continue
		}
		if !o.IncludeDisabled && s.idx.lookup(a.Name).disabled {
			continue
		}
		out = append(out, a.clone())
	}
	return out
}

// SetTargetCheck installs tc (nil removes the check). It first checks every
// existing alias against tc; if one is refused it returns the error and keeps
// the old check.
func (r *Registry) SetTargetCheck(tc TargetCheck) error {
	if r.writeLock == nil {
		return errZero("set target check", "")
	}
	r.writeLock <- struct{}{}
	defer r.unlock()
	s := r.snap.Load()
	if tc != nil {
		for _, a := range s.all {
			target := s.idx.lookup(a.Name).target
			if err := tc.CheckAlias(a.Name, target); err != nil {
				return &Error{Op: "set target check", Name: a.Name, Err: ErrInvalid,
					Reason: "target " + quote(target) + " refused", Cause: err}
			}
		}
	}
	ns := *s
	ns.check = tc
	r.snap.Store(&ns)
	return nil
}

// Close stops event delivery and refuses further writes with ErrClosed;
// Resolve, Get and List keep working. It waits for the subscriber goroutines
// to stop, so it must not be called from an event callback. Close is
// idempotent and always returns nil.
func (r *Registry) Close() error {
	if r.writeLock != nil {
		r.writeLock <- struct{}{}
		r.closed = true
		r.unlock()
	}
	r.hub.close()
	return nil
}

// lock takes the write lock, or gives up when ctx ends or the registry is
// closed.
func (r *Registry) lock(ctx context.Context, op, name string) error {
	if r.writeLock == nil {
		return errZero(op, name)
	}
	select {
	case r.writeLock <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("alias: %s %s: %w", op, quote(name), ctx.Err())
	}
	if r.closed {
		r.unlock()
		return &Error{Op: op, Name: name, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		r.unlock()
		return fmt.Errorf("alias: %s %s: %w", op, quote(name), err)
	}
	return nil
}

func (r *Registry) unlock() { <-r.writeLock }

// state returns the current snapshot. The zero Registry has an empty one.
func (r *Registry) state() *snapshot {
	if s := r.snap.Load(); s != nil {
		return s
	}
	return &snapshot{idx: &index{}}
}

// errZero is the error of a write to a Registry not made by New.
func errZero(op, name string) error {
	return &Error{Op: op, Name: name, Err: ErrClosed, Reason: "registry not created with New"}
}

func (r *Registry) now() time.Time { return r.clock().Round(0).UTC() }

// commitLocked applies one change to alias name: a is its new value, or nil
// to delete it. It checks cycles, depth and the TargetCheck for name and for
// every alias whose chain goes through name, saves the new state to the
// store and only then publishes it. On error nothing has changed. It sets
// a.Revision. The caller holds the write lock.
func (r *Registry) commitLocked(ctx context.Context, op string, s *snapshot, name string, a *Alias) error {
	old := s.idx.lookup(name)
	rev := s.rev + 1

	var ne *entry // the new entry of name; nil when deleting
	if a != nil {
		a.Revision = rev
		stored := new(Alias)
		*stored = *a
		next := s.idx.lookup(a.Target) // a.Target != name: validate refused that
		if next != nil && (old == nil || old.alias.Target != a.Target) {
			if cyc := cycleThrough(name, next); cyc != nil {
				return &Error{Op: op, Name: name, Err: ErrCycle, Chain: cyc,
					Reason: "would create a cycle: " + chainString(cyc)}
			}
		}
		e := link(stored, next)
		ne = &e
		if len(ne.chain) > r.maxDepth {
			return tooDeep(op, name, ne.chain, r.maxDepth)
		}
	}

	// Aliases whose chain goes through name need new entries if its chain
	// or disabled state changes. Dependents come after their targets.
	updated := make(map[string]entry)
	var order []string // names in updated, in the order computed
	chainChanged := a == nil || old == nil || old.alias.Target != a.Target || old.alias.Disabled != a.Disabled
	if chainChanged {
		for _, d := range r.refs.dependents(name) {
			da := s.idx.lookup(d).alias
			var next *entry
			if da.Target == name {
				next = ne
			} else if n, ok := updated[da.Target]; ok {
				next = &n
			}
			e := link(da, next)
			if len(e.chain) > r.maxDepth {
				return tooDeep(op, name, e.chain, r.maxDepth)
			}
			updated[d] = e
			order = append(order, d)
		}
	}

	if s.check != nil {
		if ne != nil {
			if err := s.check.CheckAlias(name, ne.target); err != nil {
				return &Error{Op: op, Name: name, Err: ErrInvalid,
					Reason: "target " + quote(ne.target) + " refused", Cause: err}
			}
		}
		for _, d := range order {
			e := updated[d]
			if e.target == s.idx.lookup(d).target {
				continue
			}
			if err := s.check.CheckAlias(d, e.target); err != nil {
				return &Error{Op: op, Name: name, Err: ErrInvalid,
					Reason: "alias " + quote(d) + " would resolve to " + quote(e.target) + ", refused",
					Cause:  err}
			}
		}
	}

	set := make([]entry, 0, 1+len(order))
	del := ""
	if ne != nil {
		set = append(set, *ne)
	} else {
		del = name
	}
	for _, d := range order {
		set = append(set, updated[d])
	}
	idx := s.idx.with(set, del)
	i, found := slices.BinarySearchFunc(s.all, name, func(x Alias, n string) int { return cmp.Compare(x.Name, n) })
	var all []Alias
	switch {
	case a == nil:
		all = slices.Delete(slices.Clone(s.all), i, i+1)
	case found:
		all = slices.Clone(s.all)
		all[i] = *a
	default:
		all = make([]Alias, len(s.all)+1)
		copy(all, s.all[:i])
		all[i] = *a
		copy(all[i+1:], s.all[i:])
	}
	ns := &snapshot{idx: idx, all: all, check: s.check, rev: rev}

	if err := r.save(ctx, all, name, a); err != nil {
		return fmt.Errorf("alias: %s %s: save: %w", op, quote(name), storeError{err})
	}
	r.snap.Store(ns)
	if old != nil {
		r.refs.remove(old.alias.Target, name)
	}
	if a != nil {
		r.refs.add(a.Target, name)
	}
	return nil
}

// save persists one change: through Put or Delete when the store writes
// rows, else as the whole new state all. The caller holds the write lock.
func (r *Registry) save(ctx context.Context, all []Alias, name string, a *Alias) error {
	rs, ok := r.store.(RowStore)
	switch {
	case !ok:
		return r.store.Save(ctx, all)
	case a == nil:
		return rs.Delete(ctx, name)
	default:
		return rs.Put(ctx, *a)
	}
}

// cycleThrough returns the cycle that pointing name at the alias of entry
// next would create, or nil.
func cycleThrough(name string, next *entry) []string {
	if i := slices.Index(next.chain, name); i >= 0 {
		return append(append([]string{name}, next.chain[:i]...), name)
	}
	if next.target == name {
		return append(append([]string{name}, next.chain...), name)
	}
	return nil
}

// sameContent reports whether a and b hold the same caller-controlled fields.
func sameContent(a, b Alias) bool {
	return a.Target == b.Target && a.Description == b.Description &&
		a.Disabled == b.Disabled && a.Hidden == b.Hidden && maps.Equal(a.Labels, b.Labels)
}

// normLabels returns a copy of labels, or nil if it is empty.
func normLabels(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	return maps.Clone(labels)
}
