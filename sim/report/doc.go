// Package report writes the artifacts of a failing run, for a person to read after a campaign:
// a directory per failing seed with summary.txt (scenario, seed, commit, fault plan, violations
// with their events, the reproduce and shrink commands), trace.json (the run's history in the
// Chrome/Perfetto trace-event format, openable in ui.perfetto.dev or chrome://tracing) and
// report.html (one self-contained page: a timeline per invocation with its journal, the violated
// properties and their events highlighted, the wait-for graph of a liveness failure, and for a
// failure of the promise checker porcupine's visualisation of each promise concerned, embedded
// and also saved as linearizability-<service>-<key>-<promise>-<epoch>.html).
//
// It owns the rendering of a sim.Result into those files and nothing else. It imports sim,
// checkers and checkers/event (what a run is and what it recorded) and the standard library;
// it must never run a simulation, judge a history or read the wall clock into what it writes:
// the same Result and Info give byte-identical files, so artifacts of a reproduced seed diff
// cleanly against the first ones. Only the commit comes from outside the run (Info.Commit).
package report
