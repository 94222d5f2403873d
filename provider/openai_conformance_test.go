package provider_test

import (
	"testing"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

func TestOpenAIConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		New: func(t *testing.T, srv *providertest.Server) provider.Provider {
			p, err := provider.NewOpenAI(provider.OpenAIConfig{BaseURL: srv.URL(), APIKey: "sk-test"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
	})
}
