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
