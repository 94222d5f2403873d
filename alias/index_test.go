package alias

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// indexOps applies a sequence of puts and removes, decoded from ops, to an
// index and to a map, and checks after each step that they agree and that
// the old index is unchanged.
func indexOps(t *testing.T, ops []byte) {
	t.Helper()
	keys := 40
	// Names of every length class: short, exactly shortName bytes, one
	// more, and long.
	keyName := func(k int) string {
		n := fmt.Sprintf("k%d", k)
		switch k % 4 {
		case 1:
			n += strings.Repeat("x", shortName-len(n))
		case 2:
			n += strings.Repeat("y", shortName+1-len(n))
		case 3:
			n += strings.Repeat("z", 3*shortName)
		}
		return n
	}
	name := func(b byte) string { return keyName(int(b) % keys) }
	model := map[string]entry{}
	x := newIndex(maphash.MakeSeed(), nil)
	for i := 0; i+1 < len(ops); i += 2 {
		n := name(ops[i+1])
		before := x
		beforeModel := len(model)
		var set []entry
		del := ""
		switch ops[i] % 3 {
		case 0, 1: // put, sometimes disabled, sometimes with a second entry
			e := entry{chain: []string{n}, target: fmt.Sprintf("t%d", i), disabled: ops[i]%2 == 0, alias: &Alias{Name: n}}
			set = append(set, e)
			model[n] = e
			if ops[i]%5 == 0 {
				m := name(ops[i+1] + 7)
				e2 := entry{chain: []string{m}, target: "u", alias: &Alias{Name: m}}
				set = append(set, e2)
				model[m] = e2
			}
		case 2:
			del = n
			delete(model, n)
		}
		x = x.with(set, del)
		if before.len() != beforeModel {
			t.Fatalf("step %d changed the previous index", i/2)
		}
		if x.len() != len(model) {
			t.Fatalf("step %d: index holds %d entries, model %d", i/2, x.len(), len(model))
		}
		if 2*x.len() > len(x.slots) {
			t.Fatalf("step %d: index more than half full: %d of %d", i/2, x.len(), len(x.slots))
		}
		for k := range keys {
			key := keyName(k)
			want, inModel := model[key]
			got, ok := x.get(key)
			if ok != inModel {
				t.Fatalf("step %d: get(%q) found=%v, model %v", i/2, key, ok, inModel)
			}
			if _, ok := x.get(key + "!"); ok {
				t.Fatalf("step %d: get(%q) found a name that was never put", i/2, key+"!")
			}
			if ok && (got.target != want.target || got.disabled != want.disabled || got.alias != want.alias || got.chain[0] != key) {
				t.Fatalf("step %d: get(%q) = %+v, want %+v", i/2, key, got, want)
			}
		}
	}
}

func TestIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		ops := make([]byte, 400)
		for i := range ops {
			ops[i] = byte(rng.IntN(256))
		}
		indexOps(t, ops)
	}
	// Grow to many entries, then delete them all.
	x := newIndex(maphash.MakeSeed(), nil)
	for i := range 1000 {
		n := fmt.Sprint(i)
		x = x.with([]entry{{chain: []string{n}, target: "g", alias: &Alias{Name: n}}}, "")
	}
	for i := range 1000 {
		if x.find(fmt.Sprint(i)) < 0 {
			t.Fatalf("%d lost after growing", i)
		}
	}
	for i := range 1000 {
		x = x.with(nil, fmt.Sprint(i))
		if i+1 < 1000 && x.find(fmt.Sprint(i+1)) < 0 {
			t.Fatalf("%d lost after deleting %d", i+1, i)
		}
	}
	if x.len() != 0 || len(x.slots) != minSlots {
		t.Errorf("emptied index: %d entries in %d slots", x.len(), len(x.slots))
	}
	if x.find("0") >= 0 || x.find("") >= 0 {
		t.Error("emptied index finds names")
	}
}

func FuzzIndex(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 3, 2, 1, 2, 2})
	f.Fuzz(func(t *testing.T, ops []byte) { indexOps(t, ops) })
}

func TestSlotIsOneCacheLine(t *testing.T) {
	if size := unsafe.Sizeof(slot{}); size != 64 {
		t.Errorf("slot is %d bytes; Resolve is laid out for 64", size)
	}
}
