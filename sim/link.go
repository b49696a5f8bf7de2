package sim

import (
	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// The link log: what crossed the engine<->executor link, recorded by the simulator as it sends
// and delivers, for the checkers that judge attempts (progress, causality). It is a fact of the
// simulator's, like a crash, and never a claim of the runtime's.

// appendLink appends e to the link log (a recycled world's log, emptied, when there is one).
func (w *World) appendLink(e checkers.LinkEvent) {
	w.link = append(w.link, e)
}

// linkEvent appends one link event, placed after the history events recorded so far. It takes
// the message by pointer and fills the event in place: it runs on the handler's coroutine for
// the executor's sends (see pushMessage).
func (w *World) linkEvent(kind checkers.LinkEventKind, from string, m *protocol.Message) {
	w.link = append(w.link, checkers.LinkEvent{})
	e := &w.link[len(w.link)-1]
	e.After, e.At, e.Kind, e.From = len(w.history.Events), w.now, kind, from
	// Only what the checkers of the link read is kept: a Start's journal or a completion's value
	// would make the log as large as the history for nothing.
	// LinkMessageOf's fields, read through m: LinkMessageOf(*m) copied the whole message, some
	// 300 bytes, to the stack first (TestLinkEventKeepsLinkMessageOf holds the two equal).
	e.Message = checkers.LinkMessage{Kind: m.Kind, Invocation: m.Invocation, Attempt: m.Attempt, Index: m.Index, WaitingOn: m.WaitingOn, Gated: m.Gated}
	if from == "runtime" && kind == checkers.LinkSent && !m.Gated {
		e.Release = w.releases // a gated start leaves before its sync, in no release
	}
}

// linkReleased marks the start of a release of the runtime node of generation gen, if the
// release will send anything.
func (w *World) linkReleased(gen uint64) {
	if gen != w.runtime.gen || !w.runtime.releasing() {
		return
	}
	w.releases++
	w.appendLink(checkers.LinkEvent{After: len(w.history.Events), At: w.now, Kind: checkers.LinkReleased, From: "runtime", Release: w.releases})
}

// deliverToRuntime hands m to the runtime node, noting the delivery if the node takes it, and
// then aims a fault at the window between a command and its ack (faults.Plan.AckWindowPercent).
// It takes the message by pointer, read in its queue slot, where a copy for the call cost as
// much as noting the delivery.
func (w *World) deliverToRuntime(m *protocol.Message) {
	if !w.runtime.up {
		w.runtime.deliver(m)
		return
	}
	w.linkEvent(checkers.LinkDelivered, "executor", m)
	w.runtime.deliver(m)
	if w.healed || w.plan.AckWindowPercent == 0 || m.Kind != protocol.KindCommand || !journal.AckedBeforeUse(m.Entry.Kind) {
		return
	}
	if !w.faultRand.Percent(w.plan.AckWindowPercent, "ack-window") {
		return
	}
	if w.faultRand.Intn(2, "ack-window-fault") == 0 {
		// The command's batch is applied and waits for its sync; its ack waits for both.
		w.crashRuntime()
	} else {
		w.breakAttempt(m.Invocation, m.Attempt)
	}
}

// deliverToExecutor hands m to the executor node, noting the delivery if the node takes it (by
// pointer, as deliverToRuntime).
func (w *World) deliverToExecutor(m *protocol.Message) {
	if w.executor.up {
		w.linkEvent(checkers.LinkDelivered, "runtime", m)
	}
	w.executor.deliver(*m)
}

// attemptViolations runs the checkers that judge attempts against the link log.
func (w *World) attemptViolations(j *judges) []checkers.Violation {
	return j.attempts.Judge(&w.history, w.link)
}
