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

	// LongTailPercent is the chance that a message or HTTP leg takes up to 20 times
	// LinkDelayMax instead: the long tail that reorders messages far apart.
	LongTailPercent uint64
	// DuplicatePercent is the chance that an engine<->executor message is delivered twice.
	DuplicatePercent uint64
	// LinkLossPercent is the chance that an engine<->executor message is lost; the attempt's
	// connection then breaks, as a stream does when a frame cannot be delivered, and both ends
	// learn it.
	LinkLossPercent uint64
	// RequestLossPercent is the chance that a client's HTTP request never reaches the runtime;
	// the client learns nothing until its timeout, and cannot know whether it took effect.
	RequestLossPercent uint64
	// ResponseLossPercent is the chance that the runtime's answer never reaches the client (a
	// black hole): the request took effect, the client times out.
	ResponseLossPercent uint64
	// ClientTimeout is how long a client waits for an answer before it gives up.
	ClientTimeout time.Duration
	// RuntimePauseEvery is the mean virtual time between pauses of the runtime node: it stops
	// for up to PauseMax (sometimes longer than a retention) and then resumes where it was.
	RuntimePauseEvery time.Duration
	// ExecutorPauseEvery is the same for the executor node.
	ExecutorPauseEvery time.Duration
	// PauseMax bounds a pause.
	PauseMax time.Duration
	// ShuffleTies runs events due at the same virtual instant in an order drawn from the seed
	// rather than the order they were scheduled in.
	ShuffleTies bool
	// ClockSkewMax bounds how far the runtime node's wall clock is off the true time, either
	// way; zero keeps it true. The engine reads its deadlines off that clock, while the
	// simulator arms timers on true time, as a host arms them on a monotonic clock.
	ClockSkewMax time.Duration
	// ClockStepEvery is the mean virtual time between steps of that clock to a new offset in
	// [-ClockSkewMax, ClockSkewMax]: jumps forward and steps back, as NTP makes them.
	ClockStepEvery time.Duration
	// BuggifyPercent is how often a fault point inside the runtime misbehaves when reached
	// (spurious transient errors, an attempt dying after a side effect, a withheld ack).
	BuggifyPercent uint64
	// TimeQuantum rounds message and HTTP delays up to a multiple of it, so that many events
	// fall due at the same instant (bursts); zero leaves delays exact.
	TimeQuantum time.Duration
	// AckWindowPercent is the chance that a command the handler may not act on before the engine
	// acknowledges it durable (a run's result, a WaitFirst choice, a state read) meets a fault in
	// that window, as the runtime takes it: the runtime crashes with the command's batch unsynced,
	// or the attempt's stream breaks so that a new attempt starts while completions are in flight.
	// Swarm faults that strike at random times hit this window of a few milliseconds rarely.
	AckWindowPercent uint64

	// Storage faults beyond a lost unsynced suffix (the simulated disk, sim's mem store).

	// SyncFailPercent is the chance that a sync of the runtime's store fails, as an fsync that
	// reports an I/O error: nothing it covered is durable (a later crash may keep or drop it) and
	// the store has failed, so the runtime node acknowledges nothing more and crash-restarts, as
	// the production host must.
	SyncFailPercent uint64
	// TornWritePercent is the chance that a runtime crash tears the last batch that reaches the
	// disk: its log record is cut mid-write, its checksum catches it at restart, and the batch is
	// dropped whole (mem.Store.CrashTearing).
	TornWritePercent uint64
	// BitFlip flips one bit of one stored value, both chosen by the seed, at rest once the run is
	// over and judged; reading it must fail its checksum, and a restart on the damaged store must
	// set that record (and its invocation) aside and report it, nothing else.
	BitFlip bool
}

// None is a plan without faults beyond a small fixed message delay.
func None() Plan {
	return Plan{LinkDelayMax: time.Millisecond, SyncDelayMax: 0, InactivityMax: time.Minute, ClientTimeout: time.Minute}
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
	// A rate's label is its switch's with "-percent", spelt out at each call: joining the two
	// here would allocate a string for every rate drawn, at every seed.
	percent := func(label, rateLabel string, max uint64) uint64 {
		if on(label) {
			return 1 + d.Draw(max, rateLabel)
		}
		return 0
	}
	p.LongTailPercent = percent("long-tail", "long-tail-percent", 10)
	p.DuplicatePercent = percent("duplicate", "duplicate-percent", 20)
	p.LinkLossPercent = percent("link-loss", "link-loss-percent", 5)
	p.RequestLossPercent = percent("request-loss", "request-loss-percent", 10)
	p.ResponseLossPercent = percent("response-loss", "response-loss-percent", 10)
	p.ClientTimeout = between(time.Second, 30*time.Second, "client-timeout")
	if on("runtime-pause") {
		p.RuntimePauseEvery = between(time.Second, 30*time.Second, "runtime-pause-every")
	}
	if on("executor-pause") {
		p.ExecutorPauseEvery = between(time.Second, 30*time.Second, "executor-pause-every")
	}
	p.PauseMax = between(10*time.Millisecond, 2*time.Minute, "pause-max")
	p.ShuffleTies = on("shuffle-ties")
	p.BuggifyPercent = percent("buggify", "buggify-percent", 5)
	if on("clock-skew") {
		p.ClockSkewMax = between(time.Millisecond, 10*time.Second, "clock-skew-max")
		if on("clock-steps") {
			p.ClockStepEvery = between(time.Second, 30*time.Second, "clock-step-every")
		}
	}
	if on("time-quantum") {
		p.TimeQuantum = between(time.Millisecond, 50*time.Millisecond, "time-quantum")
	}
	// Drawn last, so that every field above keeps the value earlier builds drew for a seed.
	p.AckWindowPercent = percent("ack-window", "ack-window-percent", 30)
	// Drawn after everything else, for the same reason.
	p.SyncFailPercent = percent("sync-fail", "sync-fail-percent", 3)
	p.TornWritePercent = percent("torn-write", "torn-write-percent", 50)
	p.BitFlip = on("bit-flip")
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
	fmt.Fprintf(&b, "long-tail=%d%% duplicate=%d%% link-loss=%d%% request-loss=%d%% response-loss=%d%% ",
		p.LongTailPercent, p.DuplicatePercent, p.LinkLossPercent, p.RequestLossPercent, p.ResponseLossPercent)
	field("client-timeout", p.ClientTimeout)
	field("runtime-pause-every", p.RuntimePauseEvery)
	field("executor-pause-every", p.ExecutorPauseEvery)
	field("pause-max", p.PauseMax)
	fmt.Fprintf(&b, "shuffle-ties=%t buggify=%d%% ", p.ShuffleTies, p.BuggifyPercent)
	field("clock-skew-max", p.ClockSkewMax)
	field("clock-step-every", p.ClockStepEvery)
	field("time-quantum", p.TimeQuantum)
	fmt.Fprintf(&b, "ack-window=%d%% ", p.AckWindowPercent)
	fmt.Fprintf(&b, "sync-fail=%d%% torn-write=%d%% bit-flip=%t ", p.SyncFailPercent, p.TornWritePercent, p.BitFlip)
	return strings.TrimSpace(b.String())
}
