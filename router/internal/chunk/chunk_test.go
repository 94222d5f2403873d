package chunk

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestField(t *testing.T) {
	tests := []struct {
		obj, key, want string
		ok             bool
	}{
		{`{"id":"1","model":"gpt-4o","choices":[]}`, "model", `"gpt-4o"`, true},
		{` { "model" : "m" } `, "model", `"m"`, true},
		{`{"choices":[{"model":"inner"}],"model":"outer"}`, "model", `"outer"`, true},
		{`{"choices":[{"delta":{"content":"\"model\":\"x\"}"}}]}`, "model", ``, false},
		{`{"usage":null}`, "usage", `null`, true},
		{`{"usage":{"total_tokens":3,"x":[1,{"y":"}"}]},"model":"m"}`, "usage", `{"total_tokens":3,"x":[1,{"y":"}"}]}`, true},
		{`{"n":-1.5e3,"model":"m"}`, "model", `"m"`, true},
		{`{"model":"a","model":"b"}`, "model", `"b"`, true},
		{`{"mod\u0065l":"m"}`, "model", `"m"`, true},
		{`{"modelx":"m"}`, "model", ``, false},
		{`{}`, "model", ``, false},
		{`[]`, "model", ``, false},
		{`{"model":`, "model", ``, false},
		{`{"model":"unterminated}`, "model", ``, false},
		{``, "model", ``, false},
	}
	for _, tt := range tests {
		s, e, ok := Field([]byte(tt.obj), tt.key)
		got := ""
		if ok {
			got = tt.obj[s:e]
		}
		if ok != tt.ok || got != tt.want {
			t.Errorf("Field(%s, %q) = %q, %v; want %q, %v", tt.obj, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReplaceString(t *testing.T) {
	obj := []byte(`{"id":"1","model":"gpt-4o-2024-08-06","choices":[{"delta":{"content":"hi"}}]}`)
	got := ReplaceString([]byte("data: "), obj, "model", []byte(`"smart"`))
	want := `data: {"id":"1","model":"smart","choices":[{"delta":{"content":"hi"}}]}`
	if string(got) != want {
		t.Errorf("ReplaceString = %s, want %s", got, want)
	}
	if got := ReplaceString(nil, []byte(`{"id":"1"}`), "model", []byte(`"smart"`)); string(got) != `{"id":"1"}` {
		t.Errorf("without the key: %s", got)
	}
	if n := testing.AllocsPerRun(100, func() { got = ReplaceString(got[:0], obj, "model", []byte(`"smart"`)) }); n != 0 {
		t.Errorf("ReplaceString into a buffer allocates %v times", n)
	}
}

// FuzzField holds Field to encoding/json: for every valid JSON object, the
// value it finds for a key is the one decoding into a map finds, and
// ReplaceString changes that value and nothing else. On anything else it
// must not panic.
func FuzzField(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"x"},"finish_reason":null}],"usage":null}`,
		`{"model":"a","model":"b"}`, `{"mod\u0065l":1}`, ` {"a":[{"model":"x"}], "model" : true } `, `{"a":"\\\"","model":null}`,
		`{"a":1e5,"b":-0.1,"c":false,"model":"é"}`, `[]`, `{`, `"x"`,
	} {
		f.Add([]byte(s), "model")
	}
	f.Fuzz(func(t *testing.T, obj []byte, key string) {
		s, e, ok := Field(obj, key)
		if ok && (s < 0 || e > len(obj) || s > e) {
			t.Fatalf("span [%d,%d) outside %d bytes", s, e, len(obj))
		}
		var m map[string]json.RawMessage
		if !json.Valid(obj) || json.Unmarshal(obj, &m) != nil || m == nil {
			return
		}
		want, has := m[key]
		if ok != has {
			t.Fatalf("Field(%s, %q) found %v, decoding finds %v", obj, key, ok, has)
		}
		if !ok {
			return
		}
		if !bytes.Equal(compact(t, obj[s:e]), compact(t, want)) {
			t.Fatalf("Field(%s, %q) = %s, decoding gives %s", obj, key, obj[s:e], want)
		}
		out := ReplaceString(nil, obj, key, []byte(`"replaced"`))
		var m2 map[string]json.RawMessage
		if err := json.Unmarshal(out, &m2); err != nil {
			t.Fatalf("ReplaceString(%s) = %s: %v", obj, out, err)
		}
		if string(m2[key]) != `"replaced"` || len(m2) != len(m) {
			t.Fatalf("ReplaceString(%s) = %s", obj, out)
		}
		for k, v := range m {
			if k != key && !bytes.Equal(compact(t, m2[k]), compact(t, v)) {
				t.Fatalf("ReplaceString(%s) changed %q: %s", obj, k, out)
			}
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("compact %s: %v", b, err)
	}
	return out.Bytes()
}

func BenchmarkReplaceString(b *testing.B) {
	obj := []byte(`{"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello there, how"},"logprobs":null,"finish_reason":null}]}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = ReplaceString(buf[:0], obj, "model", []byte(`"smart"`))
	}
}
