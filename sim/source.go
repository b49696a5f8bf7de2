package sim

import (
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
	"time"

	"pgregory.net/rapid"
)

// Source is where every random choice of a simulation comes from. Draw returns a value in
// [0, n) for n > 0; label names the choice, for shrinking reports and choice tapes.
type Source interface {
	Draw(n uint64, label string) uint64
}

// pcgSource is a seeded PCG stream: stable across Go versions, about 2 ns a draw. It holds its
// generator, so that a recycled world can seed it again for its next run instead of allocating
// a new one (seeding a PCG sets its whole state: the stream is the one a new source gives).
type pcgSource struct {
	pcg rand.PCG
	r   *rand.Rand
}

// NewPCGSource returns the stream for one purpose of one seed. Different purposes of one seed
// are independent, so adding draws to one purpose does not shift the others.
func NewPCGSource(seed uint64, purpose string) Source {
	return newPCGSource(seed, purpose)
}

func newPCGSource(seed uint64, purpose string) *pcgSource {
	s := &pcgSource{}
	s.r = rand.New(&s.pcg)
	s.seed(seed, purpose)
	return s
}

// seed starts the stream again as the stream of purpose of seed.
func (s *pcgSource) seed(seed uint64, purpose string) {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	s.pcg.Seed(seed, h.Sum64())
}

func (s *pcgSource) Draw(n uint64, _ string) uint64 {
	if n <= 1 {
		return 0
	}
	if bits.UintSize == 32 {
		return s.r.Uint64N(n) // which draws otherwise on 32-bit machines
	}
	return s.uint64n(n)
}

// uint64n draws from [0, n) exactly as rand.Rand.Uint64N does on a 64-bit machine (a mask for a
// power of two, else Lemire's multiply with its rejection of the low part below 2^64 mod n), but
// from the PCG itself, not through the Rand and its Source interface. Draws run on the handler's
// coroutines (a message sent, a delay drawn), whose small stacks grow (a copy of the whole
// stack) when a call chain goes deeper than they are: the three calls fewer were where half the
// approval scenario's stack growths happened.
func (s *pcgSource) uint64n(n uint64) uint64 {
	if n&(n-1) == 0 {
		return s.pcg.Uint64() & (n - 1)
	}
	hi, lo := bits.Mul64(s.pcg.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(s.pcg.Uint64(), n)
		}
	}
	return hi
}

// uint64Max is uint64n(2^64-1), the draw of a tie's seq, with the rejection threshold worked
// out: 2^64 mod (2^64-1) is 1, so only a low part of zero is drawn again. uint64n computes the
// threshold by a division, some forty cycles, at every draw whose low part falls below n
// (nearly every draw, for this n).
func (s *pcgSource) uint64Max() uint64 {
	const n = ^uint64(0)
	hi, lo := bits.Mul64(s.pcg.Uint64(), n)
	for lo == 0 {
		hi, lo = bits.Mul64(s.pcg.Uint64(), n)
	}
	return hi
}

// pcgSources hands out the PCG streams of one run, reusing those a recycled world's last run
// used, in the order it asks for them.
type pcgSources struct {
	all  []*pcgSource
	used int
}

// next returns a stream for purpose of seed: a reused one seeded afresh, or a new one.
func (p *pcgSources) next(seed uint64, purpose string) *pcgSource {
	if p.used < len(p.all) {
		s := p.all[p.used]
		p.used++
		s.seed(seed, purpose)
		return s
	}
	s := newPCGSource(seed, purpose)
	p.all = append(p.all, s)
	p.used++
	return s
}

// rapidSource draws every choice from a rapid.T, so that rapid can shrink a whole failing
// simulation (fault plan and workload together) to a smaller one.
type rapidSource struct{ t *rapid.T }

// NewRapidSource returns a Source whose draws come from t.
func NewRapidSource(t *rapid.T) Source { return rapidSource{t: t} }

func (s rapidSource) Draw(n uint64, label string) uint64 {
	if n <= 1 {
		return 0
	}
	return rapid.Uint64Range(0, n-1).Draw(s.t, label)
}

// DrawFlipped draws as Draw does, flipped, so that rapid, which shrinks every draw toward zero,
// shrinks a Percent toward "does not fire": a shrunk run turns faults and rare branches off
// instead of on.
func (s rapidSource) DrawFlipped(n uint64, label string) uint64 {
	if n <= 1 {
		return 0
	}
	return n - 1 - rapid.Uint64Range(0, n-1).Draw(s.t, label)
}

// Rand adds convenient draws on top of a Source.
type Rand struct{ Source }

// Intn returns a value in [0, n).
func (r Rand) Intn(n int, label string) int {
	if n <= 1 {
		return 0
	}
	return int(r.Draw(uint64(n), label))
}

// Percent reports true with probability p/100.
// A choice tape stores the draw flipped, so that a zero on a tape means "does not fire".
//
// A zero p draws nothing and is answered where Percent is called: most fault percentages of
// most plans are zero, and the call into the draw cost more than the test (two in three of the
// approval scenario's Percents, one per message sent).
func (r Rand) Percent(p uint64, label string) bool {
	return p != 0 && r.percent(p, label)
}

// percent is Percent for a p above zero.
func (r Rand) percent(p uint64, label string) bool {
	if s, ok := r.Source.(*pcgSource); ok {
		return s.Draw(100, label) < p // the common source, which stores nothing flipped
	}
	if f, ok := r.Source.(flipDrawer); ok {
		return f.DrawFlipped(100, label) < p
	}
	return r.Draw(100, label) < p
}

// Duration returns a duration in [lo, hi].
func (r Rand) Duration(lo, hi time.Duration, label string) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Draw(uint64(hi-lo)+1, label))
}

// Exp returns a roughly exponential duration with the given mean (a sum of uniforms, cheap and
// bounded, so no draw can push an event past the end of a run by itself).
func (r Rand) Exp(mean time.Duration, label string) time.Duration {
	if mean <= 0 {
		return 0
	}
	return r.Duration(0, mean, label) + r.Duration(0, mean, label)
}
