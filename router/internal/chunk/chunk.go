// Package chunk reads and rewrites top-level fields of a chat completion
// chunk's JSON without decoding it: what a gateway needs to pass streamed
// chunks through (the usage to account, the model name to replace) at a
// small fraction of the cost of decoding and encoding them.
//
// The functions take a JSON object that is known to be valid (a
// provider.RawStream checks each chunk) and look at its top level only. On
// anything else they never panic: they report that the field was not found.
package chunk

import (
	"bytes"
	"encoding/json"
)

// Field returns the span obj[start:end] of the value of the top-level key
// in the JSON object obj, and whether it was found. When a key appears more
// than once, the last wins, as encoding/json decodes it.
func Field(obj []byte, key string) (start, end int, ok bool) {
	complete := each(obj, func(lit []byte, vs, ve int) bool {
		if keyIs(lit, key) {
			start, end, ok = vs, ve, true
		}
		return true
	})
	if !complete && !ok {
		return 0, 0, false
	}
	return start, end, ok
}

// Keys calls f with each top-level key of the JSON object obj, in order,
// as written between its quotes (escapes not decoded), until f returns
// false. It reports whether it went through a well-formed object to its
// end.
func Keys(obj []byte, f func(key []byte) bool) bool {
	stopped := false
	complete := each(obj, func(lit []byte, _, _ int) bool {
		if !f(lit[1 : len(lit)-1]) {
			stopped = true
			return false
		}
		return true
	})
	return complete && !stopped
}

// each calls f with each top-level key of obj (its literal, quotes
// included) and the span of its value, until f returns false. It reports
// whether it reached the object's closing brace; a malformed object stops
// it early, after the members before the fault.
func each(obj []byte, f func(lit []byte, vs, ve int) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return i < len(obj) && obj[i] == '}'
		}
		ks := i
		ke := skipString(obj, i)
		if ke < 0 {
			return false
		}
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		vs := skipSpace(obj, i+1)
		ve := skipValue(obj, vs)
		if ve < 0 {
			return false
		}
		if !f(obj[ks:ke], vs, ve) {
			return false
		}
		i = skipSpace(obj, ve)
		if i >= len(obj) || obj[i] != ',' {
			return i < len(obj) && obj[i] == '}'
		}
		i++
	}
}

// ReplaceString appends to dst the object obj with the value of its
// top-level key replaced by quoted, a JSON string with its quotes. An obj
// without the key is appended as it is.
func ReplaceString(dst, obj []byte, key string, quoted []byte) []byte {
	s, e, ok := Field(obj, key)
	if !ok {
		return append(dst, obj...)
	}
	dst = append(dst, obj[:s]...)
	dst = append(dst, quoted...)
	return append(dst, obj[e:]...)
}

// SetString appends to dst the object obj with the value of its top-level
// key set to quoted, a JSON string with its quotes: replaced where obj has
// the key, else added as its first member. An obj that is not an object is
// appended as it is.
func SetString(dst, obj []byte, key string, quoted []byte) []byte {
	if _, _, ok := Field(obj, key); ok {
		return ReplaceString(dst, obj, key, quoted)
	}
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return append(dst, obj...)
	}
	dst = append(dst, obj[:i+1]...)
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	dst = append(dst, quoted...)
	if j := skipSpace(obj, i+1); j < len(obj) && obj[j] != '}' {
		dst = append(dst, ',')
	}
	return append(dst, obj[i+1:]...)
}

// keyIs reports whether the JSON string lit (with its quotes) is key. A key
// written with escapes is decoded first.
func keyIs(lit []byte, key string) bool {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == key
	}
	var s string
	return json.Unmarshal(lit, &s) == nil && s == key
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] ('"'),
// or -1 if it does not end.
func skipString(b []byte, i int) int {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		i += q
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// skipValue returns the index just past the value starting at b[i], or -1
// if it does not end.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				e := skipString(b, i)
				if e < 0 {
					return -1
				}
				i = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	return -1 // a scalar cannot end the object
}
