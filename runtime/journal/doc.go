// Package journal defines the entries of an invocation's journal — their kinds, parameters and
// results — and a versioned codec for them (binary for the store, JSON for traces and tools).
//
// It owns the vocabulary that the engine, the executor and the checkers share. It imports nothing
// of Vigil's and must never depend on the engine, the executor or the simulator.
package journal
