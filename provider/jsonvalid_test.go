package provider

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func wantValidObject(b []byte) bool {
	return json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
}

func TestValidObject(t *testing.T) {
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":[1,2.5,-0,1e9,-1.5E-3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]}`,
		`{"a":{"b":[{},[]]}}`, "{\"é\":\"\xff\"}", deep(10000), deep(10001),
		``, `[]`, `"x"`, `1`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
		`{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":truex}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}",
		`{} {}`, `{}x`, `{"a":1}}`, `{"a" 1}`, `{1:2}`, `{"a":[1 2]}`, `{"a":"unterminated}`,
	} {
		if got, want := validObject([]byte(s)), wantValidObject([]byte(s)); got != want {
			t.Errorf("validObject(%.60q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

// FuzzValidObject holds validObject to encoding/json on any input.
func FuzzValidObject(f *testing.F) {
	for _, s := range []string{`{"id":"1","choices":[{"delta":{"content":"hi"},"finish_reason":null}],"n":-1.5e3}`, `{"a":"\u00e9\n"}`, `[{}]`, `{"a":[1,2,{"b":null}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validObject(b), wantValidObject(b); got != want {
			t.Fatalf("validObject(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValidObject(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-fake-1","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_providertest","choices":[{"index":0,"delta":{"content":"Hello there, how"},"finish_reason":null}]}`)
	for _, c := range []struct {
		name  string
		valid func([]byte) bool
	}{{"validObject", validObject}, {"json.Valid", json.Valid}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !c.valid(chunk) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
