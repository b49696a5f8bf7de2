package checkers

import (
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/protocol"
)

func tm(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: timersName, inv: inv, msg: msg}
}

func TestTimers(t *testing.T) {
	const ms = time.Millisecond
	runCases(t, Timers, []checkerCase{
		{
			name: "clean: on time, re-armed after recovery, finished, not yet due, retention ignored",
			build: func(b *builder) {
				b.arm(invA, 1, "sleep", 10*ms)
				b.crash("runtime", "")
				b.arm(invA, 1, "sleep", 10*ms) // recovery re-arms it: one timer
				b.advance(10 * ms)
				b.fire(invA, 1, "sleep", 10*ms)
				// Two timers at one index but different deadlines are two timers.
				b.arm(invA, 1, "retry", 20*ms)
				b.arm(invA, 1, "retry", 40*ms)
				b.advance(40 * ms)
				b.fire(invA, 1, "retry", 20*ms)
				b.fire(invA, 1, "retry", 40*ms)
				// B's retry never fires: B finished before it was due (plus grace).
				b.arm(invB, 0, "retry", b.now()+time.Hour)
				b.advance(time.Hour - time.Second)
				b.done(invB, "o")
				// C's sleep is due too close to the end of the run to be called lost.
				b.arm(invC, 1, "sleep", b.now()+time.Minute)
				// Retention timers are Retention's business, even early or never fired.
				b.arm(invD, 0, "retention", time.Hour)
				b.fire(invD, 0, "retention", 24*time.Hour)
				b.endAfter(time.Minute)
			},
		},
		{
			name: "fired before its deadline",
			build: func(b *builder) {
				b.arm(invA, 1, "sleep", 10*ms)
				b.fire(invA, 1, "sleep", 10*ms)
			},
			want: []wantViolation{tm(invA, "sleep timer [1] due at 10ms fired at 2ms, 8ms before its deadline")},
		},
		{
			name: "never fired",
			build: func(b *builder) {
				b.arm(invA, 1, "sleep", 10*ms)
				b.arm(invB, 0, "retry", 10*ms)
				b.crash("runtime", "")
				b.arm(invA, 1, "sleep", 10*ms)
				b.endAfter(time.Minute + 10*ms)
			},
			want: []wantViolation{
				tm(invA, "sleep timer [1] due at 10ms never fired (the run ended at 1m0.015s, past the deadline and the grace of 1m0s)"),
				tm(invB, "retry timer [0] due at 10ms never fired"),
			},
		},
		{
			name: "never fired, and the invocation finished only after the grace",
			build: func(b *builder) {
				b.arm(invA, 1, "sleep", 10*ms)
				b.advance(2 * time.Minute)
				b.done(invA, "o")
			},
			want: []wantViolation{tm(invA, "sleep timer [1] due at 10ms never fired")},
		},
		{
			name: "fired twice",
			build: func(b *builder) {
				b.arm(invA, 1, "sleep", ms)
				b.fire(invA, 1, "sleep", ms)
				b.crash("runtime", "")
				b.fire(invA, 1, "sleep", ms)
			},
			want: []wantViolation{tm(invA, "sleep timer [1] due at 1ms fired a second time at 4ms (first at 2ms)")},
		},
		{
			name: "fired but never armed",
			build: func(b *builder) {
				b.fire(invA, 2, "sleep", ms)
				b.arm(invA, 2, "sleep", ms)
			},
			want: []wantViolation{tm(invA, "sleep timer [2] due at 1ms fired at 1ms, but it was never armed")},
		},
	})
}

func TestTimerGrace(t *testing.T) {
	b := &builder{}
	b.arm(invA, 1, "sleep", time.Millisecond)
	b.endAfter(10 * time.Second)
	if vs := Timers(b.h); len(vs) != 0 {
		t.Fatalf("within the default grace: %v", vs)
	}
	defer func(g time.Duration) { TimerGrace = g }(TimerGrace)
	TimerGrace = time.Second
	checkViolations(t, b.h, Timers(b.h), []wantViolation{tm(invA, "never fired")})
}

// TestTimersJudgeOnTheNodeClock shows that "never early" is judged on the engine's clock: a
// timer that fires after its deadline in true time but before it by the engine's clock is early,
// and one the engine fired on time while its clock ran ahead is not.
func TestTimersJudgeOnTheNodeClock(t *testing.T) {
	inv := invID(1)
	armed := Event{At: time.Second, Clock: time.Second, Kind: TimerArmed, Invocation: inv, Index: 2, Reason: "sleep", Deadline: 10 * time.Second}
	early := Event{At: 11 * time.Second, Clock: 9 * time.Second, Kind: TimerFired, Invocation: inv, Index: 2, Reason: "sleep", Deadline: 10 * time.Second}
	onTime := Event{At: 8 * time.Second, Clock: 10 * time.Second, Kind: TimerFired, Invocation: inv, Index: 2, Reason: "sleep", Deadline: 10 * time.Second}
	h := History{Events: []Event{armed, early}}
	checkViolations(t, h, Timers(h), []wantViolation{{timersName, inv, "fired at 9s, 1s before its deadline"}})
	h = History{Events: []Event{armed, onTime}}
	checkViolations(t, h, Timers(h), nil)
}
