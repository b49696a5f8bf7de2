package mem

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vigilsim/vigil/runtime/store"
)

// Store is an in-memory store.Store with a crash model. Its methods are safe for concurrent use.
//
// The state is kept once, as the latest applied values, with an undo record per unsynced write
// rather than a second, durable copy: Apply stays O(ops), Sync is O(ops since the last Sync) and
// only forgets undo records, and Crash is O(ops it drops), never O(keys).
type Store struct {
	mu sync.Mutex

	// data is every key's latest applied value. Values are private copies and never modified
	// in place, so undo records may share them.
	data map[string][]byte

	// undo holds, for each write since the last Sync in apply order, what its key held before;
	// batchEnds[i] is the length of undo once unsynced batch i was applied.
	undo      []undoRecord
	batchEnds []int

	// keys is data's keys in ascending order, valid only while !keysDirty. Sorting lazily at
	// Load, which runs at recovery, keeps Apply, which runs every engine step, cheap.
	keys      []string
	keysDirty bool

	// scratch is the buffer Load hands values out in; see Load for why it is reused.
	scratch []byte

	closed bool
}

// undoRecord is the value a key held before one unsynced write.
type undoRecord struct {
	key     string
	prev    []byte
	existed bool
}

var _ store.Store = (*Store)(nil)

// New returns an empty, open store.
func New() *Store {
	return &Store{data: make(map[string][]byte)}
}

// Apply applies b atomically and makes it visible to Load and Get at once; it stays volatile
// until the next Sync. Values are copied, so the caller may reuse b's slices. An empty batch
// still counts as one unsynced batch, so Crash's keep counts Apply calls.
func (s *Store) Apply(b store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("mem: apply: %w", store.ErrClosed)
	}
	// Refused whole, as bbolt refuses it, so that the simulator catches an engine that emits
	// what the production store would not take.
	for i, op := range b {
		if err := store.CheckOp(op); err != nil {
			return fmt.Errorf("mem: apply: op %d of %d: %w", i, len(b), err)
		}
	}
	for _, op := range b {
		prev, existed := s.data[op.Key]
		s.undo = append(s.undo, undoRecord{key: op.Key, prev: prev, existed: existed})
		if op.Delete {
			if existed {
				delete(s.data, op.Key)
				s.keysDirty = true
			}
			continue
		}
		s.data[op.Key] = bytes.Clone(op.Value)
		if !existed {
			s.keyAdded(op.Key)
		}
	}
	s.batchEnds = append(s.batchEnds, len(s.undo))
	return nil
}

// keyAdded keeps the sorted key list valid when a new key sorts after every other, as
// append-only keys such as journal indices do, and gives up on it otherwise.
func (s *Store) keyAdded(key string) {
	if !s.keysDirty && (len(s.keys) == 0 || key > s.keys[len(s.keys)-1]) {
		s.keys = append(s.keys, key)
		return
	}
	s.keysDirty = true
}

// Sync makes every batch applied so far durable: no later Crash can lose it.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("mem: sync: %w", store.ErrClosed)
	}
	s.forgetUnsynced()
	return nil
}

// forgetUnsynced drops the undo log, clearing it so it does not keep overwritten values alive.
func (s *Store) forgetUnsynced() {
	clear(s.undo)
	s.undo = s.undo[:0]
	s.batchEnds = s.batchEnds[:0]
}

// Load calls fn for every key in ascending byte order with its latest applied value, synced or
// not: Scan with the empty prefix.
func (s *Store) Load(fn func(key string, value []byte) error) error {
	return s.scan("load", "", fn)
}

// Scan calls fn for every key that starts with prefix, in ascending byte order, with its latest
// applied value, synced or not. An error from fn stops the scan and is returned as is.
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
	if s.closed {
		return fmt.Errorf("mem: %s: %w", op, store.ErrClosed)
	}
	if s.keysDirty {
		s.keys = s.keys[:0]
		for k := range s.data {
			s.keys = append(s.keys, k)
		}
		slices.Sort(s.keys)
		s.keysDirty = false
	}
	i, _ := slices.BinarySearch(s.keys, prefix)
	for _, k := range s.keys[i:] {
		if !strings.HasPrefix(k, prefix) {
			break
		}
		v := s.data[k]
		s.scratch = append(s.scratch[:0], v...)
		if err := fn(k, s.scratch[:len(v):len(v)]); err != nil {
			return err
		}
	}
	return nil
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
		u := s.undo[i]
		_, exists := s.data[u.key]
		if exists != u.existed {
			s.keysDirty = true
		}
		if u.existed {
			s.data[u.key] = u.prev
		} else {
			delete(s.data, u.key)
		}
	}
	s.forgetUnsynced()
	s.closed = false
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
	return len(s.data)
}

// Get returns a copy of key's latest applied value and whether the key exists. It never fails,
// and works on a closed store too, so that tests can look at what a crash left.
func (s *Store) Get(key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(v), true, nil
}
