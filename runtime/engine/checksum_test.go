package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// A record whose stored checksum fails (a bit flipped at rest) is set aside at recovery, with its
// invocation, and reported; the other invocations recover untouched, and the next start finds
// nothing wrong. Whichever record of an invocation is damaged, nothing of it is read as data.
func TestRecoverSetsAsideDamagedRecord(t *testing.T) {
	for _, which := range []string{"invocation record", "input entry", "last entry", "sequence number"} {
		t.Run(which, func(t *testing.T) {
			h := newHarness(t)
			hit := h.withAwakeable()
			other := h.withAwakeable()
			var key string
			switch which {
			case "invocation record":
				key = engine.InvocationKey(hit)
			case "input entry":
				key = engine.EntryKey(hit, 0)
			case "last entry":
				key = engine.EntryKey(hit, 1)
			case "sequence number":
				key = "meta/seq"
			}
			require.True(t, h.store.FlipBit(key, 5), "no record %q", key)
			_, _, err := h.store.Get(key)
			require.ErrorIs(t, err, store.ErrChecksum)

			h.crash()
			problems := h.eng.Problems()
			require.NotEmpty(t, problems)
			// A damaged sequence number is also repaired in place (set past the last
			// invocation's), as one that does not decode is.
			found := false
			for _, p := range problems {
				if p.Key == key && strings.Contains(p.Problem, "checksum") && strings.HasPrefix(p.Action, "set aside") {
					found = true
				}
			}
			assert.True(t, found, "the damaged record %q is among the problems %v", key, problems)
			ids := engine.IDs(h.eng)
			assert.Contains(t, ids, other, "an undamaged invocation recovers")
			if which != "sequence number" {
				assert.NotContains(t, ids, hit, "the damaged invocation is set aside whole")
			} else {
				assert.Contains(t, ids, hit)
			}
			h.step()
			raw, ok, err := h.store.Get(engine.QuarantineKey(key))
			require.NoError(t, err)
			require.True(t, ok, "the damaged record is kept under q/")
			gotKey, _, _, err := engine.DecodeQuarantined(raw)
			require.NoError(t, err)
			assert.Equal(t, key, gotKey)

			h.crash()
			assert.Empty(t, h.eng.Problems(), "the next start meets the damage no more")
			if which == "sequence number" {
				assert.ElementsMatch(t, []any{hit, other}, toAny(engine.IDs(h.eng)))
			} else {
				assert.ElementsMatch(t, []any{other}, toAny(engine.IDs(h.eng)))
			}
		})
	}
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// A damaged record read at run time (not at recovery) reads as absent and is reported.
func TestDamagedRecordAtRunTimeIsReported(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	key := engine.InvocationKey(id)
	require.True(t, h.store.FlipBit(key, 0))
	_, ok, err := engine.ReadInvocation(h.store, id)
	assert.False(t, ok)
	var ce *store.ChecksumError
	require.True(t, errors.As(err, &ce), "ReadInvocation = %v", err)
	assert.Equal(t, key, ce.Key)
}

// getOnly hides every method of a store but the Reader's, so that ReadInvocation reads with Get.
type getOnly struct{ store.Reader }

// ReadInvocation reads the same through mem's AppendValue as through Get: every record intact,
// each record damaged in turn (one bit of it flipped), a journal with a gap, a journal entry that
// does not decode, and an invocation the store does not hold.
func TestReadInvocationAppendingReadsAsGet(t *testing.T) {
	h := newHarness(t)
	waiting := h.withAwakeable()
	done := h.started(`"` + strings.Repeat("x", 600) + `"`) // past the first buffer's room
	h.eng.Receive(endMsg(done, 1, 1, `"out"`))
	h.step()
	same := func(what string, id protocol.InvocationID) {
		t.Helper()
		want, wantOK, wantErr := engine.ReadInvocation(getOnly{h.store}, id)
		got, gotOK, gotErr := engine.ReadInvocation(h.store, id)
		require.Equal(t, want, got, what)
		require.Equal(t, wantOK, gotOK, what)
		require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr), what)
	}
	ids := []protocol.InvocationID{waiting, done, idN(99)}
	for _, id := range ids {
		same("intact", id)
	}
	p, _, _ := engine.ReadInvocation(h.store, done)
	require.Len(t, p.Journal, 2, "the finished invocation's input and output")
	require.True(t, p.Done)
	for _, key := range h.store.Keys() {
		require.True(t, h.store.FlipBit(key, 3))
		for _, id := range ids {
			same("damaged "+key, id)
		}
		require.True(t, h.store.FlipBit(key, 3))
	}
	require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(done, 1), Value: []byte{0xff}}}))
	same("undecodable entry", done)
	require.NoError(t, h.store.Apply(store.Batch{{Key: engine.EntryKey(waiting, 0), Delete: true}}))
	same("gap", waiting)
}
