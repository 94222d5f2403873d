package metrics_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/metrics"
)

// A Collector observes a Router and is registered with a Prometheus
// registry, which promhttp.HandlerFor(reg, …) serves as /metrics.
func ExampleCollector() {
	col := metrics.New()
	r, err := router.New(nil, router.Config{Deployments: []router.Deployment{
		{ID: "d1", Group: "chat", Model: "openai/gpt-4o-mini", Provider: providertest.NewFake()},
	}}, router.WithObserver(col))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(col, metrics.NewStateCollector(r))

	for range 3 {
		r.Complete(context.Background(), hello("chat"))
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "modelroute_requests_total" || mf.GetName() == "modelroute_tokens_total" {
			for _, m := range mf.GetMetric() {
				fmt.Print(mf.GetName())
				for _, l := range m.GetLabel() {
					fmt.Printf(" %s=%s", l.GetName(), l.GetValue())
				}
				fmt.Println(":", m.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// modelroute_requests_total call=chat deployment=d1 group=chat outcome=success requested=chat: 3
	// modelroute_tokens_total deployment=d1 group=chat requested=chat type=completion: 15
	// modelroute_tokens_total deployment=d1 group=chat requested=chat type=prompt: 30
}
