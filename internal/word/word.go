// Package word reads the bytes of a string or byte slice a machine word at a time, for the
// hashes and decoders on the simulator's hot paths (the trace hash, the mem store's key hash,
// the invocation ID decoder) that each wrote the same loads. It owns no state and knows nothing
// of what the bytes mean.
package word

// LE64 is the first eight bytes of s as a little-endian number; the compiler makes it one load
// (and one bounds check), and it inlines. s must hold at least eight bytes.
func LE64[T string | []byte](s T) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
