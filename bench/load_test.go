package bench

import (
	"context"
	"testing"
	"time"
)

// TestPercentile checks the nearest-rank percentiles the tables print.
func TestPercentile(t *testing.T) {
	var r Result
	if got := r.Percentile(0.5); got != 0 {
		t.Fatalf("empty: p50 = %s, want 0", got)
	}
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := r.Percentile(c.p); got != c.want {
			t.Errorf("p%.0f = %s, want %s", c.p*100, got, c.want)
		}
	}
}

// TestLoadsSmoke runs every load for a few operations against a real host, so that the
// benchmarks and the load generator cannot rot unnoticed.
func TestLoadsSmoke(t *testing.T) {
	h, err := StartHost(HostOptions{DataDir: t.TempDir(), InactivityTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.Close(); err != nil {
			t.Errorf("host: %v", err)
		}
	}()
	cb, err := NewCallbacks("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	c := NewClient(h.URL, 8)
	defer c.Close()
	ctx := context.Background()

	check := func(r Result, want int) {
		t.Helper()
		if r.Errors > 0 || r.Ops != want || len(r.Latencies) != want {
			t.Errorf("%s: %d ops, %d latencies, %d errors (first: %v); want %d ops", r.Name, r.Ops, len(r.Latencies), r.Errors, r.FirstError, want)
		}
	}
	echo, err := Echo(ctx, c, Load{Concurrency: 4, Ops: 20})
	if err != nil {
		t.Fatal(err)
	}
	check(echo, 20)
	whole, part, err := AwakeableRoundTrip(ctx, c, cb, Load{Concurrency: 2, Ops: 6})
	if err != nil {
		t.Fatal(err)
	}
	check(whole, 6)
	check(part, 6)
	suspended, err := SuspendedResolve(ctx, c, cb, 30*time.Millisecond, Load{Concurrency: 1, Ops: 2})
	if err != nil {
		t.Fatal(err)
	}
	check(suspended, 2)
}
