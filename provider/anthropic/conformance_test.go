package anthropic_test

import (
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
