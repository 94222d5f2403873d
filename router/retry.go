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

// scratch is the memory one request reuses from the Router's pool, so that
// a request allocates (almost) nothing: the strategy's view, buffers, and
// the request copy and answer of each operation. It holds no request
// logic; what a request decides lives on its stack (request) and in the
// values its functions return.
type scratch struct {
	cand  Candidates
	tried [8]*dep
	rej   [8]*dep
	path  [8]string // an Authorizer's view of the resolution
	atts  [8]Attempt
	opts  callOptions // the request's, applied here: a CallOption cannot see the stack

	chat   chatOp
	embed  embedOp
	stream streamOp
	raw    rawOp
}

// request is one request in progress: what it routes, on which table (the
// request sees one config throughout), and what it has spent of its
// budgets.
type request struct {
	r     *Router
	tab   *table
	ctx   context.Context
	op    operation
	s     *scratch
	res   alias.Resolution // of the requested name, resolved once
	start time.Time

	n        int           // upstream calls made: the attempts in s.atts, or more
	more     []Attempt     // the attempts, when there are more than s.atts holds
	waited   time.Duration // waited for cooldowns, in total
	observed bool          // reported to observers: a refused request is not
}

// served says who served a request: the deployment that answered (nil if
// none did) and the group it belongs to (on failure: the last tried).
type served struct {
	d        *dep
	probe    bool
	g        *group
	target   string // the name whose group served: requested, or a fallback
	upstream string // the model the deployment was sent
	fallback bool
	usage    openai.Usage
}

// miss says why a target was not served.
type miss struct {
	kind       provider.Kind // of the last failure
	cooling    bool          // a deployment was out for a cooldown
	ruledOutCW bool          // the prompt fits no deployment's context window
}

// newRequest starts a request of op, with its scratch from the pool.
func (r *Router) newRequest(ctx context.Context, s *scratch, op operation, opts []CallOption) request {
	q := request{r: r, tab: r.tab.Load(), ctx: ctx, op: op, s: s, observed: true}
	if r.seeded {
		s.cand.rng = r.seed.Add(0x9e3779b97f4a7c15)
	}
	for _, o := range opts {
		o(&s.opts)
	}
	return q
}

// getScratch takes a scratch from the pool.
func (r *Router) getScratch() *scratch { return r.pool.Get().(*scratch) }

// putScratch clears what a request left in s and returns it to the pool.
// Only what the next request reads before writing is cleared (clearing the
// whole scratch costs more than the rest of a pick): the request copies of
// the operations are overwritten by the next request of their kind, and
// their answers are cleared by the request that used them.
func (r *Router) putScratch(s *scratch, op operation, n int) {
	rng := s.cand.rng
	s.cand = Candidates{rng: rng}
	clear(s.atts[:min(n, len(s.atts))])
	clear(s.tried[:])
	clear(s.rej[:])
	clear(s.path[:])
	s.opts = callOptions{}
	switch op.(type) {
	case *chatOp:
		s.chat.resp = openai.ChatCompletionResponse{}
	case *embedOp:
		s.embed.resp = openai.EmbeddingResponse{}
	case *streamOp:
		s.stream = streamOp{req: s.stream.req}
	case *rawOp:
		s.raw.body, s.raw.answer = nil, nil
	}
	r.pool.Put(s)
}

// do resolves name once and serves the request.
func (q *request) do(name string) (served, error) {
	q.start = time.Now()
	cand := &q.s.cand
	cand.set = &q.tab.set
	cand.est = q.r.est
	cand.estimate = -1
	cand.tags = q.s.opts.tags
	q.res.Requested = name
	res, refused, err := q.resolveRequest(name)
	if err != nil {
		q.observed = !refused
		return served{}, err
	}
	q.res = res
	return q.run()
}

// run serves the resolved request: the requested group first, then the
// fallbacks its failure calls for, all within one attempt budget.
func (q *request) run() (served, error) {
	g, match := q.tab.lookup(q.res.Target)
	if g == nil {
		return served{}, &NameError{Name: q.res.Requested, Err: alias.ErrNotFound}
	}
	srv, m := q.serve(g, match, q.res.Requested, false, q.start, 0)
	if srv.d != nil {
		return srv, nil
	}
	return q.fallbacks(g, m)
}

// fallbacks tries the fallback targets for the requested name after its
// group g failed with m; it returns who served, or the final error.
func (q *request) fallbacks(g *group, m miss) (served, error) {
	set := &q.tab.set
	keys := fallbackKeys(q.res, g)
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
	type tried struct {
		g     *group
		match string
	}
	done := []tried{{g, ""}}
	if g.wild {
		_, m := q.tab.lookup(q.res.Target)
		done[0].match = m
	}
	last, cooling := g, m.cooling
	plan(m.kind)
	for i := 0; i < len(queue); i++ {
		if q.n >= set.maxAttempts || q.ctx.Err() != nil {
			break
		}
		if k := m.kind; k == provider.KindBadRequest || k == provider.KindCanceled {
			break
		}
		name := queue[i]
		res, err := q.r.resolve(q.tab, name)
		if err != nil {
			q.r.log.LogAttrs(q.ctx, slog.LevelWarn, "router: fallback target unavailable",
				slog.String("requested", q.res.Requested), slog.String("fallback", name), slog.Any("error", err))
			continue
		}
		fg, fmatch := q.tab.lookup(res.Target)
		if fg == nil {
			continue
		}
		seen := false
		for _, t := range done {
			if t.g == fg && t.match == fmatch {
				seen = true
			}
		}
		if seen {
			continue
		}
		done = append(done, tried{fg, fmatch})
		last = fg
		var srv served
		if srv, m = q.serve(fg, fmatch, name, true, time.Now(), m.kind); srv.d != nil {
			return srv, nil
		}
		cooling = cooling || m.cooling
		plan(m.kind)
	}
	groups := make([]*group, len(done))
	for i, t := range done {
		groups[i] = t.g
	}
	m.cooling = cooling
	return served{g: last}, q.exhausted(groups, m)
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

// exhausted builds the final error after groups were tried, the last miss
// being m.
func (q *request) exhausted(groups []*group, m miss) error {
	e := &ExhaustedError{Requested: q.res.Requested, Attempts: q.attempts(), Kind: m.kind, cooling: m.cooling}
	if err := q.ctx.Err(); err != nil {
		e.Kind, e.ctxErr = provider.KindCanceled, err
	} else if m.ruledOutCW && m.kind == provider.KindContextWindow {
		e.Kind = provider.KindContextWindow
	}
	now := time.Now().UnixNano()
	var earliest int64
	for _, g := range groups {
		if u := earliestCooldown(g, now); u != 0 && (earliest == 0 || u < earliest) {
			earliest = u
		}
	}
	if earliest != 0 {
		e.CooldownWait = time.Duration(earliest - now)
	}
	return e
}

// serve tries group g (serving name target) until a deployment answers, the
// group's tries are used up, it has no candidate left, or the failure is one
// no other deployment can fix. now is the time of its first pick; last is
// the kind of the request's last failure so far, which stays the miss's
// kind if g fails without an attempt. It returns who served, or why no one
// did.
func (q *request) serve(g *group, match, target string, fallback bool, now time.Time, last provider.Kind) (served, miss) {
	set := &q.tab.set
	cand := &q.s.cand
	cand.tried = q.s.tried[:0]
	m := miss{kind: last}
	var retryAfter time.Duration // the last failure's Retry-After
	tries := 0
	for first := true; ; first = false {
		cand.allowTried = false
		if q.n >= set.maxAttempts || q.ctx.Err() != nil {
			return served{g: g}, m
		}
		if !first {
			now = time.Now()
		}
		d, probe := q.pick(g, now.UnixNano())
		if d == nil && tries > 0 {
			// Every untried deployment is out: back off, then let the
			// ones that failed try again if one will be available.
			// A wait longer than BackoffMax (a long Retry-After) is a
			// cooldown, waited out only within MaxCooldownWait and when
			// no fallback could serve; else the request moves on to its
			// fallbacks or fails fast with the time to wait.
			wait := max(q.jitter(backoff(set, tries)), retryAfter)
			cand.allowTried = true
			long := wait > set.backoffMax
			if (!long || q.mayWait(g, wait)) && q.anyCandidate(g, now.Add(wait).UnixNano()) {
				if !q.sleep(wait) {
					m.note(q.outReasons(g, now.UnixNano()))
					return served{g: g}, m
				}
				if long {
					q.waited += wait
				}
				now = time.Now()
				d, probe = q.pick(g, now.UnixNano())
			}
		}
		if d == nil {
			nowNS := now.UnixNano()
			m.note(q.outReasons(g, nowNS))
			if m.ruledOutCW && tries == 0 {
				m.kind = provider.KindContextWindow
				return served{g: g}, m
			}
			if wait := q.cooldownWait(g, nowNS); wait > 0 && q.sleep(wait) {
				q.waited += wait
				continue
			}
			return served{g: g}, m
		}
		srv, kind, ra := q.attempt(d, probe, now, g, match, target, fallback)
		if srv.d != nil {
			return srv, m
		}
		m.kind, retryAfter = kind, ra
		if kind != provider.KindUnsupported {
			// A deployment whose provider cannot express the request
			// refused it without a call: moving on to one of another
			// provider is not a retry.
			tries++
		}
		if !kind.Retryable() || tries > set.retries {
			return served{g: g}, m
		}
		cand.tried = append(cand.tried, d)
	}
}

// note records why a group had no candidate.
func (m *miss) note(cooling, ruledOutCW bool) {
	m.cooling = m.cooling || cooling
	m.ruledOutCW = ruledOutCW
}

// outReasons reports, when g has no candidate at now, whether cooldowns
// are among the reasons, and whether the context window alone rules out
// all of g.
func (q *request) outReasons(g *group, now int64) (cooling, ruledOutCW bool) {
	cand := &q.s.cand
	cand.now = now
	cand.rejected = nil
	cwOnly, anyCW := true, false
	for _, d := range g.deps {
		switch cand.reason(d) {
		case ReasonCooldown:
			cooling = true
			cwOnly = false
		case ReasonContextWindow:
			anyCW = true
		case ReasonTags:
		default:
			cwOnly = false
		}
	}
	return cooling, cwOnly && anyCW
}

// cooldownWait returns how long a request that found no candidate in g at
// now should wait before it looks again, or 0 to give up on g. Only
// cooldowns are waited out: the earliest to end or, when a deployment is
// out only for another request's half-open probe, a short backoff (the
// probe ends soon: in a recovery, or in a cooldown). The requests that
// waited for the same cooldown wake together; one takes the probe and the
// rest back off until it is done.
func (q *request) cooldownWait(g *group, now int64) time.Duration {
	var wait time.Duration
	if until := earliestCooldown(g, now); until != 0 {
		wait = time.Duration(until - now)
	} else if probing(g, now, &q.tab.set) {
		// Not backoff: a Retry-After this request saw was the cooldown's.
		wait = q.jitter(q.tab.set.backoffBase)
	}
	if wait <= 0 || !q.mayWait(g, wait) {
		return 0
	}
	return wait
}

// mayWait reports whether the request may wait d for a cooldown of g to
// end: within MaxCooldownWait in total, and only when it has no fallback to
// move on to (as LiteLLM hands a request whose deployments all cool down
// to its fallbacks, and otherwise sleeps a retry).
func (q *request) mayWait(g *group, d time.Duration) bool {
	return q.waited+d <= q.tab.set.maxWait && !q.hasFallbacks(g)
}

// hasFallbacks reports whether some general fallback is configured for the
// request served by g.
func (q *request) hasFallbacks(g *group) bool {
	m := q.tab.set.fallbacks
	if len(m) == 0 {
		return false
	}
	if len(m["*"]) > 0 {
		return true
	}
	for _, k := range fallbackKeys(q.res, g) {
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
func (q *request) anyCandidate(g *group, at int64) bool {
	cand := &q.s.cand
	cand.now = at
	cand.rejected = nil
	for _, d := range g.deps {
		if cand.reason(d) == ReasonCandidate {
			return true
		}
	}
	return false
}

// pick chooses and acquires a deployment of g: the best order tier that has
// a candidate, then the strategy within it.
func (q *request) pick(g *group, now int64) (*dep, bool) {
	cand := &q.s.cand
	cand.now = now
	cand.rejected = q.s.rej[:0]
	cand.noRamp = false
	if d, probe := q.pickTiers(g, now); d != nil {
		return d, probe
	}
	// Deployments ramping up after a cooldown take a share of the traffic
	// only while there is an alternative.
	cand.noRamp = true
	cand.rejected = q.s.rej[:0]
	return q.pickTiers(g, now)
}

func (q *request) pickTiers(g *group, now int64) (*dep, bool) {
	cand := &q.s.cand
	strat := q.tab.strategy
	for _, t := range g.tiers {
		cand.tier = t
		for range len(t.deps) + 1 {
			i := strat.Pick(cand)
			if i < 0 || i >= len(t.deps) {
				break
			}
			d := t.deps[i]
			if probe, ok := q.acquire(d, now); ok {
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
func (q *request) acquire(d *dep, now int64) (probe, ok bool) {
	if !q.tab.trusted && q.s.cand.reason(d) != ReasonCandidate {
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
		st.rpm.Add(1)
		if n, _ := st.usage(now); n > int64(d.RPM) {
			st.rpm.Add(-1)
			st.inflight.Add(-1)
			st.release(probe)
			return false, false
		}
	}
	if q.r.shared != nil && (d.RPM > 0 || d.TPM > 0) && !q.r.admitShared(q.ctx, d, now, q.s.cand.tokens()) {
		if d.RPM > 0 {
			st.rpm.Add(-1)
		}
		st.inflight.Add(-1)
		st.release(probe)
		return false, false
	}
	return probe, true
}

// attempt makes one upstream call on d through the request's operation,
// records its outcome in d's state, the attempt list and the observer, and
// returns who served, or the failure's kind and Retry-After. For a stream,
// a success holds d (in flight) until the stream ends.
func (q *request) attempt(d *dep, probe bool, start time.Time, g *group, match, target string, fallback bool) (served, provider.Kind, time.Duration) {
	upstream := d.upstreamFor(match)
	q.n++
	usage, held, err := q.op.call(q.ctx, d, upstream)
	lat := time.Since(start) // monotonic only: half the cost of time.Now
	end := start.Add(lat)
	st := d.st
	ev := AttemptEvent{
		Call: q.op.kind(), Requested: q.res.Requested, Chain: q.res.Chain, Target: target,
		Group: g.name, Deployment: d.ID, Model: upstream, Provider: d.prov,
		Start: start, Latency: lat,
	}
	if err == nil {
		if !held {
			st.inflight.Add(-1)
		}
		st.success(end.UnixNano(), lat, probe)
		st.addUsage(end.UnixNano(), d.RPM == 0, usage.TotalTokens)
		if q.r.shared != nil {
			q.r.shareTokens(d, end.UnixNano(), usage.TotalTokens)
		}
		q.addAttempt(Attempt{Deployment: d.ID, Group: g.name, Duration: lat})
		if q.r.obs != nil {
			ev.Usage, ev.Cost = usage, d.cost(usage)
			q.r.obs.ObserveAttempt(ev)
		}
		return served{d: d, probe: probe, g: g, target: target, upstream: upstream, fallback: fallback, usage: usage}, 0, 0
	}
	st.inflight.Add(-1)
	st.addUsage(end.UnixNano(), d.RPM == 0, 0)
	kind, retryAfter, err := classifyAttempt(q.ctx, err)
	var until int64
	if kind == provider.KindCanceled {
		st.release(probe)
	} else {
		until = st.failure(end.UnixNano(), kind, retryAfter, probe, &q.tab.set)
	}
	q.addAttempt(Attempt{Deployment: d.ID, Group: g.name, Err: err, Kind: kind, Duration: lat})
	if until != 0 {
		q.r.shareCooldown(d, until)
		ev.CooldownUntil = time.Unix(0, until)
		q.r.log.LogAttrs(q.ctx, slog.LevelInfo, "router: deployment cooling down",
			slog.String("deployment", d.ID), slog.String("group", g.name),
			slog.String("kind", kind.String()), slog.Time("until", ev.CooldownUntil))
	}
	q.r.log.LogAttrs(q.ctx, slog.LevelDebug, "router: attempt failed",
		slog.String("requested", q.res.Requested), slog.String("deployment", d.ID),
		slog.String("kind", kind.String()), slog.Duration("latency", lat), slog.Any("error", err))
	if q.r.obs != nil {
		ev.Err, ev.Kind = err, kind
		q.r.obs.ObserveAttempt(ev)
	}
	return served{}, kind, retryAfter
}

// classifyAttempt turns an attempt's error into its kind, telling the
// caller's own cancellation (never counted) from the per-attempt timeout
// (counted). It returns the error to record, re-kinded when needed.
func classifyAttempt(ctx context.Context, err error) (provider.Kind, time.Duration, error) {
	pe := classify(err)
	kind := pe.Kind
	switch {
	case ctx.Err() != nil:
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
// already failed, before jitter: exponential from BackoffBase, at most
// BackoffMax.
func backoff(set *settings, tries int) time.Duration {
	d := set.backoffBase
	for i := 1; i < tries && d < set.backoffMax; i++ {
		d *= 2
	}
	return min(d, set.backoffMax)
}

// jitter returns a random wait between d/2 and d.
func (q *request) jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(q.s.cand.Float64()*float64(d/2))
}

// sleep waits d unless that would pass the context's deadline; it reports
// whether it waited the whole time.
func (q *request) sleep(d time.Duration) bool {
	if d <= 0 {
		return q.ctx.Err() == nil
	}
	if dl, ok := q.ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-q.ctx.Done():
		return false
	}
}

func (q *request) addAttempt(a Attempt) {
	if q.n <= len(q.s.atts) && q.more == nil {
		q.s.atts[q.n-1] = a
		return
	}
	if q.more == nil {
		q.more = append([]Attempt(nil), q.s.atts[:]...)
	}
	q.more = append(q.more, a)
}

// attempts returns a fresh copy of the attempts made (one allocation).
func (q *request) attempts() []Attempt {
	if q.n == 0 {
		return nil
	}
	src := q.s.atts[:min(q.n, len(q.s.atts))]
	if q.more != nil {
		src = q.more
	}
	out := make([]Attempt, len(src))
	copy(out, src)
	return out
}

// route returns the Route of the request srv served (or failed to).
func (q *request) route(srv served) Route {
	r := Route{Requested: q.res.Requested, Chain: q.res.Chain, Target: srv.target, Fallback: srv.fallback, Attempts: q.attempts()}
	if srv.g != nil {
		r.Group = srv.g.name
	}
	if srv.d != nil {
		r.Deployment, r.Model = srv.d.ID, srv.upstream
	}
	return r
}

// observeRequest reports a finished (non-streaming) request.
func (q *request) observeRequest(route Route, srv served, err error) {
	if (q.r.obs == nil && q.s.opts.observe == nil) || !q.observed {
		return
	}
	ev := RequestEvent{
		Call: q.op.kind(), Requested: route.Requested, Chain: route.Chain, Group: route.Group,
		Deployment: route.Deployment, Model: route.Model, Route: route,
		Start: q.start, Latency: time.Since(q.start), Err: err,
	}
	if err == nil && srv.d != nil {
		ev.Usage = srv.usage
		ev.Cost = srv.d.cost(ev.Usage)
	}
	if q.r.obs != nil {
		q.r.obs.ObserveRequest(ev)
	}
	if q.s.opts.observe != nil {
		q.s.opts.observe(ev)
	}
}
