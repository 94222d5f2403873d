package alias

import (
	"fmt"
	"slices"
)

// entry is one alias with its chain resolved ahead of time. Entries are
// immutable once published.
type entry struct {
	chain    []string // the alias itself, then the aliases it goes through; len(chain) is the depth
	target   string   // final target: never an alias name
	disabled bool     // some alias on chain is disabled
	alias    *Alias   // as stored; never modified
}

// snapshot is one immutable state of the registry, published through an
// atomic.Pointer. Readers use it without locks.
type snapshot struct {
	idx   *index      // entries by name
	all   []Alias     // every alias sorted by name; what the Store saved
	check TargetCheck // nil: none
	rev   uint64      // the highest revision handed out
}

// link returns the entry of alias a whose target is next (nil when the
// target is not an alias).
func link(a *Alias, next *entry) entry {
	e := entry{alias: a, target: a.Target, disabled: a.Disabled}
	if next == nil {
		e.chain = []string{a.Name}
		return e
	}
	chain := make([]string, 1+len(next.chain))
	chain[0] = a.Name
	copy(chain[1:], next.chain)
	e.chain = chain
	e.target = next.target
	e.disabled = a.Disabled || next.disabled
	return e
}

// referrers maps a target name to the aliases that point at it directly.
// Only writers use it, under the write lock. Removing is linear in the
// number of referrers of one target, which a write's copy of the whole
// state dwarfs.
type referrers map[string][]string

func (r referrers) add(target, name string) {
	r[target] = append(r[target], name)
}

func (r referrers) remove(target, name string) {
	names := r[target]
	i := slices.Index(names, name)
	if i < 0 {
		return
	}
	last := len(names) - 1
	names[i] = names[last]
	names[last] = ""
	if last == 0 {
		delete(r, target)
		return
	}
	r[target] = names[:last]
}

// dependents returns, in breadth-first order, every alias whose chain goes
// through name or ends at it, excluding name itself. Each alias comes after
// the alias it targets.
func (r referrers) dependents(name string) []string {
	var out []string
	queue := []string{name}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range r[n] {
			if d == name {
				continue // cannot happen in a valid state; keeps the walk finite
			}
			out = append(out, d)
			queue = append(queue, d)
		}
	}
	return out
}

// build validates a loaded set of aliases and computes their entries. It
// refuses duplicates, bad names, cycles and chains deeper than maxDepth,
// with the first problem check finds.
func build(all []Alias, maxDepth int) ([]entry, referrers, error) {
	entries, refs, errs := check(all, maxDepth, 1)
	if len(errs) > 0 {
		return nil, nil, errs[0]
	}
	out := make([]entry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
	}
	return out, refs, nil
}

// Check validates a set of aliases the way New validates what its Store
// holds: names and targets, duplicates, cycles, and chains deeper than
// maxDepth (0: DefaultMaxDepth). It returns every problem, each once, as
// *Error values: ErrInvalid for a bad name or target, or for a chain too
// deep (the first alias whose chain is, with the chain); ErrExists for a
// duplicate; ErrCycle for a cycle (with the cycle in Chain, reported once
// however many aliases lead into it). An alias that only leads into a
// problem is not reported again. Nil means New would accept the set. A
// config loader calls it to refuse what the Registry would.
func Check(aliases []Alias, maxDepth int) []error {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	_, _, errs := check(aliases, maxDepth, 0)
	return errs
}

// check is build and Check: it computes the entries of the aliases that
// have no problem and collects the problems, stopping after limit of them
// (0: no limit).
func check(all []Alias, maxDepth, limit int) (map[string]entry, referrers, []error) {
	var errs []error
	full := func(err error) bool {
		errs = append(errs, err)
		return limit > 0 && len(errs) >= limit
	}
	byName := make(map[string]*Alias, len(all))
	bad := make(map[string]bool) // has a problem, or leads into one
	for i := range all {
		a := &all[i]
		if _, dup := byName[a.Name]; dup {
			if full(&Error{Op: "load", Name: a.Name, Err: ErrExists, Reason: "appears twice"}) {
				return nil, nil, errs
			}
			continue
		}
		byName[a.Name] = a
		if err := validate("load", *a); err != nil {
			bad[a.Name] = true
			if full(err) {
				return nil, nil, errs
			}
		}
	}
	entries := make(map[string]entry, len(all))
	refs := make(referrers)
	var path []string
	onPath := make(map[string]int)
	for i := range all {
		a := &all[i]
		if byName[a.Name] != a {
			continue // a duplicate
		}
		refs.add(a.Target, a.Name)
		// Walk from a until an alias already built, one with a problem,
		// or a non-alias target, then build the walked aliases backwards.
		path = path[:0]
		clear(onPath)
		n, broken := a.Name, false
		for {
			if _, done := entries[n]; done {
				break
			}
			if bad[n] {
				broken = true
				break
			}
			cur, isAlias := byName[n]
			if !isAlias {
				break
			}
			if i, seen := onPath[n]; seen {
				cyc := append(slices.Clone(path[i:]), n)
				if full(&Error{Op: "load", Name: n, Err: ErrCycle, Reason: "is on a cycle: " + chainString(cyc), Chain: cyc}) {
					return nil, nil, errs
				}
				broken = true
				break
			}
			onPath[n] = len(path)
			path = append(path, n)
			n = cur.Target
		}
		if broken {
			for _, p := range path {
				bad[p] = true
			}
			continue
		}
		for i := len(path) - 1; i >= 0; i-- {
			a := byName[path[i]]
			var next *entry
			if n, ok := entries[a.Target]; ok {
				next = &n
			}
			e := link(a, next)
			if len(e.chain) > maxDepth {
				if full(tooDeep("load", path[i], e.chain, maxDepth)) {
					return nil, nil, errs
				}
				for _, p := range path[:i+1] {
					bad[p] = true
				}
				break
			}
			entries[path[i]] = e
		}
	}
	return entries, refs, errs
}

func tooDeep(op, name string, chain []string, maxDepth int) error {
	return &Error{Op: op, Name: name, Err: ErrInvalid, Chain: chain,
		Reason: fmt.Sprintf("chain %s would be %d deep, more than the limit of %d",
			chainString(chain), len(chain), maxDepth)}
}

// validate checks the fields of a that the caller controls. Op is the
// operation, for the error.
func validate(op string, a Alias) error {
	if p := nameProblem(a.Name); p != "" {
		if op == "load" {
			return &Error{Op: op, Name: a.Name, Err: ErrInvalid, Reason: "name " + p}
		}
		return &Error{Op: "name", Name: a.Name, Err: ErrInvalid, Reason: p}
	}
	if p := nameProblem(a.Target); p != "" {
		return &Error{Op: op, Name: a.Name, Err: ErrInvalid, Reason: "target " + quote(a.Target) + " " + p}
	}
	if a.Target == a.Name {
		return &Error{Op: op, Name: a.Name, Err: ErrCycle, Chain: []string{a.Name, a.Name},
			Reason: "would create a cycle: " + chainString([]string{a.Name, a.Name})}
	}
	if err := checkText(op, a.Name, "description", a.Description); err != nil {
		return err
	}
	for k, v := range a.Labels {
		if err := checkText(op, a.Name, "label key "+quote(k), k); err != nil {
			return err
		}
		if err := checkText(op, a.Name, "label "+quote(k)+" value", v); err != nil {
			return err
		}
	}
	return nil
}
