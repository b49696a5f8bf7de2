// Package fakeclock provides the clock every runtime and simulator component reads time from:
// Real for production and Fake for tests and the simulator, where time only moves when told to.
//
// It imports nothing of Vigil's. Code under runtime/ must take a Clock and never call time.Now.
package fakeclock

import "time"

// Clock is the source of time and timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once the clock reaches now+d, and returns a handle that can cancel it.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call; it reports whether the call was still pending.
	Stop() bool
}
