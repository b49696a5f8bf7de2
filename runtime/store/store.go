// Package store defines the durable store the engine's driver writes to: atomic batches of key
// writes, an explicit sync point, and a recovery scan in key order.
//
// Implementations live in subpackages (mem for the simulator and tests; bolt for production)
// and are held to one contract test suite. The engine never writes to a store itself: it emits
// batches, and its driver applies and syncs them. It reads through the Reader half — at
// recovery, and for what it keeps on disk only (finished invocations, the retention index) —
// and sees every batch its driver has applied, synced or not.
package store

import (
	"errors"
	"fmt"
)

// Op is one write of a batch: Value stored under Key, or Key removed when Delete is set.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Batch is a list of writes applied atomically: after a crash, either all of them or none.
type Batch []Op

// Reader is the read half of a Store: the latest applied values, synced or not.
//
// Every value is checked against the checksum the store keeps with it (see Seal) on every read:
// a damaged value is never returned as data.
type Reader interface {
	// Get returns key's latest applied value (a copy the caller owns) and whether it exists. A
	// value that fails its checksum gives an error wrapping a *ChecksumError (ErrChecksum).
	Get(key string) (value []byte, ok bool, err error)
	// Scan calls fn for every key that starts with prefix, in ascending byte order, with its
	// latest applied value. fn must not retain value beyond the call, nor call the store. An
	// error from fn stops the scan and is returned, joined with the checksum errors met before
	// it. A value that fails its checksum is not passed to fn: the scan goes on past it and
	// returns an error joining one *ChecksumError per such key (ChecksumErrors lists them),
	// so that a reader can set those records aside and use the rest.
	Scan(prefix string, fn func(key string, value []byte) error) error
}

// Store is the durable key/value store behind the engine.
//
// Apply makes a batch visible to Load at once, but it is durable only after a later Sync
// returns. A crash keeps every synced batch and may keep any prefix of the unsynced ones, never a
// batch without the ones applied before it.
type Store interface {
	Reader
	// Apply applies the batch atomically. Values are copied; the caller may reuse its slices.
	Apply(b Batch) error
	// Sync makes every batch applied so far durable.
	Sync() error
	// Load calls fn for every key in ascending byte order, with the latest applied value: Scan
	// with the empty prefix.
	Load(fn func(key string, value []byte) error) error
	// Close releases the store's resources; any later call returns ErrClosed.
	Close() error
}

// ErrClosed is returned by every call on a closed store.
var ErrClosed = errors.New("store is closed")

// ErrInvalidBatch is wrapped by Apply's error for a batch the store cannot hold: an empty key, a
// key longer than MaxKeyBytes, a value longer than MaxValueBytes. Nothing of such a batch is
// applied and the store stays usable.
var ErrInvalidBatch = errors.New("invalid batch")

// The limits every Store accepts (bbolt's own). The engine never emits an op past them: it
// refuses the client- and handler-chosen strings and values that would make one (see
// protocol.MaxKeyBytes), so that no input can make the store refuse a batch and stop the server.
const (
	// MaxKeyBytes is the longest key a Store must accept.
	MaxKeyBytes = 32768
	// MaxValueBytes is the longest value a Store must accept: bbolt's limit less the checksum
	// every value carries (ChecksumBytes).
	MaxValueBytes = 1<<31 - 2 - ChecksumBytes
)

// CheckOp returns an error wrapping ErrInvalidBatch when op is past the limits every Store
// accepts, or nil.
func CheckOp(op Op) error {
	switch {
	case op.Key == "":
		return fmt.Errorf("empty key: %w", ErrInvalidBatch)
	case len(op.Key) > MaxKeyBytes:
		return fmt.Errorf("key of %d bytes, over the limit of %d: %w", len(op.Key), MaxKeyBytes, ErrInvalidBatch)
	case !op.Delete && len(op.Value) > MaxValueBytes:
		return fmt.Errorf("value of %d bytes, over the limit of %d: %w", len(op.Value), MaxValueBytes, ErrInvalidBatch)
	}
	return nil
}
