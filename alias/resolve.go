package alias

// Resolve follows name through its chain of aliases to the final target.
//
// A name that is not an alias resolves to itself, with a nil Chain: it may be
// a group the router knows. With a TargetCheck set, such a name must be Known
// to the check, or Resolve fails with ErrNotFound; an alias's final target
// was vetted by the check when it was written or when the check was
// installed, and is not asked about again. A name that is not well formed is
// never found. It fails with ErrDisabled if any alias on
// the chain is disabled. Errors name the requested name only, never what it
// resolves to; on error the Resolution is zero.
//
// Resolve takes no lock and, when it succeeds, allocates nothing. It sees the
// registry before or after any write, never in between.
func (r *Registry) Resolve(name string) (Resolution, error) {
	s := r.state()
	if i := s.idx.find(name); i >= 0 {
		e := &s.idx.slots[i]
		if e.disabled() {
			return Resolution{}, &Error{Name: name, Err: ErrDisabled}
		}
		return Resolution{Requested: name, Chain: e.chain, Target: e.target}, nil
	}
	if !validName(name) || (s.check != nil && !s.check.Known(name)) {
		return Resolution{}, &Error{Name: name, Err: ErrNotFound}
	}
	return Resolution{Requested: name, Target: name}, nil
}
