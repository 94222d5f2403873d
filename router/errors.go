package router

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
)

// Sentinels to match with errors.Is.
var (
	// ErrNoDeployment: no deployment could serve the request (every attempt
	// failed, or none was a candidate).
	ErrNoDeployment = errors.New("router: no deployment available")
	// ErrCooldown: no deployment was a candidate because they were all
	// cooling down; ExhaustedError.CooldownWait says for how long.
	ErrCooldown = errors.New("router: every deployment is cooling down")
	// ErrClosed: the Router was closed.
	ErrClosed = errors.New("router: closed")
)

// ExhaustedError is returned when a request got no answer: every attempt
// failed, no deployment was a candidate, or an attempt failed in a way no
// other deployment can fix (a bad request, content policy). It lists the
// attempts and unwraps to their errors, to ErrNoDeployment (and ErrCooldown
// when cooldowns were the reason) and, when the caller gave up, to its
// context's error.
//
// Its message names the requested name only, never what it resolved to.
type ExhaustedError struct {
	Requested string
	Attempts  []Attempt
	// Kind is the last attempt's error kind, or KindContextWindow when the
	// prompt fit no deployment; KindUnknown when no attempt was made for
	// another reason.
	Kind provider.Kind
	// CooldownWait is the time until the earliest cooldown of a deployment
	// this request could have used ends; 0 when none was cooling down.
	CooldownWait time.Duration

	cooling bool  // ran out of candidates because of cooldowns
	ctxErr  error // the caller's context error, if it ended the request
}

// final reports whether the failure is the request's own (no other
// deployment could have answered it).
func (e *ExhaustedError) final() bool {
	switch e.Kind {
	case provider.KindBadRequest, provider.KindContentPolicy, provider.KindContextWindow, provider.KindCanceled,
		provider.KindUnsupported:
		return true
	}
	return false
}

func (e *ExhaustedError) Error() string {
	var b strings.Builder
	b.WriteString("router: ")
	if e.final() {
		b.WriteString("request for ")
		b.WriteString(strconv.Quote(e.Requested))
		b.WriteString(" failed: ")
		b.WriteString(e.Kind.String())
	} else {
		b.WriteString("no deployment available for ")
		b.WriteString(strconv.Quote(e.Requested))
	}
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(len(e.Attempts)))
	if len(e.Attempts) == 1 {
		b.WriteString(" attempt")
	} else {
		b.WriteString(" attempts")
	}
	if e.CooldownWait > 0 {
		b.WriteString("; earliest cooldown ends in ")
		b.WriteString(e.CooldownWait.Round(100 * time.Millisecond).String())
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap returns the sentinels and the attempts' errors.
func (e *ExhaustedError) Unwrap() []error {
	errs := make([]error, 0, len(e.Attempts)+3)
	if !e.final() {
		errs = append(errs, ErrNoDeployment)
	}
	if e.cooling {
		errs = append(errs, ErrCooldown)
	}
	if e.ctxErr != nil {
		errs = append(errs, e.ctxErr)
	}
	for _, a := range e.Attempts {
		if a.Err != nil {
			errs = append(errs, a.Err)
		}
	}
	return errs
}

// Last returns the last attempt's classified error, or nil when no attempt
// was made. Gateways answer with its Status.
func (e *ExhaustedError) Last() *provider.Error {
	for i := len(e.Attempts) - 1; i >= 0; i-- {
		if pe := asProviderError(e.Attempts[i].Err); pe != nil {
			return pe
		}
	}
	return nil
}

func asProviderError(err error) *provider.Error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// NameError is returned when the requested name cannot be resolved: it
// unwraps to the Registry's error, so errors.Is(err, alias.ErrNotFound) and
// errors.Is(err, alias.ErrDisabled) work. Its message names the requested
// name only.
type NameError struct {
	Name string
	Err  error
}

func (e *NameError) Error() string {
	what := "not found"
	if errors.Is(e.Err, alias.ErrDisabled) {
		what = "disabled"
	}
	return "router: " + strconv.Quote(e.Name) + ": " + what
}

func (e *NameError) Unwrap() error { return e.Err }

// StreamError is returned by Stream.Recv when the upstream breaks after the
// first chunk reached the caller: nothing is retried then, since part of
// the answer was delivered. It unwraps to the upstream's error.
type StreamError struct {
	Requested string
	Kind      provider.Kind
	Err       error
}

func (e *StreamError) Error() string {
	return "router: stream for " + strconv.Quote(e.Requested) + " broke: " + e.Kind.String()
}

func (e *StreamError) Unwrap() error { return e.Err }
