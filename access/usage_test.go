package access

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUsageRecord(t *testing.T) {
	var u Usage // the zero Usage is ready
	for _, r := range []UsageRecord{
		{Requested: "alias-1", Group: "group-1", Deployment: "dep-a", KeyID: "k1", TeamID: "t", PromptTokens: 10, CompletionTokens: 5, CostUSD: 0.5, Latency: 100 * time.Millisecond},
		{Requested: "alias-1", Group: "group-1", Deployment: "dep-b", KeyID: "k2", TeamID: "t", PromptTokens: 20, CompletionTokens: 15, CostUSD: 0.25, Latency: 300 * time.Millisecond},
		{Requested: "alias-1", Group: "group-1", Deployment: "dep-b", KeyID: "k2", TeamID: "t", Latency: time.Second, Err: true},
		{Requested: "group-1", Group: "group-1", Deployment: "dep-a", KeyID: "k1", PromptTokens: 1, CompletionTokens: 1, CostUSD: 0.125, Latency: 50 * time.Millisecond},
		{Requested: "junk", PromptTokens: -5, CostUSD: -1, Latency: -time.Second}, // negatives count as 0
	} {
		u.Record(r)
	}
	want := UsageSnapshot{
		Names: map[string]Stats{
			"alias-1": {Calls: 2, Errors: 1, PromptTokens: 30, CompletionTokens: 20, CostUSD: 0.75, Latency: 400 * time.Millisecond, AvgTokensPerCall: 25, AvgLatency: 200 * time.Millisecond},
			"group-1": {Calls: 1, PromptTokens: 1, CompletionTokens: 1, CostUSD: 0.125, Latency: 50 * time.Millisecond, AvgTokensPerCall: 2, AvgLatency: 50 * time.Millisecond},
			"junk":    {Calls: 1},
		},
		Groups: map[string]Stats{
			"group-1": {Calls: 3, Errors: 1, PromptTokens: 31, CompletionTokens: 21, CostUSD: 0.875, Latency: 450 * time.Millisecond, AvgTokensPerCall: 52.0 / 3, AvgLatency: 150 * time.Millisecond},
		},
		Deployments: map[string]Stats{
			"dep-a": {Calls: 2, PromptTokens: 11, CompletionTokens: 6, CostUSD: 0.625, Latency: 150 * time.Millisecond, AvgTokensPerCall: 8.5, AvgLatency: 75 * time.Millisecond},
			"dep-b": {Calls: 1, Errors: 1, PromptTokens: 20, CompletionTokens: 15, CostUSD: 0.25, Latency: 300 * time.Millisecond, AvgTokensPerCall: 35, AvgLatency: 300 * time.Millisecond},
		},
		Keys: map[string]Stats{
			"k1": {Calls: 2, PromptTokens: 11, CompletionTokens: 6, CostUSD: 0.625, Latency: 150 * time.Millisecond, AvgTokensPerCall: 8.5, AvgLatency: 75 * time.Millisecond},
			"k2": {Calls: 1, Errors: 1, PromptTokens: 20, CompletionTokens: 15, CostUSD: 0.25, Latency: 300 * time.Millisecond, AvgTokensPerCall: 35, AvgLatency: 300 * time.Millisecond},
		},
		Teams: map[string]Stats{
			"t": {Calls: 2, Errors: 1, PromptTokens: 30, CompletionTokens: 20, CostUSD: 0.75, Latency: 400 * time.Millisecond, AvgTokensPerCall: 25, AvgLatency: 200 * time.Millisecond},
		},
	}
	if diff := cmp.Diff(want, u.Snapshot()); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Names["alias-1"], u.ByName("alias-1")); diff != "" {
		t.Errorf("ByName (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Deployments["dep-b"], u.Lookup(PerDeployment, "dep-b")); diff != "" {
		t.Errorf("Lookup (-want +got):\n%s", diff)
	}
	if got := u.ByName("never-called"); got != (Stats{}) {
		t.Errorf("ByName(never called) = %+v, want zero", got)
	}
	if got := u.Lookup(Dimension(42), "x"); got != (Stats{}) {
		t.Errorf("Lookup(bad dimension) = %+v, want zero", got)
	}
	if got := Dimension(42).String(); got != "Dimension(42)" {
		t.Errorf("String = %q", got)
	}
}

func TestUsageConcurrentRecordsAddUp(t *testing.T) {
	var u Usage
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				u.Record(UsageRecord{Requested: "a", Group: "g", Deployment: "d", KeyID: "k", PromptTokens: 1, CompletionTokens: 2, CostUSD: 0.001, Latency: time.Millisecond, Err: (g+i)%10 == 0})
				_ = u.Snapshot().Names["a"] // concurrent readers
			}
		})
	}
	wg.Wait()
	got := u.ByName("a")
	const n = goroutines * each
	want := Stats{Calls: n * 9 / 10, Errors: n / 10, PromptTokens: n, CompletionTokens: 2 * n, CostUSD: 4, Latency: n * 9 / 10 * time.Millisecond}
	want.AvgTokensPerCall = float64(3*n) / float64(want.Calls)
	want.AvgLatency = time.Millisecond
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestUsageRecordDoesNotAllocate(t *testing.T) {
	var u Usage
	r := UsageRecord{Requested: "alias-1", Group: "group-1", Deployment: "dep-a", KeyID: "k", TeamID: "t", PromptTokens: 10, CompletionTokens: 5, CostUSD: 0.01, Latency: time.Millisecond}
	u.Record(r) // first record of each name allocates its counters
	if n := testing.AllocsPerRun(100, func() { u.Record(r) }); n != 0 {
		t.Errorf("Record allocates %v times per call, want 0", n)
	}
}

func TestUsagePersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.json")
	u1, err := NewUsage(ctx, WithUsageStore(NewUsageFileStore(path)))
	if err != nil {
		t.Fatal(err)
	}
	u1.Record(UsageRecord{Requested: "alias-1", Group: "g", Deployment: "d", KeyID: "k", PromptTokens: 3, CompletionTokens: 4, CostUSD: 0.5, Latency: time.Second})
	u1.Record(UsageRecord{Requested: "alias-1", Group: "g", Err: true})
	if err := u1.Save(ctx); err != nil {
		t.Fatal(err)
	}
	want := u1.Snapshot()

	u2, err := NewUsage(ctx, WithUsageStore(NewUsageFileStore(path)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, u2.Snapshot()); diff != "" {
		t.Errorf("after reload (-want +got):\n%s", diff)
	}
	u2.Record(UsageRecord{Requested: "alias-1"})
	if got := u2.ByName("alias-1").Calls; got != 2 {
		t.Errorf("calls after reload and one more = %d, want 2", got)
	}

	// Without a store Save is a no-op.
	var zero Usage
	if err := zero.Save(ctx); err != nil {
		t.Errorf("zero Usage Save = %v", err)
	}
}

func TestUsageCorruptFile(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"empty", ""},
		{"truncated", `{"version": 1, "names": {"a": {"calls": 1`},
		{"unknown version", `{"version": 9}`},
		{"negative counter", `{"version": 1, "names": {"a": {"calls": -1}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewUsage(context.Background(), WithUsageStore(NewUsageFileStore(path)))
			if err == nil || !strings.HasPrefix(err.Error(), "access: load usage: ") {
				t.Errorf("NewUsage = %v, want a load error", err)
			}
		})
	}
}
