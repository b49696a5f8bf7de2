package engine

import (
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
