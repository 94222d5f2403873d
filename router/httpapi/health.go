package httpapi

import (
	"time"

	"github.com/modelroute/modelroute/router"
)

// healthReport is a router.HealthReport in the shape of LiteLLM's /health
// answer.
type healthReport struct {
	Healthy        []healthEndpoint `json:"healthy_endpoints"`
	Unhealthy      []healthEndpoint `json:"unhealthy_endpoints"`
	HealthyCount   int              `json:"healthy_count"`
	UnhealthyCount int              `json:"unhealthy_count"`
	Skipped        []healthEndpoint `json:"skipped_endpoints,omitempty"`
}

// healthEndpoint is one deployment of it.
type healthEndpoint struct {
	ModelID             string    `json:"model_id"`
	Model               string    `json:"model"`
	APIBase             string    `json:"api_base,omitempty"`
	Probe               string    `json:"probe"`
	Error               string    `json:"error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	Out                 bool      `json:"out_of_rotation,omitempty"`
	CheckedAt           time.Time `json:"checked_at,omitzero"`
	ErrorKind           string    `json:"error_kind,omitempty"`
	LatencyMS           float64   `json:"latency_ms"`
}

func newHealthReport(rep router.HealthReport) healthReport {
	return healthReport{
		Healthy:        healthEndpoints(rep.Healthy, false),
		Unhealthy:      healthEndpoints(rep.Unhealthy, false),
		HealthyCount:   rep.HealthyCount,
		UnhealthyCount: rep.UnhealthyCount,
		Skipped:        healthEndpoints(rep.Skipped, true),
	}
}

// healthEndpoints shapes es; never nil unless es is (the skipped list is
// left out when empty).
func healthEndpoints(es []router.HealthEndpoint, skipped bool) []healthEndpoint {
	if es == nil {
		if skipped {
			return nil
		}
		return []healthEndpoint{}
	}
	out := make([]healthEndpoint, len(es))
	for i, e := range es {
		out[i] = healthEndpoint{
			ModelID: e.ModelID, Model: e.Model, APIBase: e.APIBase, Probe: e.Probe.String(),
			Error: e.Error, ConsecutiveFailures: e.ConsecutiveFailures, Out: e.Out, CheckedAt: e.CheckedAt,
			LatencyMS: float64(e.Latency) / float64(time.Millisecond),
		}
		if !e.Healthy && !skipped && e.Error != "" {
			out[i].ErrorKind = e.Kind.String()
		}
	}
	return out
}
