package router

import (
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// Observer receives an event for every upstream attempt and every finished
// request, for usage accounting and metrics. The Router calls it
// synchronously on the request's goroutine, outside any lock; it must be
// safe for concurrent use and should return quickly. Events share slices
// with the Route: do not modify them.
type Observer interface {
	ObserveAttempt(AttemptEvent)
	ObserveRequest(RequestEvent)
}

// Call kinds in events.
const (
	CallChat       = "chat"
	CallStream     = "stream"
	CallEmbeddings = "embeddings"
)

// AttemptEvent describes one upstream call.
type AttemptEvent struct {
	Call       string   // CallChat, CallStream or CallEmbeddings
	Requested  string   // name the client asked for
	Chain      []string // its alias chain
	Target     string   // name being served: Requested or a fallback
	Group      string
	Deployment string // ID
	Model      string // upstream model
	Provider   string // provider prefix
	Start      time.Time
	Latency    time.Duration
	Err        error         // nil on success
	Kind       provider.Kind // Err's kind
	Usage      openai.Usage  // tokens reported (streams: at the end, in ObserveRequest)
	Cost       float64       // Usage priced with the deployment's per-token prices, in dollars
	// CooldownUntil is set when this attempt's failure started or extended
	// the deployment's cooldown.
	CooldownUntil time.Time
}

// RequestEvent describes a finished request: answered, failed, or (for a
// stream) closed.
type RequestEvent struct {
	Call       string
	Requested  string
	Chain      []string
	Group      string // group that served, or was last tried
	Deployment string // ID that served; empty on failure
	Model      string // upstream model that served
	Route      Route
	Start      time.Time
	Latency    time.Duration // until the answer (streams: until closed)
	Usage      openai.Usage
	Cost       float64
	Err        error
}

// ObserverFuncs adapts functions to Observer; nil fields are skipped.
type ObserverFuncs struct {
	Attempt func(AttemptEvent)
	Request func(RequestEvent)
}

func (o ObserverFuncs) ObserveAttempt(e AttemptEvent) {
	if o.Attempt != nil {
		o.Attempt(e)
	}
}

func (o ObserverFuncs) ObserveRequest(e RequestEvent) {
	if o.Request != nil {
		o.Request(e)
	}
}

// cost prices u with d's per-token prices.
func (d *dep) cost(u openai.Usage) float64 {
	return float64(u.PromptTokens)*d.InputCostPerToken + float64(u.CompletionTokens)*d.OutputCostPerToken
}

// Observers returns an Observer that passes every event to each of obs, in
// order; nil entries are skipped.
func Observers(obs ...Observer) Observer {
	list := make(multiObserver, 0, len(obs))
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) ObserveAttempt(e AttemptEvent) {
	for _, o := range m {
		o.ObserveAttempt(e)
	}
}

func (m multiObserver) ObserveRequest(e RequestEvent) {
	for _, o := range m {
		o.ObserveRequest(e)
	}
}
