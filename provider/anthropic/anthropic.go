package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// Defaults of Config.
const (
	// DefaultBaseURL is the root of Anthropic's API; requests go to
	// DefaultBaseURL + "/v1/messages".
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the anthropic-version header sent when
	// Config.Version is empty.
	DefaultVersion = "2023-06-01"
	// DefaultMaxTokens is the max_tokens sent when a request gives neither
	// max_completion_tokens nor max_tokens (the Messages API requires one).
	DefaultMaxTokens = 4096
)

// Config configures a Provider. It is plain data; the zero value talks to
// Anthropic's API without a key.
type Config struct {
	// Name is the provider prefix reported in errors. Empty: "anthropic".
	Name string
	// BaseURL is the API root, for example "https://api.anthropic.com" or a
	// proxy's "http://127.0.0.1:8080"; "/v1/messages" is appended. A given
	// URL ending in "/v1" or "/v1/messages" is taken as its root. Empty:
	// DefaultBaseURL.
	BaseURL string
	// APIKey is sent as the x-api-key header. Empty: none is sent. It is
	// never part of an error.
	APIKey string
	// Version is sent as the anthropic-version header. Empty: DefaultVersion.
	Version string
	// MaxTokens is the max_tokens of a request that gives none. 0:
	// DefaultMaxTokens.
	MaxTokens int
	// Headers are set on every request after all others ("anthropic-beta",
	// for example).
	Headers map[string]string
	// HTTPClient makes the calls. Nil: a client from provider.NewHTTPClient,
	// owned by the Provider and released by Close.
	HTTPClient *http.Client
}

// VertexConfig places Claude on Vertex AI (NewVertex): each call goes to
// BaseURL + "/projects/PROJECT/locations/LOCATION/publishers/anthropic/models/MODEL:rawPredict"
// (":streamRawPredict" when streamed), with the Messages body less its
// model and with "anthropic_version": VertexVersion. No x-api-key or
// anthropic-version header is sent: the Config's HTTPClient must add
// Google's OAuth token (package provider/google has one). Config.BaseURL
// empty:
// https://LOCATION-aiplatform.googleapis.com/v1 (aiplatform.googleapis.com
// for "global").
type VertexConfig struct {
	Project  string
	Location string
}

// VertexVersion is the anthropic_version Vertex AI wants in the body.
const VertexVersion = "vertex-2023-10-16"

// String formats c with the key and header values redacted.
func (c Config) String() string {
	type plain Config // without this method
	c.APIKey = provider.Redact(c.APIKey)
	c.Headers = provider.RedactHeaders(c.Headers)
	return fmt.Sprintf("%+v", plain(c))
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return "anthropic.Config" + c.String() }

// Provider speaks Anthropic's Messages API behind the provider.Provider
// interface: OpenAI chat requests are translated to Messages requests, and
// the answers, stream events and errors back. Create it with New; it is
// safe for concurrent use.
type Provider struct {
	name      string
	messages  string      // URL of /v1/messages
	models    string      // URL of /v1/models?limit=1, for Probe; "" on Vertex
	vertex    string      // on Vertex: the URL up to the model, "…/publishers/anthropic/models/"
	header    http.Header // sent with every request; read-only
	maxTokens int
	client    *http.Client
	owned     *http.Client // the client New built, or nil
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Prober   = (*Provider)(nil)
	_ io.Closer         = (*Provider)(nil)
)

// ErrInvalidConfig is returned (wrapped) by New for a Config that cannot work.
var ErrInvalidConfig = fmt.Errorf("anthropic: %w", provider.ErrInvalidConfig)

// New returns a Provider for cfg. It checks what it can without a network
// call: the base URL must be an absolute http or https URL without
// credentials, query or fragment; the key, version and headers must be valid
// in an HTTP header; MaxTokens must not be negative.
func New(cfg Config) (*Provider, error) { return newProvider(cfg, nil) }

// Vertex is Claude on Google Cloud's Vertex AI, through its rawPredict
// methods: a Provider without a Probe, for Vertex has no cheap call for
// Claude. Create it with NewVertex; it is safe for concurrent use.
type Vertex struct{ p *Provider }

var (
	_ provider.Provider = (*Vertex)(nil)
	_ io.Closer         = (*Vertex)(nil)
)

// NewVertex returns Claude on Vertex AI in project and location (see
// VertexConfig); cfg's APIKey and Version are not used, its HTTPClient must
// add Google's OAuth token. It fails as New does, and when the project or
// the location is empty or not one URL path segment.
func NewVertex(cfg Config, vc VertexConfig) (*Vertex, error) {
	p, err := newProvider(cfg, &vc)
	if err != nil {
		return nil, err
	}
	return &Vertex{p: p}, nil
}

// ChatCompletion is Provider.ChatCompletion over rawPredict.
func (v *Vertex) ChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	return v.p.ChatCompletion(ctx, req)
}

// ChatCompletionStream is Provider.ChatCompletionStream over
// streamRawPredict.
func (v *Vertex) ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (provider.Stream, error) {
	return v.p.ChatCompletionStream(ctx, req)
}

// Embeddings fails as Provider.Embeddings does.
func (v *Vertex) Embeddings(ctx context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	return v.p.Embeddings(ctx, req)
}

// Close is Provider.Close.
func (v *Vertex) Close() error { return v.p.Close() }

func newProvider(cfg Config, vertex *VertexConfig) (*Provider, error) {
	name := cfg.Name
	if name == "" {
		name = "anthropic"
	}
	fail := func(format string, args ...any) (*Provider, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, name, fmt.Sprintf(format, args...))
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
		if v := vertex; v != nil {
			base = "https://" + v.Location + "-aiplatform.googleapis.com/v1"
			if v.Location == "global" {
				base = "https://aiplatform.googleapis.com/v1"
			}
		}
	}
	root, err := apiRoot(base)
	if err != nil {
		return fail("%v", err)
	}
	if v := vertex; v != nil && (!validSegment(v.Project) || !validSegment(v.Location)) {
		return fail("Vertex AI needs a project and a location, each one path segment (got %q, %q)", v.Project, v.Location)
	}
	version := cfg.Version
	if version == "" {
		version = DefaultVersion
	}
	if cfg.MaxTokens < 0 {
		return fail("max tokens %d is negative", cfg.MaxTokens)
	}
	maxTokens := cfg.MaxTokens
	if maxTokens == 0 {
		maxTokens = DefaultMaxTokens
	}
	header := http.Header{
		"Content-Type":      {"application/json"},
		"Accept":            {"application/json"},
		"Anthropic-Version": {version},
	}
	if !provider.ValidHeaderValue(version) {
		return fail("the version contains characters not allowed in a header")
	}
	if cfg.APIKey != "" {
		if !provider.ValidHeaderValue(cfg.APIKey) {
			return fail("the API key contains characters not allowed in a header")
		}
		header.Set("X-Api-Key", cfg.APIKey)
	}
	for k, v := range cfg.Headers {
		if !provider.ValidHeaderName(k) {
			return fail("invalid header name %q", k)
		}
		if !provider.ValidHeaderValue(v) {
			return fail("header %q: value contains characters not allowed in a header", k)
		}
		header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	p := &Provider{
		name:      name,
		messages:  root + "/v1/messages",
		models:    root + "/v1/models?limit=1",
		header:    header,
		maxTokens: maxTokens,
		client:    cfg.HTTPClient,
	}
	if v := vertex; v != nil {
		p.messages, p.models = "", ""
		p.vertex = strings.TrimSuffix(base, "/") + "/projects/" + v.Project + "/locations/" + v.Location + "/publishers/anthropic/models/"
		header.Del("Anthropic-Version")
		header.Del("X-Api-Key")
	}
	if p.client == nil {
		p.client = provider.NewHTTPClient()
		p.owned = p.client
	}
	return p, nil
}

// validSegment reports whether s is a non-empty URL path segment that
// needs no escaping.
func validSegment(s string) bool {
	return s != "" && url.PathEscape(s) == s && s != "." && s != ".."
}

// apiRoot checks base and returns it without a trailing "/", "/v1" or
// "/v1/messages".
func apiRoot(base string) (string, error) {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return "", fmt.Errorf("invalid base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("base URL %q: scheme must be http or https", base)
	case u.Host == "":
		return "", fmt.Errorf("base URL %q has no host", base)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("base URL %q must not have a query or fragment", base)
	case u.User != nil:
		return "", errors.New("base URL must not hold credentials; use the API key")
	}
	root := strings.TrimSuffix(base, "/")
	root = strings.TrimSuffix(root, "/messages")
	root = strings.TrimSuffix(root, "/v1")
	return root, nil
}

// Name returns the provider prefix reported in errors.
func (p *Provider) Name() string { return p.name }

// ChatCompletion translates req to a Messages request, makes it and
// translates the answer. A request the Messages API cannot express (n > 1,
// logprobs, response_format, legacy functions) fails with KindUnsupported
// before any call, so that the router moves it to a deployment of another
// provider; a malformed one (a tool call whose arguments are not a JSON
// object) fails with KindBadRequest. An
// answer with stop_reason "refusal" is returned as an *provider.Error of
// KindContentPolicy.
func (p *Provider) ChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	body, err := p.encode(req, false)
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	resp, err := p.post(ctx, body, req.Model, false)
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return openai.ChatCompletionResponse{}, p.fail(ctx, err, req.Model)
	}
	var msg messageResponse
	if err := json.Unmarshal(data, &msg); err != nil {
		return openai.ChatCompletionResponse{}, p.fail(ctx, fmt.Errorf("%w: %w", errBadAnswer, err), req.Model)
	}
	if msg.StopReason == stopRefusal {
		return openai.ChatCompletionResponse{}, p.refused(req.Model)
	}
	return toChatResponse(&msg, req.Model, time.Now()), nil
}

// ChatCompletionStream starts a streamed Messages call and returns its
// events as OpenAI chunks; see Stream. An error answer is returned here.
func (p *Provider) ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (provider.Stream, error) {
	body, err := p.encode(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, body, req.Model, true)
	if err != nil {
		return nil, err
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return newStream(ctx, p, req.Model, resp.Body, includeUsage), nil
}

// Embeddings fails with KindUnsupported, wrapping errors.ErrUnsupported,
// without a call: Anthropic has no embeddings API.
func (p *Provider) Embeddings(ctx context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	return openai.EmbeddingResponse{}, &provider.Error{
		Kind: provider.KindUnsupported, Provider: p.name, Model: string(req.Model),
		Err: fmt.Errorf("anthropic: the Messages API has no embeddings: %w", errors.ErrUnsupported),
	}
}

// Probe lists one model: a cheap call that needs a working key.
func (p *Provider) Probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.models, nil)
	if err != nil {
		return p.fail(ctx, err, "")
	}
	p.setHeaders(req)
	resp, err := p.client.Do(req)
	if err != nil {
		return p.fail(ctx, err, "")
	}
	defer resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		return p.errorAnswer(resp, "")
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)); err != nil {
		return p.fail(ctx, err, "")
	}
	return nil
}

// Close releases the idle connections of the HTTP client New built when
// none was given. The Provider stays usable.
func (p *Provider) Close() error {
	if p.owned != nil {
		p.owned.CloseIdleConnections()
	}
	return nil
}

func (p *Provider) setHeaders(req *http.Request) {
	for k, v := range p.header {
		req.Header[k] = v
	}
}

// encode translates req, failing with KindUnsupported for what the
// Messages API cannot express and KindBadRequest for what is malformed.
func (p *Provider) encode(req openai.ChatCompletionRequest, stream bool) ([]byte, error) {
	mr, err := toMessagesRequest(req, p.maxTokens)
	if err != nil {
		return nil, &provider.Error{Kind: provider.RequestKind(err), Provider: p.name, Model: req.Model, Err: err}
	}
	mr.Stream = stream
	if p.vertex != "" {
		mr.Model, mr.AnthropicVersion = "", VertexVersion
	}
	body, err := json.Marshal(mr)
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Provider: p.name, Model: req.Model, Err: fmt.Errorf("anthropic: encoding the request: %w", err)}
	}
	return body, nil
}

// post sends a Messages request and returns a successful answer; an error
// answer or a failure is an *provider.Error.
func (p *Provider) post(ctx context.Context, body []byte, model string, stream bool) (*http.Response, error) {
	target := p.messages
	if p.vertex != "" {
		target = p.vertex + url.PathEscape(model) + ":rawPredict"
		if stream {
			target = p.vertex + url.PathEscape(model) + ":streamRawPredict"
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, p.fail(ctx, err, model)
	}
	p.setHeaders(req)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.fail(ctx, err, model)
	}
	if resp.StatusCode >= http.StatusBadRequest {
		defer resp.Body.Close()
		return nil, p.errorAnswer(resp, model)
	}
	return resp, nil
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// errorAnswer reads an error answer into an *provider.Error.
func (p *Provider) errorAnswer(resp *http.Response, model string) *provider.Error {
	e := &provider.Error{
		Status:     resp.StatusCode,
		Provider:   p.name,
		Model:      model,
		RetryAfter: provider.RetryAfter(resp.Header, time.Now()),
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		e.Kind = provider.ClassifyStatus(resp.StatusCode, "")
		e.Err = fmt.Errorf("anthropic: reading the error body: %w", err)
		return e
	}
	ae := parseError(body)
	ae.Status = resp.StatusCode
	e.Kind, e.Code = classify(resp.StatusCode, ae.Type, ae.Message)
	e.Err = ae
	return e
}

// fail turns err into the *provider.Error the caller gets. When ctx has
// ended and no upstream answer explains the failure, the end of ctx is the
// cause.
func (p *Provider) fail(ctx context.Context, err error, model string) *provider.Error {
	e := provider.Classify(err)
	if ctxErr := ctx.Err(); ctxErr != nil && e.Status == 0 && e.Kind != provider.KindCanceled {
		e = provider.ContextError(ctxErr, err)
	}
	if e.Provider == "" {
		e.Provider = p.name
	}
	if e.Model == "" {
		e.Model = model
	}
	return e
}

// refused is the error of an answer Claude declined to give.
func (p *Provider) refused(model string) *provider.Error {
	return &provider.Error{
		Kind: provider.KindContentPolicy, Status: http.StatusOK, Code: string(openai.FinishReasonContentFilter),
		Provider: p.name, Model: model, Err: errRefused,
	}
}

var (
	errRefused   = errors.New(`anthropic: stop_reason "refusal"`)
	errBadAnswer = errors.New("anthropic: the answer is not a Messages response")
)
