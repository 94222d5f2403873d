package router

import (
	"context"
	"log/slog"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router/internal/secret"
)

// probeShared probes t, joining a probe of the same deployment already in
// flight. The probe runs on the checker's context with its own timeout, so
// a caller giving up does not cut it short for the others; the caller gets
// a canceled result at once.
func (h *HealthChecker) probeShared(ctx context.Context, t target, method ProbeMethod) HealthEndpoint {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return canceled(t, method, ErrClosed)
	}
	ch := h.flights.DoChan(t.d.ID+"\x00"+t.match, func() (any, error) { return h.fly(t, method), nil })
	select {
	case r := <-ch:
		return r.Val.(HealthEndpoint)
	case <-ctx.Done():
		return canceled(t, method, ctx.Err())
	}
}

// fly runs one shared probe and records its result. Close waits for it.
func (h *HealthChecker) fly(t target, method ProbeMethod) HealthEndpoint {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return canceled(t, method, ErrClosed)
	}
	h.probes.Add(1)
	h.mu.Unlock()
	defer h.probes.Done()
	res, conclusive := h.probe(t, method)
	if !conclusive {
		return res
	}
	h.mu.Lock()
	moved := h.recordLocked(t.d, &res)
	h.mu.Unlock()
	if moved != "" {
		h.r.log.LogAttrs(h.ctx, slog.LevelInfo, "router: deployment "+moved+" by health check",
			slog.String("deployment", t.d.ID), slog.String("kind", res.Kind.String()))
	}
	return res
}

// probe calls t's deployment once. conclusive is false when the checker's
// own context (Close) cut it short.
func (h *HealthChecker) probe(t target, method ProbeMethod) (e HealthEndpoint, conclusive bool) {
	d := t.d
	e = d.endpoint(t.match)
	e.Probe = method
	ctx, cancel := context.WithTimeout(h.ctx, h.o.timeout)
	defer cancel()
	start := time.Now()
	var err error
	switch method {
	case ProbeListModels:
		err = d.Provider.(provider.Prober).Probe(ctx)
	case ProbeChat:
		_, err = d.Provider.ChatCompletion(ctx, openai.ChatCompletionRequest{
			Model:     d.upstreamFor(t.match),
			Messages:  []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: h.o.prompt}},
			MaxTokens: h.o.maxTokens,
		})
	case ProbeEmbedding:
		_, err = d.Provider.Embeddings(ctx, openai.EmbeddingRequest{
			Model: openai.EmbeddingModel(d.upstreamFor(t.match)),
			Input: []string{h.o.prompt},
		})
	}
	end := time.Now()
	e.Latency, e.CheckedAt = end.Sub(start), end
	if err == nil {
		e.Healthy = true
		return e, true
	}
	// Like a request's attempt: Close is the caller's cancellation, the
	// probe's own timeout a timeout of the deployment.
	e.Kind, _, err = classifyAttempt(h.ctx, err)
	e.Error = secret.Redact(err.Error())
	return e, e.Kind != provider.KindCanceled
}

// recordLocked counts a conclusive probe result of d against the
// thresholds and applies the verdict to d's state; it fills the result's
// counters and reports "out" or "back" when the verdict changed. h.mu must
// be held.
func (h *HealthChecker) recordLocked(d *dep, e *HealthEndpoint) (moved string) {
	rec := h.records[d.ID]
	if rec == nil {
		rec = new(probeRecord)
		h.records[d.ID] = rec
	}
	switch {
	case e.Healthy:
		rec.passes++
		rec.fails = 0
		if rec.down && rec.passes >= h.o.passes {
			rec.down, rec.kind, moved = false, 0, "back in rotation"
		}
	case counts(e.Kind):
		rec.fails++
		rec.passes = 0
		rec.kind = e.Kind
		if !rec.down && rec.fails >= h.o.fails {
			rec.down, moved = true, "out of rotation"
		}
	}
	e.ConsecutiveFailures, e.Out = rec.fails, rec.down
	rec.last, rec.seen = *e, true
	if !h.r.setProbeHealth(d.ID, !rec.down, rec.kind, e.CheckedAt) {
		delete(h.records, d.ID) // removed by a config update meanwhile
		return ""
	}
	return moved
}

// release puts d back in rotation if this checker took it out: it is no
// longer probed.
func (h *HealthChecker) release(d *dep) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rec := h.records[d.ID]; rec != nil && rec.down {
		d.st.probeDown.Store(false)
		d.st.probeKind.Store(0)
		delete(h.records, d.ID)
	}
}

// prune forgets deployments the current config no longer has.
func (h *HealthChecker) prune() {
	tab := h.r.tab.Load()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range h.records {
		if tab.byID[id] == nil {
			delete(h.records, id)
		}
	}
}
