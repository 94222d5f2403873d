package alias

// Resolve follows name through its chain of aliases to the final target.
//
// A name that is not an alias resolves to itself, with a nil Chain: it may be
// a group the router knows. With a TargetCheck set, Resolve fails with
// ErrNotFound when the check does not know the final target; a name that is
// not well formed is never found. It fails with ErrDisabled if any alias on
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
		if s.check != nil && !s.check.Known(e.target) {
			return Resolution{}, &Error{Name: name, Err: ErrNotFound}
		}
		return Resolution{Requested: name, Chain: e.chain, Target: e.target}, nil
	}
	if !validName(name) || (s.check != nil && !s.check.Known(name)) {
		return Resolution{}, &Error{Name: name, Err: ErrNotFound}
	}
	return Resolution{Requested: name, Target: name}, nil
}
