package engine

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Store layout. Keys sort invocations before journals, so a recovery scan meets an invocation's
// record before its entries, and an invocation's entries in index order.
//
//	inv/<32 hex digits>                       invocation record (recordVersion, see encodeInvocation)
//	jnl/<32 hex digits>/<8 hex>               journal entry (journal's binary codec)
//	st/<service>/<key>/<name>                 state value of an object or workflow
//	pr/<service>/<key>/<name>                 completed durable promise (a get-promise entry)
//	wf/<service>/<key>                        workflow record: its run and its purge deadline
//	idem/<service>/<handler>/<key>/<idem key> invocation ID of an idempotency key
//	meta/seq                                  the last acceptance sequence number
//
// Names, services and keys are path-escaped, so a "/" inside one never splits a store key.
const (
	invocationPrefix  = "inv/"
	journalPrefix     = "jnl/"
	statePrefix       = "st/"
	promisePrefix     = "pr/"
	workflowPrefix    = "wf/"
	idempotencyPrefix = "idem/"
	seqKey            = "meta/seq"
	recordVersion     = 1
)

func escapedKey(prefix string, parts ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

func stateKey(service, key, name string) string {
	return escapedKey(statePrefix, service, key, name)
}

func promiseKey(service, key, name string) string {
	return escapedKey(promisePrefix, service, key, name)
}

func workflowKey(service, key string) string { return escapedKey(workflowPrefix, service, key) }

func idempotencyKey(id idemID) string {
	return escapedKey(idempotencyPrefix, id.service, id.handler, id.key, id.idemKey)
}

// splitKey undoes escapedKey for a key with n parts after prefix.
func splitKey(key, prefix string, n int) ([]string, error) {
	parts := strings.Split(key[len(prefix):], "/")
	if len(parts) != n {
		return nil, fmt.Errorf("key %q: want %d parts after %q: %w", key, n, prefix, ErrCorruptStore)
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("key %q: %v: %w", key, err, ErrCorruptStore)
		}
		parts[i] = u
	}
	return parts, nil
}

func encodeSeq(seq uint64) []byte { return binary.AppendUvarint(nil, seq) }

// encodeWorkflow writes a workflow record: version, run ID, purge deadline (absent while running).
func encodeWorkflow(ks *keyState) []byte {
	b := []byte{recordVersion}
	b = append(b, ks.run[:]...)
	return appendTime(b, ks.purgeAt)
}

// appendTime encodes a deadline as a presence byte, then Unix seconds and nanoseconds, so that
// every instant time.Time can hold survives the store (Unix nanoseconds alone would only cover
// 1678 to 2262, and could not tell the epoch itself from no deadline).
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func (r *recordReader) time(what string) time.Time {
	if r.byte(what) == 0 || r.err != nil {
		return time.Time{}
	}
	sec := r.varint(what + " seconds")
	nsec := r.uvarint(what + " nanoseconds")
	if r.err == nil && nsec >= uint64(time.Second) {
		r.fail(what + " nanoseconds")
	}
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

func invocationKey(id protocol.InvocationID) string {
	return invocationPrefix + hex.EncodeToString(id[:])
}

func entryKey(id protocol.InvocationID, index uint32) string {
	var b [len(journalPrefix) + 32 + 1 + 8]byte
	n := copy(b[:], journalPrefix)
	n += hex.Encode(b[n:], id[:])
	b[n] = '/'
	n++
	var idx [4]byte
	binary.BigEndian.PutUint32(idx[:], index)
	hex.Encode(b[n:], idx[:])
	return string(b[:])
}

// ErrCorruptStore is wrapped by every recovery error about data the engine cannot read.
var ErrCorruptStore = errors.New("corrupt engine state in store")

func encodeInvocation(inv *invocation) []byte {
	b := make([]byte, 0, 64)
	b = append(b, recordVersion)
	b = appendString(b, inv.service)
	b = appendString(b, inv.handler)
	b = append(b, byte(inv.status))
	b = binary.AppendUvarint(b, uint64(inv.attempt))
	b = binary.AppendUvarint(b, uint64(inv.failures))
	b = appendTime(b, inv.retryAt)
	b = binary.AppendUvarint(b, uint64(len(inv.waiting)))
	for _, w := range inv.waiting {
		b = binary.AppendUvarint(b, uint64(w))
	}
	b = binary.AppendUvarint(b, uint64(len(inv.early)))
	for _, idx := range slices.Sorted(maps.Keys(inv.early)) {
		b = binary.AppendUvarint(b, uint64(idx))
		enc := journal.MarshalEntry(journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: inv.early[idx]})
		b = appendBytes(b, enc)
	}
	b = appendString(b, inv.key)
	b = append(b, byte(inv.kind))
	b = binary.AppendUvarint(b, inv.seq)
	b = appendString(b, inv.idemKey)
	return appendTime(b, inv.purgeAt)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// recordReader decodes a record; the first error sticks and later reads return zero values.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or invalid %s", what)
	}
}

func (r *recordReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes(what string) []byte {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func decodeInvocation(id protocol.InvocationID, b []byte) (*invocation, error) {
	r := recordReader{b: b}
	if v := r.byte("version"); r.err == nil && v != recordVersion {
		return nil, fmt.Errorf("invocation record version %d, this build reads %d: %w", v, recordVersion, ErrCorruptStore)
	}
	inv := &invocation{id: id}
	inv.service = string(r.bytes("service"))
	inv.handler = string(r.bytes("handler"))
	inv.status = status(r.byte("status"))
	inv.attempt = uint32(r.uvarint("attempt"))
	inv.failures = uint32(r.uvarint("failures"))
	inv.retryAt = r.time("retry deadline")
	nw := r.uvarint("waiting count")
	for range min(nw, uint64(len(b))) {
		inv.waiting = append(inv.waiting, uint32(r.uvarint("waiting index")))
	}
	ne := r.uvarint("early count")
	for range min(ne, uint64(len(b))) {
		idx := uint32(r.uvarint("early index"))
		raw := r.bytes("early completion")
		if r.err != nil {
			break
		}
		en, err := journal.UnmarshalEntry(raw)
		if err != nil {
			r.err = fmt.Errorf("early completion %d: %v", idx, err)
			break
		}
		if inv.early == nil {
			inv.early = map[uint32]journal.Result{}
		}
		inv.early[idx] = en.Result
	}
	inv.key = string(r.bytes("key"))
	inv.kind = protocol.HandlerKind(r.byte("handler kind"))
	inv.seq = r.uvarint("sequence")
	inv.idemKey = string(r.bytes("idempotency key"))
	inv.purgeAt = r.time("purge deadline")
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err == nil && (inv.status < statusRunning || inv.status > statusScheduled) {
		r.err = fmt.Errorf("unknown status %d", inv.status)
	}
	if r.err != nil {
		return nil, fmt.Errorf("invocation record %s: %v: %w", id, r.err, ErrCorruptStore)
	}
	return inv, nil
}

func parseHexID(s string) (protocol.InvocationID, bool) {
	var id protocol.InvocationID
	if len(s) != 32 {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err == nil
}

// Recover rebuilds an engine from a store's recovery scan (Store.Load). The returned engine's
// first Ready restarts what was running: each running invocation gets a new attempt, every timer
// is armed again (due ones fire at once when the driver arms them), suspended invocations stay
// suspended unless what they wait on is already there, inboxes keep their acceptance order.
func Recover(cfg Config, load func(fn func(key string, value []byte) error) error) (*Engine, error) {
	e := New(cfg)
	var order []*invocation
	type workflowRecord struct {
		service, key string
		run          protocol.InvocationID
		purgeAt      time.Time
	}
	var workflows []workflowRecord
	err := load(func(key string, value []byte) error {
		switch {
		case strings.HasPrefix(key, invocationPrefix):
			id, ok := parseHexID(key[len(invocationPrefix):])
			if !ok {
				return fmt.Errorf("key %q: %w", key, ErrCorruptStore)
			}
			inv, err := decodeInvocation(id, value)
			if err != nil {
				return err
			}
			e.invs[id] = inv
			order = append(order, inv)
		case strings.HasPrefix(key, journalPrefix):
			rest := key[len(journalPrefix):]
			idPart, idxPart, ok := strings.Cut(rest, "/")
			id, okID := parseHexID(idPart)
			idx, errIdx := strconv.ParseUint(idxPart, 16, 32)
			if !ok || !okID || errIdx != nil {
				return fmt.Errorf("key %q: %w", key, ErrCorruptStore)
			}
			inv := e.invs[id]
			if inv == nil {
				return fmt.Errorf("journal entry %q of an invocation without a record: %w", key, ErrCorruptStore)
			}
			if idx != uint64(len(inv.journal)) {
				return fmt.Errorf("journal of %s: entry %d follows %d entries: %w", id, idx, len(inv.journal), ErrCorruptStore)
			}
			en, err := journal.UnmarshalEntry(value)
			if err != nil {
				return fmt.Errorf("journal entry %q: %v: %w", key, err, ErrCorruptStore)
			}
			inv.journal = append(inv.journal, en)
		case strings.HasPrefix(key, statePrefix):
			parts, err := splitKey(key, statePrefix, 3)
			if err != nil {
				return err
			}
			ks := e.keyState(parts[0], parts[1])
			if ks.state == nil {
				ks.state = map[string][]byte{}
			}
			ks.state[parts[2]] = slices.Clone(value)
		case strings.HasPrefix(key, promisePrefix):
			parts, err := splitKey(key, promisePrefix, 3)
			if err != nil {
				return err
			}
			en, err := journal.UnmarshalEntry(value)
			if err != nil {
				return fmt.Errorf("promise %q: %v: %w", key, err, ErrCorruptStore)
			}
			ks := e.keyState(parts[0], parts[1])
			if ks.promises == nil {
				ks.promises = map[string]*promise{}
			}
			ks.promises[parts[2]] = &promise{completed: true, result: en.Result}
		case strings.HasPrefix(key, workflowPrefix):
			parts, err := splitKey(key, workflowPrefix, 2)
			if err != nil {
				return err
			}
			if len(value) < 1+16 || value[0] != recordVersion {
				return fmt.Errorf("workflow record %q: bad version or length: %w", key, ErrCorruptStore)
			}
			w := workflowRecord{service: parts[0], key: parts[1]}
			copy(w.run[:], value[1:17])
			rr := recordReader{b: value[17:]}
			w.purgeAt = rr.time("purge deadline")
			if rr.err != nil || len(rr.b) != 0 {
				return fmt.Errorf("workflow record %q: bad purge deadline: %w", key, ErrCorruptStore)
			}
			workflows = append(workflows, w)
		case strings.HasPrefix(key, idempotencyPrefix):
			parts, err := splitKey(key, idempotencyPrefix, 4)
			if err != nil {
				return err
			}
			if len(value) != 16 {
				return fmt.Errorf("idempotency record %q: %d bytes, want 16: %w", key, len(value), ErrCorruptStore)
			}
			var id protocol.InvocationID
			copy(id[:], value)
			e.idem[idemID{parts[0], parts[1], parts[2], parts[3]}] = id
		case key == seqKey:
			seq, n := binary.Uvarint(value)
			if n <= 0 || n != len(value) {
				return fmt.Errorf("sequence record: %w", ErrCorruptStore)
			}
			e.seq = seq
		default:
			return fmt.Errorf("unknown key %q: %w", key, ErrCorruptStore)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recover engine: %w", err)
	}
	for _, inv := range order {
		if len(inv.journal) == 0 || inv.journal[0].Kind != journal.KindInput {
			return nil, fmt.Errorf("recover engine: invocation %s has no input entry: %w", inv.id, ErrCorruptStore)
		}
		if err := checkRecovered(inv); err != nil {
			return nil, fmt.Errorf("recover engine: invocation %s: %v: %w", inv.id, err, ErrCorruptStore)
		}
		if inv.seq > e.seq {
			return nil, fmt.Errorf("recover engine: invocation %s has sequence %d past the last one, %d: %w", inv.id, inv.seq, e.seq, ErrCorruptStore)
		}
	}
	for _, w := range workflows {
		ks := e.keyState(w.service, w.key)
		ks.run, ks.purgeAt = w.run, w.purgeAt
		if !w.purgeAt.IsZero() && !mutant.On(mutant.ForgetRetentionTimer) {
			e.arm(Timer{Kind: TimerWorkflowRetention, Service: w.service, Key: w.key, Deadline: w.purgeAt})
		}
	}
	// Rebuild locks and inboxes (acceptance order), promise waiters and timers.
	slices.SortFunc(order, func(a, b *invocation) int {
		if mutant.On(mutant.LoseInboxOrderOnRestart) {
			return compareIDs(a.id, b.id)
		}
		return cmpUint64(a.seq, b.seq)
	})
	for _, inv := range order {
		spec := e.specs[inv.service]
		if inv.status != statusDone && spec.Keyed() && inv.kind == protocol.HandlerShared {
			e.trackShared(inv)
		}
		if inv.status != statusDone && inv.status != statusScheduled && inv.holdsKey(spec) {
			ks := e.keyState(inv.service, inv.key)
			if inv.status == statusPending {
				ks.inbox = append(ks.inbox, inv)
			} else if ks.holder != nil {
				return nil, fmt.Errorf("recover engine: %s and %s both hold %s/%s: %w", ks.holder.id, inv.id, inv.service, inv.key, ErrCorruptStore)
			} else {
				ks.holder = inv
			}
		}
		if inv.status == statusDone {
			if !inv.purgeAt.IsZero() && !mutant.On(mutant.ForgetRetentionTimer) {
				e.arm(Timer{Kind: TimerRetention, Invocation: inv.id, Deadline: inv.purgeAt})
			}
			continue
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
					e.ready.Timers = append(e.ready.Timers, t)
					continue
				}
				e.arm(t)
			case journal.KindGetPromise:
				_, p := e.promiseOf(inv, en.Name)
				p.waiters = append(p.waiters, slot{inv.id, uint32(i)})
			}
		}
	}
	for _, inv := range order {
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
	// happen (release and start share a batch), but an inbox without a holder must not stall.
	for _, id := range slices.SortedFunc(maps.Keys(e.keys), compareKeyIDs) {
		e.promoteNext(e.keys[id])
	}
	return e, nil
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareKeyIDs(a, b keyID) int {
	if c := strings.Compare(a.service, b.service); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// checkRecovered checks what the engine's own batches always keep true of a recovered invocation
// whose journal starts with its input, so that a corrupt store fails recovery instead of, say,
// serving a finished invocation's input as its output. Every batch is atomic, so no crash can
// leave a state that fails these checks.
func checkRecovered(inv *invocation) error {
	if inv.id.IsZero() {
		return errors.New("the zero invocation id")
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

// PersistedInvocation is an invocation as its store records hold it, for tools and the
// simulator's replay twin.
type PersistedInvocation struct {
	Service string
	Handler string
	Key     string
	Done    bool
	Journal []journal.Entry
}

// ReadInvocation reads invocation id from a store through get (a point lookup of the latest
// applied value). It reports false when the store has no record of it.
func ReadInvocation(get func(key string) ([]byte, bool), id protocol.InvocationID) (PersistedInvocation, bool, error) {
	raw, ok := get(invocationKey(id))
	if !ok {
		return PersistedInvocation{}, false, nil
	}
	inv, err := decodeInvocation(id, raw)
	if err != nil {
		return PersistedInvocation{}, true, err
	}
	p := PersistedInvocation{Service: inv.service, Handler: inv.handler, Key: inv.key, Done: inv.status == statusDone}
	for i := uint32(0); ; i++ {
		raw, ok := get(entryKey(id, i))
		if !ok {
			break
		}
		en, err := journal.UnmarshalEntry(raw)
		if err != nil {
			return p, true, fmt.Errorf("journal entry %d of %s: %v: %w", i, id, err, ErrCorruptStore)
		}
		p.Journal = append(p.Journal, en)
	}
	return p, true, nil
}
