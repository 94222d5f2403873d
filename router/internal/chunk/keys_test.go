package chunk

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		obj      string
		stopAt   string // f returns false at this key
		want     []string
		complete bool
	}{
		{`{"model":"m","messages":[{"a":1}],"n":2}`, "", []string{"model", "messages", "n"}, true},
		{` { "a" : {"b":1} , "c\"d" : [] } `, "", []string{"a", `c\"d`}, true},
		{`{}`, "", nil, true},
		{`{"a":1,"b":2}`, "a", []string{"a"}, false},
		{`{"a":1,`, "", []string{"a"}, false},
		{`{"a":1 "b":2}`, "", []string{"a"}, false},
		{`[{"a":1}]`, "", nil, false},
		{``, "", nil, false},
	}
	for _, tt := range tests {
		var got []string
		complete := Keys([]byte(tt.obj), func(k []byte) bool {
			got = append(got, string(k))
			return string(k) != tt.stopAt
		})
		if complete != tt.complete {
			t.Errorf("Keys(%s) = %v, want %v", tt.obj, complete, tt.complete)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Keys(%s) keys (-want +got):\n%s", tt.obj, diff)
		}
	}
}

func TestSetString(t *testing.T) {
	tests := []struct{ obj, want string }{
		{`{"id":"1","model":"upstream"}`, `{"id":"1","model":"smart"}`},
		{`{"id":"1"}`, `{"model":"smart","id":"1"}`},
		{` { } `, ` {"model":"smart" } `},
		{`{}`, `{"model":"smart"}`},
		{`[1]`, `[1]`},
	}
	for _, tt := range tests {
		if got := SetString(nil, []byte(tt.obj), "model", []byte(`"smart"`)); string(got) != tt.want {
			t.Errorf("SetString(%s) = %s, want %s", tt.obj, got, tt.want)
		}
	}
}

// FuzzKeysAndSetString: Keys lists exactly the keys encoding/json decodes
// from a valid object (when none is written with escapes or invalid
// UTF-8, which decoding rewrites), and SetString
// leaves a valid object whose key holds the new value and whose other
// members are unchanged.
func FuzzKeysAndSetString(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],"usage":{"total_tokens":3}}`,
		`{"model":"a","model":"b"}`, `{"mod\u0065l":1}`, ` {"a":[{"model":"x"}], "b" : true } `, `{}`, ` { } `, `{"a":"\\\""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		var m map[string]json.RawMessage
		valid := json.Unmarshal(obj, &m) == nil && m != nil
		var keys []string
		escaped := false
		complete := Keys(obj, func(k []byte) bool {
			keys = append(keys, string(k))
			escaped = escaped || bytes.IndexByte(k, '\\') >= 0 || !utf8.Valid(k) // decoding rewrites those
			return true
		})
		if !valid {
			return
		}
		if !complete {
			t.Fatalf("Keys(%s) stopped early on a valid object", obj)
		}
		if !escaped {
			seen := map[string]bool{}
			for _, k := range keys {
				seen[k] = true
			}
			for k := range m {
				if !seen[k] {
					t.Fatalf("Keys(%s) = %q misses %q", obj, keys, k)
				}
			}
			if len(seen) != len(m) {
				t.Fatalf("Keys(%s) = %q, decoding finds %d keys", obj, keys, len(m))
			}
		}
		out := SetString(nil, obj, "model", []byte(`"smart"`))
		var m2 map[string]json.RawMessage
		if err := json.Unmarshal(out, &m2); err != nil {
			t.Fatalf("SetString(%s) = %s: %v", obj, out, err)
		}
		if string(m2["model"]) != `"smart"` {
			t.Fatalf("SetString(%s) = %s: model is %s", obj, out, m2["model"])
		}
		for k, v := range m {
			if k != "model" && !bytes.Equal(compact(t, m2[k]), compact(t, v)) {
				t.Fatalf("SetString(%s) = %s changed %q", obj, out, k)
			}
		}
	})
}
