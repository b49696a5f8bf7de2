// Package engine is Vigil's durable core: the invocation lifecycle, journals, awakeable
// completions, retries with backoff, and recovery from the store.
//
// The engine is a step machine in the shape of raft's RawNode. Inputs go in through Ingress,
// Receive (an executor message) and FireTimer; every output of those calls accumulates in one
// Ready — a store batch, messages to the executor, replies to ingress requests, timers to arm and
// notes for the history — which the driver takes with Ready and performs in order: apply and sync
// the batch first, then send, reply and arm. Nothing leaves before the state it depends on is
// durable. The engine owns no goroutine, never reads the wall clock (time comes from the injected
// Clock), never draws randomness (IDs come from the injected ID source) and never calls the store
// except through Recover's scan; the simulator and the production host drive the same code.
//
//	          accept            start attempt n         suspend, nothing ready
//	(new) ──────────► running ◄──────────────────────────────────────┐
//	                   │  │  ▲                                       │
//	                   │  │  └──── completion of a waited index ─── suspended
//	                   │  └─ retryable error ─► backing-off ─ timer ─► running (n+1)
//	                   └─ output / terminal failure ─► done
//
// Every start of an attempt bumps the attempt number durably before the start message leaves;
// messages of any other attempt are dropped.
package engine
