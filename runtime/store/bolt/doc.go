// Package bolt is the production store.Store: one bbolt (go.etcd.io/bbolt) file and a
// write-ahead log beside it, which the production host writes every engine batch to, with group
// commit.
//
// # What it owns
//
// The on-disk formats (format.go and log.go): a bbolt database with a "meta" bucket that names
// the format ("format" = "vigil-store") and its version ("version", ASCII decimal; this build
// writes 3), and a "data" bucket holding the engine's keys exactly as given, in bbolt's byte
// order, which is the order store.Store.Load promises; and, from version 3, the log file
// (LogPath: the file's path and "-log"). Open refuses, with a typed error and without writing a
// byte, any store it does not fully understand: another format or a newer version
// (ErrIncompatible), a file that is not a bbolt database or that bbolt finds damaged, and a log
// that is missing, another store's, or damaged before its end (ErrCorrupt). A change to a format
// must bump its version, and a build must refuse versions it does not know: silently misreading
// a journal is worse than refusing to start.
//
// It also owns the mapping from the store.Store contract onto the two files. Apply only queues
// the batch in memory and makes it visible. Sync writes every queued batch as one checksummed,
// numbered record in the log and makes it durable with one fdatasync, however many batches it
// carries (group commit); the batches stay in memory, visible on top of the file. Once half the
// log (Options.LogBytes, 4 MiB by default) holds records the file does not, a checkpoint starts
// on a goroutine of its own: one bbolt transaction, with bbolt's own two fsyncs, commits those
// records' batches into the file and records there the number of the last one and where the
// next one is. Syncs go on meanwhile: the log is a ring, and new records go after the last one,
// or at its top over records already checkpointed. A Sync that finds no room waits for the
// checkpoint. Close checkpoints everything. Open replays the records the file does not hold
// into it, as one checkpoint, before it returns. A crash before Sync loses the queued batches
// entirely, which the contract allows: it keeps any prefix of the unsynced batches, and this
// store always keeps the empty one.
//
// # Why a log, and why the file is written only at checkpoints
//
// A bbolt commit costs two fdatasyncs (its data pages, then its meta page) and more when the
// file grows; a log record costs one, and the log is written in place over bytes Open wrote when
// it created the log, so that fdatasync has no file-system metadata (size, extents) to write as
// well. Between checkpoints the store does not touch the file at all. Checkpoints run beside the
// Syncs rather than inside one, because committing thousands of keys takes bbolt 100 ms and
// more on a loaded machine, which every request would wait for. Committing each group to
// bbolt with NoSync between synced checkpoints would look cheaper but is not safe: bbolt reuses
// freed pages and rewrites its two meta pages in turn, so an unsynced commit can overwrite pages
// that the last synced meta page points to, and a power loss then leaves a file that is not
// merely old but broken. Kept untouched, the file is always the last checkpoint, whole.
//
// # What a crash leaves, and what the log can and cannot tell
//
// Records are numbered over the store's whole life; the file records the last one it holds and
// where the next one is. Open reads records from there, each where the one before ends or at
// the log's top, while each is intact (both its checksums match) and has the next number; the
// first number found in neither place marks the log's end. What lies there is one of: bytes of
// before a checkpoint (zeros, or records the file holds, whose numbers are lower), or a record
// torn because the process or the machine died while writing it, which therefore was never
// acknowledged. Either way dropping it is right. Open writes the next record where the file
// says, so no older copy of that number can be left elsewhere.
//
// A record damaged at rest (a flipped bit, a bad sector) looks the same as a torn one, except
// that the records written after it are intact. So Open looks past the end: if any intact
// record there carries the next number or a later one, batches acknowledged as durable would be
// lost, and Open fails with ErrCorrupt naming the log and the offset, leaving both files as they
// were, rather than drop them silently. What no check can tell is a torn last record from a last
// record damaged at rest after its Sync returned: the log drops it as torn. That loses the last
// acknowledged group only on media damage that hits exactly the log's last record before the
// next write or checkpoint; bbolt itself has no checksums on its data pages at all, and the
// values' own CRC-32C (store.Seal) still catch damage in the file.
//
// # What it must not do
//
// It must not import the engine, the executor or anything under sim: it is a leaf that the host
// (and its tests) import, held to the same contract suite (store/storetest) as store/mem, the
// simulator's store. It takes no clock. The host decides when to Sync; the only goroutine the
// store starts is the running checkpoint's, one at a time, which Close and every Sync that
// needs it wait for.
//
// # Operating notes
//
// A process holds an exclusive lock (flock) on the file while the store is open; a second Open
// of the same file, from this process or another, fails with ErrLocked after Options.Timeout.
// The lock covers the log too: copy, move and delete the two files together, and only while no
// store has them open. Options.NoSync turns off fsync and is only for tests and benchmarks.
//
// Memory: the batches synced since the last checkpoint stay in memory until it, so the store
// holds up to about Options.LogBytes of values beyond the pending ones. A checkpoint commits
// half a log's worth of batches; Syncs wait for it only when it has not finished by the time
// the other half is full.
//
// bbolt checksums its meta pages only. Damage that breaks the file's structure is found, by
// Open or by the first Load, Get or Sync that meets it, and fails the store with ErrCorrupt
// instead of crashing the process; damage inside a value's bytes is found by the value's
// checksum (format version 2 and later). A file torn by a power failure during its very
// creation, before it held any data, is refused as corrupt: delete it.
package bolt
