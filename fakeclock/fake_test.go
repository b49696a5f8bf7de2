package fakeclock_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// firing records a timer that fired and what Now read, relative to epoch, while it ran.
type firing struct {
	Name string
	At   time.Duration
}

type recorder struct {
	c     *fakeclock.Fake
	fired []firing
}

func newRecorder() *recorder { return &recorder{c: fakeclock.NewFake(epoch)} }

func (r *recorder) arm(name string, d time.Duration) fakeclock.Timer {
	return r.c.AfterFunc(d, func() { r.record(name) })
}

func (r *recorder) record(name string) {
	r.fired = append(r.fired, firing{name, r.c.Now().Sub(epoch)})
}

func (r *recorder) take() []firing {
	f := r.fired
	r.fired = nil
	return f
}

func TestFakeOrdering(t *testing.T) {
	type arm struct {
		name string
		d    time.Duration
	}
	tests := []struct {
		name    string
		arms    []arm
		advance time.Duration
		want    []firing
		pending int
	}{
		{
			name:    "by deadline",
			arms:    []arm{{"c", 3 * time.Second}, {"a", time.Second}, {"b", 2 * time.Second}},
			advance: 5 * time.Second,
			want:    []firing{{"a", time.Second}, {"b", 2 * time.Second}, {"c", 3 * time.Second}},
		},
		{
			name:    "same deadline in creation order",
			arms:    []arm{{"x", time.Second}, {"y", time.Second}, {"z", time.Second}, {"w", time.Second}},
			advance: time.Second,
			want:    []firing{{"x", time.Second}, {"y", time.Second}, {"z", time.Second}, {"w", time.Second}},
		},
		{
			name: "ties mixed with distinct deadlines",
			arms: []arm{
				{"b1", 2 * time.Second}, {"a1", time.Second}, {"b2", 2 * time.Second},
				{"a2", time.Second}, {"b3", 2 * time.Second},
			},
			advance: 2 * time.Second,
			want: []firing{
				{"a1", time.Second}, {"a2", time.Second},
				{"b1", 2 * time.Second}, {"b2", 2 * time.Second}, {"b3", 2 * time.Second},
			},
		},
		{
			name:    "deadline equal to the new time fires, a later one does not",
			arms:    []arm{{"due", time.Second}, {"late", time.Second + 1}},
			advance: time.Second,
			want:    []firing{{"due", time.Second}},
			pending: 1,
		},
		{
			name:    "non-positive delays are due now, in creation order",
			arms:    []arm{{"zero", 0}, {"neg", -time.Hour}, {"one", time.Nanosecond}, {"zero2", 0}},
			advance: 0,
			want:    []firing{{"zero", 0}, {"neg", 0}, {"zero2", 0}},
			pending: 1,
		},
		{
			name:    "nothing due",
			arms:    []arm{{"a", time.Minute}},
			advance: time.Second,
			pending: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			for _, a := range tt.arms {
				r.arm(a.name, a.d)
			}
			if len(r.fired) != 0 {
				t.Fatalf("AfterFunc fired synchronously: %v", r.fired)
			}
			r.c.Advance(tt.advance)
			check(t, "firings", r.fired, tt.want)
			check(t, "Pending()", r.c.Pending(), tt.pending)
			check(t, "Now()", r.c.Now(), epoch.Add(tt.advance))
		})
	}
}

func TestFakeStop(t *testing.T) {
	r := newRecorder()
	a := r.arm("a", time.Second)
	b := r.arm("b", 2*time.Second)
	c := r.arm("c", 3*time.Second)
	check(t, "Pending()", r.c.Pending(), 3)

	check(t, "Stop of a pending timer", b.Stop(), true)
	check(t, "Stop of a stopped timer", b.Stop(), false)
	check(t, "Pending()", r.c.Pending(), 2)

	r.c.Advance(time.Second)
	check(t, "Stop of a fired timer", a.Stop(), false)
	r.c.Advance(time.Hour)
	check(t, "firings", r.fired, []firing{{"a", time.Second}, {"c", 3 * time.Second}})
	check(t, "Stop of a fired timer", c.Stop(), false)
	check(t, "Pending()", r.c.Pending(), 0)
}

// TestFakeStopManyKeepsOrder stops timers from the middle of a large heap, where removal has to
// repair the heap in either direction, and checks the survivors still fire in order.
func TestFakeStopManyKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newRecorder()
	type armed struct {
		timer fakeclock.Timer
		name  string
		d     time.Duration
	}
	var all []armed
	for i := range 2000 {
		d := time.Duration(rng.IntN(500)) * time.Millisecond
		name := fmt.Sprint(i)
		all = append(all, armed{r.arm(name, d), name, d})
	}
	var want []firing
	for _, a := range all {
		if rng.IntN(2) == 0 {
			a.timer.Stop()
		} else {
			want = append(want, firing{a.name, a.d})
		}
	}
	// Arming order is the tie-break, so a stable sort by delay gives the expected order.
	slices.SortStableFunc(want, func(a, b firing) int { return cmp.Compare(a.At, b.At) })
	r.c.Advance(time.Second)
	check(t, "firings", r.fired, want)
}

func TestFakeStopFromCallback(t *testing.T) {
	r := newRecorder()
	var self, victim fakeclock.Timer
	self = r.c.AfterFunc(time.Second, func() {
		r.record("self")
		check(t, "Stop of the firing timer", self.Stop(), false)
		check(t, "Stop of a timer due at the same instant", victim.Stop(), true)
	})
	victim = r.arm("victim", time.Second)
	r.c.Advance(time.Second)
	check(t, "firings", r.fired, []firing{{"self", time.Second}})
}

func TestFakeCallbacksArmTimers(t *testing.T) {
	r := newRecorder()
	r.c.AfterFunc(time.Second, func() {
		r.record("parent")
		r.arm("child-now", 0)               // due at 1s, right after the parent
		r.arm("child-2s", time.Second)      // due at 2s, inside the window
		r.arm("child-late", 10*time.Second) // due at 11s, outside the window
		r.arm("child-2s-too", time.Second)  // ties with child-2s, armed after it
		r.arm("child-edge", 4*time.Second)  // due at exactly the end of the window
		r.arm("child-past-edge", 4*time.Second+1)
	})
	r.arm("sibling-2s", 2*time.Second) // armed before the children, so it wins the 2s tie

	r.c.Advance(5 * time.Second)
	check(t, "firings", r.fired, []firing{
		{"parent", time.Second},
		{"child-now", time.Second},
		{"sibling-2s", 2 * time.Second},
		{"child-2s", 2 * time.Second},
		{"child-2s-too", 2 * time.Second},
		{"child-edge", 5 * time.Second},
	})
	check(t, "Pending()", r.c.Pending(), 2)
	d, ok := r.c.NextDeadline()
	check(t, "NextDeadline()", ok, true)
	check(t, "NextDeadline()", d, epoch.Add(5*time.Second+1))
}

func TestFakeSet(t *testing.T) {
	r := newRecorder()
	r.arm("a", time.Minute)
	r.arm("b", time.Hour)
	r.c.Set(epoch.Add(time.Minute))
	check(t, "firings", r.fired, []firing{{"a", time.Minute}})
	check(t, "Now()", r.c.Now(), epoch.Add(time.Minute))

	r.c.Set(r.c.Now()) // the same instant is not going backwards
	got := recovered(func() { r.c.Set(epoch) })
	want := fmt.Sprintf("fakeclock: Set(%v) is before Now (%v): the clock never goes backwards",
		epoch, epoch.Add(time.Minute))
	check[any](t, "panic", got, want)
	check(t, "Now() after a rejected Set", r.c.Now(), epoch.Add(time.Minute))
	check(t, "Pending()", r.c.Pending(), 1)
}

func TestFakeAdvanceNegativePanics(t *testing.T) {
	c := fakeclock.NewFake(epoch)
	if recovered(func() { c.Advance(-time.Nanosecond) }) == nil {
		t.Error("Advance(-1ns) did not panic")
	}
	check(t, "Now()", c.Now(), epoch)
}

func TestFakeNextDeadline(t *testing.T) {
	c := fakeclock.NewFake(epoch)
	_, ok := c.NextDeadline()
	check(t, "NextDeadline() with no timers", ok, false)

	late := c.AfterFunc(time.Hour, func() {})
	early := c.AfterFunc(time.Minute, func() {})
	d, ok := c.NextDeadline()
	check(t, "ok", ok, true)
	check(t, "NextDeadline()", d, epoch.Add(time.Minute))

	early.Stop()
	d, ok = c.NextDeadline()
	check(t, "ok", ok, true)
	check(t, "NextDeadline() after Stop", d, epoch.Add(time.Hour))

	late.Stop()
	_, ok = c.NextDeadline()
	check(t, "NextDeadline() after stopping all", ok, false)
}

func TestFakeFireNext(t *testing.T) {
	r := newRecorder()
	check(t, "FireNext() with no timers", r.c.FireNext(), false)
	check(t, "Now()", r.c.Now(), epoch)

	r.arm("b1", 2*time.Second)
	r.arm("a1", time.Second)
	r.arm("a2", time.Second)
	r.arm("b2", 2*time.Second)
	r.c.AfterFunc(time.Second, func() {
		r.record("a3")
		r.arm("a3-child", 0) // due at the same instant, so it fires in this FireNext
		r.arm("a3-later", time.Nanosecond)
	})

	check(t, "FireNext()", r.c.FireNext(), true)
	check(t, "first instant", r.take(), []firing{
		{"a1", time.Second}, {"a2", time.Second}, {"a3", time.Second}, {"a3-child", time.Second},
	})
	check(t, "Now()", r.c.Now(), epoch.Add(time.Second))

	check(t, "FireNext()", r.c.FireNext(), true)
	check(t, "second instant", r.take(), []firing{{"a3-later", time.Second + 1}})

	check(t, "FireNext()", r.c.FireNext(), true)
	check(t, "third instant", r.take(), []firing{{"b1", 2 * time.Second}, {"b2", 2 * time.Second}})

	check(t, "FireNext() when drained", r.c.FireNext(), false)
	check(t, "Now()", r.c.Now(), epoch.Add(2*time.Second))
}

func TestFakeFireNextDueNow(t *testing.T) {
	r := newRecorder()
	r.arm("now", 0)
	check(t, "FireNext()", r.c.FireNext(), true)
	check(t, "firings", r.fired, []firing{{"now", 0}})
	check(t, "Now()", r.c.Now(), epoch)
}

func TestFakeReentrantAdvancePanics(t *testing.T) {
	calls := []struct {
		name string
		call func(*fakeclock.Fake)
	}{
		{"Advance", func(c *fakeclock.Fake) { c.Advance(time.Second) }},
		{"Set", func(c *fakeclock.Fake) { c.Set(c.Now().Add(time.Second)) }},
		{"FireNext", func(c *fakeclock.Fake) { c.FireNext() }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeclock.NewFake(epoch)
			c.AfterFunc(time.Second, func() { tt.call(c) })
			got := recovered(func() { c.Advance(time.Second) })
			check[any](t, "panic", got, "fakeclock: "+tt.name+" called from a timer callback")

			// A test that recovers a callback panic can keep using the clock.
			fired := false
			c.AfterFunc(0, func() { fired = true })
			c.Advance(0)
			check(t, "fired after recovery", fired, true)
		})
	}
}

func TestFakeNilFuncPanics(t *testing.T) {
	c := fakeclock.NewFake(epoch)
	if recovered(func() { c.AfterFunc(time.Second, nil) }) == nil {
		t.Error("AfterFunc(nil) did not panic")
	}
	check(t, "Pending()", c.Pending(), 0)
}

func TestFakeZeroValue(t *testing.T) {
	var c fakeclock.Fake
	check(t, "Now().IsZero()", c.Now().IsZero(), true)
	fired := false
	c.AfterFunc(time.Second, func() { fired = true })
	c.Advance(time.Second)
	check(t, "fired", fired, true)
}

func TestFakeAllocs(t *testing.T) {
	c := fakeclock.NewFake(epoch)
	f := func() {}
	// Grow the heap's backing array first, so only the timers themselves allocate below.
	for range 64 {
		c.AfterFunc(time.Second, f)
	}
	c.Advance(time.Second)
	allocs := testing.AllocsPerRun(100, func() {
		c.AfterFunc(time.Second, f).Stop()
		c.AfterFunc(time.Second, f)
		c.Advance(time.Second)
	})
	check(t, "allocations for two timers", allocs, 2.0)
}

func TestReal(t *testing.T) {
	c := fakeclock.NewReal()
	before := time.Now()
	if c.Now().Before(before) {
		t.Errorf("Real.Now() = %v is before time.Now() = %v", c.Now(), before)
	}

	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Real.AfterFunc never fired")
	}

	stopped := c.AfterFunc(time.Hour, func() { t.Error("a stopped timer fired") })
	check(t, "Stop of a pending timer", stopped.Stop(), true)
	check(t, "Stop of a stopped timer", stopped.Stop(), false)
}

func BenchmarkFakeArmAndFire(b *testing.B) {
	c := fakeclock.NewFake(epoch)
	f := func() {}
	for i := range b.N {
		c.AfterFunc(time.Duration(i%1000)*time.Millisecond, f)
		if i%100 == 99 {
			c.Advance(100 * time.Millisecond)
		}
	}
}
