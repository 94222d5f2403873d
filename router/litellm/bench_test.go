package litellm

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse measures a load by config size (deployments, one alias and
// one fallback per ten groups).
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		var s strings.Builder
		s.WriteString("model_list:\n")
		for i := range n {
			fmt.Fprintf(&s, "  - model_name: group-%d\n    litellm_params:\n      model: openai/gpt-4o-%d\n      api_key: os.environ/OPENAI_API_KEY\n      rpm: 100\n      tags: [a, b]\n    model_info: {mode: chat}\n", i/2, i)
		}
		s.WriteString("router_settings:\n  model_group_alias:\n")
		for i := 0; i < n/2; i += 10 {
			fmt.Fprintf(&s, "    alias-%d: group-%d\n", i, i)
		}
		s.WriteString("  fallbacks:\n")
		for i := 0; i+1 < n/2; i += 10 {
			fmt.Fprintf(&s, "    - group-%d: [group-%d]\n", i, i+1)
		}
		data := []byte(s.String())
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data, "bench.yaml", WithEnv(fakeEnv)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
