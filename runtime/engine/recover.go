package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// Recover rebuilds an engine from a store's recovery scan (Store.Load). The returned engine's
// first Ready restarts what was running: each running invocation gets a new attempt, every timer
// is armed again (due ones fire at once when the driver arms them), suspended invocations stay
// suspended unless what they wait on is already there, inboxes keep their acceptance order.
//
// A record that cannot be used — it does not decode, or no sequence of the engine's own atomic
// batches could have left it — never stops recovery: it is set aside under the q/ prefix (an
// invocation with all its records), in the first Ready's batch, and listed by Problems, so
// that the driver logs it and the next start does not meet it again. A server whose data holds
// one bad record serves everything else instead of failing at every start. Only an error of the
// scan itself is returned.
//
// Recovery runs in steps, each a function below: scan (sort every record into its place),
// check (what only the whole picture shows), then rebuild workflows, keys and timers, and
// restart what was running.
func Recover(cfg Config) (*Engine, error) {
	return recoverInto(New(cfg))
}

// RecoverOver is Recover, rebuilding over old, an engine its driver is done with (one whose
// process crashed): the engine returned is old itself, emptied as NewOver empties it and
// rebuilt from the store, so that a driver that restarts often (the simulator) does not grow
// its maps and buffers afresh at every restart. old nil is Recover. On an error old holds what
// the recovery read before it, and is fit only for another RecoverOver or NewOver, which empty
// it first. The driver must not use old otherwise afterwards.
func RecoverOver(cfg Config, old *Engine) (*Engine, error) {
	return recoverInto(NewOver(cfg, old))
}

// recoverInto rebuilds e, as New left it, from its store. The recovery's own room is kept in
// e (Engine.rec), emptied, for a later RecoverOver.
func recoverInto(e *Engine) (*Engine, error) {
	r := e.rec
	if r == nil {
		r = &recovery{}
		r.takeFn = r.take // one method value for every scan, not one each
	}
	e.rec = nil
	*r = recovery{e: e, takeFn: r.takeFn, order: r.order[:0], workflows: r.workflows[:0], aside: r.aside[:0], legacy: r.legacy[:0]}
	defer r.done()
	if err := r.scan(); err != nil {
		return nil, fmt.Errorf("recover engine: %w", err)
	}
	r.checkInvocations()
	r.rebuildWorkflows()
	r.rebuildKeysAndTimers()
	r.restart()
	r.setAside()
	if !mutant.On(mutant.ForgetRetentionTimer) {
		// The sweep for the head of the retention index, armed through take: a closure of
		// its own would be one more allocation per recovery.
		_ = r.e.cfg.Store.Scan(retentionPrefix, r.takeFn)
	}
	return e, nil
}

// done empties r, keeping the room of its slices, and leaves it to its engine for the next
// recovery over it: nothing of this recovery stays reachable through it.
func (r *recovery) done() {
	clear(r.order[:cap(r.order)])
	clear(r.workflows[:cap(r.workflows)])
	clear(r.aside[:cap(r.aside)])
	clear(r.legacy[:cap(r.legacy)])
	e := r.e
	*r = recovery{takeFn: r.takeFn, order: r.order[:0], workflows: r.workflows[:0], aside: r.aside[:0], legacy: r.legacy[:0]}
	e.rec = r
}

// scan reads the live part of the store: the records set aside before (counted), unfinished
// invocations with their entries, state, promises, workflows and the sequence number. Finished
// invocations, idempotency keys and the retention index stay on disk until asked for.
func (r *recovery) scan() error {
	st := r.e.cfg.Store
	take := r.takeFn
	for _, prefix := range []string{quarantinePrefix, invocationPrefix, statePrefix, promisePrefix, workflowPrefix} {
		if err := r.unreadable(st.Scan(prefix, take)); err != nil {
			return err
		}
	}
	if raw, ok, err := r.readSeq(); err != nil {
		if err := r.unreadable(err); err != nil {
			return err
		}
	} else if ok {
		_ = r.take(seqKey, raw)
	}
	for _, inv := range r.order {
		early, entries := r.e.invocationScanPrefixes(inv.id)
		r.cur, r.curHex = nil, entries[len(journalPrefix):len(entries)-1]
		if r.e.invs[inv.id] == inv {
			r.cur = inv // as good as every time: see cur
		}
		for _, prefix := range [...]string{early, entries} {
			if err := r.unreadable(st.Scan(prefix, take)); err != nil {
				return err
			}
		}
	}
	r.cur, r.curHex = nil, ""
	return nil
}

// readSeq reads the sequence record as the store's Get does, but over a store that reads into
// a buffer of the caller's (valueAppender), into the engine's read room, which take keeps
// nothing of: a copy of its own at every recovery otherwise.
func (r *recovery) readSeq() ([]byte, bool, error) {
	ap, ok := r.e.cfg.Store.(valueAppender)
	if !ok {
		return r.e.cfg.Store.Get(seqKey)
	}
	v, ok, err := ap.AppendValue(r.e.readRoom[:0], r.e.keyRoom[:copy(r.e.keyRoom[:], seqKey)])
	if err == nil && cap(v) <= maxReadRoom {
		r.e.readRoom = v[:0]
	}
	return v, ok, err
}

// parseHexIndex reads a journal index from the 8 hex digits of a store key, either case, as
// strconv.ParseUint(s, 16, 32) reads them (8 digits always fit), without its error value.
func parseHexIndex(s string) (uint64, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var v uint64
	for i := range len(s) {
		d, ok := hexDigit(s[i])
		if !ok {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// invocationScanPrefixes are the prefixes of invocation id's early completions and journal
// entries: earlyPrefix or journalPrefix, the ID in hex and a slash. Both are cut from one
// string, itself cut from the key buffer (keepString), so that an invocation's scans cost no
// allocation of their own, and the ID is encoded once.
func (e *Engine) invocationScanPrefixes(id protocol.InvocationID) (early, entries string) {
	const idLen = 2*len(protocol.InvocationID{}) + 1
	var buf [len(earlyPrefix) + len(journalPrefix) + 2*idLen]byte
	n := copy(buf[:], earlyPrefix)
	n += encodeHex(buf[n:], id[:])
	buf[n] = '/'
	n++
	n += copy(buf[n:], journalPrefix)
	n += copy(buf[n:], buf[len(earlyPrefix):len(earlyPrefix)+idLen])
	both := e.keepString(buf[:n])
	return both[:len(earlyPrefix)+idLen], both[len(earlyPrefix)+idLen:]
}

// unreadable sets aside every record that err reports failing its store checksum, as a record
// that does not decode is set aside, and returns the rest of err (nil when nothing else went
// wrong). The store skipped those records and went on, so the scan saw everything else.
//
// A damaged record of an invocation takes its invocation with it, as a record that does not
// decode does: its invocation record marks it bad before its entries are scanned; one of its
// entries or early completions drops it.
func (r *recovery) unreadable(err error) error {
	if err == nil {
		return nil // the usual scan: nothing to look through
	}
	for _, ce := range store.ChecksumErrors(err) {
		problem := ce.Error()
		key := ce.Key
		r.setAsideRaw(key, ce.Value, problem)
		switch {
		case strings.HasPrefix(key, invocationPrefix):
			if id, ok := parseHexID(key[len(invocationPrefix):]); ok {
				r.setBad(id, problem)
			}
		case strings.HasPrefix(key, earlyPrefix), strings.HasPrefix(key, journalPrefix):
			idPart, _, _ := strings.Cut(key[len(journalPrefix):], "/")
			if id, ok := parseHexID(idPart); ok {
				if inv := r.e.invs[id]; inv != nil {
					r.drop(inv, damagedRecord(key, problem))
				} else if _, dropped := r.dropped[id]; dropped {
					// Dropped already, for the gap the damaged entry left: the damage is
					// the cause.
					r.setBad(id, damagedRecord(key, problem))
				}
			}
		case key == seqKey:
			r.seqBroken = true
		}
	}
	return store.ExceptChecksum(err)
}

// damagedRecord is fmt.Sprintf("record %q is damaged: %v", key, ce) for the checksum error ce
// whose text is problem: joined on the stack from the text unreadable has already spelled,
// rather than formatted, which spelled it again.
func damagedRecord(key, problem string) string {
	var buf [256]byte
	b := append(buf[:0], "record "...)
	b = strconv.AppendQuote(b, key)
	b = append(b, " is damaged: "...)
	b = append(b, problem...)
	return string(b)
}

// RecoveryProblem is a record Recover could not use, and what it did about it.
type RecoveryProblem struct {
	// Key is the record's store key.
	Key string
	// Problem says what is wrong with it.
	Problem string
	// Action says what recovery did: set it aside under QuarantineKey, or repaired it.
	Action string
}

// Problems returns what Recover found wrong in the store and set aside or repaired, in key
// order; nil for a healthy store.
func (e *Engine) Problems() []RecoveryProblem { return e.problems }

// QuarantinedEarlier returns how many records earlier recoveries set aside (q/ keys).
func (e *Engine) QuarantinedEarlier() int { return e.quarantinedEarlier }

// recovery is one run of Recover.
type recovery struct {
	e *Engine
	// takeFn is take, bound once for every scan.
	takeFn    func(key string, value []byte) error
	order     []*invocation
	workflows []workflowRecord
	// bad holds the invocations set aside, with why (setBad); dropped holds those of them that
	// had decoded, so their records can be set aside whole. Both are nil until needed.
	bad     map[protocol.InvocationID]string
	dropped map[protocol.InvocationID]*invocation
	// aside are the records to set aside that are at hand as raw bytes, in scan order.
	aside []asideRecord
	// legacy are version 1 records, whose early completions move to their own keys.
	legacy    []*invocation
	seqBroken bool
	// cur is the invocation whose early completions and entries scan is reading, curHex its
	// ID as their keys spell it: each of its records then costs neither a parse of its ID nor
	// a lookup of its invocation (takeIndexed). It is nil when the map does not hold it for its
	// ID (a second record of the same ID in other digits took its place), and while the scan
	// reads it, the map changes for its ID only when it is set aside (bad).
	cur    *invocation
	curHex string
}

type workflowRecord struct {
	service, key string
	run          protocol.InvocationID
	purgeAt      time.Time
}

// asideRecord is one record to set aside.
type asideRecord struct {
	key, problem string
	value        []byte
}

// take sorts one scanned record into its place, or sets it aside. Of the retention index it
// takes the first key only, to arm the first sweep.
func (r *recovery) take(key string, value []byte) error {
	var err error
	switch {
	case strings.HasPrefix(key, retentionPrefix):
		r.e.armSweepFor(key)
		return errStopScan
	case strings.HasPrefix(key, quarantinePrefix):
		r.e.quarantinedEarlier++
	case strings.HasPrefix(key, invocationPrefix):
		r.takeInvocation(key, value)
	case strings.HasPrefix(key, earlyPrefix), strings.HasPrefix(key, journalPrefix):
		r.takeIndexed(key, value)
	case strings.HasPrefix(key, statePrefix):
		err = r.takeState(key, value)
	case strings.HasPrefix(key, promisePrefix):
		err = r.takePromise(key, value)
	case strings.HasPrefix(key, workflowPrefix):
		err = r.takeWorkflow(key, value)
	case key == seqKey:
		seq, n := binary.Uvarint(value)
		if n <= 0 || n != len(value) {
			r.seqBroken = true
			err = fmt.Errorf("sequence record of %d bytes does not decode", len(value))
		} else {
			r.e.seq = seq
		}
	default:
		err = fmt.Errorf("unknown key %q", key)
	}
	if err != nil {
		r.setAsideRaw(key, value, err.Error())
	}
	return nil
}

func (r *recovery) setAsideRaw(key string, value []byte, problem string) {
	r.aside = append(r.aside, asideRecord{key: key, problem: problem, value: slices.Clone(value)})
}

func (r *recovery) takeInvocation(key string, value []byte) {
	id, ok := parseHexID(key[len(invocationPrefix):])
	if !ok {
		r.setAsideRaw(key, value, "invocation key is not 32 hex digits")
		return
	}
	var decoded invocation
	if err := decodeInvocationNamed(&decoded, id, value, r.e.cfg.Services, r.e); err != nil {
		r.setBad(id, err.Error())
		r.setAsideRaw(key, value, err.Error())
		return
	}
	inv := recoveredInvocation(&decoded)
	if len(inv.early) > 0 {
		r.legacy = append(r.legacy, inv)
	}
	r.e.invs[id] = inv
	r.order = append(r.order, inv)
}

// recoveredInvocation returns the invocation decoded, on the heap. One whose journal is short,
// as nearly every one is (the approval benchmark's have one to three entries), gets the room a
// new invocation has (invocationWithRoom): the invocation and its journal in one allocation
// instead of two. Its journal is that room, empty, until takeIndexed appends the entries; drop
// makes a journal of no entry nil again, as it is without the room.
func recoveredInvocation(decoded *invocation) *invocation {
	if decoded.entries == 0 || decoded.entries > initialJournalRoom {
		inv := new(invocation)
		*inv = *decoded
		return inv
	}
	room := new(invocationWithRoom)
	room.invocation = *decoded
	inv := &room.invocation
	inv.journal = room.journal[:0:initialJournalRoom]
	inv.waiters = room.waiters[:0:1]
	return inv
}

// takeIndexed takes a journal entry or an early completion. Both follow their invocation's
// record in the scan (inv/ sorts before jne/ and jnl/).
func (r *recovery) takeIndexed(key string, value []byte) {
	prefix := key[:len(journalPrefix)]
	idPart, idxPart, ok := strings.Cut(key[len(prefix):], "/")
	var id protocol.InvocationID
	okID := r.cur != nil && idPart == r.curHex
	if okID {
		id = r.cur.id
	} else {
		id, okID = parseHexID(idPart)
	}
	idx, okIdx := parseHexIndex(idxPart)
	if !ok || !okID || !okIdx {
		r.setAsideRaw(key, value, "key is not <32 hex digits>/<8 hex digits>")
		return
	}
	if why, bad := r.bad[id]; bad {
		r.setAsideRaw(key, value, "its invocation is set aside: "+why)
		return
	}
	// What the map holds for the scanned invocation's ID is the scanned invocation (see cur).
	inv := r.cur
	if inv == nil || inv.id != id {
		inv = r.e.invs[id]
	}
	if inv == nil {
		r.setBad(id, "records of an invocation without an invocation record")
		r.setAsideRaw(key, value, r.bad[id])
		return
	}
	en, err := journal.UnmarshalEntry(value)
	switch {
	case err != nil:
		r.setAsideRaw(key, value, err.Error())
		r.drop(inv, fmt.Sprintf("record %q does not decode: %v", key, err))
	case prefix == earlyPrefix:
		if inv.early == nil {
			inv.early = map[uint32]journal.Result{}
		}
		inv.early[uint32(idx)] = en.Result
		inv.earlyBytes += len(value)
	case idx != uint64(len(inv.journal)):
		r.setAsideRaw(key, value, fmt.Sprintf("journal entry %d follows %d entries", idx, len(inv.journal)))
		r.drop(inv, fmt.Sprintf("its journal has a gap before entry %d", idx))
	default:
		if inv.journal == nil && inv.entries > 0 {
			// Room for as many entries as the record says there are (bounded: it may be damaged).
			inv.journal = make([]journal.Entry, 0, min(inv.entries, maxJournalHint))
		}
		inv.journal = append(inv.journal, en)
	}
}

// drop sets a decoded invocation aside with everything of it read so far; what is read of it
// later follows (takeIndexed).
func (r *recovery) drop(inv *invocation, why string) {
	if len(inv.journal) == 0 {
		// The room recoveredInvocation gave a journal none of whose entries was read: nil, as
		// without it, so that the record set aside counts the entries its record says it has
		// (encodeInvocation), not none.
		inv.journal = nil
	}
	r.setBad(inv.id, why)
	if r.dropped == nil {
		r.dropped = map[protocol.InvocationID]*invocation{}
	}
	r.dropped[inv.id] = inv
	delete(r.e.invs, inv.id)
}

// setBad records why invocation id is set aside. The map is made at the first: most
// recoveries set nothing aside.
func (r *recovery) setBad(id protocol.InvocationID, why string) {
	if r.bad == nil {
		r.bad = map[protocol.InvocationID]string{}
	}
	r.bad[id] = why
}

func (r *recovery) takeState(key string, value []byte) error {
	parts, err := splitKey(key, statePrefix, 3)
	if err != nil {
		return err
	}
	ks := r.e.keyState(parts[0], parts[1])
	if ks.state == nil {
		ks.state = map[string][]byte{}
	}
	ks.state[parts[2]] = slices.Clone(value)
	return nil
}

func (r *recovery) takePromise(key string, value []byte) error {
	parts, err := splitKey(key, promisePrefix, 3)
	if err != nil {
		return err
	}
	en, err := journal.UnmarshalEntry(value)
	if err != nil {
		return fmt.Errorf("promise %q: %v", key, err)
	}
	ks := r.e.keyState(parts[0], parts[1])
	if ks.promises == nil {
		ks.promises = map[string]*promise{}
	}
	ks.promises[parts[2]] = &promise{completed: true, result: en.Result}
	return nil
}

func (r *recovery) takeWorkflow(key string, value []byte) error {
	parts, err := splitKey(key, workflowPrefix, 2)
	if err != nil {
		return err
	}
	if len(value) < 1+16 || value[0] != workflowRecordVersion {
		return fmt.Errorf("workflow record %q: bad version or length", key)
	}
	w := workflowRecord{service: parts[0], key: parts[1]}
	copy(w.run[:], value[1:17])
	rr := recordReader{b: value[17:]}
	w.purgeAt = rr.time("purge deadline")
	if rr.err != nil || len(rr.b) != 0 {
		return fmt.Errorf("workflow record %q: bad purge deadline", key)
	}
	r.workflows = append(r.workflows, w)
	return nil
}

// checkInvocations sets aside invocations that decoded but that no sequence of the engine's
// atomic batches can produce, and repairs a sequence number that fell behind.
func (r *recovery) checkInvocations() {
	kept := r.order[:0]
	for _, inv := range r.order {
		if _, bad := r.bad[inv.id]; bad {
			continue
		}
		if err := checkRecovered(inv); err != nil {
			r.drop(inv, err.Error())
			continue
		}
		if inv.status == statusDone {
			// Written before finished invocations moved to fin/: move it now.
			r.e.retire(inv)
			delete(r.e.invs, inv.id)
			continue
		}
		kept = append(kept, inv)
	}
	r.order = kept
	var last uint64
	for _, inv := range r.order {
		last = max(last, inv.seq)
	}
	if last > r.e.seq || r.seqBroken {
		was := r.e.seq
		r.e.seq = max(r.e.seq, last)
		r.e.putSeq()
		r.e.problems = append(r.e.problems, RecoveryProblem{Key: seqKey,
			Problem: fmt.Sprintf("the last acceptance sequence number read %d, but an invocation has %d", was, last),
			Action:  fmt.Sprintf("repaired: set to %d", r.e.seq)})
	}
	// Version 1 records kept early completions inline: write them apart, and the record anew.
	for _, inv := range r.legacy {
		if r.e.invs[inv.id] != inv {
			continue
		}
		for _, idx := range sortedKeys(inv.early) {
			enc := encodeEarly(inv.early[idx])
			inv.earlyBytes += len(enc)
			r.e.put(earlyKey(inv.id, idx), enc)
		}
		r.e.markDirty(inv)
	}
}

// checkRecovered checks what the engine's own batches always keep true of a recovered invocation,
// so that a corrupt store cannot make it, say, serve a finished invocation's input as its output.
// Every batch is atomic, so no crash can leave a state that fails these checks.
func checkRecovered(inv *invocation) error {
	if inv.id.IsZero() {
		return errors.New("the zero invocation id")
	}
	if len(inv.journal) == 0 || inv.journal[0].Kind != journal.KindInput {
		return errors.New("its journal does not start with an input entry")
	}
	last := len(inv.journal) - 1
	for i, en := range inv.journal[1:] {
		switch {
		case en.Kind == journal.KindInput:
			return fmt.Errorf("second input entry at index %d", i+1)
		case en.Kind == journal.KindOutput && i+1 != last:
			return fmt.Errorf("output entry at index %d is not the last of %d", i+1, len(inv.journal))
		}
	}
	if ended := inv.journal[last].Kind == journal.KindOutput; ended != (inv.status == statusDone) {
		return fmt.Errorf("status %s, but the journal's last entry is a %s", inv.status, inv.journal[last].Kind)
	}
	if inv.status == statusSuspended {
		for _, w := range inv.waiting {
			if w > uint32(last) {
				return fmt.Errorf("suspended on index %d past its journal of %d entries", w, len(inv.journal))
			}
		}
	}
	return nil
}

func (r *recovery) rebuildWorkflows() {
	for _, w := range r.workflows {
		ks := r.e.keyState(w.service, w.key)
		ks.run, ks.purgeAt = w.run, w.purgeAt
		if !w.purgeAt.IsZero() && !mutant.On(mutant.ForgetRetentionTimer) {
			r.e.arm(Timer{Kind: TimerWorkflowRetention, Service: w.service, Key: w.key, Deadline: w.purgeAt})
		}
	}
}

// rebuildKeysAndTimers rebuilds locks and inboxes (in acceptance order), promise waiters and
// timers.
func (r *recovery) rebuildKeysAndTimers() {
	e := r.e
	slices.SortFunc(r.order, func(a, b *invocation) int {
		if mutant.On(mutant.LoseInboxOrderOnRestart) {
			return compareIDs(a.id, b.id)
		}
		return cmpUint64(a.seq, b.seq)
	})
	kept := r.order[:0]
	for _, inv := range r.order {
		spec := e.specOf(inv.service)
		if holdsLock(inv, spec) {
			if ks := e.keyState(inv.service, inv.key); ks.holder != nil {
				r.drop(inv, fmt.Sprintf("it holds the lock of %s/%s, which %s holds too", inv.service, inv.key, ks.holder.id))
				continue
			}
		}
		kept = append(kept, inv)
		r.rebuildInvocation(inv, spec)
	}
	r.order = kept
}

// holdsLock reports whether a recovered invocation holds its key's lock: an exclusive one that
// left the inbox and has not finished.
func holdsLock(inv *invocation, spec protocol.ServiceSpec) bool {
	switch inv.status {
	case statusDone, statusScheduled, statusPending:
		return false
	}
	return inv.holdsKey(spec)
}

func (r *recovery) rebuildInvocation(inv *invocation, spec protocol.ServiceSpec) {
	e := r.e
	if inv.status != statusDone && spec.Keyed() && inv.kind == protocol.HandlerShared {
		e.trackShared(inv)
	}
	switch {
	case holdsLock(inv, spec):
		e.keyState(inv.service, inv.key).holder = inv
	case inv.status == statusPending && inv.holdsKey(spec):
		e.keyState(inv.service, inv.key).inbox = append(e.keyState(inv.service, inv.key).inbox, inv)
	}
	for i, en := range inv.journal {
		if en.Completed {
			continue
		}
		switch en.Kind {
		case journal.KindSleep:
			t := Timer{Kind: TimerSleep, Invocation: inv.id, Index: uint32(i), Deadline: time.Unix(0, en.Deadline)}
			if mutant.On(mutant.FireTimerEarlyAfterRestart) {
				e.note(Note{Kind: NoteTimerArmed, Invocation: t.Invocation, Index: t.Index, Timer: t, Reason: t.Kind.String()})
				t.Deadline = e.now().Add(t.Deadline.Sub(e.now()) / 2)
				e.addTimer(t)
				continue
			}
			e.arm(t)
		case journal.KindGetPromise:
			_, p := e.promiseOf(inv, en.Name)
			p.waiters = append(p.waiters, slot{inv.id, uint32(i)})
		}
	}
}

// restart starts a new attempt of what was running, re-arms retries and delayed starts, and
// resumes suspended invocations whose awaited entry completed before the crash.
func (r *recovery) restart() {
	e := r.e
	for _, inv := range r.order {
		switch inv.status {
		case statusRunning:
			e.reached(PointRecoveredRunning)
			e.startAttempt(inv)
		case statusBackingOff, statusScheduled:
			e.arm(Timer{Kind: TimerRetry, Invocation: inv.id, Deadline: inv.retryAt})
		case statusSuspended:
			e.reached(PointRecoveredSuspended)
			for _, w := range inv.waiting {
				if w < uint32(len(inv.journal)) && entryReady(inv.journal[w]) {
					e.startAttempt(inv)
					break
				}
			}
		}
	}
	// A key whose holder finished in the batch that crashed before the next one started cannot
	// happen (release and start share a batch), but an inbox without a holder must not stall:
	// nor may one whose holder was set aside.
	for _, id := range sortedKeysFunc(e.keys, compareKeyIDs) {
		e.promoteNext(e.keys[id])
	}
}

// setAside moves every record recovery could not use under q/, in this first Ready's batch,
// and lists it in Problems. Records of an invocation that decoded before it was dropped are
// written back as they were read (the codecs round-trip), so nothing of them is lost.
func (r *recovery) setAside() {
	for _, id := range sortedKeysFunc(r.dropped, compareIDs) {
		inv := r.dropped[id]
		why := r.bad[id]
		r.aside = append(r.aside, asideRecord{key: invocationKey(id), problem: why, value: encodeInvocation(inv)})
		for _, idx := range sortedKeys(inv.early) {
			r.aside = append(r.aside, asideRecord{key: earlyKey(id, idx), problem: "its invocation is set aside: " + why, value: encodeEarly(inv.early[idx])})
		}
		for i, en := range inv.journal {
			r.aside = append(r.aside, asideRecord{key: entryKey(id, uint32(i)), problem: "its invocation is set aside: " + why, value: journal.MarshalEntry(en)})
		}
	}
	slices.SortStableFunc(r.aside, func(a, b asideRecord) int { return strings.Compare(a.key, b.key) })
	// The moves go first in the batch: a record repaired in place (the sequence number) is
	// written after its bad self is moved away, not deleted with it.
	rest := r.e.ready.Batch
	r.e.ready.Batch = nil
	for _, a := range r.aside {
		r.e.problems = append(r.e.problems, r.e.quarantine(a))
	}
	r.e.ready.Batch = append(r.e.ready.Batch, rest...)
	slices.SortStableFunc(r.e.problems, func(a, b RecoveryProblem) int { return strings.Compare(a.Key, b.Key) })
}
