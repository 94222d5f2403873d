package bedrock

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// ErrInvalidConfig is returned (wrapped) by New for a Config that cannot
// work.
var ErrInvalidConfig = fmt.Errorf("bedrock: %w", provider.ErrInvalidConfig)

// Config configures a Provider. It is plain data.
type Config struct {
	// Name is the provider prefix reported in errors. Empty: "bedrock".
	Name string
	// Region is the AWS region of the Bedrock endpoint ("us-east-1").
	// Empty: the region of the AWS chain (AWS_REGION, the shared config
	// file's profile); New fails when there is none.
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials.
	// Empty: the standard AWS chain (environment, shared credentials and
	// config files, SSO, web identity, container and instance roles). They
	// are never part of an error.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Profile names the shared config profile to read. Empty: AWS_PROFILE,
	// else "default".
	Profile string
	// Endpoint replaces the regional endpoint
	// (https://bedrock-runtime.REGION.amazonaws.com): a VPC endpoint, a
	// proxy, a test server.
	Endpoint string
	// HTTPClient makes the calls. Nil: the SDK's client (which applies
	// AWS_CA_BUNDLE), keeping as many idle connections as
	// provider.NewHTTPClient, owned by the Provider and released by Close.
	HTTPClient *http.Client
}

// String formats c with the secrets redacted.
func (c Config) String() string {
	type plain Config // without this method
	c.SecretAccessKey = provider.Redact(c.SecretAccessKey)
	c.SessionToken = provider.Redact(c.SessionToken)
	c.AccessKeyID = provider.Redact(c.AccessKeyID)
	return fmt.Sprintf("%+v", plain(c))
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return "bedrock.Config" + c.String() }

// Provider speaks Bedrock's Converse and ConverseStream APIs behind the
// provider.Provider interface, for every model family Converse serves
// (Anthropic, Meta Llama, Mistral, Amazon Nova and Titan, Cohere, AI21, …),
// and embeddings through InvokeModel for the Titan and Cohere embedding
// models. Create it with New; it is safe for concurrent use.
type Provider struct {
	name   string
	client *bedrockruntime.Client
	owned  *http.Client // the client New built, or nil
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ io.Closer         = (*Provider)(nil)
)

// New returns a Provider for cfg. It loads the AWS configuration (files
// and environment; credentials are resolved lazily, at the first call) and
// fails when no region is known, when only half of a static key is given,
// or when the endpoint is not an http(s) URL. The SDK's own retries are
// off: the router retries, on another deployment where it can.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	name := cfg.Name
	if name == "" {
		name = "bedrock"
	}
	fail := func(format string, args ...any) (*Provider, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, name, fmt.Sprintf(format, args...))
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return fail("give both aws_access_key_id and aws_secret_access_key, or neither")
	}
	if cfg.SessionToken != "" && cfg.AccessKeyID == "" {
		return fail("a session token needs aws_access_key_id and aws_secret_access_key")
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return fail("endpoint %q: want an http(s) URL with a host and no credentials", redactURL(cfg.Endpoint))
		}
	}
	p := &Provider{name: name}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.WithoutCancel(ctx), opts...)
	if err != nil {
		return fail("loading the AWS configuration: %v", err)
	}
	if awsCfg.Region == "" {
		return fail("no region: give aws_region_name, or set AWS_REGION")
	}
	if awsCfg.Credentials != nil {
		awsCfg.Credentials = credentialsProvider{awsCfg.Credentials}
	}
	// The HTTP client is set on the Bedrock client, not in the loaded
	// configuration: the configuration applies AWS_CA_BUNDLE to the SDK's
	// own client only, and refuses any other.
	var hc aws.HTTPClient = cfg.HTTPClient
	if cfg.HTTPClient == nil {
		hc = awsCfg.HTTPClient
		if bc, ok := hc.(*awshttp.BuildableClient); ok {
			hc = bc.WithTransportOptions(poolOptions).Freeze()
		}
		p.owned, _ = hc.(*http.Client)
	}
	p.client = bedrockruntime.NewFromConfig(awsCfg, func(o *bedrockruntime.Options) {
		o.HTTPClient = bufferedBody{hc}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return p, nil
}

// CredentialsError is the failure to get AWS credentials for a call (none
// in the chain, an expired SSO session, an unreachable instance role):
// the call was not made. Providers return it inside a *provider.Error of
// KindAuth.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string {
	return "bedrock: getting AWS credentials: " + e.Err.Error()
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// credentialsProvider marks the failures of the credentials chain.
type credentialsProvider struct{ p aws.CredentialsProvider }

func (c credentialsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	cr, err := c.p.Retrieve(ctx)
	if err != nil {
		return cr, &CredentialsError{Err: err}
	}
	return cr, nil
}

// bufferedBody hands net/http a copy of each request body. The SDK closes
// its request body as soon as the response arrives, while net/http may
// still be finishing the request (reading the body's end): a fast answer
// then made net/http fail the write and close the connection under the
// response being read. Bedrock's request bodies are small JSON documents.
type bufferedBody struct{ c aws.HTTPClient }

func (b bufferedBody) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("bedrock: reading the request body: %w", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		r.ContentLength = int64(len(data))
	}
	return b.c.Do(r)
}

// poolOptions keeps as many idle connections per host as
// provider.NewHTTPClient does (the SDK's default keeps 10).
func poolOptions(tr *http.Transport) {
	tr.MaxIdleConns = 4096
	tr.MaxIdleConnsPerHost = 1024
	tr.IdleConnTimeout = 90 * time.Second
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = url.User("redacted")
		return u.String()
	}
	return s
}

// Name returns the provider prefix reported in errors.
func (p *Provider) Name() string { return p.name }

// ChatCompletion translates req to a Converse request, makes it and
// translates the answer. What Converse cannot express (n > 1, logprobs,
// response_format, legacy functions, image URLs that are not data URLs, a
// tool call whose arguments are not a JSON object) fails with
// KindBadRequest before any call. An answer stopped by a guardrail or a
// content filter is returned as an *provider.Error of KindContentPolicy.
func (p *Provider) ChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	in, err := toConverse(req)
	if err != nil {
		return openai.ChatCompletionResponse{}, p.badRequest(req.Model, err)
	}
	out, err := p.client.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String(req.Model), Messages: in.messages, System: in.system,
		InferenceConfig: in.inference, ToolConfig: in.tools,
	})
	if err != nil {
		return openai.ChatCompletionResponse{}, p.fail(ctx, err, req.Model)
	}
	if filteredStop(out.StopReason) {
		return openai.ChatCompletionResponse{}, p.filtered(req.Model, out.StopReason)
	}
	resp, err := toChatResponse(out, req.Model, time.Now())
	if err != nil {
		return openai.ChatCompletionResponse{}, p.fail(ctx, err, req.Model)
	}
	return resp, nil
}

// ChatCompletionStream starts a ConverseStream call and returns its events
// as OpenAI chunks; see Stream.
func (p *Provider) ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (provider.Stream, error) {
	in, err := toConverse(req)
	if err != nil {
		return nil, p.badRequest(req.Model, err)
	}
	out, err := p.client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(req.Model), Messages: in.messages, System: in.system,
		InferenceConfig: in.inference, ToolConfig: in.tools,
	})
	if err != nil {
		return nil, p.fail(ctx, err, req.Model)
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return newStream(ctx, p, req.Model, out.GetStream(), includeUsage), nil
}

// Close releases the idle connections of the HTTP client New built when
// none was given. The Provider stays usable.
func (p *Provider) Close() error {
	if p.owned != nil {
		p.owned.CloseIdleConnections()
	}
	return nil
}

// badRequest is the error for a request refused before any call:
// KindUnsupported for what Converse cannot express, else KindBadRequest.
func (p *Provider) badRequest(model string, err error) *provider.Error {
	return &provider.Error{Kind: provider.RequestKind(err), Provider: p.name, Model: model, Err: err}
}

// filteredStop reports the stop reasons of an answer cut by a filter.
func filteredStop(r types.StopReason) bool {
	return r == types.StopReasonContentFiltered || r == types.StopReasonGuardrailIntervened
}

func (p *Provider) filtered(model string, r types.StopReason) *provider.Error {
	return &provider.Error{
		Kind: provider.KindContentPolicy, Status: http.StatusOK, Code: string(openai.FinishReasonContentFilter),
		Provider: p.name, Model: model, Err: fmt.Errorf("bedrock: stop reason %q", r),
	}
}

// fail turns err into the *provider.Error the caller gets; see classify.
func (p *Provider) fail(ctx context.Context, err error, model string) *provider.Error {
	e := classify(err, time.Now())
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

// family is the model family of a Bedrock model ID, without a
// cross-region prefix ("us.anthropic.claude-…" → "anthropic").
func family(model string) string {
	for _, geo := range []string{"us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca."} {
		if rest, ok := strings.CutPrefix(model, geo); ok {
			model = rest
			break
		}
	}
	f, _, _ := strings.Cut(model, ".")
	return f
}
