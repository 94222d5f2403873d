package router

import (
	"time"

	"github.com/modelroute/modelroute/provider"
)

// Route tells how one request was served.
type Route struct {
	// Requested is the name the client asked for.
	Requested string
	// Chain is the aliases walked from Requested, nil when Requested is not
	// an alias. Shared with the Registry: do not modify.
	Chain []string
	// Group is the model group that served (or was last tried).
	Group string
	// Deployment is the ID of the deployment that served; empty on failure.
	Deployment string
	// Model is the upstream model the deployment was sent.
	Model string
	// Target is the name whose group served: Requested, or the fallback
	// name when Fallback is set.
	Target string
	// Fallback reports that a fallback target served, not Requested.
	Fallback bool
	// Attempts lists every upstream call in order, the successful one last.
	Attempts []Attempt
}

// Attempt is one upstream call of a request.
type Attempt struct {
	Deployment string        // deployment ID
	Group      string        // the group it belongs to
	Err        error         // nil for the successful attempt
	Kind       provider.Kind // Err's kind; meaningless when Err is nil
	Duration   time.Duration // how long the call took
}
