package journal

// Interner hands out one string for equal bytes, and one *Failure for equal failures, to a
// decoder that meets the same ones again and again: the simulator's replay twin decodes every
// journal anew at each attempt end, and would otherwise copy every entry's name, target and
// failure, and its invocation's service, handler and key, as often as it reads them. Strings
// cannot change, so sharing one is invisible; the failures are shared by everything decoded
// with the same Interner, so nothing may write them.
//
// It keeps at most maxInterned strings and as many failures (it forgets them all when one of
// them is full) and no string longer than maxInternedLen, so that it neither grows without bound
// nor keeps a large value alive. The zero Interner is ready to use; it is not safe for
// concurrent use.
type Interner struct {
	strings  map[string]string
	failures map[Failure]*Failure
	// recent holds strings of the map by a cheap hash of their bytes (recentSlot), one per
	// slot, the last one looked up there: most lookups find theirs here and hash no string.
	recent [recentSlots]string
}

// recentSlots is the size of Interner.recent, a power of two.
const recentSlots = 16

// recentSlot is b's slot in Interner.recent: its length and its first and last bytes, which
// tell apart the names, keys and targets a journal holds well enough for a cache.
func recentSlot(b []byte) int {
	return int(uint(len(b))*7^uint(b[0])^uint(b[len(b)-1])<<3) & (recentSlots - 1)
}

const (
	// maxInterned bounds the strings (and the failures) an Interner keeps.
	maxInterned = 1024
	// maxInternedLen is the longest string an Interner keeps; a longer one is copied each time.
	maxInternedLen = 256
)

// String returns b as a string: the one it returned for the same bytes before, when it still
// has it, or a copy of b.
func (in *Interner) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInternedLen {
		return string(b)
	}
	slot := recentSlot(b)
	if s := in.recent[slot]; s == string(b) { // the conversion in a comparison does not allocate
		return s
	}
	if s, ok := in.strings[string(b)]; ok { // nor does one in a map index
		in.recent[slot] = s
		return s
	}
	if in.strings == nil {
		in.strings = make(map[string]string)
	} else if len(in.strings) >= maxInterned {
		clear(in.strings)
	}
	s := string(b)
	in.strings[s] = s
	in.recent[slot] = s
	return s
}

// failure returns a failure with code and message: the one it returned for the same before,
// when it still has it, or a new one.
func (in *Interner) failure(code uint16, message []byte) *Failure {
	if len(message) > maxInternedLen {
		return &Failure{Code: code, Message: string(message)}
	}
	f := Failure{Code: code, Message: in.String(message)}
	if p, ok := in.failures[f]; ok {
		return p
	}
	if in.failures == nil {
		in.failures = make(map[Failure]*Failure)
	} else if len(in.failures) >= maxInterned {
		clear(in.failures)
	}
	p := &Failure{Code: f.Code, Message: f.Message} // not &f: f would then live on the heap on every call
	in.failures[f] = p
	return p
}

// UnmarshalInternedEntry is UnmarshalOwnedEntry with the entry's strings and failures from in
// (see Interner): its values are b's own bytes, and b must not change afterwards; its failures
// are shared with every entry in decoded, and must not be written. Its checks and errors are
// UnmarshalEntry's.
func UnmarshalInternedEntry(b []byte, in *Interner) (Entry, error) {
	return unmarshalEntry(b, false, in)
}
