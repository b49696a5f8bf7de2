package engine

import (
	"bytes"
	"testing"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// A recovered invocation whose record counts a short journal gets that journal's room in its own
// allocation (recoveredInvocation), but when none of the entries can be taken, the record set
// aside is the record as stored, counting the entries it says there are: the room does not turn
// into a journal of none.
func TestSetAsideRecordKeepsItsEntryCount(t *testing.T) {
	id := protocol.InvocationID{1}
	rec := encodeInvocation(&invocation{id: id, service: "Greeter", handler: "greet", status: statusRunning, attempt: 1, entries: 2})
	run := journal.MarshalEntry(journal.Entry{Kind: journal.KindRun, Result: journal.Result{Value: []byte("1")}})
	for name, entries := range map[string]map[uint32][]byte{
		"no entry":             nil,
		"a gap before entry 1": {1: run},
	} {
		t.Run(name, func(t *testing.T) {
			st := mem.New()
			batch := store.Batch{{Key: invocationKey(id), Value: rec}}
			for i, en := range entries {
				batch = append(batch, store.Op{Key: entryKey(id, i), Value: en})
			}
			if err := st.Apply(batch); err != nil {
				t.Fatal(err)
			}
			e, err := Recover(Config{
				Store: st,
				Clock: fakeclock.NewFake(time.Unix(1_700_000_000, 0)),
				NewID: func() protocol.InvocationID { return protocol.InvocationID{9} },
			})
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, op := range e.Ready().Batch {
				if op.Key != QuarantineKey(invocationKey(id)) {
					continue
				}
				found = true
				_, _, value, err := DecodeQuarantined(op.Value)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(value, rec) {
					t.Errorf("record set aside\n%x\nwant the record as stored\n%x", value, rec)
				}
			}
			if !found {
				t.Fatalf("the invocation record was not set aside: %+v", e.Problems())
			}
		})
	}
}
