package sim

import "github.com/vigilsim/vigil/checkers"

// FlipEveryRecord runs sc with opts and then, on the store the run left, flips a bit of every
// record in turn and judges each flip as the bit-flip fault does (checkBitFlip). It returns the
// keys, those the restart set aside, and the violations.
func FlipEveryRecord(sc Scenario, opts Options) (keys, setAside []string, vs []checkers.Violation) {
	w := newWorld(sc, opts)
	defer w.close()
	w.run()
	keys = w.runtime.store.Keys()
	for _, key := range keys {
		for _, bit := range []int{0, 13, 1 << 19} {
			v, aside := w.checkBitFlip(key, bit)
			vs = append(vs, v...)
			if aside && bit == 0 {
				setAside = append(setAside, key)
			}
		}
	}
	return keys, setAside, vs
}
