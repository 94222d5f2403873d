package access

import (
	"slices"
	"strings"
)

// grantSet is one principal's compiled grant list: its exact names, its
// access groups' members and its wildcards, flattened at write time so that
// a check is one map lookup plus a scan of the (usually few) prefixes.
//
// A nil *grantSet stands for an empty grant list, which does not restrict:
// such levels are left out of a key's levels altogether.
type grantSet struct {
	all      bool                // "*" granted
	exact    map[string]struct{} // exact names, including expanded access-group members
	prefixes []string            // from "prefix*" entries, sorted, none a prefix of another
}

// allows reports whether name is granted. It allocates nothing.
func (g *grantSet) allows(name string) bool {
	if g.all {
		return true
	}
	if _, ok := g.exact[name]; ok {
		return true
	}
	for _, p := range g.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// compileGrants flattens a principal's grant lists. It returns nil when
// both lists are empty (no restriction of the principal's own). An entry of
// models that names an access group grants the literal name and the
// group's members; an entry of groupRefs grants the group's members only.
func compileGrants(models, groupRefs []string, groups map[string]*AccessGroup) *grantSet {
	if len(models) == 0 && len(groupRefs) == 0 {
		return nil
	}
	g := &grantSet{exact: make(map[string]struct{}, len(models))}
	for _, e := range models {
		g.add(e)
		if ag := groups[e]; ag != nil {
			for _, m := range ag.Members {
				g.add(m)
			}
		}
	}
	for _, e := range groupRefs {
		if ag := groups[e]; ag != nil {
			for _, m := range ag.Members {
				g.add(m)
			}
		}
	}
	g.tidy()
	return g
}

// tidy drops what "*" makes redundant, and keeps the shortest prefixes
// only ("a/" makes "a/b/" redundant), sorted.
func (g *grantSet) tidy() {
	if g.all {
		g.exact, g.prefixes = nil, nil
		return
	}
	slices.Sort(g.prefixes)
	g.prefixes = slices.Compact(g.prefixes)
	kept := g.prefixes[:0]
	for _, p := range g.prefixes {
		// Sorted, the names with prefix q follow q contiguously, so the
		// last kept prefix is the only candidate.
		if n := len(kept); n > 0 && strings.HasPrefix(p, kept[n-1]) {
			continue
		}
		kept = append(kept, p)
	}
	g.prefixes = slices.Clip(kept)
}

// coversPrefix reports whether g allows every name that starts with p.
func (g *grantSet) coversPrefix(p string) bool {
	if g.all {
		return true
	}
	for _, q := range g.prefixes {
		if strings.HasPrefix(p, q) {
			return true
		}
	}
	return false
}

// intersect returns a set allowing exactly the names both a and b allow;
// nil stands for "no restriction". It returns a or b itself when the other
// does not restrict, and never modifies either.
//
// For sets E ∪ cone(P) (exact names, and every name with a prefix in P):
// (Ea ∪ cone(Pa)) ∩ (Eb ∪ cone(Pb)) = (Ea ∩ B) ∪ (Eb ∩ A) ∪ cone(P), where P
// holds the prefixes of Pa covered by Pb and those of Pb covered by Pa (a
// name in both cones has a prefix from each, and one of the two is a
// prefix of the other).
func intersect(a, b *grantSet) *grantSet {
	switch {
	case a == nil || (a.all && b != nil):
		return b
	case b == nil || b.all:
		return a
	}
	out := &grantSet{exact: make(map[string]struct{}, min(len(a.exact), len(b.exact)))}
	for e := range a.exact {
		if b.allows(e) {
			out.exact[e] = struct{}{}
		}
	}
	for e := range b.exact {
		if a.allows(e) {
			out.exact[e] = struct{}{}
		}
	}
	for _, p := range a.prefixes {
		if b.coversPrefix(p) {
			out.prefixes = append(out.prefixes, p)
		}
	}
	for _, p := range b.prefixes {
		if a.coversPrefix(p) {
			out.prefixes = append(out.prefixes, p)
		}
	}
	out.tidy()
	return out
}

func (g *grantSet) add(e string) {
	if p, ok := strings.CutSuffix(e, "*"); ok {
		if p == "" {
			g.all = true
			return
		}
		g.prefixes = append(g.prefixes, p)
		return
	}
	g.exact[e] = struct{}{}
}

// levelAllows applies one level, with the optional "a grant on a target
// extends to the aliases resolving to it": target is the final target of
// name when name is a registry alias and the option is on.
func levelAllows(g *grantSet, name, target string) bool {
	return g.allows(name) || g.allows(target)
}
