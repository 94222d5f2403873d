package litellm

import (
	"fmt"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// The three kinds of fallbacks, in the order of fallbackKeys.
const (
	fbGeneric = iota
	fbContextWindow
	fbContentPolicy
)

var fallbackKeys = [3]string{"fallbacks", "context_window_fallbacks", "content_policy_fallbacks"}

// fallbackRule is one {from: [to, …]} item.
type fallbackRule struct {
	from string
	to   []string
	loc  Location
}

// fallbackSet is one fallbacks list, as read from one settings key.
type fallbackSet struct {
	key   string // "router_settings.fallbacks"
	loc   Location
	rules []fallbackRule
}

// aliasRule is one model_group_alias entry, checked once groups are known.
type aliasRule struct {
	Alias
	loc Location
}

// shared holds the settings LiteLLM accepts in both router_settings and
// litellm_settings.
type shared struct {
	section    string
	keyLoc     map[string]Location // where each shared key was set
	fallbacks  [3]*fallbackSet
	defaults   *fallbackSet // default_fallbacks, as a rule from "*"
	numRetries *int
	timeout    time.Duration // router_settings.timeout / litellm_settings.request_timeout
}

func (sh *shared) set(key string, loc Location) { sh.keyLoc[key] = loc }

// settings reads router_settings and litellm_settings (either p may be the
// zero pair, when absent) and combines them: router_settings wins.
func (l *loader) settings(s scope, rs, ls pair) {
	r := &shared{section: "router_settings", keyLoc: map[string]Location{}}
	t := &shared{section: "litellm_settings", keyLoc: map[string]Location{}}
	if rs.v != nil {
		l.routerSettings(s, rs, r)
	}
	if ls.v != nil {
		l.litellmSettings(s, ls, t)
	}
	rt := &l.cfg.Router
	// The litellm_settings name of each shared key, by router_settings name.
	for rKey, tKey := range map[string]string{
		"fallbacks": "fallbacks", "context_window_fallbacks": "context_window_fallbacks",
		"content_policy_fallbacks": "content_policy_fallbacks", "default_fallbacks": "default_fallbacks",
		"num_retries": "num_retries", "timeout": "request_timeout",
	} {
		if _, inR := r.keyLoc[rKey]; inR {
			if tl, inT := t.keyLoc[tKey]; inT {
				l.warn(tl, "also set as router_settings.%s, which wins; ignored", rKey)
			}
		}
	}
	pick := func(a, b *fallbackSet) *fallbackSet {
		if a != nil {
			return a
		}
		return b
	}
	for k := range fallbackKeys {
		l.fallbackRules[k] = pick(r.fallbacks[k], t.fallbacks[k])
	}
	if def := pick(r.defaults, t.defaults); def != nil && len(def.rules) > 0 {
		fs := l.fallbackRules[fbGeneric]
		if fs == nil {
			fs = &fallbackSet{key: def.key, loc: def.loc}
			l.fallbackRules[fbGeneric] = fs
		}
		conflict := false
		for _, rule := range fs.rules {
			if rule.from == "*" {
				l.fail(def.loc, ErrInvalid, "conflicts with the \"*\" entry of %s (line %d); keep one", fs.key, rule.loc.Line)
				conflict = true
			}
		}
		if !conflict {
			fs.rules = append(fs.rules, def.rules...)
		}
	}
	switch {
	case r.numRetries != nil:
		rt.NumRetries = r.numRetries
	case t.numRetries != nil:
		rt.NumRetries = t.numRetries
	}
	rt.Timeout = r.timeout
	if _, ok := r.keyLoc["timeout"]; !ok {
		rt.Timeout = t.timeout
	}
}

// routerSettingsKeys are the router_settings keys the loader reads.
func (l *loader) routerSettings(s scope, p pair, sh *shared) {
	m, ok := l.mapping(s, "router_settings", p.v)
	if !ok || m == nil {
		return
	}
	rt := &l.cfg.Router
	for _, q := range l.conv.pairs(m) {
		key := "router_settings." + q.key
		loc := s.at(q.k, key)
		switch q.key {
		case "routing_strategy":
			name, ok := l.str(s, key, q.v, true)
			if !ok || name == "" {
				continue
			}
			st, ok := parseStrategy(strings.TrimSpace(name))
			if !ok {
				l.fail(loc, ErrInvalid, "unknown routing strategy %q; use one of %s, usage-based-routing-v2", name, strings.Join(strategyNames[:], ", "))
				continue
			}
			rt.Strategy = st
		case "model_group_alias":
			l.aliases(s, q)
		case "allowed_fails":
			v, _ := l.integer(s, key, q.v)
			rt.AllowedFails = int(v)
		case "cooldown_time":
			rt.CooldownTime, _ = l.seconds(s, key, q.v)
		case "disable_cooldowns":
			rt.DisableCooldowns, _ = l.boolean(s, key, q.v)
		case "stream_timeout":
			rt.StreamTimeout, _ = l.seconds(s, key, q.v)
		case "retry_after":
			rt.RetryAfter, _ = l.seconds(s, key, q.v)
		case "max_fallbacks":
			v, _ := l.integer(s, key, q.v)
			rt.MaxFallbacks = int(v)
		case "enable_tag_filtering":
			rt.EnableTagFiltering, _ = l.boolean(s, key, q.v)
		case "enable_pre_call_checks":
			rt.EnablePreCallChecks, _ = l.boolean(s, key, q.v)
		case "timeout":
			sh.set(q.key, loc)
			sh.timeout, _ = l.seconds(s, key, q.v)
		case "redis_host":
			rt.Redis.Host, _ = l.str(s, key, q.v, true)
		case "redis_port":
			v, ok := l.integer(s, key, q.v)
			if ok && v > 65535 {
				l.fail(loc, ErrInvalid, "must be a port number from 1 to 65535 (got %d)", v)
				continue
			}
			rt.Redis.Port = int(v)
		case "redis_password":
			rt.Redis.Password, _ = l.str(s, key, q.v, true)
		case "redis_url":
			rt.Redis.URL, _ = l.str(s, key, q.v, true)
		default:
			if !l.sharedSetting(s, q, sh) {
				l.warn(loc, "not used by modelroute; ignored")
			}
		}
	}
}

// litellmSettings reads the litellm_settings keys that configure routing.
func (l *loader) litellmSettings(s scope, p pair, sh *shared) {
	m, ok := l.mapping(s, "litellm_settings", p.v)
	if !ok || m == nil {
		return
	}
	for _, q := range l.conv.pairs(m) {
		key := "litellm_settings." + q.key
		loc := s.at(q.k, key)
		switch q.key {
		case "request_timeout":
			sh.set(q.key, loc)
			sh.timeout, _ = l.seconds(s, key, q.v)
		case "require_auth_for_metrics_endpoint":
			l.cfg.LiteLLM.RequireAuthForMetrics, _ = l.boolean(s, key, q.v)
		default:
			if !l.sharedSetting(s, q, sh) {
				l.warn(loc, "not used by modelroute; ignored")
			}
		}
	}
}

// sharedSetting reads a key valid in both sections; false if q is not one.
func (l *loader) sharedSetting(s scope, q pair, sh *shared) bool {
	key := sh.section + "." + q.key
	loc := s.at(q.k, key)
	switch q.key {
	case "num_retries":
		sh.set(q.key, loc)
		if v, ok := l.integer(s, key, q.v); ok {
			n := int(v)
			sh.numRetries = &n
		}
	case "fallbacks", "context_window_fallbacks", "content_policy_fallbacks":
		sh.set(q.key, loc)
		k := fbGeneric
		for i, name := range fallbackKeys {
			if name == q.key {
				k = i
			}
		}
		sh.fallbacks[k] = l.fallbackList(s, key, q)
	case "default_fallbacks":
		sh.set(q.key, loc)
		names, ok := l.strList(s, key, q.v)
		if ok {
			sh.defaults = &fallbackSet{key: key, loc: loc}
			if len(names) > 0 {
				sh.defaults.rules = []fallbackRule{{from: "*", to: names, loc: loc}}
			}
		}
	default:
		return false
	}
	return true
}

// fallbackList reads a LiteLLM fallbacks list: [{group: [fallback, …]}, …].
func (l *loader) fallbackList(s scope, key string, q pair) *fallbackSet {
	fs := &fallbackSet{key: key, loc: s.at(q.k, key)}
	v := deref(q.v)
	if isNull(v) {
		return fs
	}
	const shape = "must be a list of {group: [fallback, …]} maps, as in [{gpt-4: [gpt-3.5-turbo]}]"
	if v == nil || v.Kind != yaml.SequenceNode {
		l.fail(fs.loc, ErrInvalid, "%s; got %s", shape, kindName(v))
		return nil
	}
	seen := map[string]int{}
	for i, item := range v.Content {
		iv := deref(item)
		if iv == nil || iv.Kind != yaml.MappingNode {
			flat := ""
			if iv != nil && iv.Kind == yaml.ScalarNode {
				flat = " (a flat list of names is not a fallback map)"
			}
			l.fail(fs.loc, ErrInvalid, "%s; item %d is %s%s", shape, i, kindName(iv), flat)
			return nil
		}
		for _, kv := range l.conv.pairs(iv) {
			itemKey := fmt.Sprintf("%s[%d].%s", key, i, kv.key)
			loc := s.at(kv.k, itemKey)
			to, ok := l.strList(s, itemKey, kv.v)
			if !ok {
				continue
			}
			if first, dup := seen[kv.key]; dup {
				l.fail(loc, ErrInvalid, "fallbacks for %q are already given at line %d", kv.key, first)
				continue
			}
			seen[kv.key] = kv.k.Line
			fs.rules = append(fs.rules, fallbackRule{from: kv.key, to: to, loc: loc})
		}
	}
	return fs
}

// aliases reads model_group_alias: {alias: group} or {alias: {model: group, hidden: true}}.
func (l *loader) aliases(s scope, q pair) {
	m, ok := l.mapping(s, "router_settings.model_group_alias", q.v)
	if !ok || m == nil {
		return
	}
	for _, p := range l.conv.pairs(m) {
		key := "router_settings.model_group_alias." + p.key
		loc := s.at(p.k, key)
		if strings.TrimSpace(p.key) == "" {
			l.fail(loc, ErrInvalid, "an alias name must not be empty")
			continue
		}
		a := aliasRule{Alias: Alias{Name: p.key, Source: fmt.Sprintf("%s:%d", s.file, p.k.Line)}, loc: loc}
		v := deref(p.v)
		switch {
		case v != nil && v.Kind == yaml.ScalarNode && !isNull(v):
			a.Target = v.Value
		case v != nil && v.Kind == yaml.MappingNode:
			for _, f := range l.conv.pairs(v) {
				switch f.key {
				case "model":
					a.Target, _ = l.str(s, key+".model", f.v, false)
				case "hidden":
					a.Hidden, _ = l.boolean(s, key+".hidden", f.v)
				default:
					l.warn(s.at(f.k, key+"."+f.key), "not used by modelroute; ignored")
				}
			}
		default:
			l.fail(loc, ErrInvalid, "must be a group name or {model: group, hidden: bool}, got %s", kindName(v))
			continue
		}
		if strings.TrimSpace(a.Target) == "" {
			l.fail(loc, ErrInvalid, "names no target group (model)")
			continue
		}
		l.aliasRules = append(l.aliasRules, a)
	}
}

// general reads general_settings.
func (l *loader) general(s scope, p pair) {
	m, ok := l.mapping(s, "general_settings", p.v)
	if !ok || m == nil {
		return
	}
	g := &l.cfg.General
	for _, q := range l.conv.pairs(m) {
		key := "general_settings." + q.key
		switch q.key {
		case "master_key":
			g.MasterKey, _ = l.str(s, key, q.v, true)
		case "database_url":
			g.DatabaseURL, _ = l.str(s, key, q.v, true)
		case "background_health_checks":
			g.BackgroundHealthChecks, _ = l.boolean(s, key, q.v)
		case "health_check_interval":
			g.HealthCheckInterval, _ = l.seconds(s, key, q.v)
		default:
			l.warn(s.at(q.k, key), "not used by modelroute; ignored")
		}
	}
}
