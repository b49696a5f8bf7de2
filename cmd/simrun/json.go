package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vigilsim/vigil/sim"
)

// The -json format: one JSON object per line, every seed's record in the order the campaign
// reported it (scenario after scenario, each in seed order), then one summary record. Lines
// rather than one document, so that a shard killed halfway still leaves every finished seed
// readable, and so that tools like jq can filter failing seeds as the campaign runs. Everything
// but the wall times is a function of the command line, so two runs of the same shard print
// the same records apart from those.

// jsonFormat versions the summary record; merge refuses files of another version.
const jsonFormat = 1

// Record kinds, the "record" field of every line.
const (
	recordSeed    = "seed"
	recordSummary = "summary"
)

// Verdicts of a seed.
const (
	verdictPass = "pass"
	verdictFail = "fail"
)

// seedRecord is what one seed did.
type seedRecord struct {
	Record      string            `json:"record"`
	Scenario    string            `json:"scenario"`
	Seed        uint64            `json:"seed"`
	Verdict     string            `json:"verdict"`
	Violations  []violationRecord `json:"violations"`
	Events      uint64            `json:"events"`
	Invocations int               `json:"invocations"`
	VirtualNS   int64             `json:"virtual_ns"`
	TraceHash   string            `json:"trace_hash"` // 16 hex digits, as -hash prints it
	WallNS      int64             `json:"wall_ns"`
	// Reproduce is the command that replays the seed, on failing seeds only.
	Reproduce string `json:"reproduce,omitempty"`
}

type violationRecord struct {
	Checker    string `json:"checker"`
	Invocation string `json:"invocation,omitempty"`
	Message    string `json:"message"`
	Events     []int  `json:"events,omitempty"`
}

// summaryRecord closes a -json file: the run's parameters, each scenario's figures and the total,
// and the coverage table.
type summaryRecord struct {
	Record string    `json:"record"`
	Format int       `json:"format"`
	Run    runRecord `json:"run"`
	// Scenarios are in the order they ran; Total sums them.
	Scenarios   []scenarioRecord `json:"scenarios"`
	Total       scenarioRecord   `json:"total"`
	Coverage    []coverageRecord `json:"coverage"`
	Interrupted bool             `json:"interrupted,omitempty"`
	Verdict     string           `json:"verdict"`
}

// runRecord is the command line of the campaign as far as it decides which runs were made.
type runRecord struct {
	First uint64 `json:"first"`
	// Seeds is -seeds, the unsharded campaign's size; 0 when a time box alone bounded it.
	Seeds    int    `json:"seeds"`
	Shard    string `json:"shard,omitempty"`
	Duration string `json:"duration,omitempty"`
	// The parameters below change what each run does; merge refuses to fold files that differ in
	// them, since their figures and coverage would not describe one campaign.
	Params runParams `json:"params"`
}

type runParams struct {
	Budget              string `json:"budget"`
	Liveness            string `json:"liveness"`
	Faults              string `json:"faults"`
	Mutant              string `json:"mutant,omitempty"`
	MaxEvents           int    `json:"max_events"`
	MaxEventsPerInstant int    `json:"max_events_per_instant"`
}

// scenarioRecord is one row of the summary table.
type scenarioRecord struct {
	Scenario    string `json:"scenario"`
	Seeds       int    `json:"seeds"`
	Failed      int    `json:"failed"`
	Events      uint64 `json:"events"`
	Invocations int    `json:"invocations"`
	Violations  int    `json:"violations"`
	VirtualNS   int64  `json:"virtual_ns"`
	WallNS      int64  `json:"wall_ns"`
	// CutShort is set when -max-failures stopped the scenario's campaign, TimedOut when its share
	// of the time box did.
	CutShort bool `json:"cut_short,omitempty"`
	TimedOut bool `json:"timed_out,omitempty"`
}

// coverageRecord is one row of the coverage table: how often each scenario reached the point.
type coverageRecord struct {
	Point       string            `json:"point"`
	Required    bool              `json:"required"`
	Description string            `json:"description"`
	Counts      map[string]uint64 `json:"counts"`
	Total       uint64            `json:"total"`
}

// newSeedRecord describes one outcome.
func newSeedRecord(o outcome, repro string) seedRecord {
	r := o.res
	rec := seedRecord{
		Record: recordSeed, Scenario: r.Scenario, Seed: r.Seed, Verdict: verdictPass,
		Violations: []violationRecord{}, Events: r.Events, Invocations: r.Invocations,
		VirtualNS: int64(r.Virtual), TraceHash: fmt.Sprintf("%016x", r.TraceHash), WallNS: int64(o.wall),
	}
	for _, v := range r.Violations {
		vr := violationRecord{Checker: v.Checker, Message: v.Message, Events: v.Events}
		if !v.Invocation.IsZero() {
			vr.Invocation = v.Invocation.String()
		}
		rec.Violations = append(rec.Violations, vr)
	}
	if r.Failed() {
		rec.Verdict = verdictFail
		rec.Reproduce = repro
	}
	return rec
}

func (c *config) runRecord() runRecord {
	rr := runRecord{First: c.first, Seeds: c.seeds, Shard: c.ci.shard.String(), Params: runParams{
		Budget: c.budget.String(), Liveness: c.liveness.String(), Faults: c.faults.String(),
		MaxEvents: c.maxEvents, MaxEventsPerInstant: c.maxEventsPerInstant,
	}}
	if c.ci.unbounded {
		rr.Seeds = 0
	}
	if c.ci.duration > 0 {
		rr.Duration = c.ci.duration.String()
	}
	if c.mutant != 0 {
		rr.Params.Mutant = c.mutant.String()
	}
	// A config built in a test may leave the caps at 0, which the simulator reads as its
	// defaults; the record names what the runs used.
	if isDefault(rr.Params.MaxEvents, defaultMaxEvents) {
		rr.Params.MaxEvents = defaultMaxEvents
	}
	if isDefault(rr.Params.MaxEventsPerInstant, defaultMaxEventsPerInstant) {
		rr.Params.MaxEventsPerInstant = defaultMaxEventsPerInstant
	}
	return rr
}

func newScenarioRecord(st *stats) scenarioRecord {
	return scenarioRecord{
		Scenario: st.name, Seeds: st.Seeds, Failed: st.Failed, Events: st.Events, Invocations: st.Invocations,
		Violations: st.violations, VirtualNS: int64(st.Virtual), WallNS: int64(st.wall), CutShort: st.cutShort,
	}
}

// stats is the inverse of newScenarioRecord, for merge.
func (r scenarioRecord) stats() *stats {
	return &stats{name: r.Scenario, CampaignStats: sim.CampaignStats{
		Seeds: r.Seeds, Failed: r.Failed, Events: r.Events, Invocations: r.Invocations, Virtual: time.Duration(r.VirtualNS),
	}, violations: r.Violations, wall: time.Duration(r.WallNS), cutShort: r.CutShort}
}

// coverageRecords is the coverage table of the scenarios' campaigns.
func coverageRecords(all []*stats, total *stats) []coverageRecord {
	var rows []coverageRecord
	for _, p := range sim.Points() {
		row := coverageRecord{Point: p.Name, Required: p.Required, Description: p.Description,
			Counts: map[string]uint64{}, Total: total.coverage[p.Name]}
		for _, st := range all {
			row.Counts[st.name] = st.coverage[p.Name]
		}
		rows = append(rows, row)
	}
	return rows
}

// ciReport writes what -json and -junit ask for as a campaign goes. Without either it does
// nothing, so a plain campaign's output stays what it was.
type ciReport struct {
	cfg *config
	out *bufio.Writer // stdout, for -json
	// failing keeps every failing seed's record per scenario, for the JUnit report.
	failing  map[string][]seedRecord
	timedOut map[string]bool
}

func newCIReport(cfg *config, out *bufio.Writer) *ciReport {
	return &ciReport{cfg: cfg, out: out, failing: map[string][]seedRecord{}, timedOut: map[string]bool{}}
}

// seed records one finished seed, in the order the campaign reports them.
func (r *ciReport) seed(o outcome, repro string) {
	if !r.cfg.ci.json && (r.cfg.ci.junit == "" || !o.res.Failed()) {
		return
	}
	rec := newSeedRecord(o, repro)
	if r.cfg.ci.json {
		writeJSONLine(r.out, rec)
	}
	if rec.Verdict == verdictFail && r.cfg.ci.junit != "" {
		r.failing[rec.Scenario] = append(r.failing[rec.Scenario], rec)
	}
}

// scenarioTimedOut notes that the time box, not the seed count, ended a scenario's campaign.
func (r *ciReport) scenarioTimedOut(name string) { r.timedOut[name] = true }

// finish writes the summary record and the JUnit file, and returns exitUsage when the JUnit file
// cannot be written (a bad path, as a bad flag value would be), else exitOK: a CI job that reads
// the file must not pass on a report that is not there.
func (r *ciReport) finish(all []*stats, total *stats, interrupted bool, stderr io.Writer) int {
	sum := summaryRecord{Record: recordSummary, Format: jsonFormat, Run: r.cfg.runRecord(),
		Total: newScenarioRecord(total), Coverage: coverageRecords(all, total),
		Interrupted: interrupted, Verdict: verdictPass}
	for _, st := range all {
		sr := newScenarioRecord(st)
		sr.TimedOut = r.timedOut[st.name]
		sum.Scenarios = append(sum.Scenarios, sr)
	}
	if total.Failed > 0 {
		sum.Verdict = verdictFail
	}
	if r.cfg.ci.json {
		writeJSONLine(r.out, sum)
	}
	if r.cfg.ci.junit == "" {
		return exitOK
	}
	if err := writeJUnitFile(r.cfg.ci.junit, junitSuites(sum.Scenarios, r.failing)); err != nil {
		fmt.Fprintf(stderr, "simrun: -junit: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeJSONLine writes v as one line. The records are plain structs, so an error is a bug.
func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("simrun: a -json record does not encode: %v", err))
	}
	w.Write(append(b, '\n'))
}

// writeJUnitFile writes the suites to path, replacing it.
func writeJUnitFile(path string, suites junitTestSuites) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeJUnit(f, suites); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
