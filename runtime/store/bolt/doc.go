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
// the batch in memory and makes it visible. Sync writes every queued batch as one checksummed
// record at the log's end and makes it durable with one fdatasync, however many batches it
// carries (group commit); the batches stay in memory, visible on top of the file. When a group's
// record does not fit in what is left of the log (Options.LogBytes, 4 MiB by default), that Sync
// checkpoints instead: one bbolt transaction commits every batch the log holds and the new group
// into the file, with bbolt's own two fsyncs, and records in the file the number of the last log
// record it now holds; the log then starts again from its top. Close checkpoints too. Open
// replays the records the file does not hold into it, as one checkpoint, before it returns. A
// crash before Sync loses the queued batches entirely, which the contract allows: it keeps any
// prefix of the unsynced batches, and this store always keeps the empty one.
//
// # Why a log, and why the file is written only at checkpoints
//
// A bbolt commit costs two fdatasyncs (its data pages, then its meta page) and more when the
// file grows; a log record costs one, and the log is written in place over bytes Open wrote when
// it created the log, so that fdatasync has no file-system metadata (size, extents) to write as
// well. Between checkpoints the store does not touch the file at all. Committing each group to
// bbolt with NoSync between synced checkpoints would look cheaper but is not safe: bbolt reuses
// freed pages and rewrites its two meta pages in turn, so an unsynced commit can overwrite pages
// that the last synced meta page points to, and a power loss then leaves a file that is not
// merely old but broken. Kept untouched, the file is always the last checkpoint, whole.
//
// # What a crash leaves, and what the log can and cannot tell
//
// Records are numbered over the store's whole life; the file records the last one it holds.
// Open reads records in a row from the log's top while each is intact (both its checksums match)
// and has the next number; the first offset where that fails is the log's end. What lies there
// is one of: bytes of before the last checkpoint (zeros, or older records, whose numbers are
// lower), or a record torn because the process or the machine died while writing it, which
// therefore was never acknowledged. Either way dropping it is right.
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
// simulator's store. It takes no clock and starts no goroutines; the host decides when to Sync,
// and a checkpoint runs inside the Sync (or Close) that needs it.
//
// # Operating notes
//
// A process holds an exclusive lock (flock) on the file while the store is open; a second Open
// of the same file, from this process or another, fails with ErrLocked after Options.Timeout.
// The lock covers the log too: copy, move and delete the two files together, and only while no
// store has them open. Options.NoSync turns off fsync and is only for tests and benchmarks.
//
// Memory: the batches synced since the last checkpoint stay in memory until it, so the store
// holds up to about Options.LogBytes of values beyond the pending ones. A Sync that checkpoints
// takes longer than one that logs (bbolt's commit of everything since the last checkpoint);
// a smaller log makes checkpoints shorter and more frequent.
//
// bbolt checksums its meta pages only. Damage that breaks the file's structure is found, by
// Open or by the first Load, Get or Sync that meets it, and fails the store with ErrCorrupt
// instead of crashing the process; damage inside a value's bytes is found by the value's
// checksum (format version 2 and later). A file torn by a power failure during its very
// creation, before it held any data, is refused as corrupt: delete it.
package bolt
