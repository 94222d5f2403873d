package google_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/oauth2"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/google"
	"github.com/modelroute/modelroute/provider/providertest"
)

const token = "ya29.test-token"

func newVertex(t *testing.T, cfg google.VertexConfig) *google.Vertex {
	t.Helper()
	v, err := google.NewVertex(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestVertexConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		Options: []providertest.Option{providertest.WithAPIKey(token)},
		New: func(t *testing.T, srv *providertest.Server) provider.Provider {
			return newVertex(t, google.VertexConfig{
				BaseURL: srv.URL(), TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}),
			})
		},
	})
}

func TestVertexModelAndPaths(t *testing.T) {
	srv := providertest.NewServer(providertest.WithAPIKey(token))
	defer srv.Close()
	v := newVertex(t, google.VertexConfig{BaseURL: srv.URL() + "/projects/p/locations/l/endpoints/openapi",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})})
	tests := []struct{ requested, sent string }{
		{"gemini-1.5-pro", "google/gemini-1.5-pro"},
		{"google/gemini-2.0-flash-001", "google/gemini-2.0-flash-001"},
		{"meta/llama3-405b-instruct-maas", "meta/llama3-405b-instruct-maas"},
	}
	for _, tt := range tests {
		req := openai.ChatCompletionRequest{Model: tt.requested, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}
		resp, err := v.ChatCompletion(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", tt.requested, err)
		}
		last, _ := srv.LastRequest()
		if last.Model != tt.sent || resp.Model != tt.requested {
			t.Errorf("%s: sent %q, answered as %q; want %q, %q", tt.requested, last.Model, resp.Model, tt.sent, tt.requested)
		}
		if last.Path != "/v1/projects/p/locations/l/endpoints/openapi/chat/completions" {
			t.Errorf("path %q", last.Path)
		}
		s, err := v.ChatCompletionStream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		for {
			c, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Model != tt.requested {
				t.Errorf("%s: chunk names %q", tt.requested, c.Model)
			}
		}
		s.Close()
	}
	srv.SetFault("", providertest.Fault{Status: 429})
	_, err := v.ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "gemini-pro", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
	var e *provider.Error
	if !errors.As(err, &e) || e.Kind != provider.KindRateLimited || e.Model != "gemini-pro" || e.Provider != "vertex_ai" {
		t.Errorf("error %v: want rate_limited naming vertex_ai/gemini-pro", err)
	}
}

// failingSource never gives a token.
type failingSource struct{}

func (failingSource) Token() (*oauth2.Token, error) {
	return nil, errors.New("oauth2: cannot fetch token: 400 invalid_grant")
}

func TestVertexTokenFailureIsAuth(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	v := newVertex(t, google.VertexConfig{BaseURL: srv.URL(), TokenSource: failingSource{}})
	req := openai.ChatCompletionRequest{Model: "gemini-pro", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}
	calls := map[string]func() error{
		"chat":   func() error { _, err := v.ChatCompletion(t.Context(), req); return err },
		"stream": func() error { _, err := v.ChatCompletionStream(t.Context(), req); return err },
		"embeddings": func() error {
			_, err := v.Embeddings(t.Context(), openai.EmbeddingRequest{Model: "text-embedding-004", Input: "x"})
			return err
		},
		"probe": func() error { return v.Probe(t.Context()) },
	}
	for name, call := range calls {
		err := call()
		var e *provider.Error
		var te *google.TokenError
		if !errors.As(err, &e) || e.Kind != provider.KindAuth || !errors.As(err, &te) {
			t.Errorf("%s: error %v, want KindAuth wrapping a *google.TokenError", name, err)
		}
	}
	if n := srv.Total(); n != 0 {
		t.Errorf("%d requests went out without a token", n)
	}
}

func TestNewVertexValidates(t *testing.T) {
	static := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	tests := []struct {
		name string
		cfg  google.VertexConfig
		want string // in the error; "" means success
	}{
		{"project and location", google.VertexConfig{Project: "my-project", Location: "europe-west4", TokenSource: static}, ""},
		{"default location", google.VertexConfig{Project: "my-project", TokenSource: static}, ""},
		{"global", google.VertexConfig{Project: "my-project", Location: "global", TokenSource: static}, ""},
		{"no project", google.VertexConfig{TokenSource: static}, "no project"},
		{"bad location", google.VertexConfig{Project: "p", Location: "evil.com/x", TokenSource: static}, "invalid location"},
		{"bad project", google.VertexConfig{Project: "p/../x", TokenSource: static}, "invalid project"},
		{"key not JSON", google.VertexConfig{Project: "p", Credentials: "{not json"}, "not JSON"},
		{"key of an unknown type", google.VertexConfig{Project: "p", Credentials: `{"type":"api_key","secret":"s3cr3t"}`}, `type "api_key"`},
		{"missing key file", google.VertexConfig{Project: "p", Credentials: "/nonexistent/key.json"}, "reading the credentials file"},
		{"project from the key", google.VertexConfig{Credentials: `{"type":"service_account","project_id":"from-key","private_key":"s3cr3t","client_email":"a@from-key.iam.gserviceaccount.com"}`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := google.NewVertex(t.Context(), tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				v.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, provider.ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "google: ") {
				t.Fatalf("error %v, want a google: ErrInvalidConfig containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q leaks the key", err)
			}
		})
	}
}

// TestVertexBadKeyIsAuth: a service account key that cannot sign fails
// each call with KindAuth, before anything goes out.
func TestVertexBadKeyIsAuth(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	v := newVertex(t, google.VertexConfig{BaseURL: srv.URL(), Credentials: `{"type":"service_account","project_id":"p","private_key":"s3cr3t","client_email":"a@p.iam.gserviceaccount.com"}`})
	_, err := v.ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "gemini-pro", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
	if e := provider.Classify(err); e == nil || e.Kind != provider.KindAuth || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %v, want KindAuth without the key", err)
	}
	if srv.Total() != 0 {
		t.Errorf("a request went out")
	}
}

func TestVertexBaseURL(t *testing.T) {
	for _, tt := range []struct{ project, location, want string }{
		{"p", "us-central1", "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/openapi"},
		{"p", "global", "https://aiplatform.googleapis.com/v1/projects/p/locations/global/endpoints/openapi"},
	} {
		if got := google.VertexBaseURL(tt.project, tt.location); got != tt.want {
			t.Errorf("VertexBaseURL(%q, %q) = %q, want %q", tt.project, tt.location, got, tt.want)
		}
	}
	if s := (google.VertexConfig{Credentials: `{"private_key":"s3cr3t"}`}).String(); strings.Contains(s, "s3cr3t") {
		t.Errorf("String leaks the key: %s", s)
	}
}

func ExampleNewVertex() {
	upstream := providertest.NewServer()
	defer upstream.Close()
	// Real services give Project and Location, and Application Default
	// Credentials find the token; the fake server stands in for Vertex here.
	v, err := google.NewVertex(context.Background(), google.VertexConfig{
		BaseURL:     upstream.URL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.example"}),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	resp, err := v.ChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model:    "gemini-1.5-pro",
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	})
	if err != nil {
		panic(err)
	}
	last, _ := upstream.LastRequest()
	fmt.Println(resp.Choices[0].Message.Content, last.Model, last.Header.Get("Authorization"))
	// Output: ok google/gemini-1.5-pro Bearer ya29.example
}

// serviceAccount returns a service account key whose token_uri is a fake
// token endpoint on loopback, which hands out tok.
func serviceAccount(t *testing.T, tok string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.Form.Get("assertion") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
	}))
	t.Cleanup(tokens.Close)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "from-key", "private_key_id": "k1", "private_key": string(pemKey),
		"client_email": "router@from-key.iam.gserviceaccount.com", "token_uri": tokens.URL,
	})
	return string(b)
}

// TestVertexServiceAccount: a service account key (as vertex_credentials
// gives it, JSON or a file) gets a token from its token endpoint, and every
// call carries it.
func TestVertexServiceAccount(t *testing.T) {
	key := serviceAccount(t, "ya29.from-key")
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, creds := range map[string]string{"json": key, "file": path} {
		t.Run(name, func(t *testing.T) {
			srv := providertest.NewServer(providertest.WithAPIKey("ya29.from-key"))
			defer srv.Close()
			v := newVertex(t, google.VertexConfig{BaseURL: srv.URL(), Credentials: creds})
			for range 3 {
				if _, err := v.ChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: "gemini-pro", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// FuzzCredentials reads arbitrary vertex_credentials: NewVertex never
// panics, and fails with ErrInvalidConfig or builds a provider; the key's
// text never shows in the error.
func FuzzCredentials(f *testing.F) {
	f.Add(`{"type":"service_account","project_id":"p","private_key":"k","client_email":"a@p.iam.gserviceaccount.com"}`)
	f.Add(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}`)
	f.Add(`{"type":"external_account","audience":"a","subject_token_type":"t","token_url":"http://127.0.0.1:1/token","credential_source":{"file":"/nonexistent"}}`)
	f.Add(`{"type":`)
	f.Fuzz(func(t *testing.T, key string) {
		if !strings.HasPrefix(strings.TrimSpace(key), "{") {
			return // a path: not read here
		}
		v, err := google.NewVertex(t.Context(), google.VertexConfig{Project: "p", Credentials: key})
		if err != nil {
			if !errors.Is(err, provider.ErrInvalidConfig) {
				t.Fatalf("error %v is not ErrInvalidConfig", err)
			}
			return
		}
		v.Close()
	})
}

func TestTokenClient(t *testing.T) {
	srv := providertest.NewServer(providertest.WithAPIKey("ya29.tc"))
	defer srv.Close()
	hc, project, err := google.TokenClient(t.Context(), google.VertexConfig{Project: "p1",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.tc"}), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL() + "/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || project != "p1" {
		t.Errorf("status %d, project %q; want 200 (the token sent) and p1", resp.StatusCode, project)
	}
	if _, _, err := google.TokenClient(t.Context(), google.VertexConfig{Credentials: "{not json"}); !errors.Is(err, provider.ErrInvalidConfig) {
		t.Errorf("bad key: err = %v, want ErrInvalidConfig", err)
	}
}
