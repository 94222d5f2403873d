package access

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is; the errors the Checker returns
// carry the principal and name in their message and unwrap to one of these.
var (
	// ErrDenied: the key may not use the requested name. The concrete error
	// is a *DeniedError.
	ErrDenied = errors.New("access: denied")
	// ErrUnknownKey: no key has the given ID. Returned as is, so that the
	// message never echoes what the caller presented.
	ErrUnknownKey = errors.New("access: unknown key")
	// ErrBlocked: the key, or its team, is blocked.
	ErrBlocked = errors.New("access: blocked")
	// ErrExpired: the key's expiry time has passed.
	ErrExpired = errors.New("access: expired")
	// ErrBudgetExceeded: the key, its team or its organization has spent
	// its budget. The concrete error is a *BudgetError.
	ErrBudgetExceeded = errors.New("access: budget exceeded")

	// ErrNotFound: the key, team, organization or access group of a
	// read, update or delete does not exist.
	ErrNotFound = errors.New("access: not found")
	// ErrExists: a create names an ID that is already taken.
	ErrExists = errors.New("access: already exists")
	// ErrInvalid: the input failed validation (empty or malformed ID or
	// name, bad wildcard, negative budget, reference to a team,
	// organization or access group that does not exist, …).
	ErrInvalid = errors.New("access: invalid")
	// ErrInUse: a delete would leave a dangling reference (a team that
	// still has keys, an organization that still has teams, an access
	// group still granted to someone).
	ErrInUse = errors.New("access: in use")
	// ErrClosed: a write after Close.
	ErrClosed = errors.New("access: closed")
	// ErrStore: the Store failed to persist a write (a disk, a database
	// or a Redis that is unreachable), so the write was refused and the
	// Checker kept its state. The error also matches the Store's own.
	ErrStore = errors.New("access: store failed")
)

// storeError marks a Store's failure: its message is the Store's, and it
// matches ErrStore as well as the Store's own errors.
type storeError struct{ err error }

func (e storeError) Error() string        { return e.err.Error() }
func (e storeError) Unwrap() error        { return e.err }
func (e storeError) Is(target error) bool { return target == ErrStore }

// DeniedError is the error Authorize returns when a key may not use a name.
// It names the requested name and the principal, nothing else: never a
// resolved target, never the names the key could have used.
type DeniedError struct {
	Principal string // for example `key "ci-bot"` or `key "3f2a9c1e…"`
	Name      string // the name as requested
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("access: %s may not use %q", e.Principal, e.Name)
}

// Is reports whether target is ErrDenied.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// BudgetError is the error Authorize and CheckKey return when a principal
// on the key's path (the key, its team or the team's organization) has
// spent its budget.
type BudgetError struct {
	Principal string  // the principal whose budget is spent: `key "…"`, `team "…"` or `organization "…"`
	Spend     float64 // USD spent when the check ran
	Budget    float64 // USD allowed
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("access: %s: budget exceeded (spent %.6g of %.6g USD)", e.Principal, e.Spend, e.Budget)
}

// Is reports whether target is ErrBudgetExceeded.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExceeded }

// opError qualifies a sentinel with its subject and an optional detail:
// `access: team "t1": not found`, `access: key "k": invalid: grant "a*b": …`.
type opError struct {
	subject string
	err     error
	detail  string
}

func (e *opError) Error() string {
	s := "access: " + e.subject + ": " + strings.TrimPrefix(e.err.Error(), "access: ")
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

func (e *opError) Unwrap() error { return e.err }

func errorf(subject string, sentinel error, format string, args ...any) error {
	e := &opError{subject: subject, err: sentinel}
	if format != "" {
		e.detail = fmt.Sprintf(format, args...)
	}
	return e
}
