package main

import (
	"fmt"
	"io"

	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/sim/report"
)

// artifactsUsage is -artifacts's line in -h.
const artifactsUsage = "write the artifacts of every failing seed under `dir`, one directory <scenario>-<seed> each:\n" +
	"summary.txt (seed, commit, plan, violations with their events, reproduce and shrink\n" +
	"commands), trace.json (Chrome/Perfetto trace-event format) and report.html (a\n" +
	"self-contained page: timeline per invocation, the violated property highlighted; for a\n" +
	"promise checker failure porcupine's linearizability drawing, also saved alone as\n" +
	"linearizability-<service>-<key>-<promise>-<epoch>.html)"

// writeArtifacts writes the artifacts of a failing outcome under -artifacts (nothing without the
// flag, or for a seed that passed) and names their directory on w. A seed that panicked or was
// abandoned has no history: its artifacts say so, and carry the stack or where it was stuck.
// Failing to write them is reported on w and does not change the verdict: the seed already failed.
func (c *config) writeArtifacts(w io.Writer, o outcome) {
	if c.artifacts == "" || !o.res.Failed() {
		return
	}
	info := report.Info{Reproduce: c.reproduceCommand(o.res)}
	if c.mutant != mutant.None {
		info.Notes = append(info.Notes, fmt.Sprintf("mutant %s was planted in the runtime for this run", c.mutant))
	}
	switch {
	case o.panicked:
		info.Notes = append(info.Notes, "the run panicked; no history was kept. Stack:\n"+string(o.stack))
	case o.abandoned:
		info.Notes = append(info.Notes, "the run was abandoned past -seed-timeout, stuck inside one event; no history was kept")
	}
	dir, err := report.Write(c.artifacts, o.res, info)
	if err != nil {
		fmt.Fprintf(w, "  artifacts: not written: %v\n", err)
		return
	}
	fmt.Fprintf(w, "  artifacts: %s\n", dir)
}
