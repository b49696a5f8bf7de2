package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/sim"
)

// Summary renders summary.txt: what failed and how to get it back, in plain text.
func Summary(r *sim.Result, info Info) ([]byte, error) {
	info = info.withDefaults(r)
	var b bytes.Buffer
	fmt.Fprintf(&b, "scenario:  %s\n", r.Scenario)
	fmt.Fprintf(&b, "seed:      %d\n", r.Seed)
	fmt.Fprintf(&b, "commit:    %s\n", info.Commit)
	fmt.Fprintf(&b, "plan:      %s\n", planOf(r))
	if r.History != nil {
		fmt.Fprintf(&b, "run:       %d queue events, %d recorded events, %d invocations, %s virtual, trace hash %016x\n",
			r.Events, len(r.History.Events), r.Invocations, r.Virtual, r.TraceHash)
	}
	fmt.Fprintf(&b, "reproduce: %s\n", info.Reproduce)
	fmt.Fprintf(&b, "shrink:    %s\n", info.Shrink)
	for _, n := range info.Notes {
		fmt.Fprintf(&b, "note:      %s\n", indentRest(n, "           "))
	}
	fmt.Fprintf(&b, "\n%d violation(s):\n", len(r.Violations))
	for i, v := range r.Violations {
		writeViolation(&b, r, i+1, v)
	}
	fmt.Fprintf(&b, "\nfiles: %s (Chrome/Perfetto trace-event format: ui.perfetto.dev or chrome://tracing), %s (open in a browser)\n",
		TraceFile, HTMLFile)
	lin, err := linearizability(r, newRun(r))
	if err != nil {
		return nil, err
	}
	for _, l := range lin {
		fmt.Fprintf(&b, "       %s (porcupine's visualisation of %s: %s)\n", l.File, l.Promise, l.Verdict)
	}
	return b.Bytes(), nil
}

func writeViolation(b *bytes.Buffer, r *sim.Result, n int, v checkers.Violation) {
	fmt.Fprintf(b, "\n%d. property %s", n, v.Checker)
	if !v.Invocation.IsZero() {
		fmt.Fprintf(b, ", invocation %s", v.Invocation)
	}
	fmt.Fprintf(b, "\n   %s\n", indentRest(v.Message, "   "))
	if len(v.Events) == 0 {
		return
	}
	fmt.Fprintf(b, "   events:\n")
	for _, i := range v.Events {
		if e, ok := eventAt(r, i); ok {
			fmt.Fprintf(b, "     #%-6d %s\n", i, strings.TrimSpace(e.String()))
		} else {
			fmt.Fprintf(b, "     #%-6d (not in the history)\n", i)
		}
	}
}

func eventAt(r *sim.Result, i int) (checkers.Event, bool) {
	if r.History == nil || i < 0 || i >= len(r.History.Events) {
		return checkers.Event{}, false
	}
	return r.History.Events[i], true
}

// indentRest indents every line of s after the first, for multi-line messages (a wait-for
// graph, a stack).
func indentRest(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}
