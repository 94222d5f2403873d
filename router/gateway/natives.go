package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/anthropic"
	"github.com/modelroute/modelroute/provider/bedrock"
	"github.com/modelroute/modelroute/provider/google"
	"github.com/modelroute/modelroute/router/litellm"
)

// Providers returns the ProviderFunc the gateway builds deployments with
// when WithProviders gives none: litellm.Providers over client, with the
// native providers this package wires in (bedrock through package
// provider/bedrock, vertex_ai through provider/google, its Claude models
// through provider/anthropic's NewVertex; anthropic is litellm's own).
// client is shared by every provider.
func Providers(client *http.Client) litellm.ProviderFunc {
	return litellm.Providers(nil, client, map[string]litellm.ProviderFunc{
		litellm.PrefixBedrock: func(d litellm.Deployment) (provider.Provider, error) {
			return bedrock.New(context.Background(), BedrockConfig(d, client))
		},
		litellm.PrefixVertexAI: func(d litellm.Deployment) (provider.Provider, error) {
			if strings.HasPrefix(strings.ToLower(d.UpstreamModel), "claude") {
				return vertexClaude(d, client)
			}
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

// vertexClaude builds Claude on Vertex AI: Anthropic's Messages API over
// Vertex's rawPredict, with the deployment's Google Cloud credentials.
func vertexClaude(d litellm.Deployment, client *http.Client) (provider.Provider, error) {
	vc := VertexConfig(d, client)
	hc, project, err := google.TokenClient(context.Background(), vc)
	if err != nil {
		return nil, err
	}
	location := vc.Location
	if location == "" {
		location = google.DefaultLocation
	}
	return anthropic.NewVertex(anthropic.Config{Name: d.Provider, BaseURL: d.APIBase, HTTPClient: hc},
		anthropic.VertexConfig{Project: project, Location: location})
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
