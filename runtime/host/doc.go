// Package host is Vigil's production driver: what raft's Node is to its RawNode. The engine
// (runtime/engine) is a step machine without goroutines, clock or I/O; the host wraps it in the
// real world — goroutines, the wall clock, a bbolt file, a TCP socket — and performs the Ready
// batches the engine hands back, in the order the engine demands.
//
// # What it owns
//
//   - One engine goroutine, the only code that touches the engine. It reads one input channel
//     (a tagged struct: an ingress request with its reply callback, an executor message, a timer
//     that fired, a client that went away, a stop request), steps the engine once per input,
//     drains whatever else is already queued (up to maxGroupInputs; once more after yielding to
//     the goroutines that are runnable, so that their inputs share the group's fsync), applies
//     every step's store batch, calls Sync once for the whole group (group commit), and only
//     then performs the effects of the group in order: messages to the executor shards,
//     replies to ingress callbacks, timers to arm. Nothing is acknowledged before the batch it depends on is
//     synced; after a failed Apply or Sync the host acknowledges nothing more and stops.
//     The one message that leaves before the sync is a gated start (the first attempt of an
//     invocation accepted in the same batch): its attempt runs at once but may run no side
//     effect until the Durable sent after the sync, and the group is held open (for at most
//     maxSpeculationHold) while such attempts run — of handlers whose attempts tend to end
//     before the sync rather than park, which the Core learns — so that a call whose handler
//     ends meanwhile is accepted, journaled and answered with the group's one fsync. That
//     order lives in Core, which has no goroutine, channel or clock of its own: the engine
//     goroutine calls it for every input, and the simulator drives the same Core on virtual
//     time with a store that crashes.
//   - ExecutorShards executor goroutines. Each owns one executor.Executor (which is not safe
//     for concurrent use) and a mailbox the engine goroutine posts to without ever blocking;
//     messages are routed by a hash of the invocation ID, so every message of one invocation
//     goes to one shard in order. A Run side effect that blocks holds up its own shard only.
//     A shard's executor gets a clock whose AfterFunc callbacks are posted to the shard's
//     mailbox, so they run on the shard's goroutine like everything else it does.
//   - Timers: engine timers become Clock.AfterFunc calls that post a timer input back to the
//     engine goroutine. The engine ignores timers it no longer wants, so none is cancelled
//     while the host runs; all are stopped when it closes.
//   - The store files (DataDir/vigil.db and its write-ahead log vigil.db-log, runtime/store/bolt) and, in Run and Serve, the HTTP
//     server on ListenAddr, whose handler is ingress.NewHandler over a backend that posts to the
//     engine goroutine. Request IDs are the host's. The server bounds what clients can hold:
//     at most MaxConnections connections (more wait in the accept queue), ReadHeaderTimeout
//     and ReadTimeout to send a request, IdleTimeout between keep-alive requests, and no write
//     timeout, so that a call may wait for its answer as long as its handler waits.
//   - Startup (engine.Recover from the store, then the recovered Ready performed like any
//     other: running invocations restart, timers are re-armed, suspended ones stay suspended)
//     and graceful shutdown (stop accepting, let open requests finish for ShutdownTimeout,
//     finish the group in flight, answer what is still open with 503, abort the executors'
//     parked attempts, close the store), leaving no goroutine behind. A 503 of a call or attach
//     that waited names its invocation (x-restate-id), so that the client can attach later,
//     unless the store failed before that invocation was durable.
//
// # What it must not do
//
// It makes no durable decision: which invocation runs, what is journaled, which completion
// wins, when a timer is due — all of that is the engine's. The host only moves inputs in and
// outputs out, and its one rule is the engine's: store first, then effects. It must not be
// imported by the engine, the executor or the store; the simulator imports it for Core only,
// and Core must stay free of goroutines, the wall clock (CoreConfig.Now is injected) and map
// iteration whose order can leak. It may import every runtime package and fakeclock.
//
// # Logs
//
// The host logs with log/slog: startup (data dir, store file, invocations recovered), the
// listening address, each group commit at debug level (inputs, batches, sync duration), store
// failures at error level, and shutdown.
package host
