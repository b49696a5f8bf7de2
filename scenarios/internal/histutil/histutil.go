// Package histutil holds small helpers the scenario checks share for reading a simulation
// history: the windows of virtual time during which a node was paused, and an index of the
// events the checks look up by invocation and journal entry.
//
// It imports the checkers and the protocol only; it must never import the simulator.
package histutil

import (
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
)

// Window is a stretch of virtual time, From to To inclusive, during which a node was paused or
// down.
type Window struct{ From, To time.Duration }

// PauseLength is how long the NodePaused event e paused its node: the duration its Reason gives
// ("for 3s"), or to the end of h if that cannot be read.
func PauseLength(h *checkers.History, e checkers.Event) time.Duration {
	d, err := time.ParseDuration(strings.TrimPrefix(e.Reason, "for "))
	if err != nil {
		d = h.End() - e.At
	}
	return d
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
		ws = append(ws, Window{e.At, e.At + PauseLength(h, e)})
	}
	return ws
}

// Overlaps reports whether any window of ws meets [from, to].
func Overlaps(ws []Window, from, to time.Duration) bool {
	for _, w := range ws {
		if w.From <= to && from <= w.To {
			return true
		}
	}
	return false
}
