// Package engine is Vigil's durable core: the invocation lifecycle, journals, awakeable
// completions, virtual objects (per-key locks, inboxes and state), workflows (one run per key,
// durable promises), durable timers, retries with backoff, idempotency keys, retention, and
// recovery from the store.
//
// The engine is a step machine in the shape of raft's RawNode. Inputs go in through Ingress,
// Receive (an executor message) and FireTimer; every output of those calls accumulates in one
// Ready — a store batch, messages to the executor, replies to ingress requests, timers to arm and
// notes for the history — which the driver takes with Ready and performs in order: apply and sync
// the batch first, then send, reply and arm. Nothing leaves before the state it depends on is
// durable. The engine owns no goroutine, never reads the wall clock (time comes from the injected
// Clock), never draws randomness (IDs come from the injected ID source) and never writes to the
// store; it reads it (Config.Store) at recovery and for what it keeps on disk only, so that its
// memory holds live work and not what retention keeps: finished invocations, idempotency keys,
// the retention index (finished.go). The driver applies each Ready's batch before the next step,
// so those reads see every write. The simulator and the production host drive the same code. It
// imports the journal, protocol, ingress and store vocabularies and must never import the
// executor, the host or the simulator.
//
//	 accept (delayed send)   delay over
//	(new) ──────► scheduled ────────────┐
//	  │ accept (exclusive, key busy)    ▼
//	  ├──────────────────────────────► pending ── key free ──┐
//	  │ accept                                               ▼          suspend, nothing ready
//	  └───────────────────────────────────────────────────► running ◄───────────────────────────┐
//	                                                         │  │  ▲                              │
//	                                                         │  │  └── completion of a waited ─ suspended
//	                                                         │  │      index (or a timer)
//	                                                         │  └─ retryable error ─► backing-off ─ timer ─► running (n+1)
//	                                                         └─ output / terminal failure ─► done ─ retention ─► purged
//
// Handlers call each other (calls.go): a call or send journaled by one invocation starts another
// in the same batch, once per journal index; a call's callee completes its caller's entry when it
// finishes. Cancellation (cancel.go) ends an invocation that has not started, or fails what a
// started one awaits with 409 "Cancelled", and follows the calls it waits on. Input is bounded
// where it enters (protocol's limits), and a record recovery cannot use is set aside under q/
// (quarantine.go) rather than stopping every start.
//
// Every start of an attempt bumps the attempt number durably before the start message leaves;
// messages of any other attempt are dropped. An exclusive invocation holds its key's lock from
// leaving pending until done, suspended or not.
package engine
