package alias

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Reload replaces the Registry's aliases with what its Store holds now, as
// New loads them. It is for a Store that several processes share: when one
// of them writes, the others reload (for example on a notification from
// the store) and see the change without a restart.
//
// The new state is checked as New checks it, and against the TargetCheck;
// if anything is refused, Reload returns the error and the Registry keeps
// its current state. Otherwise readers move to the new state at once, as
// after a write, and subscribers get one event per alias that was created,
// changed or deleted (an alias whose revision and content are unchanged
// sends none). Reload takes the write lock: it waits for a write in
// progress, or gives up when ctx ends.
func (r *Registry) Reload(ctx context.Context) error {
	const op = "reload"
	if err := r.lock(ctx, op, ""); err != nil {
		return err
	}
	defer r.unlock()
	all, rev, err := load(ctx, r.store)
	if err != nil {
		return fmt.Errorf("alias: reload: load store: %w", err)
	}
	entries, refs, err := build(all, r.maxDepth)
	if err != nil {
		return fmt.Errorf("alias: reload: %w", err)
	}
	s := r.snap.Load()
	if s.check != nil {
		for _, e := range entries {
			if err := s.check.CheckAlias(e.alias.Name, e.target); err != nil {
				return &Error{Op: op, Name: e.alias.Name, Err: ErrInvalid,
					Reason: "target " + quote(e.target) + " refused", Cause: err}
			}
		}
	}
	events := diff(s.all, all)
	r.snap.Store(&snapshot{idx: newIndex(s.idx.seed, entries), all: all, check: s.check, rev: max(rev, s.rev)})
	r.refs = refs
	for _, ev := range events {
		r.hub.publish(ev)
	}
	return nil
}

// diff returns the events that turn old into new, both sorted by name.
func diff(old, new []Alias) []Event {
	var evs []Event
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || i < len(old) && old[i].Name < new[j].Name:
			evs = append(evs, Event{Kind: EventDeleted, Old: old[i].clone()})
			i++
		case i == len(old) || new[j].Name < old[i].Name:
			evs = append(evs, Event{Kind: EventCreated, New: new[j].clone()})
			j++
		default:
			if old[i].Revision != new[j].Revision || !sameContent(old[i], new[j]) {
				evs = append(evs, Event{Kind: EventUpdated, Old: old[i].clone(), New: new[j].clone()})
			}
			i++
			j++
		}
	}
	return evs
}

// load reads the store's aliases, sorted by name with their labels
// normalized, and the highest revision among them.
func load(ctx context.Context, store Store) ([]Alias, uint64, error) {
	loaded, err := store.Load(ctx)
	if err != nil {
		return nil, 0, err
	}
	all := make([]Alias, len(loaded))
	var rev uint64
	for i, a := range loaded {
		a.Labels = normLabels(a.Labels)
		all[i] = a
		rev = max(rev, a.Revision)
	}
	slices.SortFunc(all, func(a, b Alias) int { return cmp.Compare(a.Name, b.Name) })
	return all, rev, nil
}
