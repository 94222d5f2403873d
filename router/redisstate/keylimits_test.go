package redisstate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/router/redisstate"
	"github.com/modelroute/modelroute/router/redisstate/redistest"
)

// keyReplica is one process's Checker counting keys' limits through Redis,
// holding keys (each replica has the same keys, as a shared AccessStore
// would give it).
func keyReplica(t *testing.T, srv *redistest.Server, log *syncLog, keys ...access.Key) (*access.Checker, *redisstate.Client) {
	t.Helper()
	c := newClient(t, srv, log)
	ac, err := access.New(context.Background(), access.WithLimiter(c.KeyLimits()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ac.Close() })
	for _, k := range keys {
		if _, err := ac.CreateKey(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	return ac, c
}

// admitted counts the requests of keyID that the replicas admit, asking
// them in turn n times in all.
func admitted(t *testing.T, keyID string, n int, replicas ...*access.Checker) []int {
	t.Helper()
	ctx := access.NewContext(context.Background(), keyID)
	got := make([]int, len(replicas))
	for i := range n {
		err := replicas[i%len(replicas)].Allow(ctx, "m", nil)
		switch {
		case err == nil:
			got[i%len(replicas)]++
		case !errors.Is(err, access.ErrRateLimited):
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return got
}

// A key with an rpm_limit of N is admitted N times across two replicas;
// tokens counted on one replica hold the key on the other.
func TestKeyLimitsAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	keys := []access.Key{{ID: "k", RPMLimit: 4}, {ID: "t", TPMLimit: 10}}
	a, _ := keyReplica(t, srv, nil, keys...)
	b, _ := keyReplica(t, srv, nil, keys...)
	got := admitted(t, "k", 20, a, b)
	if diff := cmp.Diff([]int{2, 2}, got); diff != "" {
		t.Errorf("admitted on A and B (-want +got):\n%s", diff)
	}

	ctx := access.NewContext(context.Background(), "t")
	if err := b.Allow(ctx, "m", nil); err != nil {
		t.Fatal(err)
	}
	a.RecordTokens("t", 10)
	eventually(t, time.Second, "B refuses the key whose tokens A counted", func() bool {
		var rl *access.RateLimitError
		return errors.As(b.Allow(ctx, "m", nil), &rl) && rl.Limit == "tpm_limit"
	})
}

// While Redis is down each replica holds a key to its limit by its own
// count, without failing or waiting; when it is back the fleet counts
// again.
func TestKeyLimitsOutage(t *testing.T) {
	srv := redistest.Start(t)
	var log syncLog
	a, ca := keyReplica(t, srv, &log, access.Key{ID: "k", RPMLimit: 3})
	b, _ := keyReplica(t, srv, nil, access.Key{ID: "k", RPMLimit: 3})
	srv.Kill()
	start := time.Now()
	got := admitted(t, "k", 20, a, b)
	if diff := cmp.Diff([]int{3, 3}, got); diff != "" {
		t.Errorf("admitted on A and B during the outage (-want +got):\n%s", diff)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("20 requests during the outage took %v", d)
	}
	srv.Restart()
	eventually(t, 5*time.Second, "Redis available again", ca.Available)
	// Redis restarted empty: the fleet's count starts over, and holds.
	if got := admitted(t, "k", 20, a, b); got[0]+got[1] != 3 {
		t.Errorf("admitted on A and B after the outage: %v, want 3 in all", got)
	}
}

// A request of a key with a limit costs one round trip: one script (an
// MGET of the window's counters and an INCR inside it); tokens go in
// batches off the request path.
func TestKeyLimitsOneRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	ac, _ := keyReplica(t, srv, nil, access.Key{ID: "k", RPMLimit: 1 << 30, TPMLimit: 1 << 30})
	ctx := access.NewContext(context.Background(), "k")
	if err := ac.Allow(ctx, "m", nil); err != nil { // loads the script
		t.Fatal(err)
	}
	before := commandCalls(t, srv)
	const n = 50
	for range n {
		if err := ac.Allow(ctx, "m", nil); err != nil {
			t.Fatal(err)
		}
		ac.RecordTokens("k", 10)
	}
	time.Sleep(50 * time.Millisecond)
	delta := commandsSince(t, srv, before)
	if delta["evalsha"] != n || delta["mget"] != n || delta["incr"] != n || delta["incrby"] > n {
		t.Errorf("commands for %d requests: %v; want %d EVALSHA (with its MGET and INCR), at most one INCRBY per answer", n, delta, n)
	}
	onlyCommands(t, delta, "evalsha", "mget", "incr", "incrby", "pexpire")
}
