package executor

import "github.com/vigilsim/vigil/runtime/protocol"

// idTable maps invocation IDs to values. While it holds few entries they sit in a slice that
// lookups scan: comparing a 16-byte ID to a handful of others costs less than hashing it, and
// an executor mostly holds a handful (every attempt looks its invocation up in its tables several
// times). Past fewIDs entries it moves them to a map. Nothing iterates it in an order that could
// reach behaviour. The zero idTable is empty.
type idTable[V any] struct {
	few  []idEntry[V]
	many map[protocol.InvocationID]V
}

// idEntry is one entry of an idTable's slice.
type idEntry[V any] struct {
	id protocol.InvocationID
	v  V
}

// fewIDs is how many entries an idTable scans before it moves them to a map.
const fewIDs = 16

// get returns the value of id, and whether it has one.
func (t *idTable[V]) get(id protocol.InvocationID) (V, bool) {
	if t.many != nil {
		v, ok := t.many[id]
		return v, ok
	}
	for i := range t.few {
		if t.few[i].id == id {
			return t.few[i].v, true
		}
	}
	var zero V
	return zero, false
}

// set gives id the value v.
func (t *idTable[V]) set(id protocol.InvocationID, v V) {
	if t.many != nil {
		t.many[id] = v
		return
	}
	for i := range t.few {
		if t.few[i].id == id {
			t.few[i].v = v
			return
		}
	}
	if len(t.few) < fewIDs {
		if t.few == nil {
			t.few = make([]idEntry[V], 0, fewIDs)
		}
		t.few = append(t.few, idEntry[V]{id: id, v: v})
		return
	}
	t.many = make(map[protocol.InvocationID]V, 2*fewIDs)
	for _, e := range t.few {
		t.many[e.id] = e.v
	}
	t.many[id] = v
	clear(t.few)
	t.few = t.few[:0]
}

// delete removes id's value, if any.
func (t *idTable[V]) delete(id protocol.InvocationID) {
	if t.many != nil {
		delete(t.many, id)
		return
	}
	for i := range t.few {
		if t.few[i].id == id {
			last := len(t.few) - 1
			t.few[i] = t.few[last]
			t.few[last] = idEntry[V]{}
			t.few = t.few[:last]
			return
		}
	}
}

// len returns the number of entries.
func (t *idTable[V]) len() int {
	if t.many != nil {
		return len(t.many)
	}
	return len(t.few)
}

// each calls f with every entry, in no particular order.
func (t *idTable[V]) each(f func(protocol.InvocationID, V)) {
	if t.many != nil {
		for id, v := range t.many {
			f(id, v)
		}
		return
	}
	for _, e := range t.few {
		f(e.id, e.v)
	}
}

// emptied returns t without entries, its room kept.
func (t *idTable[V]) emptied() idTable[V] {
	clear(t.few)
	clear(t.many)
	return idTable[V]{few: t.few[:0], many: t.many}
}

// none reports whether t has no room either.
func (t *idTable[V]) none() bool { return t.few == nil && t.many == nil }
