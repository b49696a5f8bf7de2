package checkers

import "github.com/vigilsim/vigil/runtime/protocol"

// invBits is a set of (invocation, number) pairs — an invocation's attempts, or its journal's
// entries — for the judges that test one at every event or link event: a word of bits per
// invocation holds its numbers below invBitsWord, and a map the rest. A seed has a handful of
// invocations with a few attempts and short journals, so the words are found by a short search
// where a map keyed by pair outgrew it into a hash index. The zero value is empty.
type invBits struct {
	low smallMap[protocol.InvocationID, uint64]
	far smallMap[attemptKey, bool]
}

// invBitsWord is how many numbers of each invocation invBits holds as bits.
const invBitsWord = 64

// add puts (inv, n) in s.
func (s *invBits) add(inv protocol.InvocationID, n uint32) {
	if n < invBitsWord {
		*s.low.ref(inv) |= 1 << n
		return
	}
	s.far.set(attemptKey{inv, n}, true)
}

// addLow puts (inv, n) in s for each bit n of low, numbers below invBitsWord.
func (s *invBits) addLow(inv protocol.InvocationID, low uint64) { *s.low.ref(inv) |= low }

// del takes (inv, n) out of s, if there.
func (s *invBits) del(inv protocol.InvocationID, n uint32) {
	if n < invBitsWord {
		if i := s.low.find(inv); i >= 0 {
			s.low.vals[i] &^= 1 << n
		}
		return
	}
	s.far.del(attemptKey{inv, n})
}

// has reports whether (inv, n) is in s.
func (s *invBits) has(inv protocol.InvocationID, n uint32) bool {
	if n < invBitsWord {
		return s.low.get(inv)&(1<<n) != 0
	}
	return s.far.get(attemptKey{inv, n})
}

// reset empties s, keeping its room.
func (s *invBits) reset() {
	s.low.reset()
	s.far.reset()
}
