package bolt_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	bbolt "go.etcd.io/bbolt"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

// scratch are the options of tests that crash a store by abandoning it: a process crash loses
// nothing the kernel has, fsync or not, so they skip it; the smallest log makes them wrap it.
var scratch = bolt.Options{NoSync: true, LogBytes: bolt.MinLogBytes}

// TestSyncIsOneFdatasync: with fsync on, a Sync whose record fits in the log costs exactly one
// fdatasync, however many batches it carries; a Sync whose record does not fit checkpoints, at
// bbolt's cost (data pages, then meta page, and one more if the file grew).
func TestSyncIsOneFdatasync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path, bolt.Options{LogBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	for i := range 10 {
		for j := range i + 1 {
			mustApply(t, s, put(fmt.Sprintf("k%d/%d", i, j), "v"), del("gone"))
		}
		before := s.Stats()
		mustSync(t, s)
		after := s.Stats()
		if got := after.Fsyncs - before.Fsyncs; got != 1 {
			t.Fatalf("Sync of %d batches cost %d fsyncs, want 1", i+1, got)
		}
		if after.LogRecords != before.LogRecords+1 || after.Checkpoints != 0 {
			t.Fatalf("Stats = %+v, want one more log record and no checkpoint", after)
		}
	}
	before := s.Stats()
	mustApply(t, s, put("big", strings.Repeat("x", 64<<10)))
	mustSync(t, s)
	after := s.Stats()
	if after.Checkpoints != 1 || after.LogRecords != before.LogRecords {
		t.Fatalf("Stats after a group bigger than the log = %+v, want it checkpointed, not logged", after)
	}
	if got := after.Fsyncs - before.Fsyncs; got < 2 || got > 3 {
		t.Fatalf("checkpoint cost %d fsyncs, want bbolt's 2 (3 if the file grew)", got)
	}
	t.Logf("%d log records of %d bytes in all; the checkpoint cost %d fsyncs", after.LogRecords, after.LogBytes, after.Fsyncs-before.Fsyncs)
}

// logRun is a store written group by group (one Sync each) and then abandoned, as a crashed
// process leaves it, with what a test needs to cut or damage its log.
type logRun struct {
	path string
	db   []byte // the store file after the crash
	log  []byte // the log after the crash
	// before is the log as it was before the last group's record was written over it.
	before []byte
	// states[i] is what the store held after the first i groups were synced.
	states []map[string]string
	// records are the offsets of the records the file does not hold, the last group's last;
	// end is where the last one ends, padding included.
	records []int64
	end     int64
}

// writeLogRun writes groups of a few batches of puts and deletes, one Sync each, round the
// smallest log a few times with background checkpoints (waited for, so that the run is the same
// every time); then, with checkpoints held, until the log holds at least three records that the
// file does not and the last of them went to the top of the log, the ring's wrap. Then it
// abandons the store.
func writeLogRun(t *testing.T) logRun {
	t.Helper()
	r := logRun{path: filepath.Join(t.TempDir(), "vigil.db")}
	s, err := bolt.Open(r.path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	m := storetest.NewModel()
	r.states = append(r.states, m.Visible())
	var held [][2]int64
	for g := 0; ; g++ {
		if g == 200 {
			t.Fatalf("no wrap after %d groups; held %v", g, held)
		}
		for b := range 1 + g%3 {
			batch := store.Batch{
				put(fmt.Sprintf("g%03d/b%d", g, b), strings.Repeat(string(rune('a'+g%26)), 1+g%40)),
				put("last", fmt.Sprint(g)),
			}
			if g > 0 {
				batch = append(batch, del(fmt.Sprintf("g%03d/b0", g-1)))
			}
			mustApply(t, s, batch...)
			m.Applied(batch)
		}
		if r.before, err = os.ReadFile(bolt.LogPath(r.path)); err != nil {
			t.Fatal(err)
		}
		mustSync(t, s)
		m.Sync()
		r.states = append(r.states, m.Visible())
		if s.Stats().Checkpoints < 3 {
			bolt.WaitCheckpoint(s)
			continue
		}
		bolt.SetHoldCheckpoints(s, true)
		held = bolt.LoggedRecords(s)
		if len(held) >= 3 && held[len(held)-1][0] == bolt.LogHeaderBytes {
			break
		}
	}
	for _, h := range held {
		r.records = append(r.records, h[0])
	}
	r.end = held[len(held)-1][1]
	mustAbandon(t, s)
	if r.db, err = os.ReadFile(r.path); err != nil {
		t.Fatal(err)
	}
	if r.log, err = os.ReadFile(bolt.LogPath(r.path)); err != nil {
		t.Fatal(err)
	}
	return r
}

// reopen writes db and log as a store in a fresh directory, opens it and returns what it holds,
// or Open's error.
func reopenCopy(t *testing.T, db, log []byte) (map[string]string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bolt.LogPath(path), log, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(path, scratch)
	if err != nil {
		if after, _ := os.ReadFile(path); !bytes.Equal(after, db) {
			t.Errorf("Open changed the store file it refused")
		}
		if after, _ := os.ReadFile(bolt.LogPath(path)); !bytes.Equal(after, log) {
			t.Errorf("Open changed the log it refused")
		}
		return nil, err
	}
	defer mustClose(t, s)
	return storetest.LoadOrdered(t, s), nil
}

// TestLogCutAtEveryOffset is the crash test of the log: the machine dies while the last
// group's record is being written, having written any number of its bytes. The log is cut at
// every byte offset of that record, torn in place two ways: zeros past the cut (what a new log
// holds), and what the log held there before (records of before the last checkpoint). The log
// is written in place, never grown, so a crash does not leave it shorter. The
// record is the first after the ring's wrap, at the log's top, so the cut also shows that Open
// looks for a record there only when it is intact and has the next number.
// Open must give exactly the synced prefix: every group before the last, and the last one only
// when its whole record is there.
func TestLogCutAtEveryOffset(t *testing.T) {
	r := writeLogRun(t)
	last := r.records[len(r.records)-1]
	payloadEnd := last + 24 + int64(binary.BigEndian.Uint32(r.log[last+4:]))
	n := len(r.states) - 1
	for cut := last; cut <= r.end; cut++ {
		want := r.states[n-1]
		if cut >= payloadEnd {
			want = r.states[n]
		}
		for _, v := range []struct {
			name string
			log  []byte
		}{
			{"zeros past the cut", append(append(append([]byte{}, r.log[:cut]...), make([]byte, r.end-cut)...), r.log[r.end:]...)},
			{"old bytes past the cut", append(append([]byte{}, r.log[:cut]...), r.before[cut:]...)},
		} {
			got, err := reopenCopy(t, r.db, v.log)
			if err != nil {
				t.Fatalf("log %s at offset %d (record %d..%d): Open: %v", v.name, cut, last, r.end, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("log %s at offset %d (record %d..%d): not the synced prefix (-want +got):\n%s", v.name, cut, last, r.end, diff)
			}
		}
	}
	t.Logf("cut the last record (%d bytes) at each of its offsets, two ways", r.end-last)
}

// TestLogDamagedRecord flips a bit in every header byte and every fourth payload byte of the
// records in the log. A damaged record before the
// last one must fail Open with ErrCorrupt naming the log and the offset, leaving both files as
// they were: dropping it would drop the acknowledged records after it. A damaged last record
// reads as torn, and the store opens with the groups before it (the limit doc.go states); a
// flip in a record's padding changes nothing.
func TestLogDamagedRecord(t *testing.T) {
	r := writeLogRun(t)
	n := len(r.states) - 1
	outcomes := map[string]int{}
	for i, start := range r.records {
		end := r.end
		if i+1 < len(r.records) && r.records[i+1] > start {
			end = r.records[i+1]
		} else if i+1 < len(r.records) {
			end = start + 24 + int64(binary.BigEndian.Uint32(r.log[start+4:])) // before the wrap: its padding is unknown
		}
		payloadEnd := start + 24 + int64(binary.BigEndian.Uint32(r.log[start+4:]))
		for off := start; off < end; off++ {
			if off >= start+24 && off%4 != 0 {
				continue // every header byte, every fourth payload byte: each trial is an Open
			}
			{
				bit := off % 8 // a different bit each time: every bit would take 8 times as long
				log := bytes.Clone(r.log)
				log[off] ^= 1 << bit
				got, err := reopenCopy(t, r.db, log)
				switch {
				case off >= payloadEnd:
					if err != nil || !cmp.Equal(got, r.states[n]) {
						t.Fatalf("flip in the padding at %d: Open = %v, or not every group", off, err)
					}
					outcomes["padding: everything"]++
				case i+1 < len(r.records):
					if !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), bolt.LogPath(r.path)[len(filepath.Dir(r.path)):]) ||
						!strings.Contains(err.Error(), fmt.Sprintf("at offset %d", start)) && !strings.Contains(err.Error(), fmt.Sprintf("at its top (%d)", start)) {
						t.Fatalf("flip at %d in record %d of %d: Open = %v, want ErrCorrupt naming the log and offset %d", off, i+1, len(r.records), err, start)
					}
					outcomes["middle: refused"]++
				default:
					if err != nil || !cmp.Equal(got, r.states[n-1]) {
						t.Fatalf("flip at %d in the last record: Open = %v, or not the groups before it", off, err)
					}
					outcomes["last: dropped as torn"]++
				}
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestLogReplayedAfterCrash: groups synced to the log survive a crash, are checkpointed by the
// next Open (so its log starts empty), and a second crash right after loses nothing.
func TestLogReplayedAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, put("a", "1"), put("b", "1"))
	mustSync(t, s)
	mustApply(t, s, del("a"), put("c", "2"))
	mustSync(t, s)
	mustApply(t, s, put("lost", "3"))
	if st := s.Stats(); st.LogRecords != 2 || st.Checkpoints != 0 {
		t.Fatalf("Stats = %+v, want two records in the log", st)
	}
	mustAbandon(t, s)
	for range 2 {
		s, err = bolt.Open(path, scratch)
		if err != nil {
			t.Fatal(err)
		}
		checkState(t, s, map[string]string{"b": "1", "c": "2"})
		mustAbandon(t, s)
	}
}

// TestLogMissingOrForeign: a version 3 file without its log, or beside another store's log, is
// refused: the log may hold synced batches, and another store's would be replayed into this one.
func TestLogMissingOrForeign(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	for _, p := range []string{a, b} {
		s, err := bolt.Open(p, scratch)
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, s, put("k", p))
		mustSync(t, s)
		mustAbandon(t, s)
	}
	if err := os.Rename(bolt.LogPath(b), bolt.LogPath(a)); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, a, bolt.ErrCorrupt, "the log of another store")
	if err := os.Remove(bolt.LogPath(a)); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, a, bolt.ErrCorrupt, "write-ahead log is missing")
}

// TestFormatVersion2Upgrades: a version 2 file (sealed values, no log) opens, keeps its values,
// and becomes version 3 with a log.
func TestFormatVersion2Upgrades(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	err := writeBbolt(path, func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		for k, v := range map[string]string{"format": "vigil-store", "version": "2"} {
			if err := meta.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		data, err := tx.CreateBucket([]byte("data"))
		if err != nil {
			return err
		}
		return data.Put([]byte("old"), store.Seal(nil, "old", []byte("sealed value")))
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, put("new", "v"))
	mustSync(t, s)
	mustAbandon(t, s)
	s, err = bolt.Open(path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s, map[string]string{"old": "sealed value", "new": "v"})
	mustClose(t, s)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bbolt.Tx) error {
		if v := string(tx.Bucket([]byte("meta")).Get([]byte("version"))); v != "3" {
			t.Errorf("version = %q, want 3", v)
		}
		return nil
	})
}

// TestLogResized: a store opened with another LogBytes than its log has checkpoints the log and
// resizes it, and keeps working.
func TestLogResized(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	want := map[string]string{}
	for i, size := range []int64{bolt.MinLogBytes, 3 * bolt.MinLogBytes, bolt.MinLogBytes} {
		s, err := bolt.Open(path, bolt.Options{NoSync: true, LogBytes: size})
		if err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(bolt.LogPath(path)); err != nil || info.Size() != size {
			t.Fatalf("log of %v bytes (%v), want %d", info.Size(), err, size)
		}
		for j := range 50 {
			k := fmt.Sprintf("k%d/%02d", i, j)
			mustApply(t, s, put(k, strings.Repeat("v", 100)))
			mustSync(t, s)
			want[k] = strings.Repeat("v", 100)
		}
		mustAbandon(t, s)
	}
	s, err := bolt.Open(path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	checkState(t, s, want)
}

func TestOpenRefusesTinyLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	if _, err := bolt.Open(path, bolt.Options{LogBytes: bolt.MinLogBytes - 1}); err == nil || !strings.Contains(err.Error(), "LogBytes") {
		t.Fatalf("Open with a log below the minimum = %v, want an error naming LogBytes", err)
	}
	if _, err := bolt.Open(path, bolt.Options{LogBytes: bolt.MaxLogBytes + 1}); err == nil || !strings.Contains(err.Error(), "LogBytes") {
		t.Fatalf("Open with a log above the maximum = %v, want an error naming LogBytes", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("Open created the file although it refused the options")
	}
}

// TestCrashDuringCheckpoint holds a background checkpoint before its commit, goes on syncing
// groups meanwhile, and crashes then: the store file is still the previous checkpoint, so the
// log must still hold every record the checkpoint covers as well as the new ones, none written
// over the other. Open must give every synced group; so must the store once the checkpoint is
// let go and it is closed.
func TestCrashDuringCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	started, hold := make(chan struct{}, 1), make(chan struct{})
	bolt.SetBeforeCheckpoint(s, func() {
		started <- struct{}{}
		<-hold
	})
	m := storetest.NewModel()
	group := func(g int) {
		b := store.Batch{put(fmt.Sprintf("g%03d", g), strings.Repeat("v", g%30)), put("last", fmt.Sprint(g))}
		if g%4 == 3 {
			b = append(b, del(fmt.Sprintf("g%03d", g-2)))
		}
		mustApply(t, s, b...)
		m.Applied(b)
		mustSync(t, s)
		m.Sync()
	}
	g := 0
	for ; !bolt.CheckpointRunning(s); g++ {
		group(g)
	}
	<-started
	g--
	// The checkpoint covers groups 0..g and is held. A quarter of the log more, which fits
	// beside the half it covers.
	for end := g + 8; g < end; g++ {
		group(g + 1)
	}
	db, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(bolt.LogPath(path))
	if err != nil {
		t.Fatal(err)
	}
	got, err := reopenCopy(t, db, log)
	if err != nil {
		t.Fatalf("Open of the store crashed during a checkpoint: %v", err)
	}
	if diff := cmp.Diff(m.Visible(), got); diff != "" {
		t.Fatalf("crash during a checkpoint lost synced groups (-want +got):\n%s", diff)
	}
	close(hold)
	bolt.SetBeforeCheckpoint(s, nil)
	mustClose(t, s)
	s, err = bolt.Open(path, scratch)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	checkState(t, s, m.Visible())
}
