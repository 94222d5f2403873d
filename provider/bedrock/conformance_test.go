package bedrock_test

import (
	"testing"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/bedrock"
	"github.com/modelroute/modelroute/provider/bedrock/bedrocktest"
	"github.com/modelroute/modelroute/provider/providertest"
)

// newFake starts the fake Bedrock in front of srv and returns a Provider
// for it, with static credentials it checks.
func newFake(t *testing.T, srv *providertest.Server) *bedrock.Provider {
	t.Helper()
	fake := bedrocktest.NewServer(srv, bedrocktest.WithCredentials("AKIDTEST", "us-west-2"))
	t.Cleanup(fake.Close)
	p, err := bedrock.New(t.Context(), bedrock.Config{
		Region: "us-west-2", AccessKeyID: "AKIDTEST", SecretAccessKey: "secret-test", Endpoint: fake.URL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		New:            func(t *testing.T, srv *providertest.Server) provider.Provider { return newFake(t, srv) },
		NoEmbeddings:   true, // for the suite's model; Titan and Cohere models have them (TestEmbeddings)
		NoFilterErrors: true,
	})
}
