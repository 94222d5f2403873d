package gateway_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
	"github.com/modelroute/modelroute/provider/bedrock"
	"github.com/modelroute/modelroute/provider/google"
	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/litellm"
)

// TestProvidersNative: the gateway builds anthropic and vertex_ai
// deployments with their native providers, the others OpenAI-compatible.
func TestProvidersNative(t *testing.T) {
	client := provider.NewHTTPClient()
	defer client.CloseIdleConnections()
	build := gateway.Providers(client)
	key := `{"type":"service_account","project_id":"p","private_key":"unused","client_email":"a@p.iam.gserviceaccount.com"}`
	tests := []struct {
		d    litellm.Deployment
		want string
	}{
		{litellm.Deployment{Provider: "anthropic", UpstreamModel: "claude-3-opus-20240229", APIKey: "sk-ant"}, "*anthropic.Provider"},
		{litellm.Deployment{Provider: "vertex_ai", UpstreamModel: "gemini-1.5-pro", VertexProject: "p", VertexLocation: "europe-west4", VertexCredentials: key}, "*google.Vertex"},
		{litellm.Deployment{Provider: "gemini", UpstreamModel: "gemini-1.5-flash", APIKey: "g"}, "*provider.OpenAI"},
		{litellm.Deployment{Provider: "vertex_ai", UpstreamModel: "claude-3-5-sonnet@20240620", VertexLocation: "us-east5", VertexCredentials: key}, "*anthropic.Vertex"},
		{litellm.Deployment{Provider: "bedrock", UpstreamModel: "anthropic.claude-3-opus-20240229-v1:0", AWSRegion: "us-west-2", AWSAccessKeyID: "AKID", AWSSecretAccessKey: "s"}, "*bedrock.Provider"},
	}
	for _, tt := range tests {
		p, err := build(tt.d)
		if err != nil {
			t.Fatalf("%s: %v", tt.d.Provider, err)
		}
		got := "?"
		switch p.(type) {
		case *anthropic.Provider:
			got = "*anthropic.Provider"
		case *anthropic.Vertex:
			got = "*anthropic.Vertex"
		case *google.Vertex:
			got = "*google.Vertex"
		case *provider.OpenAI:
			got = "*provider.OpenAI"
		case *bedrock.Provider:
			got = "*bedrock.Provider"
		}
		if got != tt.want {
			t.Errorf("%s: built %T, want %s", tt.d.Provider, p, tt.want)
		}
	}
	d := litellm.Deployment{Provider: "vertex_ai", VertexProject: "p", VertexLocation: "us-east5", VertexCredentials: key, APIBase: "https://private.example/v1"}
	want := google.VertexConfig{Name: "vertex_ai", Project: "p", Location: "us-east5", Credentials: key, BaseURL: "https://private.example/v1", HTTPClient: client}
	bd := litellm.Deployment{Provider: "bedrock", AWSRegion: "eu-west-1", AWSAccessKeyID: "AKID", AWSSecretAccessKey: "s", AWSSessionToken: "t", APIBase: "https://vpce.example"}
	wantB := bedrock.Config{Name: "bedrock", Region: "eu-west-1", AccessKeyID: "AKID", SecretAccessKey: "s", SessionToken: "t", Endpoint: "https://vpce.example", HTTPClient: client}
	if diff := cmp.Diff(wantB, gateway.BedrockConfig(bd, client), cmp.Comparer(func(a, b *http.Client) bool { return a == b })); diff != "" {
		t.Errorf("BedrockConfig (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, gateway.VertexConfig(d, client), cmp.Comparer(func(a, b *http.Client) bool { return a == b })); diff != "" {
		t.Errorf("VertexConfig (-want +got):\n%s", diff)
	}
}
