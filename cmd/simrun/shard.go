package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// The flags of campaigns that outgrow one machine live here: -json and -junit for CI systems,
// -duration for a campaign bounded by the wall time a CI job has rather than by a seed count,
// and -shard to split one campaign between machines. Merging the shards' -json files is
// merge.go's.

// ciFlags are the parsed values of those flags.
type ciFlags struct {
	json     bool
	junit    string
	duration time.Duration
	shard    shard
	// unbounded is set when -duration is given without -seeds: the time box alone ends the
	// campaign, since a default seed count would end a long time box after a few seconds.
	unbounded bool
}

// shard is one of n disjoint slices of a campaign (-shard k/n): the seeds first+i, for i in
// 0 .. seeds-1, with i%n == k-1. Seeds are dealt round robin rather than in n contiguous blocks
// so that every shard runs the same mix of early and late seeds: a time-boxed or interrupted
// shard then stops at about the same place as its siblings, and n shards together are exactly
// the unsharded campaign. The zero value is no sharding, the same as 1/1.
type shard struct{ k, n int }

func (s *shard) String() string {
	if s == nil || s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.k, s.n)
}

// Set parses k/n; the flag package turns its error into a usage error that quotes the value.
func (s *shard) Set(v string) error {
	ks, ns, ok := strings.Cut(v, "/")
	k, errK := strconv.Atoi(strings.TrimSpace(ks))
	n, errN := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case !ok || errK != nil || errN != nil:
		return fmt.Errorf("want k/n, shard k of n (as in 3/8)")
	case n < 1:
		return fmt.Errorf("n, the number of shards, must be at least 1")
	case k < 1 || k > n:
		return fmt.Errorf("k must be between 1 and %d (shards are numbered from 1)", n)
	}
	*s = shard{k: k, n: n}
	return nil
}

// of returns s with the zero value read as 1/1.
func (s shard) of() shard {
	if s.n == 0 {
		return shard{k: 1, n: 1}
	}
	return s
}

// addCIFlags declares the flags of this file on fs.
func addCIFlags(fs *flag.FlagSet, ci *ciFlags) {
	fs.BoolVar(&ci.json, "json", false, "print one JSON record per seed on stdout (scenario, seed, verdict, violations, events,\n"+
		"trace hash, wall time), then a summary record with the totals and the coverage table;\n"+
		"reports and the summary table go to stderr ('simrun merge' folds shards' files)")
	fs.StringVar(&ci.junit, "junit", "", "write a JUnit XML report to `file`: a testsuite per scenario, a failing testcase per\n"+
		"failing seed with its violations and reproduce command, a passing one with the seed count")
	fs.DurationVar(&ci.duration, "duration", 0, "time-box the campaign: run seeds in order until `d` of wall time has passed, then\n"+
		"report; each scenario gets an equal share of the time left; -seeds, if given, caps the seeds")
	fs.Var(&ci.shard, "shard", "run shard `k/n` of the campaign: the seeds first+i with i%n == k-1, so that n machines\n"+
		"running shards 1/n .. n/n cover exactly the unsharded campaign")
}

// checkCIFlags refuses combinations that make no sense; set holds the flags given.
func checkCIFlags(cfg *config, set map[string]bool) error {
	for _, name := range []string{"json", "junit", "duration", "shard"} {
		if set[name] && (cfg.reproduce || cfg.bench || cfg.mutants) {
			return usagef("-%s applies to campaigns; it cannot be combined with -seed, -bench or -mutants", name)
		}
	}
	ci := &cfg.ci
	switch {
	case ci.json && cfg.hash:
		return usagef("-json and -hash both claim stdout; use one of them")
	case set["junit"] && ci.junit == "":
		return usagef("-junit needs a file name")
	case set["duration"] && ci.duration <= 0:
		return usagef("-duration must be positive, got %s", ci.duration)
	}
	ci.unbounded = set["duration"] && !set["seeds"]
	if cfg.campaignSeeds() == 0 {
		return usagef("-shard %s gets no seed of a campaign of -seeds %d; shard k needs at least k seeds", &ci.shard, cfg.seeds)
	}
	return nil
}

// campaignSeeds is how many seeds each scenario's campaign runs at most: -seeds, or this shard's
// share of them, the number of i in 0 .. seeds-1 with i%n == k-1.
func (c *config) campaignSeeds() int {
	s := c.ci.shard.of()
	if c.ci.unbounded {
		return math.MaxInt
	}
	if c.seeds < s.k {
		return 0
	}
	return (c.seeds-s.k)/s.n + 1
}

// seedAt is the seed of the j-th run of each scenario's campaign, j from 0.
func (c *config) seedAt(j int) uint64 {
	s := c.ci.shard.of()
	return c.first + uint64(s.k-1) + uint64(j)*uint64(s.n)
}

// campaignNote describes sharding and the time box for the campaign's header; it is empty
// without them, so that a plain campaign prints the header it always did.
func (c *config) campaignNote() string {
	var s string
	if c.ci.shard.n > 0 {
		sh := c.ci.shard
		s += fmt.Sprintf(", shard %s (%d seeds per scenario: %d, %d, ...)", &sh, c.campaignSeeds(), c.seedAt(0), c.seedAt(1))
	}
	if c.ci.duration > 0 {
		s += fmt.Sprintf(", time box %s", c.ci.duration)
	}
	return s
}

// timeBox shares a -duration between the scenarios: each gets the time left divided by the
// scenarios left, so that one that runs out of seeds early leaves its time to the next.
type timeBox struct {
	end time.Time // zero without -duration
}

func newTimeBox(d time.Duration, now time.Time) timeBox {
	if d <= 0 {
		return timeBox{}
	}
	return timeBox{end: now.Add(d)}
}

// scenario returns the context the next scenario's campaign runs under, given the scenarios
// left including it: ctx itself without a time box, else ctx with the scenario's deadline.
func (b timeBox) scenario(ctx context.Context, left int, now time.Time) (context.Context, context.CancelFunc) {
	if b.end.IsZero() {
		return ctx, func() {}
	}
	share := b.end.Sub(now) / time.Duration(max(left, 1))
	return context.WithDeadline(ctx, now.Add(share))
}

// progressTotal is the number of seeds the progress line counts toward, 0 when only the time box
// bounds the campaign.
func progressTotal(cfg *config) int {
	if cfg.ci.unbounded {
		return 0
	}
	return len(cfg.scenarios) * cfg.campaignSeeds()
}

// writeTimeBox says, after the summary of a campaign the time box ended, which seeds each
// scenario ran: the next campaign can go on from there with -first.
func writeTimeBox(w io.Writer, cfg *config, all []*stats, ci *ciReport) {
	if cfg.ci.duration <= 0 {
		return
	}
	var parts []string
	for _, st := range all {
		switch {
		case st.Seeds == 0:
			parts = append(parts, st.name+" none")
		case ci.timedOut[st.name]:
			parts = append(parts, fmt.Sprintf("%s %d..%d", st.name, cfg.seedAt(0), cfg.seedAt(st.Seeds-1)))
		}
	}
	if len(parts) == 0 {
		fmt.Fprintf(w, "time box %s: every scenario ran all its seeds\n", cfg.ci.duration)
		return
	}
	fmt.Fprintf(w, "time box %s reached; seeds run: %s\n", cfg.ci.duration, strings.Join(parts, ", "))
}
