package bolt_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bbolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

func TestMain(m *testing.M) {
	// The store starts no goroutines; a leak would be a Sync or test helper left running.
	goleak.VerifyTestMain(m)
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "vigil.db"))
	})
}

// TestContractAfterReopen runs the suite on stores that have been through a sync, a crash
// and a reopen, so that the state read back from the file is held to the same contract.
func TestContractAfterReopen(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "vigil.db")
		s := open(t, path)
		mustApply(t, s, put("x", "1"), put("y", "1"))
		mustSync(t, s)
		mustApply(t, s, del("x"))
		mustSync(t, s)
		mustApply(t, s, put("lost", "1"))
		mustAbandon(t, s)
		s = open(t, path)
		mustApply(t, s, del("y"))
		mustClose(t, s)
		s = open(t, path)
		if got := storetest.Dump(t, s); len(got) != 0 {
			t.Fatalf("setup left %v", got)
		}
		return s
	})
}

// open opens path with fsync on: most tests are about what reaches the disk. Its log is the
// smallest allowed, so that tests which write more than a few kilobytes checkpoint too.
func open(t testing.TB, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{LogBytes: bolt.MinLogBytes})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func put(key, value string) store.Op { return store.Op{Key: key, Value: []byte(value)} }
func del(key string) store.Op        { return store.Op{Key: key, Delete: true} }

func mustApply(t testing.TB, s *bolt.Store, ops ...store.Op) {
	t.Helper()
	if err := s.Apply(ops); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func mustSync(t testing.TB, s *bolt.Store) {
	t.Helper()
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func mustClose(t testing.TB, s *bolt.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustAbandon(t testing.TB, s *bolt.Store) {
	t.Helper()
	if err := bolt.Abandon(s); err != nil {
		t.Fatalf("abandon: %v", err)
	}
}

// state returns what Load reports as a map, checking on the way that Get agrees.
func state(t testing.TB, s *bolt.Store) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, kv := range storetest.Dump(t, s) {
		got[kv.Key] = kv.Value
		v, ok, err := s.Get(kv.Key)
		if err != nil || !ok || string(v) != kv.Value {
			t.Errorf("Get(%q) = %q, %v, %v; Load reported %q", kv.Key, v, ok, err, kv.Value)
		}
	}
	return got
}

func checkState(t testing.TB, s *bolt.Store, want map[string]string) {
	t.Helper()
	if diff := cmp.Diff(want, state(t, s)); diff != "" {
		t.Errorf("state mismatch (-want +got):\n%s", diff)
	}
}

func TestReopenAfterSyncKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	mustApply(t, s, put("a", "1"), put("b", "2"), put("c", "3"))
	mustApply(t, s, del("b"), put("a", "1b"), store.Op{Key: "empty", Value: nil})
	mustSync(t, s)
	want := map[string]string{"a": "1b", "c": "3", "empty": ""}
	checkState(t, s, want)
	mustAbandon(t, s) // a crash right after Sync: nothing synced may be lost

	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, want)
	if v, ok, err := s.Get("empty"); err != nil || !ok || v == nil || len(v) != 0 {
		t.Errorf("Get(empty) = %q (nil %v), %v, %v; want a present, empty value", v, v == nil, ok, err)
	}
	if v, ok, err := s.Get("b"); err != nil || ok || v != nil {
		t.Errorf("Get(b) = %q, %v, %v; want deleted", v, ok, err)
	}
}

func TestReopenWithoutSyncLosesPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	mustApply(t, s, put("a", "1"), put("b", "1"))
	mustSync(t, s)
	mustApply(t, s, put("a", "2"), put("c", "2"))
	mustApply(t, s, del("b"))
	mustApply(t, s, put("d", "3"))
	checkState(t, s, map[string]string{"a": "2", "c": "2", "d": "3"})
	if got := s.Stats().Pending; got != 3 {
		t.Errorf("Stats().Pending = %d, want 3", got)
	}
	mustAbandon(t, s)

	// All three unsynced batches are gone, and only they are.
	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, map[string]string{"a": "1", "b": "1"})
	if st := s.Stats(); st != (bolt.Stats{}) {
		t.Errorf("Stats after reopen = %+v, want zero", st)
	}
}

func TestCloseCommitsPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	mustApply(t, s, put("a", "1"))
	mustApply(t, s, put("b", "2"))
	mustClose(t, s)
	if st := s.Stats(); st.Syncs != 1 || st.BatchesSynced != 2 || st.Pending != 0 {
		t.Errorf("Stats after Close = %+v, want 1 sync of 2 batches", st)
	}
	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, map[string]string{"a": "1", "b": "2"})
}

func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	want := map[string]string{}
	for i := range 100 {
		k := fmt.Sprintf("inv%03d/journal/0", i)
		mustApply(t, s, put(k, strconv.Itoa(i)), put("last", strconv.Itoa(i)))
		want[k] = strconv.Itoa(i)
	}
	want["last"] = "99"
	if st := s.Stats(); st != (bolt.Stats{Pending: 100}) {
		t.Errorf("Stats before Sync = %+v, want 100 pending and no syncs", st)
	}
	mustSync(t, s)
	mustSync(t, s) // nothing pending: no commit
	if st := counts(s.Stats()); st != (bolt.Stats{Syncs: 1, BatchesSynced: 100}) {
		t.Errorf("Stats after Sync = %+v, want one commit of 100 batches", st)
	}
	mustAbandon(t, s)

	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, want)
}

// counts returns st's batch and sync counts alone, for tests that compare them; the rest
// (fsyncs, log bytes) depends on the file system and the encoding.
func counts(st bolt.Stats) bolt.Stats {
	return bolt.Stats{Syncs: st.Syncs, BatchesSynced: st.BatchesSynced, Pending: st.Pending}
}

func TestEmptyBatchIsNotCounted(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "vigil.db"))
	defer mustClose(t, s)
	mustApply(t, s)
	mustSync(t, s)
	if st := s.Stats(); st != (bolt.Stats{}) {
		t.Errorf("Stats = %+v, want zero: an empty batch has nothing to commit", st)
	}
}

func TestInvalidBatchAppliesNothing(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "vigil.db"))
	defer mustClose(t, s)
	mustApply(t, s, put("a", "1"))
	bad := []store.Batch{
		{put("b", "2"), put("", "empty key"), put("c", "3")},
		{put("b", "2"), del("")},
		{put("b", "2"), put(strings.Repeat("k", bbolt.MaxKeySize+1), "long key")},
	}
	for i, b := range bad {
		err := s.Apply(b)
		if !errors.Is(err, bolt.ErrInvalidBatch) {
			t.Errorf("Apply of bad batch %d = %v, want ErrInvalidBatch", i, err)
		}
		if err != nil && !strings.Contains(err.Error(), "op 1 of") {
			t.Errorf("error %q does not name the bad op", err)
		}
	}
	if err := s.Apply(store.Batch{put("", "x")}); err == nil || !strings.Contains(err.Error(), "empty key") {
		t.Errorf("Apply of an empty key = %v, want an error saying so", err)
	}
	// Nothing of the refused batches is visible, the store is still usable, and they do not
	// count as batches.
	checkState(t, s, map[string]string{"a": "1"})
	if st := s.Stats(); st.Pending != 1 {
		t.Errorf("Stats().Pending = %d, want 1", st.Pending)
	}
	mustSync(t, s)
	if _, ok, err := s.Get(""); ok || err != nil {
		t.Errorf("Get(\"\") = %v, %v; want absent", ok, err)
	}
}

func TestOpenCreatesFileWithFormatHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	mustClose(t, s)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600", perm)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if meta == nil {
			return errors.New("no meta bucket")
		}
		if got := string(meta.Get([]byte("format"))); got != "vigil-store" {
			t.Errorf("format = %q", got)
		}
		if got := string(meta.Get([]byte("version"))); got != "3" {
			t.Errorf("version = %q", got)
		}
		if got := meta.Get([]byte("log-id")); len(got) != 16 {
			t.Errorf("log-id = %x, want 16 bytes", got)
		}
		if got := string(meta.Get([]byte("log-checkpoint"))); got != "0" {
			t.Errorf("log-checkpoint = %q, want 0: Close checkpointed nothing", got)
		}
		if tx.Bucket([]byte("data")) == nil {
			return errors.New("no data bucket")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestOpenBlankBboltFile covers a crash between bbolt creating the file and the transaction
// that writes the format header: the file holds nothing, so Open claims it.
func TestOpenBlankBboltFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(path string) error
	}{
		{"zero bytes", func(path string) error { return os.WriteFile(path, nil, 0o600) }},
		{"bbolt without buckets", func(path string) error { return writeBbolt(path, func(*bbolt.Tx) error { return nil }) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vigil.db")
			if err := tc.setup(path); err != nil {
				t.Fatal(err)
			}
			s := open(t, path)
			mustApply(t, s, put("a", "1"))
			mustClose(t, s)
			s = open(t, path)
			defer mustClose(t, s)
			checkState(t, s, map[string]string{"a": "1"})
		})
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "vigil.db")
	_, err := bolt.Open(path, bolt.Options{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Dir(path)) {
		t.Errorf("Open in a missing directory = %v, want fs.ErrNotExist naming the directory", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created the directory: %v", err)
	}
}

func TestOpenDirectoryAsFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := bolt.Open(dir, bolt.Options{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Open of a directory = %v, want an error saying it is a directory", err)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)

	const timeout = 200 * time.Millisecond
	start := time.Now()
	second, err := bolt.Open(path, bolt.Options{Timeout: timeout})
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second Open of an open store succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "locked by another process") || !strings.Contains(msg, path) {
		t.Errorf("error %q does not say the store at %s is locked", msg, path)
	}
	if elapsed > timeout+2*time.Second {
		t.Errorf("second Open took %v, want about the %v timeout", elapsed, timeout)
	}

	// A negative timeout does not wait.
	start = time.Now()
	if _, err := bolt.Open(path, bolt.Options{Timeout: -1}); !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("Open with a negative timeout = %v, want ErrLocked", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Open with a negative timeout took %v", elapsed)
	}

	// The refused Opens changed nothing, and the lock goes with Close.
	mustApply(t, s, put("a", "1"))
	mustClose(t, s)
	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, map[string]string{"a": "1"})
}

// checkRefused opens path, requires an error wrapping want whose message contains every one of
// mentions, and requires the file to be byte-for-byte what it was.
func checkRefused(t *testing.T, path string, want error, mentions ...string) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(path, bolt.Options{Timeout: -1})
	if err == nil {
		s.Close()
		t.Fatalf("Open succeeded, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Errorf("Open = %v, want an error wrapping %v", err, want)
	}
	for _, m := range append([]string{path}, mentions...) {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("Open changed the file it refused (%d bytes before, %d after)", len(before), len(after))
	}
	// The refusal released the file: a second attempt is refused the same way, not locked.
	if _, err := bolt.Open(path, bolt.Options{Timeout: -1}); errors.Is(err, bolt.ErrLocked) {
		t.Errorf("second Open = %v: the refused Open kept the lock", err)
	}
}

func TestOpenCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for _, size := range []int{1, 100, 4095, 4096, 5000, 8192, 3 * 4096, 64 << 10} {
		t.Run(fmt.Sprintf("random %d bytes", size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vigil.db")
			if err := os.WriteFile(path, random(size), 0o600); err != nil {
				t.Fatal(err)
			}
			checkRefused(t, path, bolt.ErrCorrupt, "bbolt")
		})
	}
	t.Run("text file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vigil.db")
		if err := os.WriteFile(path, bytes.Repeat([]byte("not a database\n"), 1000), 0o600); err != nil {
			t.Fatal(err)
		}
		checkRefused(t, path, bolt.ErrCorrupt)
	})
	t.Run("meta pages damaged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vigil.db")
		s := open(t, path)
		mustApply(t, s, put("a", "1"))
		mustClose(t, s)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Flip a byte in each meta page's checksummed fields (pages 0 and 1; bbolt's page
		// size is the OS page size here).
		page := os.Getpagesize()
		b[16+8] ^= 0xff
		b[page+16+8] ^= 0xff
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		checkRefused(t, path, bolt.ErrCorrupt)
	})
	t.Run("truncated", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vigil.db")
		s, err := bolt.Open(path, bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2000 {
			mustApply(t, s, put(fmt.Sprintf("key%05d", i), strings.Repeat("v", 200)))
		}
		mustClose(t, s)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, info.Size()/3); err != nil {
			t.Fatal(err)
		}
		checkRefused(t, path, bolt.ErrCorrupt, "truncated: its meta page counts")
	})
}

// writeBbolt creates a bbolt file at path and runs fill in one write transaction.
func writeBbolt(path string, fill func(tx *bbolt.Tx) error) error {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	if err := db.Update(fill); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// writeMeta creates a bbolt file whose meta bucket holds meta, and a data bucket.
func writeMeta(path string, meta map[string]string) error {
	return writeBbolt(path, func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		for k, v := range meta {
			if err := b.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		_, err = tx.CreateBucket([]byte("data"))
		return err
	})
}

func TestOpenIncompatible(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(path string) error
		mentions []string
	}{
		{
			name:     "newer version",
			setup:    func(p string) error { return writeMeta(p, map[string]string{"format": "vigil-store", "version": "4"}) },
			mentions: []string{`format "vigil-store" version 4`, "newer", `supports format "vigil-store" versions 1 to 3`},
		},
		{
			name:     "version zero",
			setup:    func(p string) error { return writeMeta(p, map[string]string{"format": "vigil-store", "version": "0"}) },
			mentions: []string{"version 0", "unknown"},
		},
		{
			name: "unreadable version",
			setup: func(p string) error {
				return writeMeta(p, map[string]string{"format": "vigil-store", "version": "one"})
			},
			mentions: []string{`"one"`},
		},
		{
			name:     "no version",
			setup:    func(p string) error { return writeMeta(p, map[string]string{"format": "vigil-store"}) },
			mentions: []string{"without a version"},
		},
		{
			name: "wrong format name",
			setup: func(p string) error {
				return writeMeta(p, map[string]string{"format": "restate-store", "version": "1"})
			},
			mentions: []string{`format "restate-store"`, `supports format "vigil-store" versions 1 to 3`},
		},
		{
			name:     "no format name",
			setup:    func(p string) error { return writeMeta(p, map[string]string{"version": "1"}) },
			mentions: []string{`without a "format" key`},
		},
		{
			name: "another program's bbolt file",
			setup: func(p string) error {
				return writeBbolt(p, func(tx *bbolt.Tx) error {
					_, err := tx.CreateBucket([]byte("users"))
					return err
				})
			},
			mentions: []string{`"users"`, `no "meta" bucket`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vigil.db")
			if err := tt.setup(path); err != nil {
				t.Fatal(err)
			}
			checkRefused(t, path, bolt.ErrIncompatible, tt.mentions...)
		})
	}
}

func TestOpenMissingDataBucketIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	if err := writeBbolt(path, func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("format"), []byte("vigil-store")); err != nil {
			return err
		}
		return b.Put([]byte("version"), []byte("1"))
	}); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, path, bolt.ErrCorrupt, `no "data" bucket`)
}

func TestFailedCommitFailsStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	mustApply(t, s, put("a", "1"))
	mustSync(t, s)
	mustApply(t, s, put("b", "2"))
	if err := bolt.BreakDB(s); err != nil {
		t.Fatal(err)
	}
	err := s.Sync()
	if !errors.Is(err, bolt.ErrFailed) || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Sync of a broken store = %v, want ErrFailed wrapping the cause (the log is closed)", err)
	}
	if !strings.Contains(err.Error(), "may be lost") {
		t.Errorf("error %q does not say writes may be lost", err)
	}
	calls := map[string]func() error{
		"Apply": func() error { return s.Apply(store.Batch{put("c", "3")}) },
		"Sync":  s.Sync,
		"Load":  func() error { return s.Load(func(string, []byte) error { return nil }) },
		"Get":   func() error { _, _, err := s.Get("a"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, bolt.ErrFailed) || !errors.Is(err, os.ErrClosed) {
			t.Errorf("%s after a failed commit = %v, want ErrFailed", name, err)
		}
	}
	if st := s.Stats(); st.Syncs != 1 || st.Pending != 1 {
		t.Errorf("Stats = %+v, want 1 sync and the failed batch still pending", st)
	}
	// Close releases the file and still reports the failure; after it, ErrClosed.
	if err := s.Close(); !errors.Is(err, bolt.ErrFailed) {
		t.Errorf("Close of a failed store = %v, want ErrFailed", err)
	}
	if err := s.Sync(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Sync after Close = %v, want ErrClosed", err)
	}
	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, map[string]string{"a": "1"})
}

func TestClosedStore(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "vigil.db"))
	mustClose(t, s)
	if _, _, err := s.Get("a"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestLoadValueIsScratch(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "vigil.db"))
	defer mustClose(t, s)
	mustApply(t, s, put("a", "aaaa"), put("c", "cccc"))
	mustSync(t, s)
	mustApply(t, s, put("b", "bbbb"))
	// Writing into every value, from the file and from the overlay, must neither crash (the
	// file is mapped read-only) nor change the store.
	if err := s.Load(func(_ string, value []byte) error {
		for i := range value {
			value[i] = 'X'
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkState(t, s, map[string]string{"a": "aaaa", "b": "bbbb", "c": "cccc"})
}

func TestLoadPanicInCallbackPropagates(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "vigil.db"))
	defer mustClose(t, s)
	mustApply(t, s, put("a", "1"))
	mustSync(t, s)
	got := func() (r any) {
		defer func() { r = recover() }()
		_ = s.Load(func(string, []byte) error { panic("caller bug") })
		return nil
	}()
	if got != "caller bug" {
		t.Fatalf("recovered %v, want the callback's panic", got)
	}
	// The store is not failed by someone else's panic, and its locks were released.
	mustApply(t, s, put("b", "2"))
	mustSync(t, s)
	checkState(t, s, map[string]string{"a": "1", "b": "2"})
}

// TestConcurrentApplySync applies from several goroutines while one syncs in a loop and one
// reads, as the host does (engine goroutine applies, group-commit loop syncs). Each writer's
// batch i writes its item i and sets its "last" key to i, so at every instant a consistent
// store holds, per writer, items 0..last exactly; a reader that saw a stale overlay or file
// value between a commit and its retirement would break that.
func TestConcurrentApplySync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	const writers, perWriter = 4, 150
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				b := store.Batch{
					put(fmt.Sprintf("w%d/item/%03d", w, i), strconv.Itoa(i)),
					put(fmt.Sprintf("w%d/last", w), strconv.Itoa(i)),
				}
				if i > 0 {
					// Overwrite the previous item and delete a scratch key, so retirement
					// of overlay entries meets overwrites and deletes.
					b = append(b, put(fmt.Sprintf("w%d/item/%03d", w, i-1), strconv.Itoa(i-1)), del(fmt.Sprintf("w%d/tmp", w)))
				}
				b = append(b, put(fmt.Sprintf("w%d/tmp", w), "t"))
				if err := s.Apply(b); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := s.Sync(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	bg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			checkConsistent(t, s, writers)
		}
	})
	wg.Wait()
	close(done)
	bg.Wait()
	mustSync(t, s)

	st := s.Stats()
	if st.BatchesSynced != writers*perWriter || st.Pending != 0 {
		t.Errorf("Stats = %+v, want %d batches synced", st, writers*perWriter)
	}
	t.Logf("%d batches in %d commits", st.BatchesSynced, st.Syncs)
	want := map[string]string{}
	for w := range writers {
		for i := range perWriter {
			want[fmt.Sprintf("w%d/item/%03d", w, i)] = strconv.Itoa(i)
		}
		want[fmt.Sprintf("w%d/last", w)] = strconv.Itoa(perWriter - 1)
		want[fmt.Sprintf("w%d/tmp", w)] = "t"
	}
	checkState(t, s, want)
	mustAbandon(t, s)
	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, want)
}

// checkConsistent checks the invariant TestConcurrentApplySync's writers keep.
func checkConsistent(t *testing.T, s *bolt.Store, writers int) {
	items := make([]int, writers)
	last := make([]int, writers)
	for w := range last {
		last[w] = -1
	}
	err := s.Load(func(key string, value []byte) error {
		var w, i int
		switch {
		case strings.Contains(key, "/item/"):
			if _, err := fmt.Sscanf(key, "w%d/item/%d", &w, &i); err != nil {
				return err
			}
			if string(value) != strconv.Itoa(i) {
				return fmt.Errorf("%s = %q", key, value)
			}
			items[w]++
		case strings.HasSuffix(key, "/last"):
			if _, err := fmt.Sscanf(key, "w%d/last", &w); err != nil {
				return err
			}
			n, err := strconv.Atoi(string(value))
			if err != nil {
				return err
			}
			last[w] = n
		}
		return nil
	})
	if err != nil {
		t.Errorf("Load: %v", err)
		return
	}
	for w := range writers {
		if items[w] != last[w]+1 {
			t.Errorf("writer %d: last = %d but %d items visible", w, last[w], items[w])
		}
	}
}

// TestApplyDuringCommit holds a commit open and shows that meanwhile Apply, Load and Get go on,
// that the committing batches stay visible, and that a key overwritten during the commit keeps
// its newer value once the commit retires the older one.
func TestApplyDuringCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	inCommit, release := make(chan struct{}), make(chan struct{})
	bolt.SetBeforeCommit(s, func() {
		inCommit <- struct{}{}
		<-release
	})
	mustApply(t, s, put("a", "1"), put("b", "1"), put("gone", "1"))
	syncErr := make(chan error)
	go func() { syncErr <- s.Sync() }()
	<-inCommit

	// The commit of batch 1 is open. None of these may wait for it.
	mustApply(t, s, put("a", "2"), del("gone"), put("c", "2"))
	checkState(t, s, map[string]string{"a": "2", "b": "1", "c": "2"})
	if st := s.Stats(); st.Pending != 2 || st.Syncs != 0 {
		t.Errorf("Stats during the commit = %+v, want 2 pending, no syncs yet", st)
	}

	close(release)
	if err := <-syncErr; err != nil {
		t.Fatalf("Sync: %v", err)
	}
	// Batch 1 is in the file; batch 2, applied during its commit, is still on top of it.
	checkState(t, s, map[string]string{"a": "2", "b": "1", "c": "2"})
	if st := counts(s.Stats()); st != (bolt.Stats{Syncs: 1, BatchesSynced: 1, Pending: 1}) {
		t.Errorf("Stats after the commit = %+v, want 1 batch synced and 1 pending", st)
	}
	bolt.SetBeforeCommit(s, nil)
	mustAbandon(t, s)

	s = open(t, path)
	defer mustClose(t, s)
	checkState(t, s, map[string]string{"a": "1", "b": "1", "gone": "1"})
}

// TestDamagedPagesNeverCrash scribbles over random non-meta pages of a valid file. bbolt has
// checksums on its meta pages only, so some damage goes unseen (a changed byte inside a value);
// what this pins is that no damage crashes the process: Open, Load, Get and Sync either work or
// return ErrCorrupt, a refused file is left as it was, and a store that met damage is failed.
func TestDamagedPagesNeverCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orig.db")
	s, err := bolt.Open(path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		mustApply(t, s, put(fmt.Sprintf("key%05d", i), strings.Repeat("v", 100)))
	}
	mustClose(t, s)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Close checkpointed everything: the log holds no record, but a version 3 file needs it.
	log, err := os.ReadFile(bolt.LogPath(path))
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	rng := rand.New(rand.NewPCG(5, 6))
	outcomes := map[string]int{}
	for trial := range 100 {
		b := bytes.Clone(orig)
		pg := 2 + rng.IntN(len(b)/page-2) // pages 0 and 1 are the checksummed meta pages
		for i := range page {
			if rng.IntN(4) == 0 {
				b[pg*page+i] = byte(rng.Uint32())
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("damaged%03d.db", trial))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bolt.LogPath(p), log, 0o600); err != nil {
			t.Fatal(err)
		}
		outcomes[damageTrial(t, p, b)]++
	}
	t.Logf("outcomes of 100 damaged files: %v", outcomes)
}

// damageTrial opens, loads and writes the damaged file at p, whose bytes are b, and says how far
// it got.
func damageTrial(t *testing.T, p string, b []byte) string {
	s, err := bolt.Open(p, bolt.Options{Timeout: -1, NoSync: true, LogBytes: bolt.MinLogBytes})
	if err != nil {
		if !errors.Is(err, bolt.ErrCorrupt) {
			t.Errorf("%s: Open = %v, want nil or ErrCorrupt", p, err)
		}
		if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
			t.Errorf("%s: refused file was changed", p)
		}
		return "refused by Open"
	}
	defer s.Close()
	err = s.Load(func(string, []byte) error { return nil })
	if err == nil {
		if err := s.Apply(store.Batch{put("key00000", "new"), del("key01500"), put("zzz", "new")}); err != nil {
			t.Fatalf("%s: Apply: %v", p, err)
		}
		err = s.Sync()
		if err == nil {
			_, _, err = s.Get("key02999")
		}
		if err == nil {
			return "undetected"
		}
	}
	if !errors.Is(err, bolt.ErrCorrupt) || !errors.Is(err, bolt.ErrFailed) {
		t.Errorf("%s: %v, want ErrCorrupt and ErrFailed", p, err)
	}
	if err := s.Apply(nil); !errors.Is(err, bolt.ErrFailed) {
		t.Errorf("%s: Apply after damage was found = %v, want ErrFailed", p, err)
	}
	return "refused after Open"
}
