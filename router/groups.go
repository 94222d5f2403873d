package router

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/internal/wildcard"
)

// table is one compiled Config: immutable once built, published through the
// Router's atomic.Pointer and read without locks. It is also the
// alias.TargetCheck plugged into the Registry, so aliases are checked against
// exactly the groups requests are routed over.
type table struct {
	set      settings
	strategy Strategy
	trusted  bool              // strategy is built in: it only returns eligible indexes
	groups   map[string]*group // exact groups
	wild     []*group          // wildcard groups, most specific first
	deps     []*dep            // every deployment, in config order
	byID     map[string]*dep
}

var _ alias.TargetCheck = (*table)(nil)

// group is the deployments sharing one name.
type group struct {
	name           string
	wild           bool
	prefix, suffix string  // around the "*" of a wildcard group
	deps           []*dep  // config order
	tiers          []*tier // by order, best first
	needEstimate   bool    // some deployment has a context window or a tpm limit
}

// tier is the deployments of one group sharing one order.
type tier struct {
	order  int
	deps   []*dep
	prefix []float64 // prefix[i] = sum of weights of deps[:i+1]
	total  float64
	wmax   float64
	seq    atomic.Uint64 // round-robin position
}

// lookup finds the group serving name and, for a wildcard group, the part of
// name its "*" matched. It allocates nothing.
func (t *table) lookup(name string) (*group, string) {
	if g, ok := t.groups[name]; ok {
		return g, ""
	}
	for _, g := range t.wild {
		if m, ok := wildcard.Match(g.prefix, g.suffix, name); ok {
			return g, m
		}
	}
	return nil, ""
}

// Known reports whether some group serves name. It implements
// alias.TargetCheck.
func (t *table) Known(name string) bool {
	g, _ := t.lookup(name)
	return g != nil
}

// CheckAlias refuses an alias that would shadow a group or whose final
// target no group serves. It implements alias.TargetCheck.
func (t *table) CheckAlias(name, target string) error {
	if _, ok := t.groups[name]; ok {
		return fmt.Errorf("router: alias %q would shadow the model group of the same name", name)
	}
	if !t.Known(target) {
		return fmt.Errorf("router: alias %q: no model group serves its target %q", name, target)
	}
	return nil
}

// compile builds a table from a validated config, taking each deployment's
// state from states by ID (or making one) and recording it in next.
// An unknown strategy name compiles to WeightedRandom; validate reports it.
func compile(cfg *Config, states, next map[string]*state) *table {
	t := &table{
		set:    cfg.settings(),
		groups: make(map[string]*group),
		byID:   make(map[string]*dep, len(cfg.Deployments)),
	}
	if cfg.CustomStrategy != nil {
		t.strategy = cfg.CustomStrategy
		t.set.strategyName = "custom"
	} else {
		s, err := StrategyByName(t.set.strategyName)
		if err != nil {
			s = WeightedRandom{}
		}
		t.strategy, t.trusted = s, true
	}
	byName := map[string]*group{}
	var order []*group
	for i := range cfg.Deployments {
		d := &dep{Deployment: cfg.Deployments[i]}
		d.Tags = slices.Clone(d.Tags)
		if d.ID == "" {
			d.ID = d.defaultID()
		}
		d.prov, d.upstream = d.providerAndUpstream()
		d.wildUp = strings.Contains(d.upstream, "*")
		d.weight = d.Weight
		if d.weight == 0 {
			d.weight = 1
		}
		d.tier = d.Order
		if d.tier <= 0 {
			d.tier = math.MaxInt
		}
		d.timeout = cmp.Or(d.Timeout, t.set.defaultTimout)
		d.stimeout = cmp.Or(d.StreamTimeout, d.timeout)
		d.plain = d.ContextWindow == 0 && d.MaxParallel == 0 && d.RPM == 0 && d.TPM == 0
		if d.Mode == "" {
			d.Mode = "chat"
		}
		st := states[d.ID]
		if st == nil {
			st = new(state)
		}
		next[d.ID] = st
		d.st = st
		t.deps = append(t.deps, d)
		t.byID[d.ID] = d

		g := byName[d.Group]
		if g == nil {
			g = &group{name: d.Group}
			if p, s, ok := wildcard.Split(d.Group); ok {
				g.wild, g.prefix, g.suffix = true, p, s
			}
			byName[d.Group] = g
			order = append(order, g)
		}
		g.deps = append(g.deps, d)
		if d.ContextWindow > 0 || d.TPM > 0 {
			g.needEstimate = true
		}
	}
	for _, g := range order {
		byTier := slices.Clone(g.deps)
		slices.SortStableFunc(byTier, func(a, b *dep) int { return cmp.Compare(a.tier, b.tier) })
		for _, d := range byTier {
			if n := len(g.tiers); n == 0 || g.tiers[n-1].order != d.tier {
				g.tiers = append(g.tiers, &tier{order: d.tier})
			}
			tr := g.tiers[len(g.tiers)-1]
			tr.deps = append(tr.deps, d)
			tr.total += d.weight
			tr.prefix = append(tr.prefix, tr.total)
			tr.wmax = max(tr.wmax, d.weight)
		}
		if g.wild {
			t.wild = append(t.wild, g)
		} else {
			t.groups[g.name] = g
		}
	}
	slices.SortStableFunc(t.wild, func(a, b *group) int {
		if c := cmp.Compare(len(b.prefix)+len(b.suffix), len(a.prefix)+len(a.suffix)); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return t
}
