package anthropic

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/modelroute/modelroute/provider"
)

// APIError is an error Anthropic's API answered with, or sent as a stream's
// "error" event: {"type": "error", "error": {"type": …, "message": …}}.
// Providers return it wrapped in a *provider.Error.
type APIError struct {
	Status    int    // HTTP status; 0 for an error event inside a stream
	Type      string // "rate_limit_error", "overloaded_error", …; "" when the body had none
	Message   string
	RequestID string // the body's request_id, if any
}

func (e *APIError) Error() string {
	s := "anthropic: "
	if e.Type != "" {
		s += e.Type
	} else {
		s += "error answer"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errorBody is the wire shape of an error.
type errorBody struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// parseError reads an error body; a body that is not Anthropic's error
// shape gives an APIError without a type, its message the body's start.
func parseError(body []byte) *APIError {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Error != nil {
		return &APIError{Type: eb.Error.Type, Message: eb.Error.Message, RequestID: eb.RequestID}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return &APIError{Message: msg}
}

// OpenAI error codes the classification reports, so that errors read alike
// whichever provider sent them.
const (
	codeContextLength = "context_length_exceeded"
	codeRateLimit     = "rate_limit_exceeded"
)

// classify returns the Kind and code of an error from its HTTP status (0
// inside a stream) and Anthropic error type. The type decides when it is
// known, then the status.
//
// Anthropic has no error type for a prompt longer than the model's context
// window: it answers 400 invalid_request_error with a message that starts
// "prompt is too long" (or, when the prompt and max_tokens together exceed
// the window, "input length and `max_tokens` exceed context limit"). These
// two documented message prefixes are the only message text read; they give
// KindContextWindow with the OpenAI code "context_length_exceeded". A rate
// limit reports OpenAI's "rate_limit_exceeded"; every other error reports
// Anthropic's type as its code.
func classify(status int, typ, msg string) (provider.Kind, string) {
	switch typ {
	case "invalid_request_error":
		if promptTooLong(msg) {
			return provider.KindContextWindow, codeContextLength
		}
		if status == 0 || status == http.StatusBadRequest {
			return provider.KindBadRequest, typ
		}
	case "request_too_large":
		return provider.KindBadRequest, typ
	case "authentication_error", "permission_error", "billing_error":
		return provider.KindAuth, typ
	case "not_found_error":
		return provider.KindNotFound, typ
	case "rate_limit_error":
		return provider.KindRateLimited, codeRateLimit
	case "overloaded_error", "api_error":
		return provider.KindUnavailable, typ
	case "timeout_error":
		return provider.KindTimeout, typ
	}
	if status == http.StatusTooManyRequests {
		return provider.KindRateLimited, codeRateLimit
	}
	if status == 0 {
		return provider.KindUnknown, typ
	}
	return provider.ClassifyStatus(status, ""), typ
}

func promptTooLong(msg string) bool {
	m := strings.ToLower(strings.TrimSpace(msg))
	return strings.HasPrefix(m, "prompt is too long") ||
		strings.HasPrefix(m, "input length and `max_tokens` exceed context limit")
}
