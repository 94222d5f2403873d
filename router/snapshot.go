package router

import (
	"fmt"
	"strings"
	"time"

	"github.com/modelroute/modelroute/provider"
)

// Status is a deployment's circuit state.
type Status int

const (
	StatusHealthy   Status = iota // taking full traffic
	StatusCooldown                // sitting out after failures (passive)
	StatusHalfOpen                // cooldown over; the next request is its probe
	StatusProbing                 // cooldown over; its probe request is in flight
	StatusSlowStart               // probe passed; ramping back up
	StatusUnhealthy               // an active health probe failed
)

var statusNames = [...]string{"healthy", "cooldown", "half-open", "probing", "slow-start", "unhealthy"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Signal says what keeps a deployment out of rotation: a bit set.
type Signal int

const (
	SignalPassive Signal = 1 << iota // a cooldown, from failures of real requests
	SignalActive                     // a failed active health probe
)

func (s Signal) String() string {
	var parts []string
	if s&SignalPassive != 0 {
		parts = append(parts, "passive")
	}
	if s&SignalActive != 0 {
		parts = append(parts, "active")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// DeploymentState is one deployment's live state, for dashboards.
type DeploymentState struct {
	ID       string
	Group    string
	Model    string // upstream model
	Provider string
	Status   Status
	// Out says which signals keep the deployment out of rotation (0: none).
	Out            Signal
	CooldownUntil  time.Time // zero if never cooled down
	Cooldowns      int64     // cooldowns started
	InFlight       int64
	Successes      int64
	Failures       int64 // counted failures, total
	WindowFailures int64 // counted failures in the current failure window
	LastFailure    time.Time
	LastKind       provider.Kind // kind of the last counted failure
	Latency        time.Duration // moving average; 0 before the first success
	RPM, TPM       int64         // used in the sliding minute up to now (see SharedState)
	ProbedAt       time.Time     // last active probe; zero if none
	ProbeKind      provider.Kind // the failed probe's kind, when unhealthy
}

// Snapshot returns every deployment's state, in config order.
func (r *Router) Snapshot() []DeploymentState {
	tab := r.tab.Load()
	now := time.Now().UnixNano()
	out := make([]DeploymentState, 0, len(tab.deps))
	for _, d := range tab.deps {
		st := d.st
		s := DeploymentState{
			ID: d.ID, Group: d.Group, Model: d.upstream, Provider: d.prov,
			Cooldowns: st.cooldowns.Load(), InFlight: st.inflight.Load(),
			Successes: st.successes.Load(), Failures: st.failures.Load(),
			WindowFailures: st.winFails.Load(), LastKind: provider.Kind(st.lastKind.Load()),
			Latency: st.latency(),
		}
		s.RPM, s.TPM = st.usage(now)
		s.CooldownUntil = unixTime(st.cooldownUntil.Load())
		s.LastFailure = unixTime(st.lastFail.Load())
		s.ProbedAt = unixTime(st.probeAt.Load())
		switch st.phase(now, tab.set.slowStart) {
		case phaseCooling:
			s.Status, s.Out = StatusCooldown, SignalPassive
		case phaseHalfOpen:
			s.Status = StatusHalfOpen
		case phaseProbing:
			s.Status, s.Out = StatusProbing, SignalPassive
		case phaseSlowStart:
			s.Status = StatusSlowStart
		}
		if st.probeDown.Load() {
			s.Out |= SignalActive
			s.ProbeKind = provider.Kind(st.probeKind.Load())
			if s.Status == StatusHealthy || s.Status == StatusSlowStart || s.Status == StatusHalfOpen {
				s.Status = StatusUnhealthy
			}
		}
		out = append(out, s)
	}
	return out
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// setProbeHealth records an active health probe's verdict for deployment id
// (for the health checker): an unhealthy deployment is not a candidate
// until a probe passes. It reports whether id is a current deployment.
func (r *Router) setProbeHealth(id string, healthy bool, kind provider.Kind, at time.Time) bool {
	d := r.tab.Load().byID[id]
	if d == nil {
		return false
	}
	d.st.setProbeHealth(at.UnixNano(), healthy, kind)
	return true
}
