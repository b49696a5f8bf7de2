package event

import (
	"fmt"
	"testing"
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
