package router

import (
	"context"
	"errors"
	"log/slog"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
)

// call is one request in progress: everything the retry loop needs, in one
// pooled object so that a request allocates (almost) nothing.
type call struct {
	r    *Router
	tab  *table // loaded once: the request sees one config throughout
	ctx  context.Context
	op   string
	opts callOptions

	req  openai.ChatCompletionRequest
	ereq openai.EmbeddingRequest

	rawReq  []byte // CompleteRaw's body, nil for every other call
	rawResp []byte // CompleteRaw's answer

	res   alias.Resolution // of the requested name, resolved once
	start time.Time

	cand     Candidates
	triedBuf [8]*dep
	pathBuf  [8]string // an Authorizer's view of the resolution
	rejBuf   [8]*dep
	atts     [8]Attempt
	moreAtts []Attempt
	n        int  // upstream calls made
	refused  bool // the Authorizer refused the request: nothing to observe

	// The serving deployment, once one answered.
	dep      *dep
	probe    bool
	group    *group // serving group, or the last tried
	target   string
	upstream string
	fallback bool
	resp     openai.ChatCompletionResponse
	eresp    openai.EmbeddingResponse
	stream   provider.Stream
	first    openai.ChatCompletionStreamResponse
	firstRaw []byte             // the first chunk, undecoded, when the stream is a provider.RawStream
	emptyEOF bool               // the stream ended before any chunk
	cancel   context.CancelFunc // of a stream's context

	lastKind       provider.Kind
	lastRetryAfter time.Duration
	cooling        bool // a target ran out of candidates because of cooldowns
	ruledOutCW     bool
	clockUsed      bool          // start was used as the first attempt's time
	waited         time.Duration // for cooldowns, in total
}

// run serves the resolved request: the requested group first, then the
// fallbacks its failure calls for, all within one attempt budget.
func (c *call) run() error {
	g, match := c.tab.lookup(c.res.Target)
	if g == nil {
		return &NameError{Name: c.res.Requested, Err: alias.ErrNotFound}
	}
	c.group = g
	if c.serve(g, match, c.res.Requested, false) {
		return nil
	}
	return c.fallbacks(g)
}

// fallbacks tries the fallback targets for the requested name after its
// group failed; it returns the final error, or nil if a fallback served.
func (c *call) fallbacks(g *group) error {
	set := &c.tab.set
	keys := fallbackKeys(c.res, g)
	var queue []string
	var general, cw, cp bool
	plan := func(k provider.Kind) {
		switch k {
		case provider.KindContextWindow:
			if !cw {
				cw = true
				queue = appendFallbacks(queue, set.cwFallbacks, keys)
			}
		case provider.KindContentPolicy:
			if !cp {
				cp = true
				queue = appendFallbacks(queue, set.cpFallbacks, keys)
			}
		case provider.KindBadRequest, provider.KindCanceled:
		default:
			if !general {
				general = true
				queue = appendFallbacks(queue, set.fallbacks, keys)
			}
		}
	}
	type served struct {
		g     *group
		match string
	}
	done := []served{{g, ""}}
	if g.wild {
		_, m := c.tab.lookup(c.res.Target)
		done[0].match = m
	}
	plan(c.lastKind)
	for i := 0; i < len(queue); i++ {
		if c.n >= set.maxAttempts || c.ctx.Err() != nil {
			break
		}
		if k := c.lastKind; k == provider.KindBadRequest || k == provider.KindCanceled {
			break
		}
		name := queue[i]
		res, err := c.r.resolve(c.tab, name)
		if err != nil {
			c.r.log.LogAttrs(c.ctx, slog.LevelWarn, "router: fallback target unavailable",
				slog.String("requested", c.res.Requested), slog.String("fallback", name), slog.Any("error", err))
			continue
		}
		fg, fmatch := c.tab.lookup(res.Target)
		if fg == nil {
			continue
		}
		seen := false
		for _, s := range done {
			if s.g == fg && s.match == fmatch {
				seen = true
			}
		}
		if seen {
			continue
		}
		done = append(done, served{fg, fmatch})
		c.group = fg
		if c.serve(fg, fmatch, name, true) {
			return nil
		}
		plan(c.lastKind)
	}
	groups := make([]*group, len(done))
	for i, s := range done {
		groups[i] = s.g
	}
	return c.exhausted(groups)
}

// fallbackKeys lists the names whose fallbacks apply to a request, most
// specific first: the requested name, each alias on its chain, the final
// target and its group (LiteLLM issue 10317: a group's fallbacks fire when
// the request used an alias of it).
func fallbackKeys(res alias.Resolution, g *group) []string {
	keys := make([]string, 0, len(res.Chain)+3)
	add := func(k string) {
		for _, x := range keys {
			if x == k {
				return
			}
		}
		keys = append(keys, k)
	}
	add(res.Requested)
	for _, a := range res.Chain {
		add(a)
	}
	add(res.Target)
	add(g.name)
	return keys
}

// appendFallbacks appends to queue the fallbacks in m for keys, then the
// "*" default list, skipping names already queued.
func appendFallbacks(queue []string, m map[string][]string, keys []string) []string {
	add := func(list []string) {
	next:
		for _, t := range list {
			for _, q := range queue {
				if q == t {
					continue next
				}
			}
			queue = append(queue, t)
		}
	}
	for _, k := range keys {
		add(m[k])
	}
	add(m["*"])
	return queue
}

// exhausted builds the final error after groups were tried.
func (c *call) exhausted(groups []*group) error {
	e := &ExhaustedError{Requested: c.res.Requested, Attempts: c.attempts(), Kind: c.lastKind, cooling: c.cooling}
	if err := c.ctx.Err(); err != nil {
		e.Kind, e.ctxErr = provider.KindCanceled, err
	} else if c.ruledOutCW && c.lastKind == provider.KindContextWindow {
		e.Kind = provider.KindContextWindow
	}
	now := time.Now().UnixNano()
	var earliest int64
	for _, g := range groups {
		for _, d := range g.deps {
			if u := d.st.cooldownUntil.Load(); u > now && (earliest == 0 || u < earliest) {
				earliest = u
			}
		}
	}
	if earliest != 0 {
		e.CooldownWait = time.Duration(earliest - now)
	}
	return e
}

// serve tries group g (serving name target) until a deployment answers, the
// group's tries are used up, it has no candidate left, or the failure is one
// no other deployment can fix. It reports success.
func (c *call) serve(g *group, match, target string, fallback bool) bool {
	set := &c.tab.set
	c.cand.tried = c.triedBuf[:0]
	c.ruledOutCW = false
	tries := 0
	for {
		c.cand.allowTried = false
		if c.n >= set.maxAttempts || c.ctx.Err() != nil {
			return false
		}
		now := c.now()
		d, probe := c.pick(g, now.UnixNano())
		if d == nil && tries > 0 {
			// Every untried deployment is out: back off, then let the
			// ones that failed try again if one will be available.
			// A wait longer than BackoffMax (a long Retry-After) is a
			// cooldown, waited out only within MaxCooldownWait and when
			// no fallback could serve; else the request moves on to its
			// fallbacks or fails fast with the time to wait.
			wait := c.backoff(tries)
			c.cand.allowTried = true
			long := wait > set.backoffMax
			if (!long || c.mayWait(g, wait)) && c.anyCandidate(g, now.Add(wait).UnixNano()) {
				if !c.sleep(wait) {
					c.noteCooling(g, now.UnixNano())
					return false
				}
				if long {
					c.waited += wait
				}
				now = time.Now()
				d, probe = c.pick(g, now.UnixNano())
			}
		}
		if d == nil {
			nowNS := now.UnixNano()
			if c.noteCooling(g, nowNS) && tries == 0 {
				c.lastKind = provider.KindContextWindow
				return false
			}
			if wait := c.cooldownWait(g, nowNS); wait > 0 && c.sleep(wait) {
				c.waited += wait
				continue
			}
			return false
		}
		tries++
		if c.attempt(d, probe, now, g, match, target, fallback) {
			return true
		}
		if !c.lastKind.Retryable() || tries > set.retries {
			return false
		}
		c.cand.tried = append(c.cand.tried, d)
	}
}

// now returns the time, reusing the request's start for its first attempt
// (clock reads are not free).
func (c *call) now() time.Time {
	if c.n == 0 && !c.clockUsed {
		c.clockUsed = true
		return c.start
	}
	return time.Now()
}

// noteCooling records, when g has no candidate at now, whether cooldowns are
// why, and reports whether the context window alone rules out all of g.
func (c *call) noteCooling(g *group, now int64) (ruledOutCW bool) {
	c.cand.now = now
	c.cand.rejected = nil
	cwOnly, anyCW := true, false
	for _, d := range g.deps {
		switch c.cand.reason(d) {
		case ReasonCooldown:
			c.cooling = true
			cwOnly = false
		case ReasonContextWindow:
			anyCW = true
		case ReasonTags:
		default:
			cwOnly = false
		}
	}
	c.ruledOutCW = cwOnly && anyCW
	return c.ruledOutCW
}

// cooldownWait returns how long a request that found no candidate in g at
// now should wait before it looks again, or 0 to give up on g. Only
// cooldowns are waited out: the earliest to end or, when a deployment is
// out only for another request's half-open probe, a short backoff (the
// probe ends soon: in a recovery, or in a cooldown). The requests that
// waited for the same cooldown wake together; one takes the probe and the
// rest back off until it is done.
func (c *call) cooldownWait(g *group, now int64) time.Duration {
	var wait time.Duration
	if until := earliestCooldown(g, now); until != 0 {
		wait = time.Duration(until - now)
	} else if probing(g, now, &c.tab.set) {
		// Not backoff: a Retry-After this request saw was the cooldown's.
		wait = c.jitter(c.tab.set.backoffBase)
	}
	if wait <= 0 || !c.mayWait(g, wait) {
		return 0
	}
	return wait
}

// mayWait reports whether the request may wait d for a cooldown of g to
// end: within MaxCooldownWait in total, and only when it has no fallback to
// move on to (as LiteLLM hands a request whose deployments all cool down
// to its fallbacks, and otherwise sleeps a retry).
func (c *call) mayWait(g *group, d time.Duration) bool {
	return c.waited+d <= c.tab.set.maxWait && !c.hasFallbacks(g)
}

// hasFallbacks reports whether some general fallback is configured for the
// request served by g.
func (c *call) hasFallbacks(g *group) bool {
	m := c.tab.set.fallbacks
	if len(m) == 0 {
		return false
	}
	if len(m["*"]) > 0 {
		return true
	}
	for _, k := range fallbackKeys(c.res, g) {
		if len(m[k]) > 0 {
			return true
		}
	}
	return false
}

func earliestCooldown(g *group, now int64) int64 {
	var earliest int64
	for _, d := range g.deps {
		if u := d.st.cooldownUntil.Load(); u > now && (earliest == 0 || u < earliest) {
			earliest = u
		}
	}
	return earliest
}

// probing reports whether a deployment of g is out only for its half-open
// probe in flight.
func probing(g *group, now int64, set *settings) bool {
	for _, d := range g.deps {
		if d.st.phase(now, set.slowStart) == phaseProbing {
			return true
		}
	}
	return false
}

// anyCandidate reports whether some deployment of g would be a candidate at
// the given time, judging by the state now.
func (c *call) anyCandidate(g *group, at int64) bool {
	c.cand.now = at
	c.cand.rejected = nil
	for _, d := range g.deps {
		if c.cand.reason(d) == ReasonCandidate {
			return true
		}
	}
	return false
}

// pick chooses and acquires a deployment of g: the best order tier that has
// a candidate, then the strategy within it.
func (c *call) pick(g *group, now int64) (*dep, bool) {
	cand := &c.cand
	cand.now = now
	cand.rejected = c.rejBuf[:0]
	cand.noRamp = false
	if d, probe := c.pickTiers(g, now); d != nil {
		return d, probe
	}
	// Deployments ramping up after a cooldown take a share of the traffic
	// only while there is an alternative.
	cand.noRamp = true
	cand.rejected = c.rejBuf[:0]
	return c.pickTiers(g, now)
}

func (c *call) pickTiers(g *group, now int64) (*dep, bool) {
	cand := &c.cand
	strat := c.tab.strategy
	for _, t := range g.tiers {
		cand.tier = t
		for range len(t.deps) + 1 {
			i := strat.Pick(cand)
			if i < 0 || i >= len(t.deps) {
				break
			}
			d := t.deps[i]
			if probe, ok := c.acquire(d, now); ok {
				return d, probe
			}
			cand.rejected = append(cand.rejected, d)
		}
	}
	return nil, false
}

// acquire claims d for one attempt: the half-open probe slot if it is due
// one, a parallel slot and a request of its rpm. It reports whether the
// attempt is the probe, and whether d was acquired.
func (c *call) acquire(d *dep, now int64) (probe, ok bool) {
	if !c.tab.trusted && c.cand.reason(d) != ReasonCandidate {
		// A custom strategy may return what Eligible refused.
		return false, false
	}
	st := d.st
	if u := st.cooldownUntil.Load(); u != 0 {
		if now < u {
			return false, false // started cooling since Eligible
		}
		if st.needsProbe.Load() {
			if !st.probing.CompareAndSwap(false, true) {
				return false, false // another request took the probe
			}
			probe = true
		}
	}
	if n := st.inflight.Add(1); d.MaxParallel > 0 && n > int64(d.MaxParallel) {
		st.inflight.Add(-1)
		st.release(probe)
		return false, false
	}
	if d.RPM > 0 {
		// Count the request now, so the limit holds under concurrency;
		// deployments without a limit count it when it ends.
		st.roll(now)
		if n := st.rpm.Add(1); n > int64(d.RPM) {
			st.rpm.Add(-1)
			st.inflight.Add(-1)
			st.release(probe)
			return false, false
		}
	}
	if c.r.shared != nil && (d.RPM > 0 || d.TPM > 0) && !c.r.admitShared(c.ctx, d, now, c.cand.tokens()) {
		if d.RPM > 0 {
			st.rpm.Add(-1)
		}
		st.inflight.Add(-1)
		st.release(probe)
		return false, false
	}
	return probe, true
}

// attempt makes one upstream call on d, records its outcome in d's state,
// the attempt list and the observer, and reports success. For a stream, a
// success holds d (in flight) until the stream ends.
func (c *call) attempt(d *dep, probe bool, start time.Time, g *group, match, target string, fallback bool) bool {
	upstream := d.upstreamFor(match)
	c.n++
	var err error
	var usage openai.Usage
	switch c.op {
	case CallChat:
		if c.rawReq != nil { // CompleteRaw (raw.go)
			err = c.chatRaw(d, upstream)
			usage = c.resp.Usage
			break
		}
		req := c.req
		req.Model = upstream
		if d.timeout > 0 {
			actx, cancel := context.WithTimeout(c.ctx, d.timeout)
			c.resp, err = d.Provider.ChatCompletion(actx, req)
			cancel()
		} else {
			c.resp, err = d.Provider.ChatCompletion(c.ctx, req)
		}
		usage = c.resp.Usage
	case CallEmbeddings:
		req := c.ereq
		req.Model = openai.EmbeddingModel(upstream)
		if d.timeout > 0 {
			actx, cancel := context.WithTimeout(c.ctx, d.timeout)
			c.eresp, err = d.Provider.Embeddings(actx, req)
			cancel()
		} else {
			c.eresp, err = d.Provider.Embeddings(c.ctx, req)
		}
		usage = c.eresp.Usage
	case CallStream:
		err = c.openStream(d, upstream)
	}
	lat := time.Since(start) // monotonic only: half the cost of time.Now
	end := start.Add(lat)
	st := d.st
	ev := AttemptEvent{
		Call: c.op, Requested: c.res.Requested, Chain: c.res.Chain, Target: target,
		Group: g.name, Deployment: d.ID, Model: upstream, Provider: d.prov,
		Start: start, Latency: lat,
	}
	if err == nil {
		if c.op != CallStream {
			st.inflight.Add(-1)
		}
		st.success(end.UnixNano(), lat, probe)
		st.addUsage(end.UnixNano(), d.RPM == 0, usage.TotalTokens)
		if c.r.shared != nil {
			c.r.shareTokens(d, end.UnixNano(), usage.TotalTokens)
		}
		c.addAttempt(Attempt{Deployment: d.ID, Group: g.name, Duration: lat})
		c.dep, c.probe, c.group, c.target, c.upstream, c.fallback = d, probe, g, target, upstream, fallback
		if c.r.obs != nil {
			ev.Usage, ev.Cost = usage, d.cost(usage)
			c.r.obs.ObserveAttempt(ev)
		}
		return true
	}
	st.inflight.Add(-1)
	st.addUsage(end.UnixNano(), d.RPM == 0, 0)
	kind, retryAfter, err := c.classify(err)
	c.lastKind, c.lastRetryAfter = kind, retryAfter
	var until int64
	if kind == provider.KindCanceled {
		st.release(probe)
	} else {
		until = st.failure(end.UnixNano(), kind, retryAfter, probe, &c.tab.set)
	}
	c.addAttempt(Attempt{Deployment: d.ID, Group: g.name, Err: err, Kind: kind, Duration: lat})
	if until != 0 {
		c.r.shareCooldown(d, until)
		ev.CooldownUntil = time.Unix(0, until)
		c.r.log.LogAttrs(c.ctx, slog.LevelInfo, "router: deployment cooling down",
			slog.String("deployment", d.ID), slog.String("group", g.name),
			slog.String("kind", kind.String()), slog.Time("until", ev.CooldownUntil))
	}
	c.r.log.LogAttrs(c.ctx, slog.LevelDebug, "router: attempt failed",
		slog.String("requested", c.res.Requested), slog.String("deployment", d.ID),
		slog.String("kind", kind.String()), slog.Duration("latency", lat), slog.Any("error", err))
	if c.r.obs != nil {
		ev.Err, ev.Kind = err, kind
		c.r.obs.ObserveAttempt(ev)
	}
	return false
}

// classify turns an attempt's error into its kind, telling the caller's own
// cancellation (never counted) from the per-attempt timeout (counted). It
// returns the error to record, re-kinded when needed.
func (c *call) classify(err error) (provider.Kind, time.Duration, error) {
	pe := classify(err)
	kind := pe.Kind
	switch {
	case c.ctx.Err() != nil:
		kind = provider.KindCanceled
	case kind == provider.KindCanceled || errors.Is(err, context.DeadlineExceeded):
		// The caller's context is fine: our per-attempt timeout fired.
		kind = provider.KindTimeout
	}
	if kind != pe.Kind {
		cp := *pe
		cp.Kind = kind
		pe = &cp
	}
	return kind, pe.RetryAfter, pe
}

// classify returns the *provider.Error in err's chain, or classifies err.
func classify(err error) *provider.Error { return provider.Classify(err) }

// backoff is the wait before retry number tries on a deployment that
// already failed: jittered exponential, at least the last Retry-After.
func (c *call) backoff(tries int) time.Duration {
	set := &c.tab.set
	d := set.backoffBase
	for i := 1; i < tries && d < set.backoffMax; i++ {
		d *= 2
	}
	return max(c.jitter(min(d, set.backoffMax)), c.lastRetryAfter)
}

// jitter returns a random wait between d/2 and d.
func (c *call) jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(c.cand.Float64()*float64(d/2))
}

// sleep waits d unless that would pass the context's deadline; it reports
// whether it waited the whole time.
func (c *call) sleep(d time.Duration) bool {
	if d <= 0 {
		return c.ctx.Err() == nil
	}
	if dl, ok := c.ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (c *call) addAttempt(a Attempt) {
	if c.n <= len(c.atts) && c.moreAtts == nil {
		c.atts[c.n-1] = a
		return
	}
	if c.moreAtts == nil {
		c.moreAtts = append([]Attempt(nil), c.atts[:]...)
	}
	c.moreAtts = append(c.moreAtts, a)
}

// attempts returns a fresh copy of the attempts made (one allocation).
func (c *call) attempts() []Attempt {
	if c.n == 0 {
		return nil
	}
	src := c.atts[:min(c.n, len(c.atts))]
	if c.moreAtts != nil {
		src = c.moreAtts
	}
	out := make([]Attempt, len(src))
	copy(out, src)
	return out
}

// route returns the request's Route.
func (c *call) route() Route {
	r := Route{Requested: c.res.Requested, Chain: c.res.Chain, Target: c.target, Fallback: c.fallback, Attempts: c.attempts()}
	if c.group != nil {
		r.Group = c.group.name
	}
	if c.dep != nil {
		r.Deployment, r.Model = c.dep.ID, c.upstream
	}
	return r
}

// observeRequest reports a finished (non-streaming) request.
func (c *call) observeRequest(route Route, err error) {
	if (c.r.obs == nil && c.opts.observe == nil) || c.refused {
		return
	}
	ev := RequestEvent{
		Call: c.op, Requested: route.Requested, Chain: route.Chain, Group: route.Group,
		Deployment: route.Deployment, Model: route.Model, Route: route,
		Start: c.start, Latency: time.Since(c.start), Err: err,
	}
	if err == nil && c.dep != nil {
		switch c.op {
		case CallChat:
			ev.Usage = c.resp.Usage
		case CallEmbeddings:
			ev.Usage = c.eresp.Usage
		}
		ev.Cost = c.dep.cost(ev.Usage)
	}
	if c.r.obs != nil {
		c.r.obs.ObserveRequest(ev)
	}
	if c.opts.observe != nil {
		c.opts.observe(ev)
	}
}
