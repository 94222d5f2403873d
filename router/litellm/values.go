package litellm

import (
	"math"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// envPrefix marks a value read from the environment: os.environ/NAME.
const envPrefix = "os.environ/"

// Readers for typed values. Each reports its own problem (naming the key,
// never the value unless it is a number or a name) and returns ok=false.
// A null value reads as the zero value.

func isNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// str reads a string. With env, os.environ/NAME is replaced by the
// variable's value; an unset variable is an error naming it.
func (l *loader) str(s scope, key string, n *yaml.Node, env bool) (string, bool) {
	v := deref(n)
	if v == nil || v.Kind != yaml.ScalarNode {
		l.fail(s.at(n, key), ErrInvalid, "must be a string, got %s", kindName(v))
		return "", false
	}
	if isNull(v) {
		return "", true
	}
	if env {
		return l.resolve(s, key, n, v.Value)
	}
	return v.Value, true
}

// resolve returns val, or the variable it names when it is os.environ/NAME.
func (l *loader) resolve(s scope, key string, n *yaml.Node, val string) (string, bool) {
	name, ok := strings.CutPrefix(strings.TrimSpace(val), envPrefix)
	if !ok {
		return val, true
	}
	name = strings.TrimSpace(name)
	if name == "" {
		l.fail(s.at(n, key), ErrInvalid, "%q names no variable", envPrefix)
		return "", false
	}
	got, ok := l.lookupEnv(name)
	if !ok {
		l.fail(s.at(n, key), ErrEnv, "environment variable %s is not set (%s%s)", name, envPrefix, name)
		return "", false
	}
	return got, true
}

// num reads a non-negative finite number: a YAML number, or a string holding
// one (as os.environ/NAME values are).
func (l *loader) num(s scope, key string, n *yaml.Node) (float64, bool) {
	v := deref(n)
	if v == nil || v.Kind != yaml.ScalarNode {
		l.fail(s.at(n, key), ErrInvalid, "must be a number, got %s", kindName(v))
		return 0, false
	}
	var f float64
	switch v.Tag {
	case "!!null":
		return 0, true
	case "!!int", "!!float":
		switch x := scalarValue(v).(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		default:
			l.fail(s.at(n, key), ErrInvalid, "must be a number, got %s", v.Value)
			return 0, false
		}
	default:
		text, fromEnv := v.Value, strings.HasPrefix(strings.TrimSpace(v.Value), envPrefix)
		if fromEnv {
			var ok bool
			if text, ok = l.resolve(s, key, n, v.Value); !ok {
				return 0, false
			}
		}
		var err error
		f, err = strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			if fromEnv {
				l.fail(s.at(n, key), ErrInvalid, "must be a number; the value of %s is not", strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v.Value), envPrefix)))
			} else {
				l.fail(s.at(n, key), ErrInvalid, "must be a number, got %s", kindName(v))
			}
			return 0, false
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		l.fail(s.at(n, key), ErrInvalid, "must be a finite number")
		return 0, false
	}
	if f < 0 {
		l.fail(s.at(n, key), ErrInvalid, "must not be negative (got %v)", f)
		return 0, false
	}
	return f, true
}

// integer reads a non-negative whole number.
func (l *loader) integer(s scope, key string, n *yaml.Node) (int64, bool) {
	f, ok := l.num(s, key, n)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || f >= 1<<53 {
		l.fail(s.at(n, key), ErrInvalid, "must be a whole number below 2^53 (got %v)", f)
		return 0, false
	}
	return int64(f), true
}

// maxSeconds bounds durations well inside time.Duration's range (~292 years).
const maxSeconds = 100 * 365 * 24 * 3600

// seconds reads a non-negative number of seconds, as LiteLLM writes every
// timeout and interval.
func (l *loader) seconds(s scope, key string, n *yaml.Node) (time.Duration, bool) {
	f, ok := l.num(s, key, n)
	if !ok {
		return 0, false
	}
	if f > maxSeconds {
		l.fail(s.at(n, key), ErrInvalid, "must be at most %d seconds (got %v)", maxSeconds, f)
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// boolean reads true/false, also in PyYAML's YAML 1.1 spellings (yes/no,
// on/off), and from os.environ/NAME.
func (l *loader) boolean(s scope, key string, n *yaml.Node) (bool, bool) {
	v := deref(n)
	if v == nil || v.Kind != yaml.ScalarNode {
		l.fail(s.at(n, key), ErrInvalid, "must be true or false, got %s", kindName(v))
		return false, false
	}
	if isNull(v) {
		return false, true
	}
	text, ok := l.resolve(s, key, n, v.Value)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "true", "yes", "on", "y":
		return true, true
	case "false", "no", "off", "n":
		return false, true
	}
	l.fail(s.at(n, key), ErrInvalid, "must be true or false, got %s", kindName(v))
	return false, false
}

// strList reads a list of strings (names, tags). A null reads as nil.
func (l *loader) strList(s scope, key string, n *yaml.Node) ([]string, bool) {
	v := deref(n)
	if isNull(v) {
		return nil, true
	}
	if v == nil || v.Kind != yaml.SequenceNode {
		l.fail(s.at(n, key), ErrInvalid, "must be a list of strings, got %s", kindName(v))
		return nil, false
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		ev := deref(e)
		if ev == nil || ev.Kind != yaml.ScalarNode || isNull(ev) {
			l.fail(s.at(e, key), ErrInvalid, "must be a list of strings; an item is %s", kindName(ev))
			return nil, false
		}
		out = append(out, ev.Value)
	}
	return out, true
}

// mapping dereferences n and checks it is a map. A null reads as (nil, true).
func (l *loader) mapping(s scope, key string, n *yaml.Node) (*yaml.Node, bool) {
	v := deref(n)
	if isNull(v) {
		return nil, true
	}
	if v == nil || v.Kind != yaml.MappingNode {
		l.fail(s.at(n, key), ErrInvalid, "must be a map, got %s", kindName(v))
		return nil, false
	}
	return v, true
}

// anyValue converts n to a plain Go value, reporting alias bombs.
func (l *loader) anyValue(s scope, key string, n *yaml.Node) (any, bool) {
	v, err := l.conv.value(n, 0)
	if err != nil {
		l.fail(s.at(n, key), ErrInvalid, "%v", err)
		return nil, false
	}
	return v, true
}
