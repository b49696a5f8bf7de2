package engine

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/protocol"
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
	inv := &invocation{id: protocol.InvocationID{0x01, 0xab, 0xff, 15: 0x7e}}
	for _, prefix := range []string{journalPrefix, earlyPrefix} {
		for _, index := range []uint32{0, 1, 0xabcdef01, ^uint32(0)} {
			if got, want := inv.indexedKeyOf(prefix, index), indexedKey(prefix, inv.id, index); got != want {
				t.Errorf("indexedKeyOf(%q, %d) = %q, want %q", prefix, index, got, want)
			}
		}
	}
}
