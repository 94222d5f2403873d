package providertest

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	tests := map[string]string{
		"":              `""`,
		"ok":            `"ok"`,
		`a"b\c`:         `"a\"b\\c"`,
		"line\nnext\t.": `"line\nnext\t."`,
		"\x00\x1f":      `"\u0000\u001f"`,
		"wörld ✓":       `"wörld ✓"`,
		"bad \xff byte": `"bad \ufffd byte"`,
		"\u2028\u2029":  `"\u2028\u2029"`,
	}
	for in, want := range tests {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "ok", "\"\\\n", "\xff\xfe", "\u2028", "é", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString([]byte("x"), s)[1:]
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, b, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Errorf("round trip of %q = %q", s, got)
		}
		if !utf8.ValidString(got) {
			t.Errorf("round trip of %q is not valid UTF-8: %q", s, got)
		}
		std, _ := json.Marshal(s)
		var viaStd string
		json.Unmarshal(std, &viaStd)
		if got != viaStd {
			t.Errorf("appendString(%q) decodes to %q, encoding/json's to %q", s, got, viaStd)
		}
	})
}
