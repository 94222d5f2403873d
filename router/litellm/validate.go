package litellm

import (
	"fmt"
	"slices"
	"strings"
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
	wildcards []string // group names containing "*"
	aliases   map[string]*aliasRule
	skipped   map[string]bool
}

// served reports whether a group serves name, exactly or by wildcard.
func (n *names) served(name string) bool {
	if n.groups[name] {
		return true
	}
	for _, w := range n.wildcards {
		if matchWildcard(w, name) {
			return true
		}
	}
	return false
}

// matchWildcard matches name against a LiteLLM wildcard group name, where
// each "*" stands for any run of characters ("openai/*", "*").
func matchWildcard(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, last)
}

// checkNames checks aliases and fallbacks against the groups loaded, and
// fills cfg.Aliases and the fallback maps.
func (l *loader) checkNames() {
	nm := &names{groups: l.groups, aliases: map[string]*aliasRule{}, skipped: l.skipped}
	for g := range l.groups {
		if strings.Contains(g, "*") {
			nm.wildcards = append(nm.wildcards, g)
		}
	}
	slices.Sort(nm.wildcards)
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

// checkAliases refuses aliases that shadow a group, loop, or lead nowhere.
// It returns the aliases dropped because all they reached was skipped.
func (l *loader) checkAliases(nm *names) map[string]bool {
	dropped := map[string]bool{}
	names := make([]string, 0, len(nm.aliases))
	for name := range nm.aliases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		a := nm.aliases[name]
		if nm.groups[name] {
			l.fail(a.loc, ErrInvalid, "alias %q has the name of a model_list group and would hide it", name)
			continue
		}
		if nm.skipped[name] {
			l.fail(a.loc, ErrInvalid, "alias %q has the name of a model_list group (whose deployments were skipped)", name)
			continue
		}
		chain := []string{name}
		cur := a
		for {
			next := cur.Target
			if i := slices.Index(chain, next); i >= 0 {
				loop := append(chain[i:], next)
				if i == 0 {
					// Report each cycle once, on its first member by name.
					if slices.Min(chain) == name {
						l.fail(a.loc, ErrInvalid, "alias cycle: %s", strings.Join(loop, " → "))
					}
				} else {
					l.fail(a.loc, ErrInvalid, "alias chain %s leads into a cycle", strings.Join(append(chain, next), " → "))
				}
				break
			}
			chain = append(chain, next)
			if na := nm.aliases[next]; na != nil && !nm.groups[next] {
				cur = na
				continue
			}
			switch {
			case nm.served(next), l.failed[next]:
			case nm.skipped[next]:
				dropped[name] = true
				l.warn(a.loc, "alias %q removed: every deployment of %q was skipped", name, next)
			default:
				l.fail(a.loc, ErrInvalid, "alias %q points at %q, which is not a model_list group, another alias, or a name a wildcard group serves", name, next)
			}
			break
		}
	}
	return dropped
}
