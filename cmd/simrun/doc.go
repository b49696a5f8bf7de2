// Simrun is the command line of Vigil's deterministic simulator. It runs campaigns — every
// scenario over many seeds, each seed one single-threaded run of the real runtime on virtual time
// under its own fault plan, judged by the property checkers — and reproduces a single seed with
// its full trace. A failure is a seed, and the seed reproduces it bit for bit.
//
// Usage:
//
//	go run ./cmd/simrun [flags]
//
// Examples:
//
//	go run ./cmd/simrun                                   # every scenario x 1000 seeds
//	go run ./cmd/simrun -scenario approval -seeds 10000   # a longer campaign of one scenario
//	go run ./cmd/simrun -scenario approval -seed 7        # reproduce one seed: plan, trace, verdict, hash
//	go run ./cmd/simrun -scenario approval -seed 7 -shrink  # minimise a failing seed's choice tape
//	go run ./cmd/simrun -tape approval-7.tape            # replay a choice tape bit for bit
//	go run ./cmd/simrun -seeds 200 -hash > a.txt          # trace hashes, to diff across processes
//	go run -tags vigil_mutants ./cmd/simrun -mutant accept-second-completion
//	go run ./cmd/simrun -shard 3/8 -seeds 80000 -json > shard3.json   # one of 8 machines' share
//	go run ./cmd/simrun merge shard*.json                 # one summary and coverage table of the shards
//	go run ./cmd/simrun -duration 10m -json -junit report.xml          # a time-boxed CI campaign
//
// # Campaigns
//
// Without -seed, simrun runs a campaign: for each selected scenario, in the order of
// scenarios.All, -seeds seeds starting at -first. Seeds run on -parallel worker goroutines;
// each world is single-threaded and deterministic by itself, and results are reported in seed
// order, so the output does not depend on the number of workers apart from timing figures.
//
// While it runs, a progress line on stderr shows the seeds done of the total, the failures, the
// events, events/s, seeds/s and the estimated time left: rewritten in place when stderr is a
// terminal, otherwise a new line every 2 s or every 10% of the seeds. Each failing seed prints
// its report as soon as it is known (in seed order): the fault plan, every violation and the
// command that reproduces it. At the end a table sums up
// each scenario and the total: seeds, failed seeds, events, invocations, violations, events/s,
// seeds/s, virtual time simulated, virtual-to-wall ratio and wall time; then the verdict, with
// the failing seeds and the command that reproduces the first failure of each scenario.
//
// The reproduce command repeats every flag that changes what a run does: -faults, -budget, -liveness,
// -max-events and -max-events-per-instant when they differ from their defaults, and -mutant
// together with -tags vigil_mutants.
//
// Every run is bounded, so that a livelock fails its seed instead of hanging the campaign: by its
// virtual budgets, by a cap on its events (-max-events) and on the events at one virtual instant
// (-max-events-per-instant), and by a wall-clock limit per seed (-seed-timeout). A seed that hits
// one fails with a "bound" violation that names the bound, its value, the virtual time, the
// phase (safety, heal, liveness or judging) and the last events run. The event caps are part of
// the seed's run: the same seed hits the same cap at the same event, with the same trace hash.
// The wall-clock limit is not: the simulator never reads the clock; simrun asks it to stop
// between events once the limit has passed, and such a run neither reproduces nor counts as a
// determinism failure under -twice. A run stuck inside one event (an infinite loop in a handler,
// the runtime or a checker) cannot be stopped at all, since Go cannot kill a goroutine: after a
// grace of up to a second simrun fails the seed with a verdict that says where the run was
// stuck, abandons its goroutine still running, and goes on with the campaign, which then exits
// 1 like any campaign with a failing seed.
//
// A panic of the runtime or the simulator in one seed does not end the campaign: the seed counts
// as failed, with a "panic" violation, and -v or -seed prints the stack.
//
// Interrupting simrun (Ctrl-C) stops the campaign after the seeds in flight and prints the summary
// of the seeds finished so far; a second Ctrl-C kills it.
//
// # Campaigns across machines
//
// -shard k/n runs shard k of n of the campaign that the other flags describe: of the seeds
// first .. first+seeds-1 it runs first+i for each i with i%n == k-1, so n machines running
// shards 1/n .. n/n run every seed of the unsharded campaign exactly once, each seed the same
// run (the same trace hash) as there. With -json, each machine writes its records to a file;
// 'simrun merge FILE...' reads the files and prints the summary and coverage table the unsharded
// campaign would have printed (wall time is summed over the machines), the failing seeds of
// every shard in seed order, and which shards of n are missing. It exits 1 when a shard had a
// violation (or, with -require-coverage, a listed point was never reached), and 2 when the files
// are not shards of one campaign: a shard that did not finish (no summary record), records that
// do not add up to their summary, runs that differ in budgets, faults, event caps or mutant, or
// two files that ran the same seed. 'simrun merge -junit FILE' writes the merged JUnit report.
//
// -duration d time-boxes a campaign: seeds run in order until d of wall time has passed, each
// scenario getting the time left divided by the scenarios left, then the campaign reports as
// usual and says which seeds each scenario ran (the next campaign can start there with -first).
// Without -seeds there is no seed limit; with it, -seeds caps the campaign.
//
// The -json format is one JSON object per line. Each seed's record, in the order the campaign
// reports them: {"record":"seed", "scenario", "seed", "verdict":"pass"|"fail", "violations":
// [{"checker", "invocation", "message", "events"}], "events", "invocations", "virtual_ns",
// "trace_hash" (16 hex digits), "wall_ns", "reproduce" (failing seeds only)}. Then one summary
// record: {"record":"summary", "format":1, "run":{"first", "seeds" (0 when only a time box
// bounded the campaign), "shard", "duration", "params":{"budget", "liveness", "faults", "mutant",
// "max_events", "max_events_per_instant"}}, "scenarios":[{"scenario", "seeds", "failed",
// "events", "invocations", "violations", "virtual_ns", "wall_ns", "cut_short", "timed_out"}],
// "total", "coverage":[{"point", "required", "description", "counts":{scenario: n}, "total"}],
// "interrupted", "verdict"}. Apart from the wall times, the records are a function of the
// command line.
//
// # Reproducing a seed
//
// With -seed, simrun runs that one seed (of every scenario, unless -scenario selects some) with
// the full history kept, and prints the scenario, the seed, the budgets, the fault plan, every
// event of the trace (one per line), the run's figures, the violations report with the events
// around each violation and the reproduce command, and the trace hash.
//
// # Choice tapes and shrinking
//
// Every draw of a run (a fault's rate, a delay, a crash point, a client's action) can be recorded
// on a choice tape, in order, with its label and bound (sim.Tape): a text file with a header
// (scenario, seed, the flags that change a run) and a line per draw, "value bound label".
// -seed S -tape-out FILE writes the tape of that run; -tape FILE replays it bit for bit, with the
// same trace hash, taking the scenario, the seed and the flags from the tape (flags given on the
// command line override them). A tape can be edited and still replayed: a draw past its end reads
// as zero, a value not below its bound wraps around, and a zero draw means "off" everywhere (a
// fault kind off, a Percent that does not fire, no extra client, the shortest delay): a Percent
// draw is stored flipped on the tape so that zero is its "does not fire"; the seeded run draws
// as before.
//
// -seed S -shrink, when the seed fails, records its tape and minimises it greedily while a run
// from it still breaks the same property (the checker of its first violation): it cuts the tape's
// tail (the shortest failing prefix), zeroes the first draws (the fault plan, the workload's
// shape) one by one and then chunks of the rest, halving the chunk size, and repeats while a pass
// helps; then it lowers each draw still non-zero (a bound, a delay, a count of clients or steps):
// it tries 1, then bisects toward the least value that still fails, at most 8 runs a draw; if
// that lowered anything, the zeroing passes run once more. A candidate is kept when its run has
// no more events than the best's and its tape is simpler: fewer non-zero draws, then fewer
// draws, then a lower value where it first differs.
// At most 500 runs and 2 minutes, each run capped at twice the seed's events (plus 1000). It
// writes the smallest failing tape to -tape-out (default ./<scenario>-<seed>.tape) and prints
// the sizes before and after (draws, non-zero draws, weight: the sum of the values each as a
// fraction of its bound, events, fault kinds on), the shrunk run's plan and violation, and the
// command that replays it. A seed that passes has nothing to shrink (exit 0). Rapid's own
// shrinking (sim.Check under go test) is unchanged.
//
// # Failure artifacts
//
// With -artifacts dir, a campaign or a -seed run writes, for every failing seed, the directory
// dir/<scenario>-<seed> (and prints its path under the seed's report) with three files:
//
//   - summary.txt: the scenario, the seed, the commit (vcs.revision of the binary's build info,
//     "+dirty" when the work tree had changes, "unknown" when the build carries none, as under
//     go run and go test), the fault plan, the run's figures and trace hash, the reproduce
//     command, how to shrink the run, and every violation with its property, invocation,
//     message and the events that show it;
//   - trace.json: the history in the Chrome trace-event format, to open in ui.perfetto.dev or
//     chrome://tracing: a track per node (runtime, executor, each client) and per invocation
//     (more lanes where attempts overlap), attempts and client requests as slices from start to
//     end, journal commands, observed values, deliveries, timers and the replay twin's events as
//     instants on the invocation's track, crashes, restarts, pauses and clock steps as instants
//     on the node's track (a crash across every track), each violation as an instant; timestamps
//     are virtual microseconds since the run started;
//   - report.html: one self-contained page (no network): the violated properties with their
//     events highlighted, the engine's wait-for graph of a liveness failure, a timeline per
//     invocation with its attempts and its journal, the faults, and the full trace; when the
//     promise checker failed, porcupine's linearizability drawing of each promise concerned
//     (rebuilt from the history), embedded, and also written beside the page as
//     linearizability-<service>-<key>-<promise>-<epoch>.html.
//
// The files are a function of the run (and the commit): the same seed writes the same bytes. A
// seed that panicked or was abandoned has no history; its files carry the verdict, and the
// summary the stack. Writing them never changes the exit status or the rest of the output.
//
// # Flags
//
//	-scenario name[,name...]
//		Run only these scenarios (default: all). An unknown name is an error that lists the
//		known scenarios.
//	-seeds n
//		Seeds to run per scenario (default 1000).
//	-first seed
//		The first seed of a campaign (default 1); the campaign covers first .. first+seeds-1.
//	-seed seed
//		Reproduce one run of this seed, as described above. It cannot be combined with -seeds
//		or -first.
//	-v
//		Verbose: print every failing seed's full report, with the events around each violation
//		(or the stack of a panic). A -seed run is always verbose.
//	-artifacts dir
//		Write the artifacts of every failing seed under dir, one directory <scenario>-<seed>
//		each (summary.txt, trace.json, report.html), as described above.
//	-parallel n
//		Worker goroutines running independent seeds (default, or 0: GOMAXPROCS).
//	-budget duration
//		Virtual duration of the safety phase, during which faults are injected (default 60s).
//	-liveness duration
//		Virtual duration after healing within which every invocation must finish (default 10m).
//	-faults level
//		Fault intensity of every run's plan: none (no faults but a small fixed message delay),
//		light (crashes of both nodes, reordering delays, slow syncs and suspension at any await;
//		no lost or duplicated messages, no pauses, no clock faults, no fault points inside the
//		runtime) or default (the full swarm; the plans and trace hashes simrun always drew). The
//		reproduce command repeats a level other than default.
//	-max-failures n
//		Stop a scenario's campaign after n failing seeds (default 5; 0 means no limit). The
//		campaign stops at the n-th failing seed in seed order, whatever the number of workers.
//	-max-events n
//		Cap on the events of one run (default 1000000); a run that reaches it fails with a
//		"bound" violation. Healthy seeds stay far below: the largest of seeds 1..3000 of every
//		scenario had 6326 events with the default budgets. Events grow with -budget.
//	-max-events-per-instant n
//		Cap on the events run at one virtual instant (default 100000); a run that reaches it, a
//		livelock that never lets virtual time advance, fails with a "bound" violation. The
//		busiest instant of seeds 1..3000 of every scenario had 1727 events.
//	-seed-timeout d
//		Wall-clock limit of one seed (default 60s; 0 means no limit); a seed that exceeds it
//		fails with a "bound" violation, as described above, and the campaign goes on. It applies
//		to campaigns, -seed, -twice and -mutants, not to -bench.
//	-hash
//		Print only one line per seed on stdout, "scenario seed tracehash" (the hash in 16 hex
//		digits), in seed order; reports, the progress line and the summary go to stderr. Two
//		processes that run the same seeds must print the same lines: this is the determinism
//		check across processes, GOMAXPROCS values and -parallel values. With -seed, it prints the
//		one hash line instead of the trace.
//	-twice
//		Run every seed of the campaign twice in this process and report a "determinism"
//		violation when the two trace hashes differ (with -hash across processes and
//		GOMAXPROCS=1, the determinism audit).
//	-bench
//		Benchmark report instead of a campaign: per scenario, invocations/s, client requests/s,
//		events/s, seeds/s, the virtual-to-wall ratio, bytes and allocations per simulated
//		invocation (one worker); in mutant builds also each mutant's seeds to detection, median
//		and max over 10 hunts. Like a campaign it runs with the collector target GOGC=400
//		unless GOGC is set in the environment, and says which in its header.
//	-mutants
//		Plant every mutant of the runtime/mutant catalogue in turn; for each, run the campaign
//		(every selected scenario for each seed in order) until a seed breaks a property or -seeds
//		seeds ran, and print a table: caught or escaped, seeds until the first detection, runs,
//		wall time, the checkers that caught it, and the scenario and seed that reproduce it. Exit
//		1 if any mutant escaped. Needs -tags vigil_mutants.
//	-coverage
//		Print the reachability table after the summary: for every listed point of the runtime
//		(engine, executor) and of the simulator's faults, how often each scenario's campaign
//		reached it; points never reached are marked with what they mean.
//	-require-coverage
//		Like -coverage, and exit 1 when a listed point was never reached.
//	-json
//		Print one JSON record per seed on stdout, then a summary record, in the format described
//		above; the failing seeds' reports, the summary table and the coverage table go to stderr.
//		It cannot be combined with -hash, which also claims stdout.
//	-junit file
//		Write a JUnit XML report to file when the campaign ends: a testsuite per scenario, a
//		failing testcase "seed N" per failing seed whose text holds its violations and reproduce
//		command, and one passing testcase per scenario, "S seeds, P passed". A file that cannot
//		be written exits 2 unless the campaign failed.
//	-duration d
//		Time-box the campaign to d of wall time, as described above.
//	-shard k/n
//		Run shard k of n (1 <= k <= n) of the campaign, as described above. A value that is not
//		k/n with 1 <= k <= n, or a shard that gets no seed of -seeds, is a usage error.
//	-tape file
//		Replay the choice tape in file bit for bit, as described above. It cannot be combined
//		with -seed, -seeds, -first or -shrink.
//	-tape-out file
//		With -seed (and one scenario), write the run's choice tape to file; with -shrink, where the
//		shrunk tape goes (default ./<scenario>-<seed>.tape).
//	-shrink
//		With -seed: when the seed fails, shrink its choice tape, as described above.
//	-mutant name
//		Plant the named bug of the runtime/mutant catalogue for the whole run, to check that the
//		campaign catches it. Only binaries built with -tags vigil_mutants carry mutants; any
//		other build refuses the flag. An unknown name is an error that lists the catalogue.
//	-cpuprofile file
//		Write a CPU profile of the whole run to file, for go tool pprof: where a campaign spends
//		its time, your handlers included. A file that cannot be created exits 2 before any seed
//		runs. The profile is also what a profile-guided build reads (go build
//		-pgo=file ./cmd/simrun); bench/SIMULATION.md says what that buys.
//	-h
//		Print the usage, the examples, the scenarios and (in mutant builds) the mutants.
//
// # Exit status
//
// The flags -json, -junit, -duration and -shard apply to campaigns only; with -seed, -bench or
// -mutants they are usage errors. A time box that ends a campaign is no interruption: it exits
// 0 when no seed failed.
//
// 0 when no seed broke a property, 1 when some seed did (a violation, a bound or a panic), 2 for bad usage
// (an unknown flag, scenario or mutant, a bad value, -mutant without the build tag), and 130 when
// interrupted before any violation was found.
package main
