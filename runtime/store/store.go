// Package store defines the durable store the engine's driver writes to: atomic batches of key
// writes, an explicit sync point, and a recovery scan in key order.
//
// Implementations live in subpackages (mem for the simulator and tests; bolt later for
// production) and are held to one contract test suite. The engine never calls a store itself:
// it emits batches, and its driver applies and syncs them.
package store

import "errors"

// Op is one write of a batch: Value stored under Key, or Key removed when Delete is set.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Batch is a list of writes applied atomically: after a crash, either all of them or none.
type Batch []Op

// Store is the durable key/value store behind the engine.
//
// Apply makes a batch visible to Load at once, but it is durable only after a later Sync
// returns. A crash keeps every synced batch and may keep any prefix of the unsynced ones, never a
// batch without the ones applied before it.
type Store interface {
	// Apply applies the batch atomically. Values are copied; the caller may reuse its slices.
	Apply(b Batch) error
	// Sync makes every batch applied so far durable.
	Sync() error
	// Load calls fn for every key in ascending byte order, with the latest applied value. fn
	// must not retain value beyond the call. An error from fn stops the scan and is returned.
	Load(fn func(key string, value []byte) error) error
	// Close releases the store's resources; any later call returns ErrClosed.
	Close() error
}

// ErrClosed is returned by every call on a closed store.
var ErrClosed = errors.New("store is closed")
