package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/oauth2"
	googleauth "golang.org/x/oauth2/google"

	"github.com/modelroute/modelroute/provider"
)

// DefaultLocation is the Vertex AI region used when VertexConfig.Location
// is empty, as in LiteLLM.
const DefaultLocation = "us-central1"

// Scope is the OAuth scope of the tokens Vertex calls carry.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// ErrInvalidConfig is returned (wrapped) by NewVertex for a configuration
// that cannot work.
var ErrInvalidConfig = fmt.Errorf("google: %w", provider.ErrInvalidConfig)

// VertexConfig configures a Vertex AI provider. It is plain data.
type VertexConfig struct {
	// Name is the provider prefix reported in errors. Empty: "vertex_ai".
	Name string
	// Project is the Google Cloud project. Empty: the project of the
	// credentials (a service account key's project_id, or ADC's).
	Project string
	// Location is the region ("us-central1", "europe-west4") or "global".
	// Empty: DefaultLocation.
	Location string
	// Credentials is a service account key (or another credentials file of
	// Google's) as JSON, or the path of such a file. Empty: Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's user
	// credentials, the metadata server). It is never part of an error.
	Credentials string
	// TokenSource, when not nil, gives the tokens instead of Credentials
	// and ADC (tests, workload identity set up by the caller).
	TokenSource oauth2.TokenSource
	// BaseURL replaces the OpenAI-compatible endpoint computed from the
	// project and location (a private endpoint, a proxy, a test server);
	// paths such as /chat/completions are appended to it.
	BaseURL string
	// HTTPClient makes the calls; a token is added to each. Nil: a client
	// from provider.NewHTTPClient, owned by the provider.
	HTTPClient *http.Client
}

// String formats c with the credentials redacted.
func (c VertexConfig) String() string {
	type plain VertexConfig // without this method
	c.Credentials = provider.Redact(c.Credentials)
	return fmt.Sprintf("%+v", plain(c))
}

// GoString is String, for the %#v verb.
func (c VertexConfig) GoString() string { return "google.VertexConfig" + c.String() }

// Vertex is a provider.Provider for Vertex AI's OpenAI-compatible Chat
// Completions endpoint, with OAuth tokens from Application Default
// Credentials or a given key. A model without a publisher ("gemini-1.5-pro")
// is sent as Google's ("google/gemini-1.5-pro"), as the endpoint wants;
// errors and answers name the model as requested. It is safe for
// concurrent use; Close releases idle connections of a client it built.
type Vertex struct {
	*provider.OpenAI
	name  string
	close func() // releases the idle connections of an owned client, or nil
}

var (
	_ provider.Provider = (*Vertex)(nil)
	_ provider.Prober   = (*Vertex)(nil)
	_ io.Closer         = (*Vertex)(nil)
)

// validLocation matches Vertex AI regions ("us-central1", "europe-west4",
// "global"): they become part of a host name.
var validLocation = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// validProject matches Google Cloud project IDs (and the legacy
// "domain.com:name" form).
var validProject = regexp.MustCompile(`^[a-z0-9.:-]{1,100}$`)

// NewVertex returns a Vertex provider. It reads the credentials (a file,
// or ADC, which may ask the metadata server whether it is there) but makes
// no call to Vertex; a token is fetched at the first call. It fails when
// the credentials cannot be read, when neither the config nor the
// credentials name a project, or when the location or project is not
// valid.
func NewVertex(ctx context.Context, cfg VertexConfig) (*Vertex, error) {
	name := cfg.Name
	if name == "" {
		name = "vertex_ai"
	}
	fail := func(format string, args ...any) (*Vertex, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, name, fmt.Sprintf(format, args...))
	}
	location := cfg.Location
	if location == "" {
		location = DefaultLocation
	}
	if !validLocation.MatchString(location) {
		return fail("invalid location %q", location)
	}
	authed, project, owned, err := tokenClient(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	base := cfg.BaseURL
	if base == "" {
		if project == "" {
			return fail("no project: give vertex_project, or credentials that name one")
		}
		if !validProject.MatchString(project) {
			return fail("invalid project %q", project)
		}
		base = VertexBaseURL(project, location)
	}
	p, err := provider.NewOpenAI(provider.OpenAIConfig{Name: name, BaseURL: base, HTTPClient: authed})
	if err != nil {
		return nil, err
	}
	v := &Vertex{OpenAI: p, name: name}
	if owned != nil {
		v.close = owned.CloseIdleConnections
	}
	return v, nil
}

// TokenClient returns an HTTP client that adds an OAuth token for Google
// Cloud (from cfg's TokenSource, Credentials or Application Default
// Credentials, as NewVertex finds them) to every request, over
// cfg.HTTPClient's transport (nil: a new provider.NewHTTPClient), and the
// project of cfg or of the credentials. Other Vertex AI APIs use it: Claude
// on Vertex (anthropic.NewVertex) for one. A failure to get a token fails
// the request with a *TokenError.
func TokenClient(ctx context.Context, cfg VertexConfig) (*http.Client, string, error) {
	hc, project, _, err := tokenClient(ctx, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return hc, project, nil
}

// tokenClient is TokenClient; owned is the client it built under the
// token transport, nil when cfg gave one.
func tokenClient(ctx context.Context, cfg VertexConfig) (authed *http.Client, project string, owned *http.Client, err error) {
	ts, project := cfg.TokenSource, cfg.Project
	if ts == nil {
		creds, err := credentials(context.WithoutCancel(ctx), cfg.Credentials)
		if err != nil {
			return nil, "", nil, err
		}
		ts = creds.TokenSource
		if project == "" {
			project = creds.ProjectID
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = provider.NewHTTPClient()
		owned = hc
	}
	authed = &http.Client{
		Transport:     &bearer{src: oauth2.ReuseTokenSource(nil, ts), base: transport(hc)},
		CheckRedirect: hc.CheckRedirect,
		Jar:           hc.Jar,
		Timeout:       hc.Timeout,
	}
	return authed, project, owned, nil
}

// VertexBaseURL is the OpenAI-compatible endpoint of a project in a
// location: https://LOCATION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/LOCATION/endpoints/openapi
// (aiplatform.googleapis.com for "global").
func VertexBaseURL(project, location string) string {
	host := location + "-aiplatform.googleapis.com"
	if location == "global" {
		host = "aiplatform.googleapis.com"
	}
	return "https://" + host + "/v1/projects/" + project + "/locations/" + location + "/endpoints/openapi"
}

// credentials reads a key (JSON or a file's path), or finds ADC.
func credentials(ctx context.Context, key string) (*googleauth.Credentials, error) {
	if key == "" {
		creds, err := googleauth.FindDefaultCredentials(ctx, Scope)
		if err != nil {
			return nil, fmt.Errorf("no credentials given and Application Default Credentials not found: %w", err)
		}
		return creds, nil
	}
	data := []byte(key)
	if !strings.HasPrefix(strings.TrimSpace(key), "{") {
		var err error
		if data, err = os.ReadFile(key); err != nil {
			return nil, fmt.Errorf("reading the credentials file: %w", err)
		}
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, errors.New("the credentials are not JSON")
	}
	switch t := googleauth.CredentialsType(head.Type); t {
	case googleauth.ServiceAccount, googleauth.AuthorizedUser, googleauth.ExternalAccount,
		googleauth.ImpersonatedServiceAccount, googleauth.ExternalAccountAuthorizedUser:
		creds, err := googleauth.CredentialsFromJSONWithType(ctx, data, t, Scope)
		if err != nil {
			return nil, fmt.Errorf("reading the %s credentials: %w", t, err)
		}
		return creds, nil
	}
	return nil, fmt.Errorf("credentials of type %q are not supported", head.Type)
}

// transport returns hc's RoundTripper.
func transport(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// upstreamModel is the name Vertex's endpoint wants: Google's publisher
// prefix added to a bare model name.
func upstreamModel(m string) string {
	if m == "" || strings.Contains(m, "/") {
		return m
	}
	return "google/" + m
}

// ChatCompletion calls the Chat Completions endpoint with the model's
// publisher prefix added.
func (v *Vertex) ChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	model := req.Model
	req.Model = upstreamModel(model)
	resp, err := v.OpenAI.ChatCompletion(ctx, req)
	if err != nil {
		return resp, v.fail(err, model)
	}
	resp.Model = model
	return resp, nil
}

// ChatCompletionStream starts a stream with the model's publisher prefix
// added.
func (v *Vertex) ChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (provider.Stream, error) {
	model := req.Model
	req.Model = upstreamModel(model)
	s, err := v.OpenAI.ChatCompletionStream(ctx, req)
	if err != nil {
		return nil, v.fail(err, model)
	}
	return &vertexStream{Stream: s, v: v, model: model}, nil
}

// Embeddings calls the endpoint's embeddings path with the model's
// publisher prefix added.
func (v *Vertex) Embeddings(ctx context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	model := string(req.Model)
	req.Model = openai.EmbeddingModel(upstreamModel(model))
	resp, err := v.OpenAI.Embeddings(ctx, req)
	if err != nil {
		return resp, v.fail(err, model)
	}
	return resp, nil
}

// Probe checks that a token can be had and the endpoint answers.
func (v *Vertex) Probe(ctx context.Context) error {
	if err := v.OpenAI.Probe(ctx); err != nil {
		return v.fail(err, "")
	}
	return nil
}

// Close releases the idle connections of the client NewVertex built.
func (v *Vertex) Close() error {
	if v.close != nil {
		v.close()
	}
	return nil
}

// fail names the requested model in err and classifies a failure to get a
// token as KindAuth.
func (v *Vertex) fail(err error, model string) error {
	e := provider.Classify(err)
	if e.Model != "" || model != "" {
		e.Model = model
	}
	var te *TokenError
	if errors.As(err, &te) && e.Status == 0 && e.Kind != provider.KindCanceled && e.Kind != provider.KindTimeout {
		e.Kind = provider.KindAuth
	}
	return e
}

// vertexStream names the requested model in its chunks and errors.
type vertexStream struct {
	provider.Stream
	v     *Vertex
	model string
}

func (s *vertexStream) Recv() (openai.ChatCompletionStreamResponse, error) {
	c, err := s.Stream.Recv()
	if err != nil {
		if err == io.EOF {
			return c, err
		}
		return c, s.v.fail(err, s.model)
	}
	c.Model = s.model
	return c, nil
}

// TokenError is the failure to get a token for a call: the call was not
// made. Providers return it inside a *provider.Error of KindAuth.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "google: getting a token: " + e.Err.Error() }

func (e *TokenError) Unwrap() error { return e.Err }

// bearer adds a token to each request.
type bearer struct {
	src  oauth2.TokenSource
	base http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := b.src.Token()
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &TokenError{Err: err}
	}
	r2 := r.Clone(r.Context())
	tok.SetAuthHeader(r2)
	return b.base.RoundTrip(r2)
}
