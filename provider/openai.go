package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// DefaultOpenAIBaseURL is the base URL of OpenAI's API, used when
// OpenAIConfig.BaseURL is empty.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1"

// DefaultAzureAPIVersion is the Azure OpenAI API version used when
// AzureConfig.APIVersion is empty.
const DefaultAzureAPIVersion = "2024-10-21"

// ErrInvalidConfig is returned (wrapped) by NewOpenAI and Spec.Config for a
// configuration that cannot work.
var ErrInvalidConfig = errors.New("provider: invalid config")

// OpenAIConfig configures an OpenAI-compatible endpoint. It is plain data; the
// zero value talks to OpenAI's API without a key.
type OpenAIConfig struct {
	// Name is the provider prefix reported in errors ("openai", "groq", …).
	// Empty: "openai", or "azure" when Azure is set.
	Name string

	// BaseURL is the API base, for example "https://api.groq.com/openai/v1"
	// or "http://127.0.0.1:8000/v1"; request paths such as /chat/completions
	// are appended to it. Empty: DefaultOpenAIBaseURL. For Azure, the
	// resource endpoint ("https://NAME.openai.azure.com"), which is required.
	BaseURL string

	// APIKey is sent as "Authorization: Bearer KEY" ("api-key: KEY" for
	// Azure). Empty: no credentials are sent. It is never part of an error.
	APIKey string

	// Organization is sent as the OpenAI-Organization header when not empty.
	Organization string

	// Headers are set on every request after all others, so they can
	// override them. A "Host" entry sets the request's Host.
	Headers map[string]string

	// HTTPClient makes the calls. Nil: a client from NewHTTPClient, owned by
	// the provider and released by Close. Give one client to many providers
	// to share their connection pools.
	HTTPClient *http.Client

	// Azure, when not nil, speaks Azure OpenAI: deployment paths, the
	// api-version query parameter and the api-key header.
	Azure *AzureConfig
}

// String formats c with the API key and the header values redacted, so that
// a logged config leaks no secret.
func (c OpenAIConfig) String() string {
	type plain OpenAIConfig // without this method
	c.APIKey = Redact(c.APIKey)
	c.Headers = RedactHeaders(c.Headers)
	return fmt.Sprintf("%+v", plain(c))
}

// GoString is String, for the %#v verb.
func (c OpenAIConfig) GoString() string { return "provider.OpenAIConfig" + c.String() }

// Redacted stands in for a secret where a config is formatted.
const Redacted = "[redacted]"

// Redact returns Redacted for a secret that is set, and "" for one that is
// not: a config's String shows that a secret is there, never what it is.
func Redact(secret string) string {
	if secret == "" {
		return ""
	}
	return Redacted
}

// RedactHeaders returns a copy of h with every value Redacted (header
// values often carry keys); nil when h is empty.
func RedactHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return h
	}
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = Redacted
	}
	return out
}

// AzureConfig holds the Azure OpenAI specifics of an OpenAIConfig.
type AzureConfig struct {
	// APIVersion is sent as the api-version query parameter. Empty:
	// DefaultAzureAPIVersion.
	APIVersion string
	// Deployments maps an upstream model name (the request's Model) to its
	// Azure deployment name. A model not in the map is its own deployment
	// name, which is how LiteLLM's azure/DEPLOYMENT models work.
	Deployments map[string]string
}

// OpenAI is a Provider for OpenAI's API and every OpenAI-compatible endpoint,
// built on go-openai's client. Create it with NewOpenAI; it is safe for
// concurrent use. Close releases the connections of the HTTP client it built
// for itself.
type OpenAI struct {
	name   string
	client *openai.Client
	doer   *doer
	owned  *http.Client // the client built by NewOpenAI, or nil

	skipDrain atomic.Int64 // streams to close without draining their body (drain.go)
	raw       rawTarget    // for ChatCompletionRaw (raw.go)
}

var (
	_ Provider  = (*OpenAI)(nil)
	_ Prober    = (*OpenAI)(nil)
	_ RawStream = (*openAIStream)(nil)
	_ Readier   = (*openAIStream)(nil)
)

// NewOpenAI returns a Provider for the endpoint cfg describes. It checks
// everything it can without a network call: the base URL must be an absolute
// http or https URL, header names and values, the key and the organization
// must be valid in an HTTP header, and Azure deployments must not be empty.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	name := cfg.Name
	if name == "" {
		name = "openai"
		if cfg.Azure != nil {
			name = "azure"
		}
	}
	fail := func(format string, args ...any) (*OpenAI, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, name, fmt.Sprintf(format, args...))
	}

	base := cfg.BaseURL
	if base == "" {
		if cfg.Azure != nil {
			return fail("azure needs a base URL (the resource endpoint)")
		}
		base = DefaultOpenAIBaseURL
	}
	if err := checkBaseURL(base); err != nil {
		return fail("%v", err)
	}
	if !ValidHeaderValue(cfg.APIKey) {
		return fail("the API key contains characters not allowed in a header")
	}
	if !ValidHeaderValue(cfg.Organization) {
		return fail("the organization contains characters not allowed in a header")
	}
	headers := make(http.Header, len(cfg.Headers))
	host := ""
	for k, v := range cfg.Headers {
		if !ValidHeaderName(k) {
			return fail("invalid header name %q", k)
		}
		if !ValidHeaderValue(v) {
			return fail("header %q: value contains characters not allowed in a header", k)
		}
		ck := http.CanonicalHeaderKey(k)
		if ck == "Host" {
			host = v
			continue
		}
		headers[ck] = []string{v}
	}

	var oc openai.ClientConfig
	if cfg.Azure != nil {
		oc = openai.DefaultAzureConfig(cfg.APIKey, base)
		if cfg.Azure.APIVersion != "" {
			oc.APIVersion = cfg.Azure.APIVersion
		} else {
			oc.APIVersion = DefaultAzureAPIVersion
		}
		if strings.ContainsAny(oc.APIVersion, "&#?/ ") {
			return fail("invalid Azure API version %q", oc.APIVersion)
		}
		deployments := make(map[string]string, len(cfg.Azure.Deployments))
		for model, dep := range cfg.Azure.Deployments {
			if model == "" || dep == "" || strings.ContainsAny(dep, "/?#") {
				return fail("invalid Azure deployment %q for model %q", dep, model)
			}
			deployments[model] = dep
		}
		oc.AzureModelMapperFunc = func(model string) string {
			if dep, ok := deployments[model]; ok {
				return dep
			}
			return url.PathEscape(model)
		}
	} else {
		oc = openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = base
	}
	oc.OrgID = cfg.Organization

	p := &OpenAI{name: name, raw: newRawTarget(base, cfg.Azure != nil, oc.APIVersion, oc.AzureModelMapperFunc, cfg.APIKey, cfg.Organization)}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient()
		p.owned = hc
	}
	p.doer = &doer{client: hc, headers: headers, host: host, provider: name}
	oc.HTTPClient = p.doer
	p.client = openai.NewClientWithConfig(oc)
	return p, nil
}

// Name returns the provider prefix reported in errors.
func (p *OpenAI) Name() string { return p.name }

// ChatCompletion makes one non-streaming chat completion call with req as
// given, except that Stream and StreamOptions are cleared. A response whose
// every choice finished with finish_reason "content_filter" is returned as an
// *Error of KindContentPolicy (status 200, code "content_filter"), so that
// content-policy fallbacks apply.
func (p *OpenAI) ChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	req.Stream = false
	req.StreamOptions = nil
	resp, err := p.client.CreateChatCompletion(ctx, req)
	if err != nil {
		return openai.ChatCompletionResponse{}, p.fail(ctx, err, req.Model)
	}
	if filtered(resp.Choices) {
		return openai.ChatCompletionResponse{}, p.contentFiltered(req.Model)
	}
	return resp, nil
}

func filtered(choices []openai.ChatCompletionChoice) bool {
	for _, c := range choices {
		if c.FinishReason != openai.FinishReasonContentFilter {
			return false
		}
	}
	return len(choices) > 0
}

func (p *OpenAI) contentFiltered(model string) *Error {
	return &Error{
		Kind: KindContentPolicy, Status: http.StatusOK, Code: string(openai.FinishReasonContentFilter),
		Provider: p.name, Model: model, Err: errContentFiltered,
	}
}

var errContentFiltered = errors.New(`finish_reason "content_filter"`)

// ChatCompletionStream starts a streamed chat completion. An error answer
// from the upstream is returned here; later failures come from Recv. A chunk
// whose finish_reason is "content_filter" is returned by Recv as an *Error of
// KindContentPolicy. A stream that ends with neither a finish_reason nor
// "data: [DONE]" fails with KindConnection: it was cut.
func (p *OpenAI) ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (Stream, error) {
	st := &streamState{}
	s, err := p.client.CreateChatCompletionStream(context.WithValue(ctx, streamKey{}, st), req)
	if err != nil {
		return nil, p.fail(ctx, err, req.Model)
	}
	if st.body == nil { // the doer saw no successful answer: cannot happen
		s.Close()
		return nil, p.fail(ctx, errors.New("stream started without an answer body"), req.Model)
	}
	// go-openai's stream closes the same body; its reader is not used.
	return &openAIStream{ctx: ctx, p: p, model: req.Model, body: st.body, ev: newEventReader(st.body)}, nil
}

// Embeddings makes one embeddings call.
func (p *OpenAI) Embeddings(ctx context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	resp, err := p.client.CreateEmbeddings(ctx, req)
	if err != nil {
		return openai.EmbeddingResponse{}, p.fail(ctx, err, string(req.Model))
	}
	return resp, nil
}

// Probe lists the endpoint's models: a cheap call that needs a working key.
func (p *OpenAI) Probe(ctx context.Context) error {
	if _, err := p.client.ListModels(ctx); err != nil {
		return p.fail(ctx, err, "")
	}
	return nil
}

// Close releases the idle connections of the HTTP client NewOpenAI built when
// none was given; a caller's client is left alone. The provider stays usable.
func (p *OpenAI) Close() error {
	if p.owned != nil {
		p.owned.CloseIdleConnections()
	}
	return nil
}

// fail turns err into the *Error the caller gets. When ctx has ended and no
// upstream answer explains the failure, the end of ctx is the cause.
func (p *OpenAI) fail(ctx context.Context, err error, model string) *Error {
	e := Classify(err)
	if ctxErr := ctx.Err(); ctxErr != nil && e.Status == 0 && e.Kind != KindCanceled {
		e = contextError(ctxErr, err)
	}
	if e.Provider == "" {
		e.Provider = p.name
	}
	if e.Model == "" {
		e.Model = model
	}
	return e
}

// doer is the HTTP client go-openai calls: it sets the extra headers, and
// turns an error answer into an *Error carrying the status, the OpenAI error
// and Retry-After, which go-openai's own errors lose.
type doer struct {
	client   *http.Client
	headers  http.Header // canonical keys, one value each; read-only
	host     string
	provider string
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	for k, v := range d.headers {
		req.Header[k] = v
	}
	if d.host != "" {
		req.Host = d.host
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= http.StatusOK && resp.StatusCode < http.StatusBadRequest {
		if st, ok := req.Context().Value(streamKey{}).(*streamState); ok {
			st.body = resp.Body
		}
		return resp, nil
	}
	return nil, d.errorAnswer(resp)
}

func (d *doer) errorAnswer(resp *http.Response) error {
	defer resp.Body.Close()
	e := &Error{
		Status:     resp.StatusCode,
		Provider:   d.provider,
		RetryAfter: RetryAfter(resp.Header, time.Now()),
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		// The status arrived; the body did not.
		e.Kind = ClassifyStatus(resp.StatusCode, "")
		e.Err = fmt.Errorf("reading the error body: %w", err)
		return e
	}
	if apiErr := apiError(body); apiErr != nil {
		apiErr.HTTPStatus = resp.Status
		apiErr.HTTPStatusCode = resp.StatusCode
		e.Err = apiErr
		e.Code = apiCode(apiErr)
		e.Kind = classifyAPI(resp.StatusCode, e.Code, apiErr.Type)
		return e
	}
	e.Err = &openai.RequestError{
		HTTPStatus:     resp.Status,
		HTTPStatusCode: resp.StatusCode,
		Err:            errors.New("no OpenAI error in the body"),
		Body:           body,
	}
	e.Kind = ClassifyStatus(resp.StatusCode, "")
	return e
}

// streamKey is the context key under which ChatCompletionStream hands the
// doer a *streamState.
type streamKey struct{}

// streamState connects one stream call's HTTP body to its Stream.
type streamState struct {
	body io.ReadCloser // set by the doer on a successful answer
}

// openAIStream reads the body of go-openai's stream call with its own
// event reader (go-openai's decodes each chunk with regular expressions and
// allocates per line). Recv and RecvRaw are not safe for concurrent use;
// Close may be called at any time, more than once.
type openAIStream struct {
	// ctx is the call's context, kept to tell the caller's cancellation from
	// an upstream failure when Recv fails.
	ctx      context.Context
	p        *OpenAI
	model    string
	body     io.ReadCloser // the answer's body: closing it ends the stream
	ev       *eventReader
	finished bool  // a chunk carried a finish_reason
	err      error // sticky: returned by every Recv after the first failure
	closed   atomic.Bool
	ended    atomic.Bool // next returned io.EOF after "data: [DONE]": the body is no longer read
}

// next returns the next chunk's JSON, valid until the next call. A chunk
// whose finish_reason is "content_filter" fails the stream.
func (s *openAIStream) next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	chunk, err := s.ev.next()
	if err == nil {
		filtered := false
		finishReasons(chunk, func(reason []byte) {
			if string(reason) == string(openai.FinishReasonContentFilter) {
				filtered = true
			}
			s.finished = true
		})
		if filtered {
			s.err = s.p.contentFiltered(s.model)
			return nil, s.err
		}
		return chunk, nil
	}
	if err == io.EOF {
		if s.finished || s.ev.done {
			s.err = io.EOF
			s.ended.Store(s.ev.done)
			return nil, io.EOF
		}
		err = fmt.Errorf("stream ended before it finished: %w", io.ErrUnexpectedEOF)
	}
	return nil, s.failWith(err)
}

func (s *openAIStream) failWith(err error) error {
	if s.closed.Load() && s.ctx.Err() == nil {
		err = fmt.Errorf("stream closed: %w", context.Canceled)
	}
	s.err = s.p.fail(s.ctx, err, s.model)
	return s.err
}

func (s *openAIStream) Recv() (openai.ChatCompletionStreamResponse, error) {
	var chunk openai.ChatCompletionStreamResponse
	data, err := s.next()
	if err != nil {
		return chunk, err
	}
	if err := json.Unmarshal(data, &chunk); err != nil {
		return openai.ChatCompletionStreamResponse{}, s.failWith(fmt.Errorf("%w: %w", errBadChunk, err))
	}
	return chunk, nil
}

// RecvRaw returns the next chunk's JSON object as the upstream sent it,
// checked to be one, and valid until the next call.
func (s *openAIStream) RecvRaw() ([]byte, error) {
	data, err := s.next()
	if err != nil {
		return nil, err
	}
	if !validObject(data) {
		var v json.RawMessage
		cause := json.Unmarshal(data, &v)
		if cause == nil {
			cause = fmt.Errorf("got %.40q", data)
		}
		return nil, s.failWith(fmt.Errorf("%w: %w", errBadChunk, cause))
	}
	return data, nil
}

// Ready reports whether the next chunk (or the stream's end) has arrived
// already, so that Recv and RecvRaw return without waiting.
func (s *openAIStream) Ready() bool { return s.err != nil || s.ev.ready() }

func (s *openAIStream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.ended.Load() {
		s.drain()
	}
	return s.body.Close()
}

// NewHTTPClient returns the HTTP client NewOpenAI uses when it is given none:
// it keeps up to 1024 idle connections per host (Go's default keeps 2, and
// every request beyond them dials anew: at a few thousand requests per
// second, one stall of a few milliseconds turns into a storm of new
// connections), bounds dialing and TLS handshakes to 10 seconds and idle
// connections to 90 seconds, and has no overall timeout: streams are long,
// and every call is bounded by its context instead. Each call returns a new
// client with its own connections; share one among the providers of a
// process to keep one pool per upstream host.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("invalid base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("base URL %q: scheme must be http or https", base)
	}
	if u.Host == "" {
		return fmt.Errorf("base URL %q has no host", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("base URL %q must not have a query or fragment", base)
	}
	if u.User != nil {
		return fmt.Errorf("base URL must not hold credentials; use the API key")
	}
	return nil
}

// ValidHeaderName reports whether s may be an HTTP header name (a token of
// RFC 9110), so that a config naming extra headers is refused at New rather
// than at every request.
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether s may be an HTTP header value: no
// control characters but tab (a key with a newline would split the header).
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
