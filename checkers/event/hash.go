package event

import (
	"encoding/binary"
	"math"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Hash folds every field of every event of h into one 64-bit hash: the trace hash that must be
// equal for equal seeds. Strings and byte slices are length-prefixed, so that moving bytes from
// one field to the next changes the hash.
func Hash(h *History) uint64 {
	var buf []byte
	sum := uint64(hashSeed)
	for i := range h.Events {
		buf = AppendHash(buf[:0], &h.Events[i])
		n := len(buf)
		// Eight zero bytes past the end make the tail one whole word to read (hashBlock).
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
		sum = hashBlock(sum, buf, n)
	}
	return hashFinish(sum ^ uint64(len(h.Events)))
}

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
	b = binary.AppendVarint(b, int64(e.At))
	b = append(b, byte(e.Kind))
	b = appendString(b, e.Node)
	b = append(b, e.Invocation[:]...)
	b = binary.AppendUvarint(b, uint64(e.Attempt))
	b = binary.AppendUvarint(b, uint64(e.Index))
	b = appendEntry(b, &e.Entry)
	b = binary.AppendUvarint(b, uint64(len(e.Journal)))
	for k := range e.Journal {
		b = appendEntry(b, &e.Journal[k])
	}
	b = appendResult(b, &e.Result)
	// One call per string: ranging over an array of them cost more than encoding them.
	b = appendString(b, e.Awakeable)
	b = appendString(b, e.Reason)
	b = appendString(b, e.Service)
	b = appendString(b, e.Handler)
	b = appendString(b, e.Key)
	b = appendString(b, e.Promise)
	b = appendString(b, e.IdempotencyKey)
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.AppendVarint(b, int64(e.Deadline))
	b = binary.AppendUvarint(b, e.Request)
	b = binary.AppendVarint(b, int64(e.Status))
	b = binary.AppendVarint(b, int64(e.Clock))
	b = append(b, byte(e.HandlerKind), byte(e.Timer), byte(e.Purge), byte(e.End), byte(e.Message))
	b = binary.AppendVarint(b, int64(e.Span))
	b = appendHTTP(b, e.HTTP)
	b = appendSpec(b, e.Spec)
	return appendRuntime(b, e.Runtime)
}

// appendString and appendBytes append nothing after the length of an empty string: most are,
// and an empty append still calls memmove.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	if len(s) == 0 {
		return b
	}
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	if len(s) == 0 {
		return b
	}
	return append(b, s...)
}

// appendEntry and appendResult take their value by pointer: an Entry is too large to copy for
// every one hashed.
func appendEntry(b []byte, e *journal.Entry) []byte {
	if e.Kind == 0 && e.Name == "" && e.Target == "" && !e.Completed && e.Duration == 0 && e.Deadline == 0 &&
		emptyResult(&e.Param) && emptyResult(&e.Result) {
		// The zero entry, as the fields below write it: most events carry none.
		return append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	b = append(b, byte(e.Kind))
	b = appendString(b, e.Name)
	b = appendString(b, e.Target)
	if e.Completed {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendResult(b, &e.Param)
	b = binary.AppendVarint(b, int64(e.Duration))
	b = binary.AppendVarint(b, e.Deadline)
	return appendResult(b, &e.Result)
}

// emptyResult reports whether r encodes as the zero Result does (an empty value, no failure).
func emptyResult(r *journal.Result) bool { return len(r.Value) == 0 && r.Failure == nil }

func appendResult(b []byte, r *journal.Result) []byte {
	b = appendBytes(b, r.Value)
	if r.Failure == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(r.Failure.Code))
	return appendString(b, r.Failure.Message)
}

func appendHTTP(b []byte, h *HTTP) []byte {
	if h == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, h.Method)
	b = appendString(b, h.Path)
	b = binary.AppendVarint(b, int64(h.Status))
	b = binary.AppendUvarint(b, uint64(len(h.Header)))
	for _, f := range h.Header {
		b = appendString(b, f.Name)
		b = appendString(b, f.Value)
	}
	return appendBytes(b, h.Body)
}

func appendSpec(b []byte, s *protocol.ServiceSpec) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, s.Name)
	b = append(b, byte(s.Kind))
	b = binary.AppendUvarint(b, uint64(len(s.Handlers)))
	for _, h := range s.Handlers {
		b = appendString(b, h.Name)
		b = append(b, byte(h.Kind))
	}
	b = binary.AppendVarint(b, int64(s.Retention))
	return binary.AppendVarint(b, int64(s.IdempotencyRetention))
}

func appendRuntime(b []byte, r *Runtime) []byte {
	if r == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, int64(r.RetryInitialInterval))
	b = binary.AppendUvarint(b, math.Float64bits(r.RetryFactor))
	b = binary.AppendVarint(b, int64(r.RetryMaxInterval))
	b = binary.AppendUvarint(b, uint64(r.RetryMaxAttempts))
	b = binary.AppendVarint(b, int64(r.InactivityMax))
	return binary.AppendUvarint(b, r.SuspendAtOncePercent)
}
