package fakeclock

import "time"

// Real is the production Clock, backed by the time package. Its zero value is ready to use.
type Real struct{}

// Compile-time checks that both clocks satisfy Clock, so a signature drift fails the build
// here rather than at some distant call site.
var (
	_ Clock = Real{}
	_ Clock = (*Fake)(nil)
)

// NewReal returns the production clock. It exists so call sites read symmetrically with NewFake.
func NewReal() Real { return Real{} }

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc calls f on its own goroutine after d, as time.AfterFunc does.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
