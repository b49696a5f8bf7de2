// Package opentable holds the open requests of a driver keyed by request ID: a map's
// operations (Put, Take, Len, sorted IDs) made cheap for IDs that are handed out in increasing
// order and mostly answered soon, as both the host's Core and the simulator's runtime node hand
// them out. A Go map paid some 430 instructions a request (an assignment, a lookup and a
// delete, the delete the dearest); the table pays a few dozen. Any other pattern of IDs is
// still right, only no cheaper than the map it falls back on.
package opentable

import "slices"

// maxSpan is how far past the oldest open request of the window an ID may be and still take a
// slot in it: one request that stays open long (an attach to a long invocation) pins the
// window's start, and the IDs past the span go to the map rather than growing the window.
const maxSpan = 1 << 12

// Table maps IDs to values. The zero Table is empty and ready. It is not safe for concurrent
// use.
type Table[K ~uint64, V any] struct {
	// slots[head:] is the window: slot head+i holds ID base+i when used. Slots outside the
	// window, and unused ones in it, are zero, so that a taken value is not kept alive.
	slots []slot[V]
	head  int
	base  K
	// used counts the used slots of the window.
	used int
	// far holds the IDs outside the window (nil until one is).
	far map[K]V
}

type slot[V any] struct {
	v    V
	used bool
}

// Put sets id's value to v, as m[id] = v does.
func (t *Table[K, V]) Put(id K, v V) {
	if len(t.far) > 0 {
		if _, ok := t.far[id]; ok {
			t.far[id] = v
			return
		}
	}
	if t.used == 0 {
		// The window is empty (every slot zero): it starts afresh at id.
		t.slots, t.head, t.base = t.slots[:0], 0, id
	}
	if id < t.base || uint64(id-t.base) >= maxSpan {
		if t.far == nil {
			t.far = map[K]V{}
		}
		t.far[id] = v
		return
	}
	i := t.head + int(id-t.base)
	if i >= len(t.slots) {
		if i >= cap(t.slots) && t.head > 0 {
			// Out of room at the end while the start is free: move the window down instead
			// of growing the array.
			n := copy(t.slots, t.slots[t.head:])
			clear(t.slots[n:])
			t.slots, i, t.head = t.slots[:n], i-t.head, 0
		}
		t.slots = slices.Grow(t.slots, i+1-len(t.slots))[:i+1]
	}
	s := &t.slots[i]
	if !s.used {
		s.used = true
		t.used++
	}
	s.v = v
}

// Take removes id and returns its value; ok is false, and v the zero value, when id is absent.
func (t *Table[K, V]) Take(id K) (v V, ok bool) {
	if id >= t.base && uint64(id-t.base) < uint64(len(t.slots)-t.head) {
		i := t.head + int(id-t.base)
		if s := &t.slots[i]; s.used {
			v = s.v
			*s = slot[V]{}
			t.used--
			switch {
			case t.used == 0:
				t.slots, t.head = t.slots[:0], 0
			case i == t.head:
				// The oldest went: the window starts at the next open one.
				for !t.slots[t.head].used {
					t.head++
					t.base++
				}
			}
			return v, true
		}
	}
	if len(t.far) > 0 {
		if v, ok = t.far[id]; ok {
			delete(t.far, id)
		}
	}
	return v, ok
}

// Get returns id's value; ok is false, and v the zero value, when id is absent.
func (t *Table[K, V]) Get(id K) (v V, ok bool) {
	if id >= t.base && uint64(id-t.base) < uint64(len(t.slots)-t.head) {
		if s := &t.slots[t.head+int(id-t.base)]; s.used {
			return s.v, true
		}
	}
	v, ok = t.far[id]
	return v, ok
}

// Len returns the number of IDs in t.
func (t *Table[K, V]) Len() int { return t.used + len(t.far) }

// AppendIDs appends t's IDs to dst in increasing order and returns it.
func (t *Table[K, V]) AppendIDs(dst []K) []K {
	start := len(dst)
	for i := t.head; i < len(t.slots); i++ {
		if t.slots[i].used {
			dst = append(dst, t.base+K(i-t.head))
		}
	}
	for id := range t.far {
		dst = append(dst, id)
	}
	slices.Sort(dst[start:])
	return dst
}

// Clear removes every ID, keeping the room.
func (t *Table[K, V]) Clear() {
	clear(t.slots)
	t.slots, t.head, t.used = t.slots[:0], 0, 0
	clear(t.far)
}
