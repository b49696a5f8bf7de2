package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
