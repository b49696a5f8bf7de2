// Package protocol defines the messages between the engine and the executor, and the identifiers
// both sides and the ingress share: invocation IDs and self-routing awakeable IDs.
//
// Every message carries the attempt number it belongs to; receivers drop messages of stale
// attempts and treat repeats idempotently by journal index, because the transport may delay,
// reorder and duplicate them.
//
// Two kinds belong to the driver rather than the engine: Durable tells an attempt whose start
// was Gated (sent before the batch that accepted its invocation was durable) that it may run
// side effects now, and Parked tells the driver that such an attempt waits, so that it need not
// hold its group commit open for it. This package imports only the journal and must never
// depend on the engine, the executor or the simulator.
package protocol
