package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/modelroute/modelroute/router/sqlstore/sqltest"
)

// The reliability scenarios at CI size; the tool runs the long versions
// (-chaos 1m, -churn 1m, -crash 20).

// TestChaos: three deployments of one group, one down, one answering 429
// with Retry-After a third of the time, one slow past its timeout at random,
// under steady load through the gateway: at least 99.9% succeed and no
// request reaches a deployment inside its cooldown.
func TestChaos(t *testing.T) {
	for _, tc := range []struct {
		name     string
		drop     bool
		duration time.Duration
	}{
		// 1000 requests: the 99.9% bar allows one failure.
		{"down answers 503", false, 20 * time.Second},
		{"down drops connections", true, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, err := runChaos(context.Background(), chaosConfig{Duration: tc.duration, Rate: 50, Drop: tc.drop})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep.write(&out)
			t.Logf("\n%s", out.String())
			if !rep.ok() {
				t.Errorf("chaos failed: success %.3f%%, %d violations, not exercised %v", 100*rep.successRate(), len(rep.violations), rep.missing)
			}
		})
	}
}

// TestChurn: while requests flow, aliases are created, re-pointed, disabled,
// enabled and deleted through the admin API; no request for an alias active
// throughout fails, no request for a churned alias gets anything but 200,
// 403 model_disabled or 404, and the request right after each acknowledged
// write sees it.
func TestChurn(t *testing.T) {
	t.Parallel()
	rep, err := runChurn(context.Background(), churnConfig{Duration: 5 * time.Second, Rate: 150})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.write(&out)
	t.Logf("\n%s", out.String())
	if !rep.ok() {
		t.Errorf("churn failed")
	}
	if rep.ops["create"] == 0 || rep.ops["re-point"] == 0 || rep.ops["disable"] == 0 || rep.ops["delete"] == 0 {
		t.Errorf("not every kind of write ran: %v", rep.ops)
	}
}

// TestCrash: the gateway binary is SIGKILLed during a stream of admin writes
// and traffic, and restarted on the same state (SQLite under -state, and
// PostgreSQL when MODELROUTE_POSTGRES_URL names a server); every
// acknowledged write is there.
func TestCrash(t *testing.T) {
	t.Parallel()
	// One after the other: the chaos test, in parallel, measures latency.
	t.Run("sqlite", func(t *testing.T) { testCrash(t, "") })
	t.Run("postgres", func(t *testing.T) { testCrash(t, sqltest.PostgresURL(t)) })
}

func testCrash(t *testing.T, database string) {
	rep, err := runCrash(context.Background(), crashConfig{Cycles: 3, Seed: uint64(time.Now().UnixNano()), Database: database})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.write(&out)
	t.Logf("\n%s", out.String())
	if !rep.ok() {
		t.Errorf("crash failed")
	}
	acked := 0
	for _, l := range rep.lives {
		acked += l.acked
	}
	if acked == 0 {
		t.Errorf("no write was acknowledged: the test proves nothing")
	}
}

// TestScale builds the scale Router at a small size and checks that every
// figure was measured.
func TestScale(t *testing.T) {
	rep, err := runScale(context.Background(), scaleConfig{Aliases: 5000, Deployments: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.write(&out)
	t.Logf("\n%s", out.String())
	if rep.registryNew <= 0 || rep.routerNew <= 0 || rep.routerUpdate <= 0 || rep.aliasWrite <= 0 {
		t.Errorf("a time is missing")
	}
	if rep.bytesPerAlias <= 0 || rep.bytesPerDep <= 0 {
		t.Errorf("memory per alias %.0f B, per deployment %.0f B: want both positive", rep.bytesPerAlias, rep.bytesPerDep)
	}
}
