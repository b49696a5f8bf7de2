// Package mem is the in-memory store.Store: the simulator's model of a disk, and the store that
// unit tests use.
//
// It owns the one part of durability the simulator cannot get from a real file system: deciding
// what a crash loses. Applied batches are visible at once but volatile; Sync makes them durable;
// Crash drops a suffix of the unsynced batches chosen by the caller, exactly the failures the
// store.Store contract allows, so the engine's recovery is tested against all of them.
//
// It also injects the storage faults a real disk adds to that, each detected rather than read as
// data: a failed fsync (FailNextSync: nothing it covered is durable and the store fails until
// Crash), a torn last write at a crash (CrashTearing: the torn batch's log record fails its CRC
// and the batch is dropped whole) and a bit flipped at rest (FlipBit: the value fails its
// checksum, store.Seal, which the store computes when the flip damages it: a value nothing
// damaged is the copy Apply made, whose checksum could only match).
//
// The simulator draws how many unsynced batches survive from its own seeded source and passes
// the number in, which is why this package takes no randomness and must not import anything from
// sim: the dependency runs the other way.
package mem
