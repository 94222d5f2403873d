package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   Kind
	}{
		// Status alone.
		{400, "", KindBadRequest},
		{401, "", KindAuth},
		{402, "", KindAuth},
		{403, "", KindAuth},
		{404, "", KindNotFound},
		{405, "", KindBadRequest},
		{408, "", KindTimeout},
		{409, "", KindBadRequest},
		{413, "", KindBadRequest},
		{422, "", KindBadRequest},
		{429, "", KindRateLimited},
		{499, "", KindBadRequest},
		{500, "", KindUnavailable},
		{501, "", KindUnavailable},
		{502, "", KindUnavailable},
		{503, "", KindUnavailable},
		{504, "", KindTimeout},
		{520, "", KindUnavailable},
		{524, "", KindTimeout},
		{529, "", KindUnavailable},
		{0, "", KindUnknown},
		{200, "", KindUnknown},
		{302, "", KindUnknown},
		{600, "", KindUnknown},

		// Codes that decide whatever the status.
		{400, "context_length_exceeded", KindContextWindow},
		{413, "context_length_exceeded", KindContextWindow},
		{0, "context_length_exceeded", KindContextWindow},
		{400, "context_window_exceeded", KindContextWindow},
		{400, "model_context_window_exceeded", KindContextWindow},
		{400, "content_filter", KindContentPolicy},
		{400, "content_policy_violation", KindContentPolicy},
		{400, "ResponsibleAIPolicyViolation", KindContentPolicy},
		{200, "content_filter", KindContentPolicy},
		{429, "rate_limit_exceeded", KindRateLimited},
		{400, "rate_limit_exceeded", KindRateLimited},
		{429, "insufficient_quota", KindRateLimited},
		{0, "RATE_LIMIT_EXCEEDED", KindRateLimited},

		// Codes that only decide without a status.
		{0, "model_not_found", KindNotFound},
		{0, "DeploymentNotFound", KindNotFound},
		{0, "invalid_api_key", KindAuth},
		{0, "server_error", KindUnavailable},
		{0, "timeout", KindTimeout},
		{0, "invalid_request_error", KindBadRequest},
		{400, "model_not_found", KindBadRequest},
		{404, "invalid_api_key", KindNotFound},
		{500, "invalid_request_error", KindUnavailable},
		{401, "server_error", KindAuth},

		// Unknown codes fall back to the status.
		{400, "some_new_code", KindBadRequest},
		{503, "some_new_code", KindUnavailable},
		{0, "some_new_code", KindUnknown},
		{0, "429", KindUnknown},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%s", tt.status, tt.code), func(t *testing.T) {
			if got := ClassifyStatus(tt.status, tt.code); got != tt.want {
				t.Errorf("ClassifyStatus(%d, %q) = %v, want %v", tt.status, tt.code, got, tt.want)
			}
		})
	}
}

// apiErr builds the *openai.APIError go-openai returns for an answer.
func apiErr(status int, code any, typ string) *openai.APIError {
	return &openai.APIError{Code: code, Type: typ, Message: "never read", HTTPStatusCode: status, HTTPStatus: http.StatusText(status)}
}

func TestClassify(t *testing.T) {
	type result struct {
		Kind   Kind
		Status int
		Code   string
	}
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want result
	}{
		{"APIError 429", apiErr(429, "rate_limit_exceeded", "requests"), result{KindRateLimited, 429, "rate_limit_exceeded"}},
		{"APIError 400 context", apiErr(400, "context_length_exceeded", "invalid_request_error"), result{KindContextWindow, 400, "context_length_exceeded"}},
		{"APIError 400 content_filter", apiErr(400, "content_filter", ""), result{KindContentPolicy, 400, "content_filter"}},
		{"APIError 400 plain", apiErr(400, nil, "invalid_request_error"), result{KindBadRequest, 400, ""}},
		{"APIError 401", apiErr(401, "invalid_api_key", "invalid_request_error"), result{KindAuth, 401, "invalid_api_key"}},
		{"APIError 404", apiErr(404, "model_not_found", "invalid_request_error"), result{KindNotFound, 404, "model_not_found"}},
		{"APIError 500", apiErr(500, nil, "server_error"), result{KindUnavailable, 500, ""}},
		{"APIError 504", apiErr(504, nil, ""), result{KindTimeout, 504, ""}},
		{"APIError numeric code", apiErr(429, 429, ""), result{KindRateLimited, 429, "429"}},
		{"APIError null code", apiErr(400, 0, "invalid_request_error"), result{KindBadRequest, 400, ""}},
		{"APIError float code", apiErr(400, 1.5, ""), result{KindBadRequest, 400, "1.5"}},
		{"Azure inner code", &openai.APIError{HTTPStatusCode: 400, InnerError: &openai.InnerError{Code: "ResponsibleAIPolicyViolation"}}, result{KindContentPolicy, 400, "ResponsibleAIPolicyViolation"}},
		{"in-stream error, code only", fmt.Errorf("error, %w", apiErr(0, "context_length_exceeded", "")), result{KindContextWindow, 0, "context_length_exceeded"}},
		{"in-stream error, type only", fmt.Errorf("error, %w", apiErr(0, nil, "server_error")), result{KindUnavailable, 0, ""}},
		{"in-stream rate limit type", fmt.Errorf("error, %w", apiErr(0, nil, "rate_limit_error")), result{KindRateLimited, 0, ""}},
		{"RequestError 503", &openai.RequestError{HTTPStatusCode: 503, Err: errors.New("x")}, result{KindUnavailable, 503, ""}},
		{"RequestError 502 html body", &openai.RequestError{HTTPStatusCode: 502, Body: []byte("<html>")}, result{KindUnavailable, 502, ""}},
		{"RequestError around APIError", &openai.RequestError{HTTPStatusCode: 429, Err: apiErr(0, "rate_limit_exceeded", "")}, result{KindRateLimited, 429, "rate_limit_exceeded"}},

		{"canceled", context.Canceled, result{KindCanceled, 0, ""}},
		{"canceled in url.Error", &url.Error{Op: "Post", URL: "http://x", Err: context.Canceled}, result{KindCanceled, 0, ""}},
		{"deadline", context.DeadlineExceeded, result{KindTimeout, 0, ""}},
		{"deadline in url.Error", &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}, result{KindTimeout, 0, ""}},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, result{KindTimeout, 0, ""}},

		{"unexpected EOF", io.ErrUnexpectedEOF, result{KindConnection, 0, ""}},
		{"EOF in url.Error", &url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, result{KindConnection, 0, ""}},
		{"connection refused", &url.Error{Op: "Post", URL: "http://x", Err: opErr}, result{KindConnection, 0, ""}},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), result{KindConnection, 0, ""}},
		{"broken pipe", syscall.EPIPE, result{KindConnection, 0, ""}},
		{"net.ErrClosed", net.ErrClosed, result{KindConnection, 0, ""}},
		{"DNS", &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}, result{KindConnection, 0, ""}},
		{"DNS timeout", &net.DNSError{Err: "timeout", Name: "slow.invalid", IsTimeout: true}, result{KindTimeout, 0, ""}},
		{"transport error", &url.Error{Op: "Post", URL: "http://x", Err: errors.New("http: server closed idle connection")}, result{KindConnection, 0, ""}},

		{"go-openai invalid model", openai.ErrChatCompletionInvalidModel, result{KindBadRequest, 0, ""}},
		{"go-openai stream flag", openai.ErrChatCompletionStreamNotSupported, result{KindBadRequest, 0, ""}},
		{"go-openai content misuse", openai.ErrContentFieldsMisused, result{KindBadRequest, 0, ""}},
		{"go-openai reasoning", openai.ErrReasoningModelMaxTokensDeprecated, result{KindBadRequest, 0, ""}},
		{"unencodable request", &json.UnsupportedValueError{Str: "NaN"}, result{KindBadRequest, 0, ""}},
		{"unencodable type", &json.UnsupportedTypeError{}, result{KindBadRequest, 0, ""}},
		{"garbled answer", &json.SyntaxError{Offset: 3}, result{KindUnavailable, 0, ""}},
		{"mistyped answer", &json.UnmarshalTypeError{Value: "string"}, result{KindUnavailable, 0, ""}},
		{"empty stream messages", openai.ErrTooManyEmptyStreamMessages, result{KindUnavailable, 0, ""}},

		{"anything else", errors.New("context_length_exceeded rate limit 429 timeout"), result{KindUnknown, 0, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Classify(tt.err)
			if diff := cmp.Diff(tt.want, result{e.Kind, e.Status, e.Code}); diff != "" {
				t.Errorf("Classify(%v) (-want +got):\n%s", tt.err, diff)
			}
			if !errors.Is(e, tt.err) {
				t.Errorf("Classify(%v) does not unwrap to the error", tt.err)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyKeepsError(t *testing.T) {
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	orig := &Error{Kind: KindRateLimited, Status: 429, RetryAfter: time.Second}
	if got := Classify(orig); got != orig {
		t.Errorf("Classify(*Error) = %p, want the same %p", got, orig)
	}
	if got := Classify(fmt.Errorf("attempt 2: %w", orig)); got != orig {
		t.Errorf("Classify(wrapped *Error) = %p, want %p", got, orig)
	}
}

func TestKindString(t *testing.T) {
	for k := KindUnknown; k <= KindCanceled; k++ {
		if s := k.String(); s == "" || s[0] == 'K' {
			t.Errorf("Kind(%d).String() = %q", int(k), s)
		}
	}
	if got := Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{"spaces", http.Header{"Retry-After": {" 2 "}}, 2 * time.Second},
		{"zero", http.Header{"Retry-After": {"0"}}, 0},
		{"negative", http.Header{"Retry-After": {"-5"}}, 0},
		{"date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{"past date", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{"RFC 850 date", http.Header{"Retry-After": {now.Add(time.Minute).Format(time.RFC850)}}, time.Minute},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"NaN", http.Header{"Retry-After": {"NaN"}}, 0},
		{"Inf", http.Header{"Retry-After": {"+Inf"}}, 0},
		{"huge", http.Header{"Retry-After": {"1e300"}}, math.MaxInt64},
		{"ms", http.Header{"Retry-After-Ms": {"250"}}, 250 * time.Millisecond},
		{"ms fractional", http.Header{"Retry-After-Ms": {"12.5"}}, 12500 * time.Microsecond},
		{"ms wins", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond},
		{"bad ms, seconds used", http.Header{"Retry-After-Ms": {"x"}, "Retry-After": {"1"}}, time.Second},
		{"negative ms, seconds used", http.Header{"Retry-After-Ms": {"-1"}, "Retry-After": {"4"}}, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.header, now); got != tt.want {
				t.Errorf("RetryAfter(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
	// Parsed from the wire, header names are canonical whatever their case.
	h := http.Header{}
	h.Set("retry-after-ms", "7")
	if got := RetryAfter(h, now); got != 7*time.Millisecond {
		t.Errorf("RetryAfter(retry-after-ms: 7) = %v, want 7ms", got)
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "1.5", "-1", "1e300", "NaN", "Wed, 21 Oct 2015 07:28:00 GMT", "", "0x10"} {
		f.Add(s, s)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ra, ms string) {
		h := http.Header{"Retry-After": {ra}, "Retry-After-Ms": {ms}}
		if d := RetryAfter(h, now); d < 0 {
			t.Errorf("RetryAfter(%q, %q) = %v < 0", ra, ms, d)
		}
	})
}
