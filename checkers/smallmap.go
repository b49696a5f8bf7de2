package checkers

// smallMap is a map for the checkers' per-run state: a run's few invocations and attempts
// (a handful per seed) are found faster by comparing keys in a short slice than by hashing
// them, and emptying it for the next run is a truncation instead of clearing a hash table.
// Past smallMapLinear entries it also keeps a hash index, so a long run (or a history written
// by hand) stays linear in its size.
//
// Its order of keys is the order of insertion, disturbed by deletions (the last entry takes a
// deleted one's place); callers use it only where order does not matter, as they did the maps
// it replaces. A pointer from ref is valid until the next set, ref or del. The zero value is
// an empty map.
type smallMap[K comparable, V any] struct {
	keys []K
	vals []V
	// index finds a key's position once indexed, which it is from the time there are more
	// than smallMapLinear keys until reset. reset empties it and keeps it, for its room: the
	// maps that outgrow the linear search do so in most runs.
	index   map[K]int
	indexed bool
}

// smallMapLinear is how many keys a smallMap searches one by one before it indexes them.
const smallMapLinear = 24

// find returns the position of k, or -1.
func (m *smallMap[K, V]) find(k K) int {
	if m.indexed {
		if n, ok := m.index[k]; ok {
			return n
		}
		return -1
	}
	for n := range m.keys {
		if m.keys[n] == k {
			return n
		}
	}
	return -1
}

// get returns k's value, or V's zero value when k is absent (as a map read does).
func (m *smallMap[K, V]) get(k K) V {
	if n := m.find(k); n >= 0 {
		return m.vals[n]
	}
	var zero V
	return zero
}

// lookup returns k's value and whether k is present.
func (m *smallMap[K, V]) lookup(k K) (V, bool) {
	if n := m.find(k); n >= 0 {
		return m.vals[n], true
	}
	var zero V
	return zero, false
}

// has reports whether k is present.
func (m *smallMap[K, V]) has(k K) bool { return m.find(k) >= 0 }

// ref returns a pointer to k's value, adding k with V's zero value when it is absent.
func (m *smallMap[K, V]) ref(k K) *V {
	n := m.find(k)
	if n < 0 {
		n = m.insert(k)
	}
	return &m.vals[n]
}

// insert adds k, which must be absent, with V's zero value, and returns its position: for a
// caller that searched for k already.
func (m *smallMap[K, V]) insert(k K) int {
	n := len(m.keys)
	var zero V
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, zero)
	if m.indexed {
		m.index[k] = n
	} else if len(m.keys) > smallMapLinear {
		if m.index == nil {
			m.index = make(map[K]int, 2*len(m.keys))
		}
		m.indexed = true
		for i, key := range m.keys {
			m.index[key] = i
		}
	}
	return n
}

// set sets k's value to v.
func (m *smallMap[K, V]) set(k K, v V) { *m.ref(k) = v }

// del removes k, if present.
func (m *smallMap[K, V]) del(k K) {
	if n := m.find(k); n >= 0 {
		m.remove(n)
	}
}

// remove removes the entry at position n: the last entry takes its place.
func (m *smallMap[K, V]) remove(n int) {
	last := len(m.keys) - 1
	if m.indexed {
		delete(m.index, m.keys[n])
		if n != last {
			m.index[m.keys[last]] = n
		}
	}
	m.keys[n], m.vals[n] = m.keys[last], m.vals[last]
	var zeroK K
	var zeroV V
	m.keys[last], m.vals[last] = zeroK, zeroV // nothing of a removed entry stays reachable
	m.keys, m.vals = m.keys[:last], m.vals[:last]
}

// deleteFunc removes every entry whose key satisfies drop.
func (m *smallMap[K, V]) deleteFunc(drop func(K) bool) {
	for n := 0; n < len(m.keys); {
		if drop(m.keys[n]) {
			m.remove(n) // the last entry moved to n: look at n again
			continue
		}
		n++
	}
}

// reset empties m, keeping its room; the values it held are dropped (zeroed), so nothing of
// one run stays reachable from the next.
func (m *smallMap[K, V]) reset() {
	clear(m.keys)
	clear(m.vals)
	m.keys, m.vals = m.keys[:0], m.vals[:0]
	if m.indexed {
		clear(m.index)
		m.indexed = false
	}
}
