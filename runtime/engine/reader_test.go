package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// An InvocationReader reads what ReadInvocation reads, read after read, though it keeps its
// buffers and strings from one read to the next: every record intact, each damaged in turn, a
// journal entry rewritten in place after it was read (the reader must read what the store holds
// now, not what it decoded before), a journal with a gap, an entry that does not decode, and an
// invocation the store does not hold.
func TestInvocationReaderReadsAsReadInvocation(t *testing.T) {
	h := newHarness(t)
	waiting := h.withAwakeable()
	done := h.started(`"` + strings.Repeat("x", 600) + `"`) // past the first buffer's room
	h.eng.Receive(endMsg(done, 1, 1, `"out"`))
	h.step()
	ids := []protocol.InvocationID{waiting, done, idN(99)}
	var r engine.InvocationReader
	read := func(what string, id protocol.InvocationID) engine.PersistedInvocation {
		t.Helper()
		want, wantOK, wantErr := engine.ReadInvocation(getOnly{h.store}, id)
		got, gotOK, gotErr := r.Read(h.store, id)
		require.Equal(t, want, got, what)
		require.Equal(t, wantOK, gotOK, what)
		require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr), what)
		return got
	}
	same := func(what string) {
		t.Helper()
		// Each twice, and in turn: a read follows one of the same invocation and one of another.
		for _, id := range ids {
			read(what, id)
			read(what+" again", id)
		}
	}
	same("intact")
	for _, key := range h.store.Keys() {
		require.True(t, h.store.FlipBit(key, 3))
		same("damaged " + key)
		require.True(t, h.store.FlipBit(key, 3))
		same("mended " + key)
	}

	// An earlier entry rewritten under the same length, and under another kind.
	input := read("before the rewrite", waiting).Journal[0]
	require.Equal(t, `"in"`, string(input.Result.Value))
	input.Result.Value = []byte(`"IN"`)
	require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(waiting, 0), Value: journal.MarshalEntry(input)}}))
	require.Equal(t, `"IN"`, string(read("input rewritten", waiting).Journal[0].Result.Value))
	sleep := journal.Entry{Kind: journal.KindSleep, Duration: 7, Name: "nap"}
	require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(waiting, 1), Value: journal.MarshalEntry(sleep)}}))
	require.Equal(t, sleep, read("entry 1 rewritten", waiting).Journal[1])

	require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(done, 1), Value: []byte{0xff}}}))
	same("undecodable entry")
	require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(waiting, 0), Delete: true}}))
	same("gap")
	r.Reset()
	same("after a reset")
}

// A read of an invocation read before allocates nothing: the reader's buffer and journal are
// reused, and the strings come from its interner.
func TestInvocationReaderRereadsWithoutAllocating(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	var r engine.InvocationReader
	_, ok, err := r.Read(h.store, id)
	require.NoError(t, err)
	require.True(t, ok)
	allocs := testing.AllocsPerRun(50, func() {
		if _, _, err := r.Read(h.store, id); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs, "allocations per read again")
}

// An InvocationReader reads what ReadInvocation reads, whatever happens to the journals between
// reads: entries appended, rewritten in place (under the same length or another), the tail
// deleted, across more invocations than the reader keeps journals of, in any order. A reader
// that trusted what it decoded before without comparing the stored bytes would fail this.
func TestInvocationReaderFollowsTheStore(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := newHarness(t)
		ids := make([]protocol.InvocationID, 6)
		lens := make([]uint32, len(ids))
		for i := range ids {
			ids[i] = h.withAwakeable()
			lens[i] = 2 // the input and the awakeable
		}
		// Entries that differ in a byte or in length, with and without failures.
		entries := []journal.Entry{
			{Kind: journal.KindRun, Name: "a", Result: journal.Result{Value: []byte(`"x"`)}},
			{Kind: journal.KindRun, Name: "b", Result: journal.Result{Value: []byte(`"x"`)}},
			{Kind: journal.KindRun, Name: "a", Result: journal.Result{Value: []byte(`"y"`)}},
			{Kind: journal.KindRun, Name: "a", Result: journal.Result{Value: []byte(`"xx"`)}},
			{Kind: journal.KindAwakeable, Completed: true, Result: journal.Result{Failure: &journal.Failure{Code: 409, Message: "no"}}},
			{Kind: journal.KindAwakeable, Completed: true, Result: journal.Result{Failure: &journal.Failure{Code: 409, Message: "No"}}},
			{Kind: journal.KindCall, Target: "S/h", Param: journal.Result{Value: []byte(`1`)}},
		}
		var r engine.InvocationReader
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			k := rapid.IntRange(0, len(ids)-1).Draw(t, "invocation")
			id := ids[k]
			switch rapid.IntRange(0, 3).Draw(t, fmt.Sprint("action ", step)) {
			case 0: // write an entry: rewrite one, or append one
				i := rapid.Uint32Range(0, lens[k]).Draw(t, "index")
				e := rapid.SampledFrom(entries).Draw(t, "entry")
				require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(id, i), Value: journal.MarshalEntry(e)}}))
				lens[k] = max(lens[k], i+1)
			case 1: // delete the last entry
				if lens[k] > 1 {
					lens[k]--
					require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(id, lens[k]), Delete: true}}))
				}
			default:
				want, wantOK, wantErr := engine.ReadInvocation(getOnly{h.store}, id)
				got, gotOK, gotErr := r.Read(h.store, id)
				require.Equal(t, want, got, "step %d", step)
				require.Equal(t, wantOK, gotOK)
				require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr))
			}
		}
	})
}
