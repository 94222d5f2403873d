package gateway

import (
	"context"
	"net/http"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/google"
	"github.com/modelroute/modelroute/router/litellm"
)

// Providers returns the ProviderFunc the gateway builds deployments with
// when WithProviders gives none: litellm.Providers over client, with the
// native providers this package wires in (vertex_ai through package
// provider/google). client is shared by every provider.
func Providers(client *http.Client) litellm.ProviderFunc {
	return litellm.Providers(nil, client, map[string]litellm.ProviderFunc{
		litellm.PrefixVertexAI: func(d litellm.Deployment) (provider.Provider, error) {
			return google.NewVertex(context.Background(), VertexConfig(d, client))
		},
	})
}

// VertexConfig is the Vertex AI configuration of a vertex_ai deployment:
// its vertex_project, vertex_location and vertex_credentials (Application
// Default Credentials when empty), and its api_base, if any, in place of
// the endpoint of the project and location.
func VertexConfig(d litellm.Deployment, client *http.Client) google.VertexConfig {
	return google.VertexConfig{
		Name:        d.Provider,
		Project:     d.VertexProject,
		Location:    d.VertexLocation,
		Credentials: d.VertexCredentials,
		BaseURL:     d.APIBase,
		HTTPClient:  client,
	}
}
