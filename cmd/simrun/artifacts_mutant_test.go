//go:build vigil_mutants

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/sim/report"
)

// TestMutantCampaignWritesArtifacts plants a bug, runs a campaign with -artifacts, and checks the
// failing seed's directory: a valid trace.json, and the violated property in the summary and on
// the page.
func TestMutantCampaignWritesArtifacts(t *testing.T) {
	root := t.TempDir()
	code, out, _ := simrun(t, "-scenario", "approval", "-seeds", "50", "-budget", "30s", "-max-failures", "1",
		"-mutant", "accept-second-completion", "-artifacts", root)
	require.Equal(t, exitViolation, code, out)
	m := regexp.MustCompile(`(?m)^  artifacts: (\S+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	dir := m[1]
	assert.Regexp(t, `approval-\d+$`, dir)

	trace, err := os.ReadFile(filepath.Join(dir, report.TraceFile))
	require.NoError(t, err)
	_, err = report.ValidateTrace(trace)
	require.NoError(t, err)
	summary, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	require.NoError(t, err)
	assert.Contains(t, string(summary), "property exactly-once")
	assert.Contains(t, string(summary), "-mutant accept-second-completion")
	page, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	require.NoError(t, err)
	assert.Contains(t, string(page), "exactly-once")
}

// TestPromiseMutantArtifactsDrawLinearizability plants a second completion of a durable promise
// that reports success: the promise checker finds the promise not linearizable, and the
// artifacts carry porcupine's drawing of it, on the page and in its own file.
func TestPromiseMutantArtifactsDrawLinearizability(t *testing.T) {
	root := t.TempDir()
	code, out, _ := simrun(t, "-scenario", "review-workflow", "-seed", "1", "-mutant", "complete-promise-twice", "-artifacts", root)
	require.Equal(t, exitViolation, code, out)
	dir := filepath.Join(root, "review-workflow-1")
	lin, err := filepath.Glob(filepath.Join(dir, "linearizability-ReviewWorkflow-*-review-*.html"))
	require.NoError(t, err)
	require.Len(t, lin, 1, "one promise epoch drawn")
	page, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	require.NoError(t, err)
	assert.Contains(t, string(page), `<iframe class="porcupine"`)
	assert.Contains(t, string(page), "not linearizable as a write-once promise")
	assert.Contains(t, string(page), filepath.Base(lin[0]))
	summary, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	require.NoError(t, err)
	assert.Contains(t, string(summary), filepath.Base(lin[0])+" (porcupine's visualisation of")
}
