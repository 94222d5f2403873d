package access

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// UsageRecord is one finished request, as the router's observer reports
// it (the gateway adapts the router's event to this struct).
type UsageRecord struct {
	Requested  string // the name the client asked for (alias or group)
	Group      string // the group it resolved to
	Deployment string // ID of the deployment that answered (or failed last)
	KeyID      string // the key the request was authorized as; "" if none
	TeamID     string // the key's team; "" if none

	PromptTokens     int
	CompletionTokens int
	CostUSD          float64
	Latency          time.Duration
	Err              bool // the request failed

	// Time is when the request finished; zero: Record stamps it. Only a
	// UsageLogStore keeps it.
	Time time.Time
}

// Stats are the usage counters of one name, group, deployment, key or
// team.
type Stats struct {
	// Calls counts successful requests; Errors failed ones.
	Calls  int64 `json:"calls"`
	Errors int64 `json:"errors"`
	// Tokens and cost are summed over every record, failed ones included
	// (a stream cut halfway has still been billed).
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	// Latency is the sum over successful requests.
	Latency time.Duration `json:"latency_ns"`

	// Derived, filled in by every method that returns Stats (and ignored
	// when a snapshot is loaded): per successful call, 0 when there is
	// none.
	AvgTokensPerCall float64       `json:"avg_tokens_per_call"`
	AvgLatency       time.Duration `json:"avg_latency_ns"`
}

// Dimension is what usage is counted per.
type Dimension int

const (
	PerName       Dimension = iota // UsageRecord.Requested
	PerGroup                       // UsageRecord.Group
	PerDeployment                  // UsageRecord.Deployment
	PerKey                         // UsageRecord.KeyID
	PerTeam                        // UsageRecord.TeamID
	numDimensions
)

var dimensionNames = [...]string{
	PerName:       "name",
	PerGroup:      "group",
	PerDeployment: "deployment",
	PerKey:        "key",
	PerTeam:       "team",
}

func (d Dimension) String() string {
	if d >= 0 && d < numDimensions {
		return dimensionNames[d]
	}
	return fmt.Sprintf("Dimension(%d)", int(d))
}

// UsageSnapshot is a copy of every counter, by dimension and then by name.
type UsageSnapshot struct {
	Names       map[string]Stats `json:"names,omitempty"`
	Groups      map[string]Stats `json:"groups,omitempty"`
	Deployments map[string]Stats `json:"deployments,omitempty"`
	Keys        map[string]Stats `json:"keys,omitempty"`
	Teams       map[string]Stats `json:"teams,omitempty"`
}

func (s *UsageSnapshot) table(d Dimension) *map[string]Stats {
	switch d {
	case PerName:
		return &s.Names
	case PerGroup:
		return &s.Groups
	case PerDeployment:
		return &s.Deployments
	case PerKey:
		return &s.Keys
	case PerTeam:
		return &s.Teams
	}
	panic("access: unknown dimension " + d.String())
}

// Usage counts requests per requested name, group, deployment, key and
// team. Record is lock-free: per dimension, a lookup in a sync.Map and a
// few atomic adds; only the first record of a new name allocates.
//
// The zero Usage is ready to use and persists nothing; NewUsage loads from,
// and Save writes to, a UsageStore. Safe for concurrent use.
type Usage struct {
	tables [numDimensions]sync.Map // name → *usageCounters

	store  UsageStore // nil: nothing persisted
	saveMu sync.Mutex // serializes Save

	batch   int64         // WithUsageBatch; 0: no signal
	pending atomic.Int64  // records since the last Save, counted when batch > 0
	full    chan struct{} // signalled when pending reaches batch

	// The request log, kept when the store is a UsageLogStore.
	logs    UsageLogStore // nil: no log
	logMu   sync.Mutex    // protects logBuf and logFree
	logBuf  []UsageRecord // records not yet appended to the store
	logFree []UsageRecord // an empty slice to swap in for logBuf
	dropped atomic.Int64  // records dropped because logBuf was full
}

// MaxPendingLog is how many records Usage keeps for a UsageLogStore
// between two Saves; past it, new records are counted but not logged
// (LogDropped counts them).
const MaxPendingLog = 100_000

type usageCounters struct {
	calls, errors, prompt, completion, costNanos, latency atomic.Int64

	// saved is what the store holds of these counters. Guarded by
	// Usage.saveMu.
	saved counts
}

// counts are the values of usageCounters at one moment.
type counts struct {
	calls, errors, prompt, completion, costNanos, latency int64
}

func (c *usageCounters) load() counts {
	return counts{c.calls.Load(), c.errors.Load(), c.prompt.Load(), c.completion.Load(), c.costNanos.Load(), c.latency.Load()}
}

func (a counts) sub(b counts) counts {
	return counts{a.calls - b.calls, a.errors - b.errors, a.prompt - b.prompt,
		a.completion - b.completion, a.costNanos - b.costNanos, a.latency - b.latency}
}

func (a counts) stats() Stats {
	return Stats{Calls: a.calls, Errors: a.errors, PromptTokens: a.prompt, CompletionTokens: a.completion,
		CostUSD: float64(a.costNanos) / 1e9, Latency: time.Duration(a.latency)}
}

// UsageOption configures NewUsage.
type UsageOption func(*usageOptions)

type usageOptions struct {
	store UsageStore
	batch int
}

// WithUsageStore sets where Usage persists its counters.
func WithUsageStore(s UsageStore) UsageOption { return func(o *usageOptions) { o.store = s } }

// WithUsageBatch makes Usage signal on SaveDue once n records have arrived
// since the last Save, so that whoever saves periodically can also save
// when that many are pending. 0 (the default) never signals.
func WithUsageBatch(n int) UsageOption { return func(o *usageOptions) { o.batch = n } }

// NewUsage returns a Usage that starts from the counters its store holds
// (none without WithUsageStore). A store that cannot be loaded is an error.
func NewUsage(ctx context.Context, opts ...UsageOption) (*Usage, error) {
	var o usageOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.batch < 0 {
		return nil, fmt.Errorf("access: usage batch %d is negative", o.batch)
	}
	u := &Usage{store: o.store, batch: int64(o.batch), full: make(chan struct{}, 1)}
	u.logs, _ = o.store.(UsageLogStore)
	if o.store == nil {
		return u, nil
	}
	snap, err := o.store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: load usage: %w", err)
	}
	for d := range numDimensions {
		for name, st := range *snap.table(d) {
			if err := checkStats(st); err != nil {
				return nil, fmt.Errorf("access: load usage: %s %q: %w", d, name, err)
			}
			c := u.counters(d, name)
			c.calls.Add(st.Calls)
			c.errors.Add(st.Errors)
			c.prompt.Add(st.PromptTokens)
			c.completion.Add(st.CompletionTokens)
			c.costNanos.Add(toNanos(st.CostUSD))
			c.latency.Add(int64(st.Latency))
			c.saved = c.load()
		}
	}
	return u, nil
}

func checkStats(st Stats) error {
	if st.Calls < 0 || st.Errors < 0 || st.PromptTokens < 0 || st.CompletionTokens < 0 || st.Latency < 0 {
		return fmt.Errorf("%w: negative counter", ErrInvalid)
	}
	if p := checkSpend(st.CostUSD); p != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, p)
	}
	return nil
}

func (u *Usage) counters(d Dimension, name string) *usageCounters {
	t := &u.tables[d]
	if v, ok := t.Load(name); ok {
		return v.(*usageCounters)
	}
	v, _ := t.LoadOrStore(name, new(usageCounters))
	return v.(*usageCounters)
}

// Record counts r under its requested name, group, deployment, key and
// team; empty fields are skipped. Negative token counts, cost or latency,
// and a NaN or infinite cost, count as 0.
func (u *Usage) Record(r UsageRecord) {
	prompt := max(int64(r.PromptTokens), 0)
	completion := max(int64(r.CompletionTokens), 0)
	var cost int64
	if !math.IsNaN(r.CostUSD) && r.CostUSD > 0 && r.CostUSD <= maxUSD {
		cost = toNanos(r.CostUSD)
	}
	latency := max(int64(r.Latency), 0)
	for d, name := range [numDimensions]string{
		PerName:       r.Requested,
		PerGroup:      r.Group,
		PerDeployment: r.Deployment,
		PerKey:        r.KeyID,
		PerTeam:       r.TeamID,
	} {
		if name == "" {
			continue
		}
		c := u.counters(Dimension(d), name)
		if r.Err {
			c.errors.Add(1)
		} else {
			c.calls.Add(1)
			c.latency.Add(latency)
		}
		if prompt != 0 {
			c.prompt.Add(prompt)
		}
		if completion != 0 {
			c.completion.Add(completion)
		}
		if cost != 0 {
			c.costNanos.Add(cost)
		}
	}
	if u.logs != nil {
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		u.logMu.Lock()
		if len(u.logBuf) < MaxPendingLog {
			u.logBuf = append(u.logBuf, r)
		} else {
			u.dropped.Add(1)
		}
		u.logMu.Unlock()
	}
	if u.batch > 0 && u.pending.Add(1) == u.batch {
		select {
		case u.full <- struct{}{}:
		default:
		}
	}
}

// LogDropped returns how many records were counted but not logged because
// MaxPendingLog records were already waiting for the UsageLogStore.
func (u *Usage) LogDropped() int64 { return u.dropped.Load() }

// SaveDue receives a value when WithUsageBatch's number of records have
// arrived since the last Save. It never receives for the zero Usage or
// without WithUsageBatch.
func (u *Usage) SaveDue() <-chan struct{} { return u.full }

func (c *usageCounters) stats() Stats {
	st := Stats{
		Calls:            c.calls.Load(),
		Errors:           c.errors.Load(),
		PromptTokens:     c.prompt.Load(),
		CompletionTokens: c.completion.Load(),
		CostUSD:          float64(c.costNanos.Load()) / 1e9,
		Latency:          time.Duration(c.latency.Load()),
	}
	if st.Calls > 0 {
		st.AvgTokensPerCall = float64(st.PromptTokens+st.CompletionTokens) / float64(st.Calls)
		st.AvgLatency = st.Latency / time.Duration(st.Calls)
	}
	return st
}

// Lookup returns the counters of name in dimension d; zero Stats if it has
// none.
func (u *Usage) Lookup(d Dimension, name string) Stats {
	if d < 0 || d >= numDimensions {
		return Stats{}
	}
	v, ok := u.tables[d].Load(name)
	if !ok {
		return Stats{}
	}
	return v.(*usageCounters).stats()
}

// ByName returns the counters of a requested name (an alias or a group as
// clients call it): the admin view's usage_count and usage_stats.
func (u *Usage) ByName(name string) Stats { return u.Lookup(PerName, name) }

// Snapshot copies every counter. Each Stats is read field by field while
// records may be arriving, so it is not a cut across all counters.
func (u *Usage) Snapshot() UsageSnapshot {
	var s UsageSnapshot
	for d := range numDimensions {
		m := map[string]Stats{}
		u.tables[d].Range(func(k, v any) bool {
			m[k.(string)] = v.(*usageCounters).stats()
			return true
		})
		if len(m) > 0 {
			*s.table(d) = m
		}
	}
	return s
}

// Save persists the counters (a no-op without a store): through a
// UsageRowStore the counts recorded since the last Save, one row per
// counter that changed; through any other UsageStore a whole Snapshot.
// Call it periodically and at shutdown; counts recorded since the last
// Save are lost by a crash. A failed Save loses nothing: the next one
// sends those counts again.
func (u *Usage) Save(ctx context.Context) error {
	if u.store == nil {
		return nil
	}
	u.saveMu.Lock()
	defer u.saveMu.Unlock()
	u.pending.Store(0)
	if err := u.appendLog(ctx); err != nil {
		return err
	}
	rs, ok := u.store.(UsageRowStore)
	if !ok {
		if err := u.store.Save(ctx, u.Snapshot()); err != nil {
			return fmt.Errorf("access: save usage: %w", storeError{err})
		}
		return nil
	}
	var delta UsageSnapshot
	type saved struct {
		c   *usageCounters
		now counts
	}
	var done []saved
	for d := range numDimensions {
		var m map[string]Stats
		u.tables[d].Range(func(k, v any) bool {
			c := v.(*usageCounters)
			now := c.load()
			if now == c.saved {
				return true
			}
			if m == nil {
				m = map[string]Stats{}
			}
			m[k.(string)] = now.sub(c.saved).stats()
			done = append(done, saved{c, now})
			return true
		})
		*delta.table(d) = m
	}
	if len(done) == 0 {
		return nil
	}
	if err := rs.AddUsage(ctx, delta); err != nil {
		return fmt.Errorf("access: save usage: %w", storeError{err})
	}
	for _, s := range done {
		s.c.saved = s.now
	}
	return nil
}

// appendLog hands the records logged since the last Save to the
// UsageLogStore. On failure they are kept, ahead of newer ones, for the
// next Save. u.saveMu must be held.
func (u *Usage) appendLog(ctx context.Context) error {
	if u.logs == nil {
		return nil
	}
	u.logMu.Lock()
	recs := u.logBuf
	u.logBuf, u.logFree = u.logFree, nil
	u.logMu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := u.logs.AppendUsageLog(ctx, recs); err != nil {
		u.logMu.Lock()
		newer := u.logBuf
		u.logBuf = append(recs, newer...)
		if over := len(u.logBuf) - MaxPendingLog; over > 0 {
			u.logBuf = u.logBuf[:MaxPendingLog]
			u.dropped.Add(int64(over))
		}
		u.logMu.Unlock()
		return fmt.Errorf("access: save usage log: %w", storeError{err})
	}
	// Keep the slice for the swap after next.
	clear(recs)
	u.logMu.Lock()
	u.logFree = recs[:0]
	u.logMu.Unlock()
	return nil
}

// UsageStore persists usage counters.
type UsageStore interface {
	Load(ctx context.Context) (UsageSnapshot, error)
	Save(ctx context.Context, s UsageSnapshot) error
}

// UsageRowStore is a UsageStore that adds to its counters rather than
// replacing them all: Usage.Save sends AddUsage the counts recorded since
// the last save (Calls, Errors, tokens, CostUSD and Latency as increments;
// the derived averages are zero), one entry per counter that changed, to
// be applied together or not at all. Several Usages (one per gateway
// replica) can add to one store.
type UsageRowStore interface {
	UsageStore
	AddUsage(ctx context.Context, delta UsageSnapshot) error
}

// UsageLogStore is a UsageStore that also keeps one row per request, as
// LiteLLM's spend logs do. When a Usage's store implements it, Record keeps
// each record (stamped with its Time) and Save appends those recorded since
// the last Save, oldest first, before it saves the counters. At most
// MaxPendingLog records wait between two Saves. AppendUsageLog must not
// keep recs: Usage reuses the slice.
type UsageLogStore interface {
	UsageStore
	AppendUsageLog(ctx context.Context, recs []UsageRecord) error
}

// UsageFileStore keeps a UsageSnapshot in one JSON file, with the same
// crash-safe writes as FileStore: a missing file is empty, a corrupt one an
// error.
type UsageFileStore struct {
	path string
	mu   sync.Mutex // serializes saves
}

var _ UsageStore = (*UsageFileStore)(nil)

// NewUsageFileStore returns a UsageFileStore for path.
func NewUsageFileStore(path string) *UsageFileStore { return &UsageFileStore{path: path} }

type usageFile struct {
	Version int `json:"version"`
	UsageSnapshot
}

// Load reads the file.
func (f *UsageFileStore) Load(ctx context.Context) (UsageSnapshot, error) {
	var uf usageFile
	found, err := readJSONFile(f.path, &uf)
	if err != nil || !found {
		return UsageSnapshot{}, err
	}
	if uf.Version != fileVersion {
		return UsageSnapshot{}, fmt.Errorf("%s: unsupported version %d (want %d)", f.path, uf.Version, fileVersion)
	}
	return uf.UsageSnapshot, nil
}

// Save replaces the file's contents with s, atomically.
func (f *UsageFileStore) Save(ctx context.Context, s UsageSnapshot) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(usageFile{Version: fileVersion, UsageSnapshot: s}, "", "  ")
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return writeFileAtomic(f.path, append(b, '\n'))
}
