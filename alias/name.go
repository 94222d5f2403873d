package alias

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest alias name or target, in bytes.
const MaxNameLen = 256

// validName reports whether s follows the name rules. It is the
// allocation-free form of checkName for Resolve.
func validName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
		i += size
	}
	return true
}

// nameProblem checks s against the name rules: non-empty, at most
// MaxNameLen bytes, valid UTF-8, no whitespace and no control characters. It
// returns the rule s breaks, or "" if s is well formed.
func nameProblem(s string) string {
	switch {
	case len(s) == 0:
		return "is empty"
	case len(s) > MaxNameLen:
		return fmt.Sprintf("is %d bytes long, more than %d", len(s), MaxNameLen)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("is not valid UTF-8 (byte %d)", i)
		case unicode.IsSpace(r):
			return fmt.Sprintf("contains whitespace (%U at byte %d)", r, i)
		case unicode.IsControl(r):
			return fmt.Sprintf("contains a control character (%U at byte %d)", r, i)
		}
		i += size
	}
	return ""
}

// checkText checks free-form text (descriptions, labels): it must be valid
// UTF-8 so that it survives a round trip through JSON unchanged.
func checkText(op, name, what, s string) error {
	if !utf8.ValidString(s) {
		return &Error{Op: op, Name: name, Err: ErrInvalid, Reason: what + " is not valid UTF-8"}
	}
	return nil
}
