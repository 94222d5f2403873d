package anthropic_test

import (
	"net/http"
	"testing"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
	"github.com/modelroute/modelroute/provider/anthropic/anthropictest"
	"github.com/modelroute/modelroute/provider/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		New: func(t *testing.T, srv *providertest.Server) provider.Provider {
			fake := anthropictest.NewServer(srv, anthropictest.WithAPIKey("sk-ant-test"))
			t.Cleanup(fake.Close)
			p, err := anthropic.New(anthropic.Config{BaseURL: fake.URL(), APIKey: "sk-ant-test"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		NoEmbeddings:   true,
		NoFilterErrors: true,
	})
}

// TestVertexConformance runs the suite against Claude on Vertex AI: the
// rawPredict paths, a bearer token from the HTTP client, no x-api-key.
func TestVertexConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		New: func(t *testing.T, srv *providertest.Server) provider.Provider {
			fake := anthropictest.NewServer(srv, anthropictest.WithVertexToken("ya29.vertex"))
			t.Cleanup(fake.Close)
			p, err := anthropic.NewVertex(anthropic.Config{
				BaseURL: fake.URL() + "/v1", HTTPClient: &http.Client{Transport: bearer("ya29.vertex")},
			}, anthropic.VertexConfig{Project: "my-project", Location: "us-east5"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		NoEmbeddings:   true,
		NoFilterErrors: true,
	})
}

// bearer adds a fixed token to each request, as Google's OAuth transport
// does.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}
