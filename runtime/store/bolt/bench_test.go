package bolt_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// benchBatch fills b with a batch shaped like one engine step: four journal writes of 100
// bytes to one invocation.
func benchBatch(b store.Batch, i int, value []byte) store.Batch {
	b = b[:0]
	for j := range 4 {
		b = append(b, store.Op{Key: fmt.Sprintf("inv%06d/journal/%d", i%10_000, j), Value: value})
	}
	return b
}

// BenchmarkApplySync is the latency of one durable engine step with no group commit: Apply of
// a 4-op batch, then Sync. It is bound by the fsync of the file system the temp dir is on.
func BenchmarkApplySync(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "vigil.db"))
	defer mustClose(b, s)
	value := make([]byte, 100)
	var batch store.Batch
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		batch = benchBatch(batch, i, value)
		if err := s.Apply(batch); err != nil {
			b.Fatal(err)
		}
		if err := s.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGroupCommit is the throughput of group commit: 64 batches of 4 ops applied, then one
// Sync for all of them. One op here is one Sync; batches/s is the figure to compare with
// BenchmarkApplySync's 1/(ns/op).
func BenchmarkGroupCommit(b *testing.B) {
	const perSync = 64
	s := open(b, filepath.Join(b.TempDir(), "vigil.db"))
	defer mustClose(b, s)
	value := make([]byte, 100)
	var batch store.Batch
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for range perSync {
			batch = benchBatch(batch, n, value)
			n++
			if err := s.Apply(batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "batches/s")
	if st := s.Stats(); st.BatchesSynced != uint64(n) || st.BatchesSynced != perSync*st.Syncs {
		b.Fatalf("Stats = %+v after %d batches", st, n)
	}
}

// BenchmarkLoad is a recovery scan of 100,000 synced keys with 1,000 pending on top. The store
// is reopened after the synced keys, as recovery finds it: Open has checkpointed the log, so the
// synced keys are in the file.
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "vigil.db")
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100_000 {
		mustApply(b, s, put(fmt.Sprintf("key%08d", (i*7919)%100_000), "value"))
		if i%1000 == 999 {
			mustSync(b, s)
		}
	}
	mustAbandon(b, s)
	if s, err = bolt.Open(path, bolt.Options{NoSync: true}); err != nil {
		b.Fatal(err)
	}
	defer mustClose(b, s)
	for i := range 1000 {
		mustApply(b, s, put(fmt.Sprintf("key%08d", i*97), "pending"))
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Load(func(string, []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
