package mem

import (
	"math/bits"

	"github.com/vigilsim/vigil/internal/word"
)

// cellTable finds a key's cell: an open-addressing hash table of cells, probed linearly, with a
// hash of the key's words of its own (keyHash). It stands where a map[string]*cell stood: every
// Apply looks up each key it writes and files each new one, and the replay twin's reads
// (AppendValue) look up a record and each journal entry, some fifty thousand lookups a 300-seed
// run, and the runtime's map spent about twice as many instructions on each (hashing, probing
// groups, comparing in a call). Which cell a key finds is all the table decides; nothing
// iterates it, so its order is free to depend on the hash.
type cellTable struct {
	// slots holds each cell at the first free slot from its hash's (nil: free); its length is
	// a power of two, at least twice the cells it holds.
	slots []*cell
	n     int
}

// minTableSlots is the size of a table's first slots.
const minTableSlots = 64

// keyHash hashes key (word.Hash) and stirs it, so that the low bits the table indexes by
// depend on every byte. Collisions only cost probes: every probe compares the key itself.
func keyHash(key string) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := word.Hash(key)
	h ^= h >> 32
	h *= m
	return h ^ h>>29
}

// get returns key's cell, or nil.
func (t *cellTable) get(key string) *cell {
	if t.n == 0 {
		return nil
	}
	c, _ := t.lookup(key)
	return c
}

// lookup returns key's cell, or nil, and key's hash, for add when it is nil.
func (t *cellTable) lookup(key string) (*cell, uint64) {
	h := keyHash(key)
	if t.n == 0 {
		return nil, h
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		c := t.slots[i]
		if c == nil {
			return nil, h
		}
		if c.hash == h && c.key == key {
			return c, h
		}
	}
}

// add files c, whose key the table does not hold and hashes to h (lookup), growing the table
// first if it would be more than half full.
func (t *cellTable) add(c *cell, h uint64) {
	c.hash = h
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.place(c)
	t.n++
}

// place puts c in the first free slot from its hash's.
func (t *cellTable) place(c *cell) {
	mask := uint64(len(t.slots) - 1)
	i := c.hash & mask
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = c
}

// grow doubles the slots and files every cell again.
func (t *cellTable) grow() {
	old := t.slots
	t.slots = make([]*cell, max(minTableSlots, 2*len(old)))
	for _, c := range old {
		if c != nil {
			t.place(c)
		}
	}
}

// refill empties the table and files cells again (each of a key of its own), as compact leaves
// them: rare enough that it needs no delete of its own.
func (t *cellTable) refill(cells []*cell) {
	t.clear()
	if need := 2 * len(cells); need > len(t.slots) {
		t.slots = make([]*cell, 1<<bits.Len(uint(need)))
	}
	for _, c := range cells {
		t.place(c)
	}
	t.n = len(cells)
}

// clear empties the table, keeping its slots.
func (t *cellTable) clear() {
	if t.n > 0 {
		clear(t.slots)
		t.n = 0
	}
}
