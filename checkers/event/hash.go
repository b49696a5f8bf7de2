package event

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Hash folds every field of every event of h into one 64-bit hash: the trace hash that must be
// equal for equal seeds. Strings and byte slices are length-prefixed, so that moving bytes from
// one field to the next changes the hash.
func Hash(h *History) uint64 {
	bp := hashBufs.Get().(*[]byte)
	buf := *bp
	sum := uint64(hashSeed)
	for i := range h.Events {
		var n int
		buf, n = encodeHash(buf, &h.Events[i])
		sum = hashBlock(sum, buf, n)
	}
	*bp = buf
	hashBufs.Put(bp)
	return hashFinish(sum ^ uint64(len(h.Events)))
}

// hashBufs holds the encoding buffers of finished hashes, one per run hashed otherwise. A reused
// buffer changes nothing: hashBlock reads only what encodeHash wrote for the event at hand.
var hashBufs = sync.Pool{New: func() any { return new([]byte) }}

// The trace hash takes eight bytes at a time, in the manner of MurmurHash64A: a multiply and
// shifts per word instead of FNV-1a's multiply per byte (hashing was 6% of a simulation's CPU).
// Only equality of hashes matters, so the constants are any fixed odd ones; changing them, or
// the way blocks are fed, changes every trace hash.
const (
	hashSeed = 0x243f6a8885a308d3 // the first hexadecimal digits of pi
	hashMul  = 0xc6a4a7935bd1e995
)

// hashBlock folds one event's encoding, b[:n], into h: its length first, so that the words of
// two blocks can never be read as those of one, then its whole words, then the tail bytes as one
// word, zeros above them. b holds eight zero bytes past n, so the tail is read as one whole word.
func hashBlock(h uint64, b []byte, n int) uint64 {
	h = hashWord(h, uint64(n))
	b = b[:n+8]
	for len(b) >= 24 { // two words a turn: half the loop's own instructions
		h = hashWord(h, binary.LittleEndian.Uint64(b))
		h = hashWord(h, binary.LittleEndian.Uint64(b[8:]))
		b = b[16:]
	}
	if len(b) >= 16 {
		h = hashWord(h, binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	return hashWord(h, binary.LittleEndian.Uint64(b))
}

// hashWord mixes one word into h; for a fixed word it is a bijection of h, so two different
// states never become one.
func hashWord(h, w uint64) uint64 {
	w *= hashMul
	w ^= w >> 47
	w *= hashMul
	h ^= w
	return h * hashMul
}

// hashFinish spreads the last words' bits over the whole hash.
func hashFinish(h uint64) uint64 {
	h ^= h >> 47
	h *= hashMul
	return h ^ h>>47
}

// AppendHash appends the hashed encoding of one event to b.
func AppendHash(b []byte, e *Event) []byte {
	buf, n := encodeHash(nil, e)
	return append(b, buf[:n]...)
}

// encodeHash writes the hashed encoding of e at the start of buf, grown when it is too small,
// and returns the buffer and the encoding's length n; eight zero bytes follow the encoding, for
// hashBlock. The buffer is sized first (hashBound), so that every field is a store at an index
// rather than an append that checks its capacity: with the varints' loops, the appends were
// three quarters of the trace hash's instructions.
//
// The encoding, field by field in this order (the hash's, not the struct's): At as a varint,
// Kind as a byte, Node, the Invocation's 16 bytes, Attempt and Index as uvarints, Entry, the
// Journal's length and entries, Result, the seven strings Awakeable, Reason, Service, Handler,
// Key, Promise and IdempotencyKey, Seq, Deadline, Request, Status, Clock, the five small kinds
// as bytes, Span, then HTTP, Spec and Runtime, each a presence byte and its fields. Strings and
// byte slices are a uvarint length and the bytes; signed numbers are zigzag varints
// (encoding/binary's).
func encodeHash(buf []byte, e *Event) ([]byte, int) {
	if bound := hashBound(e) + 8; cap(buf) < bound {
		buf = make([]byte, bound+bound/2)
	}
	b := buf[:cap(buf)]
	i := putVarint(b, 0, int64(e.At))
	b[i] = byte(e.Kind)
	i = putString(b, i+1, e.Node)
	i += copy(b[i:i+len(e.Invocation)], e.Invocation[:])
	i = putUvarint(b, i, uint64(e.Attempt))
	i = putUvarint(b, i, uint64(e.Index))
	// Most fields of most events are zero, and a zero field encodes as zero bytes (an empty
	// string's length, a zero number, the zero entry's ten): runs of zero fields are written as
	// a run of zero bytes, and only a run that holds something goes field by field.
	if zeroEntry(&e.Entry) && len(e.Journal) == 0 && emptyResult(&e.Result) {
		// The zero entry's ten bytes, the journal's length, the result's two.
		binary.LittleEndian.PutUint64(b[i:], 0)
		binary.LittleEndian.PutUint64(b[i+5:], 0)
		i += 13
	} else {
		i = putEntry(b, i, &e.Entry)
		i = putUvarint(b, i, uint64(len(e.Journal)))
		for k := range e.Journal {
			i = putEntry(b, i, &e.Journal[k])
		}
		i = putResult(b, i, &e.Result)
	}
	if len(e.Awakeable)|len(e.Reason)|len(e.Service)|len(e.Handler)|len(e.Key)|len(e.Promise)|len(e.IdempotencyKey) == 0 {
		binary.LittleEndian.PutUint64(b[i:], 0) // seven empty strings' lengths
		i += 7
	} else {
		// One call per string: ranging over an array of them cost more than encoding them.
		i = putString(b, i, e.Awakeable)
		i = putString(b, i, e.Reason)
		i = putString(b, i, e.Service)
		i = putString(b, i, e.Handler)
		i = putString(b, i, e.Key)
		i = putString(b, i, e.Promise)
		i = putString(b, i, e.IdempotencyKey)
	}
	if e.Seq|uint64(e.Deadline)|e.Request|uint64(e.Status) == 0 {
		binary.LittleEndian.PutUint32(b[i:], 0)
		i += 4
	} else {
		i = putUvarint(b, i, e.Seq)
		i = putVarint(b, i, int64(e.Deadline))
		i = putUvarint(b, i, e.Request)
		i = putVarint(b, i, int64(e.Status))
	}
	i = putVarint(b, i, int64(e.Clock))
	k := b[i : i+5]
	k[0], k[1], k[2], k[3], k[4] = byte(e.HandlerKind), byte(e.Timer), byte(e.Purge), byte(e.End), byte(e.Message)
	i += 5
	if e.Span == 0 && e.HTTP == nil && e.Spec == nil && e.Runtime == nil {
		binary.LittleEndian.PutUint32(b[i:], 0) // Span, and three absent pointers
		return buf, putTail(b, i+4)
	}
	i = putVarint(b, i, int64(e.Span))
	i = putHTTP(b, i, e.HTTP)
	i = putSpec(b, i, e.Spec)
	i = putRuntime(b, i, e.Runtime)
	return buf, putTail(b, i)
}

// putTail writes the eight zero bytes hashBlock reads past the encoding, which ends at i.
func putTail(b []byte, i int) int {
	binary.LittleEndian.PutUint64(b[i:], 0)
	return i
}

// maxVarint is the longest a varint of 64 bits encodes to.
const maxVarint = binary.MaxVarintLen64

// hashBound is at most the length of e's encoding (encodeHash): maxVarint for every number,
// and the bytes of every string and byte slice.
func hashBound(e *Event) int {
	// At, Kind, Node's length, Invocation, Attempt, Index, the journal's length, the seven
	// strings' lengths, Seq to Clock, the five kinds, Span.
	n := maxVarint + 1 + maxVarint + len(e.Invocation) + 2*maxVarint + maxVarint + 7*maxVarint + 5*maxVarint + 5 + maxVarint
	n += len(e.Node) + len(e.Awakeable) + len(e.Reason) + len(e.Service) + len(e.Handler) + len(e.Key) + len(e.Promise) + len(e.IdempotencyKey)
	n += entryBound(&e.Entry) + resultBound(&e.Result)
	for k := range e.Journal {
		n += entryBound(&e.Journal[k])
	}
	n += 3 // the presence bytes of HTTP, Spec and Runtime
	if h := e.HTTP; h != nil {
		n += 2*maxVarint + len(h.Method) + len(h.Path) + maxVarint + maxVarint + maxVarint + len(h.Body)
		for _, f := range h.Header {
			n += 2*maxVarint + len(f.Name) + len(f.Value)
		}
	}
	if s := e.Spec; s != nil {
		n += maxVarint + len(s.Name) + 1 + maxVarint + 2*maxVarint
		for _, h := range s.Handlers {
			n += maxVarint + len(h.Name) + 1
		}
	}
	if e.Runtime != nil {
		n += 6 * maxVarint
	}
	return n
}

func entryBound(e *journal.Entry) int {
	return 1 + 2*maxVarint + len(e.Name) + len(e.Target) + 1 + resultBound(&e.Param) + 2*maxVarint + resultBound(&e.Result)
}

func resultBound(r *journal.Result) int {
	n := maxVarint + len(r.Value) + 1
	if r.Failure != nil {
		n += 2*maxVarint + len(r.Failure.Message)
	}
	return n
}

// putUvarint writes v at b[i:] as binary.AppendUvarint does and returns the index after it.
func putUvarint(b []byte, i int, v uint64) int {
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
	return i + 1
}

// putVarint writes v at b[i:] as binary.AppendVarint does (zigzag) and returns the index after it.
func putVarint(b []byte, i int, v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return putUvarint(b, i, u)
}

// putString and putBytes copy nothing after the length of an empty string: most are, and an
// empty copy still calls memmove.
func putString(b []byte, i int, s string) int {
	i = putUvarint(b, i, uint64(len(s)))
	if len(s) == 0 {
		return i
	}
	return i + copy(b[i:], s)
}

func putBytes(b []byte, i int, s []byte) int {
	i = putUvarint(b, i, uint64(len(s)))
	if len(s) == 0 {
		return i
	}
	return i + copy(b[i:], s)
}

// putEntry and putResult take their value by pointer: an Entry is too large to copy for every
// one hashed.
func putEntry(b []byte, i int, e *journal.Entry) int {
	if zeroEntry(e) {
		// The zero entry, as the fields below write it: most events carry none.
		binary.LittleEndian.PutUint64(b[i:], 0)
		binary.LittleEndian.PutUint16(b[i+8:], 0)
		return i + 10
	}
	b[i] = byte(e.Kind)
	i = putString(b, i+1, e.Name)
	i = putString(b, i, e.Target)
	if e.Completed {
		b[i] = 1
	} else {
		b[i] = 0
	}
	i = putResult(b, i+1, &e.Param)
	i = putVarint(b, i, int64(e.Duration))
	i = putVarint(b, i, e.Deadline)
	return putResult(b, i, &e.Result)
}

// zeroEntry reports whether e encodes as the zero Entry does.
func zeroEntry(e *journal.Entry) bool {
	return e.Kind == 0 && e.Name == "" && e.Target == "" && !e.Completed && e.Duration == 0 && e.Deadline == 0 &&
		emptyResult(&e.Param) && emptyResult(&e.Result)
}

// emptyResult reports whether r encodes as the zero Result does (an empty value, no failure).
func emptyResult(r *journal.Result) bool { return len(r.Value) == 0 && r.Failure == nil }

func putResult(b []byte, i int, r *journal.Result) int {
	i = putBytes(b, i, r.Value)
	if r.Failure == nil {
		b[i] = 0
		return i + 1
	}
	b[i] = 1
	i = putUvarint(b, i+1, uint64(r.Failure.Code))
	return putString(b, i, r.Failure.Message)
}

func putHTTP(b []byte, i int, h *HTTP) int {
	if h == nil {
		b[i] = 0
		return i + 1
	}
	b[i] = 1
	i = putString(b, i+1, h.Method)
	i = putString(b, i, h.Path)
	i = putVarint(b, i, int64(h.Status))
	i = putUvarint(b, i, uint64(len(h.Header)))
	for _, f := range h.Header {
		i = putString(b, i, f.Name)
		i = putString(b, i, f.Value)
	}
	return putBytes(b, i, h.Body)
}

func putSpec(b []byte, i int, s *protocol.ServiceSpec) int {
	if s == nil {
		b[i] = 0
		return i + 1
	}
	b[i] = 1
	i = putString(b, i+1, s.Name)
	b[i] = byte(s.Kind)
	i = putUvarint(b, i+1, uint64(len(s.Handlers)))
	for _, h := range s.Handlers {
		i = putString(b, i, h.Name)
		b[i] = byte(h.Kind)
		i++
	}
	i = putVarint(b, i, int64(s.Retention))
	return putVarint(b, i, int64(s.IdempotencyRetention))
}

func putRuntime(b []byte, i int, r *Runtime) int {
	if r == nil {
		b[i] = 0
		return i + 1
	}
	b[i] = 1
	i = putVarint(b, i+1, int64(r.RetryInitialInterval))
	i = putUvarint(b, i, math.Float64bits(r.RetryFactor))
	i = putVarint(b, i, int64(r.RetryMaxInterval))
	i = putUvarint(b, i, uint64(r.RetryMaxAttempts))
	i = putVarint(b, i, int64(r.InactivityMax))
	return putUvarint(b, i, r.SuspendAtOncePercent)
}
