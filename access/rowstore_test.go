package access

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rowStore records the Changes a Checker applies, and fails on demand.
type rowStore struct {
	MemoryStore
	mu      sync.Mutex
	applied []Changes
	fail    error
}

func (s *rowStore) Apply(ctx context.Context, ch Changes) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.applied = append(s.applied, ch)
	return nil
}

func (s *rowStore) take() []Changes {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.applied
	s.applied = nil
	return out
}

// A write through a RowStore sends the rows it changed, nothing else.
func TestRowStoreGetsOnlyTheChangedRows(t *testing.T) {
	ctx := context.Background()
	rs := &rowStore{}
	now := t0
	c := newChecker(t, WithStore(rs), WithClock(fixedClock(&now)))
	mustGroup(t, c, AccessGroup{Name: "g", Members: []string{"a", "b"}})
	mustTeam(t, c, Team{ID: "t"})
	mustKey(t, c, Key{ID: "k1", TeamID: "t", MaxBudget: 5, BudgetDuration: time.Hour})
	mustKey(t, c, Key{ID: "k2"})
	rs.take()

	if _, err := c.DeleteKey(ctx, "k2"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveName(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordSpend("k1", 0.5); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil { // nothing new: no call
		t.Fatal(err)
	}
	want := []Changes{
		{DeleteKeys: []string{"k2"}},
		{PutAccessGroups: []AccessGroup{{Name: "g", Members: []string{"b"}, Created: t0, Updated: t0}}},
		{
			KeySpend:  []SpendDelta{{ID: "k1", Nanos: 5e8, ResetAt: t0.Add(time.Hour)}},
			TeamSpend: []SpendDelta{{ID: "t", Nanos: 5e8}},
		},
	}
	if diff := cmp.Diff(want, rs.take()); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}

	// A refused Apply changes nothing, and the spend it carried is sent
	// again by the next flush.
	rs.fail = errors.New("disk on fire")
	if _, err := c.CreateKey(ctx, Key{ID: "k3"}); err == nil {
		t.Fatal("CreateKey succeeded with a failing store")
	}
	if _, err := c.GetKey("k3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetKey after a refused create: %v", err)
	}
	if err := c.RecordSpend("k1", 0.25); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with a failing store")
	}
	rs.fail = nil
	now = t0.Add(90 * time.Minute) // k1's next period: the old one's remainder is sent with its own reset time
	if err := c.RecordSpend("k1", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want = []Changes{{
		KeySpend: []SpendDelta{
			{ID: "k1", Nanos: 25e7, ResetAt: t0.Add(time.Hour)},
			{ID: "k1", Nanos: 1e9, ResetAt: t0.Add(2 * time.Hour)},
		},
		TeamSpend: []SpendDelta{{ID: "t", Nanos: 125e7}},
	}}
	if diff := cmp.Diff(want, rs.take()); diff != "" {
		t.Errorf("Changes after a failed flush (-want +got):\n%s", diff)
	}
	if k, _ := c.GetKey("k1"); k.Spend != 1 || !k.BudgetResetAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("k1: spend %v, reset at %v; want 1 in the period ending %v", k.Spend, k.BudgetResetAt, t0.Add(2*time.Hour))
	}
}

// A budget with a period refuses a key until the period ends.
func TestBudgetPeriod(t *testing.T) {
	now := t0
	c := newChecker(t, WithClock(fixedClock(&now)))
	mustTeam(t, c, Team{ID: "t", MaxBudget: 2, BudgetDuration: 24 * time.Hour})
	mustKey(t, c, Key{ID: "k", TeamID: "t"})
	for _, step := range []struct {
		at    time.Duration // since t0
		spend float64
		want  error
	}{
		{0, 1.5, nil},
		{time.Hour, 0.5, ErrBudgetExceeded},
		{23 * time.Hour, 0, ErrBudgetExceeded},
		{24 * time.Hour, 0, nil}, // the period ends at t0+24h exactly
		{25 * time.Hour, 2, ErrBudgetExceeded},
		{72 * time.Hour, 0, nil},
	} {
		now = t0.Add(step.at)
		if err := c.RecordSpend("k", step.spend); err != nil {
			t.Fatal(err)
		}
		if err := c.Authorize("k", "m"); !errors.Is(err, step.want) || (err == nil) != (step.want == nil) {
			t.Errorf("at t0+%v: Authorize = %v, want %v", step.at, err, step.want)
		}
	}
	if _, err := c.CreateKey(context.Background(), Key{ID: "bad", BudgetDuration: time.Millisecond}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateKey with a 1ms budget duration: %v, want ErrInvalid", err)
	}
}

// logStore is a UsageLogStore in memory that fails on demand.
type logStore struct {
	memUsage
	recs []UsageRecord
	fail error
}

type memUsage struct{ snap UsageSnapshot }

func (m *memUsage) Load(context.Context) (UsageSnapshot, error)   { return m.snap, nil }
func (m *memUsage) Save(_ context.Context, s UsageSnapshot) error { m.snap = s; return nil }

func (s *logStore) AppendUsageLog(_ context.Context, recs []UsageRecord) error {
	if s.fail != nil {
		return s.fail
	}
	s.recs = append(s.recs, recs...)
	return nil
}

// Records wait for the log store in order; a failed append keeps them for
// the next Save, and past MaxPendingLog new ones are counted, not logged.
func TestUsageLogStore(t *testing.T) {
	ctx := context.Background()
	ls := &logStore{}
	u, err := NewUsage(ctx, WithUsageStore(ls))
	if err != nil {
		t.Fatal(err)
	}
	rec := func(i int) UsageRecord { return UsageRecord{Requested: "m", PromptTokens: i, Time: t0} }
	u.Record(rec(1))
	ls.fail = errors.New("disk on fire")
	if err := u.Save(ctx); err == nil {
		t.Fatal("Save succeeded with a failing log store")
	}
	u.Record(rec(2))
	ls.fail = nil
	if err := u.Save(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]UsageRecord{rec(1), rec(2)}, ls.recs); diff != "" {
		t.Errorf("logged (-want +got):\n%s", diff)
	}
	if got := ls.snap.Names["m"].Calls; got != 2 {
		t.Errorf("counted calls = %d, want 2", got)
	}

	ls.recs = nil
	for i := range MaxPendingLog + 5 {
		u.Record(rec(i))
	}
	if err := u.Save(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ls.recs) != MaxPendingLog || u.LogDropped() != 5 {
		t.Errorf("logged %d, dropped %d; want %d and 5", len(ls.recs), u.LogDropped(), MaxPendingLog)
	}
	if got := u.ByName("m").Calls; got != 2+MaxPendingLog+5 {
		t.Errorf("counted calls = %d, want every record", got)
	}
}
