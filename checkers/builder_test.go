package checkers

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// invID returns the n-th invocation ID of a test; n > 0 keeps it non-zero.
func invID(n int) protocol.InvocationID {
	var id protocol.InvocationID
	binary.BigEndian.PutUint32(id[12:], uint32(n))
	return id
}

// Invocations the hand-written histories use.
var (
	invA = invID(1)
	invB = invID(2)
)

// val is a successful result carrying s.
func val(s string) journal.Result { return journal.Result{Value: []byte(s)} }

// Journal entries, spelled short.
func input(v string) journal.Entry { return journal.Entry{Kind: journal.KindInput, Result: val(v)} }
func output(v string) journal.Entry {
	return journal.Entry{Kind: journal.KindOutput, Result: val(v)}
}
func run(name, v string) journal.Entry {
	return journal.Entry{Kind: journal.KindRun, Name: name, Result: val(v)}
}
func awk() journal.Entry { return journal.Entry{Kind: journal.KindAwakeable} }
func awkDone(v string) journal.Entry {
	return journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: val(v)}
}
func completeAwk(target, v string) journal.Entry {
	return journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: val(v)}
}

// builder appends events to a history one call at a time, a millisecond of virtual time apart.
// Each method returns the index of the event it added.
type builder struct {
	h History
}

func (b *builder) add(e Event) int {
	e.At = time.Duration(len(b.h.Events)+1) * time.Millisecond
	b.h.Events = append(b.h.Events, e)
	return len(b.h.Events) - 1
}

func (b *builder) start(inv protocol.InvocationID, attempt uint32, j ...journal.Entry) int {
	return b.add(Event{Kind: AttemptStarted, Node: "executor", Invocation: inv, Attempt: attempt, Journal: j})
}

func (b *builder) emit(inv protocol.InvocationID, attempt, index uint32, e journal.Entry) int {
	return b.add(Event{Kind: CommandEmitted, Node: "executor", Invocation: inv, Attempt: attempt, Index: index, Entry: e})
}

func (b *builder) observe(inv protocol.InvocationID, attempt, index uint32, k journal.Kind, v string) int {
	return b.add(Event{Kind: ValueObserved, Node: "executor", Invocation: inv, Attempt: attempt, Index: index,
		Entry: journal.Entry{Kind: k}, Result: val(v)})
}

func (b *builder) exec(inv protocol.InvocationID, attempt, index uint32) int {
	return b.add(Event{Kind: RunExecuted, Node: "executor", Invocation: inv, Attempt: attempt, Index: index})
}

// runStep is what an attempt records for a run it executes live: the side effect, the command
// journaling its result, and the handler receiving it.
func (b *builder) runStep(inv protocol.InvocationID, attempt, index uint32, name, v string) {
	b.exec(inv, attempt, index)
	b.emit(inv, attempt, index, run(name, v))
	b.observe(inv, attempt, index, journal.KindRun, v)
}

func (b *builder) ended(inv protocol.InvocationID, attempt uint32, reason string) int {
	return b.add(Event{Kind: AttemptEnded, Node: "executor", Invocation: inv, Attempt: attempt, Reason: reason})
}

func (b *builder) accept(inv protocol.InvocationID, index uint32, v string) int {
	return b.add(Event{Kind: CompletionAccepted, Node: "runtime", Invocation: inv, Index: index,
		Awakeable: protocol.AwakeableID{Invocation: inv, Index: index}.String(), Result: val(v)})
}

func (b *builder) drop(inv protocol.InvocationID, index uint32, v, reason string) int {
	return b.add(Event{Kind: CompletionDropped, Node: "runtime", Invocation: inv, Index: index,
		Awakeable: protocol.AwakeableID{Invocation: inv, Index: index}.String(), Result: val(v), Reason: reason})
}

func (b *builder) done(inv protocol.InvocationID, v string) int {
	return b.add(Event{Kind: InvocationDone, Node: "runtime", Invocation: inv, Result: val(v)})
}

func (b *builder) crash(node, reason string) int {
	return b.add(Event{Kind: NodeCrashed, Node: node, Reason: reason})
}

// firstAttempt records attempt 1 of inv: it runs "charge" (value r1) at [1], creates an
// awakeable at [2] and suspends on it; the awakeable is then accepted with "yes". The next
// attempt's start journal is therefore secondJournal.
func (b *builder) firstAttempt(inv protocol.InvocationID) {
	b.start(inv, 1, input("x"))
	b.runStep(inv, 1, 1, "charge", "r1")
	b.emit(inv, 1, 2, awk())
	b.ended(inv, 1, "suspended")
	b.accept(inv, 2, "yes")
}

// secondJournal is the start journal of the attempt after firstAttempt.
func secondJournal() []journal.Entry {
	return []journal.Entry{input("x"), run("charge", "r1"), awkDone("yes")}
}

// wantViolation is one expected violation: its checker, invocation and part of its message.
type wantViolation struct {
	checker string
	inv     protocol.InvocationID
	msg     string
}

// checkViolations asserts that got is exactly the violations want describes, in order.
func checkViolations(t *testing.T, h History, got []Violation, want []wantViolation) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].Checker == want[i].checker && got[i].Invocation == want[i].inv &&
			strings.Contains(got[i].Message, want[i].msg)
	}
	if ok {
		return
	}
	var sb strings.Builder
	for _, v := range got {
		sb.WriteString("\n  " + v.String())
	}
	sb.WriteString("\nwant:")
	for _, w := range want {
		sb.WriteString("\n  " + w.checker + ": " + w.inv.String() + ": ..." + w.msg + "...")
	}
	sb.WriteString("\nhistory:")
	for i, e := range h.Events {
		fmt.Fprintf(&sb, "\n  %3d %s", i, strings.TrimSpace(e.String()))
	}
	t.Fatalf("got %d violations:%s", len(got), sb.String())
}
