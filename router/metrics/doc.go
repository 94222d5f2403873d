// Package metrics exports a Router's traffic as Prometheus metrics.
//
// A Collector is a router.Observer (pass it with router.WithObserver) and a
// prometheus.Collector (register it with a prometheus.Registry and serve
// that with promhttp). It counts, from the Router's events:
//
//	modelroute_requests_total{call,requested,group,deployment,outcome}  finished requests; outcome "success" or the final error's kind
//	modelroute_request_duration_seconds{call,requested,group}           histogram, until the answer (streams: until closed)
//	modelroute_fallbacks_total{requested,group}                        requests a fallback target served (group: the fallback's)
//	modelroute_tokens_total{requested,group,deployment,type}           prompt and completion tokens of finished requests
//	modelroute_cost_usd_total{requested,group,deployment}              their cost at the deployment's per-token prices
//	modelroute_attempts_total{group,deployment,outcome}                upstream calls; outcome "success" or the error's provider.Kind
//	modelroute_attempt_duration_seconds{group,deployment}              histogram of upstream calls
//	modelroute_cooldowns_total{group,deployment}                       cooldowns an attempt's failure started or extended
//
// A StateCollector (NewStateCollector) reads a Router's live state at each
// scrape:
//
//	modelroute_deployment_in_flight{group,deployment}
//	modelroute_deployment_up{group,deployment}            1 when in rotation, 0 when cooling down, probing or unhealthy
//	modelroute_deployment_rpm{group,deployment}           requests in the sliding minute
//	modelroute_deployment_tpm{group,deployment}           tokens in the sliding minute
//
// # Cardinality
//
// Groups and deployment IDs come from the Router's config, so they are as
// many as the config has. The requested name is what clients send, so it is
// bounded twice: a name is kept only when WithKnownNames says it is a name
// the service serves (a group or an alias; without that option only names
// the Router resolved to a deployment, i.e. requests that reached a group),
// and only the first MaxNames distinct names are kept (DefaultMaxNames).
// Every other name is reported as "other". Error outcomes are the fixed set
// of provider.Kind names plus "unknown_name", "closed" and "success".
//
// # Cost
//
// An event costs a lookup in a sync.Map (keyed by the label values, each
// series bound once) and a few atomic adds; no lock is taken on the
// request path once a series exists.
//
// # Concurrency and zero value
//
// A Collector is safe for concurrent use. Use New; the zero Collector is
// not usable. It starts no goroutine and holds nothing to close.
package metrics
