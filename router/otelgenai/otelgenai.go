// Package otelgenai reports a Router's upstream calls to OpenTelemetry,
// following the GenAI semantic conventions: a client span per upstream call
// and the gen_ai.client.operation.duration and gen_ai.client.token.usage
// histograms. It lives in its own package so that users of the router who
// do not want OpenTelemetry do not import it.
//
// An Observer is a router.Observer: pass it to router.New with
// router.WithObserver (with router.Observers to keep another observer such
// as a metrics.Collector).
//
// # Spans
//
// Each upstream call (attempt) becomes one span of kind client, named
// "{gen_ai.operation.name} {gen_ai.request.model}" ("chat gpt-4o"), with
// its exact start and end, and the attributes
//
//	gen_ai.operation.name      chat or embeddings (streams are chat)
//	gen_ai.provider.name       the deployment's provider (openai, azure.ai.openai, groq, …)
//	gen_ai.request.model       the upstream model the deployment was sent
//	gen_ai.usage.input_tokens, gen_ai.usage.output_tokens   when the answer reported usage
//	error.type                 the provider.Kind of a failed call; the span's status is Error
//	modelroute.requested, modelroute.group, modelroute.deployment
//
// The Router's events carry no context, so the spans are roots of their own
// traces (with the requested name and deployment as attributes to join
// them by), not children of an HTTP server span.
//
// # Metrics
//
// gen_ai.client.operation.duration (seconds) is recorded per upstream call,
// gen_ai.client.token.usage (tokens, gen_ai.token.type input or output) per
// answered request, streams included (their usage is known when they end).
// Both carry gen_ai.operation.name, gen_ai.provider.name,
// gen_ai.request.model and error.type on failures; the requested name and
// deployment are left out of the metrics to bound their cardinality.
//
// # Concurrency and zero value
//
// An Observer is safe for concurrent use. Use New; the zero Observer is not
// usable. It holds nothing to close: the providers passed to it own the
// exporters.
package otelgenai

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/semconv/v1.40.0/genaiconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/modelroute/modelroute/router"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/modelroute/modelroute/router/otelgenai"

// Observer turns router events into GenAI spans and metrics.
type Observer struct {
	tracer   trace.Tracer
	duration genaiconv.ClientOperationDuration
	tokens   genaiconv.ClientTokenUsage

	providers sync.Map // deployment ID → provider name, from attempts
}

var _ router.Observer = (*Observer)(nil)

// Option configures New.
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets where spans go. Default: otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets where metrics go. Default: otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// New returns an Observer. It fails only if the meter refuses to create the
// instruments.
func New(opts ...Option) (*Observer, error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	meter := c.mp.Meter(ScopeName)
	o := &Observer{tracer: c.tp.Tracer(ScopeName)}
	var err error
	if o.duration, err = genaiconv.NewClientOperationDuration(meter); err != nil {
		return nil, err
	}
	if o.tokens, err = genaiconv.NewClientTokenUsage(meter); err != nil {
		return nil, err
	}
	return o, nil
}

// providerNames maps the router's provider prefixes to gen_ai.provider.name
// values where the conventions name them; other prefixes are used as is.
var providerNames = map[string]string{
	"azure":     "azure.ai.openai",
	"azure_ai":  "azure.ai.inference",
	"bedrock":   "aws.bedrock",
	"vertex_ai": "gcp.vertex_ai",
	"gemini":    "gcp.gemini",
	"mistral":   "mistral_ai",
	"xai":       "x_ai",
	"watsonx":   "ibm.watsonx.ai",
}

// ProviderName returns the gen_ai.provider.name for a router provider
// prefix ("azure" → "azure.ai.openai", "openai" → "openai").
func ProviderName(prefix string) string {
	if n, ok := providerNames[prefix]; ok {
		return n
	}
	if prefix == "" {
		return "_OTHER"
	}
	return prefix
}

func operation(call string) genaiconv.OperationNameAttr {
	if call == router.CallEmbeddings {
		return genaiconv.OperationNameEmbeddings
	}
	return genaiconv.OperationNameChat
}

// ObserveAttempt implements router.Observer: one client span and one
// duration sample per upstream call.
func (o *Observer) ObserveAttempt(e router.AttemptEvent) {
	prov := ProviderName(e.Provider)
	if _, ok := o.providers.Load(e.Deployment); !ok {
		o.providers.Store(e.Deployment, prov)
	}
	op := operation(e.Call)
	ctx := context.Background()
	end := e.Start.Add(e.Latency)
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameKey.String(string(op)),
		semconv.GenAIProviderNameKey.String(prov),
		semconv.GenAIRequestModel(e.Model),
		attribute.String("modelroute.requested", e.Requested),
		attribute.String("modelroute.group", e.Group),
		attribute.String("modelroute.deployment", e.Deployment),
	}
	if e.Err == nil && e.Usage.TotalTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageInputTokens(e.Usage.PromptTokens), semconv.GenAIUsageOutputTokens(e.Usage.CompletionTokens))
	}
	_, span := o.tracer.Start(ctx, string(op)+" "+e.Model,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(e.Start), trace.WithAttributes(attrs...))
	mattrs := []attribute.KeyValue{semconv.GenAIRequestModel(e.Model)}
	if e.Err != nil {
		et := semconv.ErrorTypeKey.String(e.Kind.String())
		span.SetAttributes(et)
		span.SetStatus(codes.Error, e.Err.Error())
		mattrs = append(mattrs, et)
	}
	span.End(trace.WithTimestamp(end))
	o.duration.Record(ctx, e.Latency.Seconds(), op, genaiconv.ProviderNameAttr(prov), mattrs...)
}

// ObserveRequest implements router.Observer: the token usage of an answered
// request.
func (o *Observer) ObserveRequest(e router.RequestEvent) {
	if e.Err != nil || e.Deployment == "" {
		return
	}
	prov := "_OTHER"
	if v, ok := o.providers.Load(e.Deployment); ok {
		prov = v.(string)
	}
	ctx := context.Background()
	op := operation(e.Call)
	m := semconv.GenAIRequestModel(e.Model)
	if e.Usage.PromptTokens > 0 {
		o.tokens.Record(ctx, int64(e.Usage.PromptTokens), op, genaiconv.ProviderNameAttr(prov), genaiconv.TokenTypeInput, m)
	}
	if e.Usage.CompletionTokens > 0 {
		o.tokens.Record(ctx, int64(e.Usage.CompletionTokens), op, genaiconv.ProviderNameAttr(prov), genaiconv.TokenTypeOutput, m)
	}
}
