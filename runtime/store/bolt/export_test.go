package bolt

import "fmt"

// abandon simulates the process dying: the pending batches are dropped, never committed, and
// the file is closed as the kernel would close it, releasing its lock. What is on disk is then
// exactly what the successful Syncs committed, which is what a real crash leaves, since bbolt
// commits atomically. The store is closed afterwards.
func (s *Store) abandon() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
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
	SetBeforeCommit = (*Store).setBeforeCommit
	Abandon         = (*Store).abandon
	BreakDB         = (*Store).breakDB
)

// LogHeaderBytes is where the log's first record starts.
const LogHeaderBytes = logHeaderBytes
