package engine_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// BenchmarkFinishedInvocations measures what finished invocations cost a server that keeps them
// for the default retention (24 h): memory while it runs and time to recover, at 10 000,
// 100 000 and 1 000 000 finished invocations on a bbolt store, with 1 000 unfinished ones
// (suspended on an awakeable) beside them. Memory must stay flat in the number finished, and
// recovery must take time in proportion to the unfinished. It ignores b.N: run it with
//
//	go test -run '^$' -bench FinishedInvocations -benchtime 1x ./runtime/engine/
//
// Reported: heap-MB (live heap after a GC, with every invocation finished and retained),
// rss-MB (the writing process's resident set then, bbolt's written pages included), recover-ms
// (engine.Recover on the reopened store) and recovered-heap-MB (live heap after recovery), and
// for a restart in a fresh process, as production restarts: restart-rss-MB and
// restart-recover-ms.
func BenchmarkFinishedInvocations(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchFinished(b, n, 1000) })
	}
}

func benchFinished(b *testing.B, finished, unfinished int) {
	path := filepath.Join(b.TempDir(), "vigil.db")
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var next uint64
	clock := fakeclock.NewFake(epoch)
	cfg := engine.Config{
		Services: testServices,
		Store:    st,
		Clock:    clock,
		NewID:    func() protocol.InvocationID { next++; return idN(next) },
	}
	e := engine.New(cfg)
	take := func() {
		if err := st.Apply(e.Ready().Batch); err != nil {
			b.Fatal(err)
		}
	}
	call := ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: "greet", Body: []byte(`{"document":"doc-1","reviewer":"ada"}`)}
	for i := range finished + unfinished {
		e.Ingress(engine.RequestID(i), call)
		take()
		id := idN(next)
		if i < unfinished {
			e.Receive(cmd(id, 1, 1, awakeableEntry()))
			e.Receive(suspendMsg(id, 1, 2, 1))
		} else {
			e.Receive(cmd(id, 1, 1, runEntry("charge", `{"ok":true,"receipt":"r-12345"}`)))
			e.Receive(endMsg(id, 1, 2, `"reviewed: looks good"`))
		}
		take()
		if i%5000 == 4999 {
			if err := st.Sync(); err != nil {
				b.Fatal(err)
			}
			clock.Advance(time.Millisecond)
		}
	}
	if err := st.Sync(); err != nil {
		b.Fatal(err)
	}
	heap, rss := liveHeapMB(), rssMB()
	if got := len(e.Unfinished()); got != unfinished {
		b.Fatalf("%d unfinished, want %d", got, unfinished)
	}
	e = nil
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	// A restarted server, as production has it: a fresh process that recovers from the file.
	// Its resident set holds what recovery read, not the pages the writes above touched.
	freshRSS, freshRecover := recoverInFreshProcess(b, path)
	b.ReportMetric(freshRSS, "restart-rss-MB")
	b.ReportMetric(freshRecover, "restart-recover-ms")

	st, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg.Store = st
	start := time.Now()
	rec, err := engine.Recover(cfg)
	took := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if got := len(rec.Unfinished()); got != unfinished {
		b.Fatalf("recovered %d unfinished, want %d", got, unfinished)
	}
	b.ReportMetric(heap, "heap-MB")
	b.ReportMetric(rss, "rss-MB")
	b.ReportMetric(float64(took.Microseconds())/1000, "recover-ms")
	b.ReportMetric(liveHeapMB(), "recovered-heap-MB")
	runtime.KeepAlive(rec)
}

// recoverInFreshProcess runs TestRecoverInFreshProcess in a new process of this test binary on
// the store at path, and returns the resident set after recovery and how long recovery took.
func recoverInFreshProcess(b *testing.B, path string) (rssMB, recoverMS float64) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecoverInFreshProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VIGIL_RECOVER_STORE="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("fresh process: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "recovered:"); ok {
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "rss=%f recover=%f", &rssMB, &recoverMS); err == nil {
				return rssMB, recoverMS
			}
		}
	}
	b.Fatalf("fresh process printed no figures:\n%s", out)
	return 0, 0
}

// TestRecoverInFreshProcess is the second process of BenchmarkFinishedInvocations: it recovers
// the store VIGIL_RECOVER_STORE names and prints its resident set and recovery time. It skips
// when run on its own.
func TestRecoverInFreshProcess(t *testing.T) {
	path := os.Getenv("VIGIL_RECOVER_STORE")
	if path == "" {
		t.Skip("the second process of BenchmarkFinishedInvocations")
	}
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var next uint64
	cfg := engine.Config{Services: testServices, Store: st, Clock: fakeclock.NewFake(epoch),
		NewID: func() protocol.InvocationID { next++; return idN(1<<40 + next) }}
	start := time.Now()
	e, err := engine.Recover(cfg)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	e.Ready()
	fmt.Printf("recovered: rss=%.1f recover=%.3f\n", rssMB(), float64(took.Microseconds())/1000)
	runtime.KeepAlive(e)
}

func liveHeapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// rssMB reads the process's resident set from /proc (Linux); 0 where there is none.
func rssMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
