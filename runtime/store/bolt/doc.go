// Package bolt is the production store.Store: one bbolt (go.etcd.io/bbolt) file that the
// production host writes every engine batch to, with group commit.
//
// # What it owns
//
// The on-disk file format, version 1: a bbolt database with a "meta" bucket that names the format
// ("format" = "vigil-store") and its version ("version" = "1", ASCII decimal), and a "data"
// bucket holding the engine's keys exactly as given, in bbolt's byte order, which is the order
// store.Store.Load promises. Open refuses, with a typed error and without writing a byte, any
// file it does not fully understand: another format or a newer version (ErrIncompatible), and a
// file that is not a bbolt database or that bbolt finds damaged (ErrCorrupt). A change to the
// format must bump the version, and a build must refuse versions it does not know: silently
// misreading a journal is worse than refusing to start.
//
// It also owns the mapping from the store.Store contract onto bbolt, where every committed
// transaction is an fsync. Apply only queues the batch in memory and makes it visible; Sync
// commits every queued batch in one transaction, so one fsync covers all the batches the host
// applied since the last Sync (group commit). A crash before Sync loses the queued batches
// entirely, which the contract allows: it keeps any prefix of the unsynced batches, and this
// store always keeps the empty one.
//
// # What it must not do
//
// It must not import the engine, the executor or anything under sim: it is a leaf that the host
// (and its tests) import, held to the same contract suite (store/storetest) as store/mem, the
// simulator's store. It takes no clock and starts no goroutines; the host decides when to Sync.
//
// # Operating notes
//
// A process holds an exclusive lock (flock) on the file while the store is open; a second Open
// of the same file, from this process or another, fails with ErrLocked after Options.Timeout.
// Options.NoSync turns off fsync and is only for tests and benchmarks.
//
// bbolt checksums its meta pages only. Damage that breaks the file's structure is found, by
// Open or by the first Load, Get or Sync that meets it, and fails the store with ErrCorrupt
// instead of crashing the process; damage inside a value's bytes is not found. A file torn by
// a power failure during its very creation, before it held any data, is refused as corrupt:
// delete it.
package bolt
