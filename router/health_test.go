package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// probeCount counts the probes (cheap or chat) a Fake received.
func probeCount(f *providertest.Fake) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == providertest.MethodProbe {
			n++
		}
	}
	return n
}

// endpointIDs lists a report's endpoints as "id:healthy|unhealthy|skipped".
func endpointIDs(rep HealthReport) []string {
	out := []string{}
	for _, e := range rep.Healthy {
		out = append(out, e.ModelID+":healthy")
	}
	for _, e := range rep.Unhealthy {
		out = append(out, e.ModelID+":unhealthy")
	}
	for _, e := range rep.Skipped {
		out = append(out, e.ModelID+":skipped")
	}
	return out
}

func reasonOf(t *testing.T, r *Router, name, id string) Reason {
	t.Helper()
	e, err := r.Explain(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range e.Deployments {
		if d.ID == id {
			return d.Reason
		}
	}
	t.Fatalf("Explain(%q) has no deployment %q", name, id)
	return 0
}

func snapshotOf(r *Router, id string) DeploymentState {
	for _, s := range r.Snapshot() {
		if s.ID == id {
			return s
		}
	}
	return DeploymentState{}
}

// fakeRouter builds a Router over fresh fakes, one deployment per id, all
// in group "g" unless ids carry "group/id".
func fakeRouter(t *testing.T, reg *alias.Registry, ids ...string) (*Router, map[string]*providertest.Fake) {
	t.Helper()
	fakes := map[string]*providertest.Fake{}
	var deps []Deployment
	for _, id := range ids {
		group := "g"
		if g, i, ok := strings.Cut(id, "/"); ok {
			group, id = g, i
		}
		f := providertest.NewFake()
		fakes[id] = f
		deps = append(deps, Deployment{ID: id, Group: group, Model: "openai/m-" + id, Provider: f})
	}
	return catNew(t, reg, deps...), fakes
}

// TestLiteLLM5524Health is the seed scenario's health half: one round
// probes each physical deployment once (counted on the fake servers), never
// the aliases; after one deployment fails its probes, requests through the
// alias only reach the other.
func TestLiteLLM5524Health(t *testing.T) {
	s := newSeedScenario(t)
	ctx := context.Background()
	hc := s.r.NewHealthChecker(WithHealthThresholds(2, 1))
	t.Cleanup(func() { hc.Close() })
	models := func() [2]int {
		return [2]int{s.srvA.Count(providertest.PathModels), s.srvB.Count(providertest.PathModels)}
	}

	rep, err := hc.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"dep-1:healthy", "dep-2:healthy"}, endpointIDs(rep)); diff != "" {
		t.Errorf("round endpoints (-want +got):\n%s", diff)
	}
	if rep.HealthyCount != 2 || rep.UnhealthyCount != 0 {
		t.Errorf("counts %d healthy, %d unhealthy; want 2, 0", rep.HealthyCount, rep.UnhealthyCount)
	}
	if got := models(); got != [2]int{1, 1} {
		t.Errorf("probes per server after one round %v, want [1 1]", got)
	}
	if total := s.srvA.Total() + s.srvB.Total(); total != 2 {
		t.Errorf("one round made %d upstream requests, want 2", total)
	}
	for i, name := range []string{"alias-1", "hidden-1", "model-group-1"} {
		rep, err := hc.CheckName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"dep-1:healthy", "dep-2:healthy"}, endpointIDs(rep)); diff != "" {
			t.Errorf("CheckName(%q) (-want +got):\n%s", name, diff)
		}
		if got, want := models(), [2]int{2 + i, 2 + i}; got != want {
			t.Errorf("after CheckName(%q): probes per server %v, want %v", name, got, want)
		}
	}

	// dep-1 starts failing; its error message echoes its key.
	s.srvA.SetFault("", providertest.Fault{Status: 503, Message: "overloaded (key " + seedKeyA + ")"})
	rep, _ = hc.Check(ctx)
	if diff := cmp.Diff([]string{"dep-2:healthy", "dep-1:unhealthy"}, endpointIDs(rep)); diff != "" {
		t.Errorf("failing round (-want +got):\n%s", diff)
	}
	u := rep.Unhealthy[0]
	if u.Kind != provider.KindUnavailable || u.ConsecutiveFailures != 1 || u.Out {
		t.Errorf("first failure: kind %v, consecutive %d, out %v; want unavailable, 1, false", u.Kind, u.ConsecutiveFailures, u.Out)
	}
	if got := reasonOf(t, s.r, "alias-1", "dep-1"); got != ReasonCandidate {
		t.Errorf("below the threshold dep-1 is %v, want still a candidate", got)
	}
	rep, _ = hc.Check(ctx)
	if u := rep.Unhealthy[0]; !u.Out || u.ConsecutiveFailures != 2 {
		t.Errorf("second failure: out %v, consecutive %d; want true, 2", u.Out, u.ConsecutiveFailures)
	}
	if got := reasonOf(t, s.r, "alias-1", "dep-1"); got != ReasonUnhealthy {
		t.Errorf("dep-1 is %v, want %v", got, ReasonUnhealthy)
	}
	if st := snapshotOf(s.r, "dep-1"); st.Out != SignalActive || st.Status != StatusUnhealthy || st.ProbeKind != provider.KindUnavailable || st.ProbedAt.IsZero() {
		t.Errorf("snapshot of dep-1: out %v, status %v, probe kind %v, probed at %v; want active, unhealthy, unavailable, set",
			st.Out, st.Status, st.ProbeKind, st.ProbedAt)
	}
	out := mustJSON(t, []any{rep, hc.Last()})
	for _, secret := range []string{seedKeyA, seedKeyB} {
		if strings.Contains(out, secret) {
			t.Errorf("health JSON contains a key:\n%s", out)
		}
	}
	if len(rep.Unhealthy) != 1 || rep.Unhealthy[0].Kind != provider.KindUnavailable {
		t.Errorf("unhealthy endpoints %+v, want dep-1 with kind unavailable", rep.Unhealthy)
	}

	// dep-1 would answer now, but only a probe brings it back.
	s.srvA.ClearFaults()
	s.srvA.ResetCounts()
	s.srvB.ResetCounts()
	for range 10 {
		if _, route, err := s.r.Complete(ctx, chat("alias-1")); err != nil || route.Deployment != "dep-2" {
			t.Fatalf("through alias-1: route %+v, err %v; want dep-2", route, err)
		}
	}
	if a, b := s.srvA.Count(providertest.PathChat), s.srvB.Count(providertest.PathChat); a != 0 || b != 10 {
		t.Errorf("chat requests A %d, B %d; want 0, 10", a, b)
	}
	if l := s.r.Catalog(ctx, nil)[1]; l.Name != "alias-1" || l.Deployments[0].Out != SignalActive || l.Deployments[1].Out != 0 {
		t.Errorf("alias-1 in the catalog %+v, want dep-1 out by probes, dep-2 in", l)
	}
	if _, err := hc.CheckName(ctx, "alias-1"); err != nil {
		t.Fatal(err)
	}
	if got := reasonOf(t, s.r, "alias-1", "dep-1"); got != ReasonCandidate {
		t.Errorf("after passing, dep-1 is %v, want a candidate", got)
	}
}

func TestHealthScheduleAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := catRegistry(t)
		r, fakes := fakeRouter(t, reg, "a", "b")
		catAlias(t, reg, alias.Alias{Name: "x", Target: "g"})
		catAlias(t, reg, alias.Alias{Name: "y", Target: "x", Hidden: true})
		hc := r.NewHealthChecker(WithHealthInterval(time.Minute), WithHealthJitter(0))
		hc.Start()
		hc.Start() // idempotent
		start := time.Now()
		synctest.Wait()
		for _, want := range []int{1, 2, 3} {
			for id, f := range fakes {
				if got := probeCount(f); got != want {
					t.Errorf("at %v: %s probed %d times, want %d", time.Since(start), id, got, want)
				}
			}
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		if err := hc.Close(); err != nil {
			t.Fatal(err)
		}
		hc.Close() // idempotent
		hc.Start() // no-op after Close
		time.Sleep(time.Hour)
		synctest.Wait()
		for id, f := range fakes {
			if got := probeCount(f); got != 4 {
				t.Errorf("%s probed %d times after Close, want 4 (no more)", id, got)
			}
		}
		if _, err := hc.Check(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Check after Close: %v, want ErrClosed", err)
		}
		// synctest fails the test if the schedule goroutine outlived Close.
	})
}

func TestHealthJitter(t *testing.T) {
	run := func(seed uint64) []time.Duration {
		var offsets []time.Duration
		synctest.Test(t, func(t *testing.T) {
			r, fakes := fakeRouter(t, nil, "a")
			hc := r.NewHealthChecker(WithHealthInterval(time.Minute), WithHealthJitter(10*time.Second), WithHealthSeed(seed))
			start := time.Now()
			hc.Start()
			time.Sleep(10 * time.Minute)
			hc.Close()
			for _, c := range fakes["a"].Calls() {
				offsets = append(offsets, c.Time.Sub(start))
			}
		})
		return offsets
	}
	got := run(7)
	if len(got) < 8 {
		t.Fatalf("%d rounds in 10 minutes, want at least 8", len(got))
	}
	if got[0] < 0 || got[0] >= 10*time.Second {
		t.Errorf("first round at %v, want within the jitter [0, 10s)", got[0])
	}
	distinct := map[time.Duration]bool{}
	for i := 1; i < len(got); i++ {
		gap := got[i] - got[i-1]
		distinct[gap] = true
		if gap < time.Minute || gap >= time.Minute+10*time.Second {
			t.Errorf("gap %d is %v, want in [1m, 1m10s)", i, gap)
		}
	}
	if len(distinct) < 2 {
		t.Errorf("gaps %v never vary: no jitter", got)
	}
	if diff := cmp.Diff(got, run(7)); diff != "" {
		t.Errorf("same seed, different schedule (-first +second):\n%s", diff)
	}
}

func TestHealthProbeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, fakes := fakeRouter(t, nil, "slow")
		fakes["slow"].SetFunc(func(providertest.Call) providertest.Reply { return providertest.Reply{Latency: time.Hour} })
		hc := r.NewHealthChecker(WithHealthTimeout(5*time.Second), WithHealthThresholds(1, 1))
		defer hc.Close()
		rep, err := hc.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Unhealthy) != 1 {
			t.Fatalf("report %+v, want one unhealthy endpoint", rep)
		}
		e := rep.Unhealthy[0]
		if e.Kind != provider.KindTimeout || e.Latency != 5*time.Second || !e.Out {
			t.Errorf("kind %v, latency %v, out %v; want timeout, 5s, true", e.Kind, e.Latency, e.Out)
		}
	})
}

// limitProber is a provider whose Probe takes a second and records how
// many probes run at once.
type limitProber struct {
	provider.Provider
	cur, peak *atomic.Int32
}

func (p limitProber) Probe(ctx context.Context) error {
	n := p.cur.Add(1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	defer p.cur.Add(-1)
	select {
	case <-time.After(time.Second):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestHealthConcurrencyLimit(t *testing.T) {
	for _, limit := range []int{1, 2, 6} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cur, peak atomic.Int32
				var deps []Deployment
				for i := range 6 {
					deps = append(deps, Deployment{ID: fmt.Sprint("d", i), Group: "g", Model: "openai/m",
						Provider: limitProber{Provider: providertest.NewFake(), cur: &cur, peak: &peak}})
				}
				r := catNew(t, nil, deps...)
				hc := r.NewHealthChecker(WithHealthConcurrency(limit))
				defer hc.Close()
				start := time.Now()
				rep, err := hc.Check(context.Background())
				if err != nil || rep.HealthyCount != 6 {
					t.Fatalf("report %+v, err %v; want 6 healthy", rep, err)
				}
				if got := int(peak.Load()); got != limit {
					t.Errorf("peak concurrency %d, want %d", got, limit)
				}
				if got, want := time.Since(start), time.Duration((6+limit-1)/limit)*time.Second; got != want {
					t.Errorf("check took %v, want %v", got, want)
				}
			})
		})
	}
}

// TestHealthSharedProbes: concurrent checks share the probe in flight.
func TestHealthSharedProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := catRegistry(t)
		r, fakes := fakeRouter(t, reg, "a", "b")
		catAlias(t, reg, alias.Alias{Name: "x", Target: "g"})
		for _, f := range fakes {
			f.SetFunc(func(providertest.Call) providertest.Reply { return providertest.Reply{Latency: time.Second} })
		}
		hc := r.NewHealthChecker()
		defer hc.Close()
		var wg sync.WaitGroup
		reports := make([]HealthReport, 3)
		for i := range reports {
			wg.Go(func() {
				var err error
				if i == 2 {
					reports[i], err = hc.CheckName(context.Background(), "x")
				} else {
					reports[i], err = hc.Check(context.Background())
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i, rep := range reports {
			if rep.HealthyCount != 2 {
				t.Errorf("report %d: %+v, want 2 healthy", i, rep)
			}
		}
		for id, f := range fakes {
			if got := probeCount(f); got != 1 {
				t.Errorf("%s probed %d times by three concurrent checks, want 1", id, got)
			}
		}
	})
}

func TestHealthThresholds(t *testing.T) {
	// Each step is one probe outcome: "+" pass, "-" a counted failure,
	// "b" a bad request (reported, not counted); want is "out" after it.
	for _, tc := range []struct {
		name          string
		fails, passes int
		steps         string
		want          string // "o" out of rotation, "." in, after each step
	}{
		{"defaults 2/1", 0, 0, "+--+-+--", "..o....o"},
		{"1/1", 1, 1, "-+-+", "o.o."},
		{"3/2", 3, 2, "--+---++-", ".....oo.."},
		{"bad request never counts", 1, 1, "bbb-b+", "...oo."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, fakes := fakeRouter(t, nil, "a")
			f := fakes["a"]
			hc := r.NewHealthChecker(WithHealthThresholds(tc.fails, tc.passes))
			defer hc.Close()
			var got strings.Builder
			for _, step := range tc.steps {
				switch step {
				case '+':
					f.SetProbeError(nil)
				case '-':
					f.SetProbeError(&provider.Error{Kind: provider.KindUnavailable, Status: 503})
				case 'b':
					f.SetProbeError(&provider.Error{Kind: provider.KindBadRequest, Status: 400})
				}
				if _, err := hc.CheckDeployment(context.Background(), "a"); err != nil {
					t.Fatal(err)
				}
				out := r.tab.Load().byID["a"].st.probeDown.Load()
				if out != (reasonOf(t, r, "g", "a") == ReasonUnhealthy) {
					t.Fatalf("probeDown %v disagrees with the candidate reason", out)
				}
				if out {
					got.WriteByte('o')
				} else {
					got.WriteByte('.')
				}
			}
			want := tc.want
			if len(want) < len(tc.steps) {
				want += strings.Repeat(".", len(tc.steps)-len(want))
			}
			if got.String() != want {
				t.Errorf("steps %s: out-of-rotation %s, want %s", tc.steps, got.String(), want)
			}
		})
	}
}

func TestHealthSkip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := catRegistry(t)
		deps := []Deployment{catDep("a", "g", "openai/a"), catDep("b", "g", "openai/b"), catDep("c", "g", "openai/c")}
		deps[2].Info = map[string]any{InfoDisableBackgroundHealthCheck: true}
		r := catNew(t, reg, deps...)
		fake := func(id string) *providertest.Fake { return r.tab.Load().byID[id].Provider.(*providertest.Fake) }
		hc := r.NewHealthChecker(WithHealthSkip(func(d *Deployment) bool { return d.ID == "b" }),
			WithHealthInterval(time.Minute), WithHealthJitter(0))
		defer hc.Close()

		rep, err := hc.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"a:healthy", "c:healthy", "b:skipped"}, endpointIDs(rep)); diff != "" {
			t.Errorf("on demand (-want +got):\n%s", diff)
		}
		hc.Start()
		synctest.Wait()
		if got := []int{probeCount(fake("a")), probeCount(fake("b")), probeCount(fake("c"))}; !cmp.Equal(got, []int{2, 0, 1}) {
			t.Errorf("probes of a, b, c after a scheduled round %v, want [2 0 1]", got)
		}
		if e := rep.Skipped[0]; e.Error != "health check disabled for this deployment" || e.Probe != ProbeNone || e.Kind != 0 {
			t.Errorf("skipped endpoint %+v", e)
		}
	})
}

// TestHealthSkipReleases: a deployment the checker took out goes back in
// rotation when it is opted out of probing by a config update.
func TestHealthSkipReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, fakes := fakeRouter(t, nil, "a", "b")
		fakes["a"].SetProbeError(errors.New("down"))
		hc := r.NewHealthChecker(WithHealthThresholds(1, 1), WithHealthInterval(time.Minute), WithHealthJitter(0))
		defer hc.Close()
		hc.Start()
		synctest.Wait()
		if got := reasonOf(t, r, "g", "a"); got != ReasonUnhealthy {
			t.Fatalf("a is %v, want unhealthy", got)
		}
		cfg := configOf(r)
		cfg[0].Info = map[string]any{InfoDisableBackgroundHealthCheck: true}
		if err := r.Update(Config{Deployments: cfg}); err != nil {
			t.Fatal(err)
		}
		if got := reasonOf(t, r, "g", "a"); got != ReasonUnhealthy {
			t.Fatalf("after the reload a is %v, want still unhealthy (state kept by ID)", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := reasonOf(t, r, "g", "a"); got != ReasonCandidate {
			t.Errorf("opted out, a is %v, want a candidate", got)
		}
	})
}

func TestHealthCloseReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, fakes := fakeRouter(t, nil, "a", "b")
		fakes["a"].SetProbeError(errors.New("down"))
		hc := r.NewHealthChecker(WithHealthThresholds(1, 1))
		if _, err := hc.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := reasonOf(t, r, "g", "a"); got != ReasonUnhealthy {
			t.Fatalf("a is %v, want unhealthy", got)
		}
		hc.Close()
		if got := reasonOf(t, r, "g", "a"); got != ReasonCandidate {
			t.Errorf("after Close a is %v, want a candidate: nothing would probe it again", got)
		}
	})
}

// TestHealthCancellation: a caller giving up gets a canceled result at once
// while the shared probe finishes and counts; Close cuts probes short and
// they count for nothing.
func TestHealthCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, fakes := fakeRouter(t, nil, "a")
		fakes["a"].SetFunc(func(providertest.Call) providertest.Reply {
			return providertest.Reply{Latency: 5 * time.Second, Kind: provider.KindUnavailable}
		})
		hc := r.NewHealthChecker(WithHealthThresholds(1, 1))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		rep, err := hc.Check(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("err %v after %v, want the deadline after 1s", err, time.Since(start))
		}
		if len(rep.Unhealthy) != 1 || rep.Unhealthy[0].Kind != provider.KindCanceled || rep.Unhealthy[0].Out {
			t.Errorf("report %+v, want one canceled endpoint, not out", rep)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := reasonOf(t, r, "g", "a"); got != ReasonUnhealthy {
			t.Errorf("after the shared probe failed a is %v, want unhealthy", got)
		}
		hc.Close()

		// A probe cut short by Close counts for nothing.
		hc = r.NewHealthChecker(WithHealthThresholds(1, 1))
		done := make(chan HealthReport)
		go func() {
			rep, _ := hc.Check(context.Background())
			done <- rep
		}()
		time.Sleep(time.Second)
		hc.Close()
		rep = <-done
		if len(rep.Unhealthy) != 1 || rep.Unhealthy[0].Kind != provider.KindCanceled {
			t.Errorf("report cut by Close %+v, want one canceled endpoint", rep)
		}
		if st := snapshotOf(r, "a"); st.Out != 0 {
			t.Errorf("a out by %v after a probe cut by Close", st.Out)
		}
	})
}

func TestHealthCheckErrors(t *testing.T) {
	reg := catRegistry(t)
	r, _ := fakeRouter(t, reg, "a")
	catAlias(t, reg, alias.Alias{Name: "off", Target: "g"})
	catUpdate(t, reg, "off", alias.Update{Disabled: ptrTo(true)})
	hc := r.NewHealthChecker()
	defer hc.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		do   func() (HealthReport, error)
		want error
	}{
		{"unknown name", func() (HealthReport, error) { return hc.CheckName(ctx, "nope") }, alias.ErrNotFound},
		{"disabled alias", func() (HealthReport, error) { return hc.CheckName(ctx, "off") }, alias.ErrDisabled},
		{"unknown deployment", func() (HealthReport, error) { return hc.CheckDeployment(ctx, "zz") }, ErrUnknownDeployment},
	} {
		rep, err := tc.do()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if rep.Healthy == nil || rep.Unhealthy == nil || len(rep.Healthy)+len(rep.Unhealthy)+len(rep.Skipped) != 0 || rep.HealthyCount+rep.UnhealthyCount != 0 {
			t.Errorf("%s: report %+v, want empty lists", tc.name, rep)
		}
	}
}

// recorder is a provider without a cheap probe that records the requests
// it gets.
type recorder struct {
	mu    sync.Mutex
	chats []openai.ChatCompletionRequest
	embs  []openai.EmbeddingRequest
}

func (p *recorder) ChatCompletion(_ context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.chats = append(p.chats, req)
	return openai.ChatCompletionResponse{}, nil
}

func (p *recorder) ChatCompletionStream(context.Context, openai.ChatCompletionRequest) (provider.Stream, error) {
	return nil, errors.New("not used")
}

func (p *recorder) Embeddings(_ context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.embs = append(p.embs, req)
	return openai.EmbeddingResponse{}, nil
}

func TestHealthProbeMethods(t *testing.T) {
	chatP, embP, wildP, listP := &recorder{}, &recorder{}, &recorder{}, providertest.NewFake()
	deps := []Deployment{
		{ID: "chat", Group: "g", Model: "openai/gpt-4o", Provider: chatP},
		{ID: "emb", Group: "e", Model: "openai/text-embedding-3-small", Mode: "embedding", Provider: embP},
		{ID: "wild", Group: "openai/*", Model: "openai/*", Provider: wildP},
		{ID: "list", Group: "l", Model: "openai/x", Provider: listP},
	}
	t.Run("default", func(t *testing.T) {
		r := catNew(t, nil, deps...)
		hc := r.NewHealthChecker()
		defer hc.Close()
		rep, _ := hc.Check(context.Background())
		got := map[string]string{}
		for _, e := range append(append(rep.Healthy, rep.Unhealthy...), rep.Skipped...) {
			got[e.ModelID] = e.Probe.String()
		}
		// Without a cheap probe, the default falls back to a chat call.
		want := map[string]string{"chat": "chat", "emb": "embedding", "wild": "none", "list": "list_models"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("probe methods (-want +got):\n%s", diff)
		}
	})
	t.Run("chat probe", func(t *testing.T) {
		chatP.chats, embP.embs, wildP.chats = nil, nil, nil
		listP.Reset()
		r := catNew(t, nil, deps...)
		hc := r.NewHealthChecker(WithChatProbe("hello", 3))
		defer hc.Close()
		if _, err := hc.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := hc.CheckName(context.Background(), "openai/gpt-4o-mini"); err != nil {
			t.Fatal(err)
		}
		wantChat := []openai.ChatCompletionRequest{{
			Model: "gpt-4o", MaxTokens: 3,
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hello"}},
		}}
		if diff := cmp.Diff(wantChat, chatP.chats); diff != "" {
			t.Errorf("chat probe (-want +got):\n%s", diff)
		}
		wantEmb := []openai.EmbeddingRequest{{Model: "text-embedding-3-small", Input: []string{"hello"}}}
		if diff := cmp.Diff(wantEmb, embP.embs); diff != "" {
			t.Errorf("embedding probe (-want +got):\n%s", diff)
		}
		// The wildcard deployment is skipped by Check and called with the
		// name CheckName asked for.
		wantChat[0].Model = "gpt-4o-mini"
		if diff := cmp.Diff(wantChat, wildP.chats); diff != "" {
			t.Errorf("wildcard probe (-want +got):\n%s", diff)
		}
		// A chat probe replaces the cheap one even where there is one.
		if got := listP.Calls(); len(got) != 1 || got[0].Method != providertest.MethodChat {
			t.Errorf("calls of the provider with a cheap probe %+v, want one chat", got)
		}
	})
}

func TestHealthLast(t *testing.T) {
	r, fakes := fakeRouter(t, nil, "a", "b", "c")
	fakes["b"].SetProbeError(errors.New("down"))
	hc := r.NewHealthChecker()
	defer hc.Close()
	if got := hc.Last(); got.HealthyCount+got.UnhealthyCount != 0 {
		t.Errorf("Last before any check %+v, want empty", got)
	}
	if _, err := hc.CheckDeployment(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := hc.CheckDeployment(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a:healthy", "b:unhealthy"}, endpointIDs(hc.Last())); diff != "" {
		t.Errorf("Last (-want +got):\n%s", diff)
	}
}

// CheckDeployments probes exactly the deployments named, in config order,
// and nothing for unknown IDs or an empty list.
func TestHealthCheckDeployments(t *testing.T) {
	r, fakes := fakeRouter(t, nil, "a", "b", "c")
	hc := r.NewHealthChecker()
	defer hc.Close()
	for _, tt := range []struct {
		ids  []string
		want []string
	}{
		{[]string{"c", "a", "zz"}, []string{"a:healthy", "c:healthy"}},
		{nil, nil},
		{[]string{"zz"}, nil},
	} {
		before := map[string]int{}
		for id, f := range fakes {
			before[id] = f.CallCount()
		}
		rep, err := hc.CheckDeployments(context.Background(), tt.ids)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, endpointIDs(rep), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("CheckDeployments(%q) (-want +got):\n%s", tt.ids, diff)
		}
		probed := 0
		for id, f := range fakes {
			probed += f.CallCount() - before[id]
		}
		if probed != len(tt.want) {
			t.Errorf("CheckDeployments(%q) made %d probes, want %d", tt.ids, probed, len(tt.want))
		}
	}
}
