package event

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// referenceTraceHash is the trace hash the plain way: every event's words listed (referenceWords),
// then folded one by one.
func referenceTraceHash(h *History) uint64 {
	sum := uint64(hashSeed)
	for i := range h.Events {
		for _, w := range referenceWords(nil, &h.Events[i]) {
			sum = hashWord(sum, w)
		}
	}
	return hashFinish(sum ^ uint64(len(h.Events)))
}

// TestHashIsReference holds the trace hash to the plain listing of its words, history by
// history, over drawn events that set any field to any length or number (strings of every
// length, negatives, large numbers), with most fields zero in some events and none in others, so
// that every group Hash skips when it is empty is both skipped and folded.
func TestHashIsReference(t *testing.T) {
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
		if !zero() {
			binary.LittleEndian.PutUint64(e.Invocation[:], r.Uint64())
		}
		if zero() {
			e.Clock = e.At // as recorded without a clock fault
		}
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
	for i := range h.Events {
		one := &History{Events: h.Events[i : i+1]}
		if got, want := Hash(one), referenceTraceHash(one); got != want {
			t.Fatalf("event %d: trace hash %#016x, the reference's %#016x", i, got, want)
		}
	}
	if got, want := Hash(&h), referenceTraceHash(&h); got != want {
		t.Fatalf("trace hash %#016x, the reference's %#016x", got, want)
	}
}

// referenceWords appends the words Hash folds for e to w the plain way, an append per field
// and every group tested on its own: the specification Hash must meet word for word.
func referenceWords(w []uint64, e *Event) []uint64 {
	w = append(w, uint64(e.At), uint64(e.Clock), binary.LittleEndian.Uint64(e.Invocation[:8]), binary.LittleEndian.Uint64(e.Invocation[8:]),
		uint64(e.Attempt)|uint64(e.Index)<<32)
	strs := []string{e.Awakeable, e.Reason, e.Service, e.Handler, e.Key, e.Promise, e.IdempotencyKey}
	var set uint64
	for k, x := range strs {
		if x != "" {
			set |= 1 << k
		}
	}
	if e.Entry.Kind != 0 || e.Entry.Name != "" || e.Entry.Target != "" || e.Entry.Completed || e.Entry.Duration != 0 || e.Entry.Deadline != 0 ||
		!refEmptyResult(&e.Entry.Param) || !refEmptyResult(&e.Entry.Result) {
		set |= 1 << 7
	}
	if len(e.Journal) > 0 {
		set |= 1 << 8
	}
	if !refEmptyResult(&e.Result) {
		set |= 1 << 9
	}
	if e.Seq != 0 || e.Deadline != 0 || e.Request != 0 || e.Status != 0 || e.Span != 0 {
		set |= 1 << 10
	}
	for k, p := range []bool{e.HTTP != nil, e.Spec != nil, e.Runtime != nil} {
		if p {
			set |= 1 << (11 + k)
		}
	}
	w = append(w, uint64(e.Kind)+uint64(e.HandlerKind)<<8+uint64(e.Timer)<<16+uint64(e.Purge)<<24+uint64(e.End)<<32+uint64(e.Message)<<40+set<<48)
	w = refString(w, []byte(e.Node))
	for _, x := range strs {
		if x != "" {
			w = refString(w, []byte(x))
		}
	}
	if set&(1<<7) != 0 {
		w = refEntry(w, &e.Entry)
	}
	if set&(1<<8) != 0 {
		w = append(w, uint64(len(e.Journal)))
		for k := range e.Journal {
			w = refEntry(w, &e.Journal[k])
		}
	}
	if set&(1<<9) != 0 {
		w = refResult(w, &e.Result)
	}
	if set&(1<<10) != 0 {
		w = append(w, e.Seq, uint64(e.Deadline), e.Request, uint64(e.Status), uint64(e.Span))
	}
	if h := e.HTTP; h != nil {
		w = refString(w, []byte(h.Method))
		w = refString(w, []byte(h.Path))
		w = append(w, uint64(h.Status), uint64(len(h.Header)))
		for _, f := range h.Header {
			w = refString(w, []byte(f.Name))
			w = refString(w, []byte(f.Value))
		}
		w = refString(w, h.Body)
	}
	if s := e.Spec; s != nil {
		w = refString(w, []byte(s.Name))
		w = append(w, uint64(s.Kind)+uint64(len(s.Handlers))<<8)
		for _, x := range s.Handlers {
			w = refString(w, []byte(x.Name))
			w = append(w, uint64(x.Kind))
		}
		w = append(w, uint64(s.Retention), uint64(s.IdempotencyRetention))
	}
	if r := e.Runtime; r != nil {
		w = append(w, uint64(r.RetryInitialInterval), math.Float64bits(r.RetryFactor), uint64(r.RetryMaxInterval),
			uint64(r.RetryMaxAttempts), uint64(r.InactivityMax), r.SuspendAtOncePercent)
	}
	return w
}

// refString appends the words of a string: for eight bytes or more, its length, then its bytes
// padded with zeros to whole words, except that the last word is the string's last eight bytes;
// for one to seven bytes, the bytes little-endian with the length in the top byte; for none, a 0.
func refString(w []uint64, s []byte) []uint64 {
	n := len(s)
	switch {
	case n >= 8:
		w = append(w, uint64(n))
		for i := 0; i < (n-1)/8; i++ {
			w = append(w, binary.LittleEndian.Uint64(s[8*i:]))
		}
		return append(w, binary.LittleEndian.Uint64(s[n-8:]))
	case n > 0:
		var b [8]byte
		copy(b[:], s)
		b[7] = byte(n)
		return append(w, binary.LittleEndian.Uint64(b[:]))
	}
	return append(w, 0)
}

func refEntry(w []uint64, e *journal.Entry) []uint64 {
	c := uint64(e.Kind)
	if e.Completed {
		c += 256
	}
	w = append(w, c)
	w = refString(w, []byte(e.Name))
	w = refString(w, []byte(e.Target))
	w = refResult(w, &e.Param)
	w = append(w, uint64(e.Duration), uint64(e.Deadline))
	return refResult(w, &e.Result)
}

// refEmptyResult reports whether r is the zero Result (an empty value, no failure).
func refEmptyResult(r *journal.Result) bool { return len(r.Value) == 0 && r.Failure == nil }

func refResult(w []uint64, r *journal.Result) []uint64 {
	w = refString(w, r.Value)
	if r.Failure == nil {
		return append(w, 0)
	}
	w = append(w, 1+uint64(r.Failure.Code)<<8)
	return refString(w, []byte(r.Failure.Message))
}
