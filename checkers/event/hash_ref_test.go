package event

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// referenceTraceHash is Hash over referenceHash's encoding, an append per field, as the trace
// hash was first written.
func referenceTraceHash(h *History) uint64 {
	var buf []byte
	sum := uint64(hashSeed)
	for i := range h.Events {
		buf = referenceHash(buf[:0], &h.Events[i])
		n := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
		sum = hashBlock(sum, buf, n)
	}
	return hashFinish(sum ^ uint64(len(h.Events)))
}

// TestEncodeHashIsReference holds the indexed encoding to the appending one, byte for byte and
// hash for hash, over drawn events that set any field to any length or number (varints of every
// size, negatives, long strings), encoded one after another into one buffer, long events before
// short ones, so that bytes an earlier event left behind would show.
func TestEncodeHashIsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	long := strings.Repeat("y", 300)
	// sparse is how many tenths of the fields of the event being drawn are zero: most fields of
	// most events are, and the encoder writes runs of zero fields at once.
	sparse := 0
	zero := func() bool { return r.IntN(10) < sparse }
	str := func() string {
		if zero() {
			return ""
		}
		return long[:r.IntN(len(long))]
	}
	bs := func() []byte {
		if zero() {
			return nil
		}
		return []byte(long[:r.IntN(len(long))])
	}
	num := func() int64 {
		if zero() {
			return 0
		}
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return r.Int64N(256) - 128
		case 2:
			return int64(r.Uint64())
		}
		return r.Int64N(1<<40) - 1<<39
	}
	result := func() journal.Result {
		res := journal.Result{Value: bs()}
		if !zero() && r.IntN(3) == 0 {
			res.Failure = &journal.Failure{Code: uint16(num()), Message: str()}
		}
		return res
	}
	entry := func() journal.Entry {
		if zero() {
			return journal.Entry{}
		}
		return journal.Entry{Kind: journal.Kind(r.IntN(20)), Name: str(), Target: str(), Completed: r.IntN(2) == 0,
			Param: result(), Duration: time.Duration(num()), Deadline: num(), Result: result()}
	}
	var h History
	for range 3000 {
		sparse = []int{3, 8, 10}[r.IntN(3)]
		e := Event{At: time.Duration(num()), Kind: Kind(r.IntN(60)), Node: str(), Attempt: uint32(num()), Index: uint32(num()),
			Entry: entry(), Result: result(), Awakeable: str(), Reason: str(), Service: str(), Handler: str(), Key: str(),
			Promise: str(), Seq: uint64(num()), Deadline: time.Duration(num()), Request: uint64(num()), Status: int(num()),
			Clock: time.Duration(num()), IdempotencyKey: str(), HandlerKind: HandlerKind(r.IntN(256)), Timer: TimerKind(r.IntN(256)),
			Purge: PurgeKind(r.IntN(256)), End: AttemptEnd(r.IntN(256)), Message: protocol.Kind(r.IntN(256)), Span: time.Duration(num())}
		binary.LittleEndian.PutUint64(e.Invocation[:], r.Uint64())
		for range r.IntN(4) * int(num()&1) {
			e.Journal = append(e.Journal, entry())
		}
		if !zero() {
			e.HTTP = &HTTP{Method: str(), Path: str(), Status: int(num()), Body: bs()}
			for range r.IntN(3) {
				e.HTTP.Header = append(e.HTTP.Header, Header{Name: str(), Value: str()})
			}
		}
		if !zero() && r.IntN(2) == 0 {
			e.Spec = &protocol.ServiceSpec{Name: str(), Kind: protocol.ServiceKind(r.IntN(4)), Retention: time.Duration(num()), IdempotencyRetention: time.Duration(num())}
			for range r.IntN(3) {
				e.Spec.Handlers = append(e.Spec.Handlers, protocol.HandlerSpec{Name: str(), Kind: protocol.HandlerKind(r.IntN(4))})
			}
		}
		if !zero() && r.IntN(2) == 0 {
			e.Runtime = &Runtime{RetryInitialInterval: time.Duration(num()), RetryFactor: math.Float64frombits(uint64(num())),
				RetryMaxInterval: time.Duration(num()), RetryMaxAttempts: uint32(num()), InactivityMax: time.Duration(num()), SuspendAtOncePercent: uint64(num())}
		}
		h.Events = append(h.Events, e)
	}
	var buf []byte
	for i := range h.Events {
		var n int
		buf, n = encodeHash(buf, &h.Events[i])
		want := referenceHash(nil, &h.Events[i])
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("event %d encodes as\n%x\nwant\n%x", i, buf[:n], want)
		}
		if !bytes.Equal(buf[n:n+8], make([]byte, 8)) {
			t.Fatalf("event %d: the eight bytes past the encoding are %x, not zeros", i, buf[n:n+8])
		}
		if got := AppendHash([]byte("pre"), &h.Events[i]); !bytes.Equal(got, append([]byte("pre"), want...)) {
			t.Fatalf("AppendHash of event %d appends %x, want %x", i, got[3:], want)
		}
	}
	if got, want := Hash(&h), referenceTraceHash(&h); got != want {
		t.Fatalf("trace hash %#016x, the reference's %#016x", got, want)
	}
}

// referenceHash appends the hashed encoding of one event to b the plain way, an append per field:
// the specification encodeHash must meet byte for byte.
func referenceHash(b []byte, e *Event) []byte {
	b = binary.AppendVarint(b, int64(e.At))
	b = append(b, byte(e.Kind))
	b = refString(b, e.Node)
	b = append(b, e.Invocation[:]...)
	b = binary.AppendUvarint(b, uint64(e.Attempt))
	b = binary.AppendUvarint(b, uint64(e.Index))
	b = refEntry(b, &e.Entry)
	b = binary.AppendUvarint(b, uint64(len(e.Journal)))
	for k := range e.Journal {
		b = refEntry(b, &e.Journal[k])
	}
	b = refResult(b, &e.Result)
	// One call per string: ranging over an array of them cost more than encoding them.
	b = refString(b, e.Awakeable)
	b = refString(b, e.Reason)
	b = refString(b, e.Service)
	b = refString(b, e.Handler)
	b = refString(b, e.Key)
	b = refString(b, e.Promise)
	b = refString(b, e.IdempotencyKey)
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.AppendVarint(b, int64(e.Deadline))
	b = binary.AppendUvarint(b, e.Request)
	b = binary.AppendVarint(b, int64(e.Status))
	b = binary.AppendVarint(b, int64(e.Clock))
	b = append(b, byte(e.HandlerKind), byte(e.Timer), byte(e.Purge), byte(e.End), byte(e.Message))
	b = binary.AppendVarint(b, int64(e.Span))
	b = refHTTP(b, e.HTTP)
	b = refSpec(b, e.Spec)
	return refRuntime(b, e.Runtime)
}

// appendString and appendBytes append nothing after the length of an empty string: most are,
// and an empty append still calls memmove.
func refString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	if len(s) == 0 {
		return b
	}
	return append(b, s...)
}

func refBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	if len(s) == 0 {
		return b
	}
	return append(b, s...)
}

// appendEntry and appendResult take their value by pointer: an Entry is too large to copy for
// every one hashed.
func refEntry(b []byte, e *journal.Entry) []byte {
	if e.Kind == 0 && e.Name == "" && e.Target == "" && !e.Completed && e.Duration == 0 && e.Deadline == 0 &&
		refEmptyResult(&e.Param) && refEmptyResult(&e.Result) {
		// The zero entry, as the fields below write it: most events carry none.
		return append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	b = append(b, byte(e.Kind))
	b = refString(b, e.Name)
	b = refString(b, e.Target)
	if e.Completed {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = refResult(b, &e.Param)
	b = binary.AppendVarint(b, int64(e.Duration))
	b = binary.AppendVarint(b, e.Deadline)
	return refResult(b, &e.Result)
}

// emptyResult reports whether r encodes as the zero Result does (an empty value, no failure).
func refEmptyResult(r *journal.Result) bool { return len(r.Value) == 0 && r.Failure == nil }

func refResult(b []byte, r *journal.Result) []byte {
	b = refBytes(b, r.Value)
	if r.Failure == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(r.Failure.Code))
	return refString(b, r.Failure.Message)
}

func refHTTP(b []byte, h *HTTP) []byte {
	if h == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = refString(b, h.Method)
	b = refString(b, h.Path)
	b = binary.AppendVarint(b, int64(h.Status))
	b = binary.AppendUvarint(b, uint64(len(h.Header)))
	for _, f := range h.Header {
		b = refString(b, f.Name)
		b = refString(b, f.Value)
	}
	return refBytes(b, h.Body)
}

func refSpec(b []byte, s *protocol.ServiceSpec) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = refString(b, s.Name)
	b = append(b, byte(s.Kind))
	b = binary.AppendUvarint(b, uint64(len(s.Handlers)))
	for _, h := range s.Handlers {
		b = refString(b, h.Name)
		b = append(b, byte(h.Kind))
	}
	b = binary.AppendVarint(b, int64(s.Retention))
	return binary.AppendVarint(b, int64(s.IdempotencyRetention))
}

func refRuntime(b []byte, r *Runtime) []byte {
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
