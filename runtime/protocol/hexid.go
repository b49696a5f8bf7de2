package protocol

import (
	"encoding/binary"

	"github.com/vigilsim/vigil/internal/word"
)

// ParseHexInvocationID reads an invocation ID from exactly 32 hex digits of either case, as
// hex.Decode reads them, and reports whether s was that (no prefix; the zero ID is accepted).
// The engine's store keys spell IDs this way; recovery and the retention sweep read them back.
func ParseHexInvocationID(s string) (InvocationID, bool) {
	var id InvocationID
	return id, decodeHexID(&id, s, true)
}

// decodeHexID decodes the 32 hex digits s into id, lowercase only unless upper, and reports
// whether s was exactly that (id is untouched otherwise). It tests and decodes eight digits at
// a time, in one word (hexBad, hexValue): the simulator parses IDs a few dozen times a seed (the
// client and the oracle from responses, the ingress and recovery from paths and keys), and a
// table load, a test and a store per digit pair cost twice the instructions.
func decodeHexID(id *InvocationID, s string, upper bool) bool {
	if len(s) != 2*len(id) {
		return false
	}
	var fold uint64
	if upper {
		fold = 0x20 * ones // 'A'-'F' become 'a'-'f'; nothing else becomes a letter
	}
	x0, x1, x2, x3 := word.LE64(s[0:]), word.LE64(s[8:]), word.LE64(s[16:]), word.LE64(s[24:])
	if hexBad(x0, fold)|hexBad(x1, fold)|hexBad(x2, fold)|hexBad(x3, fold) != 0 {
		return false
	}
	binary.LittleEndian.PutUint64(id[:8], hexValue(x0)|hexValue(x1)<<32)
	binary.LittleEndian.PutUint64(id[8:], hexValue(x2)|hexValue(x3)<<32)
	return true
}

const (
	ones = 0x0101010101010101
	tops = 0x8080808080808080
)

// hexBad tests the 8 bytes of x for hex digits, all at once: '0'-'9', 'a'-'f', and 'A'-'F' when
// fold sets bit 5 of every byte. It returns 0 exactly when all 8 are digits. With its top bit
// clear, adding 0x80-lo to a byte sets that bit exactly when the byte is at least lo, and no sum
// carries into the next byte (a byte with its top bit set is bad, and what its carry does to its
// neighbours' tests does not matter then).
func hexBad(x, fold uint64) uint64 {
	digit := (x + (0x80-'0')*ones) &^ (x + (0x80-'9'-1)*ones)
	l := x | fold
	letter := (l + (0x80-'a')*ones) &^ (l + (0x80-'f'-1)*ones)
	return x&tops | ((digit|letter)&tops ^ tops)
}

// hexValue decodes the 8 hex digits of x (hexBad 0), first digit in the lowest byte, into the 4
// bytes they spell, first in the lowest byte.
func hexValue(x uint64) uint64 {
	// Each digit's value: its low four bits, and 9 more for a letter (bit 6 set: 'a' and 'A'
	// end in 1; no decimal digit has it).
	v := x&(0x0f*ones) + (x>>6)&ones*9
	// Pair each digit with the next (high nibble first), then close the gaps between pairs.
	v = (v<<4 | v>>8) & 0x00ff00ff00ff00ff
	v = (v | v>>8) & 0x0000ffff0000ffff
	return uint64(uint32(v | v>>16))
}
