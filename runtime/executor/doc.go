// Package executor runs attempts of handlers: it replays an attempt's journal, checks the
// handler against it (non-determinism errors name the index and both entries), sends the new
// commands to the engine, parks the handler while it waits, suspends it after an inactivity
// timeout, and aborts it on request; a crashed executor leaves no goroutine behind.
//
// Each attempt's handler runs on a coroutine (iter.Pull) that only the executor's driver resumes,
// so exactly one piece of handler code runs at a time and a simulator can interleave attempts
// deterministically. The coroutines are workers the executor keeps between attempts: one whose
// handler is over (returned, failed, or unwound by an abort or a suspension) waits for the next
// attempt, so that an attempt neither makes a coroutine nor grows a fresh one's small stack again.
// Crash ends them all, unless the executor has a Spare, which hands them on to later executors
// (Spare.Stop; StopKeptWorkers ends them). The handler's input is decoded before it runs and its
// output encoded after it returns (durable.Handler.Prepare), on the driver's stack: JSON's deep
// calls would otherwise grow the coroutine's stack.
// A Gated start (sent by the driver before its batch was durable) runs at once, but parks at its
// first Run until a Durable message says the start is durable, telling the driver Parked
// whenever it waits before that; if no Durable comes within the inactivity timeout, it suspends
// waiting on its input entry, which the engine answers with a new, ungated attempt.
// The executor is a step machine like the engine: its inputs are protocol messages and timer
// firings; its outputs go through the injected Send function and Clock. It imports durable,
// journal, protocol, fakeclock and mutant, never the engine or the simulator.
//
//	          Start                 handler awaits, result unknown
//	(none) ──────────► running ─────────────────────────────────► parked
//	                    │   ▲                                        │ │
//	                    │   └────── completion / ack for the index ──┘ │ inactivity timeout
//	   handler returns ─┤                                              ▼
//	   or fails         ▼                                          suspended (handler unwound)
//	                  ended (End or Error sent)        Abort / newer Start / Crash: aborted
package executor
