package gateway

import (
	"context"
	"net/http"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/bedrock"
	"github.com/modelroute/modelroute/provider/google"
	"github.com/modelroute/modelroute/router/litellm"
)

// Providers returns the ProviderFunc the gateway builds deployments with
// when WithProviders gives none: litellm.Providers over client, with the
// native providers this package wires in (bedrock through package
// provider/bedrock, vertex_ai through provider/google; anthropic is
// litellm's own). client is shared by every provider.
func Providers(client *http.Client) litellm.ProviderFunc {
	return litellm.Providers(nil, client, map[string]litellm.ProviderFunc{
		litellm.PrefixBedrock: func(d litellm.Deployment) (provider.Provider, error) {
			return bedrock.New(context.Background(), BedrockConfig(d, client))
		},
		litellm.PrefixVertexAI: func(d litellm.Deployment) (provider.Provider, error) {
			return google.NewVertex(context.Background(), VertexConfig(d, client))
		},
	})
}

// BedrockConfig is the Bedrock configuration of a bedrock deployment: its
// aws_region_name and static keys (the AWS chain when empty), and its
// api_base, if any, in place of the regional endpoint.
func BedrockConfig(d litellm.Deployment, client *http.Client) bedrock.Config {
	return bedrock.Config{
		Name:            d.Provider,
		Region:          d.AWSRegion,
		AccessKeyID:     d.AWSAccessKeyID,
		SecretAccessKey: d.AWSSecretAccessKey,
		SessionToken:    d.AWSSessionToken,
		Endpoint:        d.APIBase,
		HTTPClient:      client,
	}
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
