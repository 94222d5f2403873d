package provider

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an upstream failure. The router decides retries, cooldowns
// and fallbacks from the Kind alone.
//
// A Provider reports the end of the context it was given as KindCanceled when
// it was canceled and KindTimeout when its deadline passed, wrapping the
// context's error. It cannot know whether that context is the caller's own or
// a per-attempt one derived from it: the router, which holds both, treats any
// failure that comes while the caller's context is done as the caller's own.
type Kind int

const (
	KindUnknown       Kind = iota // not classified; treated like KindUnavailable
	KindRateLimited               // 429, rate_limit_exceeded
	KindTimeout                   // the per-attempt timeout (a context deadline) expired, or 408/504
	KindUnavailable               // 5xx, overloaded
	KindConnection                // connection refused/reset, stream cut, DNS
	KindContextWindow             // context_length_exceeded
	KindContentPolicy             // content_filter, content_policy_violation
	KindAuth                      // 401, 403
	KindNotFound                  // 404: model or deployment unknown upstream
	KindBadRequest                // other 4xx: the request itself is wrong
	KindCanceled                  // the context was canceled: the caller's own cancellation
	// KindUnsupported: this provider's API cannot express the request (a
	// parameter or content its API lacks, such as n > 1 or logprobs on a
	// native API), found before any call. Another deployment, of another
	// provider, may serve it; it is not the deployment's fault.
	KindUnsupported
)

var kindNames = [...]string{
	KindUnknown:       "unknown",
	KindRateLimited:   "rate_limited",
	KindTimeout:       "timeout",
	KindUnavailable:   "unavailable",
	KindConnection:    "connection",
	KindContextWindow: "context_window_exceeded",
	KindContentPolicy: "content_policy",
	KindAuth:          "auth",
	KindNotFound:      "not_found",
	KindBadRequest:    "bad_request",
	KindCanceled:      "canceled",
	KindUnsupported:   "unsupported",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Retryable reports whether another deployment may succeed where this one
// failed with k.
func (k Kind) Retryable() bool {
	switch k {
	case KindUnknown, KindRateLimited, KindTimeout, KindUnavailable, KindConnection, KindAuth, KindNotFound, KindUnsupported:
		return true
	}
	return false
}

// RequestKind is the kind of a request a provider refuses before any call:
// KindUnsupported when err wraps errors.ErrUnsupported (the provider's API
// cannot express it, another provider's may), else KindBadRequest.
func RequestKind(err error) Kind {
	if errors.Is(err, errors.ErrUnsupported) {
		return KindUnsupported
	}
	return KindBadRequest
}

// Error is a classified upstream failure. Providers return it (match it with
// errors.As, or Classify); Err unwraps to the cause, for example go-openai's
// *openai.APIError or context.Canceled.
type Error struct {
	Kind       Kind
	Status     int           // HTTP status, 0 when there was no response
	Code       string        // OpenAI error code, if any ("context_length_exceeded", …)
	Provider   string        // provider prefix, for example "openai"
	Model      string        // upstream model of the deployment
	RetryAfter time.Duration // from Retry-After / retry-after-ms; 0 when absent
	Err        error         // the underlying error
}

func (e *Error) Error() string {
	s := "provider: " + e.Kind.String()
	if e.Provider != "" || e.Model != "" {
		s += " from " + e.Provider + "/" + e.Model
	}
	if e.Status != 0 {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
