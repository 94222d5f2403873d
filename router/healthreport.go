package router

import (
	"fmt"
	"time"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router/internal/secret"
)

// ProbeMethod is how a deployment is probed.
type ProbeMethod int

const (
	ProbeNone       ProbeMethod = iota // not probed (skipped)
	ProbeListModels                    // provider.Prober: the provider's cheap probe (listing models)
	ProbeChat                          // a tiny chat completion
	ProbeEmbedding                     // a tiny embeddings call, for embedding deployments under WithChatProbe
)

var probeNames = [...]string{"none", "list_models", "chat", "embedding"}

func (m ProbeMethod) String() string {
	if m >= 0 && int(m) < len(probeNames) {
		return probeNames[m]
	}
	return fmt.Sprintf("ProbeMethod(%d)", int(m))
}

// HealthEndpoint is one deployment's probe result (router/httpapi shapes
// it like an endpoint of LiteLLM's /health). It holds no secret: API keys
// never reach it, and URLs and error messages are cleaned of credentials.
type HealthEndpoint struct {
	ModelID string // deployment ID
	// Model is the deployment's model as configured ("azure/gpt-1"), with
	// a wildcard's "*" filled in when a name served by it was checked.
	Model   string
	APIBase string
	// Probe says how it was probed; ProbeNone when skipped.
	Probe ProbeMethod
	// Healthy reports that the probe passed.
	Healthy bool
	// Kind classifies the failure, when the probe failed.
	Kind provider.Kind
	// Error is the failure's message, or why the deployment was skipped.
	Error string
	// Latency is how long the probe took.
	Latency time.Duration
	// ConsecutiveFailures counts the deployment's failed probes in a row,
	// this one included.
	ConsecutiveFailures int
	// Out reports that active probing keeps the deployment out of
	// rotation (its failures reached the threshold and it has not passed
	// enough probes since).
	Out       bool
	CheckedAt time.Time

	skipped bool
}

// HealthReport is the outcome of a check: one endpoint per deployment ID,
// never one for an alias, in config order within each list.
type HealthReport struct {
	Healthy        []HealthEndpoint
	Unhealthy      []HealthEndpoint
	HealthyCount   int
	UnhealthyCount int
	// Skipped are the deployments left out (opted out, or a wildcard
	// deployment with no model to probe), with the reason in Error.
	Skipped []HealthEndpoint
}

func (rep *HealthReport) add(e HealthEndpoint) {
	switch {
	case e.skipped:
		rep.Skipped = append(rep.Skipped, e)
	case e.Healthy:
		rep.Healthy = append(rep.Healthy, e)
		rep.HealthyCount++
	default:
		rep.Unhealthy = append(rep.Unhealthy, e)
		rep.UnhealthyCount++
	}
}

func emptyReport() HealthReport {
	return HealthReport{Healthy: []HealthEndpoint{}, Unhealthy: []HealthEndpoint{}}
}

// endpoint is d's identification in a health report.
func (d *dep) endpoint(match string) HealthEndpoint {
	return HealthEndpoint{ModelID: d.ID, Model: d.displayModel(match), APIBase: secret.CleanURL(d.APIBase)}
}

// canceled is the result of a probe of t that a check gave up on.
func canceled(t target, method ProbeMethod, err error) HealthEndpoint {
	e := t.d.endpoint(t.match)
	e.Probe, e.Kind, e.Error = method, provider.KindCanceled, "router: health check canceled: "+err.Error()
	return e
}
