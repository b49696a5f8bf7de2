package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/store"
)

// quarantineVersion is the version of a q/ record: version, original key, problem, value.
const quarantineVersion = 1

// QuarantineKey is where a record set aside by recovery goes: q/ and the SHA-256 of its key in
// hex. A hash rather than the key itself, so that the longest key the store takes still has a
// place there.
func QuarantineKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return quarantinePrefix + hex.EncodeToString(sum[:])
}

// encodeQuarantined encodes a q/ record: everything needed to inspect the record or put it back
// by hand.
func encodeQuarantined(key, problem string, value []byte) []byte {
	b := []byte{quarantineVersion}
	b = appendString(b, key)
	b = appendString(b, problem)
	return appendBytes(b, value)
}

// DecodeQuarantined reads a q/ record back: the original key, what was wrong with it, its value.
func DecodeQuarantined(b []byte) (key, problem string, value []byte, err error) {
	r := recordReader{b: b}
	if v := r.byte("version"); r.err == nil && v != quarantineVersion {
		return "", "", nil, fmt.Errorf("quarantined record of version %d, this build reads %d: %w", v, quarantineVersion, ErrCorruptStore)
	}
	key = string(r.bytes("key"))
	problem = string(r.bytes("problem"))
	value = r.bytes("value")
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return "", "", nil, fmt.Errorf("quarantined record: %v: %w", r.err, ErrCorruptStore)
	}
	return key, problem, value, nil
}

// quarantine moves one record under q/ in this step's batch. A record the store could not
// take back (its q/ record would be past the store's limits) is left where it is and reported
// again at the next start: noisy, never fatal.
func (e *Engine) quarantine(a asideRecord) RecoveryProblem {
	p := RecoveryProblem{Key: a.key, Problem: a.problem}
	put := store.Op{Key: QuarantineKey(a.key), Value: encodeQuarantined(a.key, a.problem, a.value)}
	if err := store.CheckOp(put); err != nil {
		p.Action = fmt.Sprintf("left in place: it cannot be set aside (%v)", err)
		return p
	}
	e.ready.Batch = append(e.ready.Batch, put)
	if store.CheckOp(store.Op{Key: a.key, Delete: true}) == nil {
		e.del(a.key)
	}
	p.Action = "set aside under " + put.Key
	return p
}

// encodeEarly encodes an early completion as its record holds it: a completed awakeable entry.
func encodeEarly(r journal.Result) []byte {
	return journal.MarshalEntry(earlyEntry(r))
}

// earlySize is len(encodeEarly(r)), without encoding it.
func earlySize(r journal.Result) int { return journal.EntrySize(earlyEntry(r)) }

func earlyEntry(r journal.Result) journal.Entry {
	return journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: r}
}
