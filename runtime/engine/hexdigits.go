package engine

// hexDigitPairs holds each byte's two lowercase hex digits, in the order hex.Encode writes them.
var hexDigitPairs = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for v := range t {
		t[v] = [2]byte{digits[v>>4], digits[v&0x0f]}
	}
	return t
}()

// encodeHex writes src in lowercase hex into dst and returns 2*len(src), as hex.Encode does (and
// panics as it does when dst is short). One table load a byte instead of two shifts and two
// loads: every key the engine builds or looks up spells an invocation ID this way, a few dozen
// times a simulated seed.
func encodeHex(dst, src []byte) int {
	n := 2 * len(src)
	d := dst[:n]
	for i, v := range src {
		p := hexDigitPairs[v]
		d[2*i], d[2*i+1] = p[0], p[1]
	}
	return n
}
