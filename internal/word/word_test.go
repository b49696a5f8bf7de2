package word

import (
	"encoding/binary"
	"testing"

	"pgregory.net/rapid"
)

// TestLE64IsLittleEndian holds LE64 of a string and of a byte slice to encoding/binary's
// little-endian read of the same eight bytes.
func TestLE64IsLittleEndian(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		b := rapid.SliceOfN(rapid.Byte(), 8, 24).Draw(rt, "bytes")
		want := binary.LittleEndian.Uint64(b)
		if got := LE64(b); got != want {
			rt.Fatalf("LE64(%x) = %#x, want %#x", b, got, want)
		}
		if got := LE64(string(b)); got != want {
			rt.Fatalf("LE64(%q) = %#x, want %#x", b, got, want)
		}
	})
}

// TestHashOfStringIsHashOfBytes: a string and a byte slice with the same bytes hash alike, at
// every length (below a word, a word, past it), and the hash reads every byte: changing any one
// of a few changes it (these keys are too short for a multiply to cancel a change).
func TestHashOfStringIsHashOfBytes(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		b := rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(rt, "bytes")
		h := Hash(b)
		if got := Hash(string(b)); got != h {
			rt.Fatalf("Hash(%q) = %#x, Hash of its bytes %#x", b, got, h)
		}
		if len(b) == 0 {
			return
		}
		i := rapid.IntRange(0, len(b)-1).Draw(rt, "changed")
		c := append([]byte(nil), b...)
		c[i]++
		if Hash(c) == h {
			rt.Fatalf("Hash(%x) = Hash(%x): byte %d is not read", c, b, i)
		}
	})
}
