package sim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestAppendDurationIsDurationString: appendDuration writes what Duration.String returns, for
// durations of every scale (each unit, whole and fractional, negative, the extremes), and the
// reasons and the timeout's message built on it are the texts they replace.
func TestAppendDurationIsDurationString(t *testing.T) {
	edges := []time.Duration{0, 1, -1, 999, 1000, 1001, 999999, time.Millisecond, time.Second - 1, time.Second,
		time.Minute, time.Hour, time.Hour + 5*time.Second, 61 * time.Minute, 1500 * time.Microsecond,
		math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	scaled := rapid.Custom(func(t *rapid.T) time.Duration {
		v := rapid.Int64().Draw(t, "v")
		if shift := rapid.IntRange(0, 63).Draw(t, "shift"); shift > 0 {
			v >>= shift // durations of every size, not only the huge ones a uniform draw gives
		}
		return time.Duration(v)
	})
	d := rapid.OneOf(rapid.SampledFrom(edges), scaled)
	rapid.Check(t, func(t *rapid.T) {
		a, b := d.Draw(t, "a"), d.Draw(t, "b")
		if got, want := string(appendDuration([]byte("x"), a)), "x"+a.String(); got != want {
			t.Fatalf("appendDuration(%d) = %q, want %q", int64(a), got, want)
		}
		var r clientRoom
		if got, want := r.durationReason("for ", a), "for "+a.String(); got != want {
			t.Fatalf("durationReason = %q, want %q", got, want)
		}
		if got, want := r.stepReason(a, b), "offset "+a.String()+" -> "+b.String(); got != want {
			t.Fatalf("stepReason = %q, want %q", got, want)
		}
		te := timeoutError{a}
		if got, want := string(te.appendError([]byte("x"))), "x"+fmt.Errorf("no answer within %s: %w", a, ErrTimeout).Error(); got != want {
			t.Fatalf("timeoutError.appendError = %q, want %q", got, want)
		}
		if got, want := te.Error(), fmt.Errorf("no answer within %s: %w", a, ErrTimeout).Error(); got != want {
			t.Fatalf("timeoutError.Error = %q, want %q", got, want)
		}
	})
}
