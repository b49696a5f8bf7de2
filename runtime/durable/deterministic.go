package durable

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// Rand returns the invocation's deterministic random source. It is seeded from the invocation
// ID, so a replay draws exactly the values the first execution drew, in the same order: use it
// for anything random that decides what the handler does (a jittered choice, a sample, an ID).
// The source belongs to the running attempt; draw from it only in the handler's own flow, never
// inside a Run closure whose result a replay would not re-execute.
func Rand(ctx Context) *rand.Rand { return ctx.runtime().Rand() }

// UUID returns a version 4 UUID drawn from the invocation's deterministic source (Rand): the
// same on every replay, different for every call within the invocation, different across
// invocations. Use it for idempotency keys handed to other systems.
func UUID(ctx Context) string {
	r := Rand(ctx)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.Uint64())
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Now returns the current time, journaled: the first execution reads the clock inside a Run and
// every replay returns the journaled instant, so decisions taken on it replay the same way. Each
// call is one journal entry. Its error is that of Run (a failure to journal the time).
func Now(ctx Context) (time.Time, error) {
	rt := ctx.runtime()
	return Run(ctx, func(RunContext) (time.Time, error) { return rt.Now(), nil }, WithName("now"))
}

// SeedOf derives the deterministic source's seed from an invocation ID: both halves of its 128
// bits. Executors use it so that every executor, simulated or not, draws the same values.
func SeedOf(id protocol.InvocationID) (uint64, uint64) {
	return binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
}
