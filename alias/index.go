package alias

import (
	"hash/maphash"
	"math/bits"
	"slices"
)

// index is the immutable hash table a snapshot resolves names with.
//
// It exists because Resolve is the hot path. Each slot is 64 bytes, one
// cache line, and holds everything Resolve needs: the hash, the chain, the
// final target, the disabled flag, and the name itself when it is at most
// shortName bytes long. A hit on such a name reads one line of the table; a
// Go map reads its control word, a slot and the stored key's bytes
// elsewhere. It is open addressing with linear probing, kept at most half
// full, so a probe sequence always ends at an empty slot. Writers build a new
// index per write (copy, then change).
type index struct {
	seed    maphash.Seed
	shift   uint     // 64 - log2(len(slots)): the slot of hash h is h >> shift
	n       int      // occupied slots
	slots   []slot   // len is a power of two, at least minSlots
	aliases []*Alias // parallel to slots: the stored alias of each entry
}

const (
	minSlots  = 8
	shortName = 16 // names up to this many bytes are stored in their slot
)

// slot is one entry as Resolve reads it.
type slot struct {
	// meta is 0 for an empty slot. Otherwise bit 0 is set, bit 1 is the
	// disabled flag, bits 2 to 10 hold the name's length and the rest the
	// top bits of its hash; probing uses the top bits only.
	meta   uint64
	chain  []string // chain[0] is the name
	target string
	short  [shortName]byte // the name, if it is short
}

const (
	metaUsed     = 1
	metaDisabled = 2
	metaLenShift = 2
	metaLow      = 1<<11 - 1 // the bits that are not hash
)

func (s *slot) disabled() bool { return s.meta&metaDisabled != 0 }

// is reports whether s holds name, whose meta (without the disabled flag)
// is m.
func (s *slot) is(m uint64, name string) bool {
	if s.meta|metaDisabled != m|metaDisabled {
		return false
	}
	if len(name) <= shortName {
		return string(s.short[:len(name)]) == name
	}
	return s.chain[0] == name
}

// meta returns the meta word of name, without the disabled flag.
func (x *index) meta(name string) uint64 {
	return maphash.String(x.seed, name)&^metaLow | uint64(len(name))<<metaLenShift | metaUsed
}

// newIndex returns an index holding entries, sized for them.
func newIndex(seed maphash.Seed, entries []entry) *index {
	size := max(minSlots, 1<<bits.Len(uint(2*len(entries))))
	x := &index{
		seed:    seed,
		shift:   uint(64 - bits.TrailingZeros(uint(size))),
		slots:   make([]slot, size),
		aliases: make([]*Alias, size),
	}
	for _, e := range entries {
		x.put(e)
	}
	return x
}

// find returns the slot of name, or -1. It does not allocate.
func (x *index) find(name string) int {
	if x.n == 0 || len(name) > MaxNameLen {
		return -1
	}
	m := x.meta(name)
	mask := uint64(len(x.slots) - 1)
	for i := m >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.meta == 0 {
			return -1
		}
		if s.is(m, name) {
			return int(i)
		}
	}
}

// get returns the entry of name.
func (x *index) get(name string) (entry, bool) {
	i := x.find(name)
	if i < 0 {
		return entry{}, false
	}
	s := &x.slots[i]
	return entry{chain: s.chain, target: s.target, disabled: s.disabled(), alias: x.aliases[i]}, true
}

// lookup returns the entry of name, or nil if name is not an alias.
func (x *index) lookup(name string) *entry {
	if e, ok := x.get(name); ok {
		return &e
	}
	return nil
}

// len returns the number of entries.
func (x *index) len() int { return x.n }

// with returns a copy of x in which each entry of set is added or replaces
// the entry of the same name, and del (unless "") is removed.
func (x *index) with(set []entry, del string) *index {
	upper := x.n + len(set)
	if 2*upper > len(x.slots) || (len(x.slots) > minSlots && 8*upper < len(x.slots)) {
		return x.rebuilt(set, del)
	}
	y := *x
	y.slots = slices.Clone(x.slots)
	y.aliases = slices.Clone(x.aliases)
	if del != "" {
		y.remove(del)
	}
	for _, e := range set {
		y.put(e)
	}
	return &y
}

// rebuilt is with for when the table must grow or shrink.
func (x *index) rebuilt(set []entry, del string) *index {
	skip := make(map[string]bool, len(set)+1)
	if del != "" {
		skip[del] = true
	}
	for _, e := range set {
		skip[e.alias.Name] = true
	}
	all := make([]entry, 0, x.n+len(set))
	for i := range x.slots {
		s := &x.slots[i]
		if s.meta != 0 && !skip[s.chain[0]] {
			all = append(all, entry{chain: s.chain, target: s.target, disabled: s.disabled(), alias: x.aliases[i]})
		}
	}
	return newIndex(x.seed, append(all, set...))
}

// put adds e, or replaces the entry of the same name. The caller makes sure
// the table stays at most half full.
func (x *index) put(e entry) {
	name := e.alias.Name
	m := x.meta(name)
	mask := uint64(len(x.slots) - 1)
	i := m >> x.shift
	for ; x.slots[i].meta != 0 && !x.slots[i].is(m, name); i = (i + 1) & mask {
	}
	if x.slots[i].meta == 0 {
		x.n++
	}
	if e.disabled {
		m |= metaDisabled
	}
	s := slot{meta: m, chain: e.chain, target: e.target}
	if len(name) <= shortName {
		copy(s.short[:], name)
	}
	x.slots[i] = s
	x.aliases[i] = e.alias
}

// remove deletes the entry of name, if any, shifting later entries of the
// same probe run back so that no lookup meets a hole before them.
func (x *index) remove(name string) {
	i := x.find(name)
	if i < 0 {
		return
	}
	mask := len(x.slots) - 1
	for j := (i + 1) & mask; x.slots[j].meta != 0; j = (j + 1) & mask {
		home := int(x.slots[j].meta >> x.shift)
		// Move j into the hole at i unless its home lies cyclically in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i], x.aliases[i] = x.slots[j], x.aliases[j]
			i = j
		}
	}
	x.slots[i], x.aliases[i] = slot{}, nil
	x.n--
}
