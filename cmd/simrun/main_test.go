package main

import (
	"bytes"
	"context"
	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// TestMain checks that the tests leave no goroutine behind but the waiting workers the runs'
// executors keep for later runs, which hold no handler and are ended first
// (executor.StopKeptWorkers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(keptStopped{m})
}

// keptStopped runs the tests, then ends the workers kept for later runs.
type keptStopped struct{ m *testing.M }

func (k keptStopped) Run() int {
	code := k.m.Run()
	executor.StopKeptWorkers()
	return code
}

// simrun runs the command in-process and returns its exit code, stdout and stderr.
func simrun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = run(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

func TestCampaignPrintsSummary(t *testing.T) {
	code, out, errs := simrun(t, "-seeds", "5", "-budget", "10s", "-parallel", "2")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)

	for _, col := range []string{"scenario", "seeds", "failed", "events", "invocations", "violations",
		"events/s", "seeds/s", "virtual", "virtual/wall", "wall"} {
		assert.Contains(t, out, col)
	}
	n := strconv.Itoa(5 * len(scenarios.All()))
	for _, name := range scenarios.Names() {
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(name)+`\s+5\s+0\s+[1-9]\d*\s+[1-9]\d*\s+0\s`, out, "summary row of %s", name)
	}
	assert.Regexp(t, `(?m)^total\s+`+n+`\s+0\s+[1-9]\d*\s+[1-9]\d*\s+0\s`, out, "summary row of the total")
	assert.Contains(t, out, "ok: no violation in "+strconv.Itoa(5*len(scenarios.All()))+" seeds")
	assert.Contains(t, errs, "seeds/s", "progress line on stderr")
}

func TestReproduceSeedPrintsTraceAndStableHash(t *testing.T) {
	name := scenarios.Names()[0]
	args := []string{"-scenario", name, "-seed", "7", "-budget", "10s"}
	code, out, _ := simrun(t, args...)
	require.Contains(t, []int{exitOK, exitViolation}, code, out)

	assert.Contains(t, out, "scenario "+name+" seed 7\n")
	assert.Contains(t, out, "plan: ")
	assert.Regexp(t, `(?m)^#0 +\S`, out, "the trace, one event per line")
	if code == exitOK {
		assert.Contains(t, out, "no violation")
	} else {
		assert.Contains(t, out, "reproduce: go run ./cmd/simrun -scenario "+name+" -seed 7 -budget 10s\n")
	}
	hash := regexp.MustCompile(`(?m)^trace hash: ([0-9a-f]{16})$`).FindStringSubmatch(out)
	require.NotNil(t, hash, out)

	code2, again, _ := simrun(t, args...)
	assert.Equal(t, code, code2)
	assert.Equal(t, out, again, "the same seed prints the same trace")

	// A campaign that covers the seed hashes it the same way.
	code3, lines, _ := simrun(t, "-scenario", name, "-first", "7", "-seeds", "1", "-budget", "10s", "-hash")
	assert.Equal(t, code, code3)
	assert.Equal(t, name+" 7 "+hash[1]+"\n", lines)
}

func TestReproduceSeedOfEveryScenario(t *testing.T) {
	code, out, _ := simrun(t, "-seed", "3", "-budget", "10s", "-hash")
	require.Contains(t, []int{exitOK, exitViolation}, code)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), len(scenarios.All()))
}

func TestHashIndependentOfParallelism(t *testing.T) {
	args := []string{"-seeds", "20", "-first", "100", "-budget", "10s", "-hash", "-max-failures", "0"}
	code1, one, _ := simrun(t, append(args, "-parallel", "1")...)
	code4, four, _ := simrun(t, append(args, "-parallel", "4")...)
	require.Contains(t, []int{exitOK, exitViolation}, code1)
	assert.Equal(t, code1, code4)
	assert.Equal(t, one, four)

	lines := strings.Split(strings.TrimSuffix(one, "\n"), "\n")
	require.Len(t, lines, 20*len(scenarios.All()))
	assert.Regexp(t, `^\S+ 100 [0-9a-f]{16}$`, lines[0])
	assert.Regexp(t, `^\S+ 119 [0-9a-f]{16}$`, lines[19])
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown scenario", []string{"-scenario", "nope"}, "known scenarios: " + strings.Join(scenarios.Names(), ", ")},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined: -nope"},
		{"bad value", []string{"-seeds", "many"}, "invalid value"},
		{"no seeds", []string{"-seeds", "0"}, "-seeds must be at least 1"},
		{"negative budget", []string{"-budget", "-1s"}, "-budget must be positive"},
		{"seed with seeds", []string{"-seed", "3", "-seeds", "10"}, "cannot be combined"},
		{"no events", []string{"-max-events", "0"}, "-max-events must be at least 1"},
		{"no events per instant", []string{"-max-events-per-instant", "-5"}, "-max-events-per-instant must be at least 1"},
		{"negative seed timeout", []string{"-seed-timeout", "-1s"}, "-seed-timeout must be 0 (no limit) or more"},
		{"argument", []string{"approval"}, "unexpected argument"},
	}
	if mutant.Enabled {
		tests = append(tests, struct {
			name string
			args []string
			want string
		}{"unknown mutant", []string{"-mutant", "nope"}, "the catalogue: " + mutant.All()[0].String()})
	} else {
		tests = append(tests, struct {
			name string
			args []string
			want string
		}{"mutant without tag", []string{"-mutant", "accept-stale-attempt"}, "this binary was built without -tags vigil_mutants"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := simrun(t, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errs, tt.want)
			assert.Contains(t, errs, "simrun -h")
		})
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	code, out, errs := simrun(t, "-h")
	require.Equal(t, exitOK, code)
	assert.Empty(t, errs)
	for _, s := range []string{"Usage:", "Examples:", "-seed 7", "-hash", "Exit status"} {
		assert.Contains(t, out, s)
	}
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	flags := regexp.MustCompile(`(?m)^  (-[a-z-]+)`).FindAllStringSubmatch(out, -1)
	require.NotEmpty(t, flags)
	for _, f := range flags {
		assert.Contains(t, string(doc), "//\t"+f[1], "doc.go documents %s", f[1])
	}
}

func TestInterruptedCampaign(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errw bytes.Buffer
	code := run(ctx, []string{"-seeds", "5", "-budget", "10s"}, &out, &errw)
	assert.Equal(t, exitInterrupted, code)
	assert.Contains(t, out.String(), "interrupted")
}

// TestCampaignOrderAndStop checks that outcomes arrive in seed order whatever the number of
// workers, and that a stop discards the later seeds and leaves no goroutine behind.
func TestCampaignOrderAndStop(t *testing.T) {
	cfg := &config{seeds: 40, first: 11, parallel: 4, budget: 10 * time.Second, liveness: time.Minute}
	var seen []uint64
	runCampaign(context.Background(), cfg, scenarios.All()[0], func(o outcome) bool {
		seen = append(seen, o.res.Seed)
		return o.res.Seed < 20
	})
	want := []uint64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	assert.Equal(t, want, seen)
}

func TestPanickingSeedIsAFailure(t *testing.T) {
	boom := sim.Scenario{Name: "boom", New: func(*sim.World) sim.Workload { panic("boom") }}
	o := runSeed(boom, sim.Options{Seed: 9})
	require.True(t, o.panicked)
	require.True(t, o.res.Failed())

	cfg := &config{budget: defaultBudget, liveness: defaultLiveness}
	var b strings.Builder
	writeReport(&b, cfg, o, true)
	assert.Contains(t, b.String(), "scenario boom seed 9: panic: boom")
	assert.Contains(t, b.String(), "reproduce: go run ./cmd/simrun -scenario boom -seed 9\n")
}

func TestReproduceCommandRepeatsFlags(t *testing.T) {
	r := &sim.Result{Scenario: "approval", Seed: 42}
	cfg := &config{budget: defaultBudget, liveness: defaultLiveness}
	assert.Equal(t, "go run ./cmd/simrun -scenario approval -seed 42", cfg.reproduceCommand(r))

	cfg = &config{budget: 90 * time.Second, liveness: time.Minute, mutant: mutant.AcceptSecondCompletion}
	assert.Equal(t, "go run -tags vigil_mutants ./cmd/simrun -scenario approval -seed 42 -mutant accept-second-completion -budget 1m30s -liveness 1m0s",
		cfg.reproduceCommand(r))

	// The event caps change what a run does; the wall-clock limit does not.
	cfg = &config{budget: defaultBudget, liveness: defaultLiveness, maxEvents: 500, maxEventsPerInstant: defaultMaxEventsPerInstant, seedTimeout: time.Second}
	assert.Equal(t, "go run ./cmd/simrun -scenario approval -seed 42 -max-events 500", cfg.reproduceCommand(r))
	cfg.maxEventsPerInstant = 7
	assert.Equal(t, "go run ./cmd/simrun -scenario approval -seed 42 -max-events 500 -max-events-per-instant 7", cfg.reproduceCommand(r))
}

// TestMutantIsCaughtAndReproduced runs only in builds with -tags vigil_mutants: a campaign with a
// planted bug fails, and its reproduce command, run again, fails the same way.
func TestMutantIsCaughtAndReproduced(t *testing.T) {
	if !mutant.Enabled {
		t.Skip("needs -tags vigil_mutants")
	}
	code, out, _ := simrun(t, "-scenario", "approval", "-seeds", "300", "-budget", "30s",
		"-max-failures", "1", "-mutant", "accept-second-completion")
	require.Equal(t, exitViolation, code, out)
	m := regexp.MustCompile(`reproduce the first: go run -tags vigil_mutants \./cmd/simrun (.*)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Contains(t, m[1], "-mutant accept-second-completion -budget 30s")

	code, trace, _ := simrun(t, strings.Fields(m[1])...)
	assert.Equal(t, exitViolation, code)
	assert.Contains(t, trace, "exactly-once")
	assert.False(t, mutant.On(mutant.AcceptSecondCompletion), "run removes the mutant when it returns")
}

// drifting's workload does one more request on every run of the process, as a workload reading
// a package variable would: the same seed gives two different runs.
var driftRuns int

type drifting struct{ w *sim.World }

func (d *drifting) Services() []*durable.Service {
	return []*durable.Service{durable.NewService("Echo").Handler("echo", durable.NewServiceHandler(
		func(_ durable.Context, s string) (string, error) { return s, nil }))}
}

func (d *drifting) Start() {
	driftRuns++
	for range driftRuns {
		d.w.HTTP("client", "POST", "/Echo/echo", []byte(`"x"`), nil, func(sim.Response) {})
	}
}

func (d *drifting) Check(*checkers.History) []checkers.Violation { return nil }

// TestTwiceCatchesNonDeterminism shows -twice failing a seed whose two runs differ.
func TestTwiceCatchesNonDeterminism(t *testing.T) {
	sc := sim.Scenario{Name: "drifting", New: func(w *sim.World) sim.Workload { return &drifting{w: w} }}
	o := runSeed(sc, sim.Options{Seed: 1})
	require.False(t, o.res.Failed())
	checkTwice(sc, sim.Options{Seed: 1}, 0, &o)
	require.True(t, o.res.Failed())
	assert.Equal(t, "determinism", o.res.Violations[0].Checker)
	assert.Contains(t, o.res.Violations[0].Message, "the same seed gave trace hash")
}

func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	code, out, errs := simrun(t, "-scenario", "approval", "-seeds", "20", "-cpuprofile", path)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	profile, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(profile), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, profile[:2], "a pprof profile is gzipped protobuf")

	code, out, errs = simrun(t, "-seeds", "1", "-cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.pprof"))
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, "-cpuprofile: open ")
}
