// Package faults describes which faults a simulated run injects and how often: a Plan is plain
// data, drawn per seed (swarm testing: each seed enables a random subset of fault kinds at random
// rates), printed at the start of every run and in every failure report.
//
// It owns the vocabulary of faults and the drawing of plans; the simulator consults a Plan and
// performs the faults. It imports nothing of Vigil's and never reads the wall clock or global
// randomness.
package faults

import (
	"fmt"
	"strings"
	"time"
)

// Drawer is the randomness a plan is drawn from: a value in [0, n) for n > 0.
type Drawer interface {
	Draw(n uint64, label string) uint64
}

// Plan is the fault configuration of one run. A zero duration or rate disables that fault.
type Plan struct {
	// RuntimeCrashEvery is the mean virtual time between crashes of the runtime node.
	RuntimeCrashEvery time.Duration
	// ExecutorCrashEvery is the mean virtual time between crashes of the executor node.
	ExecutorCrashEvery time.Duration
	// DowntimeMax bounds how long a crashed node stays down before it restarts.
	DowntimeMax time.Duration
	// LinkDelayMax bounds the delay of each message and HTTP exchange; delays are drawn
	// uniformly in [0, LinkDelayMax], so messages reorder.
	LinkDelayMax time.Duration
	// SyncDelayMax bounds how long a store sync takes, the window in which a crash loses writes.
	SyncDelayMax time.Duration
	// SuspendAtOncePercent is the chance that a waiting attempt suspends at once instead of after
	// an inactivity timeout drawn in [0, InactivityMax].
	SuspendAtOncePercent uint64
	// InactivityMax bounds the inactivity timeout drawn for each park.
	InactivityMax time.Duration
}

// None is a plan without faults beyond a small fixed message delay.
func None() Plan {
	return Plan{LinkDelayMax: time.Millisecond, SyncDelayMax: 0, InactivityMax: time.Minute}
}

// Draw draws a swarm plan: each fault kind is enabled with probability one half, at a rate drawn
// from a range wide enough to reach both rare and frequent faults.
func Draw(d Drawer) Plan {
	on := func(label string) bool { return d.Draw(2, label) == 1 }
	between := func(lo, hi time.Duration, label string) time.Duration {
		return lo + time.Duration(d.Draw(uint64(hi-lo)+1, label))
	}
	var p Plan
	if on("runtime-crash") {
		p.RuntimeCrashEvery = between(500*time.Millisecond, 20*time.Second, "runtime-crash-every")
	}
	if on("executor-crash") {
		p.ExecutorCrashEvery = between(500*time.Millisecond, 20*time.Second, "executor-crash-every")
	}
	p.DowntimeMax = between(time.Millisecond, 3*time.Second, "downtime-max")
	p.LinkDelayMax = between(100*time.Microsecond, 200*time.Millisecond, "link-delay-max")
	if on("slow-sync") {
		p.SyncDelayMax = between(100*time.Microsecond, 50*time.Millisecond, "sync-delay-max")
	}
	p.SuspendAtOncePercent = d.Draw(101, "suspend-at-once-percent")
	p.InactivityMax = between(0, 5*time.Second, "inactivity-max")
	return p
}

// WithCrashes returns a copy of p in which both nodes crash (used by campaigns that must
// exercise crashes on every seed, and by the planted-bug test).
func (p Plan) WithCrashes(every time.Duration) Plan {
	if p.RuntimeCrashEvery == 0 {
		p.RuntimeCrashEvery = every
	}
	if p.ExecutorCrashEvery == 0 {
		p.ExecutorCrashEvery = every
	}
	if p.DowntimeMax == 0 {
		p.DowntimeMax = time.Second
	}
	return p
}

// String renders the plan on one line, disabled faults as "off".
func (p Plan) String() string {
	var b strings.Builder
	field := func(name string, d time.Duration) {
		if d == 0 {
			fmt.Fprintf(&b, "%s=off ", name)
		} else {
			fmt.Fprintf(&b, "%s=%s ", name, d)
		}
	}
	field("runtime-crash-every", p.RuntimeCrashEvery)
	field("executor-crash-every", p.ExecutorCrashEvery)
	field("downtime-max", p.DowntimeMax)
	field("link-delay-max", p.LinkDelayMax)
	field("sync-delay-max", p.SyncDelayMax)
	fmt.Fprintf(&b, "suspend-at-once=%d%% ", p.SuspendAtOncePercent)
	field("inactivity-max", p.InactivityMax)
	return strings.TrimSpace(b.String())
}
