package alias

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinels to match with errors.Is. Every error the Registry returns for one
// of these reasons is an *Error that wraps the sentinel and names the input.
var (
	ErrNotFound = errors.New("alias: not found")
	ErrExists   = errors.New("alias: already exists")
	ErrDisabled = errors.New("alias: disabled")
	ErrConflict = errors.New("alias: revision conflict")
	ErrInvalid  = errors.New("alias: invalid")
	ErrCycle    = errors.New("alias: cycle")
	ErrClosed   = errors.New("alias: registry closed")
	// ErrStore: the Store failed to persist a write (a disk, a database
	// or a Redis that is unreachable), so the write was refused and the
	// Registry kept its state. The error also matches the Store's own.
	ErrStore = errors.New("alias: store failed")
)

// storeError marks a Store's failure: its message is the Store's, and it
// matches ErrStore as well as the Store's own errors.
type storeError struct{ err error }

func (e storeError) Error() string        { return e.err.Error() }
func (e storeError) Unwrap() error        { return e.err }
func (e storeError) Is(target error) bool { return target == ErrStore }

// Error is the error returned for a refused operation. It wraps one of the
// sentinels (Err) and, when the refusal came from elsewhere (a TargetCheck),
// the underlying error (Cause); errors.Is matches either.
//
// Errors returned by Resolve name the requested name only, never what it
// resolves to. Errors from the Store or the context are not *Error: they are
// wrapped with the operation and name, and match their own sentinels
// (context.Canceled, fs.ErrNotExist, …); a Store's failure to save matches
// ErrStore too.
type Error struct {
	Op     string   // "create", "update", "delete", "load", "set target check"; "name" for a malformed name; empty for Get and Resolve
	Name   string   // the name the caller gave
	Err    error    // the sentinel: ErrNotFound, ErrExists, …
	Reason string   // what went wrong, when more specific than Err ("contains whitespace")
	Chain  []string // for ErrCycle and too-deep chains: the offending chain
	Cause  error    // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("alias: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteByte(' ')
	}
	b.WriteString(quote(e.Name))
	b.WriteString(": ")
	if e.Reason != "" {
		b.WriteString(e.Reason)
	} else {
		b.WriteString(sentinelText(e.Err))
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause, if any.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

func sentinelText(err error) string {
	switch err {
	case ErrNotFound:
		return "not found"
	case ErrExists:
		return "already exists"
	case ErrDisabled:
		return "disabled"
	case ErrConflict:
		return "revision conflict"
	case ErrInvalid:
		return "invalid"
	case ErrCycle:
		return "cycle"
	case ErrClosed:
		return "registry closed"
	case nil:
		return "error"
	}
	return err.Error()
}

// maxQuoted bounds how much of an input an error message repeats.
const maxQuoted = 80

// quote quotes s for an error message, shortened when long.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// chainString renders a chain as "a → b → c".
func chainString(chain []string) string {
	return strings.Join(chain, " → ")
}
