package redisstate_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/redisstate"
	"github.com/modelroute/modelroute/router/redisstate/redistest"
)

func hello(model string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{Model: model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi"}}}
}

// syncLog is a log buffer safe for concurrent writes.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newClient(t *testing.T, srv *redistest.Server, log *syncLog) *redisstate.Client {
	t.Helper()
	var opts []redisstate.Option
	if log != nil {
		opts = append(opts, redisstate.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	}
	c, err := redisstate.NewURL(srv.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// replica is one process's Router over the same deployments as its peers;
// fakes are shared, as the upstreams are.
func replica(t *testing.T, srv *redistest.Server, deps []router.Deployment, log *syncLog) *router.Router {
	t.Helper()
	c := newClient(t, srv, log)
	var ropts []router.Option
	ropts = append(ropts, router.WithSharedState(c.Routing()))
	if log != nil {
		ropts = append(ropts, router.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	}
	r, err := router.New(nil, router.Config{Deployments: deps, AllowedFails: -1, CooldownTime: time.Minute}, ropts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func status(r *router.Router, id string) router.Status {
	for _, s := range r.Snapshot() {
		if s.ID == id {
			return s.Status
		}
	}
	return -1
}

// A deployment cooled down on replica A is skipped by replica B.
func TestCooldownSharedAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	bad, good := providertest.NewFake(), providertest.NewFake()
	deps := []router.Deployment{
		{ID: "bad", Group: "g", Model: "openai/m", Provider: bad, Order: 1},
		{ID: "good", Group: "g", Model: "openai/m", Provider: good, Order: 2},
	}
	a, b := replica(t, srv, deps, nil), replica(t, srv, deps, nil)
	bad.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
	if _, route, err := a.Complete(context.Background(), hello("g")); err != nil || route.Deployment != "good" {
		t.Fatalf("A: route %+v, err %v", route, err)
	}
	if st := status(a, "bad"); st != router.StatusCooldown {
		t.Fatalf("A: bad is %v, want cooldown", st)
	}
	eventually(t, time.Second, "B sees bad cooling down", func() bool { return status(b, "bad") == router.StatusCooldown })
	before := bad.CallCount()
	for range 5 {
		if _, route, err := b.Complete(context.Background(), hello("g")); err != nil || route.Deployment != "good" || len(route.Attempts) != 1 {
			t.Fatalf("B: route %+v, err %v", route, err)
		}
	}
	if n := bad.CallCount() - before; n != 0 {
		t.Errorf("B called the cooled deployment %d times", n)
	}
	// A replica started later learns the cooldowns in force.
	c := replica(t, srv, deps, nil)
	if st := status(c, "bad"); st != router.StatusCooldown {
		t.Errorf("a new replica sees bad as %v, want cooldown", st)
	}
}

// sameMinute runs f, again if the Unix minute turned while it ran (the
// limits count per minute): it reports how often it had to.
func sameMinute(t *testing.T, f func() bool) {
	t.Helper()
	for range 3 {
		start := time.Now().Unix() / 60
		ok := f()
		if time.Now().Unix()/60 == start {
			if !ok {
				t.FailNow()
			}
			return
		}
	}
	t.Fatal("the minute turned during three runs")
}

// A limit of N rpm admits N requests across all replicas, not N each.
func TestRPMAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	sameMinute(t, func() bool {
		limited, spare := providertest.NewFake(), providertest.NewFake()
		const rpm = 5
		deps := []router.Deployment{
			{ID: "limited", Group: "g", Model: "openai/m", Provider: limited, Order: 1, RPM: rpm},
			{ID: "spare", Group: "g", Model: "openai/m", Provider: spare, Order: 2},
		}
		// A fresh key space per run: the prefix is the deployment ID's.
		for i := range deps {
			deps[i].ID += time.Now().Format("150405.000000")
		}
		reps := []*router.Router{replica(t, srv, deps, nil), replica(t, srv, deps, nil), replica(t, srv, deps, nil)}
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := reps[i%3].Complete(context.Background(), hello("g")); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := limited.CallCount(); n != rpm {
			t.Errorf("the limited deployment served %d requests across 3 replicas, want %d", n, rpm)
			return false
		}
		if n := spare.CallCount(); n != 30-rpm {
			t.Errorf("the spare deployment served %d, want %d", n, 30-rpm)
			return false
		}
		return true
	})
}

// A tpm limit counts the tokens every replica's answers used.
func TestTPMAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	sameMinute(t, func() bool {
		limited, spare := providertest.NewFake(), providertest.NewFake()
		// Each answer uses 15 tokens (the fake's default usage); the
		// prompt is estimated at a few tokens.
		deps := []router.Deployment{
			{ID: "tlimited", Group: "g", Model: "openai/m", Provider: limited, Order: 1, TPM: 40},
			{ID: "tspare", Group: "g", Model: "openai/m", Provider: spare, Order: 2},
		}
		for i := range deps {
			deps[i].ID += time.Now().Format("150405.000000")
		}
		a, b := replica(t, srv, deps, nil), replica(t, srv, deps, nil)
		for i := range 6 {
			r := a
			if i%2 == 1 {
				r = b
			}
			if _, _, err := r.Complete(context.Background(), hello("g")); err != nil {
				t.Fatal(err)
			}
			// Token counts are sent in the background: let them land.
			time.Sleep(20 * time.Millisecond)
		}
		// 15 tokens each: the third answer brings the count to 45 > 40,
		// after which nothing more fits.
		if n := limited.CallCount(); n != 3 {
			t.Errorf("the tpm-limited deployment served %d requests, want 3", n)
			return false
		}
		return true
	})
}

// When Redis goes away, requests are still served from each replica's own
// state, with a warning; when it is back, sharing resumes.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t, redistest.Durable())
	var log syncLog
	limited, spare := providertest.NewFake(), providertest.NewFake()
	deps := []router.Deployment{
		{ID: "olimited", Group: "g", Model: "openai/m", Provider: limited, Order: 1, RPM: 1000},
		{ID: "ospare", Group: "g", Model: "openai/m", Provider: spare, Order: 2},
	}
	a, b := replica(t, srv, deps, &log), replica(t, srv, deps, nil)
	ctx := context.Background()
	for _, r := range []*router.Router{a, b} {
		if _, _, err := r.Complete(ctx, hello("g")); err != nil {
			t.Fatal(err)
		}
	}
	srv.Kill()
	for i := range 20 {
		start := time.Now()
		r := a
		if i%2 == 1 {
			r = b
		}
		if _, route, err := r.Complete(ctx, hello("g")); err != nil || route.Deployment != "olimited" {
			t.Fatalf("during the outage: route %+v, err %v", route, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a request during the outage took %v", d)
		}
	}
	if !strings.Contains(log.String(), "shared state unavailable") {
		t.Errorf("no warning about the outage in the log:\n%s", log.String())
	}
	srv.Restart()
	eventually(t, 5*time.Second, "requests share state again", func() bool {
		a.Complete(ctx, hello("g"))
		return strings.Contains(log.String(), "shared state available again")
	})
	// A cooldown on A reaches B again.
	limited.SetDefault(providertest.Reply{Kind: provider.KindUnavailable})
	eventually(t, 5*time.Second, "B sees A's cooldown after the outage", func() bool {
		a.Complete(ctx, hello("g"))
		return status(b, "olimited") == router.StatusCooldown
	})
}

// An alias created on one replica serves on another within a second.
func TestAliasesFollowed(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	newReg := func() *alias.Registry {
		c := newClient(t, srv, nil)
		s := c.AliasStore()
		reg, err := alias.New(ctx, alias.WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reg.Close() })
		t.Cleanup(s.FollowAliases(reg))
		return reg
	}
	a, b := newReg(), newReg()
	if _, err := a.Create(ctx, alias.Alias{Name: "smart", Target: "g1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "B resolves smart", func() bool {
		res, err := b.Resolve("smart")
		return err == nil && res.Target == "g1"
	})
	// Writes on both sides to different aliases keep each other's.
	if _, err := b.Create(ctx, alias.Alias{Name: "fast", Target: "g2"}); err != nil {
		t.Fatal(err)
	}
	g3 := "g3"
	if _, err := a.Update(ctx, "smart", alias.Update{Target: &g3}); err != nil {
		t.Fatal(err)
	}
	for name, reg := range map[string]*alias.Registry{"A": a, "B": b} {
		eventually(t, time.Second, name+" sees both writes", func() bool {
			s, err1 := reg.Resolve("smart")
			f, err2 := reg.Resolve("fast")
			return err1 == nil && err2 == nil && s.Target == "g3" && f.Target == "g2"
		})
	}
	if _, err := b.Delete(ctx, "smart"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "A sees the delete", func() bool {
		_, err := a.Get("smart")
		return err != nil
	})
	// A new replica loads what is there.
	c := newReg()
	if got := len(c.List(alias.ListOptions{IncludeHidden: true})); got != 1 {
		t.Errorf("a new replica holds %d aliases, want 1", got)
	}
}

// commandCalls returns how often Redis ran each command, from INFO
// commandstats.
func commandCalls(t *testing.T, srv *redistest.Server) map[string]int {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

// commandsSince returns how often Redis ran each command since before
// (commandCalls), leaving out the connection's own (INFO, PING, HELLO).
func commandsSince(t *testing.T, srv *redistest.Server, before map[string]int) map[string]int {
	t.Helper()
	delta := map[string]int{}
	for cmd, calls := range commandCalls(t, srv) {
		if d := calls - before[cmd]; d > 0 && cmd != "info" && cmd != "ping" && cmd != "hello" {
			delta[cmd] = d
		}
	}
	return delta
}

// onlyCommands reports the commands of delta that are not among want.
func onlyCommands(t *testing.T, delta map[string]int, want ...string) {
	t.Helper()
	for cmd := range delta {
		if !slices.Contains(want, cmd) {
			t.Errorf("unexpected command %s (%d calls) on the request path", cmd, delta[cmd])
		}
	}
}

// A request to a deployment with limits costs one round trip on its path:
// one script that checks and counts. Token counts go in batches, off the
// request path; a deployment without limits costs none.
func TestOneRoundTripPerRequest(t *testing.T) {
	srv := redistest.Start(t)
	limited, plain := providertest.NewFake(), providertest.NewFake()
	r := replica(t, srv, []router.Deployment{
		{ID: "rt-limited", Group: "limited", Model: "openai/m", Provider: limited, RPM: 1 << 30, TPM: 1 << 30},
		{ID: "rt-plain", Group: "plain", Model: "openai/m", Provider: plain},
	}, nil)
	ctx := context.Background()
	if _, _, err := r.Complete(ctx, hello("limited")); err != nil { // loads the script
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the first token count land
	before := commandCalls(t, srv)
	const n = 50
	for range n {
		for _, g := range []string{"limited", "plain"} {
			if _, _, err := r.Complete(ctx, hello(g)); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	delta := commandsSince(t, srv, before)
	// One script per request to the limited deployment (one MGET of the
	// sliding window's counters and INCR run inside it), then the batched token counts: at most one INCRBY and
	// PEXPIRE per answer, sent by the writer goroutine. Nothing for the
	// plain group.
	if delta["evalsha"] != n || delta["mget"] != n || delta["incr"] != n {
		t.Errorf("commands for %d requests: %v; want %d EVALSHA (with its MGET and INCR)", n, delta, n)
	}
	if delta["incrby"] > n || delta["pexpire"] > n {
		t.Errorf("token counts: %v; want at most one INCRBY and PEXPIRE per answer", delta)
	}
	onlyCommands(t, delta, "evalsha", "mget", "incr", "incrby", "pexpire")
}
