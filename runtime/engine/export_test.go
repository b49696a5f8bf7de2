package engine

// This file exposes internals to the black-box tests of package engine_test. It is compiled only
// into the test binary.

import (
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

// EncodeRecord encodes an invocation record from its durable fields, for tests that build a
// store by hand.
func EncodeRecord(r Record) []byte {
	inv := &invocation{
		id:       r.ID,
		service:  r.Service,
		handler:  r.Handler,
		status:   status(r.Status),
		attempt:  r.Attempt,
		failures: r.Failures,
		retryAt:  r.RetryAt,
		waiting:  r.Waiting,
		early:    r.Early,
	}
	return encodeInvocation(inv)
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
}

// Status values of Record.Status.
const (
	StatusRunning    = uint8(statusRunning)
	StatusSuspended  = uint8(statusSuspended)
	StatusBackingOff = uint8(statusBackingOff)
	StatusDone       = uint8(statusDone)
)

// Status returns the status of an invocation ("running", "suspended", "backing-off", "done"),
// or "" when the engine does not know it.
func Status(e *Engine, id protocol.InvocationID) string {
	inv := e.invs[id]
	if inv == nil {
		return ""
	}
	return inv.status.String()
}

// Attempt returns the current attempt number of an invocation (0 when unknown).
func Attempt(e *Engine, id protocol.InvocationID) uint32 {
	if inv := e.invs[id]; inv != nil {
		return inv.attempt
	}
	return 0
}

// JournalLen returns the number of journal entries of an invocation.
func JournalLen(e *Engine, id protocol.InvocationID) int {
	if inv := e.invs[id]; inv != nil {
		return len(inv.journal)
	}
	return 0
}

// Snapshot renders every durable field of every invocation, in ID order, so that two engines
// can be compared: one that ran and one recovered from its store. Volatile fields (waiters,
// buffered messages, dirty marks) are left out. bumpRunning adds one to the attempt of running
// invocations, which is what Recover does to them.
func Snapshot(e *Engine, bumpRunning bool) string {
	ids := slices.SortedFunc(maps.Keys(e.invs), compareIDs)
	var b strings.Builder
	for _, id := range ids {
		inv := e.invs[id]
		attempt := inv.attempt
		if bumpRunning && inv.status == statusRunning {
			attempt++
		}
		var retryAt int64
		if !inv.retryAt.IsZero() {
			retryAt = inv.retryAt.UnixNano()
		}
		fmt.Fprintf(&b, "%s %s/%s %s attempt=%d failures=%d retryAt=%d waiting=%v\n",
			id, inv.service, inv.handler, inv.status, attempt, inv.failures, retryAt, inv.waiting)
		for i, en := range inv.journal {
			fmt.Fprintf(&b, "  [%d] %s completed=%t %s\n", i, en.Kind, en.Completed, en.Result)
		}
		for _, idx := range slices.Sorted(maps.Keys(inv.early)) {
			fmt.Fprintf(&b, "  early[%d] %s\n", idx, inv.early[idx])
		}
	}
	return b.String()
}

// DescribeOp renders one store op readably: the decoded record or entry behind its key.
func DescribeOp(op store.Op) string {
	if op.Delete {
		return "delete " + op.Key
	}
	switch {
	case strings.HasPrefix(op.Key, invocationPrefix):
		id, ok := parseHexID(op.Key[len(invocationPrefix):])
		if !ok {
			return fmt.Sprintf("put %s (bad key)", op.Key)
		}
		inv, err := decodeInvocation(id, op.Value)
		if err != nil {
			return fmt.Sprintf("put %s (%v)", op.Key, err)
		}
		s := fmt.Sprintf("put record %s %s/%s %s attempt=%d failures=%d", id, inv.service, inv.handler, inv.status, inv.attempt, inv.failures)
		if !inv.retryAt.IsZero() {
			s += " retryAt=" + inv.retryAt.UTC().Format(time.TimeOnly+".000")
		}
		if len(inv.waiting) > 0 {
			s += fmt.Sprintf(" waiting=%v", inv.waiting)
		}
		for _, idx := range slices.Sorted(maps.Keys(inv.early)) {
			s += fmt.Sprintf(" early[%d]=%s", idx, inv.early[idx])
		}
		return s
	case strings.HasPrefix(op.Key, journalPrefix):
		rest := op.Key[len(journalPrefix):]
		idPart, idxPart, _ := strings.Cut(rest, "/")
		id, _ := parseHexID(idPart)
		var idx uint64
		_, _ = fmt.Sscanf(idxPart, "%x", &idx)
		en, err := journal.UnmarshalEntry(op.Value)
		if err != nil {
			return fmt.Sprintf("put entry %s[%d] (%v)", id, idx, err)
		}
		return fmt.Sprintf("put entry %s[%d] %s", id, idx, en)
	default:
		return "put " + op.Key
	}
}

// JournalEntry returns entry i of an invocation's journal.
func JournalEntry(e *Engine, id protocol.InvocationID, i uint32) (journal.Entry, bool) {
	inv := e.invs[id]
	if inv == nil || i >= uint32(len(inv.journal)) {
		return journal.Entry{}, false
	}
	return inv.journal[i], true
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
