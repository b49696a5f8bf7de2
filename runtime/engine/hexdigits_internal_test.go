package engine

import (
	"bytes"
	"encoding/hex"
	"testing"

	"pgregory.net/rapid"
)

// TestEncodeHexIsHexEncode holds encodeHex to hex.Encode, which spelt the engine's keys before
// it: the store's keys, and so recovery over a store an older build wrote, depend on the same
// digits.
func TestEncodeHexIsHexEncode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		src := rapid.SliceOf(rapid.Byte()).Draw(t, "src")
		want := make([]byte, hex.EncodedLen(len(src))+3)
		got := bytes.Clone(want)
		if n, m := encodeHex(got, src), hex.Encode(want, src); n != m || !bytes.Equal(got, want) {
			t.Fatalf("encodeHex(%x) wrote %q (%d), hex.Encode %q (%d)", src, got, n, want, m)
		}
	})
}
