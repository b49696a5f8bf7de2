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
	s.pending, s.committing, s.overlay = nil, nil, nil
	return s.db.Close()
}

// breakDB closes the underlying bbolt database behind the store's back, so the next commit
// fails as one failing on a full or broken disk would.
func (s *Store) breakDB() error { return s.db.Close() }

// setBeforeCommit sets a function that each commit calls just before the transaction commits.
// Set it before the store is shared between goroutines.
func (s *Store) setBeforeCommit(fn func()) { s.beforeCommit = fn }

// Test hooks for package bolt_test.
var (
	SetBeforeCommit = (*Store).setBeforeCommit
	Abandon         = (*Store).abandon
	BreakDB         = (*Store).breakDB
)
