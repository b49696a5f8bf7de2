// Package durable is the handler API that user code imports, shaped like Restate's Go SDK:
// service definitions with typed handlers (JSON by default), Context, Awakeable, ResolveAwakeable,
// RejectAwakeable, Run and TerminalError.
//
// Every durable call goes through the Runtime interface, which the executor implements for one
// attempt; this package decides what to journal and how values are encoded, never how attempts
// are scheduled. It imports only runtime/journal and runtime/protocol, and must never start a
// goroutine, read the wall clock or import the executor, the engine or the simulator.
package durable
