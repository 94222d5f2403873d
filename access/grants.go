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
	if g.all {
		g.exact, g.prefixes = nil, nil
		return g
	}
	// Keep the shortest prefixes only: "a/" makes "a/b/" redundant.
	slices.Sort(g.prefixes)
	g.prefixes = slices.Compact(g.prefixes)
	kept := g.prefixes[:0]
	for _, p := range g.prefixes {
		if n := len(kept); n > 0 && strings.HasPrefix(p, kept[n-1]) {
			continue
		}
		kept = append(kept, p)
	}
	g.prefixes = slices.Clip(kept)
	return g
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
func levelAllows(g *grantSet, name, target string, hasTarget bool) bool {
	return g.allows(name) || (hasTarget && g.allows(target))
}
