package event

import (
	"encoding/binary"
	"math"

	"github.com/vigilsim/vigil/internal/word"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Hash folds every field of every event of h into one 64-bit hash: the trace hash that must be
// equal for equal seeds. Strings and byte slices are length-prefixed, so that moving bytes from
// one field to the next changes the hash.
//
// The fields are folded straight into the running hash, a 64-bit word at a time, with no
// encoding into a buffer first: encoding each event into bytes (varints and all) and hashing the
// bytes was three quarters of the trace hash's cost, itself a tenth of a simulation's. The words
// of one event, in this order:
//
//	At, Clock, the Invocation's two halves, Attempt | Index<<32,
//	Kind | HandlerKind<<8 | Timer<<16 | Purge<<24 | End<<32 | Message<<40 | set<<48,
//	Node (a string),
//
// then those of the fields that set marks as set, in the order of its bits (setAwakeable,
// setReason, ...); a field not set is zero and folds nothing more. A string or byte slice folds
// as hashString says; a journal.Result its Value, then a word 0, or 1 | Code<<8 followed by the
// Message; an entry a word Kind | Completed<<8, Name, Target, Param, Duration, Deadline, Result.
// Every event starts with the same six words and the rest is spelled out by set and the lengths,
// so the words of a history are those of one history only, and hashWord keeps different word
// sequences apart as well as a 64-bit hash can.
//
// The loop folds an event's first words itself and calls hashFields only for an event that sets
// something more: a call per event was a tenth of the hash's cost.
func Hash(h *History) uint64 {
	sum := uint64(hashSeed)
	for i := range h.Events {
		e := &h.Events[i]
		set := fieldsSet(e)
		sum = hashWord(sum, uint64(e.At))
		sum = hashWord(sum, uint64(e.Clock))
		sum = hashWord(sum, binary.LittleEndian.Uint64(e.Invocation[:8]))
		sum = hashWord(sum, binary.LittleEndian.Uint64(e.Invocation[8:]))
		sum = hashWord(sum, uint64(e.Attempt)|uint64(e.Index)<<32)
		sum = hashWord(sum, uint64(e.Kind)|uint64(e.HandlerKind)<<8|uint64(e.Timer)<<16|uint64(e.Purge)<<24|
			uint64(e.End)<<32|uint64(e.Message)<<40|set<<48)
		// The node, as hashString folds it, in place for the lengths of the simulator's nodes
		// ("runtime", "executor", "twin").
		switch n := len(e.Node); {
		case n == 8:
			sum = hashWord(hashWord(sum, 8), word.LE64(e.Node))
		case n >= 4 && n < 8:
			sum = hashWord(sum, uint64(le32(e.Node))|uint64(le32(e.Node[n-4:]))<<(8*(n-4))|uint64(n)<<56)
		default:
			sum = hashString(sum, e.Node)
		}
		if set != 0 { // most events: nothing but the words above
			sum = hashFields(sum, e, set)
		}
	}
	return hashFinish(sum ^ uint64(len(h.Events)))
}

// The trace hash mixes a word at a time, in the manner of MurmurHash64A: a multiply and shifts
// per word instead of FNV-1a's multiply per byte. Only equality of hashes matters, so the
// constants are any fixed odd ones; changing them, or the words folded, changes every trace hash.
const (
	hashSeed = 0x243f6a8885a308d3 // the first hexadecimal digits of pi
	hashMul  = 0xc6a4a7935bd1e995
)

// The fields of an event that Hash folds only when they are set, a bit each of the kinds word
// (see Hash). Most events set none of them.
const (
	setAwakeable = 1 << iota
	setReason
	setService
	setHandler
	setKey
	setPromise
	setIdempotencyKey
	setEntry   // not the zero Entry
	setJournal // its length, then its entries
	setResult  // not the zero Result
	setNumbers // any of Seq, Deadline, Request, Status and Span, which fold together
	setHTTP
	setSpec
	setRuntime
)

// hashFields folds the fields of e that set marks as set, a set other than zero (see Hash).
func hashFields(h uint64, e *Event, set uint64) uint64 {
	if set&setAwakeable != 0 {
		h = hashString(h, e.Awakeable)
	}
	if set&setReason != 0 {
		h = hashString(h, e.Reason)
	}
	if set&(setService|setHandler|setKey|setPromise|setIdempotencyKey) != 0 {
		h = hashStrings(h, e, set)
	}
	if set&setEntry != 0 {
		h = hashEntry(h, &e.Entry)
	}
	if set&setJournal != 0 {
		h = hashWord(h, uint64(len(e.Journal)))
		for k := range e.Journal {
			h = hashEntry(h, &e.Journal[k])
		}
	}
	if set&setResult != 0 {
		h = hashResult(h, &e.Result)
	}
	if set&setNumbers != 0 {
		h = hashWord(h, e.Seq)
		h = hashWord(h, uint64(e.Deadline))
		h = hashWord(h, e.Request)
		h = hashWord(h, uint64(e.Status))
		h = hashWord(h, uint64(e.Span))
	}
	if set&setHTTP != 0 {
		h = hashHTTP(h, e.HTTP)
	}
	if set&setSpec != 0 {
		h = hashSpec(h, e.Spec)
	}
	if set&setRuntime != 0 {
		h = hashRuntime(h, e.Runtime)
	}
	return h
}

// hashStrings folds the strings of e after its Reason that set marks as set, in the order of
// their bits: a client's requests set them, most other events none.
func hashStrings(h uint64, e *Event, set uint64) uint64 {
	// One test per string: ranging over an array of them cost more than hashing them.
	if set&setService != 0 {
		h = hashString(h, e.Service)
	}
	if set&setHandler != 0 {
		h = hashString(h, e.Handler)
	}
	if set&setKey != 0 {
		h = hashString(h, e.Key)
	}
	if set&setPromise != 0 {
		h = hashString(h, e.Promise)
	}
	if set&setIdempotencyKey != 0 {
		h = hashString(h, e.IdempotencyKey)
	}
	return h
}

// fieldsSet returns the set bits of e (setAwakeable, ...): which of its optional fields hold
// something.
func fieldsSet(e *Event) uint64 {
	var set uint64
	if len(e.Awakeable)|len(e.Reason)|len(e.Service)|len(e.Handler)|len(e.Key)|len(e.Promise)|len(e.IdempotencyKey) != 0 {
		set = stringsSet(e) // most events set none of them: one test instead of seven
	}
	if !zeroEntry(&e.Entry) {
		set |= setEntry
	}
	if len(e.Journal) != 0 {
		set |= setJournal
	}
	if !emptyResult(&e.Result) {
		set |= setResult
	}
	if e.Seq|uint64(e.Deadline)|e.Request|uint64(e.Status)|uint64(e.Span) != 0 {
		set |= setNumbers
	}
	if e.HTTP != nil {
		set |= setHTTP
	}
	if e.Spec != nil {
		set |= setSpec
	}
	if e.Runtime != nil {
		set |= setRuntime
	}
	return set
}

// stringsSet returns the set bits of e's optional strings.
func stringsSet(e *Event) uint64 {
	var set uint64
	if len(e.Awakeable) != 0 {
		set |= setAwakeable
	}
	if len(e.Reason) != 0 {
		set |= setReason
	}
	if len(e.Service) != 0 {
		set |= setService
	}
	if len(e.Handler) != 0 {
		set |= setHandler
	}
	if len(e.Key) != 0 {
		set |= setKey
	}
	if len(e.Promise) != 0 {
		set |= setPromise
	}
	if len(e.IdempotencyKey) != 0 {
		set |= setIdempotencyKey
	}
	return set
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

// hashString folds s: a string of eight bytes or more as its length, then its bytes eight at a
// time, the last eight as one word even where they overlap the word before (s[n-8:]); a shorter
// one as one word, its bytes little-endian with its length in the top byte; the empty string as
// a word 0. Given the length, the words spell every byte of s, and the first word tells the
// three forms apart (no string is 2^56 bytes long), so two strings fold alike only if they are
// equal.
func hashString[T string | []byte](h uint64, s T) uint64 {
	n := len(s)
	switch {
	case n >= 8:
		h = hashWord(h, uint64(n))
		// The words are read by index, each a load with no slice made for it.
		for i := 0; i < n-8; i += 8 {
			h = hashWord(h, word.LE64(s[i:i+8]))
		}
		return hashWord(h, word.LE64(s[n-8:n]))
	case n >= 4:
		// The first four bytes and the last four, in place: the bytes both hold are the same.
		return hashWord(h, uint64(le32(s))|uint64(le32(s[n-4:]))<<(8*(n-4))|uint64(n)<<56)
	case n > 0:
		return hashWord(h, uint64(s[0])|uint64(s[n/2])<<(8*(n/2))|uint64(s[n-1])<<(8*(n-1))|uint64(n)<<56)
	}
	return hashWord(h, 0)
}

// le32 reads the first four bytes of s as a little-endian number (the compiler makes it one
// load), as word.LE64 reads eight.
func le32[T string | []byte](s T) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// zeroEntry reports whether e is the zero Entry, as hashing sees it. Its numbers and lengths are
// or-ed together: one test rather than one per field, and most events carry no entry.
func zeroEntry(e *journal.Entry) bool {
	return uint64(e.Kind)|uint64(len(e.Name))|uint64(len(e.Target))|uint64(e.Duration)|uint64(e.Deadline)|
		uint64(len(e.Param.Value))|uint64(len(e.Result.Value)) == 0 &&
		!e.Completed && e.Param.Failure == nil && e.Result.Failure == nil
}

// emptyResult reports whether r is the zero Result as hashing sees it (an empty value, no failure).
func emptyResult(r *journal.Result) bool { return len(r.Value) == 0 && r.Failure == nil }

// hashEntry and hashResult take their value by pointer: an Entry is too large to copy for every
// one hashed.
func hashEntry(h uint64, e *journal.Entry) uint64 {
	c := uint64(e.Kind)
	if e.Completed {
		c |= 1 << 8
	}
	h = hashWord(h, c)
	h = hashString(h, e.Name)
	h = hashString(h, e.Target)
	h = hashResult(h, &e.Param)
	h = hashWord(h, uint64(e.Duration))
	h = hashWord(h, uint64(e.Deadline))
	return hashResult(h, &e.Result)
}

func hashResult(h uint64, r *journal.Result) uint64 {
	h = hashString(h, r.Value)
	if r.Failure == nil {
		return hashWord(h, 0)
	}
	h = hashWord(h, 1|uint64(r.Failure.Code)<<8)
	return hashString(h, r.Failure.Message)
}

func hashHTTP(h uint64, x *HTTP) uint64 {
	h = hashString(h, x.Method)
	h = hashString(h, x.Path)
	h = hashWord(h, uint64(x.Status))
	h = hashWord(h, uint64(len(x.Header)))
	for _, f := range x.Header {
		h = hashString(h, f.Name)
		h = hashString(h, f.Value)
	}
	return hashString(h, x.Body)
}

func hashSpec(h uint64, s *protocol.ServiceSpec) uint64 {
	h = hashString(h, s.Name)
	h = hashWord(h, uint64(s.Kind)|uint64(len(s.Handlers))<<8)
	for _, x := range s.Handlers {
		h = hashString(h, x.Name)
		h = hashWord(h, uint64(x.Kind))
	}
	h = hashWord(h, uint64(s.Retention))
	return hashWord(h, uint64(s.IdempotencyRetention))
}

func hashRuntime(h uint64, r *Runtime) uint64 {
	h = hashWord(h, uint64(r.RetryInitialInterval))
	h = hashWord(h, math.Float64bits(r.RetryFactor))
	h = hashWord(h, uint64(r.RetryMaxInterval))
	h = hashWord(h, uint64(r.RetryMaxAttempts))
	h = hashWord(h, uint64(r.InactivityMax))
	return hashWord(h, r.SuspendAtOncePercent)
}
