package alias

import (
	"maps"
	"time"
)

// Alias maps a friendly name to a target: a model group, another alias, or a
// provider/model string.
//
// The zero value of every optional field means the common case: an alias is
// active and listed unless Disabled or Hidden says otherwise. Created, Updated
// and Revision are set by the Registry; values given to Create are ignored.
type Alias struct {
	Name        string            `json:"name"`
	Target      string            `json:"target"` // group, another alias, or provider/model
	Description string            `json:"description,omitempty"`
	Disabled    bool              `json:"disabled,omitempty"` // zero value: active
	Hidden      bool              `json:"hidden,omitempty"`   // routable, never listed
	Labels      map[string]string `json:"labels,omitempty"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
	Revision    uint64            `json:"revision"` // registry-wide counter; increases on every change
}

// Active reports whether the alias itself is enabled. An active alias whose
// chain passes through a disabled alias still fails to resolve.
func (a Alias) Active() bool { return !a.Disabled }

// clone returns a copy of a that shares no memory a caller could mutate.
func (a Alias) clone() Alias {
	if a.Labels != nil {
		a.Labels = maps.Clone(a.Labels)
	}
	return a
}

// Update is a partial change to an alias: nil fields are left unchanged.
type Update struct {
	Target      *string
	Description *string
	Disabled    *bool
	Hidden      *bool
	// Labels replaces all labels when non-nil; a non-nil empty map clears them.
	Labels map[string]string
	// IfRevision, when not 0, must equal the alias's current Revision or the
	// update fails with ErrConflict, so two admins cannot silently overwrite
	// each other.
	IfRevision uint64
}

// ListOptions filters List. The zero value lists the aliases a client may
// see: active, not hidden.
type ListOptions struct {
	IncludeHidden bool // also list hidden aliases
	// IncludeDisabled also lists aliases that cannot resolve because they, or
	// an alias on their chain, are disabled.
	IncludeDisabled bool
}

// Resolution is the outcome of Resolve.
type Resolution struct {
	Requested string // the name asked for
	// Chain holds the aliases walked in order, starting with Requested; nil
	// if Requested is not an alias. It is shared: callers must not modify it.
	Chain  []string
	Target string // final target: a group name or a provider/model string
}

// IsAlias reports whether the requested name was an alias.
func (r Resolution) IsAlias() bool { return len(r.Chain) > 0 }

// TargetCheck lets the owner of the model groups (the router) vet aliases.
// Without one, any well-formed target is accepted and every well-formed name
// that is not an alias resolves to itself.
//
// A check's answers must not change while it is installed: Resolve trusts
// that an alias's target, vetted when the alias was written or when the check
// was installed, is still known. To change them (the router's groups
// changed), install a new check with SetTargetCheck, which vets every alias
// again and refuses the change if one would point at nothing.
type TargetCheck interface {
	// CheckAlias is called on each write with the alias name and the final
	// target of its chain, and for every other alias whose final target the
	// write changes. A non-nil error refuses the write: for example the
	// target names no group, or the name shadows a group. It is called while
	// the Registry's write lock is held, so it must not call the Registry's
	// write methods (Resolve, Get and List are fine).
	CheckAlias(name, target string) error
	// Known is called by Resolve on a name that is not an alias; false makes
	// Resolve fail with ErrNotFound. It must be cheap, allocation-free and
	// safe for concurrent use.
	Known(name string) bool
}
