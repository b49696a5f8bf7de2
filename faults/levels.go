package faults

import (
	"fmt"
	"time"
)

// Level is a fault intensity: how much of the fault vocabulary a run's plan may turn on. It is
// a choice for whoever runs a campaign, so that a team first sees its scenario pass with no
// faults at all, then with a few, then under the whole swarm.
type Level uint8

// The fault intensities. The zero Level is LevelDefault, so code that never chooses keeps today's
// plans, seed for seed.
const (
	// LevelDefault draws a swarm plan with Draw: every fault kind on or off per seed, at rates from
	// rare to frequent.
	LevelDefault Level = iota
	// LevelNone injects nothing: the plan of None(), a small fixed message delay and nothing else. A
	// scenario that fails here fails on its own logic, not on a fault.
	LevelNone
	// LevelLight draws a plan with DrawLight: crashes of both nodes (losing unsynced writes), message
	// delays that reorder, slow syncs and suspension at any time; no lost, duplicated or
	// long-tail messages, no lost requests or responses, no pauses, no clock faults, no fault
	// points inside the runtime.
	LevelLight
)

// Levels lists the intensities in the order a user turns them on.
func Levels() []Level { return []Level{LevelNone, LevelLight, LevelDefault} }

var levelNames = [...]string{LevelDefault: "default", LevelNone: "none", LevelLight: "light"}

// String names the level as the -faults and -vigil.faults flags spell it.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// ParseLevel reads a level as the flags spell it: none, light or default.
func ParseLevel(s string) (Level, error) {
	for _, l := range Levels() {
		if s == l.String() {
			return l, nil
		}
	}
	return LevelDefault, fmt.Errorf("unknown fault level %q (want none, light or default)", s)
}

// Set implements flag.Value, so a Level can be a flag.
func (l *Level) Set(s string) error {
	v, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// DrawLevel draws the plan of one run at level l from d. LevelDefault makes exactly the draws
// Draw makes, so choosing it changes no run; LevelNone draws nothing.
func DrawLevel(l Level, d Drawer) Plan {
	switch l {
	case LevelNone:
		return None()
	case LevelLight:
		return DrawLight(d)
	case LevelDefault:
		return Draw(d)
	}
	panic(fmt.Sprintf("faults: DrawLevel of unknown level %d", uint8(l)))
}

// DrawLight draws a plan of the light intensity (see LevelLight): the faults every durable
// handler must survive — a crash at any moment, messages that overtake each other, a handler
// suspended at any await — without the network and clock faults that make a first failure
// hard to read. Crashes are rare enough that most invocations finish between two of them.
func DrawLight(d Drawer) Plan {
	between := func(lo, hi time.Duration, label string) time.Duration {
		return lo + time.Duration(d.Draw(uint64(hi-lo)+1, label))
	}
	p := None()
	p.RuntimeCrashEvery = between(5*time.Second, 30*time.Second, "runtime-crash-every")
	p.ExecutorCrashEvery = between(5*time.Second, 30*time.Second, "executor-crash-every")
	p.DowntimeMax = between(time.Millisecond, time.Second, "downtime-max")
	p.LinkDelayMax = between(100*time.Microsecond, 50*time.Millisecond, "link-delay-max")
	p.SyncDelayMax = between(0, 10*time.Millisecond, "sync-delay-max")
	p.SuspendAtOncePercent = d.Draw(101, "suspend-at-once-percent")
	p.InactivityMax = between(0, 5*time.Second, "inactivity-max")
	p.ClientTimeout = between(5*time.Second, 30*time.Second, "client-timeout")
	return p
}

// LevelUsage is the help text of a flag that takes a Level, shared so that simrun and go test
// describe the levels in the same words.
const LevelUsage = "fault intensity: none (no faults), light (crashes, reordering, suspensions) or default (the whole swarm)"
