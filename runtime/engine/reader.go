package engine

import (
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// InvocationReader reads persisted invocations as ReadInvocation does, for a caller that reads
// them again and again: the simulator's replay twin reads one at every attempt end. Every Read
// reads the record and every entry from the store and decodes all of them, with
// ReadInvocation's checks, results and errors; only where the results live differs: the reader
// keeps its buffer and its journal from read to read, and takes strings and failures from an
// interner (journal.Interner), so that a read of the same invocation, or of one like it,
// allocates next to nothing.
//
// What a Read returns is the reader's own: it is good until the next Read or Reset, and nothing
// of it may be written (its failures are shared with later reads). The zero InvocationReader is
// ready to use; it is not safe for concurrent use.
type InvocationReader struct {
	buf     []byte
	journal []journal.Entry
	// used is how many entries of journal's room the last Read filled: only those may hold
	// anything of it.
	used int
	key  [indexedKeyLen]byte
	text journal.Interner
}

// maxReaderBuffer bounds the buffer an InvocationReader keeps for its next read: a journal
// larger than that is read into a buffer of its own, which the reader lets go of.
const maxReaderBuffer = 64 << 10

// Read reads invocation id from st as ReadInvocation does (see InvocationReader for how long
// the result is good). A store that cannot append values (mem.Store can) is read by
// ReadInvocation itself, into memory of the result's own.
func (r *InvocationReader) Read(st store.Reader, id protocol.InvocationID) (PersistedInvocation, bool, error) {
	ap, ok := st.(valueAppender)
	if !ok {
		return ReadInvocation(st, id)
	}
	if r.buf == nil {
		r.buf = make([]byte, 0, readInvocationBuffer)
	}
	p, buf, ok, err := readInto(ap, id, r.buf[:0], &r.key, r.journal[:0], &r.text)
	if cap(buf) <= maxReaderBuffer {
		r.buf = buf[:0]
	}
	// The entries past this read's keep nothing of an earlier one alive: those the last read
	// filled are cleared (room that grew is zero past its length).
	if cap(p.Journal) > 0 {
		if n := len(p.Journal); r.used > n {
			clear(p.Journal[n:min(r.used, cap(p.Journal))])
		}
		r.journal, r.used = p.Journal[:0], len(p.Journal)
	}
	return p, ok, err
}

// Reset lets go of what the last Read returned, keeping the reader's room (and its interned
// strings, which are the same whoever reads them).
func (r *InvocationReader) Reset() {
	clear(r.journal[:r.used])
	r.journal, r.used = r.journal[:0], 0
}
