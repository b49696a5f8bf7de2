// Package histutil holds small helpers the scenario checks share for reading a simulation
// history: the windows of virtual time during which a node was paused, an index of the events
// the checks look up by invocation and journal entry, and what Restate's cancellation looks like.
//
// It imports the checkers, the protocol and the journal only; it must never import the
// simulator.
package histutil

import (
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
)

// Window is a stretch of virtual time, From to To inclusive, during which a node was paused or
// down (checkers.Window).
type Window = checkers.Window

// PauseLength is how long the NodePaused event e paused its node: its Span, or to the end of h
// when it has none.
func PauseLength(h *checkers.History, e checkers.Event) time.Duration {
	if e.Span > 0 {
		return e.Span
	}
	return h.End() - e.At
}

// Pauses lists, in history order, when node was paused, for the PauseLength of each of its
// NodePaused events. While a node is paused, every message to it waits and is delivered when the
// pause ends, so messages that were sent seconds apart can arrive together and in either order.
func Pauses(h *checkers.History, node string) []Window {
	var ws []Window
	for _, e := range h.Events {
		if e.Kind != checkers.NodePaused || e.Node != node {
			continue
		}
		ws = append(ws, Window{From: e.At, To: e.At + PauseLength(h, e)})
	}
	return ws
}

// Overlaps reports whether any window of ws meets [from, to].
func Overlaps(ws []Window, from, to time.Duration) bool { return checkers.Overlaps(ws, from, to) }

// IsCancelled reports whether r is Restate's cancellation failure, the terminal error 409
// "Cancelled" that a cancelled invocation, and what it waited on, ends with.
func IsCancelled(r journal.Result) bool {
	return r.Failure != nil && r.Failure.Code == 409 && r.Failure.Message == "Cancelled"
}
