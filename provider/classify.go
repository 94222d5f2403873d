package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Classify returns the *Error in err's chain, or classifies a raw error into a
// new *Error that wraps it. It returns nil for a nil err.
//
// A raw error is classified, in this order, by:
//
//   - go-openai's *openai.RequestError and *openai.APIError: the OpenAI error
//     code first for the kinds that have one (context_length_exceeded,
//     content_filter, content_policy_violation, rate_limit_exceeded, …),
//     then the HTTP status (see [ClassifyStatus]), then the error type when
//     there is no status (an error sent inside a stream);
//   - context.Canceled: KindCanceled; context.DeadlineExceeded and any other
//     timeout: KindTimeout;
//   - go-openai's own request checks and JSON encoding failures: KindBadRequest;
//     an undecodable upstream answer: KindUnavailable;
//   - io.ErrUnexpectedEOF, io.EOF, connection resets and refusals, DNS
//     failures and every other transport error: KindConnection.
//
// Anything else is KindUnknown. Message text is never read.
//
// Classify cannot tell whose context ended: a Provider only sees the context
// it was given, which for the router is the per-attempt context derived from
// the caller's. The router decides: when the caller's own ctx.Err() is
// non-nil, the failure is the caller's (never counted against a deployment);
// otherwise a KindTimeout is the attempt's timeout.
//
// The *Error returned for an error already in the chain is that error itself,
// not a copy.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	e := &Error{Err: err}
	e.Kind, e.Status, e.Code = classify(err)
	return e
}

func classify(err error) (kind Kind, status int, code string) {
	var (
		reqErr *openai.RequestError
		apiErr *openai.APIError
		typ    string
	)
	if errors.As(err, &reqErr) {
		status = reqErr.HTTPStatusCode
	}
	if errors.As(err, &apiErr) {
		if apiErr.HTTPStatusCode != 0 {
			status = apiErr.HTTPStatusCode
		}
		code = apiCode(apiErr)
		typ = apiErr.Type
	}
	if status != 0 || code != "" || typ != "" {
		return classifyAPI(status, code, typ), status, code
	}

	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled, 0, ""
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout, 0, ""
	case isClientSide(err):
		return KindBadRequest, 0, ""
	case isBadUpstreamBody(err):
		return KindUnavailable, 0, ""
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout, 0, ""
	}
	if isConnection(err) {
		return KindConnection, 0, ""
	}
	return KindUnknown, 0, ""
}

// apiCode returns the error's code as a string (OpenAI sends a string,
// some compatible servers a number), or Azure's inner error code. go-openai
// decodes "code": null as the number 0, which is no code.
func apiCode(e *openai.APIError) string {
	switch c := e.Code.(type) {
	case string:
		if c != "" {
			return c
		}
	case int:
		if c != 0 {
			return strconv.Itoa(c)
		}
	case float64:
		if c != 0 {
			return strconv.FormatFloat(c, 'f', -1, 64)
		}
	}
	if e.InnerError != nil {
		return e.InnerError.Code
	}
	return ""
}

// ClassifyStatus returns the Kind of an upstream error answer from its HTTP
// status and its OpenAI error code ("" when absent).
//
// The code decides first for the kinds that need it, whatever the status:
// context_length_exceeded (also context_window_exceeded,
// model_context_window_exceeded) is KindContextWindow; content_filter,
// content_policy_violation and Azure's ResponsibleAIPolicyViolation are
// KindContentPolicy; rate_limit_exceeded and insufficient_quota are
// KindRateLimited. Then the status: 400, 413, 422 and other 4xx are
// KindBadRequest; 401, 402 and 403 KindAuth; 404 KindNotFound; 408
// KindTimeout; 429 KindRateLimited; 504 and 524 KindTimeout; other 5xx
// (500, 502, 503, 529, …) KindUnavailable. Without a status, a few codes
// still classify (model_not_found, invalid_api_key, server_error, …);
// anything else is KindUnknown.
func ClassifyStatus(status int, code string) Kind {
	return classifyAPI(status, code, "")
}

func classifyAPI(status int, code, typ string) Kind {
	if k, ok := codeKind(code, true); ok {
		return k
	}
	if k, ok := statusKind(status); ok {
		return k
	}
	if k, ok := codeKind(code, false); ok {
		return k
	}
	if k, ok := codeKind(typ, false); ok {
		return k
	}
	return KindUnknown
}

// codeKind maps an OpenAI error code (or type). Strong codes override the
// HTTP status; weak ones only classify an error that has no status.
func codeKind(code string, strong bool) (Kind, bool) {
	if code == "" {
		return 0, false
	}
	c := strings.ToLower(code)
	if strong {
		switch c {
		case "context_length_exceeded", "context_window_exceeded", "model_context_window_exceeded":
			return KindContextWindow, true
		case "content_filter", "content_policy_violation", "responsibleaipolicyviolation":
			return KindContentPolicy, true
		case "rate_limit_exceeded", "insufficient_quota":
			return KindRateLimited, true
		}
		return 0, false
	}
	switch c {
	case "rate_limit_error", "requests", "tokens", "too_many_requests":
		return KindRateLimited, true
	case "invalid_api_key", "invalid_authentication", "authentication_error", "permission_error", "permission_denied", "unauthorized":
		return KindAuth, true
	case "model_not_found", "deploymentnotfound", "deployment_not_found", "not_found_error", "not_found":
		return KindNotFound, true
	case "server_error", "api_error", "internal_error", "overloaded_error", "service_unavailable", "engine_overloaded":
		return KindUnavailable, true
	case "timeout", "request_timeout":
		return KindTimeout, true
	case "invalid_request_error", "invalid_value", "bad_request":
		return KindBadRequest, true
	}
	return 0, false
}

func statusKind(status int) (Kind, bool) {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusPaymentRequired, status == http.StatusForbidden:
		return KindAuth, true
	case status == http.StatusNotFound:
		return KindNotFound, true
	case status == http.StatusRequestTimeout:
		return KindTimeout, true
	case status == http.StatusTooManyRequests:
		return KindRateLimited, true
	case status >= 400 && status < 500:
		return KindBadRequest, true
	case status == http.StatusGatewayTimeout, status == 524: // 524: Cloudflare's origin timeout
		return KindTimeout, true
	case status >= 500 && status < 600:
		return KindUnavailable, true
	}
	return 0, false
}

// isClientSide reports errors go-openai raises before sending anything: its
// request checks, and a request that cannot be encoded.
func isClientSide(err error) bool {
	for _, target := range clientSideErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	var (
		unsupportedType  *json.UnsupportedTypeError
		unsupportedValue *json.UnsupportedValueError
		marshaler        *json.MarshalerError
	)
	return errors.As(err, &unsupportedType) || errors.As(err, &unsupportedValue) || errors.As(err, &marshaler)
}

// clientSideErrors are go-openai's request checks. Read-only.
var clientSideErrors = [...]error{
	openai.ErrChatCompletionInvalidModel,
	openai.ErrChatCompletionStreamNotSupported,
	openai.ErrContentFieldsMisused,
	openai.ErrReasoningEffortUnsupported,
	openai.ErrReasoningToolsRequireResponses,
	openai.ErrReasoningSamplingUnsupported,
	openai.ErrReasoningModelMaxTokensDeprecated,
	openai.ErrReasoningModelLimitationsLogprobs,
	openai.ErrReasoningModelLimitationsOther,
	openai.ErrO1BetaLimitationsMessageTypes,
	openai.ErrO1BetaLimitationsTools,
}

// isBadUpstreamBody reports an answer that arrived but could not be decoded.
func isBadUpstreamBody(err error) bool {
	if errors.Is(err, openai.ErrTooManyEmptyStreamMessages) || errors.Is(err, errBadChunk) {
		return true
	}
	var (
		syntax    *json.SyntaxError
		unmarshal *json.UnmarshalTypeError
	)
	return errors.As(err, &syntax) || errors.As(err, &unmarshal)
}

func isConnection(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// Every failure of http.Client.Do is a *url.Error, which is a net.Error:
	// the request did not get an answer.
	var ne net.Error
	return errors.As(err, &ne)
}

// ContextError is the *Error of a call that its context ended, for
// providers that are not built on OpenAI's: KindCanceled when ctxErr is
// context.Canceled, KindTimeout when a deadline passed; cause, if not nil,
// is the failure the end of the context caused (a closed connection), and
// is wrapped too.
func ContextError(ctxErr, cause error) *Error { return contextError(ctxErr, cause) }

// contextError wraps the end of ctx as an *Error: KindCanceled when ctx was
// canceled, KindTimeout when its deadline passed. cause, if not nil, is the
// failure that the end of ctx caused.
func contextError(ctxErr, cause error) *Error {
	kind := KindCanceled
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		kind = KindTimeout
	}
	err := ctxErr
	if cause != nil && !errors.Is(cause, ctxErr) {
		err = errors.Join(ctxErr, cause)
	} else if cause != nil {
		err = cause
	}
	return &Error{Kind: kind, Err: err}
}

// RetryAfter returns how long an upstream asked the caller to wait, from the
// response headers: retry-after-ms (milliseconds, as Azure OpenAI and OpenAI
// send it) if present and valid, else Retry-After as delay-seconds or an HTTP
// date (relative to now). It returns 0 when neither is present or valid, or
// when the date has passed.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) && !math.IsNaN(ms) {
			return durationOf(ms, float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || math.IsInf(secs, 0) || math.IsNaN(secs) {
			return 0
		}
		return durationOf(secs, float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// durationOf converts n units to a Duration, saturating instead of
// overflowing.
func durationOf(n, unit float64) time.Duration {
	d := n * unit
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}
