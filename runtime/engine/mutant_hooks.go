package engine

import "github.com/vigilsim/vigil/runtime/mutant"

// newIdemID is the one place an idempotency key's scope is built, so that every lookup, write
// and purge agrees on it. The scope is the whole target — service, handler and object key — as
// in Restate: the same key sent to another handler or another object is another call. (Planted
// bugs narrow it, to prove that the simulator's storage audit catches a scope that is wrong.)
func newIdemID(service, handler, key, idemKey string) idemID {
	if mutant.On(mutant.IdempotencyIgnoresHandler) {
		handler = ""
	}
	if mutant.On(mutant.IdempotencyIgnoresObjectKey) {
		key = ""
	}
	return idemID{service, handler, key, idemKey}
}
