package event

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestHashTellsBlocksApart checks the word-at-a-time hash on what a byte-wise one gets for free:
// every length of a body (tail bytes of each count, zero bytes included), a byte moved between
// events, and events swapped all give different trace hashes.
func TestHashTellsBlocksApart(t *testing.T) {
	seen := map[uint64]string{}
	add := func(what string, h *History) {
		t.Helper()
		sum := Hash(h)
		if prev, dup := seen[sum]; dup {
			t.Fatalf("%s and %s have the same trace hash %016x", prev, what, sum)
		}
		seen[sum] = what
	}
	body := func(n int) *HTTP { return &HTTP{Method: "POST", Path: "/S/h", Body: make([]byte, n)} }
	for n := range 40 {
		add(fmt.Sprintf("a zero body of %d bytes", n), &History{Events: []Event{{Kind: 1, HTTP: body(n)}}})
	}
	a, b := Event{Kind: 1, Node: "ab"}, Event{Kind: 1, Node: "c"}
	add("ab then c", &History{Events: []Event{a, b}})
	add("c then ab", &History{Events: []Event{b, a}})
	add("a then bc", &History{Events: []Event{{Kind: 1, Node: "a"}, {Kind: 1, Node: "bc"}}})
	add("no events", &History{})
	add("one empty event", &History{Events: []Event{{}}})
	add("two empty events", &History{Events: []Event{{}, {}}})
}

// TestHashReadsEveryByte changes each byte of a string, and of a byte slice, of every length up
// to 40 in turn and wants a new trace hash each time: the words a string folds into (whole words,
// an overlapping last word, the short forms) must miss no byte. It also moves a byte from one
// field to the next, which the length prefixes must tell apart.
func TestHashReadsEveryByte(t *testing.T) {
	for n := 1; n <= 40; n++ {
		s := []byte(strings.Repeat("a", n))
		base := Hash(&History{Events: []Event{{Reason: string(s), HTTP: &HTTP{Body: s}}}})
		for i := range n {
			c := []byte(string(s))
			c[i] = 'b'
			if Hash(&History{Events: []Event{{Reason: string(c), HTTP: &HTTP{Body: s}}}}) == base {
				t.Fatalf("a string of %d bytes: byte %d does not reach the trace hash", n, i)
			}
			if Hash(&History{Events: []Event{{Reason: string(s), HTTP: &HTTP{Body: c}}}}) == base {
				t.Fatalf("a body of %d bytes: byte %d does not reach the trace hash", n, i)
			}
		}
		moved := Hash(&History{Events: []Event{{Reason: string(s[1:]), HTTP: &HTTP{Method: "a", Body: s}}}})
		if moved == Hash(&History{Events: []Event{{Reason: string(s), HTTP: &HTTP{Body: s}}}}) {
			t.Fatalf("a byte moved from Reason to HTTP.Method at length %d leaves the trace hash as it was", n)
		}
	}
}

// BenchmarkHash is the trace hash of a history of 200 client exchanges.
func BenchmarkHash(b *testing.B) {
	var h History
	for i := range 200 {
		h.Events = append(h.Events, Event{Kind: 1, Node: "client-1", Request: uint64(i), Reason: "POST /Approval/requestHumanReview",
			HTTP: &HTTP{Method: "POST", Path: "/Approval/requestHumanReview", Header: []Header{{Name: "Idempotency-Key", Value: "submit-doc-1"}}, Body: []byte(`{"document":"doc-1"}`)}})
	}
	b.ReportAllocs()
	for b.Loop() {
		Hash(&h)
	}
}

// TestHashGolden pins the trace hash of a history that sets every field, with strings of every
// form hashString folds (short, whole words, an overlapping last word), and of events that set
// almost none: a faster hash must leave every trace hash of every seed unchanged, which this
// value stands for.
func TestHashGolden(t *testing.T) {
	long := strings.Repeat("x", 200)
	full := Event{
		At: 123456789, Kind: CompletionAccepted, Node: "runtime",
		Invocation: protocol.InvocationID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		Attempt:    300, Index: 7,
		Entry: journal.Entry{Kind: journal.KindRun, Name: "charge", Target: long, Param: journal.Result{Value: []byte(`"p"`)},
			Duration: -time.Second, Completed: true, Result: journal.Result{Failure: &journal.Failure{Code: 409, Message: "Cancelled"}}, Deadline: 1 << 40},
		Journal: []journal.Entry{{Kind: journal.KindInput, Result: journal.Result{Value: []byte(long)}}, {}},
		Result:  journal.Result{Value: []byte("v")}, Awakeable: "sign_1abc", Reason: "why", Service: "S", Handler: "h",
		Key: "k", Promise: "p", Seq: 1 << 20, Deadline: 90 * time.Second, Request: 130, Status: 202,
		Clock: -5, IdempotencyKey: "idem", HandlerKind: HandlerWorkflow, Timer: TimerSleep, Purge: PurgeWorkflow,
		End: 2, Message: protocol.KindCompletion, Span: 1,
		HTTP: &HTTP{Method: "POST", Path: "/S/h", Status: 200, Header: []Header{{"A", "b"}, {"Idempotency-Key", long}}, Body: []byte(long)},
		Spec: &protocol.ServiceSpec{Name: "S", Kind: protocol.ServiceWorkflow, Handlers: []protocol.HandlerSpec{{Name: "run", Kind: protocol.HandlerWorkflowRun}},
			Retention: time.Hour, IdempotencyRetention: -1},
		Runtime: &Runtime{RetryInitialInterval: time.Millisecond, RetryFactor: 1.5, RetryMaxInterval: time.Minute,
			RetryMaxAttempts: 1000, InactivityMax: 3, SuspendAtOncePercent: 85},
	}
	h := &History{Events: []Event{{}, full, {Kind: AttemptStarted, Node: "executor", At: 1}, {HTTP: &HTTP{}, Spec: &protocol.ServiceSpec{}, Runtime: &Runtime{}}}}
	for i := range 300 {
		h.Events = append(h.Events, Event{At: time.Duration(i) * time.Millisecond, Kind: Kind(i % 30), Node: long[:i%150], Index: uint32(i)})
	}
	if got, want := Hash(h), uint64(0xb961f4add7ebd011); got != want {
		t.Fatalf("trace hash %#016x, want %#016x", got, want)
	}
}
