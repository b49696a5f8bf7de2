package journal

import (
	"bytes"

	"github.com/vigilsim/vigil/internal/word"
)

// Interner hands out one string for equal bytes, and one *Failure for equal failures, to a
// decoder that meets the same ones again and again: the simulator's replay twin decodes every
// journal anew at each attempt end, and would otherwise copy every entry's name, target and
// failure, and its invocation's service, handler and key, as often as it reads them. Strings
// cannot change, so sharing one is invisible; the failures are shared by everything decoded
// with the same Interner, so nothing may write them.
//
// It also hands out one decoded entry for equal encodings (UnmarshalInternedEntry): the twin's
// journals are written from a small vocabulary (the same inputs, commands and completions again
// and again), so that nearly every entry it reads was decoded before, and an entry is a function
// of its encoding alone.
//
// It keeps at most maxInterned strings and as many failures (it forgets them all when one of
// them is full), entrySlots entries (one per slot, the last decoded there), and no string longer
// than maxInternedLen nor encoding longer than maxInternedEntryLen, so that it neither grows
// without bound nor keeps a large value alive. The zero Interner is ready to use; it is not safe
// for concurrent use.
type Interner struct {
	strings  map[string]string
	failures map[Failure]*Failure
	// recent holds strings of the map by a cheap hash of their bytes (recentSlot), one per
	// slot, the last one looked up there: most lookups find theirs here and hash no string.
	recent [recentSlots]string
	// entries holds decoded entries by a hash of their encodings (entrySlot), made at the
	// first entry decoded.
	entries *[entrySlots]internedEntry
	// room is what is left of the block the copies of encodings are cut from (copyOf).
	room []byte
}

// internedEntry is an entry decoded from raw, the Interner's copy of its encoding, which the
// entry's values share; neither is ever written.
type internedEntry struct {
	raw []byte
	e   Entry
}

const (
	// entrySlots is the size of Interner.entries, entrySlotBits the bits of a slot's number.
	entrySlotBits = 7
	entrySlots    = 1 << entrySlotBits
	// maxInternedEntryLen is the longest encoding whose entry an Interner keeps.
	maxInternedEntryLen = 128
	// entryRoomBlock is the size of the blocks the copies of encodings are cut from.
	entryRoomBlock = 4096
)

// entrySlot is b's slot in Interner.entries: the top bits, the best mixed, of a hash of all its
// bytes (the values that tell a journal's entries apart, a document, a ticket, a decision, may
// be anywhere in them).
func entrySlot(b []byte) int { return int(word.Hash(b) >> (64 - entrySlotBits)) }

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
// (see Interner), and the whole entry when in keeps one decoded from the same bytes. Its values
// are in's copy of b's bytes, not b's, so that b may be written afterwards; nothing of the entry
// may be written: its values and failures are shared with every entry in decodes from the same
// bytes. Its checks and errors are UnmarshalEntry's.
func UnmarshalInternedEntry(b []byte, in *Interner) (Entry, error) {
	if len(b) > maxInternedEntryLen {
		return unmarshalEntry(bytes.Clone(b), false, in)
	}
	if in.entries == nil {
		in.entries = new([entrySlots]internedEntry)
	}
	slot := &in.entries[entrySlot(b)]
	if slot.raw != nil && string(slot.raw) == string(b) {
		return slot.e, nil
	}
	// A slot's copy is never written over, only let go of: entries decoded from it before may
	// still be in use.
	raw := in.copyOf(b)
	e, err := unmarshalEntry(raw, false, in)
	if err != nil {
		return e, err
	}
	*slot = internedEntry{raw: raw, e: e}
	return e, nil
}

// copyOf returns a copy of b (not empty) cut from in's block of room, capped at its length.
func (in *Interner) copyOf(b []byte) []byte {
	if len(b) > cap(in.room) {
		in.room = make([]byte, 0, max(entryRoomBlock, len(b)))
	}
	c := append(in.room, b...)
	in.room = c[len(b):len(b)]
	return c[:len(b):len(b)]
}
