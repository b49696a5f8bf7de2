package executor

import "time"

// CallClock is a Clock that can also arm a timer as a call of a long-lived object's method. The
// executor arms every inactivity timer through it when Config.Clock has it, so that arming one
// allocates nothing: no func value bound per park, no timer object per arming (the simulator's
// clock queues the target and gen as an event's payload). Clocks without it (the host's real
// clock, the tests' fakes) get AfterFunc as before.
type CallClock interface {
	// CallAfter calls t.TimerFired(gen) once the clock reaches now+d. There is no handle to stop
	// it: the target ignores a call whose gen it no longer expects.
	CallAfter(d time.Duration, t TimerTarget, gen uint64)
}

// TimerTarget is what a CallClock timer calls.
type TimerTarget interface {
	// TimerFired is called once per CallAfter, with the gen it was armed with.
	TimerFired(gen uint64)
}

// parkTimer is an attempt seen as the target of its inactivity timer. A type of its own keeps
// TimerFired out of the attempt's method set, which handler code reaches as its durable context.
type parkTimer attempt

// TimerFired suspends the attempt if it still waits in the park the timer was armed for and
// nothing stopped the timer since. The armed flag stands for a stopped timer: a CallClock's
// timer cannot be stopped, so stopTimer clears the flag and the call that comes anyway does
// nothing, as a stopped AfterFunc timer would have done.
func (t *parkTimer) TimerFired(gen uint64) {
	a := (*attempt)(t)
	if !a.timerArmed || a.parkGen != gen {
		return
	}
	a.timerArmed = false
	if !a.ended {
		a.idle()
	}
}

// armTimer arms the inactivity timer of the park gen, which waits d.
func (a *attempt) armTimer(d time.Duration, gen uint64) {
	if cc, ok := a.ex.cfg.Clock.(CallClock); ok {
		a.timerArmed = true
		cc.CallAfter(d, (*parkTimer)(a), gen)
		return
	}
	// The generation check protects against clocks whose Stop does not win the race with the
	// timer's firing (the real clock's), and against a timer of an earlier park, never stopped.
	a.timer = a.ex.cfg.Clock.AfterFunc(d, func() {
		if !a.ended && a.parkGen == gen {
			a.idle()
		}
	})
}

// stopTimer stops the attempt's inactivity timer, if one is armed.
func (a *attempt) stopTimer() {
	a.timerArmed = false
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
}
