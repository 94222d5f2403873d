package access

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The sliding window: p×(1−f) + c, with p the previous minute's count, c
// the current one's and f the elapsed fraction of the current minute.
func TestWindowSliding(t *testing.T) {
	const m = int64(time.Minute)
	for _, tc := range []struct {
		name       string
		prev, cur  int64 // requests admitted in the previous and the current minute
		at         int64 // nanoseconds into the current minute
		rpm        int64
		wantAdmits int // further requests admitted at that moment
	}{
		{"empty", 0, 0, 0, 5, 5},
		{"current minute full", 0, 5, m / 2, 5, 0},
		{"previous minute weighs fully at its end", 5, 0, 0, 5, 0},
		{"a third of the minute gone", 6, 0, m / 3, 6, 2},
		{"half gone, both minutes", 4, 1, m / 2, 5, 2},
		{"previous minute nearly gone", 5, 0, m - m/100, 5, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w Window
			base := 100 * m
			for range tc.prev {
				w.Admit(base-m, 0, 0)
			}
			for range tc.cur {
				w.Admit(base, 0, 0)
			}
			got := 0
			for w.Admit(base+tc.at, tc.rpm, 0) == Admitted {
				got++
			}
			if got != tc.wantAdmits {
				t.Errorf("admitted %d more, want %d", got, tc.wantAdmits)
			}
		})
	}
}

// A key's rpm_limit: N per sliding minute, the refusal naming the key and
// the limit; a listing (Permits) counts nothing.
func TestAllowRPMLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(t.Context()) // time.Now: the bubble's clock, starting on a minute
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustKey(t, c, Key{ID: "k", Name: "bot", RPMLimit: 3})
		mustKey(t, c, Key{ID: "free"})
		ctx := NewContext(t.Context(), "k")
		admits := func() int {
			n := 0
			for c.Allow(ctx, "m", nil) == nil {
				n++
			}
			return n
		}
		for range 10 {
			if err := c.Permits(ctx, "m", nil); err != nil {
				t.Fatalf("Permits: %v", err)
			}
		}
		var got []int
		got = append(got, admits()) // minute 0
		time.Sleep(time.Minute)     // minute 1 begins: minute 0 weighs fully
		got = append(got, admits())
		time.Sleep(20 * time.Second) // a third gone: 3×2/3 = 2
		got = append(got, admits())
		time.Sleep(40 * time.Second) // minute 2: the 1 of minute 1
		got = append(got, admits())
		if diff := cmp.Diff([]int{3, 0, 1, 2}, got); diff != "" {
			t.Errorf("admitted per step (-want +got):\n%s", diff)
		}

		err = c.Allow(ctx, "m", nil)
		var rl *RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) {
			t.Fatalf("Allow over the limit: %v, want a *RateLimitError", err)
		}
		if diff := cmp.Diff(&RateLimitError{Principal: `key "bot"`, Limit: "rpm_limit", Max: 3}, rl); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
		if want := `access: key "bot": rate limit exceeded (rpm_limit 3 per minute)`; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
		for range 100 {
			if err := c.Allow(NewContext(t.Context(), "free"), "m", nil); err != nil {
				t.Fatalf("key without limits: %v", err)
			}
		}
	})
}

// A key's tpm_limit counts the tokens of answers (RecordTokens): once the
// window holds tpm tokens, requests are refused until it slides.
func TestAllowTPMLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustKey(t, c, Key{ID: "k", TPMLimit: 100})
		ctx := NewContext(t.Context(), "k")
		if err := c.Allow(ctx, "m", nil); err != nil {
			t.Fatalf("first request: %v", err)
		}
		c.RecordTokens("k", 60)
		if err := c.Allow(ctx, "m", nil); err != nil {
			t.Fatalf("at 60 of 100 tokens: %v", err)
		}
		c.RecordTokens("k", 40)
		err = c.Allow(ctx, "m", nil)
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.Limit != "tpm_limit" || rl.Max != 100 {
			t.Fatalf("at 100 of 100 tokens: %v, want tpm_limit 100", err)
		}
		time.Sleep(90 * time.Second) // 100 tokens of the previous minute, half weighed
		if err := c.Allow(ctx, "m", nil); err != nil {
			t.Errorf("at 50 of 100 tokens: %v", err)
		}
		c.RecordTokens("unknown", 5) // no such key: nothing happens
	})
}

func TestKeyLimitValidation(t *testing.T) {
	c := newChecker(t)
	for _, k := range []Key{{ID: "a", RPMLimit: -1}, {ID: "b", TPMLimit: -5}, {ID: "c", RPMLimit: 1 << 50}} {
		_, err := c.CreateKey(context.Background(), k)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateKey(%+v): %v, want ErrInvalid", k, err)
		}
	}
	got := mustKey(t, c, Key{ID: "d", RPMLimit: 10, TPMLimit: 1000})
	if got.RPMLimit != 10 || got.TPMLimit != 1000 {
		t.Errorf("CreateKey kept rpm %d tpm %d, want 10 and 1000", got.RPMLimit, got.TPMLimit)
	}
}

// Admission of a key with limits, once its window exists, allocates nothing.
func TestAllowLimitedAllocs(t *testing.T) {
	c := newChecker(t)
	mustKey(t, c, Key{ID: "k", RPMLimit: 1 << 40})
	ctx := NewContext(context.Background(), "k")
	if err := c.Allow(ctx, "m", nil); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { c.Allow(ctx, "m", nil) }); n != 0 {
		t.Errorf("Allow allocates %v times, want 0", n)
	}
}

func BenchmarkAllowLimited(b *testing.B) {
	c := newChecker(b)
	mustKey(b, c, Key{ID: "k", RPMLimit: 1 << 40})
	ctx := NewContext(context.Background(), "k")
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Allow(ctx, "m", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Windows of keys not counted for two minutes are dropped as new keys
// come; the others are kept.
func TestMemoryLimiterSweeps(t *testing.T) {
	var l MemoryLimiter
	ctx := context.Background()
	for i := range 100 {
		l.Admit(ctx, "old-"+strconv.Itoa(i), t0, 1, 0)
	}
	l.Admit(ctx, "kept", t0.Add(2*time.Minute), 1, 0)
	for i := range 200 {
		l.Admit(ctx, "new-"+strconv.Itoa(i), t0.Add(3*time.Minute), 1, 0)
	}
	l.mu.RLock()
	n, kept := len(l.m), l.m["kept"]
	l.mu.RUnlock()
	if n != 201 || kept == nil {
		t.Errorf("after the sweep: %d windows (kept: %v), want 201: the new ones and kept", n, kept != nil)
	}
	if a, _ := l.Admit(ctx, "kept", t0.Add(3*time.Minute), 1, 0); a != OverRPM {
		t.Errorf("kept's window lost its count: %v", a)
	}
}
