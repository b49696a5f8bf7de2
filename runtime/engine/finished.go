package engine

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// Finished invocations live in the store only. Memory holds what is live — unfinished
// invocations, the keys they hold — so that it is bounded by live work, not by retention: a day
// of 1 000 finished invocations a second would otherwise keep 86 million journals in memory, and
// load them all at every start. A finished invocation's record moves from inv/ to fin/ in the
// batch that finishes it, and the engine drops it from memory when that batch leaves (Ready).
// Reads of it — an attach, an output, an idempotent repeat, a completion arriving late, its purge —
// go to the store through Config.Store, which sees every batch the driver has applied.
//
// Retention of finished invocations is one index in the store, ordered by deadline
// (ret/<deadline>/<id>), and one sweep timer at its head: not a timer per finished invocation.
// A sweep purges what is due, at most maxSweep at a time, and arms the next.

// maxSweep bounds how many purges one sweep step makes, so that a backlog (a server that was down
// for a day) drains in bounded steps instead of one step of unbounded size.
const maxSweep = 256

func finishedKey(id protocol.InvocationID) string { return idKey(finishedPrefix, id) }

// retentionKey is ret/, the deadline as 16 hex digits of its Unix seconds offset by 2^63 (so that
// every instant sorts in order) and 8 of its nanoseconds, a slash, the invocation ID in hex.
func retentionKey(deadline time.Time, id protocol.InvocationID) string {
	var b [retentionKeyLen]byte
	putRetentionKey(&b, deadline, id, "")
	return string(b[:])
}

// parseRetentionKey undoes retentionKey.
func parseRetentionKey(key string) (time.Time, protocol.InvocationID, bool) {
	var id protocol.InvocationID
	rest := key[len(retentionPrefix):]
	if len(rest) != 24+1+32 || rest[24] != '/' {
		return time.Time{}, id, false
	}
	var b [12]byte
	if _, err := hex.Decode(b[:], []byte(rest[:24])); err != nil {
		return time.Time{}, id, false
	}
	id, ok := parseHexID(rest[25:])
	nsec := binary.BigEndian.Uint32(b[8:])
	if !ok || nsec >= uint32(time.Second) {
		return time.Time{}, id, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[:8])^(1<<63)), int64(nsec)), id, true
}

// invocation returns the invocation id: the live one in memory, or a finished one read from the
// store (its record only: journal nil, entries set). nil when there is none.
func (e *Engine) invocation(id protocol.InvocationID) *invocation {
	if inv := e.invs[id]; inv != nil {
		return inv
	}
	return e.readFinished(id)
}

// finished reports whether invocation id has finished, as readFinished(id) != nil does (a record
// it cannot read is a read problem, and not finished), without building the invocation: most
// callers only ask, and the answer needs no copy of the record's strings.
func (e *Engine) finished(id protocol.InvocationID) bool {
	raw, ok := e.getRecord(finishedPrefix, id)
	if !ok {
		return false
	}
	var inv invocation
	err := decodeInvocationText(&inv, id, raw, false)
	if err != nil || inv.status != statusDone {
		e.readProblem(finishedKey(id), fmt.Errorf("finished invocation record: %w", errOr(err, "status is not done")))
		return false
	}
	return true
}

// readFinished reads a finished invocation's record from the store, or nil.
func (e *Engine) readFinished(id protocol.InvocationID) *invocation {
	raw, ok := e.getRecord(finishedPrefix, id)
	if !ok {
		return nil
	}
	inv := &invocation{}
	err := decodeInvocationNamed(inv, id, raw, e.cfg.Services, e)
	if err != nil || inv.status != statusDone {
		e.readProblem(finishedKey(id), fmt.Errorf("finished invocation record: %w", errOr(err, "status is not done")))
		return nil
	}
	return inv
}

// output returns a finished invocation's output: from memory while it finishes, else from the
// store.
func (e *Engine) output(inv *invocation) journal.Result {
	if len(inv.journal) > 0 {
		return inv.journal[len(inv.journal)-1].Result
	}
	raw, ok := e.getEntry(inv.id, inv.entries-1)
	if !ok {
		e.readProblem(entryKey(inv.id, inv.entries-1), errors.New("the output entry of a finished invocation is missing"))
		return journal.Result{Failure: &journal.Failure{Code: 500, Message: "the invocation's output cannot be read from the store"}}
	}
	// UnmarshalEntry copies what the result holds: raw may be the engine's read room.
	en, err := journal.UnmarshalEntry(raw)
	if err != nil || en.Kind != journal.KindOutput {
		e.readProblem(entryKey(inv.id, inv.entries-1), fmt.Errorf("output entry: %w", errOr(err, "not an output entry")))
		return journal.Result{Failure: &journal.Failure{Code: 500, Message: "the invocation's output cannot be read from the store"}}
	}
	return en.Result
}

func (e *Engine) outputResponse(inv *invocation) ingress.Response {
	out := e.output(inv)
	if out.Failure != nil {
		e.scratch = ingress.AppendFailureBody(e.scratch[:0], out.Failure.Code, out.Failure.Message)
		return ingress.FailureResponseWithBody(e.idString(inv), out.Failure.Code, e.keepValue())
	}
	return ingress.OutputResponse(e.idString(inv), out.Value)
}

// acceptedResponse is ingress.AcceptedResponse for inv, its body cut from the value buffer
// (keepValue), as a failure's is (outputResponse): a body is never written once made, as a
// store value is not.
func (e *Engine) acceptedResponse(inv *invocation, previouslyAccepted bool) ingress.Response {
	id := e.idString(inv)
	e.scratch = ingress.AppendAcceptedBody(e.scratch[:0], id, previouslyAccepted)
	return ingress.AcceptedResponseWithBody(id, e.keepValue())
}

// idempotent returns the invocation an idempotency key names, live or finished, or nil.
func (e *Engine) idempotent(id idemID) *invocation {
	raw, ok := e.readIdempotency(id)
	if !ok {
		return nil
	}
	if len(raw) != len(protocol.InvocationID{}) {
		e.readProblem(idempotencyKey(id), fmt.Errorf("idempotency record of %d bytes, want 16", len(raw)))
		return nil
	}
	return e.invocation(protocol.InvocationID(raw))
}

// retire writes a finished invocation's record under fin/ and its retention under ret/; Ready
// then drops it from memory.
func (e *Engine) retire(inv *invocation) {
	e.del(e.recordKeyOf(inv))
	e.putInvocation(e.invKeyOf(finishedPrefix, inv), inv)
	if !inv.purgeAt.IsZero() {
		e.put(e.retentionKeyOf(inv.purgeAt, inv.id, e.idHexOf(inv)), nil)
		e.armSweep(inv.purgeAt)
	}
}

// armSweep makes sure a sweep is armed at or before deadline.
func (e *Engine) armSweep(deadline time.Time) {
	if !e.sweepAt.IsZero() && !deadline.Before(e.sweepAt) {
		return
	}
	e.sweepAt = deadline
	e.addTimer(Timer{Kind: TimerRetentionSweep, Deadline: deadline})
}

// errStopScan is what a Scan's function returns to stop it once it has what it wanted.
var errStopScan = errors.New("stop")

// sweep purges the finished invocations whose retention is due, at most maxSweep, and arms the
// sweep for the next.
func (e *Engine) sweep(t Timer) {
	if t.Deadline.Equal(e.sweepAt) {
		e.sweepAt = time.Time{}
	}
	now := e.now()
	type due struct {
		deadline time.Time
		id       protocol.InvocationID
	}
	var purge []due
	var next time.Time
	err := e.cfg.Store.Scan(retentionPrefix, func(key string, _ []byte) error {
		deadline, id, ok := parseRetentionKey(key)
		switch {
		case !ok:
			e.readProblem(key, errors.New("retention index key does not parse"))
			return nil
		case deadline.After(now) || len(purge) == maxSweep:
			next = deadline
			return errStopScan
		}
		purge = append(purge, due{deadline, id})
		return nil
	})
	// A damaged index record was skipped by the store: it reads as absent, and is reported.
	for _, ce := range store.ChecksumErrors(err) {
		e.readProblem(ce.Key, ce)
	}
	if err = store.ExceptChecksum(err); err != nil && !errors.Is(err, errStopScan) {
		e.readProblem(retentionPrefix, err)
		return
	}
	for _, d := range purge {
		e.del(e.retentionKeyOf(d.deadline, d.id, ""))
		inv := e.readFinished(d.id)
		if inv == nil || !inv.purgeAt.Equal(d.deadline) {
			continue // purged with its workflow, or set aside
		}
		rt := Timer{Kind: TimerRetention, Invocation: inv.id, Deadline: d.deadline}
		e.note(Note{Kind: NoteTimerFired, Invocation: inv.id, Timer: rt, Reason: rt.Kind.String()})
		e.purgeInvocation(inv, rt)
		if ks := e.keys[keyID{inv.service, inv.key}]; mutant.On(mutant.PurgeWorkflowEarly) && ks != nil && !ks.run.IsZero() && !ks.purgeAt.IsZero() {
			e.purgeWorkflow(inv.service, inv.key, ks, Timer{Kind: TimerWorkflowRetention, Service: inv.service, Key: inv.key, Deadline: ks.purgeAt})
		}
	}
	if !next.IsZero() {
		e.armSweep(next)
	}
}

// armSweepFor arms the sweep for key, the head of the retention index, at recovery (see
// recovery.take).
func (e *Engine) armSweepFor(key string) {
	if deadline, _, ok := parseRetentionKey(key); ok {
		e.armSweep(deadline)
	} else {
		// A key the sweep cannot read: sweep at once, and let the sweep report it.
		e.armSweep(e.now())
	}
}

// maxReadRoom bounds the room getRecord keeps between reads.
const maxReadRoom = 4 << 10

// getRecord reads the record of invocation id under prefix (four bytes long, as every prefix
// here), as get(idKey(prefix, id)) does. Over a store that reads into a buffer of the caller's
// (valueAppender), the key is built in the engine's own room and the value read into a buffer
// the engine reuses, so that a read allocates nothing: the caller must be done with the value
// before the next read (decodeInvocation keeps nothing of its input).
func (e *Engine) getRecord(prefix string, id protocol.InvocationID) ([]byte, bool) {
	ap, ok := e.cfg.Store.(valueAppender)
	if !ok {
		return e.get(idKey(prefix, id))
	}
	n := copy(e.keyRoom[:], prefix)
	n += encodeHex(e.keyRoom[n:], id[:])
	return e.readInto(ap, e.keyRoom[:n])
}

// getEntry reads journal entry index of invocation id, as get(entryKey(id, index)) does, but
// as getRecord reads a record: over a store that reads into a buffer of the caller's, with the
// key built in keyRoom and the value read into readRoom, no key string and no copy (an output
// request for a finished invocation reads its output entry). The caller must be done with the
// value before the next read.
func (e *Engine) getEntry(id protocol.InvocationID, index uint32) ([]byte, bool) {
	ap, ok := e.cfg.Store.(valueAppender)
	if !ok {
		return e.get(entryKey(id, index))
	}
	putIndexedKey(&e.keyRoom, journalPrefix, id, index)
	return e.readInto(ap, e.keyRoom[:])
}

// readInto reads key's value into readRoom through ap, keeping the room for the next read
// unless the value was large; a read error is a read problem, and reads as absent.
func (e *Engine) readInto(ap valueAppender, key []byte) ([]byte, bool) {
	v, ok, err := ap.AppendValue(e.readRoom[:0], key)
	if err != nil {
		e.readProblem(string(key), err)
		return nil, false
	}
	if cap(v) <= maxReadRoom {
		e.readRoom = v[:0]
	}
	return v, ok
}

// readIdempotency reads id's idempotency record, as get(idempotencyKey(id)) does. Over a store
// that reads into a buffer of the caller's (valueAppender), the key is built in idemRoom and the
// value read into readRoom, as getRecord does: the caller must be done with the value before the
// next read. Most lookups find nothing, and need no key string of their own.
func (e *Engine) readIdempotency(id idemID) ([]byte, bool) {
	ap, ok := e.cfg.Store.(valueAppender)
	if !ok {
		return e.get(idempotencyKey(id))
	}
	e.idemRoom = appendEscapedKey(e.idemRoom[:0], idempotencyPrefix, id.service, id.handler, id.key, id.idemKey)
	v, ok := e.readInto(ap, e.idemRoom)
	if cap(e.idemRoom) > maxReadRoom {
		e.idemRoom = nil // a long key's room is not kept for the next lookup
	}
	return v, ok
}

// idempotencyKeyOf is idempotencyKey(id), built in idemRoom (as readIdempotency builds it) and
// cut from the key buffer (keepString) rather than a string of its own: an idempotent request's
// create writes it, and its purge deletes it.
func (e *Engine) idempotencyKeyOf(id idemID) string {
	e.idemRoom = appendEscapedKey(e.idemRoom[:0], idempotencyPrefix, id.service, id.handler, id.key, id.idemKey)
	k := e.keepString(e.idemRoom)
	if cap(e.idemRoom) > maxReadRoom {
		e.idemRoom = nil // a long key's room is not kept for the next one
	}
	return k
}

// get reads key's latest applied value. A read error is a store failure; it is kept for the
// driver (Err) and reads as absent.
func (e *Engine) get(key string) ([]byte, bool) {
	v, ok, err := e.cfg.Store.Get(key)
	if err != nil {
		e.readProblem(key, err)
		return nil, false
	}
	return v, ok
}

// maxReadProblems bounds the read problems kept between two TakeReadProblems, so that a store
// gone bad cannot grow them without bound.
const maxReadProblems = 1024

// readProblem records a record the engine could not read while serving. Recovery sets bad
// records aside; a record met later reads as absent and is reported through TakeReadProblems.
func (e *Engine) readProblem(key string, err error) {
	if len(e.readProblems) < maxReadProblems {
		e.readProblems = append(e.readProblems, RecoveryProblem{Key: key, Problem: err.Error(), Action: "read as absent"})
	}
}

// TakeReadProblems returns the records the engine could not read while serving since the last
// call (at most maxReadProblems of them), for the driver to log, and forgets them.
func (e *Engine) TakeReadProblems() []RecoveryProblem {
	p := e.readProblems
	e.readProblems = nil
	return p
}

func errOr(err error, why string) error {
	if err != nil {
		return err
	}
	return errors.New(why)
}
