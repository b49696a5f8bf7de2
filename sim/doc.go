// Package sim is Vigil's deterministic simulator. It runs the real runtime — the same engine,
// executor and handler code as production — single-threaded on virtual time, with a seeded
// fault plan: messages delayed and reordered, nodes crashed and restarted, unsynced writes lost.
// It records a history of what happened, hands it to the checkers, and hashes it, so that a seed
// reproduces a run bit for bit.
//
// One World is one run. Every random choice goes through a Source (a seeded PCG stream, or a
// rapid.T so that rapid can shrink a failing run). Events wait in a heap ordered by virtual time
// and push order; exactly one thing runs at a time: the world's loop, or the one handler
// coroutine it resumed. The package never reads the wall clock except to report speed, never
// uses global randomness, and starts no goroutine besides the executor's coroutines.
//
// Every run is bounded: by its virtual budgets, by a cap on its events and on the events at one
// virtual instant (Options.MaxEvents, Options.MaxEventsPerInstant), and by an optional hook a
// driver uses to stop it between events (Options.Interrupt, how simrun imposes a wall-clock limit
// without this package reading the clock). A run that hits a bound fails with a "bound"
// violation that names it, so a livelock fails its seed instead of hanging a campaign.
//
// Entry points for users: RunSeed (one run), Check (many seeds from a go test), CheckRapid (one
// run under rapid.Check, shrinking included).
package sim
