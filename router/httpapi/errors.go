package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router"
)

// Error codes of the answers, as GATEWAY.md lists them.
const (
	CodeInvalidAPIKey    = "invalid_api_key"
	CodeAccessDenied     = "model_access_denied"
	CodeModelNotFound    = "model_not_found"
	CodeModelDisabled    = "model_disabled"
	CodeAliasExists      = "alias_exists"
	CodeAliasNotFound    = "alias_not_found"
	CodeInvalidRequest   = "invalid_request"
	CodeTooLarge         = "request_too_large"
	CodeNoDeployment     = "no_deployment_available"
	CodeBudgetExceeded   = "budget_exceeded"
	CodeRateLimited      = "rate_limit_exceeded"
	CodeNotFound         = "not_found"
	CodeExists           = "already_exists"
	CodeMethod           = "method_not_allowed"
	CodeForbidden        = "forbidden"
	CodeContextWindow    = "context_length_exceeded"
	CodeContentPolicy    = "content_policy_violation"
	CodeInternal         = "internal_error"
	CodeStoreUnavailable = "store_unavailable"
	typeInvalidRequest   = "invalid_request_error"
	typeAuthentication   = "authentication_error"
	typePermission       = "permission_error"
	typeNotFound         = "not_found_error"
	typeRateLimit        = "rate_limit_error"
	typeAPI              = "api_error"
	headerModelGroup     = "x-modelroute-model-group"
	headerDeploymentID   = "x-modelroute-deployment-id"
	headerAttempts       = "x-modelroute-attempts"
	defaultMaxBodyBytes  = 10 << 20
)

// apiError is an answer in OpenAI's error shape.
type apiError struct {
	Status     int           `json:"-"`
	RetryAfter time.Duration `json:"-"` // sent as Retry-After when positive
	Message    string        `json:"message"`
	Type       string        `json:"type"`
	Param      *string       `json:"param"`
	Code       string        `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, typ, code, msg string) *apiError {
	return &apiError{Status: status, Type: typ, Code: code, Message: msg}
}

func badRequest(msg string) *apiError {
	return errorf(http.StatusBadRequest, typeInvalidRequest, CodeInvalidRequest, msg)
}

func badParam(param, msg string) *apiError {
	e := badRequest(msg)
	e.Param = &param
	return e
}

func writeError(w http.ResponseWriter, e *apiError) {
	switch {
	case e.RetryAfter > 0:
		secs := (e.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	case e.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client may be gone; nothing else to do
}

// modelError maps an error about the requested name (from the Checker or the
// Router) to its answer. Messages are written here from requested alone, so
// no resolved name can leak whatever the underlying error says.
func modelError(requested string, err error) *apiError {
	q := strconv.Quote(requested)
	var be *access.BudgetError
	var ex *router.ExhaustedError
	var rl *access.RateLimitError
	switch {
	case errors.As(err, &be):
		return errorf(http.StatusTooManyRequests, typeRateLimit, CodeBudgetExceeded,
			"budget exceeded for "+be.Principal+": spent $"+strconv.FormatFloat(be.Spend, 'f', 4, 64)+
				" of $"+strconv.FormatFloat(be.Budget, 'f', 4, 64))
	case errors.Is(err, access.ErrBudgetExceeded):
		return errorf(http.StatusTooManyRequests, typeRateLimit, CodeBudgetExceeded, "budget exceeded")
	case errors.As(err, &rl):
		return errorf(http.StatusTooManyRequests, typeRateLimit, CodeRateLimited,
			"rate limit exceeded for "+rl.Principal+": "+rl.Limit+" of "+strconv.FormatInt(rl.Max, 10)+" per minute")
	case errors.Is(err, access.ErrUnknownKey), errors.Is(err, access.ErrBlocked), errors.Is(err, access.ErrExpired):
		return errorf(http.StatusUnauthorized, typeAuthentication, CodeInvalidAPIKey, "invalid API key")
	case errors.Is(err, access.ErrDenied):
		var de *access.DeniedError
		who := "this key"
		if errors.As(err, &de) && de.Principal != "" {
			who = de.Principal
		}
		return errorf(http.StatusForbidden, typePermission, CodeAccessDenied, who+" may not use model "+q)
	case errors.Is(err, alias.ErrDisabled):
		return errorf(http.StatusForbidden, typePermission, CodeModelDisabled, "model "+q+" is disabled")
	case errors.Is(err, alias.ErrNotFound):
		return errorf(http.StatusNotFound, typeNotFound, CodeModelNotFound, "model "+q+" not found")
	case errors.As(err, &ex):
		return exhaustedError(requested, ex)
	case errors.Is(err, router.ErrClosed):
		return errorf(http.StatusServiceUnavailable, typeAPI, CodeNoDeployment, "router is shutting down")
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return upstreamError(requested, pe)
	}
	return errorf(http.StatusInternalServerError, typeAPI, CodeInternal, "request for model "+q+" failed")
}

// exhaustedError answers a request no deployment could serve: with the last
// upstream status where there was one, else 503.
func exhaustedError(requested string, ex *router.ExhaustedError) *apiError {
	q := strconv.Quote(requested)
	if last := ex.Last(); last != nil {
		switch last.Kind {
		case provider.KindContextWindow, provider.KindContentPolicy, provider.KindBadRequest, provider.KindUnsupported:
			return upstreamError(requested, last)
		}
	}
	if ex.Kind == provider.KindContextWindow {
		return errorf(http.StatusBadRequest, typeInvalidRequest, CodeContextWindow,
			"the prompt is longer than the context window of every deployment of model "+q)
	}
	status := http.StatusServiceUnavailable
	if last := ex.Last(); last != nil && last.Status >= 400 {
		status = last.Status
	}
	msg := "no deployment available for model " + q
	if n := len(ex.Attempts); n > 0 {
		msg += " after " + strconv.Itoa(n) + " attempts"
	}
	e := errorf(status, typeAPI, CodeNoDeployment, msg)
	if status == http.StatusTooManyRequests {
		e.Type = typeRateLimit
	}
	if ex.CooldownWait > 0 {
		msg += "; retry in " + ex.CooldownWait.Round(time.Millisecond).String()
		e.Message = msg
		e.RetryAfter = ex.CooldownWait
	} else if last := ex.Last(); last != nil && last.RetryAfter > 0 {
		e.RetryAfter = last.RetryAfter
	}
	return e
}

// upstreamError answers an upstream refusal that no other deployment could
// fix (a bad request, a content policy, a context window).
func upstreamError(requested string, pe *provider.Error) *apiError {
	q := strconv.Quote(requested)
	switch pe.Kind {
	case provider.KindContextWindow:
		return errorf(http.StatusBadRequest, typeInvalidRequest, CodeContextWindow,
			"the prompt is longer than the context window of model "+q)
	case provider.KindContentPolicy:
		return errorf(http.StatusBadRequest, typeInvalidRequest, CodeContentPolicy,
			"the request to model "+q+" was refused by a content policy")
	case provider.KindBadRequest:
		status := pe.Status
		if status < 400 || status >= 500 {
			status = http.StatusBadRequest
		}
		return errorf(status, typeInvalidRequest, CodeInvalidRequest, "model "+q+" refused the request as invalid")
	case provider.KindUnsupported:
		// Which provider refused, and why, would tell what the name
		// resolves to: say only that no deployment can express it.
		return errorf(http.StatusBadRequest, typeInvalidRequest, CodeInvalidRequest,
			"no deployment of model "+q+" supports this request (a parameter or content its providers' APIs lack, such as n > 1, logprobs or response_format)")
	case provider.KindCanceled:
		return errorf(499, typeAPI, CodeInternal, "request canceled")
	}
	status := pe.Status
	if status < 400 {
		status = http.StatusBadGateway
	}
	return errorf(status, typeAPI, CodeNoDeployment, "model "+q+" failed upstream: "+pe.Kind.String())
}
