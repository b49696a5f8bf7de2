package mem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/vigilsim/vigil/internal/freelist"
	"github.com/vigilsim/vigil/runtime/store"
)

// Store is an in-memory store.Store with a crash model. Its methods are safe for concurrent use.
//
// The state is kept once, as the latest applied values, with an undo record per unsynced write
// rather than a second, durable copy: Apply stays O(ops), Sync is O(ops since the last Sync) and
// only forgets undo records, and Crash is O(ops it drops), never O(keys).
//
// A value is kept as written until something damages it (FlipBit), and sealed then: the store
// holds it with its checksum (store.Seal) from that moment, and every read checks that checksum
// (store.Unseal), as every read of a sealed value did when all were sealed at Apply. A value
// nothing damaged is the copy Apply made, unchanged, so its checksum could only match: computing
// it at Apply and again at every read, twice the CRC-32C of every value the engine writes and
// reads, decided nothing. What a read of any value returns, and which reads fail and how, is as
// it was; a crash's torn log record (CrashTearing) still holds every write sealed.
type Store struct {
	mu sync.Mutex

	// data holds a cell for every key written since the last Reset or compaction: a live one
	// per key the store holds, with its latest applied value, and a dead one per key deleted
	// (or undone by a crash) since. A key keeps its cell through deletes and crashes, so that
	// overwriting a key, deleting it, undoing either and scanning it touch the cell, not the
	// table or the key list; compact drops the dead cells once they outnumber the live ones and
	// no undo record can bring them back. Values are private copies and never modified in
	// place, so undo records may share them.
	data cellTable
	// live counts the live cells.
	live int

	// undo holds, for each write since the last Sync in apply order, what its key held before;
	// batchEnds[i] is the length of undo once unsynced batch i was applied.
	undo      []undoRecord
	batchEnds []int
	// undoUsed is how much of undo's room holds records dropped since the last Reset, which
	// clears them (forgetUnsynced does not).
	undoUsed int

	// keys is data's cells in ascending key order but for those in added: newCell files a new
	// cell in its place when that moves at most maxShift others, so that the scans of a small
	// store (the simulator's) never sort; a new cell whose place is further from the end waits
	// in added, and the next scan sorts added alone and merges it into keys (mergeKeys), so
	// that a store of many keys does not pay a long shift for every new one. A cell is filed
	// once, in one of the two lists, so the merge meets no repeats. filed is where newCell
	// filed the last one: the engine writes a journal's entries one after another, and a new
	// key most often belongs right after the last, which two comparisons confirm (a binary
	// search finds any other place).
	keys  []*cell
	added []*cell
	filed int
	// merged is the buffer mergeKeys writes into; it and keys swap at each merge.
	merged []*cell

	// cellChunks are the chunks cells are cut from (newCell), nextCell the number cut since the
	// last Reset, and freeCells the cells compact dropped, for the next new keys.
	cellChunks [][]cell
	nextCell   int
	freeCells  []*cell

	// scratch is the buffer Load hands values out in; see Load for why it is reused.
	scratch []byte

	// arena is the chunk sealed values are cut from (see sealedBuf), chunks every chunk cut
	// from since the last Reset, and spareChunks the chunks Reset freed, for the next ones.
	arena       []byte
	chunks      [][]byte
	spareChunks [][]byte

	closed bool
	// failNextSync makes the next Sync fail (FailNextSync); failed is set by a Sync that
	// failed, and holds until Crash.
	failNextSync bool
	failed       error
}

// cell is one key's place in the store: its key and, while live, its latest applied value.
type cell struct {
	key  string
	hash uint64 // keyHash(key), for the table's probes
	v    value
	live bool
}

// cellChunk is how many cells one allocation holds.
const cellChunk = 64

// value is a stored value: as written (raw) until FlipBit damages it, sealed (the value and its
// checksum, store.Seal) from then on.
type value struct {
	b      []byte
	sealed bool
}

// open returns what a read of key's value v hands out: the raw value, or for a sealed one the
// value store.Unseal checks and strips, or its *store.ChecksumError.
func open(key string, v value) ([]byte, error) {
	if !v.sealed {
		return v.b, nil
	}
	return store.Unseal(key, v.b)
}

// sealedLen is the length of v sealed: what FlipBit counts bits in and a log record holds.
func (v value) sealedLen() int {
	if v.sealed {
		return len(v.b)
	}
	return len(v.b) + store.ChecksumBytes
}

// appendSealed appends v, sealed under key, to dst.
func (v value) appendSealed(dst []byte, key string) []byte {
	if v.sealed {
		return append(dst, v.b...)
	}
	return store.Seal(dst, key, v.b)
}

// undoRecord is the value a key held before one unsynced write, and the write itself (next,
// or deleted), from which Crash rebuilds a batch's log record when it tears it. c is the key's
// cell, nil for the delete of a key that had none.
type undoRecord struct {
	key     string
	c       *cell
	prev    value
	existed bool
	next    value
	deleted bool
}

// ErrSyncFailed is wrapped by the error of a Sync that FailNextSync made fail, and ErrFailed by
// every call after it until Crash.
var (
	ErrSyncFailed = errors.New("fsync failed (injected)")
	ErrFailed     = errors.New("store failed: an earlier sync failed, so batches it covered may not be on disk; crash and reopen it")
)

var _ store.Store = (*Store)(nil)

// New returns an empty, open store.
func New() *Store {
	return &Store{}
}

// Reset empties the store as if New had just made it, keeping what it allocated (the table's
// buckets, the undo log, the key list) for the next use: the simulator reuses one store across
// the seeds of a campaign instead of growing a fresh one per seed. Nothing of what it held before
// is visible after it; values already handed out (Get's copies) are the caller's and unaffected.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.clear()
	s.live = 0
	s.forgetUnsynced()
	clear(s.undo[:s.undoUsed]) // the records Syncs dropped too (forgetUnsynced)
	s.undoUsed = 0
	clear(s.keys) // drop the old cells
	s.keys = s.keys[:0]
	clear(s.added)
	s.added = s.added[:0]
	s.filed = 0
	// Every cell cut since the last Reset is emptied (its key and value dropped) and free again.
	for i := 0; i*cellChunk < s.nextCell; i++ {
		clear(s.cellChunks[i])
	}
	s.nextCell = 0
	clear(s.freeCells)
	s.freeCells = s.freeCells[:0]
	s.scratch = s.scratch[:0]
	s.closed = false
	s.failNextSync = false
	s.failed = nil
	// Nothing outside the store holds its values (Get copies, Load and Scan hand out scratch),
	// and the table and the undo log are cleared, so every chunk is free again.
	s.spareChunks = append(s.spareChunks, s.chunks...)
	clear(s.chunks)
	s.chunks = s.chunks[:0]
	s.arena = nil
}

// arenaChunk is the size of the chunks small values are cut from.
const arenaChunk = 16 << 10

// valueBuf returns an empty buffer of capacity n for a value: a slice of the arena, capped so
// that filling it cannot reach its neighbours, or its own allocation when n is large. One
// allocation per chunk instead of one per value written; values are never changed in place
// (FlipBit replaces one), so sharing a chunk is safe.
func (s *Store) valueBuf(n int) []byte {
	if n > arenaChunk/8 {
		return make([]byte, 0, n)
	}
	if cap(s.arena)-len(s.arena) < n {
		if spare, ok := freelist.Pop(&s.spareChunks); ok {
			s.arena = spare[:0]
		} else {
			s.arena = make([]byte, 0, arenaChunk)
		}
		s.chunks = append(s.chunks, s.arena)
	}
	at := len(s.arena)
	s.arena = s.arena[:at+n]
	return s.arena[at : at : at+n]
}

// Apply applies b atomically and makes it visible to Load and Get at once; it stays volatile
// until the next Sync. Values are copied, so the caller may reuse b's slices. An empty batch
// still counts as one unsynced batch, so Crash's keep counts Apply calls.
func (s *Store) Apply(b store.Batch) error {
	// Unlocked at each return rather than deferred, as in Sync and AppendValue: every engine
	// step applies a batch, and nothing here calls out or panics.
	s.mu.Lock()
	if err := s.usableLocked("apply"); err != nil {
		s.mu.Unlock()
		return err
	}
	// Refused whole, as bbolt refuses it, so that the simulator catches an engine that emits
	// what the production store would not take.
	for i, op := range b {
		if err := store.CheckOp(op); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("mem: apply: op %d of %d: %w", i, len(b), err)
		}
	}
	for _, op := range b {
		c, h := s.data.lookup(op.Key)
		var prev value
		existed := c != nil && c.live
		if existed {
			prev = c.v
		}
		if op.Delete {
			s.undo = append(s.undo, undoRecord{key: op.Key, c: c, prev: prev, existed: existed, deleted: true})
			if existed {
				c.v, c.live = value{}, false
				s.live--
			}
			continue
		}
		if c == nil {
			c = s.newCell(op.Key, h)
		}
		v := value{b: append(s.valueBuf(len(op.Value)), op.Value...)}
		s.undo = append(s.undo, undoRecord{key: op.Key, c: c, prev: prev, existed: existed, next: v})
		c.v = v
		if !existed {
			c.live = true
			s.live++
		}
	}
	s.batchEnds = append(s.batchEnds, len(s.undo))
	s.mu.Unlock()
	return nil
}

// newCell makes the cell of a key that has none and hashes to h, dead, and files it in the
// table and in its place in keys.
func (s *Store) newCell(key string, h uint64) *cell {
	c, ok := freelist.Pop(&s.freeCells)
	if !ok {
		chunk, at := s.nextCell/cellChunk, s.nextCell%cellChunk
		if chunk == len(s.cellChunks) {
			s.cellChunks = append(s.cellChunks, make([]cell, cellChunk))
		}
		c = &s.cellChunks[chunk][at]
		s.nextCell++
	}
	c.key = key
	s.data.add(c, h)
	n, at := len(s.keys), s.filed
	switch {
	case n == 0 || keyLess(s.keys[n-1].key, key):
		at = n
	case at < n-1 && keyLess(s.keys[at].key, key) && keyLess(key, s.keys[at+1].key):
		at++ // right after the last one filed
	default:
		at = s.firstAtOrAfter(key)
	}
	if n-at > maxShift {
		s.added = append(s.added, c)
		return c
	}
	s.keys = append(s.keys, nil)
	if at < n { // most new keys go last: no call to shift nothing
		copy(s.keys[at+1:], s.keys[at:n])
	}
	s.keys[at] = c
	s.filed = at
	return c
}

// Sync makes every batch applied so far durable: no later Crash can lose it.
//
// A Sync that FailNextSync made fail returns an error wrapping ErrSyncFailed and makes nothing
// durable: a later Crash may keep or lose the batches it covered, as after a failed fsync, when
// the kernel may have written some of the dirty pages, or none, and forgotten the rest. The store
// has failed then: every call but Get returns ErrFailed until Crash, so that its driver cannot
// go on as if the batches were durable (retrying the fsync would report success for pages the
// kernel dropped).
func (s *Store) Sync() error {
	s.mu.Lock()
	if err := s.usableLocked("sync"); err != nil {
		s.mu.Unlock()
		return err
	}
	if s.failNextSync {
		s.failNextSync = false
		s.failed = &failedError{batches: len(s.batchEnds), causes: [2]error{ErrFailed, ErrSyncFailed}}
		err := &syncError{batches: len(s.batchEnds)}
		s.mu.Unlock()
		return err
	}
	s.forgetUnsynced()
	s.mu.Unlock()
	return nil
}

// usableLocked returns the error of a call on a closed or failed store, or nil.
func (s *Store) usableLocked(op string) error {
	if s.closed {
		return &opError{op: op, err: store.ErrClosed}
	}
	if s.failed != nil {
		return &opError{op: op, err: s.failed}
	}
	return nil
}

// The store's errors are values of their own rather than fmt.Errorf's: the simulator injects a
// failed sync or a damaged value in nearly every run, and each error is read, if at all, by
// errors.Is, rarely by its text. Each type's text is the one the fmt.Errorf it replaces wrote,
// and it wraps the same errors (errors_internal_test.go holds both).

// opError is what fmt.Errorf("mem: %s: %w", op, err) makes: the error of a store call op.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "mem: " + e.op + ": " + e.err.Error() }

func (e *opError) Unwrap() error { return e.err }

// syncError is what fmt.Errorf("mem: sync: %w (%d batches not durable)", ErrSyncFailed, batches)
// makes: the error of a Sync that FailNextSync made fail.
type syncError struct{ batches int }

func (e *syncError) Error() string {
	return "mem: sync: " + ErrSyncFailed.Error() + " (" + strconv.Itoa(e.batches) + " batches not durable)"
}

func (e *syncError) Unwrap() error { return ErrSyncFailed }

// failedError is what fmt.Errorf("%w: %w (%d unsynced batches not durable)", ErrFailed,
// ErrSyncFailed, batches) makes: the failure a failed Sync leaves the store in. causes holds
// the two errors it wraps, so that Unwrap makes no slice at each errors.Is.
type failedError struct {
	batches int
	causes  [2]error
}

func (e *failedError) Error() string {
	return e.causes[0].Error() + ": " + e.causes[1].Error() + " (" + strconv.Itoa(e.batches) + " unsynced batches not durable)"
}

func (e *failedError) Unwrap() []error { return e.causes[:] }

// FailNextSync makes the next Sync fail, as a disk reports an fsync error: see Sync.
func (s *Store) FailNextSync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNextSync = true
}

// Failed reports whether a failed Sync has failed the store (until Crash).
func (s *Store) Failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed != nil
}

// forgetUnsynced drops the undo log. It does not clear the records it drops: nothing reads
// past len(undo), the next Apply overwrites them, and every Sync clearing them (an undo record
// per write, some hundred bytes of pointers each) cost more than keeping the values they point
// to alive a little longer; those are the store's own (arena chunks, cells), the odd large one
// aside, until Reset clears them (undoUsed says how far).
func (s *Store) forgetUnsynced() {
	s.undoUsed = max(s.undoUsed, len(s.undo))
	s.undo = s.undo[:0]
	s.batchEnds = s.batchEnds[:0]
}

// Load calls fn for every key in ascending byte order with its latest applied value, synced or
// not: Scan with the empty prefix. A value that fails its checksum is skipped; see Scan.
func (s *Store) Load(fn func(key string, value []byte) error) error {
	return s.scan("load", "", fn)
}

// Scan calls fn for every key that starts with prefix, in ascending byte order, with its latest
// applied value, synced or not. An error from fn stops the scan and is returned (joined with the
// checksum errors met before it).
//
// A value that fails its checksum (FlipBit) is never passed to fn: the scan goes on past it and
// returns an error that joins a *store.ChecksumError for each such key.
//
// fn must not call the store: Scan holds its lock throughout, so that the scan sees one state.
// value is valid only until fn returns. It lives in a buffer that the next key overwrites, which
// keeps fn from corrupting the store and makes a caller that wrongly retains values fail under
// mem as it would under a store that hands out memory-mapped pages.
func (s *Store) Scan(prefix string, fn func(key string, value []byte) error) error {
	return s.scan("scan", prefix, fn)
}

func (s *Store) scan(op, prefix string, fn func(key string, value []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	s.sortKeys()
	var bad []error
	i := s.firstAtOrAfter(prefix)
	for _, c := range s.keys[i:] {
		k := c.key
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if !c.live {
			continue
		}
		v, err := open(k, c.v)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		s.scratch = append(s.scratch[:0], v...)
		if err := fn(k, s.scratch[:len(v):len(v)]); err != nil {
			if len(bad) == 0 {
				return err // joined with nothing: itself, without a join's allocations
			}
			return errors.Join(append(bad, err)...)
		}
	}
	return errors.Join(bad...)
}

// maxShift is how many cells newCell moves at most to file a new one in keys; a new cell with
// more after its place waits in added for the next scan (see keys). A variable only for the
// tests, which make both ways run on small stores.
var maxShift = 256

// sortKeys makes keys every cell in ascending key order (mergeKeys), and compacts the store
// when the dead cells outnumber the live ones.
func (s *Store) sortKeys() {
	if len(s.added) > 0 {
		s.mergeKeys()
	}
	if len(s.keys)-s.live > s.live && len(s.undo) == 0 {
		s.compact()
	}
}

// mergeKeys sorts the cells in added and merges them into keys.
func (s *Store) mergeKeys() {
	slices.SortFunc(s.added, func(a, b *cell) int { return strings.Compare(a.key, b.key) })
	out := s.merged[:0]
	i, j := 0, 0
	for i < len(s.keys) && j < len(s.added) {
		if keyLess(s.keys[i].key, s.added[j].key) {
			out = append(out, s.keys[i])
			i++
		} else {
			out = append(out, s.added[j])
			j++
		}
	}
	out = append(out, s.keys[i:]...)
	out = append(out, s.added[j:]...)
	clear(s.keys) // the old list's cells are all in out
	s.keys, s.merged = out, s.keys[:0]
	clear(s.added)
	s.added = s.added[:0]
}

// compact drops the dead cells from the table and the key list, for newCell to reuse: a store
// whose keys come and go keeps room for about twice the keys it holds. Only with no undo
// record, which could make a dead cell live again, and with added merged (sortKeys).
func (s *Store) compact() {
	kept := s.keys[:0]
	for _, c := range s.keys {
		if c.live {
			kept = append(kept, c)
			continue
		}
		*c = cell{}
		s.freeCells = append(s.freeCells, c)
	}
	clear(s.keys[len(kept):])
	s.keys = kept
	s.data.refill(kept)
}

// firstAtOrAfter returns the position in keys of the first cell whose key is not less than key.
func (s *Store) firstAtOrAfter(key string) int {
	lo, hi := 0, len(s.keys)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if keyLess(s.keys[mid].key, key) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// keyLess reports whether a < b. The engine's keys begin with their kind's prefix ("inv/",
// "jnl/", "st/"...), most of them with a first letter of their own, so that a binary search over
// keys of several kinds mostly compares keys whose first bytes differ: deciding those in line
// spares them a call of the runtime's string compare.
func keyLess(a, b string) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// Close closes the store: every later call of the store.Store methods returns an error that
// wraps store.ErrClosed. The data is kept, as a disk keeps it, and Crash reopens the store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("mem: close: %w", store.ErrClosed)
	}
	s.closed = true
	return nil
}

// Crash simulates the process dying and restarting on the same disk: every synced batch
// survives, and of the unsynced ones exactly the first keep, in apply order; the rest are lost.
// What survives is on disk, so it is durable afterwards and Unsynced is 0.
//
// Crash works whether or not the store was closed and leaves it open, ready for the restarted
// process. It panics if keep is outside [0, Unsynced()], since that would claim to keep batches
// that were never applied.
func (s *Store) Crash(keep int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.batchEnds); keep < 0 || keep > n {
		panic(fmt.Sprintf("mem: Crash(%d): keep must be within [0, %d], the number of unsynced batches", keep, n))
	}
	cut := 0
	if keep > 0 {
		cut = s.batchEnds[keep-1]
	}
	// Undo newest first, so a key written several times ends at its value before the oldest
	// dropped write.
	for i := len(s.undo) - 1; i >= cut; i-- {
		u := &s.undo[i]
		c := u.c
		if c == nil {
			continue // the delete of a key that had no cell: it had none before either
		}
		if c.live != u.existed {
			if u.existed {
				s.live++
			} else {
				s.live--
			}
		}
		c.v, c.live = u.prev, u.existed
	}
	s.forgetUnsynced()
	s.closed = false
	s.failed = nil
	s.failNextSync = false
}

// CrashTearing is Crash(keep) with the last batch that reaches the disk torn: the power went
// while its log record was being written, so the record's bytes from offset at (modulo its
// length) on are what the disk held before, zeros, as in a preallocated log file. The batch's
// record carries a length and a CRC-32C of its body; reopening the store checks it, and a record
// that fails is dropped, the batch with it, as a write-ahead log treats a torn tail (and as bbolt
// falls back to its previous meta page when the last one is torn). A tear can only strike a
// write that was not synced: a synced write is on the media, whole. Dropping an unsynced batch
// is what the store.Store contract allows a crash, so the engine's recovery sees nothing new;
// what is tested is that the tear is detected, never applied in part.
//
// It returns how many unsynced batches survived (keep or keep-1) and whether the tear was
// detected (false when keep is 0, or the torn bytes happened to be zeros already, so the record
// was whole).
func (s *Store) CrashTearing(keep, at int) (kept int, detected bool) {
	s.mu.Lock()
	if n := len(s.batchEnds); keep < 0 || keep > n {
		s.mu.Unlock()
		panic(fmt.Sprintf("mem: CrashTearing(%d): keep must be within [0, %d], the number of unsynced batches", keep, n))
	}
	if keep > 0 {
		start := 0
		if keep > 1 {
			start = s.batchEnds[keep-2]
		}
		rec := encodeBatchRecord(s.undo[start:s.batchEnds[keep-1]])
		torn := slices.Clone(rec)
		clear(torn[at%len(torn):])
		if !batchRecordIntact(torn) {
			keep--
			detected = true
		}
	}
	s.mu.Unlock()
	s.Crash(keep)
	return keep, detected
}

// encodeBatchRecord encodes one batch as a log record: the body's length (4 bytes), the body (per
// write: the key's length and key, a delete flag, the sealed value's length and value), and the
// body's CRC-32C (4 bytes).
func encodeBatchRecord(writes []undoRecord) []byte {
	var body []byte
	for _, w := range writes {
		body = binary.AppendUvarint(body, uint64(len(w.key)))
		body = append(body, w.key...)
		if w.deleted {
			body = append(body, 1)
			continue
		}
		body = append(body, 0)
		body = binary.AppendUvarint(body, uint64(w.next.sealedLen()))
		body = w.next.appendSealed(body, w.key)
	}
	rec := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	rec = append(rec, body...)
	return binary.BigEndian.AppendUint32(rec, store.Checksum("", body))
}

// batchRecordIntact checks a log record as reopening the store does: its length field matches
// its size and its CRC-32C matches its body.
func batchRecordIntact(rec []byte) bool {
	if len(rec) < 8 {
		return false
	}
	n := binary.BigEndian.Uint32(rec)
	if uint64(n) != uint64(len(rec)-8) {
		return false
	}
	body := rec[4 : 4+n]
	return binary.BigEndian.Uint32(rec[4+n:]) == store.Checksum("", body)
}

// FlipBit flips one bit of the value stored under key, as a disk or memory error does at rest:
// bit (modulo the stored bits, the value and its checksum) counting from the first byte's
// lowest bit. A later read of key fails its checksum (store.ErrChecksum) instead of returning
// damaged data. It reports false, changing nothing, when the key does not exist.
func (s *Store) FlipBit(key string, bit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.data.get(key)
	if c == nil || !c.live {
		return false
	}
	// Sealed from now on, in a copy: values are shared with undo records, never changed in place.
	flipped := c.v.appendSealed(make([]byte, 0, c.v.sealedLen()), key)
	bit %= 8 * len(flipped)
	flipped[bit/8] ^= 1 << (bit % 8)
	c.v = value{b: flipped, sealed: true}
	return true
}

// Keys returns every key in ascending order. It is meant for tests and the simulator (to choose a
// record to damage) and works on a closed or failed store.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sortKeys()
	keys := make([]string, 0, s.live)
	for _, c := range s.keys {
		if c.live {
			keys = append(keys, c.key)
		}
	}
	return keys
}

// Unsynced returns the number of batches applied since the last Sync or Crash: the most that a
// Crash can keep.
func (s *Store) Unsynced() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batchEnds)
}

// Len returns the number of keys currently visible. It is meant for tests and debugging and
// works on a closed store.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Get returns a copy of key's latest applied value and whether the key exists. It fails only
// for a value that fails its checksum (an error wrapping store.ErrChecksum and naming the key),
// and works on a closed or failed store too, so that tests can look at what a crash left.
func (s *Store) Get(key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.data.get(key)
	if c == nil || !c.live {
		return nil, false, nil
	}
	v, err := open(key, c.v)
	if err != nil {
		return nil, false, &opError{op: "get", err: err}
	}
	return append([]byte{}, v...), true, nil
}

// AppendValue is Get into a buffer of the caller's: it appends key's latest applied value to dst
// and returns the result, with whether the key exists; dst is returned unchanged when it does
// not, or on the error Get would return. The key is given as bytes and read in place, so that a
// reader that reads many values (engine.ReadInvocation: a whole journal) needs no key string
// and no copy per value.
func (s *Store) AppendValue(dst, key []byte) ([]byte, bool, error) {
	// Unlocked at each return rather than deferred, as in Apply: the replay twin reads a value
	// this way some twenty thousand times a 300-seed run, and nothing here calls out or panics.
	s.mu.Lock()
	c := s.data.get(unsafe.String(unsafe.SliceData(key), len(key))) // read in place: get keeps nothing of it
	if c == nil || !c.live {
		s.mu.Unlock()
		return dst, false, nil
	}
	stored := c.v
	if !stored.sealed {
		dst = append(dst, stored.b...)
		s.mu.Unlock()
		return dst, true, nil
	}
	sealed := stored.b
	n := len(sealed) - store.ChecksumBytes
	// The checksum reads the key in place (it keeps nothing): a string conversion of a key
	// longer than 32 bytes would allocate.
	if n < 0 || store.Checksum(unsafe.String(unsafe.SliceData(key), len(key)), sealed[:n]) != binary.BigEndian.Uint32(sealed[n:]) {
		// The check failed: Unseal says why, as Get does, with the key as a string of its own.
		_, err := store.Unseal(string(key), sealed)
		s.mu.Unlock()
		return dst, false, &opError{op: "get", err: err}
	}
	dst = append(dst, sealed[:n]...)
	s.mu.Unlock()
	return dst, true, nil
}
