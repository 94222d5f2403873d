package alias

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Check reports every problem of a set, each once, with what New refuses.
func TestCheck(t *testing.T) {
	type problem struct {
		Name  string
		Kind  error
		Chain []string
	}
	deep := make([]Alias, 0, 12)
	for i := range 12 {
		deep = append(deep, Alias{Name: fmt.Sprintf("d%02d", i), Target: fmt.Sprintf("d%02d", i+1)})
	}
	for _, tc := range []struct {
		name    string
		aliases []Alias
		want    []problem
	}{
		{"fine", []Alias{{Name: "a", Target: "b"}, {Name: "b", Target: "group"}}, nil},
		{"every cycle once, not what leads into it", []Alias{
			{Name: "a", Target: "b"}, {Name: "b", Target: "c"}, {Name: "c", Target: "a"},
			{Name: "x", Target: "a"}, {Name: "self", Target: "self"}, {Name: "ok", Target: "group"},
		}, []problem{
			{"self", ErrCycle, []string{"self", "self"}},
			{"a", ErrCycle, []string{"a", "b", "c", "a"}},
		}},
		{"bad names and duplicates", []Alias{
			{Name: "has space", Target: "g"}, {Name: "t", Target: ""}, {Name: "dup", Target: "g"}, {Name: "dup", Target: "h"},
			{Name: "into-bad", Target: "t"},
		}, []problem{
			{"has space", ErrInvalid, nil}, {"t", ErrInvalid, nil}, {"dup", ErrExists, nil},
		}},
		{"too deep: the first alias over the limit, once", deep, []problem{
			{"d03", ErrInvalid, []string{"d03", "d04", "d05", "d06", "d07", "d08", "d09", "d10", "d11"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []problem
			for _, err := range Check(tc.aliases, 0) {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("not an *Error: %v", err)
				}
				got = append(got, problem{e.Name, e.Err, e.Chain})
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			// New refuses exactly when Check finds a problem.
			_, _, err := build(append([]Alias(nil), tc.aliases...), DefaultMaxDepth)
			if (err == nil) != (len(tc.want) == 0) {
				t.Errorf("build: %v, Check: %d problems", err, len(got))
			}
		})
	}
}
