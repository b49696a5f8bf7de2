package sim

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/store"
)

// bitFlipViolations performs the plan's bit flip (faults.Plan.BitFlip) and judges what the
// runtime makes of it. It runs once the run is over and judged, storage audit included, so that
// the data the flip destroys is not blamed on the runtime by the checkers that read the history:
// the loss is the fault's, and what is judged is its detection.
//
// One bit of one stored value, both drawn from the seed, flips at rest. Then:
//   - reading the value must fail its checksum, naming its key, never return the damaged bytes;
//   - a restart on the damaged store must recover, and every record it sets aside must be the
//     damaged one or a record of the same invocation (the engine sets an invocation aside whole);
//     any other problem is the runtime's own and stays a violation. A damaged record that
//     recovery does not read (a finished invocation, an idempotency key, the retention index)
//     is reported by the engine when a request reads it, as absent, never as data (the first
//     check holds for every read).
//
// The flipped bit is flipped back afterwards, so the store is as the run left it.
//
// The key is drawn from rows, the store's every row in its order (the storage audit's), when
// haveRows; else from the store's keys, listed here.
func (w *World) bitFlipViolations(rows []checkers.Row, haveRows bool) []checkers.Violation {
	var key string
	if haveRows {
		if len(rows) == 0 {
			return nil
		}
		key = rows[w.faultRand.Intn(len(rows), "bit-flip-key")].Key
	} else {
		keys := w.runtime.store.Keys()
		if len(keys) == 0 {
			return nil
		}
		key = keys[w.faultRand.Intn(len(keys), "bit-flip-key")]
	}
	bit := w.faultRand.Intn(1<<20, "bit-flip-bit")
	vs, _ := w.checkBitFlip(key, bit)
	if len(vs) == 0 {
		w.cover(CoverBitFlipDetected)
	}
	return vs
}

// checkBitFlip flips bit of key's stored value, judges the outcome as bitFlipViolations says,
// and flips it back. setAside reports whether the restart set the record aside (false for a
// record recovery does not read).
func (w *World) checkBitFlip(key string, bit int) (vs []checkers.Violation, setAside bool) {
	st := w.runtime.store
	if !st.FlipBit(key, bit) {
		return nil, false
	}
	defer st.FlipBit(key, bit)
	fail := func(format string, args ...any) []checkers.Violation {
		return []checkers.Violation{{Checker: "storage-faults", Message: fmt.Sprintf("bit %d of the value of %q flipped at rest: ", bit, key) + fmt.Sprintf(format, args...)}}
	}
	v, ok, err := st.Get(key)
	// errors.AsType rather than errors.As: the target of As escapes, a heap cell per flip.
	ce, isChecksum := errors.AsType[*store.ChecksumError](err)
	switch {
	case err == nil:
		return fail("it read back as %d bytes of data (found %v), not as a checksum failure", len(v), ok), false
	case !isChecksum || ce.Key != key:
		return fail("reading it failed with %v, want a checksum error naming the key", err), false
	}

	// A restart on the damaged store. The engine is not kept for the run: its first batch
	// (which would move the record aside) is never applied, and it reports no coverage. Its
	// room is kept for the next flip's restart (judges.flipEng), recovered over as over a
	// crashed engine, which leaves nothing of this one visible; on an error the engine given
	// stays the spare (RecoverOver leaves it fit for another).
	cfg := w.runtime.config()
	cfg.Reached, cfg.Buggify = nil, nil
	j := w.takeJudges()
	eng, err := engine.RecoverOver(cfg, j.flipEng)
	if err != nil {
		return fail("recovery failed instead of setting the record aside: %v", err), false
	}
	j.flipEng = eng
	inv := invocationOfKey(key)
	for _, p := range eng.Problems() {
		if p.Key == key {
			setAside = setAside || strings.HasPrefix(p.Action, "set aside")
			continue // the fault's own outcome: the record set aside
		}
		if inv != "" && strings.Contains(p.Key, inv) {
			continue // and the rest of its invocation with it
		}
		vs = append(vs, fail("recovery also reported %q: %s (%s), which the flip does not explain", p.Key, p.Problem, p.Action)...)
	}
	return vs, setAside
}

// invocationOfKey returns the invocation ID a store key names, as the 32 hex digits of one of its
// /-separated parts, or "" when it names none. The simulator reads keys only this far: which
// invocation a record belongs to, so that setting that invocation aside is recognised as the
// consequence of damage to one of its records.
func invocationOfKey(key string) string {
	for part := range strings.SplitSeq(key, "/") {
		if len(part) == 32 && strings.Trim(part, "0123456789abcdef") == "" {
			return part
		}
	}
	return ""
}
