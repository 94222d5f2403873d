package providertest_test

import (
	"testing"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

func TestFakeConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		New: func(t *testing.T, srv *providertest.Server) provider.Provider { return srv.Fake() },
	})
}
