package bedrock

import (
	"context"
	"errors"
	"strings"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/modelroute/modelroute/provider"
)

// OpenAI error codes the classification reports, so that errors read alike
// whichever provider sent them.
const (
	codeContextLength = "context_length_exceeded"
	codeRateLimit     = "rate_limit_exceeded"
)

// exceptionKinds are the Kinds of Bedrock's exceptions (the error code of
// an answer, or the exception type of a stream event). Read-only.
var exceptionKinds = map[string]provider.Kind{
	"ThrottlingException":           provider.KindRateLimited,
	"ServiceQuotaExceededException": provider.KindRateLimited,
	"ValidationException":           provider.KindBadRequest,
	"AccessDeniedException":         provider.KindAuth,
	"UnrecognizedClientException":   provider.KindAuth,
	"InvalidSignatureException":     provider.KindAuth,
	"ExpiredTokenException":         provider.KindAuth,
	"IncompleteSignature":           provider.KindAuth,
	"ResourceNotFoundException":     provider.KindNotFound,
	"ModelNotReadyException":        provider.KindUnavailable,
	"ModelTimeoutException":         provider.KindTimeout,
	"ServiceUnavailableException":   provider.KindUnavailable,
	"InternalServerException":       provider.KindUnavailable,
	"ModelErrorException":           provider.KindUnavailable,
	"ModelStreamErrorException":     provider.KindUnavailable,
	"ConflictException":             provider.KindBadRequest,
}

// contextWindowMessages start the messages of a ValidationException for a
// prompt longer than the model's context window, by model family. Bedrock
// has no error code for it: these documented prefixes are the only message
// text read.
var contextWindowMessages = []string{
	"input is too long",     // Bedrock's own, for every family
	"too many input tokens", // Amazon Titan and Nova
	"prompt is too long",    // Anthropic
	"input length and `max_tokens` exceed context limit", // Anthropic
	"this model's maximum context length",                // Mistral, Llama served OpenAI-style
	"the number of tokens in the prompt exceeds",         // Cohere
}

// classify turns an error of the SDK into an *provider.Error: the
// exception's code decides the Kind (exceptionKinds; a ValidationException
// about the context window is KindContextWindow, code
// "context_length_exceeded"; throttling and quota errors have code
// "rate_limit_exceeded", the others their exception name), then the HTTP
// status; a failure to get or sign with credentials is KindAuth; anything
// else as provider.Classify says. Retry-After headers of an answer are
// kept.
func classify(err error, now time.Time) *provider.Error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe
	}
	e := &provider.Error{Err: err}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		e.Status = re.HTTPStatusCode()
		e.RetryAfter = provider.RetryAfter(re.Response.Header, now)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		if k, ok := exceptionKind(code); ok {
			e.Kind, e.Code = k, code
			switch {
			case k == provider.KindBadRequest && contextWindow(ae.ErrorMessage()):
				e.Kind, e.Code = provider.KindContextWindow, codeContextLength
			case k == provider.KindRateLimited:
				e.Code = codeRateLimit
			}
			return e
		}
		e.Code = code
	}
	if e.Status != 0 {
		e.Kind = provider.ClassifyStatus(e.Status, "")
		if e.Kind == provider.KindRateLimited {
			e.Code = codeRateLimit
		}
		return e
	}
	var (
		se *v4.SigningError
		ce *CredentialsError
	)
	if (errors.As(err, &se) || errors.As(err, &ce)) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		e.Kind = provider.KindAuth
		return e
	}
	if errors.Is(err, errBadAnswer) || errors.Is(err, errBadEvent) {
		e.Kind = provider.KindUnavailable
		return e
	}
	e.Kind = provider.Classify(err).Kind
	return e
}

// exceptionKind looks up an exception name, with or without the
// "…#Name" or "Name:…" decorations some answers carry.
func exceptionKind(code string) (provider.Kind, bool) {
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	code, _, _ = strings.Cut(code, ":")
	k, ok := exceptionKinds[code]
	if !ok && code != "" {
		// Stream exceptions are named in lower camel case
		// ("throttlingException").
		k, ok = exceptionKinds[strings.ToUpper(code[:1])+code[1:]]
	}
	return k, ok
}

func contextWindow(msg string) bool {
	m := strings.ToLower(strings.TrimSpace(msg))
	for _, prefix := range contextWindowMessages {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// requestID returns the AWS request ID of an answer.
func requestID(md middleware.Metadata) (string, bool) {
	id, ok := awsmiddleware.GetRequestIDMetadata(md)
	return id, ok && id != ""
}
