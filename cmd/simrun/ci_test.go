package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// plantedFailure's workload makes one call and fails about one seed in four: the draw comes from
// the seed, so the failing seeds are the same in every run, whichever shard runs them.
type plantedFailure struct {
	w    *sim.World
	fail bool
}

func (p *plantedFailure) Services() []*durable.Service {
	return []*durable.Service{durable.NewService("Echo").Handler("echo", durable.NewServiceHandler(
		func(_ durable.Context, s string) (string, error) { return s, nil }))}
}

func (p *plantedFailure) Start() {
	p.fail = p.w.Rand().Intn(4, "planted failure") == 0
	p.w.HTTP("client", "POST", "/Echo/echo", []byte(`"x"`), nil, func(sim.Response) {})
}

func (p *plantedFailure) Check(*checkers.History) []checkers.Violation {
	if !p.fail {
		return nil
	}
	return []checkers.Violation{{Checker: "planted", Message: "this seed was drawn to fail"}}
}

var planted = sim.Scenario{Name: "planted", New: func(w *sim.World) sim.Workload { return &plantedFailure{w: w} }}

// ciConfig is a small campaign of the planted scenario and a real one, with no -max-failures
// stop, so that every shard runs all its seeds.
func ciConfig(t *testing.T, seeds int, ci ciFlags) *config {
	t.Helper()
	approval, ok := scenarios.Lookup("approval")
	require.True(t, ok)
	return &config{scenarios: []sim.Scenario{planted, approval}, seeds: seeds, first: 1, parallel: 2,
		budget: 10 * time.Second, liveness: defaultLiveness, ci: ci}
}

// campaignOutput runs a campaign in-process and returns its exit code and stdout.
func campaignOutput(t *testing.T, cfg *config) (int, string) {
	t.Helper()
	var out, errw bytes.Buffer
	w := bufio.NewWriter(&out)
	code := campaigns(context.Background(), cfg, w, &errw)
	require.NoError(t, w.Flush())
	return code, out.String()
}

// writeTemp writes s to a new file in t's temporary directory.
func writeTemp(t *testing.T, name, s string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	return path
}

// seedRecords parses every seed record of -json output, wall times cleared, in scenario and
// seed order.
func seedRecords(t *testing.T, outputs ...string) []seedRecord {
	t.Helper()
	var recs []seedRecord
	for _, out := range outputs {
		for line := range strings.Lines(out) {
			var rec seedRecord
			require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
			if rec.Record == recordSeed {
				rec.WallNS = 0
				recs = append(recs, rec)
			}
		}
	}
	slices.SortFunc(recs, func(a, b seedRecord) int {
		return cmp.Or(cmp.Compare(a.Scenario, b.Scenario), cmp.Compare(a.Seed, b.Seed))
	})
	return recs
}

// TestShardsMergeToTheUnshardedCampaign: n shards of a campaign, merged, give the totals,
// failing seeds, reproduce commands, coverage and per-seed trace hashes of the unsharded
// campaign over the same seeds, and merge prints the same coverage table.
func TestShardsMergeToTheUnshardedCampaign(t *testing.T) {
	const seeds = 30
	code, whole := campaignOutput(t, ciConfig(t, seeds, ciFlags{json: true}))
	require.Equal(t, exitViolation, code, "the planted scenario fails some seeds")
	wholeIn, err := readMergeInput(writeTemp(t, "whole.json", whole))
	require.NoError(t, err)
	want := fold([]*mergeInput{wholeIn})

	for _, n := range []int{2, 3, 7} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			var files, outputs []string
			var inputs []*mergeInput
			for k := 1; k <= n; k++ {
				_, out := campaignOutput(t, ciConfig(t, seeds, ciFlags{json: true, shard: shard{k: k, n: n}}))
				path := writeTemp(t, fmt.Sprintf("shard%d.json", k), out)
				in, err := readMergeInput(path)
				require.NoError(t, err)
				files, outputs, inputs = append(files, path), append(outputs, out), append(inputs, in)
			}
			require.NoError(t, checkMergeable(inputs))
			got := fold(inputs)

			assert.Equal(t, seedRecords(t, whole), seedRecords(t, outputs...), "the same seeds, verdicts and trace hashes")
			require.Len(t, got.all, len(want.all))
			for i, w := range want.all {
				g := got.all[i]
				assert.Equal(t, w.name, g.name)
				assert.Equal(t, w.CampaignStats, g.CampaignStats, w.name)
				assert.Equal(t, w.violations, g.violations, w.name)
				assert.Equal(t, w.failedSeeds, g.failedSeeds, w.name)
				assert.Equal(t, w.firstRepro, g.firstRepro, w.name)
				assert.Equal(t, w.coverage, g.coverage, w.name)
			}

			code, out, errs := simrun(t, append([]string{"merge"}, files...)...)
			assert.Equal(t, exitViolation, code, errs)
			assert.Contains(t, out, fmt.Sprintf("shards 1..%d of %d: the whole campaign", n, n))
			var table strings.Builder
			writeCoverage(&table, want.all, sumStats(want.all))
			assert.Contains(t, out, table.String(), "the coverage table of the unsharded campaign")
		})
	}
}

func sumStats(all []*stats) *stats {
	total := &stats{name: "total"}
	for _, st := range all {
		total.merge(st)
	}
	return total
}

// TestJSONRecordsParse: every line of -json output is a record; one per seed in seed order, each
// failing one with its violations and reproduce command, then the summary with the coverage
// table.
func TestJSONRecordsParse(t *testing.T) {
	const seeds = 12
	code, out := campaignOutput(t, ciConfig(t, seeds, ciFlags{json: true}))
	require.Equal(t, exitViolation, code)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2*seeds+1, "a record per seed of both scenarios and the summary")

	failing := 0
	for i, line := range lines[:2*seeds] {
		var rec seedRecord
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		assert.Equal(t, recordSeed, rec.Record)
		assert.Equal(t, uint64(i%seeds+1), rec.Seed, "seed order")
		assert.Regexp(t, `^[0-9a-f]{16}$`, rec.TraceHash)
		assert.Positive(t, rec.Events)
		assert.Positive(t, rec.WallNS)
		if rec.Verdict == verdictFail {
			failing++
			require.NotEmpty(t, rec.Violations)
			assert.Equal(t, "planted", rec.Violations[0].Checker)
			assert.Equal(t, "this seed was drawn to fail", rec.Violations[0].Message)
			assert.Equal(t, fmt.Sprintf("go run ./cmd/simrun -scenario planted -seed %d -budget 10s", rec.Seed), rec.Reproduce)
		} else {
			assert.Equal(t, verdictPass, rec.Verdict)
			assert.Empty(t, rec.Violations)
		}
	}
	require.Positive(t, failing, "the planted scenario fails some of 12 seeds")

	var sum summaryRecord
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &sum))
	assert.Equal(t, recordSummary, sum.Record)
	assert.Equal(t, verdictFail, sum.Verdict)
	assert.Equal(t, 2*seeds, sum.Total.Seeds)
	assert.Equal(t, failing, sum.Total.Failed)
	require.Len(t, sum.Scenarios, 2)
	assert.Equal(t, "planted", sum.Scenarios[0].Scenario)
	assert.Equal(t, runParams{Budget: "10s", Liveness: "10m0s", Faults: "default",
		MaxEvents: defaultMaxEvents, MaxEventsPerInstant: defaultMaxEventsPerInstant}, sum.Run.Params)
	assert.Len(t, sum.Coverage, len(sim.Points()))
	reached := 0
	for _, row := range sum.Coverage {
		reached += int(row.Total)
	}
	assert.Positive(t, reached)
}

// TestJUnitNamesTheFailingSeed: the -junit file parses as XML, with a failing testcase naming
// each failing seed, its violation and reproduce command, and a passing one with the seed count.
func TestJUnitNamesTheFailingSeed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	code, out := campaignOutput(t, ciConfig(t, 12, ciFlags{junit: path}))
	require.Equal(t, exitViolation, code)
	assert.Contains(t, out, "FAIL: ", "without -json the campaign prints its usual report")

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var report junitTestSuites
	require.NoError(t, xml.Unmarshal(data, &report), string(data))
	require.Len(t, report.Suites, 2)
	suite := report.Suites[0]
	assert.Equal(t, "planted", suite.Name)
	require.Greater(t, len(suite.Cases), 1, "a failing testcase and the passing one")
	first := suite.Cases[0]
	require.NotNil(t, first.Failure)
	assert.Regexp(t, `^seed \d+$`, first.Name)
	seed := strings.TrimPrefix(first.Name, "seed ")
	assert.Equal(t, "planted: this seed was drawn to fail", first.Failure.Message)
	assert.Contains(t, first.Failure.Text, "reproduce: go run ./cmd/simrun -scenario planted -seed "+seed+" ")
	last := suite.Cases[len(suite.Cases)-1]
	assert.Nil(t, last.Failure)
	assert.Equal(t, fmt.Sprintf("12 seeds, %d passed", 12-suite.Failures), last.Name)
	assert.Equal(t, len(suite.Cases)-1, suite.Failures)

	approval := report.Suites[1]
	assert.Equal(t, 0, approval.Failures)
	require.Len(t, approval.Cases, 1)
	assert.Equal(t, "12 seeds, 12 passed", approval.Cases[0].Name)
}

// TestDurationStops: a time box ends a campaign with no seed limit, reports it and passes; with
// -seeds as well, the seeds end it first when they are few.
func TestDurationStops(t *testing.T) {
	start := time.Now()
	code, out, errs := simrun(t, "-scenario", "approval", "-duration", "300ms", "-budget", "10s", "-json")
	require.Equal(t, exitOK, code, errs)
	assert.Less(t, time.Since(start), 5*time.Second)
	recs := seedRecords(t, out)
	require.NotEmpty(t, recs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum summaryRecord
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &sum))
	assert.Equal(t, len(recs), sum.Total.Seeds)
	assert.True(t, sum.Scenarios[0].TimedOut)
	assert.Equal(t, 0, sum.Run.Seeds, "no seed limit")
	assert.Contains(t, errs, "time box 300ms reached; seeds run: approval 1..")

	code, out, errs = simrun(t, "-scenario", "approval", "-duration", "1m", "-seeds", "3", "-budget", "10s")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "ok: no violation in 3 seeds")
	assert.Contains(t, out, "time box 1m0s: every scenario ran all its seeds")
}

// TestShardSeeds: shard k of n runs the seeds first+i with i%n == k-1, and the shards of a
// campaign cover its seeds exactly once.
func TestShardSeeds(t *testing.T) {
	for _, tt := range []struct {
		seeds, n int
	}{{10, 4}, {7, 7}, {100, 3}, {5, 1}} {
		seen := map[uint64]int{}
		for k := 1; k <= tt.n; k++ {
			cfg := &config{seeds: tt.seeds, first: 20, ci: ciFlags{shard: shard{k: k, n: tt.n}}}
			for j := range cfg.campaignSeeds() {
				s := cfg.seedAt(j)
				assert.Equal(t, uint64(k-1), (s-20)%uint64(tt.n))
				seen[s]++
			}
		}
		require.Len(t, seen, tt.seeds, "%d seeds in %d shards", tt.seeds, tt.n)
		for s := uint64(20); s < 20+uint64(tt.seeds); s++ {
			assert.Equal(t, 1, seen[s], "seed %d", s)
		}
	}
}

func TestCIUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"shard zero", []string{"-shard", "0/4"}, `invalid value "0/4" for flag -shard: k must be between 1 and 4`},
		{"shard past n", []string{"-shard", "5/4"}, `invalid value "5/4" for flag -shard: k must be between 1 and 4`},
		{"shard not k/n", []string{"-shard", "x"}, `invalid value "x" for flag -shard: want k/n`},
		{"no shards", []string{"-shard", "1/0"}, "n, the number of shards, must be at least 1"},
		{"shard without seeds", []string{"-shard", "3/4", "-seeds", "2"}, "-shard 3/4 gets no seed of a campaign of -seeds 2"},
		{"json and hash", []string{"-json", "-hash"}, "-json and -hash both claim stdout"},
		{"duration not positive", []string{"-duration", "0s"}, "-duration must be positive"},
		{"json with seed", []string{"-json", "-seed", "3"}, "-json applies to campaigns"},
		{"shard with bench", []string{"-bench", "-shard", "1/2"}, "-shard applies to campaigns"},
		{"junit without file", []string{"-junit", ""}, "-junit needs a file name"},
		{"merge without files", []string{"merge"}, "no file given"},
		{"merge of a missing file", []string{"merge", filepath.Join(t.TempDir(), "nope.json")}, "no such file"},
		{"merge of a bad flag", []string{"merge", "-nope"}, "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := simrun(t, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errs, tt.want)
		})
	}
}

// TestMergeRefusesWhatIsNotOneCampaign: a shard that did not finish, the same shard twice and
// shards of different runs are refused (exit 2), not folded into a verdict.
func TestMergeRefusesWhatIsNotOneCampaign(t *testing.T) {
	_, one := campaignOutput(t, ciConfig(t, 6, ciFlags{json: true, shard: shard{k: 1, n: 2}}))
	_, two := campaignOutput(t, ciConfig(t, 6, ciFlags{json: true, shard: shard{k: 2, n: 2}}))
	other := ciConfig(t, 6, ciFlags{json: true, shard: shard{k: 2, n: 2}})
	other.budget = 20 * time.Second
	_, longer := campaignOutput(t, other)
	lines := strings.SplitAfter(one, "\n")
	truncated := strings.Join(lines[:len(lines)-2], "")

	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"truncated", []string{truncated, two}, "no summary record: the shard did not finish"},
		{"twice", []string{one, one}, "both ran seed 1 of approval: the shards overlap"},
		{"other budget", []string{one, longer}, "are not one campaign: their runs differ"},
		{"not json", []string{"hello\n"}, "record 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"merge"}
			for i, f := range tt.files {
				args = append(args, writeTemp(t, fmt.Sprintf("f%d.json", i), f))
			}
			code, _, errs := simrun(t, args...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, errs, tt.want)
		})
	}

	code, out, _ := simrun(t, "merge", writeTemp(t, "one.json", one))
	assert.Equal(t, exitViolation, code, "a violation in a shard fails the merge")
	assert.Contains(t, out, "1 of 2 shards; missing: 2/2")
}

// TestProgressETA: the estimate is the seeds left at the speed so far, or the time left in the
// time box when that is sooner.
func TestProgressETA(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start.Add(10 * time.Second)
	tests := []struct {
		name        string
		total, done int
		end         time.Time
		want        string
	}{
		{"half done", 100, 50, time.Time{}, "10s"},
		{"nothing done", 100, 0, time.Time{}, "-"},
		{"time box sooner", 100, 10, now.Add(5 * time.Second), "5s"},
		{"seeds sooner", 100, 90, now.Add(time.Hour), "1s"},
		{"time box only", 0, 10, now.Add(time.Minute), "1m0s"},
		{"no bound", 0, 10, time.Time{}, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &progress{total: tt.total, done: tt.done, end: tt.end, start: start}
			assert.Equal(t, tt.want, p.eta(now))
		})
	}
}
