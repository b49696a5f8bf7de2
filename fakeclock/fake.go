package fakeclock

import (
	"fmt"
	"time"
)

// Fake is a manual Clock: time stands still until Advance, Set or FireNext moves it, and timers
// fire only inside those calls, on the caller's goroutine. That makes every run of a test or a
// simulation a pure function of the calls made, which is the point of the package.
//
// Timers fire in order of deadline, then of creation, so two timers due at the same instant
// always fire in the order they were armed, whatever the heap's shape.
//
// Fake is single-threaded by contract: all calls, including Stop on its timers, must come from
// one goroutine (or be otherwise serialised by the caller). It has no lock because the simulator
// runs exactly one thing at a time and a lock would only hide a caller that breaks that rule;
// the race detector will flag such a caller instead.
//
// Callbacks may read Now, arm timers and stop timers. They must not call Advance, Set or
// FireNext: those panic when called from a callback, since a nested advance could move time
// past deadlines the outer call has yet to fire.
//
// The zero value is a clock at the zero time with no timers.
type Fake struct {
	now    time.Time
	seq    uint64 // creation counter: the tie-break for equal deadlines
	heap   []*fakeTimer
	firing bool // set while callbacks run, to reject re-entrant advances
}

// fakeTimer is a timer of a Fake clock. It is its own heap entry, so arming costs exactly one
// allocation and Stop can remove it in O(log n) through index.
type fakeTimer struct {
	clock *Fake
	when  time.Time
	seq   uint64
	f     func()
	index int // position in clock.heap, or -1 once fired or stopped
}

// NewFake returns a clock reading start, with no timers.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the clock's current time. While a timer fires, that is the timer's deadline.
func (c *Fake) Now() time.Time { return c.now }

// AfterFunc arms a timer that calls f once the clock reaches Now()+d. A d <= 0 makes the timer
// due at once, but it still fires only at the next Advance, Set or FireNext, never inside
// AfterFunc: callers arm timers while holding state that the callback may also touch.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	if f == nil {
		// Failing here names the culprit; failing at fire time would not.
		panic("fakeclock: AfterFunc called with a nil func")
	}
	// Clamping keeps every deadline at or after Now, so time never runs backwards while a
	// timer fires, and all overdue timers share one deadline and fire in creation order.
	when := c.now
	if d > 0 {
		when = c.now.Add(d)
	}
	t := &fakeTimer{clock: c, when: when, seq: c.seq, f: f}
	c.seq++
	c.push(t)
	return t
}

// Stop cancels the timer; it reports false if the timer has already fired or been stopped.
func (t *fakeTimer) Stop() bool {
	if t.index < 0 {
		return false
	}
	t.clock.remove(t.index)
	return true
}

// Advance moves the clock forward by d, firing every timer whose deadline is at or before the
// new time, in (deadline, creation) order, with Now reading each timer's deadline while it
// fires. Timers armed by those callbacks fire too if they fall due within the window. Advance(0)
// fires the timers that are already due. A negative d panics: the clock never goes backwards.
func (c *Fake) Advance(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("fakeclock: Advance(%v): the duration must not be negative", d))
	}
	c.advanceTo(c.now.Add(d), "Advance")
}

// Set moves the clock forward to t, firing timers exactly as Advance does. It panics if t is
// before Now, since a clock that goes backwards would break every deadline computed from it.
func (c *Fake) Set(t time.Time) {
	if t.Before(c.now) {
		panic(fmt.Sprintf("fakeclock: Set(%v) is before Now (%v): the clock never goes backwards", t, c.now))
	}
	c.advanceTo(t, "Set")
}

// NextDeadline returns the deadline of the earliest pending timer, and false if none is pending.
func (c *Fake) NextDeadline() (time.Time, bool) {
	if len(c.heap) == 0 {
		return time.Time{}, false
	}
	return c.heap[0].when, true
}

// FireNext moves the clock to the earliest pending deadline and fires the timers due at that
// instant, in creation order, including ones their callbacks arm with d <= 0 (those are due at
// the same instant). It reports whether any timer fired. This is how an idle simulator skips
// straight to its next event instead of stepping time in small increments.
func (c *Fake) FireNext() bool {
	// Checked here too, so the misuse is caught even when no timer is left to fire.
	c.checkNotFiring("FireNext")
	when, ok := c.NextDeadline()
	if !ok {
		return false
	}
	c.advanceTo(when, "FireNext")
	return true
}

// Pending returns the number of timers that have neither fired nor been stopped.
func (c *Fake) Pending() int { return len(c.heap) }

// advanceTo fires every timer due at or before target, then leaves the clock at target.
func (c *Fake) advanceTo(target time.Time, caller string) {
	c.checkNotFiring(caller)
	c.firing = true
	// The deferred reset keeps the clock usable after a callback panic that a test recovers.
	defer func() { c.firing = false }()
	for len(c.heap) > 0 && !c.heap[0].when.After(target) {
		t := c.heap[0]
		c.remove(0)
		c.now = t.when
		t.f()
	}
	c.now = target
}

// checkNotFiring panics if a timer callback is running: see the Fake doc.
func (c *Fake) checkNotFiring(caller string) {
	if c.firing {
		panic("fakeclock: " + caller + " called from a timer callback")
	}
}

// less orders the heap by deadline, then by creation.
func less(a, b *fakeTimer) bool {
	if c := a.when.Compare(b.when); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// push adds t to the heap.
func (c *Fake) push(t *fakeTimer) {
	t.index = len(c.heap)
	c.heap = append(c.heap, t)
	c.up(t.index)
}

// remove takes the timer at index i out of the heap and marks it done.
func (c *Fake) remove(i int) {
	h := c.heap
	last := len(h) - 1
	t := h[i]
	if i != last {
		h[i] = h[last]
		h[i].index = i
	}
	h[last] = nil // drop the reference so a fired timer's closure can be collected
	c.heap = h[:last]
	if i != last {
		// The moved timer may belong above or below its new slot; at most one of these moves it.
		if !c.down(i) {
			c.up(i)
		}
	}
	t.index = -1
}

// up moves the timer at index i towards the root until its parent is not greater.
func (c *Fake) up(i int) {
	h := c.heap
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		h[i].index = i
		h[p].index = p
		i = p
	}
}

// down moves the timer at index i towards the leaves until no child is smaller; it reports
// whether the timer moved.
func (c *Fake) down(i int) bool {
	h := c.heap
	n := len(h)
	start := i
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		h[i].index = i
		h[m].index = m
		i = m
	}
	return i > start
}
