package engine

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"pgregory.net/rapid"
)

// TestIDKeysBuiltInPlace checks the keys built in place against the concatenations they stand
// for, and that a retention key parses back to its deadline and ID.
func TestIDKeysBuiltInPlace(t *testing.T) {
	ids := []protocol.InvocationID{{}, {0: 0xab, 15: 0x01}, {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3, 0xf2, 0xf1, 0xf0}}
	deadlines := []time.Time{time.Unix(0, 0), time.Unix(1_700_000_000, 123_456_789), time.Unix(-62_135_596_800, 999_999_999), time.Unix(1<<40, 1)}
	for _, id := range ids {
		hexID := hex.EncodeToString(id[:])
		if got, want := invocationKey(id), invocationPrefix+hexID; got != want {
			t.Fatalf("invocationKey = %q, want %q", got, want)
		}
		if got, want := finishedKey(id), finishedPrefix+hexID; got != want {
			t.Fatalf("finishedKey = %q, want %q", got, want)
		}
		for _, d := range deadlines {
			var b [12]byte
			binary.BigEndian.PutUint64(b[:8], uint64(d.Unix())^(1<<63))
			binary.BigEndian.PutUint32(b[8:], uint32(d.Nanosecond()))
			key := retentionKey(d, id)
			if want := retentionPrefix + hex.EncodeToString(b[:]) + "/" + hexID; key != want {
				t.Fatalf("retentionKey = %q, want %q", key, want)
			}
			gotD, gotID, ok := parseRetentionKey(key)
			if !ok || !gotD.Equal(d) || gotID != id {
				t.Fatalf("parseRetentionKey(%q) = %v, %s, %v; want %v, %s", key, gotD, gotID, ok, d, id)
			}
		}
	}
}

// indexedKeyOf makes the keys indexedKey makes, from the invocation's record key.
func TestIndexedKeyOf(t *testing.T) {
	e := &Engine{}
	inv := &invocation{id: protocol.InvocationID{0x01, 0xab, 0xff, 15: 0x7e}}
	for _, prefix := range []string{journalPrefix, earlyPrefix} {
		for _, index := range []uint32{0, 1, 0xabcdef01, ^uint32(0)} {
			if got, want := e.indexedKeyOf(inv, prefix, index), indexedKey(prefix, inv.id, index); got != want {
				t.Errorf("indexedKeyOf(%q, %d) = %q, want %q", prefix, index, got, want)
			}
		}
	}
}

// TestKeptKeys holds the keys cut from the engine's key buffer to the keys built apart, and
// every key cut earlier to what it was when it was cut, however many keys (and buffers) follow:
// a buffer that were reused, or written past a key's end, would change a key a store holds.
func TestKeptKeys(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := &Engine{}
		type kept struct{ got, want string }
		var keys []kept
		for range rapid.IntRange(1, 200).Draw(t, "keys") {
			var id protocol.InvocationID
			copy(id[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
			index := rapid.Uint32().Draw(t, "index")
			deadline := time.Unix(rapid.Int64Range(-1<<40, 1<<40).Draw(t, "sec"), rapid.Int64Range(0, 999_999_999).Draw(t, "nsec"))
			inv := &invocation{id: id}
			switch rapid.IntRange(0, 5).Draw(t, "kind") {
			case 0:
				keys = append(keys, kept{e.recordKeyOf(inv), invocationKey(id)})
			case 1:
				keys = append(keys, kept{e.indexedKeyOf(inv, earlyPrefix, index), earlyKey(id, index)})
			case 2:
				keys = append(keys, kept{e.indexedKeyOf(inv, journalPrefix, index), entryKey(id, index)})
			case 3:
				keys = append(keys, kept{e.invKeyOf(finishedPrefix, inv), finishedKey(id)})
			case 4:
				keys = append(keys, kept{e.retentionKeyOf(deadline, id, ""), retentionKey(deadline, id)})
				keys = append(keys, kept{e.retentionKeyOf(deadline, id, e.idHexOf(inv)), retentionKey(deadline, id)})
			default:
				keys = append(keys, kept{e.idString(inv), id.String()})
			}
			for i, k := range keys {
				if k.got != k.want {
					t.Fatalf("key %d of %d reads %q, want %q", i, len(keys), k.got, k.want)
				}
			}
		}
	})
}

// TestKeptJournals holds every journal copy cut from the engine's journal buffer to the journal
// it copied, as it was then, however the journal changes afterwards (the engine completes entries
// in place and appends), whatever is appended to a copy (its holder's business), and however many
// copies (and buffers) follow: a buffer that were reused, or a copy not capped at its length,
// would change a journal a start or a history event holds.
func TestKeptJournals(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := &Engine{}
		var live []journal.Entry
		type kept struct{ got, want []journal.Entry }
		var copies []kept
		for step := range rapid.IntRange(1, 300).Draw(t, "steps") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				live = append(live, journal.Entry{Kind: journal.KindRun, Name: fmt.Sprint(step)})
			case 1:
				if len(live) > 0 {
					i := rapid.IntRange(0, len(live)-1).Draw(t, "complete")
					live[i].Completed, live[i].Result = true, journal.Result{Value: []byte(fmt.Sprint(step))}
				}
			case 2:
				if len(copies) > 0 {
					c := &copies[rapid.IntRange(0, len(copies)-1).Draw(t, "appendTo")]
					c.got = append(c.got, journal.Entry{Kind: journal.KindSleep})
					c.want = append(c.want, journal.Entry{Kind: journal.KindSleep})
				}
			default:
				if rapid.IntRange(0, 9).Draw(t, "restart") == 0 {
					live = live[:0:0]
				}
				copies = append(copies, kept{e.keepJournal(live), slices.Clone(live)})
			}
			for i, c := range copies {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Fatalf("step %d: copy %d of %d reads %v, want %v", step, i, len(copies), c.got, c.want)
				}
			}
		}
	})
}

// TestKeptFailures holds every failure cut from the engine's failure buffer to what it was made
// with, however many follow (and fill buffers): a reused buffer would change a rejection's
// failure that a journal or a history holds.
func TestKeptFailures(t *testing.T) {
	e := &Engine{}
	var got []*journal.Failure
	for i := range 5 * failureChunk {
		got = append(got, e.keepFailure(uint16(i), fmt.Sprint("rejected ", i)))
		for k, f := range got {
			if f.Code != uint16(k) || f.Message != fmt.Sprint("rejected ", k) {
				t.Fatalf("failure %d of %d reads %d %q", k, len(got), f.Code, f.Message)
			}
		}
	}
}
