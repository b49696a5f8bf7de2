package sim

import (
	"math"
	"testing"
)

// TestPCGDrawIsRandUint64N holds the seeded stream's own bounded draw to rand.Rand.Uint64N on
// the same PCG, draw for draw, over bounds of every kind: powers of two, small ones, and large
// ones that make the rejection loop run. A difference would change every trace hash.
func TestPCGDrawIsRandUint64N(t *testing.T) {
	bounds := []uint64{2, 3, 5, 7, 8, 10, 100, 101, 1 << 20, 1<<20 + 1, 1e9 + 7, 60_000_000_001,
		1<<63 + 1, 1<<63 + 12345, math.MaxUint64 - 1, math.MaxUint64, 3 << 62, 1 << 63}
	for _, purpose := range []string{"net", "faults", "ties"} {
		// Two sources of one seed and purpose: one draws its own way, the other through its Rand.
		s, ref := newPCGSource(42, purpose), newPCGSource(42, purpose).r
		for i := range 20000 {
			n := bounds[i%len(bounds)]
			if i%3 == 0 {
				n = uint64(i%1000) + 2
			}
			if got, want := s.Draw(n, ""), ref.Uint64N(n); got != want {
				t.Fatalf("%s draw %d of [0, %d): %d, rand.Rand.Uint64N draws %d", purpose, i, n, got, want)
			}
		}
	}
}

// TestTieDrawIsDraw holds the queue's draw of a tie's seq (uint64Max, drawTie) to Draw of
// 2^64-1 on the same stream, draw for draw: the ties decide the order of events due at one
// instant, and so the trace hash.
func TestTieDrawIsDraw(t *testing.T) {
	s, ref := newPCGSource(7, "ties"), newPCGSource(7, "ties")
	q := eventQueue{ties: newPCGSource(7, "ties")}
	for i := range 100000 {
		want := ref.Draw(math.MaxUint64, "tie")
		if got := s.uint64Max(); got != want {
			t.Fatalf("draw %d: uint64Max %d, Draw(2^64-1) %d", i, got, want)
		}
		if got := q.drawTie(); got != want {
			t.Fatalf("draw %d: drawTie %d, Draw(2^64-1) %d", i, got, want)
		}
	}
}
