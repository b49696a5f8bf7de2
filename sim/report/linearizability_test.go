package report_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/sim/report"
)

// neverWritten is the value the forged read sees.
const neverWritten = `"a value no complete ever carried"`

// readOfANeverWrittenValue runs review-workflow seed 1 (which passes) and forges its history: the
// first get of a durable promise sees a value that no complete carried. Judged again, the
// promise's epoch is not linearizable, as a runtime that made the value up would make it.
func readOfANeverWrittenValue(t *testing.T) *sim.Result {
	t.Helper()
	sc, ok := scenarios.Lookup("review-workflow")
	require.True(t, ok)
	r := sim.RunSeed(sc, sim.Options{Seed: 1, SafetyBudget: 20 * time.Second, KeepHistory: true})
	require.False(t, r.Failed(), "%v", r.Violations)
	require.NotNil(t, r.History)
	h := *r.History
	h.Events = append([]checkers.Event(nil), h.Events...)
	forged := false
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind == checkers.ValueObserved && e.Entry.Kind == journal.KindGetPromise && e.Result.Failure == nil {
			e.Result = journal.Result{Value: []byte(neverWritten)}
			forged = true
			break
		}
	}
	require.True(t, forged, "the run has a get of a promise that saw a value")
	r.History = &h
	r.Violations = checkers.Promises(h)
	require.NotEmpty(t, r.Violations)
	return r
}

var linFile = regexp.MustCompile(`linearizability-ReviewWorkflow-[\w.-]+-review-\d+\.html`)

func TestLinearizabilityIsOnThePage(t *testing.T) {
	r := readOfANeverWrittenValue(t)
	dir, err := report.Write(t.TempDir(), r, report.Info{Commit: "abc123"})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	require.NoError(t, err)
	page := string(b)

	has(t, page, `<h2 id="linearizability">`)
	has(t, page, "not linearizable as a write-once promise")
	has(t, page, `<iframe class="porcupine"`)
	assert.Regexp(t, `lines: 0 = <a class="ev mono" href="#inv-inv_\w+">inv_\w+</a> ReviewWorkflow/rw-\d+/\w+; 1 = `, page)
	// porcupine's page is in the srcdoc, escaped: its data names the forged read.
	has(t, page, "const data = ")
	has(t, page, `get -\u003e value(\&#34;a value no complete ever carried\&#34;)`)
	// Still self-contained: the only address in it is the SVG namespace porcupine's legend declares.
	for _, ref := range []string{"src=", "<link", "https://", "@import"} {
		assert.False(t, strings.Contains(page, ref), "the page loads nothing from outside: it has %q", ref)
	}
	assert.False(t, strings.Contains(strings.ReplaceAll(page, "http://www.w3.org/2000/svg", ""), "http://"), "an address in the page")

	file := linFile.FindString(page)
	require.NotEmpty(t, file, "the page names the separate file")
	standalone, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(standalone, []byte("<!doctype html>")))
	has(t, string(standalone), `get -\u003e value(\"a value no complete ever carried\")`)

	summary, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	require.NoError(t, err)
	assert.Contains(t, string(summary), file+" (porcupine's visualisation of promise \"review\"")

	// The same result gives the same files, porcupine's included.
	again, err := report.Write(t.TempDir(), r, report.Info{Commit: "abc123"})
	require.NoError(t, err)
	for _, f := range []string{report.SummaryFile, report.HTMLFile, file} {
		x, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(again, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(x, y), "%s differs between two writes of the same result", f)
	}
}

// A failure of another checker draws no porcupine page.
func TestNoLinearizabilityWithoutAPromiseViolation(t *testing.T) {
	r := failingResult(t)
	dir, err := report.Write(t.TempDir(), r, report.Info{Commit: "abc123"})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	require.NoError(t, err)
	assert.NotContains(t, string(b), "<iframe")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "summary, trace and page only")
}

// TestLinearizabilityRendersInChromium opens report.html of the forged run in headless Chromium:
// the page's script counts the operations porcupine drew inside the iframe once it loaded, and
// the separate file, opened alone, has porcupine's drawing in its DOM.
func TestLinearizabilityRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("chromium not found (install Debian's chromium package to run this test)")
	}
	dir, err := report.Write(t.TempDir(), readOfANeverWrittenValue(t), report.Info{Commit: "abc123"})
	require.NoError(t, err)

	dom := dumpDOM(t, bin, filepath.Join(dir, report.HTMLFile))
	has(t, dom, "not linearizable as a write-once promise")
	m := regexp.MustCompile(`data-rendered="(\d+) operations drawn"`).FindStringSubmatch(dom)
	require.NotNil(t, m, "the page read porcupine's drawing inside its iframe")
	assert.NotEqual(t, "0", m[1], "porcupine drew the operations")

	file := linFile.FindString(dom)
	require.NotEmpty(t, file)
	alone := dumpDOM(t, bin, filepath.Join(dir, file))
	has(t, alone, `class="history-rect"`, "porcupine drew the operations")
	has(t, alone, "a value no complete ever carried")
}

// has asserts that s contains want without printing s (a page is long).
func has(t *testing.T, s, want string, msg ...any) {
	t.Helper()
	assert.True(t, strings.Contains(s, want), "%q not found; %v", want, msg)
}

// chromiumTries is how many times dumpDOM starts Chromium before it gives up on a browser that
// keeps crashing: headless Chromium now and then dies of a signal on a loaded CI machine, which
// says nothing about the page.
const chromiumTries = 3

// dumpDOM renders file in headless Chromium and returns the DOM it built. A Chromium that exits
// with an error fails the test; one that crashes (killed by a signal) is started again, and the
// test skips when it crashes every time, as it does where Chromium is missing.
func dumpDOM(t *testing.T, bin, file string) string {
	t.Helper()
	page, err := filepath.Abs(file)
	require.NoError(t, err)
	var crashes []string
	for range chromiumTries {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-background-networking", "--disable-dev-shm-usage", "--disable-breakpad", "--disable-component-update", "--disable-sync", "--no-first-run",
			"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		dom, err := cmd.Output()
		timedOut := ctx.Err() != nil // read before cancel, which sets ctx.Err on every path
		cancel()
		if sig, ok := crashSignal(err); ok && !timedOut {
			crashes = append(crashes, sig)
			continue
		}
		require.NoError(t, err, "chromium: %s", stderr.String())
		return string(dom)
	}
	t.Skipf("chromium crashed %d times (%v): this machine cannot run it reliably", chromiumTries, crashes)
	return ""
}

// crashSignal names the signal that killed a command whose Run or Output returned err, and says
// whether one did.
func crashSignal(err error) (string, bool) {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return "", false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", false
	}
	return ws.Signal().String(), true
}

// A process killed by a signal counts as a crash (Chromium is started again); one that exits
// with an error status does not (the test fails).
func TestCrashSignalTellsACrashFromAnError(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	sig, ok := crashSignal(exec.Command(sh, "-c", "kill -SEGV $$").Run())
	assert.True(t, ok)
	assert.Equal(t, syscall.SIGSEGV.String(), sig)
	_, ok = crashSignal(exec.Command(sh, "-c", "exit 3").Run())
	assert.False(t, ok)
	_, ok = crashSignal(nil)
	assert.False(t, ok)
}
