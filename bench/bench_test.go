package bench

import (
	"context"
	"testing"
	"time"
)

// Suspension settings of BenchmarkSuspendedResolve: attempts suspend after suspendAfter, and
// each round trip waits suspendWait before resolving.
const (
	suspendAfter = 10 * time.Millisecond
	suspendWait  = 50 * time.Millisecond
)

// fixture is a host, a webhook and a client for one benchmark run.
type fixture struct {
	host *Host
	cb   *Callbacks
	c    *Client
}

// newFixture starts a host (fsync on, data in b.TempDir) whose attempts suspend after
// inactivity (zero: the host's default), with a webhook and a client for concurrency conns.
func newFixture(b *testing.B, inactivity time.Duration, conns int) fixture {
	b.Helper()
	h, err := StartHost(HostOptions{DataDir: b.TempDir(), InactivityTimeout: inactivity})
	if err != nil {
		b.Fatal(err)
	}
	cb, err := NewCallbacks("127.0.0.1:0")
	if err != nil {
		_ = h.Close()
		b.Fatal(err)
	}
	f := fixture{host: h, cb: cb, c: NewClient(h.URL, conns)}
	b.Cleanup(func() {
		f.c.Close()
		_ = f.cb.Close()
		if err := f.host.Close(); err != nil {
			b.Errorf("host: %v", err)
		}
	})
	return f
}

// fsyncs is the host's store's fsync count so far.
func (f fixture) fsyncs() uint64 { return f.host.Host.Stats().Store.Fsyncs }

// report fails b on errors and reports r's throughput and latency percentiles, and the store's
// fsyncs per operation since fsyncsBefore.
func report(b *testing.B, f fixture, fsyncsBefore uint64, r Result) {
	b.Helper()
	if r.Errors > 0 {
		b.Fatalf("%d of %d operations failed; first: %v", r.Errors, r.Errors+r.Ops, r.FirstError)
	}
	if r.Ops > 0 {
		b.ReportMetric(float64(f.fsyncs()-fsyncsBefore)/float64(r.Ops), "fsyncs/op")
	}
	b.ReportMetric(r.PerSecond(), "ops/s")
	b.ReportMetric(float64(r.Percentile(0.5))/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(r.Percentile(0.99))/float64(time.Millisecond), "p99-ms")
}

// benchEcho runs b.N echo calls at concurrency c.
func benchEcho(b *testing.B, c int) {
	f := newFixture(b, 0, c)
	b.ResetTimer()
	before := f.fsyncs()
	r, err := Echo(context.Background(), f.c, Load{Concurrency: c, Ops: b.N})
	if err != nil {
		b.Fatal(err)
	}
	report(b, f, before, r)
}

// benchRoundTrip runs b.N awakeable round trips at concurrency c; with part it reports the
// resolve-to-result latencies instead of the round trips'.
func benchRoundTrip(b *testing.B, c int, part bool) {
	f := newFixture(b, 0, 2*c)
	b.ResetTimer()
	before := f.fsyncs()
	whole, resolve, err := AwakeableRoundTrip(context.Background(), f.c, f.cb, Load{Concurrency: c, Ops: b.N})
	if err != nil {
		b.Fatal(err)
	}
	if part {
		resolve.Errors, resolve.FirstError = whole.Errors, whole.FirstError
		report(b, f, before, resolve)
		return
	}
	report(b, f, before, whole)
}

// BenchmarkEchoC1 measures synchronous echo calls one at a time.
func BenchmarkEchoC1(b *testing.B) { benchEcho(b, 1) }

// BenchmarkEchoC16 measures synchronous echo calls sixteen at a time.
func BenchmarkEchoC16(b *testing.B) { benchEcho(b, 16) }

// BenchmarkEchoC64 measures synchronous echo calls sixty-four at a time.
func BenchmarkEchoC64(b *testing.B) { benchEcho(b, 64) }

// BenchmarkAwakeableRoundTripC1 measures awakeable round trips one at a time.
func BenchmarkAwakeableRoundTripC1(b *testing.B) { benchRoundTrip(b, 1, false) }

// BenchmarkAwakeableRoundTripC16 measures awakeable round trips sixteen at a time.
func BenchmarkAwakeableRoundTripC16(b *testing.B) { benchRoundTrip(b, 16, false) }

// BenchmarkAwakeableRoundTripC64 measures awakeable round trips sixty-four at a time.
func BenchmarkAwakeableRoundTripC64(b *testing.B) { benchRoundTrip(b, 64, false) }

// BenchmarkResolveToResult measures, one round trip at a time, the time from the resolve
// POST to the waiting call's answer.
func BenchmarkResolveToResult(b *testing.B) { benchRoundTrip(b, 1, true) }

// BenchmarkSuspendedResolve measures resolve-to-result of invocations that have suspended.
func BenchmarkSuspendedResolve(b *testing.B) {
	f := newFixture(b, suspendAfter, 2)
	b.ResetTimer()
	before := f.fsyncs()
	r, err := SuspendedResolve(context.Background(), f.c, f.cb, suspendWait, Load{Concurrency: 1, Ops: b.N})
	if err != nil {
		b.Fatal(err)
	}
	report(b, f, before, r)
}
