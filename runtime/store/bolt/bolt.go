package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vigilsim/vigil/runtime/store"
)

// Errors that Open and the Store's methods return, always wrapped with the file's path and
// what was found; compare them with errors.Is.
var (
	// ErrLocked means another Store holds the file's lock, in this process or another, and did
	// not release it within Options.Timeout.
	ErrLocked = errors.New("store is locked by another process")
	// ErrIncompatible means the file is a bbolt database but not a vigil store of a version
	// this build reads: another program's database, or a newer format.
	ErrIncompatible = errors.New("incompatible store file")
	// ErrCorrupt means the file is not a bbolt database at all, or bbolt found it damaged (at
	// Open, or later on a page Open did not read; the store is then failed too).
	ErrCorrupt = errors.New("corrupt store file")
	// ErrInvalidBatch means Apply refused a batch that bbolt could not store, such as one with
	// an empty key; nothing of the batch was applied and the store is still usable.
	// It is store.ErrInvalidBatch, so callers can tell it apart whatever the store.
	ErrInvalidBatch = store.ErrInvalidBatch
	// ErrFailed means an earlier commit failed, so batches that were visible may not be on
	// disk. Every call after that returns it: a store that may have lost writes must not go on
	// as if it had not. Reopen the file to continue from what is durable.
	ErrFailed = errors.New("store failed")
)

// DefaultTimeout is how long Open waits for the file lock when Options.Timeout is zero.
const DefaultTimeout = time.Second

// Options configures Open. The zero value is the production configuration.
type Options struct {
	// Timeout is how long Open waits for the exclusive file lock that another open Store
	// holds before it fails with ErrLocked. Zero means DefaultTimeout (1s); a negative value
	// means do not wait at all.
	Timeout time.Duration
	// NoSync skips the fsync of each commit. It is UNSAFE: an operating-system crash or power
	// loss can then lose or tear synced batches, breaking the contract the engine relies on.
	// Only tests and benchmarks may set it, where the file is scratch.
	NoSync bool
	// LogBytes is the size of the write-ahead log beside the file (LogPath). Once half of it
	// holds synced batches the file does not, they are checkpointed into the file in the
	// background; until then they are kept in memory too. Zero means DefaultLogBytes (4 MiB);
	// less than MinLogBytes (4 KiB) or more than MaxLogBytes (1 GiB) is refused. A store opened
	// with another size than its log has is resized once the log is checkpointed. A version 1
	// file has no log and ignores it.
	LogBytes int64
}

// Stats counts the store's work since Open, so a test or the host's metrics can see group
// commit happen.
type Stats struct {
	// Syncs is the number of Syncs (and Closes) that had batches to make durable. Each wrote
	// one log record, or, when the record did not fit in the log, checkpointed.
	Syncs uint64
	// BatchesSynced is the number of batches those commits made durable. BatchesSynced/Syncs
	// is the group-commit factor.
	BatchesSynced uint64
	// Pending is the number of batches applied but not yet durable, including those a running
	// Sync is committing.
	Pending int
	// Fsyncs is the number of fsync and fdatasync calls the store made on its files since Open
	// returned: one per log record, two per bbolt commit (its data pages, then its meta page)
	// unless Options.NoSync, and one more when a commit grew the file (bbolt syncs the new size
	// whatever NoSync says). Fsyncs/Syncs is what one durable group costs the disk.
	Fsyncs uint64
	// LogRecords is the number of records written to the log (one per Sync that fitted), and
	// LogBytes their size.
	LogRecords, LogBytes uint64
	// Checkpoints is the number of bbolt commits that moved synced batches from the log (and
	// memory) into the file: in the background once half the log is in use, in a Sync whose
	// record found no room, and at Close.
	Checkpoints uint64
	// CheckpointWaits is the number of Syncs that found no room in the log for their record
	// and waited for a checkpoint: a log too small for the rate of writes shows here.
	CheckpointWaits uint64
}

// Store is a store.Store on one bbolt file. Its methods are safe for concurrent use; Sync may
// run on another goroutine than Apply, which is how the host group-commits.
//
// A batch moves through four places, and is visible to Load and Get in each of them:
//
//	        Apply             Sync takes all          record synced         checkpoint returns
//	batch ────────► pending ──────────────► committing ─────────────► logged ─────────────────► file
//	                (memory)                (memory; lock released    (durable in the log;      (durable)
//	                                        during the fdatasync)     values in memory)
//
// Once half the log holds records the file does not, a Sync starts a checkpoint on a goroutine
// of its own: one bbolt transaction commits the logged batches into the file and records the
// number of the last record it now holds and where the next one is; Syncs go on writing records
// to the rest of the log meanwhile (it is a ring), and the checkpoint then frees the part of the
// log it covered and retires its batches from memory. A Sync whose record finds no room waits
// for the checkpoint; one whose record would not fit in the whole log commits everything into
// the file itself. A version 1 file has no log: its Sync commits straight into the file.
//
// pending, committing and logged are lists of batches in apply order; overlay is their combined
// effect, the latest write to each key they touch, which Load and Get read on top of the file.
// An overlay entry leaves only when the checkpoint that carries its latest write has returned,
// so no reader ever sees the file's older value for a key in between.
type Store struct {
	path string
	db   *bbolt.DB
	// sealed says values carry a checksum (format version 2); false for a version 1 file,
	// whose values are bare. Overlay and file values are both in the file's form.
	sealed bool

	// syncMu serialises commits (Sync, Close and the abandon test hook), so at most one
	// transaction runs and batches reach the file in apply order. Take it before mu, never
	// while holding mu.
	syncMu sync.Mutex

	mu         sync.Mutex
	pending    []batch
	committing []batch
	// logged are the log's records that are not checkpointed yet, oldest first, and
	// loggedBytes their size.
	logged      []logRecord
	loggedBytes int64
	// checkpointDone is closed when the running background checkpoint ends; nil when none
	// runs. holdCheckpoints keeps Syncs from starting one (tests only).
	checkpointDone  chan struct{}
	holdCheckpoints bool
	overlay         map[string]overlayEntry
	// spare is a cleared batch list that the last commit finished with, which the next Apply
	// reuses instead of growing a new one.
	spare []batch
	// seq numbers the applied batches, so a commit can tell which overlay entries it made
	// durable: those whose latest write has a seq it committed.
	seq uint64

	stats  Stats
	closed bool
	// failed is set once and for all by a commit that failed or a page bbolt could not read;
	// see ErrFailed.
	failed error

	// beforeCommit, if set, runs in Sync after the batches are written into the transaction
	// and before it commits, with no lock of the store held. Only tests set it, to hold a
	// commit open and show what the store does meanwhile.
	beforeCommit func()
	// beforeCheckpoint, if set, runs in a background checkpoint's goroutine before it commits,
	// with no lock of the store held. Only tests set it, to crash the store meanwhile.
	beforeCheckpoint func()

	// wedged is set when a commit's rollback panicked (bbolt does, on a damaged freelist)
	// and so left bbolt's writer lock held. The store has failed by then; Close must not call
	// bbolt's Close, which would wait for that lock forever.
	wedged atomic.Bool

	// noSync is Options.NoSync.
	noSync bool

	// log is the write-ahead log; nil for a version 1 file. Guarded by syncMu.
	log *wal

	// scratch is the buffer Load hands values out in, reused across Loads. keys and added hold
	// every overlay key once between them: keys in ascending order, added the keys Apply added
	// since, in any order. The overlay holds all the batches since the last checkpoint,
	// thousands of keys, and the engine scans a prefix of it at every retention sweep (one a
	// finished invocation, in steady state), so a Scan does not sort them all again: it sorts
	// added, the few keys new since the last Scan, takes the prefix's range of each by binary
	// search and merges the two ranges (in merged); added is merged into keys only once it holds
	// foldKeys. All are guarded by mu.
	scratch []byte
	keys    []string
	added   []string
	merged  []string
}

// foldKeys is how many keys added since the last fold make a Scan merge them into keys, a pass
// over all of keys: the pass is paid once per foldKeys new keys, not at every Scan.
const foldKeys = 256

var _ store.Store = (*Store)(nil)

// batch is one applied batch with its values copied.
type batch struct {
	seq uint64
	ops []store.Op
}

// overlayEntry is the latest not-yet-durable write to a key.
type overlayEntry struct {
	seq     uint64
	value   []byte
	deleted bool
}

// Open opens the vigil store in the file at path, creating it (mode 0600) if it does not exist.
// The directory must exist. It fails with ErrLocked if another Store holds the file, with
// ErrIncompatible if the file is another format or version, and with ErrCorrupt if it is not
// a bbolt database or is damaged. A file Open refuses is left exactly as it was.
//
// Open reads only bbolt's own structures and the format header; Load reads the data.
func Open(path string, opts Options) (*Store, error) {
	logBytes := opts.LogBytes
	switch {
	case logBytes == 0:
		logBytes = DefaultLogBytes
	case logBytes < MinLogBytes:
		return nil, fmt.Errorf("bolt: open %s: Options.LogBytes %d is below the minimum of %d", path, logBytes, MinLogBytes)
	case logBytes > MaxLogBytes:
		return nil, fmt.Errorf("bolt: open %s: Options.LogBytes %d is above the maximum of %d", path, logBytes, MaxLogBytes)
	}
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bolt: open %s: directory %s does not exist (Open creates the file, not its directory): %w", path, dir, err)
	} else if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	} else if !info.IsDir() {
		return nil, fmt.Errorf("bolt: open %s: %s is not a directory", path, dir)
	}
	existingSize := int64(0)
	if info, err := os.Stat(path); err == nil {
		if info.IsDir() {
			return nil, fmt.Errorf("bolt: open %s: is a directory, want a store file", path)
		}
		existingSize = info.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}

	timeout := opts.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		// bbolt waits forever for a zero timeout and gives up after its first try for a
		// negative one, which is what a negative Timeout means here.
		timeout = -1
	}

	if existingSize > 0 {
		// Vet an existing file read-only first. bbolt's read-write Open reads the freelist
		// page before Open returns, trusting the meta page; on a truncated or damaged file
		// that read can fault or panic at a point where this package cannot unmap the file.
		// The read-only pass touches only the meta pages while opening, and returns a DB that
		// can always be closed, whatever the checks find.
		db, err := openDB(path, timeout, true, false, existingSize)
		if err != nil {
			return nil, err
		}
		_, err = check(db, path)
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("bolt: open %s: closing after the read-only check: %w", path, cerr)
		}
		if err != nil {
			return nil, err
		}
	}

	db, err := openDB(path, timeout, false, opts.NoSync, existingSize)
	if err != nil {
		return nil, err
	}
	// Checked again under the exclusive lock: the file may have changed between the passes.
	state, err := check(db, path)
	s := &Store{path: path, db: db, sealed: state != fileV1, noSync: opts.NoSync, overlay: make(map[string]overlayEntry)}
	if err == nil {
		err = s.attachLog(state, logBytes)
	}
	if err != nil {
		if s.log != nil {
			_ = s.log.f.Close()
		}
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// attachLog gives the open file its write-ahead log. For a blank file and a version 2 file it
// creates the log, durably, and only then writes the format header that names it (a crash in
// between leaves a blank or version 2 file beside a log that nothing names, which the next Open
// overwrites). For a version 3 file it reads and checks the log, and checkpoints the records
// the file does not hold yet, so that a store opens with an empty log and nothing in memory.
// Until that checkpoint it writes nothing, so a log it refuses is left as it was.
func (s *Store) attachLog(state fileState, size int64) error {
	logPath := LogPath(s.path)
	switch state {
	case fileV1:
		return nil
	case fileBlank, fileV2:
		id := newLogID()
		f, _, err := createLog(logPath, id, size, s.noSync)
		if err != nil {
			return fmt.Errorf("bolt: open %s: %w", s.path, err)
		}
		s.log = &wal{path: logPath, f: f, size: size, tail: logHeaderBytes, noSync: s.noSync}
		err = s.db.Update(func(tx *bbolt.Tx) error {
			if state == fileV2 {
				return upgradeFormat(tx, id)
			}
			// Checked once more inside the write transaction, so this can never overwrite a
			// meta bucket.
			if tx.Bucket(metaBucket) != nil {
				return fmt.Errorf("meta bucket appeared while opening")
			}
			return initFormat(tx, id)
		})
		if err != nil {
			return fmt.Errorf("bolt: open %s: writing the format header: %w", s.path, err)
		}
		return nil
	}
	var id logID
	var mark logMark
	err := s.db.View(func(tx *bbolt.Tx) (err error) {
		id, mark, err = logMeta(tx.Bucket(metaBucket), s.path)
		return err
	})
	if err != nil {
		return err
	}
	b, err := readLog(logPath)
	if err != nil {
		return err
	}
	if err := checkLogHeader(b, id, logPath); err != nil {
		return err
	}
	records, err := scanLog(b, mark, logPath)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("bolt: open %s: %w", s.path, err)
	}
	// The next record goes where the file says, over whatever is there, so that no record of
	// the next number can be left anywhere else from before (see scanLog).
	s.log = &wal{path: logPath, f: f, size: int64(len(b)), tail: mark.head, last: mark.record, noSync: s.noSync}
	if len(records) > 0 {
		var batches []batch
		for _, r := range records {
			batches = append(batches, r.batches...)
		}
		last := records[len(records)-1]
		if _, err := s.commit(batches, &logMark{record: last.n, head: last.end}); err != nil {
			return fmt.Errorf("bolt: open %s: checkpointing log records %d to %d of %s: %w", s.path, mark.record+1, last.n, logPath, err)
		}
		s.log.last, s.log.tail = last.n, last.end
	}
	if s.log.size != size || s.log.tail > size {
		// Every record is in the file now, so the log's old bytes are dead and may go; the
		// file is told first that the next record goes to the top.
		top := &logMark{record: s.log.last, head: logHeaderBytes}
		if _, err := s.commit(nil, top); err != nil {
			return fmt.Errorf("bolt: open %s: resizing the log %s: %w", s.path, logPath, err)
		}
		if _, err := fillLog(f, logHeader(id), size, s.noSync); err != nil {
			return fmt.Errorf("bolt: open %s: resizing the log %s from %d to %d bytes: %w", s.path, logPath, s.log.size, size, err)
		}
		s.log.size, s.log.tail = size, logHeaderBytes
	}
	return nil
}

// openDB opens the file with bbolt, read-only (shared lock) or read-write (exclusive lock),
// and turns its failures into this package's errors.
//
// bbolt reports a damaged file in three ways: an error, a panic (on a page it cannot parse),
// and a memory fault (on a page past the end of a truncated file, which it maps). The last two
// would kill the host with a stack trace instead of a clear refusal, so openDB turns faults
// into panics and panics into ErrCorrupt. After a panic bbolt has returned no DB to close, so
// openDB closes the *os.File it captured; the mapping bbolt made stays until the process
// exits, and with it the file lock. Open's read-only pass exists so that this last resort is
// never needed for the damage it can see.
func openDB(path string, timeout time.Duration, readOnly, noSync bool, existingSize int64) (db *bbolt.DB, err error) {
	var file *os.File
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				_ = file.Close()
			}
			db, err = nil, fmt.Errorf("bolt: open %s: %w: bbolt could not read it: %v", path, ErrCorrupt, r)
		}
	}()
	db, err = bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:  timeout,
		ReadOnly: readOnly,
		NoSync:   noSync,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("bolt: open %s: %w (waited %v for its file lock; is another vigil running on it?)",
			path, ErrLocked, max(timeout, 0))
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum),
		// bbolt has no sentinel for a file shorter than its two meta pages; its message is the
		// only sign. Matching it keeps such a file from being reported as an I/O error.
		existingSize > 0 && strings.Contains(err.Error(), "file size too small"):
		return nil, fmt.Errorf("bolt: open %s: %w: its %d bytes are not a readable bbolt database (%v)", path, ErrCorrupt, existingSize, err)
	default:
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
}

// check vets a file that bbolt opened: not truncated, and of our format and version (see
// checkFormat). It writes nothing. A panic inside bbolt, on a page it cannot parse, becomes
// ErrCorrupt; the View's own deferred rollback has run by then, so the caller can close db.
func check(db *bbolt.DB, path string) (state fileState, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bolt: open %s: %w: bbolt could not read it: %v", path, ErrCorrupt, r)
		}
	}()
	err = db.View(func(tx *bbolt.Tx) error {
		// bbolt trusts the meta page's page count and maps past the end of a truncated file;
		// catch that before any read touches a missing page. The count is compared through
		// tx.Page, which answers nil for a page at or past it, rather than through tx.Size:
		// that is the count times the page size in an int64, which a forged count of 2^51 pages
		// or more overflows, possibly to a size the file has, and a store that passed would then
		// allocate its next pages at the wrapped offset, over live ones.
		info, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("bolt: open %s: %w", path, err)
		}
		pages := info.Size() / int64(tx.DB().Info().PageSize)
		if p, err := tx.Page(int(pages)); p != nil || err != nil {
			return fmt.Errorf("bolt: open %s: %w: truncated: its meta page counts more than the %d pages its %d bytes hold",
				path, ErrCorrupt, pages, info.Size())
		}
		state, err = checkFormat(tx, path)
		return err
	})
	return state, err
}

// fileSize returns the size of the store's file, or 0 when it cannot be read (the fsync count
// is then an estimate; nothing else depends on it).
func (s *Store) fileSize() int64 {
	info, err := os.Stat(s.path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// Stats returns the store's counters. It works on a closed or failed store.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Pending = len(s.pending) + len(s.committing)
	return st
}

// usableLocked returns the error every call but Stats and Path returns on a closed or failed
// store, naming the call. s.mu must be held.
func (s *Store) usableLocked(op string) error {
	if s.closed {
		return fmt.Errorf("bolt: %s %s: %w", op, s.path, store.ErrClosed)
	}
	if s.failed != nil {
		return fmt.Errorf("bolt: %s: %w", op, s.failed)
	}
	return nil
}

// Apply queues b in memory and makes it visible to Load and Get at once. It is not durable
// until a later Sync returns: if the process dies first, b is lost, with every batch applied
// after the last Sync. Values are copied, so the caller may reuse b's slices.
//
// A batch that bbolt could not store (an empty key, a key over bbolt.MaxKeySize bytes, a value
// over bbolt.MaxValueSize) is refused whole with ErrInvalidBatch, here rather than at Sync,
// where it would fail every batch committed with it. An empty batch is accepted and changes
// nothing; it does not count as a batch in Stats.
func (s *Store) Apply(b store.Batch) error {
	// Validate and copy before taking the lock, so a large batch does not hold up a Load.
	size := 0
	for i, op := range b {
		switch {
		case op.Key == "":
			return fmt.Errorf("bolt: apply %s: op %d of %d: empty key, which bbolt cannot store: %w", s.path, i, len(b), ErrInvalidBatch)
		case len(op.Key) > bbolt.MaxKeySize:
			return fmt.Errorf("bolt: apply %s: op %d of %d: key of %d bytes, over bbolt's limit of %d: %w", s.path, i, len(b), len(op.Key), bbolt.MaxKeySize, ErrInvalidBatch)
		case !op.Delete && int64(len(op.Value)) > store.MaxValueBytes:
			return fmt.Errorf("bolt: apply %s: op %d of %d: value of %d bytes, over the limit of %d (bbolt's less a checksum): %w", s.path, i, len(b), len(op.Value), store.MaxValueBytes, ErrInvalidBatch)
		}
		if !op.Delete {
			size += len(op.Value) + store.ChecksumBytes
		}
	}
	var ops []store.Op
	if len(b) > 0 {
		// One buffer for all the batch's values: one allocation however many ops it has.
		buf := make([]byte, 0, size)
		ops = make([]store.Op, len(b))
		for i, op := range b {
			if op.Delete {
				ops[i] = store.Op{Key: op.Key, Delete: true}
				continue
			}
			start := len(buf)
			if s.sealed {
				buf = store.Seal(buf, op.Key, op.Value)
			} else {
				buf = append(buf, op.Value...)
			}
			ops[i] = store.Op{Key: op.Key, Value: buf[start:len(buf):len(buf)]}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked("apply"); err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	s.seq++
	if s.pending == nil {
		s.pending, s.spare = s.spare, nil
	}
	s.pending = append(s.pending, batch{seq: s.seq, ops: ops})
	for _, op := range ops {
		if _, ok := s.overlay[op.Key]; !ok {
			s.added = append(s.added, op.Key)
		}
		s.overlay[op.Key] = overlayEntry{seq: s.seq, value: op.Value, deleted: op.Delete}
	}
	return nil
}

// Sync makes every batch applied so far durable, in apply order, and returns once it is on
// disk: it writes them as one record in the log and fdatasyncs the log once, however many
// batches (group commit). Once half the log is in use it starts a checkpoint in the background
// (see Store). When the log has no room for the record it waits for that checkpoint; when the
// record would not fit in the whole log it commits the batches the log holds and these into
// the file itself (bbolt's two fsyncs). A version 1 file has no log, and its every Sync is such
// a commit. With nothing pending it does nothing.
//
// It holds the store's lock only to take the pending batches and to retire them, not during
// the write, so Apply, Load and Get go on while the fdatasync runs; the batches stay visible
// meanwhile. Concurrent Syncs run one after the other; each returns once everything applied
// before it began is durable.
//
// If the write fails, none of its batches is known to be durable, and the store fails: this
// Sync and every later call return an error wrapping ErrFailed and the cause.
func (s *Store) Sync() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.syncLocked("sync")
}

// syncLocked is Sync for a caller that holds s.syncMu; op names the call in errors.
func (s *Store) syncLocked(op string) error {
	s.mu.Lock()
	if err := s.usableLocked(op); err != nil {
		s.mu.Unlock()
		return err
	}
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return nil
	}
	s.committing, s.pending = s.pending, nil
	batches := s.committing
	s.mu.Unlock()

	if w := s.log; w != nil {
		n := w.last + 1
		rec := w.encodeRecord(n, batches)
		if at, ok := s.placeRecord(int64(len(rec))); ok {
			if s.beforeCommit != nil {
				s.beforeCommit()
			}
			err := w.writeAt(rec, n, at)
			return s.afterLogWrite(op, batches, logRecord{n: n, start: at, end: at + int64(len(rec))}, err)
		}
		// The record does not fit in the whole log: the group goes into the file with a
		// checkpoint of everything. It leaves the buffer it grew to.
		w.buf = nil
	}
	return s.checkpointLocked(op, batches)
}

// placeRecord returns where in the log a record of size bytes goes: at the end of the last
// record, or at the log's top when it does not fit there (the log is a ring; its unused end is
// skipped), provided it overlaps no record that is not checkpointed yet. When there is no room,
// it waits for the running background checkpoint, or starts one and waits, which frees the whole
// log. ok is false only when the record is larger than the whole log, or the checkpoint failed
// (the store has then failed, and the caller's write fails as well). s.syncMu must be held.
func (s *Store) placeRecord(size int64) (at int64, ok bool) {
	w := s.log
	if size > recordSpace(w.size) {
		return 0, false
	}
	for range 3 {
		s.mu.Lock()
		at, ok = s.roomLocked(size)
		var done <-chan struct{} = s.checkpointDone
		failed := s.failed != nil
		s.mu.Unlock()
		if ok || failed {
			return at, ok
		}
		if done == nil {
			done = s.startCheckpoint()
		}
		if done == nil {
			return 0, false // nothing logged, so nothing in the way: cannot happen
		}
		s.mu.Lock()
		s.stats.CheckpointWaits++
		s.mu.Unlock()
		<-done
	}
	return 0, false
}

// roomLocked is placeRecord's test, under s.mu: where a record of size bytes fits between the
// log's last record and its oldest record that is not checkpointed yet.
func (s *Store) roomLocked(size int64) (int64, bool) {
	w, top := s.log, int64(logHeaderBytes)
	if len(s.logged) == 0 {
		switch {
		case w.tail+size <= w.size:
			return w.tail, true
		case top+size <= w.size:
			return top, true
		}
		return 0, false
	}
	oldest, newest := s.logged[0], s.logged[len(s.logged)-1]
	if newest.start >= oldest.start { // one lap: free after the newest and before the oldest
		if newest.end+size <= w.size {
			return newest.end, true
		}
		if top+size <= oldest.start {
			return top, true
		}
		return 0, false
	}
	if newest.end+size <= oldest.start { // wrapped: free between the newest and the oldest
		return newest.end, true
	}
	return 0, false
}

// afterLogWrite retires batches, which a Sync wrote to the log as record rec, with the write's
// outcome err: on success they are durable, and stay in memory (and in the overlay) until a
// checkpoint, which it starts in the background once half the log is in use. On failure the
// store fails (see Sync).
func (s *Store) afterLogWrite(op string, batches []batch, rec logRecord, err error) error {
	s.mu.Lock()
	s.committing = nil
	if err != nil {
		defer s.mu.Unlock()
		return s.failLocked(op, batches, err)
	}
	if !s.noSync {
		s.stats.Fsyncs++
	}
	rec.batches = slices.Clone(batches)
	s.logged = append(s.logged, rec)
	s.loggedBytes += rec.end - rec.start
	s.log.tail = rec.end
	s.stats.Syncs++
	s.stats.BatchesSynced += uint64(len(batches))
	s.stats.LogRecords++
	s.stats.LogBytes += uint64(rec.end - rec.start)
	clear(batches) // drop the values so the reused array does not keep them alive
	s.spare = batches[:0]
	start := s.checkpointDone == nil && !s.holdCheckpoints && s.loggedBytes > recordSpace(s.log.size)/2
	s.mu.Unlock()
	if start {
		s.startCheckpoint()
	}
	return nil
}

// startCheckpoint starts a background checkpoint of every record logged so far and returns the
// channel it closes when done; nil when nothing is logged. s.syncMu must be held (so that no
// record is added meanwhile) and no checkpoint may be running.
//
// The checkpoint commits the records' batches into the file in one bbolt transaction, which
// also records the last record's number and where the next one goes, while Syncs go on writing
// records to the rest of the log. Then it retires the batches from memory and the overlay, and
// frees their part of the log.
func (s *Store) startCheckpoint() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.logged) == 0 {
		return nil
	}
	recs := slices.Clone(s.logged)
	done := make(chan struct{})
	s.checkpointDone = done
	go func() {
		defer close(done)
		var batches []batch
		for _, r := range recs {
			batches = append(batches, r.batches...)
		}
		last := recs[len(recs)-1]
		if s.beforeCheckpoint != nil {
			s.beforeCheckpoint()
		}
		fsyncs, err := s.commit(batches, &logMark{record: last.n, head: last.end})
		s.mu.Lock()
		defer s.mu.Unlock()
		s.checkpointDone = nil
		s.stats.Fsyncs += fsyncs
		if err != nil {
			if s.failed == nil {
				s.failed = fmt.Errorf("%w: %s: checkpointing log records %d to %d: %w (reopen the store to continue from what is on disk)",
					ErrFailed, s.path, recs[0].n, last.n, err)
			}
			return
		}
		s.retireLocked(batches)
		for _, r := range recs {
			s.loggedBytes -= r.end - r.start
		}
		clear(s.logged[:len(recs)])
		s.logged = s.logged[len(recs):]
		s.stats.Checkpoints++
	}()
	return done
}

// waitCheckpoint waits for the background checkpoint, if one is running.
func (s *Store) waitCheckpoint() {
	s.mu.Lock()
	done := s.checkpointDone
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}

// retireLocked drops the overlay entries whose latest write is in batches, which the file now
// holds; an entry a newer batch wrote stays. s.mu must be held.
func (s *Store) retireLocked(batches []batch) {
	if len(batches) == 0 {
		return
	}
	last := batches[len(batches)-1].seq
	for _, b := range batches {
		for _, o := range b.ops {
			if e, ok := s.overlay[o.Key]; ok && e.seq <= last {
				delete(s.overlay, o.Key)
			}
		}
	}
	gone := func(k string) bool {
		_, ok := s.overlay[k]
		return !ok
	}
	s.keys = slices.DeleteFunc(s.keys, gone)
	s.added = slices.DeleteFunc(s.added, gone)
}

// failLocked fails the store after a write of batches failed with err, and returns the error
// for op. The batches go back to pending, where Stats counts them as not durable; no call reads
// them again, since every call now fails. s.mu must be held.
func (s *Store) failLocked(op string, batches []batch, err error) error {
	s.pending = append(batches, s.pending...)
	s.failed = fmt.Errorf("%w: %s: making %d batch(es) durable: %w (batches applied since the last successful Sync may be lost; reopen the store to continue from what is on disk)",
		ErrFailed, s.path, len(batches), err)
	return fmt.Errorf("bolt: %s: %w", op, s.failed)
}

// checkpointLocked waits for a background checkpoint, then commits the records still logged and
// then batches, which a Sync or Close took from pending, into the file in one bbolt transaction
// in the caller's goroutine, which also records that the file holds every log record so far;
// the log then starts again from its top. For a version 1 file, which has no log, this is the
// whole of Sync. s.syncMu must be held.
func (s *Store) checkpointLocked(op string, batches []batch) error {
	s.waitCheckpoint()
	s.mu.Lock()
	if s.failed != nil { // the background checkpoint failed
		defer s.mu.Unlock()
		s.committing = nil
		s.pending = append(batches, s.pending...)
		return fmt.Errorf("bolt: %s: %w", op, s.failed)
	}
	var all []batch
	for _, r := range s.logged {
		all = append(all, r.batches...)
	}
	s.mu.Unlock()
	all = append(all, batches...)
	if len(all) == 0 {
		return nil
	}
	var mark *logMark
	if s.log != nil {
		mark = &logMark{record: s.log.last, head: logHeaderBytes}
		if len(batches) > 0 {
			mark.record++ // the group is numbered as if it were a record
		}
	}
	fsyncs, err := s.commit(all, mark)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Fsyncs += fsyncs
	s.committing = nil
	if err != nil {
		return s.failLocked(op, batches, err)
	}
	if s.log != nil {
		s.log.last, s.log.tail = mark.record, mark.head
		s.stats.Checkpoints++
	}
	s.retireLocked(all)
	clear(s.logged)
	s.logged, s.loggedBytes = s.logged[:0], 0
	if len(batches) > 0 {
		s.stats.Syncs++
		s.stats.BatchesSynced += uint64(len(batches))
		clear(batches) // drop the values so the reused array does not keep them alive
		s.spare = batches[:0]
	}
	return nil
}

// logMark is what a checkpoint records in the file about the log: the number of the last record
// the file now holds, and the offset where the record after it is, or would go.
type logMark struct {
	record uint64
	head   int64
}

// commit writes batches to the file in one transaction and fsyncs it; with a log, the same
// transaction records mark. It returns the fsync calls it made. It runs without s.mu, in the
// goroutine of a Sync, a Close, an Open, or a background checkpoint, one at a time.
func (s *Store) commit(batches []batch, mark *logMark) (fsyncs uint64, err error) {
	tx, err := s.db.Begin(true)
	if err != nil {
		return 0, err
	}
	// The recover is deferred first so that it runs last and also catches a panic of the
	// rollback below.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: bbolt could not read a page of %s: %v", ErrCorrupt, s.path, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	// A no-op after a successful Commit; after an error or a panic it releases bbolt's writer
	// lock, without which Close would hang. On a damaged freelist the rollback itself can
	// panic before it releases that lock; wedged then stays set.
	defer func() {
		s.wedged.Store(true)
		_ = tx.Rollback()
		s.wedged.Store(false)
	}()
	data := tx.Bucket(dataBucket)
	if data == nil {
		return 0, fmt.Errorf("%w: %s: no %q bucket", ErrCorrupt, s.path, dataBucket)
	}
	sizeBefore := s.fileSize()
	defer func() {
		if !s.noSync {
			fsyncs += 2
		}
		if s.fileSize() > sizeBefore {
			fsyncs++
		}
	}()
	for _, op := range netOps(batches) {
		if op.Delete {
			err = data.Delete([]byte(op.Key))
		} else {
			err = data.Put([]byte(op.Key), op.Value)
		}
		if errors.Is(err, berrors.ErrIncompatibleValue) {
			// The store writes plain keys only, so a key that bbolt reads as a nested
			// bucket is a damaged page, not a bad batch.
			err = fmt.Errorf("%w: %s: bbolt reads the key as a nested bucket, which this store never writes: %w", ErrCorrupt, s.path, err)
		}
		if err != nil {
			return 0, fmt.Errorf("key %q: %w", op.Key, err)
		}
	}
	if mark != nil {
		if err := setCheckpoint(tx, mark.record, mark.head); err != nil {
			return 0, fmt.Errorf("recording log record %d as checkpointed: %w", mark.record, err)
		}
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	return 0, tx.Commit()
}

// netOps returns the last write of batches to each key they touch, in ascending key order:
// what one transaction must do to apply them all. The order matters to bbolt, which splits a
// node only when the transaction commits: keys put in random order into one node each move all
// the keys after them, so a checkpoint of 60,000 keys spent most of its time (seconds) moving
// memory; in key order each put lands at the end of what its node has gained.
func netOps(batches []batch) []store.Op {
	last := make(map[string]store.Op)
	for _, b := range batches {
		for _, op := range b.ops {
			last[op.Key] = op
		}
	}
	ops := make([]store.Op, 0, len(last))
	for _, op := range last {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, b store.Op) int { return strings.Compare(a.Key, b.Key) })
	return ops
}

// Load calls fn for every key in ascending byte order with its latest applied value, synced or
// not: the file's contents with the pending and committing batches on top. It is Scan with the
// empty prefix; a value that fails its checksum is skipped as Scan says.
func (s *Store) Load(fn func(key string, value []byte) error) error {
	return s.scan("load", "", fn)
}

// Scan calls fn for every key that starts with prefix, in ascending byte order, with its latest
// applied value, synced or not. An error from fn stops the scan and is returned, joined with the
// checksum errors met before it.
//
// A value that fails its checksum (format version 2) is never passed to fn: the scan goes on past
// it and returns an error that joins a *store.ChecksumError for each such key. The store stays
// usable: the damage is in one value, not in bbolt's structures.
//
// value is valid only until fn returns; copy what you need. (It is a buffer that the next key
// overwrites, so fn can neither write into bbolt's read-only mapping nor corrupt the overlay.)
// fn must not call the store: Scan holds the store's lock throughout, so that it sees one
// state; Syncs already committing go on.
func (s *Store) Scan(prefix string, fn func(key string, value []byte) error) error {
	return s.scan("scan", prefix, fn)
}

func (s *Store) scan(op, prefix string, fn func(key string, value []byte) error) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	keys := s.overlayKeysLocked(prefix)

	tx, err := s.db.Begin(false)
	if err != nil {
		return fmt.Errorf("bolt: %s %s: %w", op, s.path, err)
	}
	defer func() { _ = tx.Rollback() }()
	inFn := false
	defer s.failOnPanicLocked(op, &inFn, &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	data := tx.Bucket(dataBucket)
	if data == nil {
		return fmt.Errorf("%w: %s: no %q bucket", ErrCorrupt, s.path, dataBucket)
	}
	c := data.Cursor()
	// within keeps the cursor inside the prefix: a key past it ends the file's side of the scan.
	within := func(k, v []byte) ([]byte, []byte) {
		if k != nil && !bytes.HasPrefix(k, []byte(prefix)) {
			return nil, nil
		}
		return k, v
	}
	k, v := within(c.Seek([]byte(prefix)))
	i := 0
	var bad []error
	for k != nil || i < len(keys) {
		var key string
		var value []byte
		if k != nil && (i == len(keys) || string(k) < keys[i]) {
			key, value = string(k), v
			k, v = within(c.Next())
		} else {
			key = keys[i]
			e := s.overlay[key]
			i++
			if k != nil && string(k) == key {
				k, v = within(c.Next()) // the overlay's write replaces the file's value
			}
			if e.deleted {
				continue
			}
			value = e.value
		}
		if s.sealed {
			var err error
			if value, err = store.Unseal(key, value); err != nil {
				bad = append(bad, err)
				continue
			}
		}
		s.scratch = append(s.scratch[:0], value...)
		inFn = true
		if err := fn(key, s.scratch[:len(value):len(value)]); err != nil {
			return errors.Join(append(bad, err)...)
		}
		inFn = false
	}
	return errors.Join(bad...)
}

// overlayKeysLocked returns the overlay's keys that start with prefix, in ascending order, in a
// slice valid until the next call. s.mu must be held.
func (s *Store) overlayKeysLocked(prefix string) []string {
	if len(s.added) == 0 {
		return withPrefix(s.keys, prefix)
	}
	slices.Sort(s.added)
	if len(s.added) >= foldKeys {
		merged := mergeKeys(s.merged[:0], s.keys, s.added)
		clear(s.keys) // its strings are in merged
		s.keys, s.merged = merged, s.keys[:0]
		clear(s.added)
		s.added = s.added[:0]
		return withPrefix(s.keys, prefix)
	}
	keys, added := withPrefix(s.keys, prefix), withPrefix(s.added, prefix)
	if len(added) == 0 {
		return keys
	}
	s.merged = mergeKeys(s.merged[:0], keys, added)
	return s.merged
}

// withPrefix returns the range of the sorted keys that start with prefix.
func withPrefix(keys []string, prefix string) []string {
	first, _ := slices.BinarySearch(keys, prefix)
	keys = keys[first:]
	if n := slices.IndexFunc(keys, func(k string) bool { return !strings.HasPrefix(k, prefix) }); n >= 0 {
		keys = keys[:n]
	}
	return keys
}

// mergeKeys appends to dst the keys of a and b, two sorted lists with no key in common, in
// ascending order.
func mergeKeys(dst, a, b []string) []string {
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			dst, a = append(dst, a[0]), a[1:]
		} else {
			dst, b = append(dst, b[0]), b[1:]
		}
	}
	dst = append(dst, a...)
	return append(dst, b...)
}

// unsealed returns a copy of value read under key without its checksum, checked; a bare copy
// for a version 1 file.
func (s *Store) unsealed(key string, value []byte) ([]byte, error) {
	if s.sealed {
		v, err := store.Unseal(key, value)
		if err != nil {
			return nil, fmt.Errorf("bolt: get %s: %w", s.path, err)
		}
		value = v
	}
	return append([]byte{}, value...), nil
}

// Get returns a copy of key's latest applied value and whether the key exists, synced or not. A
// value that fails its checksum gives an error wrapping a *store.ChecksumError.
func (s *Store) Get(key string) (value []byte, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked("get"); err != nil {
		return nil, false, err
	}
	if e, ok := s.overlay[key]; ok {
		if e.deleted {
			return nil, false, nil
		}
		v, err := s.unsealed(key, e.value)
		return v, err == nil, err
	}
	if key == "" {
		return nil, false, nil // never stored; and a cursor would seek to the first key
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, false, fmt.Errorf("bolt: get %s: %w", s.path, err)
	}
	defer func() { _ = tx.Rollback() }()
	defer s.failOnPanicLocked("get", nil, &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	data := tx.Bucket(dataBucket)
	if data == nil {
		return nil, false, fmt.Errorf("%w: %s: no %q bucket", ErrCorrupt, s.path, dataBucket)
	}
	// A cursor rather than Bucket.Get, which cannot tell an empty value from a missing key.
	k, v := data.Cursor().Seek([]byte(key))
	if k == nil || !bytes.Equal(k, []byte(key)) {
		return nil, false, nil
	}
	value, err = s.unsealed(key, v)
	return value, err == nil, err
}

// failOnPanicLocked, deferred by a reader holding s.mu, turns a panic inside bbolt into
// ErrCorrupt and fails the store, which must not write on top of damage. bbolt panics on a page
// it cannot parse, and a damaged page can send it reading outside the mapped file, a fault the
// reader turns into a panic with debug.SetPanicOnFault. A panic while *inFn is set came from
// the caller's callback and goes on unrecovered.
func (s *Store) failOnPanicLocked(op string, inFn *bool, err *error) {
	if inFn != nil && *inFn {
		return
	}
	r := recover()
	if r == nil {
		return
	}
	s.failed = fmt.Errorf("%w: %w: bbolt could not read a page of %s: %v", ErrFailed, ErrCorrupt, s.path, r)
	*err = fmt.Errorf("bolt: %s: %w", op, s.failed)
}

// closeCheckpoint makes everything applied durable in the file itself at Close: the pending
// batches and the logged ones, in one checkpoint, so that the next Open finds nothing to replay.
// On a failed store it returns the failure. s.syncMu must be held.
func (s *Store) closeCheckpoint() error {
	s.mu.Lock()
	if err := s.usableLocked("close"); err != nil {
		s.mu.Unlock()
		return err
	}
	s.committing, s.pending = s.pending, nil
	batches := s.committing
	s.mu.Unlock()
	return s.checkpointLocked("close", batches)
}

// Close commits the pending batches, as a graceful shutdown should (only a crash loses them),
// and checkpoints the log into the file, then closes both and releases the file's lock. Every later call returns an error wrapping
// store.ErrClosed. On a failed store it only releases the file and returns the failure.
func (s *Store) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.waitCheckpoint() // whatever happens next, no transaction may be running
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("bolt: close %s: %w", s.path, store.ErrClosed)
	}
	s.mu.Unlock()

	syncErr := s.closeCheckpoint()

	s.mu.Lock()
	s.closed = true
	s.pending, s.spare, s.overlay, s.logged, s.keys, s.added, s.merged = nil, nil, nil, nil, nil, nil, nil
	s.mu.Unlock()
	if s.log != nil {
		if err := s.log.f.Close(); err != nil {
			syncErr = errors.Join(syncErr, fmt.Errorf("bolt: close %s: %w", s.log.path, err))
		}
	}
	if s.wedged.Load() {
		// As after a panic in openDB: the file, its mapping and its lock stay until the
		// process exits, which is better than a Close that never returns.
		return errors.Join(syncErr, fmt.Errorf("bolt: close %s: a damaged page left bbolt holding its writer lock; the file stays open and locked until the process exits", s.path))
	}
	if err := s.db.Close(); err != nil {
		return errors.Join(syncErr, fmt.Errorf("bolt: close %s: %w", s.path, err))
	}
	return syncErr
}
