package fakeclock_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/fakeclock"
)

// modelTimer is what the property test knows about one armed timer.
type modelTimer struct {
	seq      int
	deadline time.Time
	timer    fakeclock.Timer
	fired    int
	stopped  bool // a Stop call returned true
}

func (m *modelTimer) live() bool { return m.fired == 0 && !m.stopped }

// TestFakeProperty arms timers with random delays (some from inside callbacks), stops some at
// random, and moves time with a random mix of Advance, Set and FireNext. It checks that every
// timer not stopped in time fires exactly once, never early and with Now equal to its deadline,
// that stopped timers never fire, that firings come in (deadline, creation) order, and that
// Pending and NextDeadline agree with the model after every step.
func TestFakeProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := fakeclock.NewFake(epoch)
		var timers []*modelTimer
		var lastDeadline time.Time
		lastSeq := -1

		delay := rapid.Map(rapid.Int64Range(-int64(time.Second), int64(10*time.Second)),
			func(n int64) time.Duration { return time.Duration(n) })
		step := rapid.Map(rapid.Int64Range(0, int64(5*time.Second)),
			func(n int64) time.Duration { return time.Duration(n) })

		var arm func(d time.Duration, children []time.Duration)
		arm = func(d time.Duration, children []time.Duration) {
			m := &modelTimer{seq: len(timers), deadline: c.Now()}
			if d > 0 {
				m.deadline = c.Now().Add(d)
			}
			timers = append(timers, m)
			m.timer = c.AfterFunc(d, func() {
				m.fired++
				switch {
				case m.stopped:
					rt.Fatalf("timer %d fired after a successful Stop", m.seq)
				case !c.Now().Equal(m.deadline):
					rt.Fatalf("timer %d fired at %v, deadline %v", m.seq, c.Now(), m.deadline)
				case m.deadline.Before(lastDeadline) || (m.deadline.Equal(lastDeadline) && m.seq < lastSeq):
					rt.Fatalf("timer %d (%v) fired after timer %d (%v)", m.seq, m.deadline, lastSeq, lastDeadline)
				}
				lastDeadline, lastSeq = m.deadline, m.seq
				for _, cd := range children {
					arm(cd, nil)
				}
			})
		}

		steps := rapid.IntRange(1, 300).Draw(rt, "steps")
		for range steps {
			// Arms and stops outweigh time moves so that heaps grow large enough for Stop to remove
			// from their middle, which is where a heap repair bug would hide.
			switch rapid.IntRange(0, 8).Draw(rt, "op") {
			case 0, 1, 2, 3:
				// Children's delays are drawn now, not inside the callback, so the draws do not
				// depend on the order in which the code under test fires timers.
				d := delay.Draw(rt, "delay")
				arm(d, rapid.SliceOfN(delay, 0, 2).Draw(rt, "children"))
			case 4, 5:
				if len(timers) == 0 {
					continue
				}
				m := rapid.SampledFrom(timers).Draw(rt, "stop")
				want := m.live()
				if got := m.timer.Stop(); got != want {
					rt.Fatalf("Stop of timer %d = %v, want %v", m.seq, got, want)
				}
				m.stopped = m.stopped || want
			case 6:
				c.Advance(step.Draw(rt, "advance"))
			case 7:
				c.Set(c.Now().Add(step.Draw(rt, "set")))
			case 8:
				next, ok := c.NextDeadline()
				if c.FireNext() != ok {
					rt.Fatalf("FireNext disagrees with NextDeadline (%v)", ok)
				}
				if ok && !c.Now().Equal(next) {
					rt.Fatalf("FireNext left Now at %v, want %v", c.Now(), next)
				}
			}
			checkAgainstModel(rt, c, timers)
		}

		for c.FireNext() {
		}
		for _, m := range timers {
			want := 1
			if m.stopped {
				want = 0
			}
			if m.fired != want {
				rt.Fatalf("timer %d fired %d times, want %d (stopped=%v)", m.seq, m.fired, want, m.stopped)
			}
		}
		checkAgainstModel(rt, c, timers)
	})
}

// checkAgainstModel checks that no timer fired twice, that Pending counts exactly the live
// timers, and that NextDeadline is their earliest deadline.
func checkAgainstModel(rt *rapid.T, c *fakeclock.Fake, timers []*modelTimer) {
	live := 0
	var earliest time.Time
	for _, m := range timers {
		if m.fired > 1 {
			rt.Fatalf("timer %d fired %d times", m.seq, m.fired)
		}
		if m.live() {
			if live == 0 || m.deadline.Before(earliest) {
				earliest = m.deadline
			}
			live++
		}
	}
	if c.Pending() != live {
		rt.Fatalf("Pending() = %d, want %d", c.Pending(), live)
	}
	next, ok := c.NextDeadline()
	if ok != (live > 0) || (ok && !next.Equal(earliest)) {
		rt.Fatalf("NextDeadline() = %v, %v; want %v, %v", next, ok, earliest, live > 0)
	}
}
