package sim

import (
	"strings"

	"github.com/vigilsim/vigil/checkers"
)

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

// FlipWithUnrelatedDamage runs sc with opts, damages the record of an unfinished invocation
// behind the fault's back, and then judges the fault's flip of a record of another invocation:
// the restart sets the damaged invocation aside, which the flip does not explain. It returns nil
// when the run left no such pair of records.
func FlipWithUnrelatedDamage(sc Scenario, opts Options) (vs []checkers.Violation, tried bool) {
	w := newWorld(sc, opts)
	defer w.close()
	w.run()
	st := w.runtime.store
	var unrelated string
	for _, key := range st.Keys() {
		if strings.HasPrefix(key, "inv/") {
			unrelated = key
			break
		}
	}
	if unrelated == "" {
		return nil, false
	}
	for _, key := range st.Keys() {
		if inv := invocationOfKey(key); inv != "" && inv != invocationOfKey(unrelated) {
			st.FlipBit(unrelated, 0)
			defer st.FlipBit(unrelated, 0)
			vs, _ := w.checkBitFlip(key, 0)
			return vs, true
		}
	}
	return nil, false
}
