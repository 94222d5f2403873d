package access

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Checker decides which names a key may use, and holds the keys, teams,
// organizations and access groups it decides from. Create it with New.
//
// Reads (Authorize, Visible, CheckKey, Allow, CallerAlias, RecordSpend, Get…,
// List…, WhoCanUse) are lock-free: they load an immutable snapshot that
// writers rebuild and publish atomically. Writes are serialized and
// persisted through the Store before they become visible.
type Checker struct {
	cur atomic.Pointer[snapshot] // nil only in the zero Checker: see snap

	mu     sync.Mutex // serializes writers; protects closed
	closed bool

	// unflushed is set by RecordSpend and cleared by a flush, so that a
	// flush with nothing new to persist writes nothing.
	unflushed atomic.Bool

	store        Store            // nil: nothing persisted (zero Checker)
	now          func() time.Time // nil: time.Now
	implyTargets bool
	onSpend      func()  // WithSpendHook; nil: none
	limiter      Limiter // WithLimiter; nil only in the zero Checker: no rate limits
}

// Option configures New.
type Option func(*options)

type options struct {
	store        Store
	now          func() time.Time
	implyTargets bool
	onSpend      func()
	limiter      Limiter
}

// WithStore sets where principals, access groups and spend persist. The
// default is a new MemoryStore.
func WithStore(s Store) Option { return func(o *options) { o.store = s } }

// WithClock sets the clock used for Created/Updated times and key expiry.
// The default is time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTargetGrantsImplyAliases makes a grant on a target extend to the
// registry aliases that resolve to it: with it on, a key granted the group
// "model-group-1" may also call "alias-1" when alias-1 resolves to
// model-group-1. It is off by default, so that a grant on a group grants
// exactly that group, and a grant on an alias exactly that alias.
//
// The Checker does not know the registry: it learns what a name resolves
// to from the router, which hands it the resolution of each request (Allow)
// and of each name it lists. Authorize and Visible, which are given names
// alone, decide on the names only. The option applies at every level (key,
// team, organization): a level allows an alias if it grants the alias or
// its target.
func WithTargetGrantsImplyAliases(on bool) Option {
	return func(o *options) { o.implyTargets = on }
}

// New returns a Checker loaded from its Store. A stored state that does not
// validate (duplicate IDs, a key of a team that does not exist, a malformed
// grant, …) is an error: New never starts from a silently emptied or
// partial state.
func New(ctx context.Context, opts ...Option) (*Checker, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.store == nil {
		o.store = NewMemoryStore()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.limiter == nil {
		o.limiter = &MemoryLimiter{}
	}
	st, err := o.store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: load: %w", err)
	}
	d, err := defsFromState(st)
	if err != nil {
		return nil, fmt.Errorf("access: load: %w", err)
	}
	c := &Checker{store: o.store, now: o.now, implyTargets: o.implyTargets, onSpend: o.onSpend, limiter: o.limiter}
	c.cur.Store(build(nil, d, 0, o.implyTargets, c.clock().UnixNano()))
	return c, nil
}

// emptySnapshot is what the zero Checker reads: no principals, so every
// key is unknown. It is never modified.
var emptySnapshot = &snapshot{defs: newDefs()}

func (c *Checker) snap() *snapshot {
	if s := c.cur.Load(); s != nil {
		return s
	}
	return emptySnapshot
}

func (c *Checker) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

// snapshot is one immutable state of the Checker: the definitions as
// written, and the compiled entries Authorize reads. Nothing reachable
// from a published snapshot is modified, except the spend counters, which
// are atomics.
type snapshot struct {
	defs defs

	keys  map[string]*keyEntry
	teams map[string]*teamEntry
	orgs  map[string]*orgEntry

	// groupsGen changes whenever an access group does; compiled grant sets
	// are reused across snapshots only within one generation.
	groupsGen uint64

	implyTargets bool // WithTargetGrantsImplyAliases
}

// defs are the principals as written. The maps are copied on write; the
// values they point to are never modified once published.
type defs struct {
	keys   map[string]*Key
	teams  map[string]*Team
	orgs   map[string]*Organization
	groups map[string]*AccessGroup
}

func newDefs() defs {
	return defs{
		keys:   map[string]*Key{},
		teams:  map[string]*Team{},
		orgs:   map[string]*Organization{},
		groups: map[string]*AccessGroup{},
	}
}

func (d defs) clone() defs {
	return defs{
		keys:   maps.Clone(d.keys),
		teams:  maps.Clone(d.teams),
		orgs:   maps.Clone(d.orgs),
		groups: maps.Clone(d.groups),
	}
}

// budgetRef is one budget on a key's path.
type budgetRef struct {
	spend    *usdCounter
	max      int64 // nano-USD, > 0
	label    string
	periodic bool // the budget has a period
}

type orgEntry struct {
	def    *Organization
	label  string
	own    *grantSet // nil: the organization does not restrict
	spend  *usdCounter
	budget budgetRef // max 0: no budget
}

type teamEntry struct {
	def       *Team
	label     string
	own       *grantSet
	org       *orgEntry   // nil: no organization
	eff       *grantSet   // own ∩ the organization's; nil: everything
	levels    []*grantSet // own and the organization's, non-nil ones only
	spend     *usdCounter
	budgets   []budgetRef // the team's and the organization's, limited ones only
	blockedBy string      // label of the blocked principal, "" if none
}

type keyEntry struct {
	def       *Key
	periodic  bool // a budget on the key's path has a period
	label     string
	aliases   map[string]string // the key's own aliases; read-only
	own       *grantSet
	team      *teamEntry  // nil: no team
	eff       *grantSet   // own ∩ team's ∩ organization's, what Authorize reads; nil: everything
	levels    []*grantSet // own, team's, organization's: non-nil ones only; empty: everything
	spend     *usdCounter
	budgets   []budgetRef
	blockedBy string
	expires   int64 // unix nanoseconds; 0: never
}

func (e *teamEntry) orgOwn() *grantSet {
	if e.org == nil {
		return nil
	}
	return e.org.own
}

func (e *keyEntry) teamEff() *grantSet {
	if e.team == nil {
		return nil
	}
	return e.team.eff
}

// build compiles d into a new snapshot. Spend counters are carried over
// from prev by ID, unless the budget duration changed (spend then restarts
// from 0); new ones start from the stored spend, placed in time by now. Within one access-group generation, the entries of
// unchanged definitions whose parents are unchanged are shared with prev,
// and compiled grant sets are reused where their inputs are the same, so
// a write compiles little more than what it changed.
func build(prev *snapshot, d defs, gen uint64, implyTargets bool, now int64) *snapshot {
	s := &snapshot{
		defs:         d,
		keys:         make(map[string]*keyEntry, len(d.keys)),
		teams:        make(map[string]*teamEntry, len(d.teams)),
		orgs:         make(map[string]*orgEntry, len(d.orgs)),
		groupsGen:    gen,
		implyTargets: implyTargets,
	}
	reuse := prev != nil && prev.groupsGen == gen
	counter := func(prev *usdCounter, every time.Duration, created time.Time, spend float64, resetAt time.Time) *usdCounter {
		if prev != nil && prev.every == int64(every) && prev.anchor == unixNanos(created) {
			return prev
		}
		if prev != nil {
			spend, resetAt = 0, time.Time{} // a new budget period: spend restarts
		}
		return newUSDCounter(every, created, toNanos(spend), resetAt, now)
	}

	for id, o := range d.orgs {
		var pe *orgEntry
		if prev != nil {
			pe = prev.orgs[id]
		}
		if reuse && pe != nil && pe.def == o {
			s.orgs[id] = pe // unchanged: share the entry
			continue
		}
		e := &orgEntry{def: o, label: orgLabel(id)}
		if pe != nil {
			e.spend = pe.spend
		}
		e.spend = counter(e.spend, o.BudgetDuration, o.Created, o.Spend, o.BudgetResetAt)
		if reuse && pe != nil && pe.def == o {
			e.own = pe.own
		} else {
			e.own = compileGrants(o.Models, o.AccessGroups, d.groups)
		}
		if o.MaxBudget > 0 {
			e.budget = budgetRef{spend: e.spend, max: toNanos(o.MaxBudget), label: e.label, periodic: o.BudgetDuration != 0}
		}
		s.orgs[id] = e
	}

	for id, t := range d.teams {
		var pe *teamEntry
		if prev != nil {
			pe = prev.teams[id]
		}
		org := s.orgs[t.OrganizationID]
		if reuse && pe != nil && pe.def == t && pe.org == org {
			s.teams[id] = pe
			continue
		}
		e := &teamEntry{def: t, label: teamLabel(id), org: org}
		if pe != nil {
			e.spend = pe.spend
		}
		e.spend = counter(e.spend, t.BudgetDuration, t.Created, t.Spend, t.BudgetResetAt)
		if reuse && pe != nil && pe.def == t {
			e.own = pe.own
		} else {
			e.own = compileGrants(t.Models, t.AccessGroups, d.groups)
		}
		if e.own != nil {
			e.levels = append(e.levels, e.own)
		}
		if t.MaxBudget > 0 {
			e.budgets = append(e.budgets, budgetRef{spend: e.spend, max: toNanos(t.MaxBudget), label: e.label, periodic: t.BudgetDuration != 0})
		}
		if t.Blocked {
			e.blockedBy = e.label
		}
		var orgOwn *grantSet
		if e.org != nil {
			orgOwn = e.org.own
			if orgOwn != nil {
				e.levels = append(e.levels, orgOwn)
			}
			if e.org.budget.max > 0 {
				e.budgets = append(e.budgets, e.org.budget)
			}
		}
		if pe != nil && pe.own == e.own && pe.orgOwn() == orgOwn {
			e.eff = pe.eff
		} else {
			e.eff = intersect(e.own, orgOwn)
		}
		s.teams[id] = e
	}

	for id, k := range d.keys {
		var pe *keyEntry
		if prev != nil {
			pe = prev.keys[id]
		}
		team := s.teams[k.TeamID]
		if reuse && pe != nil && pe.def == k && pe.team == team {
			s.keys[id] = pe
			continue
		}
		e := &keyEntry{def: k, label: keyLabel(k), aliases: k.Aliases, team: team}
		if pe != nil {
			e.spend = pe.spend
		}
		e.spend = counter(e.spend, k.BudgetDuration, k.Created, k.Spend, k.BudgetResetAt)
		if reuse && pe != nil && pe.def == k {
			e.own = pe.own
		} else {
			e.own = compileGrants(k.Models, k.AccessGroups, d.groups)
		}
		if e.own != nil {
			e.levels = append(e.levels, e.own)
		}
		if k.MaxBudget > 0 {
			e.budgets = append(e.budgets, budgetRef{spend: e.spend, max: toNanos(k.MaxBudget), label: e.label, periodic: k.BudgetDuration != 0})
		}
		if k.Blocked {
			e.blockedBy = e.label
		}
		if !k.Expires.IsZero() {
			e.expires = k.Expires.UnixNano()
			if e.expires == 0 {
				e.expires = 1 // the Unix epoch itself
			}
		}
		var teamEff *grantSet
		if e.team != nil {
			teamEff = e.team.eff
			e.levels = append(e.levels, e.team.levels...)
			e.budgets = append(e.budgets, e.team.budgets...)
			if e.blockedBy == "" {
				e.blockedBy = e.team.blockedBy
			}
		}
		if pe != nil && pe.own == e.own && pe.teamEff() == teamEff {
			e.eff = pe.eff
		} else {
			e.eff = intersect(e.own, teamEff)
		}
		e.levels = slices.Clip(e.levels)
		e.budgets = slices.Clip(e.budgets)
		for _, b := range e.budgets {
			e.periodic = e.periodic || b.periodic
		}
		s.keys[id] = e
	}
	return s
}

// validate checks the references between definitions: every key's team,
// every team's organization and every access group a principal names in
// AccessGroups exist.
func (d defs) validate() error {
	groupsExist := func(subject string, refs []string) error {
		for _, g := range refs {
			if d.groups[g] == nil {
				return errorf(subject, ErrInvalid, "access group %q does not exist", g)
			}
		}
		return nil
	}
	for _, o := range d.orgs {
		if err := groupsExist(orgLabel(o.ID), o.AccessGroups); err != nil {
			return err
		}
	}
	for _, t := range d.teams {
		if t.OrganizationID != "" && d.orgs[t.OrganizationID] == nil {
			return errorf(teamLabel(t.ID), ErrInvalid, "organization %q does not exist", t.OrganizationID)
		}
		if err := groupsExist(teamLabel(t.ID), t.AccessGroups); err != nil {
			return err
		}
	}
	for _, k := range d.keys {
		if k.TeamID != "" && d.teams[k.TeamID] == nil {
			return errorf(keyLabel(k), ErrInvalid, "team %q does not exist", k.TeamID)
		}
		if err := groupsExist(keyLabel(k), k.AccessGroups); err != nil {
			return err
		}
	}
	return nil
}

// defsFromState validates a stored state and turns it into definitions.
func defsFromState(st State) (defs, error) {
	d := newDefs()
	for _, g := range st.AccessGroups {
		n, err := g.normalize()
		if err != nil {
			return defs{}, err
		}
		if d.groups[n.Name] != nil {
			return defs{}, errorf(groupLabel(n.Name), ErrInvalid, "stored twice")
		}
		d.groups[n.Name] = &n
	}
	for _, o := range st.Organizations {
		n, err := o.normalize()
		if err != nil {
			return defs{}, err
		}
		if d.orgs[n.ID] != nil {
			return defs{}, errorf(orgLabel(n.ID), ErrInvalid, "stored twice")
		}
		if p := checkSpend(o.Spend); p != "" {
			return defs{}, errorf(orgLabel(n.ID), ErrInvalid, "%s", p)
		}
		n.Spend, n.BudgetResetAt = o.Spend, o.BudgetResetAt
		d.orgs[n.ID] = &n
	}
	for _, t := range st.Teams {
		n, err := t.normalize()
		if err != nil {
			return defs{}, err
		}
		if d.teams[n.ID] != nil {
			return defs{}, errorf(teamLabel(n.ID), ErrInvalid, "stored twice")
		}
		if p := checkSpend(t.Spend); p != "" {
			return defs{}, errorf(teamLabel(n.ID), ErrInvalid, "%s", p)
		}
		n.Spend, n.BudgetResetAt = t.Spend, t.BudgetResetAt
		d.teams[n.ID] = &n
	}
	for _, k := range st.Keys {
		n, err := k.normalize()
		if err != nil {
			return defs{}, err
		}
		if d.keys[n.ID] != nil {
			return defs{}, errorf(keyLabel(&n), ErrInvalid, "stored twice")
		}
		if p := checkSpend(k.Spend); p != "" {
			return defs{}, errorf(keyLabel(&n), ErrInvalid, "%s", p)
		}
		n.Spend, n.BudgetResetAt = k.Spend, k.BudgetResetAt
		d.keys[n.ID] = &n
	}
	if err := d.validate(); err != nil {
		return defs{}, err
	}
	return d, nil
}

// state returns the whole state to persist, sorted, with the spend of the
// periods that hold now.
func (s *snapshot) state(now int64) State {
	st := State{
		Keys:          make([]Key, 0, len(s.keys)),
		Teams:         make([]Team, 0, len(s.teams)),
		Organizations: make([]Organization, 0, len(s.orgs)),
		AccessGroups:  make([]AccessGroup, 0, len(s.defs.groups)),
	}
	for _, id := range sortedKeys(s.orgs) {
		e := s.orgs[id]
		o := e.def.clone()
		o.Spend, o.BudgetResetAt = e.spend.view(now)
		st.Organizations = append(st.Organizations, o)
	}
	for _, id := range sortedKeys(s.teams) {
		e := s.teams[id]
		t := e.def.clone()
		t.Spend, t.BudgetResetAt = e.spend.view(now)
		st.Teams = append(st.Teams, t)
	}
	for _, id := range sortedKeys(s.keys) {
		e := s.keys[id]
		k := e.def.clone()
		k.Spend, k.BudgetResetAt = e.spend.view(now)
		st.Keys = append(st.Keys, k)
	}
	for _, name := range sortedKeys(s.defs.groups) {
		st.AccessGroups = append(st.AccessGroups, s.defs.groups[name].clone())
	}
	return st
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// write applies fn to a copy of the current definitions, validates the
// result, persists it and only then publishes it. When fn, validation or
// the Store fails, nothing changes and the error is returned. fn reports
// whether it changed any access group. write returns the published
// snapshot.
func (c *Checker) write(ctx context.Context, fn func(d *defs, now time.Time) (groupsChanged bool, err error)) (*snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	old := c.snap()
	d := old.defs.clone()
	now := c.clock()
	groupsChanged, err := fn(&d, now)
	if err != nil {
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	gen := old.groupsGen
	if groupsChanged {
		gen++
	}
	s := build(old, d, gen, c.implyTargets, now.UnixNano())
	if rs, ok := c.store.(RowStore); ok {
		if err := rs.Apply(ctx, changes(old.defs, d)); err != nil {
			return nil, fmt.Errorf("access: save: %w", storeError{err})
		}
	} else if err := c.saveLocked(ctx, s); err != nil {
		return nil, err
	}
	c.cur.Store(s)
	return s, nil
}

// changes returns the rows that differ between the definitions prev and
// next: a definition is written when its pointer changed.
func changes(prev, next defs) Changes {
	var ch Changes
	ch.PutKeys, ch.DeleteKeys = diff(prev.keys, next.keys, func(k Key) (string, Key) {
		k = k.clone()
		k.Spend, k.BudgetResetAt = 0, time.Time{}
		return k.ID, k
	})
	ch.PutTeams, ch.DeleteTeams = diff(prev.teams, next.teams, func(t Team) (string, Team) {
		t = t.clone()
		t.Spend, t.BudgetResetAt = 0, time.Time{}
		return t.ID, t
	})
	ch.PutOrganizations, ch.DeleteOrganizations = diff(prev.orgs, next.orgs, func(o Organization) (string, Organization) {
		o = o.clone()
		o.Spend, o.BudgetResetAt = 0, time.Time{}
		return o.ID, o
	})
	ch.PutAccessGroups, ch.DeleteAccessGroups = diff(prev.groups, next.groups, func(g AccessGroup) (string, AccessGroup) {
		return g.Name, g.clone()
	})
	return ch
}

// diff returns the values of next that are new or replaced since prev,
// prepared by row and sorted by ID, and the sorted IDs of prev that next
// lacks.
func diff[V any](prev, next map[string]*V, row func(V) (string, V)) (put []V, del []string) {
	var ids []string
	for id, v := range next {
		if prev[id] != v {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		_, v := row(*next[id])
		put = append(put, v)
	}
	for id := range prev {
		if _, ok := next[id]; !ok {
			del = append(del, id)
		}
	}
	slices.Sort(del)
	return put, del
}

// saveLocked persists s through a Store that is not a RowStore: the whole
// state. c.mu must be held.
func (c *Checker) saveLocked(ctx context.Context, s *snapshot) error {
	if c.store == nil {
		return nil
	}
	if err := c.store.Save(ctx, s.state(c.clock().UnixNano())); err != nil {
		return fmt.Errorf("access: save: %w", storeError{err})
	}
	return nil
}

// flushLocked persists the spend recorded since the last flush: as deltas
// through a RowStore, else with the whole state. c.mu must be held.
func (c *Checker) flushLocked(ctx context.Context) (err error) {
	if !c.unflushed.Swap(false) {
		return nil
	}
	defer func() {
		if err != nil {
			c.unflushed.Store(true)
		}
	}()
	rs, ok := c.store.(RowStore)
	if !ok {
		return c.saveLocked(ctx, c.snap())
	}
	s := c.snap()
	var ch Changes
	var done []func()
	collect := func(id string, u *usdCounter, into *[]SpendDelta) {
		p := u.cur.Load()
		add := func(q *spendPeriod) {
			n := q.nanos.Load()
			if d := n - q.flushed; d > 0 {
				*into = append(*into, SpendDelta{ID: id, Nanos: d, ResetAt: fromUnixNanos(q.end)})
				done = append(done, func() { q.flushed = n })
			}
		}
		if fp := u.flushedPeriod; fp != nil && fp != p {
			add(fp) // what reached the period that ended before it was flushed
		}
		add(p)
		done = append(done, func() { u.flushedPeriod = p })
	}
	for _, id := range sortedKeys(s.keys) {
		collect(id, s.keys[id].spend, &ch.KeySpend)
	}
	for _, id := range sortedKeys(s.teams) {
		collect(id, s.teams[id].spend, &ch.TeamSpend)
	}
	for _, id := range sortedKeys(s.orgs) {
		collect(id, s.orgs[id].spend, &ch.OrganizationSpend)
	}
	if len(ch.KeySpend)+len(ch.TeamSpend)+len(ch.OrganizationSpend) > 0 {
		if err := rs.Apply(ctx, ch); err != nil {
			return fmt.Errorf("access: flush spend: %w", storeError{err})
		}
	}
	for _, f := range done {
		f()
	}
	return nil
}

// Flush persists the spend recorded since the last flush, if any: through
// a RowStore as deltas, one row per principal that spent; through any
// other Store with the whole state, as every write also does. Call it
// periodically (the gateway does every second) and at shutdown; a crash
// loses the spend recorded since the last flush.
func (c *Checker) Flush(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return c.flushLocked(ctx)
}

// Close flushes spend and refuses further writes with ErrClosed. Reads keep
// answering from the last state. Close is idempotent; it starts and leaves
// no goroutines.
func (c *Checker) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.flushLocked(context.Background())
}
