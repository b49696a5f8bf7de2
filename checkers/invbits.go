package checkers

// invBits is a set of (invocation, number) pairs — an invocation's attempts, or its journal's
// entries — for the judges that test one at every event or link event, the invocation given by
// its number in the walk (invNum): a word of bits per invocation, in a slice by number, holds
// its numbers below invBitsWord, and a map the rest. A seed has a handful of invocations with
// a few attempts and short journals, so a pair is one index and one bit test. The zero value
// is empty.
type invBits struct {
	low []uint64
	far smallMap[uint64, bool] // farKey(v, n)
}

// invBitsWord is how many numbers of each invocation invBits holds as bits.
const invBitsWord = 64

// farKey is the one key of the pair (v, n), an invocation's number and one of its numbers (an
// attempt, an entry): invBits.far's, and the judges' maps by attempt.
func farKey(v invNum, n uint32) uint64 { return uint64(v)<<32 | uint64(n) }

// add puts (v, n) in s.
func (s *invBits) add(v invNum, n uint32) {
	if n < invBitsWord {
		s.low = dense(s.low, v)
		s.low[v] |= 1 << n
		return
	}
	s.far.set(farKey(v, n), true)
}

// addLow puts (v, n) in s for each bit n of low, numbers below invBitsWord.
func (s *invBits) addLow(v invNum, low uint64) {
	s.low = dense(s.low, v)
	s.low[v] |= low
}

// del takes (v, n) out of s, if there.
func (s *invBits) del(v invNum, n uint32) {
	if n < invBitsWord {
		if int(v) < len(s.low) {
			s.low[v] &^= 1 << n
		}
		return
	}
	s.far.del(farKey(v, n))
}

// has reports whether (v, n) is in s.
func (s *invBits) has(v invNum, n uint32) bool {
	if n < invBitsWord {
		return int(v) < len(s.low) && s.low[v]&(1<<n) != 0
	}
	return s.far.get(farKey(v, n))
}

// reset empties s, keeping its room.
func (s *invBits) reset() {
	s.low = clearDense(s.low)
	s.far.reset()
}
