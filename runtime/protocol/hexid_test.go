package protocol_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// hexIDText draws strings of about 32 bytes, most of them hex digits of either case, the rest
// the bytes next to the digit ranges ('/', ':', '@', 'G', '`', 'g') and bytes with the top bit
// set: where a word-at-a-time decoder's range tests could go wrong.
func hexIDText() *rapid.Generator[string] {
	const alphabet = "0123456789abcdefABCDEF/:@G`g\x00\x80\xb0\xe1\xff"
	return rapid.Custom(func(t *rapid.T) string {
		n := rapid.SampledFrom([]int{32, 32, 32, 31, 33, 0, 8}).Draw(t, "len")
		digits := rapid.IntRange(0, 21).Draw(t, "digits") // how many alphabet letters count as hex
		b := make([]byte, n)
		for i := range b {
			if rapid.IntRange(0, 9).Draw(t, "odd") == 0 {
				b[i] = alphabet[rapid.IntRange(0, len(alphabet)-1).Draw(t, "c")]
			} else {
				b[i] = alphabet[rapid.IntRange(0, digits).Draw(t, "d")]
			}
		}
		return string(b)
	})
}

// TestParseHexInvocationIDIsHexDecode holds ParseHexInvocationID to hex.DecodeString, which the
// engine's keys were read with before it, and ParseInvocationID's digits to the same with
// lowercase only.
func TestParseHexInvocationIDIsHexDecode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := hexIDText().Draw(t, "s")
		raw, err := hex.DecodeString(s)
		valid := err == nil && len(raw) == 16
		id, ok := protocol.ParseHexInvocationID(s)
		if ok != valid || ok && !bytes.Equal(id[:], raw) {
			t.Fatalf("ParseHexInvocationID(%q) = %x, %v; hex.DecodeString gives %x, %v", s, id[:], ok, raw, err)
		}
		lower := valid && strings.ToLower(s) == s && !bytes.Equal(raw, make([]byte, 16))
		pid, perr := protocol.ParseInvocationID("inv_" + s)
		if (perr == nil) != lower || lower && !bytes.Equal(pid[:], raw) {
			t.Fatalf("ParseInvocationID(%q) = %x, %v; want it accepted: %v (%x)", "inv_"+s, pid[:], perr, lower, raw)
		}
	})
}
