package router

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/modelroute/modelroute/provider"
)

// state is what the Router remembers about one deployment across requests
// and config reloads (it is kept by deployment ID). Every field is an atomic;
// cooldown, half-open and slow-start are derived lazily from timestamps when
// asked, so no goroutine or timer runs per failure. A state must not be copied.
//
// Times are Unix nanoseconds; 0 means never.
type state struct {
	_ noCopy

	// Written by every request: kept on their own cache lines, away from
	// the read-mostly fields every pick reads.
	_        [64]byte
	inflight atomic.Int64
	minute   atomic.Int64 // Unix minute the usage counters belong to
	rpm      atomic.Int64 // requests in that minute
	tpm      atomic.Int64 // tokens in that minute
	prevRPM  atomic.Int64 // requests in the minute before it
	prevTPM  atomic.Int64 // tokens in the minute before it
	staleAt  atomic.Int64 // when the counts all leave the window: the end of minute+1
	_        [64]byte

	// Passive circuit (cooldowns).
	cooldownFrom  atomic.Int64 // when the current/last cooldown started
	cooldownUntil atomic.Int64 // the deployment sits out until then
	needsProbe    atomic.Bool  // set when a cooldown starts; cleared by a successful probe
	probing       atomic.Bool  // the half-open probe is in flight
	recoveredAt   atomic.Int64 // a probe succeeded then: slow-start runs from here
	winStart      atomic.Int64 // start of the failure window
	winFails      atomic.Int64 // counted failures in the window
	cooldowns     atomic.Int64 // cooldowns started, total

	// Counters for dashboards.
	successes atomic.Int64
	failures  atomic.Int64 // counted failures, total
	lastKind  atomic.Int32 // provider.Kind of the last counted failure
	lastFail  atomic.Int64

	// Latency EWMA in nanoseconds, as float64 bits; 0: no sample yet.
	ewma atomic.Uint64

	// Active health (set by a health checker, see setProbeHealth).
	probeDown atomic.Bool
	probeKind atomic.Int32
	probeAt   atomic.Int64
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

const ewmaAlpha = 0.3

// phase is a deployment's circuit state at a moment.
type phase int

const (
	phaseClosed    phase = iota // full traffic
	phaseCooling                // sitting out
	phaseHalfOpen               // cooldown over, waiting for one probe request
	phaseProbing                // cooldown over, the probe is in flight
	phaseSlowStart              // probe passed, ramping up
)

// phase computes the circuit state at now (gobreaker's currentState(now)).
func (s *state) phase(now int64, slowStart time.Duration) phase {
	if until := s.cooldownUntil.Load(); until != 0 {
		if now < until {
			return phaseCooling
		}
		if s.needsProbe.Load() {
			if s.probing.Load() {
				return phaseProbing
			}
			return phaseHalfOpen
		}
	}
	if r := s.recoveredAt.Load(); r != 0 && slowStart > 0 && now-r < int64(slowStart) {
		return phaseSlowStart
	}
	return phaseClosed
}

// ramp is the share of traffic a slow-starting deployment takes at now, from
// 0.1 right after recovery to 1 at the end of slowStart.
func (s *state) ramp(now int64, slowStart time.Duration) float64 {
	r := s.recoveredAt.Load()
	if r == 0 || slowStart <= 0 {
		return 1
	}
	el := now - r
	if el >= int64(slowStart) {
		return 1
	}
	return 0.1 + 0.9*float64(el)/float64(slowStart)
}

// counts reports whether a failure of kind k counts against the deployment.
func counts(k provider.Kind) bool {
	switch k {
	case provider.KindBadRequest, provider.KindContentPolicy, provider.KindContextWindow, provider.KindCanceled,
		provider.KindUnsupported:
		return false
	}
	return true
}

// startCooldown puts the deployment out until now+d, or keeps a later end
// already set. It reports the end.
func (s *state) startCooldown(now int64, d time.Duration) int64 {
	until, _ := s.extendCooldown(now + int64(d))
	s.markCooling(now)
	s.cooldowns.Add(1)
	return until
}

// extendCooldown moves the cooldown's end to until, unless an end at least
// as late is already set. It reports the end in force and whether it moved.
func (s *state) extendCooldown(until int64) (int64, bool) {
	for {
		cur := s.cooldownUntil.Load()
		if cur >= until {
			return cur, false
		}
		if s.cooldownUntil.CompareAndSwap(cur, until) {
			return until, true
		}
	}
}

// markCooling records that a cooldown started at now: a probe is due when
// it ends, slow-start and the failure window start over.
func (s *state) markCooling(now int64) {
	s.cooldownFrom.Store(now)
	s.needsProbe.Store(true)
	s.recoveredAt.Store(0)
	s.winFails.Store(0)
}

// failure records a failed attempt of kind k and reports the cooldown end it
// started or extended (0 if none). wasProbe says the attempt was the
// half-open probe.
func (s *state) failure(now int64, k provider.Kind, retryAfter time.Duration, wasProbe bool, st *settings) int64 {
	if !counts(k) {
		if wasProbe {
			s.probing.Store(false) // inconclusive: let another request probe
		}
		return 0
	}
	s.failures.Add(1)
	s.lastKind.Store(int32(k))
	s.lastFail.Store(now)
	d := st.cooldown
	if k == provider.KindRateLimited && retryAfter > 0 {
		d = retryAfter
	}
	var until int64
	switch {
	case wasProbe:
		until = s.startCooldown(now, d)
		s.probing.Store(false)
	case now < s.cooldownUntil.Load():
		// A failure during a cooldown extends it.
		until = s.startCooldown(now, d)
	case k == provider.KindRateLimited:
		until = s.startCooldown(now, d)
	default:
		ws := s.winStart.Load()
		if ws == 0 || now-ws >= int64(st.window) {
			if s.winStart.CompareAndSwap(ws, now) {
				s.winFails.Store(0)
			}
		}
		if s.winFails.Add(1) > int64(st.allowedFails) {
			until = s.startCooldown(now, d)
		}
	}
	return until
}

// success records a successful attempt that took lat.
func (s *state) success(now int64, lat time.Duration, wasProbe bool) {
	s.successes.Add(1)
	if wasProbe {
		s.needsProbe.Store(false)
		s.recoveredAt.Store(now)
		s.probing.Store(false)
	}
	s.observeLatency(lat)
}

// release ends an attempt that gave no verdict (the caller canceled).
func (s *state) release(wasProbe bool) {
	if wasProbe {
		s.probing.Store(false)
	}
}

func (s *state) observeLatency(lat time.Duration) {
	x := float64(lat)
	for {
		old := s.ewma.Load()
		v := x
		if old != 0 {
			v = ewmaAlpha*x + (1-ewmaAlpha)*math.Float64frombits(old)
		}
		if v == 0 {
			v = math.SmallestNonzeroFloat64
		}
		if s.ewma.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

func (s *state) latency() time.Duration {
	return time.Duration(math.Float64frombits(s.ewma.Load()))
}

// usage returns the requests and tokens used in the sliding minute up to
// now (see SharedState): the previous Unix minute's counts weighed by the
// part of it still in the window (in milliseconds), rounded up, plus the
// current minute's; so a count is at a whole limit exactly when the
// window's is past one less.
func (s *state) usage(now int64) (rpm, tpm int64) {
	if now < s.staleAt.Load() { // else (inlined) no count is in the window
		rpm, tpm = s.windowUsage(now)
	}
	return
}

// windowUsage is usage for counts of this minute or the one before.
func (s *state) windowUsage(now int64) (rpm, tpm int64) {
	m, rem := slidingMinute(now)
	switch s.minute.Load() {
	case m:
		return s.rpm.Load() + weigh(s.prevRPM.Load(), rem), s.tpm.Load() + weigh(s.prevTPM.Load(), rem)
	case m - 1: // not rolled yet: the counts are the previous minute's
		return weigh(s.rpm.Load(), rem), weigh(s.tpm.Load(), rem)
	}
	return 0, 0
}

// minuteMillis is the scale of slidingMinute's weight.
const minuteMillis = 60_000

// weigh returns n×rem/minuteMillis rounded up.
func weigh(n, rem int64) int64 {
	if n == 0 {
		return 0
	}
	return (n*rem + minuteMillis - 1) / minuteMillis
}

// slidingMinute returns the Unix minute of now and the milliseconds of the
// sliding one-minute window up to now that fall in the previous minute
// (from 1 to minuteMillis): the previous minute's count weighs
// rem/minuteMillis. Package access's SlidingMinute is the same rule.
func slidingMinute(now int64) (minute, rem int64) {
	const m = int64(time.Minute)
	minute = now / m
	if now < 0 && now%m != 0 {
		minute--
	}
	return minute, minuteMillis - (now-minute*m)/int64(time.Millisecond)
}

// roll starts a new minute if now is past the current one: the current
// counts become the previous minute's when it is the one before, else
// both start from 0. A count added by a request racing the turn may land
// in either minute.
func (s *state) roll(now int64) {
	if s.minute.Load() != now/int64(time.Minute) { // inlined: the minute has not turned
		s.turn(now)
	}
}

// turn is roll when the minute may have turned.
func (s *state) turn(now int64) {
	m, _ := slidingMinute(now)
	cur := s.minute.Load()
	if cur == m || !s.minute.CompareAndSwap(cur, m) {
		return
	}
	s.staleAt.Store((m + 2) * int64(time.Minute))
	if m == cur+1 {
		s.prevRPM.Store(s.rpm.Swap(0))
		s.prevTPM.Store(s.tpm.Swap(0))
		return
	}
	s.prevRPM.Store(0)
	s.prevTPM.Store(0)
	s.rpm.Store(0)
	s.tpm.Store(0)
}

// addUsage counts a finished attempt: the request itself unless it was
// counted when acquired (deployments with an rpm limit), and its tokens.
func (s *state) addUsage(now int64, request bool, tokens int) {
	if !request && tokens <= 0 {
		return
	}
	s.roll(now)
	if request {
		s.rpm.Add(1)
	}
	if tokens > 0 {
		s.tpm.Add(int64(tokens))
	}
}

// setProbeHealth records an active health probe's verdict: an unhealthy
// deployment is not a candidate until a probe passes again. For the health
// checker.
func (s *state) setProbeHealth(now int64, healthy bool, k provider.Kind) {
	s.probeAt.Store(now)
	if healthy {
		s.probeKind.Store(0)
		s.probeDown.Store(false)
		return
	}
	s.probeKind.Store(int32(k))
	s.probeDown.Store(true)
}
