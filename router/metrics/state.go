package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelroute/modelroute/router"
)

// StateCollector reports a Router's live per-deployment state, read from
// Router.Snapshot at each scrape: requests in flight, whether the
// deployment is in rotation, and its rpm and tpm in the sliding minute up to now. Register it
// beside a Collector.
type StateCollector struct {
	rt                     *router.Router
	inflight, up, rpm, tpm *prometheus.Desc
}

var _ prometheus.Collector = (*StateCollector)(nil)

// NewStateCollector returns a StateCollector over rt.
func NewStateCollector(rt *router.Router) *StateCollector {
	dl := []string{"group", "deployment"}
	return &StateCollector{
		rt:       rt,
		inflight: prometheus.NewDesc("modelroute_deployment_in_flight", "Requests the deployment is serving now.", dl, nil),
		up:       prometheus.NewDesc("modelroute_deployment_up", "1 when the deployment is in rotation, 0 when it is cooling down, probing or unhealthy.", dl, nil),
		rpm:      prometheus.NewDesc("modelroute_deployment_rpm", "Requests the deployment served in the sliding minute up to now.", dl, nil),
		tpm:      prometheus.NewDesc("modelroute_deployment_tpm", "Tokens the deployment served in the sliding minute up to now.", dl, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inflight
	ch <- c.up
	ch <- c.rpm
	ch <- c.tpm
}

// Collect implements prometheus.Collector.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.rt.Snapshot() {
		up := 0.0
		if s.Out == 0 {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(s.InFlight), s.Group, s.ID)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, s.Group, s.ID)
		ch <- prometheus.MustNewConstMetric(c.rpm, prometheus.GaugeValue, float64(s.RPM), s.Group, s.ID)
		ch <- prometheus.MustNewConstMetric(c.tpm, prometheus.GaugeValue, float64(s.TPM), s.Group, s.ID)
	}
}
