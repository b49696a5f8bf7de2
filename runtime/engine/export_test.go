package engine

// This file exposes internals to the black-box tests of package engine_test. It is compiled only
// into the test binary.

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// BackoffOf returns the wait the policy (with its defaults filled in) asks for after failures
// failed attempts.
func BackoffOf(p RetryPolicy, failures uint32) time.Duration {
	return p.withDefaults().backoff(failures)
}

// InvocationKey and EntryKey are the store keys of an invocation record and a journal entry.
func InvocationKey(id protocol.InvocationID) string          { return invocationKey(id) }
func EntryKey(id protocol.InvocationID, index uint32) string { return entryKey(id, index) }

// EncodeEarly encodes an early completion's record.
func EncodeEarly(r journal.Result) []byte { return encodeEarly(r) }

// Finished returns the IDs of the finished invocations the store holds, in ID order.
func Finished(e *Engine) []protocol.InvocationID {
	var ids []protocol.InvocationID
	_ = e.cfg.Store.Scan(finishedPrefix, func(key string, _ []byte) error {
		if id, ok := parseHexID(key[len(finishedPrefix):]); ok {
			ids = append(ids, id)
		}
		return nil
	})
	return ids
}

// FinishedKey is the store key of a finished invocation's record.
func FinishedKey(id protocol.InvocationID) string { return finishedKey(id) }

// EarlyKey is the store key of an early completion.
func EarlyKey(id protocol.InvocationID, index uint32) string { return earlyKey(id, index) }

// EncodeRecord encodes an invocation record from its durable fields, for tests that build a
// store by hand. The current version keeps early completions apart: r.Early must be empty (see
// EncodeLegacyRecord).
func EncodeRecord(r Record) []byte {
	if len(r.Early) > 0 {
		panic("EncodeRecord: version 2 records hold no early completions; use EncodeLegacyRecord")
	}
	return encodeInvocation(r.invocation())
}

func (r Record) invocation() *invocation {
	return &invocation{
		id:       r.ID,
		service:  r.Service,
		handler:  r.Handler,
		status:   status(r.Status),
		attempt:  r.Attempt,
		failures: r.Failures,
		retryAt:  r.RetryAt,
		waiting:  r.Waiting,
		key:      r.Key,
		kind:     r.Kind,
		seq:      r.Seq,
		idemKey:  r.IdemKey,
		purgeAt:  r.PurgeAt,
	}
}

// EncodeLegacyRecord encodes r as a version 1 record, which kept early completions inline
// after the waiting list: what stores written before version 2 hold.
func EncodeLegacyRecord(r Record) []byte {
	v2 := encodeInvocation(r.invocation())
	rd := recordReader{b: v2[1:]}
	rd.bytes("service")
	rd.bytes("handler")
	rd.byte("status")
	rd.uvarint("attempt")
	rd.uvarint("failures")
	rd.time("retry")
	for range rd.uvarint("waiting count") {
		rd.uvarint("waiting")
	}
	if rd.err != nil {
		panic(rd.err)
	}
	head := v2[1 : len(v2)-len(rd.b)]
	b := append([]byte{legacyRecordVersion}, head...)
	b = binary.AppendUvarint(b, uint64(len(r.Early)))
	for _, idx := range slices.Sorted(maps.Keys(r.Early)) {
		b = binary.AppendUvarint(b, uint64(idx))
		b = appendBytes(b, encodeEarly(r.Early[idx]))
	}
	// Version 1 ends with the purge deadline: drop what version 2 adds after it, the journal
	// length, the caller, its index and the pending cancellation (a zero byte each here).
	return append(b, rd.b[:len(rd.b)-4]...)
}

// Record is the durable part of an invocation record.
type Record struct {
	ID       protocol.InvocationID
	Service  string
	Handler  string
	Status   uint8 // 1 running, 2 suspended, 3 backing-off, 4 done
	Attempt  uint32
	Failures uint32
	RetryAt  time.Time
	Waiting  []uint32
	Early    map[uint32]journal.Result
	Key      string
	Kind     protocol.HandlerKind
	Seq      uint64
	IdemKey  string
	PurgeAt  time.Time
}

// Status values of Record.Status.
const (
	StatusRunning    = uint8(statusRunning)
	StatusSuspended  = uint8(statusSuspended)
	StatusBackingOff = uint8(statusBackingOff)
	StatusDone       = uint8(statusDone)
	StatusPending    = uint8(statusPending)
)

// Status returns the status of an invocation ("running", "suspended", "backing-off", "done"),
// or "" when the engine does not know it.
func Status(e *Engine, id protocol.InvocationID) string {
	inv := e.invocation(id)
	if inv == nil {
		return ""
	}
	return inv.status.String()
}

// Attempt returns the current attempt number of an invocation (0 when unknown).
func Attempt(e *Engine, id protocol.InvocationID) uint32 {
	if inv := e.invocation(id); inv != nil {
		return inv.attempt
	}
	return 0
}

// JournalLen returns the number of journal entries of an invocation.
func JournalLen(e *Engine, id protocol.InvocationID) int {
	if inv := e.invs[id]; inv != nil {
		return len(inv.journal)
	}
	if inv := e.readFinished(id); inv != nil {
		return int(inv.entries)
	}
	return 0
}

// Snapshot renders the engine's durable state (every invocation in ID order with its journal,
// keys with their lock holder, inbox, state and promises, idempotency keys and the acceptance
// sequence) so that two engines can be compared: one that ran and one recovered from its store.
// Volatile fields (waiters, buffered messages, dirty marks) are left out. bumpRunning adds one to
// the attempt of running invocations, which is what Recover does to them.
func Snapshot(e *Engine, bumpRunning bool) string {
	unix := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	idOf := func(inv *invocation) string {
		if inv == nil {
			return "-"
		}
		return inv.id.String()
	}
	var b strings.Builder
	var fin []protocol.InvocationID
	fmt.Fprintf(&b, "seq=%d\n", e.seq)
	for _, id := range slices.SortedFunc(maps.Keys(e.invs), compareIDs) {
		inv := e.invs[id]
		attempt := inv.attempt
		if bumpRunning && inv.status == statusRunning {
			attempt++
		}
		fmt.Fprintf(&b, "%s %s/%s key=%q kind=%s seq=%d idem=%q %s attempt=%d failures=%d retryAt=%d purgeAt=%d waiting=%v\n",
			id, inv.service, inv.handler, inv.key, inv.kind, inv.seq, inv.idemKey, inv.status, attempt, inv.failures,
			unix(inv.retryAt), unix(inv.purgeAt), inv.waiting)
		for i, en := range inv.journal {
			fmt.Fprintf(&b, "  [%d] %s completed=%t %s\n", i, en, en.Completed, en.Result)
		}
		for _, idx := range slices.Sorted(maps.Keys(inv.early)) {
			fmt.Fprintf(&b, "  early[%d] %s\n", idx, inv.early[idx])
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(e.keys), compareKeyIDs) {
		ks := e.keys[k]
		var inbox []string
		for _, inv := range ks.inbox {
			inbox = append(inbox, idOf(inv))
		}
		fmt.Fprintf(&b, "key %s/%s holder=%s inbox=%v run=%s purgeAt=%d\n", k.service, k.key, idOf(ks.holder), inbox, ks.run, unix(ks.purgeAt))
		for _, name := range slices.Sorted(maps.Keys(ks.state)) {
			fmt.Fprintf(&b, "  state %q=%q\n", name, ks.state[name])
		}
		for _, name := range slices.Sorted(maps.Keys(ks.promises)) {
			p := ks.promises[name]
			fmt.Fprintf(&b, "  promise %q completed=%t %s\n", name, p.completed, p.result)
		}
	}
	// What is finished lives in the store only: render it from there.
	_ = e.cfg.Store.Scan(finishedPrefix, func(key string, _ []byte) error {
		id, _ := parseHexID(key[len(finishedPrefix):])
		fin = append(fin, id)
		return nil
	})
	for _, id := range fin {
		inv := e.readFinished(id)
		if inv == nil {
			fmt.Fprintf(&b, "%s finished, unreadable\n", id)
			continue
		}
		fmt.Fprintf(&b, "%s %s/%s key=%q kind=%s seq=%d idem=%q %s attempt=%d failures=%d retryAt=%d purgeAt=%d entries=%d\n",
			id, inv.service, inv.handler, inv.key, inv.kind, inv.seq, inv.idemKey, inv.status, inv.attempt, inv.failures,
			unix(inv.retryAt), unix(inv.purgeAt), inv.entries)
		for i := range inv.entries {
			en, _ := JournalEntry(e, id, i)
			fmt.Fprintf(&b, "  [%d] %s completed=%t %s\n", i, en, en.Completed, en.Result)
		}
	}
	_ = e.cfg.Store.Scan(idempotencyPrefix, func(key string, value []byte) error {
		fmt.Fprintf(&b, "idem %s -> %x\n", key, value)
		return nil
	})
	_ = e.cfg.Store.Scan(retentionPrefix, func(key string, _ []byte) error {
		fmt.Fprintf(&b, "retention %s\n", key)
		return nil
	})
	return b.String()
}

// DescribeOp renders one store op readably: the decoded record or entry behind its key.
func DescribeOp(op store.Op) string {
	if op.Delete {
		return "delete " + op.Key
	}
	switch {
	case strings.HasPrefix(op.Key, retentionPrefix):
		deadline, id, ok := parseRetentionKey(op.Key)
		if !ok {
			return fmt.Sprintf("put %s (bad key)", op.Key)
		}
		return fmt.Sprintf("put retention %s at +%s", id, deadline.Sub(testEpoch))
	case strings.HasPrefix(op.Key, invocationPrefix), strings.HasPrefix(op.Key, finishedPrefix):
		what := "record"
		if strings.HasPrefix(op.Key, finishedPrefix) {
			what = "finished"
		}
		id, ok := parseHexID(op.Key[len(invocationPrefix):])
		if !ok {
			return fmt.Sprintf("put %s (bad key)", op.Key)
		}
		inv, err := decodeInvocation(id, op.Value)
		if err != nil {
			return fmt.Sprintf("put %s (%v)", op.Key, err)
		}
		s := fmt.Sprintf("put %s %s %s/%s %s attempt=%d failures=%d seq=%d", what, id, inv.service, inv.handler, inv.status, inv.attempt, inv.failures, inv.seq)
		if inv.key != "" {
			s += fmt.Sprintf(" key=%q", inv.key)
		}
		if inv.idemKey != "" {
			s += fmt.Sprintf(" idem=%q", inv.idemKey)
		}
		if !inv.retryAt.IsZero() {
			s += " retryAt=" + inv.retryAt.UTC().Format(time.TimeOnly+".000")
		}
		if !inv.purgeAt.IsZero() {
			s += " purgeAt=+" + inv.purgeAt.Sub(testEpoch).String()
		}
		if len(inv.waiting) > 0 {
			s += fmt.Sprintf(" waiting=%v", inv.waiting)
		}
		for _, idx := range slices.Sorted(maps.Keys(inv.early)) {
			s += fmt.Sprintf(" early[%d]=%s", idx, inv.early[idx])
		}
		return s
	case strings.HasPrefix(op.Key, journalPrefix), strings.HasPrefix(op.Key, earlyPrefix):
		what := "entry"
		if strings.HasPrefix(op.Key, earlyPrefix) {
			what = "early"
		}
		rest := op.Key[len(journalPrefix):]
		idPart, idxPart, _ := strings.Cut(rest, "/")
		id, _ := parseHexID(idPart)
		var idx uint64
		_, _ = fmt.Sscanf(idxPart, "%x", &idx)
		en, err := journal.UnmarshalEntry(op.Value)
		if err != nil {
			return fmt.Sprintf("put %s %s[%d] (%v)", what, id, idx, err)
		}
		return fmt.Sprintf("put %s %s[%d] %s", what, id, idx, en)
	case op.Key == seqKey:
		seq, _ := binary.Uvarint(op.Value)
		return fmt.Sprintf("put %s %d", op.Key, seq)
	default:
		return fmt.Sprintf("put %s %q", op.Key, op.Value)
	}
}

// testEpoch is the fake clock's start in the tests: DescribeOp prints deadlines relative to it.
var testEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// PurgeAt returns when a finished invocation is purged.
func PurgeAt(e *Engine, id protocol.InvocationID) time.Time {
	if inv := e.invocation(id); inv != nil {
		return inv.purgeAt
	}
	return time.Time{}
}

// JournalEntry returns entry i of an invocation's journal.
func JournalEntry(e *Engine, id protocol.InvocationID, i uint32) (journal.Entry, bool) {
	if inv := e.invs[id]; inv != nil {
		if i >= uint32(len(inv.journal)) {
			return journal.Entry{}, false
		}
		return inv.journal[i], true
	}
	raw, ok := e.get(entryKey(id, i))
	if !ok || e.readFinished(id) == nil {
		return journal.Entry{}, false
	}
	en, err := journal.UnmarshalEntry(raw)
	return en, err == nil
}

// EarlyCompletion returns the early completion an invocation holds for index i.
func EarlyCompletion(e *Engine, id protocol.InvocationID, i uint32) (journal.Result, bool) {
	inv := e.invs[id]
	if inv == nil {
		return journal.Result{}, false
	}
	r, ok := inv.early[i]
	return r, ok
}

// IDs returns every invocation ID the engine knows, in ID order.
func IDs(e *Engine) []protocol.InvocationID {
	return slices.SortedFunc(maps.Keys(e.invs), compareIDs)
}

// RetryAt returns the retry deadline of a backing-off invocation.
func RetryAt(e *Engine, id protocol.InvocationID) time.Time {
	if inv := e.invs[id]; inv != nil {
		return inv.retryAt
	}
	return time.Time{}
}

// Waiting returns the indices a suspended invocation waits on.
func Waiting(e *Engine, id protocol.InvocationID) []uint32 {
	if inv := e.invs[id]; inv != nil {
		return slices.Clone(inv.waiting)
	}
	return nil
}
