package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/vigilsim/vigil/sim"
)

// simrun merge folds the -json files of a campaign's shards into the summary and coverage table
// that one machine running the whole campaign would have printed, with the same code. It trusts
// no file blindly: a shard that did not finish (no summary record), a file whose seed records
// do not add up to its summary, files of runs that differ in what a run does (budgets, faults,
// event caps, a planted mutant), and two files that ran the same seed are refused with exit 2,
// since a merged verdict over them would claim a campaign that did not happen.

// mergeInput is what one -json file holds, checked.
type mergeInput struct {
	name    string
	summary summaryRecord
	// runs holds, per scenario, the seeds the file ran: always an arithmetic progression, since a
	// campaign (or its shard) runs a prefix of first+k-1, first+k-1+n, ...
	runs    map[string]*progression
	failing map[string][]seedRecord
}

// progression is the seeds start, start+step, ... (count of them).
type progression struct {
	start, step uint64
	count       int
}

func (p *progression) last() uint64 { return p.start + uint64(p.count-1)*p.step }

// add appends seed, which must continue the progression.
func (p *progression) add(seed uint64) error {
	switch {
	case p.count == 0:
		p.start = seed
	case p.count == 1 && seed > p.start:
		p.step = seed - p.start
	case p.count == 1 || seed != p.last()+p.step:
		return fmt.Errorf("seed %d out of order after seed %d", seed, p.last())
	}
	p.count++
	return nil
}

// mergeMain is 'simrun merge [flags] file...'.
func mergeMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simrun merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	junit := fs.String("junit", "", "also write the merged JUnit XML report to `file`")
	requireCoverage := fs.Bool("require-coverage", false, "exit 1 when a listed point was never reached by any shard")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "Usage: simrun merge [-junit file] [-require-coverage] shard.json...\n\n"+
				"Folds the -json outputs of a campaign's shards into one summary and one coverage table.\n"+
				"Exit status: 0 no violation, 1 a violation in some shard (or, with -require-coverage, a\n"+
				"point never reached), 2 bad usage or files that are not one campaign's shards.\n\nFlags:\n")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return exitOK
		}
		fmt.Fprintf(stderr, "simrun merge: %v\nrun 'simrun merge -h' for usage\n", err)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "simrun merge: no file given; pass the -json files of the shards\nrun 'simrun merge -h' for usage\n")
		return exitUsage
	}
	var inputs []*mergeInput
	for _, name := range fs.Args() {
		in, err := readMergeInput(name)
		if err != nil {
			fmt.Fprintf(stderr, "simrun merge: %v\n", err)
			return exitUsage
		}
		inputs = append(inputs, in)
	}
	if err := checkMergeable(inputs); err != nil {
		fmt.Fprintf(stderr, "simrun merge: %v\n", err)
		return exitUsage
	}
	return writeMerged(inputs, *junit, *requireCoverage, stdout, stderr)
}

// readMergeInput reads and checks one -json file.
func readMergeInput(name string) (*mergeInput, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := &mergeInput{name: name, runs: map[string]*progression{}, failing: map[string][]seedRecord{}}
	dec := json.NewDecoder(f)
	var done bool
	for line := 1; ; line++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: record %d: %v", name, line, err)
		}
		if done {
			return nil, fmt.Errorf("%s: record %d follows the summary record", name, line)
		}
		if done, err = in.add(raw); err != nil {
			return nil, fmt.Errorf("%s: record %d: %v", name, line, err)
		}
	}
	if !done {
		return nil, fmt.Errorf("%s: no summary record: the shard did not finish (or this is not simrun -json output)", name)
	}
	for _, sc := range in.summary.Scenarios {
		if n := progressionCount(in.runs[sc.Scenario]); n != sc.Seeds {
			return nil, fmt.Errorf("%s: %d seed records of %s, but its summary counts %d seeds", name, n, sc.Scenario, sc.Seeds)
		}
	}
	return in, in.checkShardSeeds()
}

// add takes one record and reports whether it was the summary.
func (in *mergeInput) add(raw json.RawMessage) (summary bool, err error) {
	var kind struct {
		Record string `json:"record"`
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		return false, err
	}
	switch kind.Record {
	case recordSeed:
		var rec seedRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return false, err
		}
		p := in.runs[rec.Scenario]
		if p == nil {
			p = &progression{}
			in.runs[rec.Scenario] = p
		}
		if err := p.add(rec.Seed); err != nil {
			return false, fmt.Errorf("scenario %s: %v", rec.Scenario, err)
		}
		if rec.Verdict == verdictFail {
			in.failing[rec.Scenario] = append(in.failing[rec.Scenario], rec)
		}
		return false, nil
	case recordSummary:
		if err := json.Unmarshal(raw, &in.summary); err != nil {
			return false, err
		}
		if in.summary.Format != jsonFormat {
			return false, fmt.Errorf("summary of format %d; this simrun reads format %d", in.summary.Format, jsonFormat)
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown record kind %q", kind.Record)
}

func progressionCount(p *progression) int {
	if p == nil {
		return 0
	}
	return p.count
}

// checkShardSeeds checks that the seeds of each scenario are the ones the summary's shard runs:
// first+k-1, then every n-th.
func (in *mergeInput) checkShardSeeds() error {
	var sh shard
	if in.summary.Run.Shard != "" {
		if err := sh.Set(in.summary.Run.Shard); err != nil {
			return fmt.Errorf("%s: shard %q: %v", in.name, in.summary.Run.Shard, err)
		}
	}
	sh = sh.of()
	for name, p := range in.runs {
		if p.count == 0 {
			continue
		}
		start := in.summary.Run.First + uint64(sh.k-1)
		if p.start != start || (p.count > 1 && p.step != uint64(sh.n)) {
			return fmt.Errorf("%s: scenario %s ran seeds %d, %d, ..., not those of shard %s from seed %d",
				in.name, name, p.start, p.start+p.step, &sh, in.summary.Run.First)
		}
	}
	return nil
}

// checkMergeable refuses files of different runs and files that ran the same seed.
func checkMergeable(inputs []*mergeInput) error {
	for _, in := range inputs[1:] {
		if a, b := inputs[0].summary.Run.Params, in.summary.Run.Params; a != b {
			return fmt.Errorf("%s and %s are not one campaign: their runs differ (%+v, %+v)", inputs[0].name, in.name, a, b)
		}
	}
	for i, a := range inputs {
		for _, b := range inputs[i+1:] {
			// Sorted, so that the error names the same seed every time.
			for _, name := range slices.Sorted(maps.Keys(a.runs)) {
				if pb := b.runs[name]; pb != nil {
					if seed, ok := overlap(a.runs[name], pb); ok {
						return fmt.Errorf("%s and %s both ran seed %d of %s: the shards overlap (the same shard twice?)", a.name, b.name, seed, name)
					}
				}
			}
		}
	}
	return nil
}

// overlap returns a seed both progressions hold, if there is one.
func overlap(a, b *progression) (uint64, bool) {
	if a.count == 0 || b.count == 0 {
		return 0, false
	}
	lo, hi := max(a.start, b.start), min(a.last(), b.last())
	if lo > hi {
		return 0, false
	}
	if a.step == b.step || a.count == 1 || b.count == 1 {
		// lo belongs to the progression it starts (or is the only seed of one); it is in both
		// when the other holds it.
		for _, s := range []uint64{lo, hi} {
			if holds(a, s) && holds(b, s) {
				return s, true
			}
		}
		return 0, false
	}
	// Shards of different counts: walk the shorter through the common range.
	if a.count > b.count {
		a, b = b, a
	}
	for s := a.start; s <= hi; s += a.step {
		if s >= lo && holds(b, s) {
			return s, true
		}
	}
	return 0, false
}

func holds(p *progression, s uint64) bool {
	if s < p.start || s > p.last() {
		return false
	}
	return p.count == 1 || (s-p.start)%p.step == 0
}

// merged is the fold of every input: the figures one unsharded campaign would have summed.
type merged struct {
	all         []*stats // in the order the scenarios first appear
	failing     map[string][]seedRecord
	interrupted bool
	seeds       int
}

// fold sums the inputs' scenario rows and coverage, and lists each scenario's failing seeds in
// seed order, with the command that reproduces the first, as a campaign's summary does.
func fold(inputs []*mergeInput) merged {
	var all []*stats
	byName := map[string]*stats{}
	failing := map[string][]seedRecord{}
	interrupted := false
	seeds := 0
	for _, in := range inputs {
		interrupted = interrupted || in.summary.Interrupted
		cov := coverageOf(in.summary)
		for _, row := range in.summary.Scenarios {
			st := byName[row.Scenario]
			if st == nil {
				st = &stats{name: row.Scenario}
				byName[row.Scenario] = st
				all = append(all, st)
			}
			part := row.stats()
			part.coverage = cov[row.Scenario]
			st.merge(part)
			st.cutShort = st.cutShort || row.CutShort
			seeds += row.Seeds
			failing[row.Scenario] = append(failing[row.Scenario], in.failing[row.Scenario]...)
		}
	}
	for _, st := range all {
		recs := failing[st.name]
		slices.SortFunc(recs, func(a, b seedRecord) int { return cmp.Compare(a.Seed, b.Seed) })
		for _, rec := range recs {
			st.failedSeeds = append(st.failedSeeds, rec.Seed)
		}
		if len(recs) > 0 {
			st.firstRepro = recs[0].Reproduce
		}
	}
	return merged{all: all, failing: failing, interrupted: interrupted, seeds: seeds}
}

// writeMerged prints the merged summary and coverage table, writes the JUnit file if asked, and
// returns the exit status.
func writeMerged(inputs []*mergeInput, junit string, requireCoverage bool, stdout, stderr io.Writer) int {
	m := fold(inputs)
	all, failing, interrupted, seeds := m.all, m.failing, m.interrupted, m.seeds

	fmt.Fprintf(stdout, "simrun merge: %d files, %d seeds%s\n", len(inputs), seeds, shardsNote(inputs))
	total := writeSummary(stdout, all, interrupted)
	missing := writeCoverage(stdout, all, total)
	if junit != "" {
		var rows []scenarioRecord
		for _, st := range all {
			rows = append(rows, newScenarioRecord(st))
		}
		if err := writeJUnitFile(junit, junitSuites(rows, failing)); err != nil {
			fmt.Fprintf(stderr, "simrun merge: -junit: %v\n", err)
			if total.Failed == 0 {
				return exitUsage
			}
		}
	}
	switch {
	case total.Failed > 0:
		return exitViolation
	case requireCoverage && len(missing) > 0:
		fmt.Fprintf(stdout, "\nfail: %d listed point(s) never reached: %s\n", len(missing), strings.Join(missing, ", "))
		return exitViolation
	}
	return exitOK
}

// coverageOf turns a summary's coverage table back into per-scenario counts.
func coverageOf(s summaryRecord) map[string]map[sim.Point]uint64 {
	cov := map[string]map[sim.Point]uint64{}
	for _, row := range s.Coverage {
		for name, n := range row.Counts {
			if n == 0 {
				continue
			}
			if cov[name] == nil {
				cov[name] = map[sim.Point]uint64{}
			}
			cov[name][row.Point] = n
		}
	}
	return cov
}

// shardsNote says which shards the files are, and which of a complete set are missing, when
// every file is a shard of the same number of shards.
func shardsNote(inputs []*mergeInput) string {
	n := 0
	have := map[int]bool{}
	for _, in := range inputs {
		var sh shard
		if in.summary.Run.Shard == "" || sh.Set(in.summary.Run.Shard) != nil || (n != 0 && sh.n != n) {
			return ""
		}
		n = sh.n
		have[sh.k] = true
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if !have[k] {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	if len(missing) == 0 {
		return fmt.Sprintf(", shards 1..%d of %d: the whole campaign", n, n)
	}
	return fmt.Sprintf(", %d of %d shards; missing: %s", len(have), n, strings.Join(missing, " "))
}
