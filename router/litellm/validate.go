package litellm

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/internal/wildcard"
)

// assignIDs gives every deployment its ID: model_info.id when given (which
// must be unique), else the hash of its model_name and litellm_params as
// written. The n-th deployment (n ≥ 2) with the same hash gets "-n" appended,
// so identical entries stay distinct deployments.
func (l *loader) assignIDs() {
	used := map[string]*entry{}
	for _, e := range l.deps {
		if e.idNode == nil {
			continue
		}
		if prev, dup := used[e.d.ID]; dup {
			l.fail(e.s.at(e.idNode, "model_info.id"), ErrInvalid, "id %q is already used by %s (%s)", e.d.ID, prev.s.entry, prev.d.Source)
			continue
		}
		used[e.d.ID] = e
	}
	count := map[string]int{}
	for _, e := range l.deps {
		if e.idNode != nil {
			continue
		}
		for {
			count[e.hash]++
			id := e.hash
			if n := count[e.hash]; n > 1 {
				id = fmt.Sprintf("%s-%d", e.hash, n)
			}
			if _, taken := used[id]; !taken {
				e.d.ID = id
				used[id] = e
				break
			}
		}
	}
}

// names knows what a model name may refer to once model_list is read.
type names struct {
	groups    map[string]bool
	wildcards [][2]string // prefix and suffix of each wildcard group (package wildcard)
	aliases   map[string]*aliasRule
	skipped   map[string]bool
}

// served reports whether a group serves name, exactly or by wildcard.
func (n *names) served(name string) bool {
	if n.groups[name] {
		return true
	}
	for _, w := range n.wildcards {
		if _, ok := wildcard.Match(w[0], w[1], name); ok {
			return true
		}
	}
	return false
}

// checkNames checks aliases and fallbacks against the groups loaded, and
// fills cfg.Aliases and the fallback maps.
func (l *loader) checkNames() {
	nm := &names{groups: l.groups, aliases: map[string]*aliasRule{}, skipped: l.skipped}
	for _, g := range slices.Sorted(maps.Keys(l.groups)) {
		// A name with more than one "*" serves nothing: the router
		// refuses it.
		if p, s, ok := wildcard.Split(g); ok {
			nm.wildcards = append(nm.wildcards, [2]string{p, s})
		}
	}
	for i := range l.aliasRules {
		a := &l.aliasRules[i]
		nm.aliases[a.Name] = a
	}
	dropped := l.checkAliases(nm)
	for i := range l.aliasRules {
		a := &l.aliasRules[i]
		if !dropped[a.Name] {
			l.cfg.Aliases = append(l.cfg.Aliases, a.Alias)
		}
	}
	slices.SortFunc(l.cfg.Aliases, func(a, b Alias) int { return strings.Compare(a.Name, b.Name) })
	for name := range dropped {
		delete(nm.aliases, name)
		nm.skipped[name] = true
	}

	rt := &l.cfg.Router
	outs := [3]*map[string][]string{&rt.Fallbacks, &rt.ContextWindowFallbacks, &rt.ContentPolicyFallbacks}
	for k, fs := range l.fallbackRules {
		if fs == nil {
			continue
		}
		m := map[string][]string{}
		for _, rule := range fs.rules {
			if rule.from != "*" && !l.known(nm, rule.from) {
				if nm.skipped[rule.from] {
					l.warn(rule.loc, "removed: every deployment of %q was skipped", rule.from)
				} else {
					l.fail(rule.loc, ErrInvalid, "%q is not a model_list group, an alias, or a name a wildcard group serves", rule.from)
				}
				continue
			}
			var to []string
			for _, t := range rule.to {
				switch {
				case l.known(nm, t):
					to = append(to, t)
				case nm.skipped[t]:
					l.warn(rule.loc, "fallback %q removed: every deployment of it was skipped", t)
				default:
					l.fail(rule.loc, ErrInvalid, "fallback %q is not a model_list group, an alias, or a name a wildcard group serves", t)
				}
			}
			if len(to) > 0 {
				m[rule.from] = to
			}
		}
		if len(m) > 0 {
			*outs[k] = m
		}
	}
}

// known reports whether name is served, is an alias, or belongs to an entry
// already refused (whose error is reported, so no second one is needed).
func (l *loader) known(nm *names, name string) bool {
	return nm.served(name) || nm.aliases[name] != nil || l.failed[name]
}

// aliasEnd is where an alias chain ends.
type aliasEnd int

const (
	endServed  aliasEnd = iota + 1 // a served name, or an entry already refused
	endSkipped                     // a group whose every deployment was skipped
	endBroken                      // an unknown name or a shadowing alias: reported
	endCycle                       // part of an alias cycle: reported
)

// checkAliases refuses aliases that shadow a group, loop, or lead nowhere,
// each problem once, in time linear in the number of aliases. It returns the
// aliases dropped because all they reached was skipped.
func (l *loader) checkAliases(nm *names) map[string]bool {
	names := make([]string, 0, len(nm.aliases))
	for name := range nm.aliases {
		names = append(names, name)
	}
	slices.Sort(names)
	ends := map[string]aliasEnd{}
	last := map[string]string{} // for endSkipped: the skipped group
	for _, name := range names {
		a := nm.aliases[name]
		switch {
		case nm.groups[name]:
			l.fail(a.loc, ErrInvalid, "alias %q has the name of a model_list group and would hide it", name)
			ends[name] = endBroken
		case nm.skipped[name]:
			l.fail(a.loc, ErrInvalid, "alias %q has the name of a model_list group (whose deployments were skipped)", name)
			ends[name] = endBroken
		}
	}
	// Names, targets, cycles and depth: what the alias Registry will
	// refuse, checked by the Registry's own rules.
	var set []alias.Alias
	for _, name := range names {
		if ends[name] == 0 {
			a := nm.aliases[name]
			set = append(set, alias.Alias{Name: name, Target: a.Target})
		}
	}
	for _, err := range alias.Check(set, 0) {
		var e *alias.Error
		if !errors.As(err, &e) {
			continue
		}
		if errors.Is(e, alias.ErrCycle) {
			first := slices.Min(e.Chain)
			l.fail(nm.aliases[first].loc, ErrInvalid, "alias cycle: %s", joinChain(e.Chain))
			for _, c := range e.Chain {
				ends[c] = endCycle
			}
			continue
		}
		l.fail(nm.aliases[e.Name].loc, ErrInvalid, "alias %q: %s", e.Name, e.Reason)
		ends[e.Name] = endBroken
	}
	for _, name := range names {
		if ends[name] != 0 {
			continue
		}
		var chain []string // aliases walked, in order
		end, group := aliasEnd(0), ""
		for cur := name; ; {
			if e := ends[cur]; e != 0 {
				end, group = e, last[cur]
				if e == endCycle {
					l.fail(nm.aliases[chain[0]].loc, ErrInvalid, "alias chain %s leads into a cycle", joinChain(append(slices.Clone(chain), cur, "…")))
					end = endBroken
				}
				break
			}
			a := nm.aliases[cur]
			if a == nil {
				// cur is the final target.
				switch {
				case nm.served(cur), l.failed[cur]:
					end = endServed
				case nm.skipped[cur]:
					end, group = endSkipped, cur
				default:
					prev := nm.aliases[chain[len(chain)-1]]
					l.fail(prev.loc, ErrInvalid, "alias %q points at %q, which is not a model_list group, another alias, or a name a wildcard group serves", prev.Name, cur)
					end = endBroken
				}
				break
			}
			chain = append(chain, cur)
			cur = a.Target
		}
		for _, c := range chain {
			ends[c], last[c] = end, group
		}
	}
	dropped := map[string]bool{}
	for _, name := range names {
		if ends[name] == endSkipped {
			dropped[name] = true
			l.warn(nm.aliases[name].loc, "alias %q removed: every deployment of %q was skipped", name, last[name])
		}
	}
	return dropped
}

// joinChain writes names as "a → b → c", eliding the middle of long chains.
func joinChain(names []string) string {
	const keep = 5
	if len(names) > 2*keep {
		names = append(append(slices.Clone(names[:keep]), "…"), names[len(names)-keep:]...)
	}
	return strings.Join(names, " → ")
}
