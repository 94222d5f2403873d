package litellm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Limits that keep hostile input (alias bombs, deep nesting) cheap.
const (
	maxDepth      = 1000    // nesting of maps and lists, aliases followed
	maxNodeVisits = 1 << 20 // nodes converted to Go values, aliases expanded
)

var errTooComplex = errors.New("document too deeply nested or too many alias expansions")

// parseDocument parses data as one YAML document, or as JSON when name ends
// in ".json". It returns nil for an empty document. The error is an *Error
// wrapping ErrSyntax, with the line when the parser gave one.
func parseDocument(data []byte, name string) (*yaml.Node, *Error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if strings.HasSuffix(strings.ToLower(name), ".json") {
		return parseJSON(data, name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		// A file that looks like JSON gets the JSON parser's clearer message.
		if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') && !json.Valid(t) {
			if _, jerr := parseJSON(data, name); jerr != nil {
				return nil, jerr
			}
		}
		return nil, yamlError(name, "invalid YAML", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, yamlError(name, "invalid YAML", err)
	default:
		return nil, &Error{Location{File: name, Line: extra.Line}, &problem{ErrSyntax, "more than one YAML document; a config is one document"}}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// yamlError turns a yaml.v3 error ("yaml: line 8: found unexpected end of
// stream") into an *Error carrying the 1-based line.
//
// yaml.v3 reports the line where the broken construct starts, from 0-based
// marks: scanner errors add one, parser errors do not, and a mark on the
// first line is left out. The parser's problems are the fixed texts of
// yaml.v3's parserc.go, so they are recognised here to correct the line.
func yamlError(name, what string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	switch {
	case line == 0:
		line = 1
	case strings.HasPrefix(msg, "did not find expected"), strings.HasPrefix(msg, "found duplicate %"),
		msg == "found incompatible YAML document", msg == "found undefined tag handle":
		line++
	}
	return &Error{Location{File: name, Line: line}, &problem{ErrSyntax, what + ": " + msg}}
}

// parseJSON builds a yaml.Node tree from JSON so both formats share one
// reader. Duplicate keys are kept here and refused later, as in YAML.
func parseJSON(data []byte, name string) (*yaml.Node, *Error) {
	lines := newLineIndex(data)
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lines.pos(se.Offset)
			return nil, &Error{Location{File: name, Line: line}, &problem{ErrSyntax, fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, se)}}
		}
		return nil, &Error{Location{File: name}, &problem{ErrSyntax, "invalid JSON: " + err.Error()}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := jsonValue(dec, lines, 0)
	if err != nil {
		return nil, &Error{Location{File: name}, &problem{ErrSyntax, "invalid JSON: " + err.Error()}}
	}
	return n, nil
}

func jsonValue(dec *json.Decoder, lines lineIndex, depth int) (*yaml.Node, error) {
	if depth > maxDepth {
		return nil, errTooComplex
	}
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	line, col := lines.pos(start + 1)
	n := &yaml.Node{Line: line, Column: col}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
			for dec.More() {
				kstart := dec.InputOffset()
				ktok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := ktok.(string)
				kl, kc := lines.pos(kstart + 1)
				v, err := jsonValue(dec, lines, depth+1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: kl, Column: kc, Style: yaml.DoubleQuotedStyle}, v)
			}
		} else {
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
			for dec.More() {
				v, err := jsonValue(dec, lines, depth+1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, err
		}
	case string:
		n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", t, yaml.DoubleQuotedStyle
	case json.Number:
		n.Kind, n.Value = yaml.ScalarNode, t.String()
		n.Tag = "!!float"
		if _, err := t.Int64(); err == nil {
			n.Tag = "!!int"
		}
	case bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", strconv.FormatBool(t)
	case nil:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	}
	return n, nil
}

// lineIndex holds the offset of each line start, for offset → line:column.
type lineIndex []int64

func newLineIndex(data []byte) lineIndex {
	li := lineIndex{0}
	for i, c := range data {
		if c == '\n' {
			li = append(li, int64(i+1))
		}
	}
	return li
}

// pos returns the 1-based line and column of the byte before offset (JSON
// offsets point just past the offending byte).
func (li lineIndex) pos(offset int64) (line, col int) {
	if offset > 0 {
		offset--
	}
	i := sort.Search(len(li), func(i int) bool { return li[i] > offset }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, int(offset-li[i]) + 1
}

// deref follows YAML aliases (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// pair is one key: value of a mapping.
type pair struct {
	key string
	k   *yaml.Node // the key node, for its line
	v   *yaml.Node // the value, aliases not yet followed
}

// pairs returns the entries of mapping n in order, with YAML merge keys
// (<<: *anchor) expanded: explicit keys win over merged ones, earlier merged
// maps over later ones. Each merged map is read once per call, and the work
// counts against the converter's budget, so merge chains cannot explode.
// Duplicate explicit keys are reported separately by checkDuplicates. n must
// already be dereferenced.
func (c *converter) pairs(n *yaml.Node) []pair {
	return c.appendPairs(nil, n, map[string]bool{}, map[*yaml.Node]bool{}, 0)
}

func (c *converter) appendPairs(out []pair, n *yaml.Node, seen map[string]bool, done map[*yaml.Node]bool, depth int) []pair {
	if n == nil || n.Kind != yaml.MappingNode || depth > maxDepth || done[n] || !c.spend(1+len(n.Content)/2) {
		return out
	}
	done[n] = true
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key := keyString(k)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, pair{key, k, v})
	}
	for _, m := range merges {
		m = deref(m)
		if m == nil {
			continue
		}
		switch m.Kind {
		case yaml.MappingNode:
			out = c.appendPairs(out, m, seen, done, depth+1)
		case yaml.SequenceNode:
			for _, e := range m.Content {
				out = c.appendPairs(out, deref(e), seen, done, depth+1)
			}
		}
	}
	return out
}

// keyString is the text of a mapping key; complex keys get a placeholder.
func keyString(k *yaml.Node) string {
	k = deref(k)
	if k == nil || k.Kind != yaml.ScalarNode {
		return "<complex key>"
	}
	return k.Value
}

// checkDuplicates reports every mapping in the tree with a key given twice
// (PyYAML keeps the last silently; yaml.v3 and this loader refuse). Aliased
// subtrees are checked where they are defined, once.
func checkDuplicates(root *yaml.Node, name string) []*Error {
	var errs []*Error
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if n == nil || depth > maxDepth {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			first := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
					walk(n.Content[i+1], path, depth+1)
					continue
				}
				key := keyString(k)
				if line, dup := first[key]; dup {
					errs = append(errs, &Error{Location{File: name, Line: k.Line, Key: joinKey(path, key)},
						&problem{ErrSyntax, fmt.Sprintf("duplicate key (first defined at line %d)", line)}})
				} else {
					first[key] = k.Line
				}
				walk(n.Content[i+1], joinKey(path, key), depth+1)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				walk(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	}
	walk(root, "", 0)
	return errs
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// converter turns nodes into plain Go values (map[string]any, []any, string,
// int64, float64, bool, nil) with a shared budget against alias bombs.
type converter struct {
	visits   int
	exceeded bool // the budget ran out: the load must fail
}

// spend counts n units of work and reports whether the budget allows it.
func (c *converter) spend(n int) bool {
	c.visits += n
	if c.visits > maxNodeVisits {
		c.exceeded = true
	}
	return !c.exceeded
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	n = deref(n)
	if n == nil || depth > maxDepth || !c.spend(1) {
		return nil, errTooComplex
	}
	switch n.Kind {
	case yaml.MappingNode:
		ps := c.pairs(n)
		m := make(map[string]any, len(ps))
		for _, p := range ps {
			v, err := c.value(p.v, depth+1)
			if err != nil {
				return nil, err
			}
			m[p.key] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n), nil
	}
	return nil, nil
}

// scalarValue is the Go value of a resolved scalar, as yaml.v3 resolves it.
func scalarValue(n *yaml.Node) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	}
	return n.Value
}

// canonical writes v in a deterministic text form (sorted keys) for hashing.
func canonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			canonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			canonical(b, e)
		}
		b.WriteByte(']')
	case string:
		b.WriteString(strconv.Quote(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			b.WriteString(strconv.Quote(strconv.FormatFloat(v, 'g', -1, 64)))
		} else {
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprintf(b, "%q", fmt.Sprint(v))
	}
}

// kindName describes a node's shape for error messages, never its value.
func kindName(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "nothing"
}
