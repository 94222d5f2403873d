package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router"
)

// scaleConfig sizes the scale measurement.
type scaleConfig struct {
	Aliases     int
	Deployments int
	Bench       bool // also run the Resolve, Authorize and Complete micro-benchmarks at that size
	Progress    io.Writer
}

// bigGroup is the one large group of the scale Router; the others have
// groupSize deployments each.
const (
	bigGroup  = "group-big"
	groupSize = 10
)

// scaleReport is what the scale measurement found.
type scaleReport struct {
	cfg                            scaleConfig
	groups                         int
	bigSize                        int
	registryNew, routerNew         time.Duration
	bytesPerAlias, bytesPerDep     float64
	routerUpdate, aliasWrite       time.Duration // medians
	routerUpdateMax, aliasWriteMax time.Duration
	checkerNew                     time.Duration
	keys                           int
	benches                        []scaleBench
}

type scaleBench struct {
	name    string
	nsPerOp float64
	allocs  int64
	bar     string // the package benchmark's bar, for comparison; "" for none
	pass    bool
}

// nopProvider answers every chat completion at once with a canned answer:
// the upstream costs nothing, so a Complete through it is the Router's own
// work (resolve, pick, bookkeeping).
type nopProvider struct{}

var nopAnswer = openai.ChatCompletionResponse{
	ID: "nop", Object: "chat.completion", Model: "m",
	Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "ok"}, FinishReason: "stop"}},
	Usage:   openai.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15},
}

func (nopProvider) ChatCompletion(context.Context, openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	return nopAnswer, nil
}

func (nopProvider) ChatCompletionStream(context.Context, openai.ChatCompletionRequest) (provider.Stream, error) {
	return nil, errors.New("loadtest: nopProvider does not stream")
}

func (nopProvider) Embeddings(context.Context, openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	return openai.EmbeddingResponse{}, nil
}

// onceStore hands its aliases to the Registry once and keeps nothing, so
// that the heap measured after New is the Registry's own. Saves are
// discarded: the measurement is of the Registry, not of a store.
type onceStore struct{ all []alias.Alias }

func (s *onceStore) Load(context.Context) ([]alias.Alias, error) {
	all := s.all
	s.all = nil
	return all, nil
}

func (s *onceStore) Save(context.Context, []alias.Alias) error { return nil }

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// scaleConfigFor returns the deployments: one group of a tenth of them
// (bigGroup) and groups of groupSize for the rest, all on one provider.
func scaleDeployments(n int) (deps []router.Deployment, groups int, big int) {
	big = max(n/10, 1)
	p := nopProvider{}
	for i := range n {
		g := bigGroup
		if i >= big {
			g = fmt.Sprintf("group-%d", (i-big)/groupSize)
		}
		deps = append(deps, router.Deployment{
			ID: fmt.Sprintf("dep-%d", i), Group: g, Model: fmt.Sprintf("openai/model-%d", i%50),
			Provider: p, APIBase: "http://127.0.0.1:9/v1", Weight: float64(1 + i%5),
		})
	}
	groups = 1 + (n-big+groupSize-1)/groupSize
	return deps, groups, big
}

// scaleAliases returns n aliases: nine in ten point at a group, one in ten
// at another alias (a chain of depth 2).
func scaleAliases(n, groups int) []alias.Alias {
	now := time.Now()
	all := make([]alias.Alias, n)
	for i := range all {
		a := alias.Alias{Name: fmt.Sprintf("alias-%06d", i), Created: now, Updated: now, Revision: uint64(i + 1)}
		switch {
		case i%10 == 9:
			a.Target = fmt.Sprintf("alias-%06d", i-1)
		case i%100 == 0:
			a.Target = bigGroup
		default:
			a.Target = fmt.Sprintf("group-%d", i%max(groups-1, 1))
		}
		all[i] = a
	}
	return all
}

func (cfg *scaleConfig) progress(format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

// runScale builds one Router with cfg.Aliases aliases and cfg.Deployments
// deployments and measures construction, memory, hot reload and, with
// cfg.Bench, the hot paths at that size.
func runScale(ctx context.Context, cfg scaleConfig) (*scaleReport, error) {
	rep := &scaleReport{cfg: cfg}
	deps, groups, big := scaleDeployments(cfg.Deployments)
	rep.groups, rep.bigSize = groups, big
	all := scaleAliases(cfg.Aliases, groups)
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.Name
	}
	rcfg := router.Config{Deployments: deps}

	cfg.progress("scale: registry of %d aliases", cfg.Aliases)
	h0 := heap()
	t0 := time.Now()
	reg, err := alias.New(ctx, alias.WithStore(&onceStore{all: all}))
	rep.registryNew = time.Since(t0)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	all = nil
	h1 := heap()
	rep.bytesPerAlias = float64(int64(h1)-int64(h0)) / float64(cfg.Aliases)

	cfg.progress("scale: router of %d deployments in %d groups", cfg.Deployments, groups)
	t0 = time.Now()
	rt, err := router.New(reg, rcfg, router.WithSeed(1))
	rep.routerNew = time.Since(t0)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	h2 := heap()
	rep.bytesPerDep = float64(int64(h2)-int64(h1)) / float64(cfg.Deployments)

	// Hot reload: the same deployments with one weight changed, alternately.
	cfg.progress("scale: updates")
	var ups, writes []time.Duration
	for i := range 9 {
		next := router.Config{Deployments: slices.Clone(rcfg.Deployments)}
		next.Deployments[0].Weight = float64(2 + i%2)
		t := time.Now()
		if err := rt.Update(next); err != nil {
			return nil, err
		}
		ups = append(ups, time.Since(t))
	}
	for i := range 9 {
		target := fmt.Sprintf("group-%d", i)
		t := time.Now()
		if _, err := reg.Update(ctx, names[len(names)/2], alias.Update{Target: &target}); err != nil {
			return nil, err
		}
		writes = append(writes, time.Since(t))
	}
	rep.routerUpdate, rep.routerUpdateMax = median(ups), slices.Max(ups)
	rep.aliasWrite, rep.aliasWriteMax = median(writes), slices.Max(writes)

	if !cfg.Bench {
		return rep, nil
	}

	cfg.progress("scale: access checker")
	ac, keyID, err := scaleChecker(ctx, names, &rep.keys)
	if err != nil {
		return nil, err
	}
	defer ac.Close()

	cfg.progress("scale: micro-benchmarks")
	rng := rand.New(rand.NewPCG(1, 2))
	var heads1, heads2 []string // resolve depth 1 and 2
	for i, n := range names {
		if i%10 == 9 {
			heads2 = append(heads2, string([]byte(n)))
		} else {
			heads1 = append(heads1, string([]byte(n)))
		}
	}
	rng.Shuffle(len(heads1), func(i, j int) { heads1[i], heads1[j] = heads1[j], heads1[i] })
	rng.Shuffle(len(heads2), func(i, j int) { heads2[i], heads2[j] = heads2[j], heads2[i] })
	resolve := func(depth int) func(string) bool {
		return func(n string) bool {
			res, err := reg.Resolve(n)
			return err == nil && len(res.Chain) == depth
		}
	}
	// As in alias's BenchmarkResolve: real traffic asks for a few names far
	// more often than the rest, so the hot set is 1000 names; the sweep asks
	// for every alias in turn (nearly every lookup misses the CPU caches).
	// The bare map is the floor, with the same keys.
	hot := func(names []string) []string {
		out := make([]string, 0, 1000)
		for i := range min(1000, len(names)) {
			out = append(out, names[i*len(names)/min(1000, len(names))])
		}
		return out
	}
	floor := make(map[string]int, len(names))
	for i, n := range names {
		floor[n] = i
	}
	var fp atomic.Pointer[map[string]int]
	fp.Store(&floor)
	inMap := func(n string) bool { _, ok := (*fp.Load())[n]; return ok }
	rep.add("bare map lookup behind an atomic.Pointer (floor), 1000 hot names", parallel(hot(heads1), inMap), 0, 0)
	rep.add("alias Resolve, depth 1, 1000 hot names", parallel(hot(heads1), resolve(1)), 40, 0)
	rep.add("alias Resolve, depth 2, 1000 hot names", parallel(hot(heads2), resolve(2)), 0, 0)
	rep.add(fmt.Sprintf("bare map lookup (floor), sweep of %d names", len(heads1)), parallel(heads1, inMap), 0, 0)
	rep.add(fmt.Sprintf("alias Resolve, depth 1, sweep of %d names", len(heads1)), parallel(heads1, resolve(1)), 0, 0)

	granted := []string{"alias-000001", "alias-000010"} // an exact grant and an access-group member
	rep.add("access Authorize, exact grant", parallel(granted[:1], func(n string) bool { return ac.Authorize(keyID, n) == nil }), 100, 0)
	rep.add("access Authorize, access-group grant", parallel(granted[1:], func(n string) bool { return ac.Authorize(keyID, n) == nil }), 100, 0)
	rep.add("access Authorize, wildcard grant", parallel([]string{"openai/gpt-4o"}, func(n string) bool { return ac.Authorize(keyID, n) == nil }), 100, 0)

	var small, large []string // aliases of a 10-deployment group, of the big group
	for i, n := range names {
		if i%100 == 0 {
			large = append(large, n)
		} else if i%10 != 9 && len(small) < 4096 {
			small = append(small, n)
		}
	}
	complete := func(name string) bool {
		_, _, err := rt.Complete(ctx, openai.ChatCompletionRequest{Model: name, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
		return err == nil
	}
	direct := func(string) bool {
		_, err := nopProvider{}.ChatCompletion(ctx, openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
		return err == nil
	}
	base := parallel(small[:1], direct)
	rep.add("provider called directly (floor for the next two)", base, 0, 0)
	floorNs := float64(base.T.Nanoseconds()) / float64(max(base.N, 1))
	// router's BenchmarkComplete bar: the Router adds at most 1.5 µs and 4
	// allocations over the provider called directly.
	rep.add(fmt.Sprintf("Router Complete via alias (resolve, pick, call, bookkeeping), group of %d", groupSize), parallel(hot(small), complete), floorNs+1500, 4)
	rep.add(fmt.Sprintf("Router Complete via alias, group of %d", big), parallel(hot(large), complete), floorNs+1500, 4)
	return rep, nil
}

// scaleChecker builds an access Checker over the scale names: 100 access
// groups splitting the aliases, 10000 keys, and the measured key with 50
// grants (47 exact names, 2 access groups, one wildcard), as in access's
// BenchmarkAuthorize.
func scaleChecker(ctx context.Context, names []string, keys *int) (*access.Checker, string, error) {
	var st access.State
	per := max(len(names)/100, 1)
	for g := 0; g*per < len(names); g++ {
		members := slices.Clone(names[g*per : min((g+1)*per, len(names))])
		st.AccessGroups = append(st.AccessGroups, access.AccessGroup{Name: fmt.Sprintf("ag-%03d", g), Members: members})
	}
	grants := []string{st.AccessGroups[0].Name, st.AccessGroups[len(st.AccessGroups)-1].Name, "openai/*"}
	for i := range 47 {
		grants = append(grants, names[(1+i*97)%len(names)])
	}
	const keyID = "measured-key"
	st.Keys = append(st.Keys, access.Key{ID: keyID, Models: grants})
	for i := range 9999 {
		st.Keys = append(st.Keys, access.Key{ID: fmt.Sprintf("key-%05d", i),
			Models: []string{names[i%len(names)], st.AccessGroups[i%len(st.AccessGroups)].Name}})
	}
	*keys = len(st.Keys)
	store := access.NewMemoryStore()
	if err := store.Save(ctx, st); err != nil {
		return nil, "", err
	}
	c, err := access.New(ctx, access.WithStore(store))
	return c, keyID, err
}

// parallel benchmarks fn over keys in turn with RunParallel, as the package
// benchmarks do; fn reporting false fails the measurement.
func parallel(keys []string, fn func(string) bool) testing.BenchmarkResult {
	runtime.GC() // the setup's garbage is not collected while timing
	var failed atomic.Bool
	r := testing.Benchmark(func(b *testing.B) {
		var start atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(start.Add(7919)) % len(keys)
			for pb.Next() {
				if !fn(keys[i]) {
					failed.Store(true)
				}
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
	})
	if failed.Load() {
		r.N = 0 // reported as failed
	}
	return r
}

func (rep *scaleReport) add(name string, r testing.BenchmarkResult, barNs float64, barAllocs int64) {
	sb := scaleBench{name: name}
	if r.N > 0 {
		sb.nsPerOp = float64(r.T.Nanoseconds()) / float64(r.N)
		sb.allocs = r.AllocsPerOp()
	} else {
		sb.nsPerOp = -1
	}
	if barNs > 0 {
		sb.bar = fmt.Sprintf("<= %.0f ns, %d allocs", barNs, barAllocs)
		sb.pass = sb.nsPerOp >= 0 && sb.nsPerOp <= barNs && sb.allocs <= barAllocs
	}
	rep.benches = append(rep.benches, sb)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func (rep *scaleReport) write(w io.Writer) {
	c := rep.cfg
	fmt.Fprintf(w, "Scale: %d aliases (one in ten a chain of depth 2) and %d deployments (%d groups: one of %d, the rest of %d) in one Router\n\n",
		c.Aliases, c.Deployments, rep.groups, rep.bigSize, groupSize)
	fmt.Fprintln(w, "| what | figure |")
	fmt.Fprintln(w, "|---|--:|")
	fmt.Fprintf(w, "| alias.New, loading %d aliases | %v |\n", c.Aliases, rep.registryNew.Round(time.Millisecond))
	fmt.Fprintf(w, "| router.New, %d deployments (checks every alias) | %v |\n", c.Deployments, rep.routerNew.Round(time.Millisecond))
	fmt.Fprintf(w, "| heap per alias (Registry) | %.0f B |\n", rep.bytesPerAlias)
	fmt.Fprintf(w, "| heap per deployment (Router) | %.0f B |\n", rep.bytesPerDep)
	fmt.Fprintf(w, "| Router.Update (hot reload, same %d deployments, one weight changed), median / max of 9 | %v / %v |\n",
		c.Deployments, rep.routerUpdate.Round(time.Microsecond), rep.routerUpdateMax.Round(time.Microsecond))
	fmt.Fprintf(w, "| Registry.Update (re-point one alias of %d), median / max of 9 | %v / %v |\n",
		c.Aliases, rep.aliasWrite.Round(time.Microsecond), rep.aliasWriteMax.Round(time.Microsecond))
	if len(rep.benches) > 0 {
		fmt.Fprintf(w, "\nHot paths at that size (testing.Benchmark, RunParallel, GOMAXPROCS %d; access Checker with %d keys and 100 access groups over the aliases):\n\n", runtime.GOMAXPROCS(0), rep.keys)
		fmt.Fprintln(w, "| benchmark | ns/op | allocs/op | bar | |")
		fmt.Fprintln(w, "|---|--:|--:|---|---|")
		for _, b := range rep.benches {
			verdict := ""
			if b.bar != "" {
				verdict = "FAIL"
				if b.pass {
					verdict = "PASS"
				}
			}
			ns := fmt.Sprintf("%.1f", b.nsPerOp)
			if b.nsPerOp < 0 {
				ns = "failed"
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s |\n", b.name, ns, b.allocs, b.bar, verdict)
		}
	}
}

// ok reports whether every benchmark with a bar passed.
func (rep *scaleReport) ok() bool {
	for _, b := range rep.benches {
		if b.bar != "" && !b.pass {
			return false
		}
	}
	return true
}
