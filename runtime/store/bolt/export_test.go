package bolt

import "fmt"

// abandon simulates the process dying: the pending batches are dropped, never committed, and
// the file is closed as the kernel would close it, releasing its lock. What is on disk is then
// exactly what the successful Syncs committed, which is what a real crash leaves, since bbolt
// commits atomically. The store is closed afterwards.
func (s *Store) abandon() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	// A background checkpoint is let finish: a crash would cut it short, which leaves the file
	// as before it, and either way the file and the log hold every synced batch.
	s.waitCheckpoint()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("abandon of a closed store")
	}
	s.closed = true
	s.pending, s.committing, s.logged, s.overlay = nil, nil, nil, nil
	if s.log != nil {
		if err := s.log.f.Close(); err != nil {
			return err
		}
	}
	return s.db.Close()
}

// holdCheckpoints keeps Syncs from starting background checkpoints while hold is set (one still
// starts when a record finds no room), so that a test knows which records the log holds.
func (s *Store) setHoldCheckpoints(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdCheckpoints = hold
}

// loggedRecords returns where the log's records that the file does not hold yet start and end,
// oldest first.
func (s *Store) loggedRecords() [][2]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][2]int64
	for _, r := range s.logged {
		out = append(out, [2]int64{r.start, r.end})
	}
	return out
}

// breakDB closes the underlying bbolt database and the log behind the store's back, so the
// next commit or log write fails as one failing on a full or broken disk would.
func (s *Store) breakDB() error {
	if s.log != nil {
		if err := s.log.f.Close(); err != nil {
			return err
		}
	}
	return s.db.Close()
}

// setBeforeCommit sets a function that each commit calls just before the transaction commits.
// Set it before the store is shared between goroutines.
func (s *Store) setBeforeCommit(fn func()) { s.beforeCommit = fn }

// Test hooks for package bolt_test.
var (
	SetBeforeCommit     = (*Store).setBeforeCommit
	Abandon             = (*Store).abandon
	BreakDB             = (*Store).breakDB
	SetHoldCheckpoints  = (*Store).setHoldCheckpoints
	SetBeforeCheckpoint = func(s *Store, fn func()) { s.beforeCheckpoint = fn }
	CheckpointRunning   = func(s *Store) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.checkpointDone != nil
	}
	LoggedRecords  = (*Store).loggedRecords
	WaitCheckpoint = (*Store).waitCheckpoint
)

// LogHeaderBytes is where the log's first record starts.
const LogHeaderBytes = logHeaderBytes
