// Package word reads the bytes of a string or byte slice a machine word at a time, for the
// hashes and decoders on the simulator's hot paths (the trace hash, the slot tables of the mem
// store, the journal's Interner and the engine's record reader, the invocation ID decoder) that
// each wrote the same loads. It owns no state and knows nothing
// of what the bytes mean.
package word

// LE64 is the first eight bytes of s as a little-endian number; the compiler makes it one load
// (and one bounds check), and it inlines. s must hold at least eight bytes.
func LE64[T string | []byte](s T) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Hash is a hash of all of s's bytes, eight at a time, for tables whose keys are compared in
// full (the hash only spreads them): the length, then each word mixed in by a multiply, the
// last one to eight bytes in one word that overlaps the one before (a multiply where a byte at
// a time cost up to seven). Its top bits are the best mixed; a table indexed by its low bits
// stirs it first.
func Hash[T string | []byte](s T) uint64 {
	const m = 0x9e3779b97f4a7c15
	n := len(s)
	h := uint64(n) * m
	if n < 8 {
		for i := range n {
			h = (h ^ uint64(s[i])) * m
		}
		return h
	}
	for i := 0; i < n-8; i += 8 {
		h = (h ^ LE64(s[i:])) * m
	}
	return (h ^ LE64(s[n-8:])) * m
}
