package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

const twinChecker = "replay-twin"

// twinState is what the replay twin keeps across a run: how many re-runs it made (each is
// numbered in the history) and the code of every deployment after the declared one.
type twinState struct {
	runs        uint64
	deployments [][]*durable.Service
	// versions, tried and reader are buffers that every judgement reuses (the twin judges at
	// every attempt end): the versions list, the re-runs of one judgement, which ends before the
	// next begins, and the reader of the persisted invocation, whose journal is good until the
	// next judgement's read. A recycled world keeps them for its next run (emptied).
	versions [][]*durable.Service
	tried    []versionReplay
	reader   *engine.InvocationReader
	// calls is the memory of the re-runs' calls and contexts (twinCalls), kept for the next run
	// too: nothing of a re-run is left in it that a later one could see.
	calls twinCalls
}

// emptied is the twin's buffers for the next run, holding nothing of this one: the judgements
// let go of their re-runs and of the journal each time, and the reader of the last journal here.
func (t *twinState) emptied() twinState {
	clear(t.versions)
	if t.reader != nil {
		t.reader.Reset()
	}
	return twinState{versions: t.versions[:0], tried: t.tried[:0], reader: t.reader, calls: t.calls}
}

// versions lists the code the executor has run so far, the declared services first and the
// last deployment last. Deployments are only ever appended, so the list is rebuilt only when
// one was added since the last judgement; the caller must not keep it past its judgement.
func (w *World) versions() [][]*durable.Service {
	t := &w.twin
	if len(t.versions) != 1+len(t.deployments) {
		t.versions = append(append(t.versions[:0], w.services), t.deployments...)
	}
	return t.versions
}

// versionReplay is how one version of the code re-ran a journal. The re-run is held in place,
// in the buffer of re-runs that the twin reuses from judgement to judgement.
type versionReplay struct {
	version int // 1 is the declared code, 2 the first deployment, ...
	run     twinReplay
	missing bool // the version has no such handler
}

// replayTwin re-runs a handler from scratch against its journal as persisted, whenever one of
// its attempts ends (suspended, done, failed or aborted by a crash). Since code is redeployed,
// the journal may have been written by any version deployed so far, and a correct runtime lets a
// version extend only a journal it replays: so at least one single version must replay the whole
// journal, command for command and value for value, and a finished invocation's output must be
// what that version returns at the journal's end. A prefix that one version wrote and a later
// one never extended is fine; a later version that extended a journal it diverged from is not.
// It checks correct replay actively, under faults, at every attempt end — not only when a later
// attempt happens to replay — and with its own replay runtime (twinruntime.go), never the
// executor's. It stops each re-run at the end of the journal, so no side effect runs because of it.
func (w *World) replayTwin(inv protocol.InvocationID) {
	if w.runtime.store == nil {
		return
	}
	if w.twin.reader == nil {
		w.twin.reader = new(engine.InvocationReader)
	}
	p, ok, err := w.twin.reader.Read(w.runtime.store, inv)
	switch {
	case !ok:
		return // not durable (yet, or any more)
	case err != nil:
		w.twinViolation(inv, fmt.Sprintf("cannot read the persisted invocation: %v", err))
		return
	case len(p.Journal) == 0:
		w.twinViolation(inv, "the persisted invocation has no journal")
		return
	}
	j := p.Journal
	var output *journal.Entry
	if last := &j[len(j)-1]; last.Kind == journal.KindOutput {
		output = last // the reader's, good until the next judgement's read
		j = j[:len(j)-1]
	}
	w.twin.runs++
	// The re-runs are bracketed in the history, so that what handler code records during them (a
	// side effect outside Run, say) is known to come from a replay, and a verdict can point at it.
	// Filled in place (World.newEvent), as Record would: not built apart and copied in.
	e := w.newEvent(checkers.ReplayStarted, "twin")
	e.Invocation, e.Attempt, e.Index = inv, uint32(w.twin.runs), uint32(len(j))
	started := len(w.history.Events) - 1
	vs := w.versions()
	tried, fit := replayVersions(w.twin.tried[:0], &w.twin.calls, vs, inv, p, j, output, Epoch.Add(w.now))
	if fit > 0 {
		// A later version could not have written this journal, an earlier one did: the
		// multi-version rule, not the single-version one, judged it.
		w.cover(CoverTwinEarlierVersion)
	}
	outcome, problem := twinVerdict(len(vs), tried, fit, output)
	e = w.newEvent(checkers.ReplayEnded, "twin")
	e.Invocation, e.Attempt, e.Reason = inv, uint32(w.twin.runs), outcome
	ended := len(w.history.Events) - 1
	if problem != "" {
		w.twinViolation(inv, problem, started, ended)
	}
	// The re-runs are judged: let go of them (and of the journal they hold) before the buffer
	// waits for the next judgement.
	clear(tried)
	w.twin.tried = tried[:0]
}

// replayVersions re-runs the journal j of p with each version of vs, the last deployed first
// (the likeliest writer of a live journal), until one fits it, appending each re-run to tried
// (an emptied buffer, or nil), each handler's call made in c's memory; fit is that one's position
// in tried, or -1. It depends on nothing but its arguments, so a test can hand it any journal.
func replayVersions(tried []versionReplay, c *twinCalls, vs [][]*durable.Service, inv protocol.InvocationID, p engine.PersistedInvocation, j []journal.Entry, output *journal.Entry, now time.Time) ([]versionReplay, int) {
	for v := len(vs) - 1; v >= 0; v-- {
		h := lookupHandler(vs[v], p.Service, p.Handler)
		if h == nil {
			tried = append(tried, versionReplay{version: v + 1, missing: true})
			continue
		}
		// The re-run goes in place, in the buffer's next element, which replayHandler overwrites
		// whole: no zero re-run is written there first.
		tried = slices.Grow(tried, 1)[:len(tried)+1]
		t := &tried[len(tried)-1]
		t.version, t.missing = v+1, false
		r := &t.run
		replayHandler(r, c, h, p.Service, p.Handler, inv, p.Key, now, j, comparesOutput(output))
		if fits(r, output) {
			return tried, len(tried) - 1
		}
	}
	return tried, -1
}

func lookupHandler(services []*durable.Service, service, handler string) durable.Handler {
	for _, s := range services {
		if s.Name() == service {
			h, _ := s.Lookup(handler)
			return h
		}
	}
	return nil
}

// fits reports whether a version's re-run could have written the whole journal and its output:
// it replayed every entry, and where the journal holds the handler's output it returned that
// output there.
func fits(r *twinReplay, output *journal.Entry) bool {
	if r.hasDiverged() {
		return false
	}
	if !comparesOutput(output) {
		return true
	}
	return r.output != nil && r.output.Equal(output.Result)
}

// comparesOutput reports whether a re-run's output is judged against the journal's output entry:
// only when the journal holds one the handler returned. An output the engine decided (retries ran
// out, a purge) says nothing of the code, and a journal without one (the twin judges at the
// attempt's end, before the output is persisted) has nothing to compare with.
func comparesOutput(output *journal.Entry) bool {
	return output != nil && output.Name != journal.EngineOutput
}

// twinVerdict names the outcome of a judgement for the history and, when no version fits, the
// violation's message.
func twinVerdict(versions int, tried []versionReplay, fit int, output *journal.Entry) (outcome, problem string) {
	if fit >= 0 {
		if versions == 1 {
			return "matched its journal", ""
		}
		return matchedVersion(tried[fit].version), ""
	}
	var why []string
	returned := false
	for i := range tried {
		t := &tried[i]
		var how string
		switch r := &t.run; {
		case t.missing:
			how = "has no such handler"
		case r.hasDiverged():
			how = "diverged: " + r.divergedText()
		default:
			returned = true
			how = "returned " + r.describeEnd() + ", the journal's output is " + output.Result.String()
		}
		if versions > 1 {
			how = fmt.Sprintf("version %d %s", t.version, how)
		}
		why = append(why, how)
	}
	lead := "re-running the handler against its persisted journal "
	if versions > 1 {
		lead = fmt.Sprintf("no one of the %d deployed versions replays the persisted journal: ", versions)
	}
	if returned {
		return "returned another output", lead + strings.Join(why, "; ")
	}
	return "diverged from its journal", lead + strings.Join(why, "; ")
}

// matchedOutcomes are the outcomes of journals that the first versions fit, built once: with
// deployments the twin names the fitting version at every attempt end, in the history.
var matchedOutcomes = func() (s [8]string) {
	for v := range s {
		s[v] = "matched its journal with version " + strconv.Itoa(v)
	}
	return s
}()

// matchedVersion is the outcome of a journal that version v fits.
func matchedVersion(v int) string {
	if v >= 0 && v < len(matchedOutcomes) {
		return matchedOutcomes[v]
	}
	return "matched its journal with version " + strconv.Itoa(v)
}

// describeEnd says how a re-run that replayed the whole journal ended.
func (r *twinReplay) describeEnd() string {
	switch {
	case r.unencoded:
		return "an output, not encoded: the journal has none to compare it with"
	case r.output != nil:
		return r.output.String()
	case r.retry != "":
		return "a retryable error (" + r.retry + ")"
	default:
		return "nothing: it " + r.waitingText()
	}
}

func (w *World) twinViolation(inv protocol.InvocationID, msg string, events ...int) {
	w.violations = append(w.violations, checkers.Violation{Checker: twinChecker, Invocation: inv, Message: fmt.Sprintf("at %s: %s", w.now, msg), Events: events})
}
