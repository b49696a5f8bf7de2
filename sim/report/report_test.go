package report_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/sim/report"
)

// plantedMessage is the planted violation's message; the page must show it.
const plantedMessage = "planted: the second attempt of this invocation must not start"

// planted wraps a real scenario so that every run fails: its check adds a violation naming the
// first invocation with two attempts (its attempt starts and its first command), and a liveness
// violation with a wait-for graph shaped like the engine's, so that the artifacts of a real
// history carry both kinds.
func planted(t *testing.T, name string) sim.Scenario {
	t.Helper()
	sc, ok := scenarios.Lookup(name)
	require.True(t, ok, name)
	inner := sc.New
	sc.Name = "planted-" + name
	sc.New = func(w *sim.World) sim.Workload { return &plantedWorkload{Workload: inner(w)} }
	return sc
}

type plantedWorkload struct{ sim.Workload }

func (p *plantedWorkload) Check(h *checkers.History) []checkers.Violation {
	vs := p.Workload.Check(h)
	starts := map[string][]int{}
	for i, e := range h.Events {
		if e.Kind == checkers.AttemptStarted {
			k := e.Invocation.String()
			starts[k] = append(starts[k], i)
			if len(starts[k]) == 2 {
				evs := starts[k]
				for j := starts[k][0]; j < len(h.Events); j++ {
					if h.Events[j].Invocation == e.Invocation && h.Events[j].Kind == checkers.CommandEmitted {
						evs = append(evs, j)
						break
					}
				}
				vs = append(vs, checkers.Violation{Checker: "planted", Invocation: e.Invocation, Message: plantedMessage, Events: evs})
				vs = append(vs, checkers.Violation{Checker: "liveness", Invocation: e.Invocation,
					Message: "not finished 10m0s after healing: " + k + " Approval/requestHumanReview is suspended (attempt 2)\n    -> [1] awakeable <pending>"})
				return vs
			}
		}
	}
	return append(vs, checkers.Violation{Checker: "planted", Message: plantedMessage})
}

func failingResult(t *testing.T) *sim.Result {
	t.Helper()
	r := sim.RunSeed(planted(t, "approval"), sim.Options{Seed: 3, SafetyBudget: 20 * time.Second})
	require.True(t, r.Failed())
	require.NotNil(t, r.History)
	return r
}

// TestTraceJSONIsValid checks trace.json of a failing seed against the trace-event format:
// it parses; every event has ph, ts, pid and tid; every track is named by a thread_name
// metadata event; complete slices have a non-negative duration; faults and the violation are
// instants with a scope.
func TestTraceJSONIsValid(t *testing.T) {
	r := failingResult(t)
	dir, err := report.Write(t.TempDir(), r, report.Info{Commit: "abc123", Reproduce: "go run ./cmd/simrun -scenario x -seed 3"})
	require.NoError(t, err)
	assert.Equal(t, "planted-approval-3", filepath.Base(dir))
	b, err := os.ReadFile(filepath.Join(dir, report.TraceFile))
	require.NoError(t, err)
	checkTrace(t, b)
}

func checkTrace(t *testing.T, b []byte) {
	t.Helper()
	phases, err := report.ValidateTrace(b)
	require.NoError(t, err)
	assert.Positive(t, phases["M"], "metadata names the tracks")
	assert.Positive(t, phases["X"], "attempts and requests as slices")
	assert.Positive(t, phases["i"], "instants")
	for _, want := range []string{`"name":"violation: planted"`, `"args":{"name":"runtime"}`, `"args":{"name":"executor"}`, `"cat":"command"`} {
		assert.True(t, bytes.Contains(b, []byte(want)), "trace.json has %s", want)
	}
}

func TestValidateTraceRejects(t *testing.T) {
	for name, bad := range map[string]string{
		"not json":      `{`,
		"no events":     `{}`,
		"no ts":         `{"traceEvents":[{"name":"a","ph":"i","s":"t","pid":1,"tid":1}]}`,
		"negative dur":  `{"traceEvents":[{"name":"thread_name","ph":"M","ts":0,"pid":1,"tid":1,"args":{"name":"n"}},{"name":"a","ph":"X","ts":1,"dur":-1,"pid":1,"tid":1}]}`,
		"unnamed track": `{"traceEvents":[{"name":"a","ph":"i","s":"t","ts":0,"pid":1,"tid":1}]}`,
		"no scope":      `{"traceEvents":[{"name":"thread_name","ph":"M","ts":0,"pid":1,"tid":1,"args":{"name":"n"}},{"name":"a","ph":"i","ts":0,"pid":1,"tid":1}]}`,
	} {
		_, err := report.ValidateTrace([]byte(bad))
		assert.Error(t, err, name)
	}
}

func TestArtifactsAreDeterministic(t *testing.T) {
	info := report.Info{Commit: "abc123"}
	a, err := report.Write(t.TempDir(), failingResult(t), info)
	require.NoError(t, err)
	b, err := report.Write(t.TempDir(), failingResult(t), info)
	require.NoError(t, err)
	for _, f := range []string{report.SummaryFile, report.TraceFile, report.HTMLFile} {
		x, err := os.ReadFile(filepath.Join(a, f))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(x, y), "%s differs between two runs of the same seed", f)
	}
}

func TestSummaryNamesEverything(t *testing.T) {
	r := failingResult(t)
	b, err := report.Summary(r, report.Info{Commit: "abc123", Reproduce: "REPRO"})
	require.NoError(t, err)
	s := string(b)
	for _, want := range []string{"scenario:  planted-approval", "seed:      3", "commit:    abc123", "plan:      ",
		"reproduce: REPRO", "shrink:    ", "property planted", plantedMessage, "attempt-started", "-> [1] awakeable"} {
		assert.Contains(t, s, want)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	b, err := report.HTML(failingResult(t), report.Info{})
	require.NoError(t, err)
	s := string(b)
	for _, ref := range []string{"src=", "<link", "http://", "https://", "@import"} {
		assert.NotContains(t, s, ref, "the page loads nothing from outside")
	}
	assert.Contains(t, s, "wait-for graph")
	assert.Contains(t, s, plantedMessage)
}

// TestHTMLRendersInChromium opens report.html in headless Chromium and checks that the violated
// property and its message are in the DOM it rendered. It skips where Chromium is not installed
// (.ci/run installs Debian's chromium where it can) and under -short.
func TestHTMLRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("chromium not found (install Debian's chromium package to run this test)")
	}
	dir, err := report.Write(t.TempDir(), failingResult(t), report.Info{Commit: "abc123"})
	require.NoError(t, err)
	s := dumpDOM(t, bin, filepath.Join(dir, report.HTMLFile))
	assert.Contains(t, s, plantedMessage, "the violation is on the rendered page")
	assert.Contains(t, s, `class="property">1. planted`)
	assert.Contains(t, s, "wait-for graph")
	assert.Contains(t, s, `class="bar `, "the timelines rendered")
}

func chromium() string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func TestDirNamesScenarioAndSeed(t *testing.T) {
	r := &sim.Result{Scenario: "a/b", Seed: 12}
	assert.Equal(t, filepath.Join("root", "a_b-12"), report.Dir("root", r))
	assert.True(t, strings.HasPrefix(report.Commit(), "") && report.Commit() != "")
}
