package engine

import (
	"fmt"
	"testing"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// TestInvocationReaderLetsGo: the room an InvocationReader keeps for its journals holds nothing
// past what the last Read returned — a long journal read before a short one leaves nothing of
// its tail behind — and nothing at all after Reset, so that a kept reader keeps no earlier
// invocation's values alive.
func TestInvocationReaderLetsGo(t *testing.T) {
	st := mem.New()
	write := func(id protocol.InvocationID, entries int) {
		t.Helper()
		b := store.Batch{{Key: invocationKey(id), Value: encodeInvocation(&invocation{id: id, service: "S", handler: "h", status: statusSuspended, entries: uint32(entries)})}}
		for i := range entries {
			e := journal.Entry{Kind: journal.KindRun, Name: "r", Result: journal.Result{Value: []byte(`"v"`)}}
			if i == 0 {
				e = journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: []byte(`"in"`)}}
			}
			b = append(b, store.Op{Key: entryKey(id, uint32(i)), Value: journal.MarshalEntry(e)})
		}
		if err := st.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	long, short := protocol.InvocationID{15: 1}, protocol.InvocationID{15: 2}
	write(long, 6)
	write(short, 2)
	var r InvocationReader
	emptyPast := func(what string, n int) {
		t.Helper()
		for i, e := range r.journal[n:cap(r.journal)] {
			if e.Kind != 0 || e.Name != "" || e.Result.Value != nil {
				t.Fatalf("%s: room entry %d holds %v", what, n+i, e)
			}
		}
	}
	for _, read := range []struct {
		id   protocol.InvocationID
		want int
	}{{long, 6}, {short, 2}, {long, 6}, {protocol.InvocationID{15: 3}, 0}, {short, 2}, {short, 2}} {
		p, ok, err := r.Read(st, read.id)
		if err != nil || ok != (read.want > 0) || len(p.Journal) != read.want {
			t.Fatalf("read %v: %d entries, ok %v, err %v; want %d", read.id, len(p.Journal), ok, err, read.want)
		}
		if ok {
			emptyPast("after a read", len(p.Journal))
		}
	}
	r.Reset()
	emptyPast("after Reset", 0)
}

// TestInvocationReaderRemembersOnlyEqualRecords: records of one length that differ in a byte or
// two (the key here), far more of them than the reader remembers heads of, read in turn and
// again: every read takes its head from its own record, never from another one that shares its
// slot, and reads as ReadInvocation does.
func TestInvocationReaderRemembersOnlyEqualRecords(t *testing.T) {
	st := mem.New()
	const n = 4 * headSlots
	ids := make([]protocol.InvocationID, n)
	for i := range ids {
		id := protocol.InvocationID{14: byte(i >> 8), 15: byte(i)}
		ids[i] = id
		inv := &invocation{id: id, service: "S", handler: "h", key: fmt.Sprintf("k%04d", i), status: statusSuspended, attempt: uint32(i % 3), entries: 1}
		in := journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: []byte(`"in"`)}}
		if err := st.Apply(store.Batch{{Key: invocationKey(id), Value: encodeInvocation(inv)}, {Key: entryKey(id, 0), Value: journal.MarshalEntry(in)}}); err != nil {
			t.Fatal(err)
		}
	}
	var r InvocationReader
	for round := range 2 {
		for i, id := range ids {
			want, _, _ := ReadInvocation(st, id)
			got, ok, err := r.Read(st, id)
			if err != nil || !ok || got.Key != want.Key || got.Service != want.Service || got.Handler != want.Handler || got.Done != want.Done || len(got.Journal) != len(want.Journal) {
				t.Fatalf("round %d, record %d: read %+v, %v, %v; ReadInvocation reads %+v", round, i, got, ok, err, want)
			}
		}
	}
}
