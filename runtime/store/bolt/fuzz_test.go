package bolt_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unicode/utf8"

	bbolt "go.etcd.io/bbolt"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// A store file is input too: it may be another program's database, a newer vigil's, or one a
// disk has damaged. The fuzz targets here hand Open such files and require a clear refusal or
// a working store, never a crash: Open runs before anything else in the host, so a panic there
// is a server that cannot start and cannot say why.

// Bits of FuzzOpenFormat's layout argument: which parts of the format header the file has.
const (
	layoutMeta         = 1 << iota // a "meta" bucket
	layoutFormat                   // a "format" key in it
	layoutVersion                  // a "version" key in it
	layoutData                     // a "data" bucket
	layoutOther                    // a bucket of another name
	layoutFormatBucket             // "format" as a bucket inside meta, not a key
)

// FuzzOpenFormat fuzzes the format header that checkFormat decodes: which buckets and keys
// exist and what the format and version hold. Open must accept exactly a vigil store of
// version 1 or 2 with a data bucket (or a file with no buckets, which it claims; version 3 needs
// a log these files lack, so it is refused as corrupt), refuse the rest
// with ErrIncompatible or ErrCorrupt and an error that quotes what it found, and leave a
// refused file as it was.
func FuzzOpenFormat(f *testing.F) {
	full := uint8(layoutMeta | layoutFormat | layoutVersion | layoutData)
	f.Add(full, []byte(bolt.FormatName), []byte("1"), []byte("other"))
	f.Add(uint8(0), []byte(nil), []byte(nil), []byte(nil))
	f.Add(uint8(layoutOther), []byte(nil), []byte(nil), []byte("bolt-app"))
	f.Add(full&^layoutData, []byte(bolt.FormatName), []byte("1"), []byte(nil))
	f.Add(full, []byte(bolt.FormatName), []byte("2"), []byte(nil))
	f.Add(full, []byte(bolt.FormatName), []byte("3"), []byte(nil))
	f.Add(full, []byte(bolt.FormatName), []byte("01"), []byte(nil))
	f.Add(full, []byte(bolt.FormatName), []byte("18446744073709551617"), []byte(nil))
	f.Add(full, []byte("vigil-store\x00"), []byte("1"), []byte(nil))
	f.Add(full, []byte("\xff\"'"), []byte("\xfe"), []byte("\x00"))
	f.Add(full&^layoutVersion, []byte(bolt.FormatName), []byte(nil), []byte(nil))
	f.Add(full|layoutFormatBucket, []byte(bolt.FormatName), []byte("1"), []byte(nil))
	f.Add(full|layoutOther, []byte(bolt.FormatName), []byte("1"), []byte("meta2"))
	f.Fuzz(func(t *testing.T, layout uint8, format, version, other []byte) {
		path := filepath.Join(t.TempDir(), "vigil.db")
		if err := writeLayout(path, layout, format, version, other); err != nil {
			t.Skip(err) // a layout bbolt itself cannot write, such as an empty bucket name
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := formatVerdict(layout, format, version, other)
		s, err := bolt.Open(path, bolt.Options{Timeout: -1, NoSync: true})
		if err != nil {
			if want == nil || !errors.Is(err, want) {
				t.Fatalf("Open = %v, want %v", err, want)
			}
			if !utf8.ValidString(err.Error()) {
				t.Errorf("error %q carries raw bytes from the file", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Errorf("Open changed the file it refused")
			}
			return
		}
		if want != nil {
			s.Close()
			t.Fatalf("Open accepted the file, want %v", want)
		}
		// An accepted file is usable: a write survives a reopen.
		if err := s.Apply(store.Batch{{Key: "k", Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = bolt.Open(path, bolt.Options{Timeout: -1, NoSync: true})
		if err != nil {
			t.Fatalf("reopening an accepted file: %v", err)
		}
		defer s.Close()
		if v, ok, err := s.Get("k"); err != nil || !ok || string(v) != "v" {
			t.Fatalf("Get after reopen = %q, %t, %v", v, ok, err)
		}
	})
}

// writeLayout writes a bbolt file with the buckets and keys layout asks for.
func writeLayout(path string, layout uint8, format, version, other []byte) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if layout&layoutOther != 0 {
			if _, err := tx.CreateBucketIfNotExists(other); err != nil {
				return err
			}
		}
		if layout&layoutData != 0 {
			if _, err := tx.CreateBucketIfNotExists([]byte("data")); err != nil {
				return err
			}
		}
		if layout&layoutMeta == 0 {
			return nil
		}
		meta, err := tx.CreateBucketIfNotExists([]byte("meta"))
		if err != nil {
			return err
		}
		if layout&layoutFormatBucket != 0 {
			if _, err := meta.CreateBucket([]byte("format")); err != nil {
				return err
			}
		} else if layout&layoutFormat != 0 {
			if err := meta.Put([]byte("format"), format); err != nil {
				return err
			}
		}
		if layout&layoutVersion != 0 {
			return meta.Put([]byte("version"), version)
		}
		return nil
	})
	return errors.Join(err, db.Close())
}

// formatVerdict says what Open must make of a file writeLayout wrote: nil to accept it, or the
// error it must refuse it with. It is the format's specification, written apart from
// checkFormat: a vigil store names its format and a version of 1, and has its data bucket.
func formatVerdict(layout uint8, format, version, other []byte) error {
	hasOther := layout&layoutOther != 0
	hasMeta := layout&layoutMeta != 0 || (hasOther && string(other) == "meta")
	hasData := layout&layoutData != 0 || (hasOther && string(other) == "data")
	switch {
	case !hasMeta && !hasData && !hasOther:
		return nil // blank: Open claims it
	case !hasMeta:
		return bolt.ErrIncompatible
	case layout&layoutMeta == 0, layout&layoutFormatBucket != 0, layout&layoutFormat == 0:
		return bolt.ErrIncompatible // no format key: the meta bucket is someone else's
	case string(format) != bolt.FormatName, layout&layoutVersion == 0:
		return bolt.ErrIncompatible
	}
	if v, err := strconv.ParseUint(string(version), 10, 64); err != nil || v < bolt.OldestFormatVersion || v > bolt.FormatVersion {
		return bolt.ErrIncompatible
	}
	if !hasData {
		return bolt.ErrCorrupt
	}
	if v, _ := strconv.ParseUint(string(version), 10, 64); v == 3 {
		// Version 3 names its log in two meta keys that writeLayout never writes: without
		// them the file cannot be read whole.
		return bolt.ErrCorrupt
	}
	return nil
}

// FuzzOpenDamaged writes patch over a valid store at offset off, counted through the store file
// and then on through its log (an offset past the file's end patches the log), truncates the
// store file when cut is not zero, and, when fixMeta is set, recomputes the checksums of bbolt's
// two meta pages and of the log's records so that a patch there is believed rather than refused:
// bbolt then follows whatever root, freelist and page count the patch wrote, and Open decodes
// whatever the patched records hold. Whatever the damage, Open must refuse the store with
// ErrCorrupt or ErrIncompatible and leave both files as they were, or return a store whose Load,
// Apply, Sync and Get either work, or fail with ErrCorrupt and ErrFailed, or report a damaged
// value by its checksum (store.ErrChecksum).
func FuzzOpenDamaged(f *testing.F) {
	base, baseLog := damagedBase(f)
	page := uint32(os.Getpagesize())
	f.Add(uint32(0), []byte{}, uint32(0), false)
	f.Add(uint32(2*page+20), []byte{0xff, 0xff}, uint32(0), false)
	// The meta pages' root bucket and freelist page numbers, with valid checksums.
	f.Add(uint32(16+16), []byte{9, 0, 0, 0, 0, 0, 0, 0}, uint32(0), true)
	f.Add(uint32(page+16+32), []byte{1, 0, 0, 0, 0, 0, 0, 0}, uint32(0), true)
	f.Add(uint32(16+40), []byte{0xff, 0xff, 0xff, 0, 0, 0, 0, 0}, uint32(0), true)
	// A page count of 2^52+3 with the highest transaction ID: count times page size wraps to
	// 3 pages, which once passed the truncation check and let Sync write over live pages.
	f.Add(uint32(16+40), []byte{3, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 1, 0, 0}, uint32(0), true)
	// Meta page 1's freelist moved to page 12: Sync's rollback then panicked inside bbolt with
	// its writer lock held, and Close waited for that lock forever.
	f.Add(uint32(page+16+32), []byte{12}, uint32(0), true)
	f.Add(uint32(0), []byte{}, uint32(3*page), false)
	f.Add(uint32(0), []byte{}, uint32(100), false)
	// The log: its header, the first record's length and number, a payload byte, with and
	// without the record checksums made to match.
	logAt := uint32(len(base))
	f.Add(logAt+20, []byte{0xff}, uint32(0), false)
	f.Add(logAt+bolt.LogHeaderBytes+4, []byte{0, 0, 0xff, 0xff}, uint32(0), true)
	f.Add(logAt+bolt.LogHeaderBytes+8, []byte{0, 0, 0, 0, 0, 0, 0, 9}, uint32(0), true)
	f.Add(logAt+bolt.LogHeaderBytes+24, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, uint32(0), true)
	f.Add(logAt+bolt.LogHeaderBytes+27, []byte{2}, uint32(0), true)
	f.Fuzz(func(t *testing.T, off uint32, patch []byte, cut uint32, fixMeta bool) {
		b, log := bytes.Clone(base), bytes.Clone(baseLog)
		if int(off) < len(b) {
			copy(b[off:], patch)
		} else if at := int(off) - len(b); at < len(log) {
			copy(log[at:], patch)
		}
		if fixMeta {
			fixMetaChecksums(b, int(page))
			fixLogChecksums(log)
		}
		if cut != 0 && int(cut) < len(b) {
			b = b[:cut]
		}
		p := filepath.Join(t.TempDir(), "vigil.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bolt.LogPath(p), log, 0o600); err != nil {
			t.Fatal(err)
		}
		checkDamaged(t, p, b, log)
	})
}

// fixLogChecksums recomputes the checksums of the records at the start of log, walking them by
// their length fields as they now read, so that a patched record is decoded, not dropped as torn.
func fixLogChecksums(log []byte) {
	table := crc32.MakeTable(crc32.Castagnoli)
	for off := bolt.LogHeaderBytes; off+24 <= len(log); {
		h := log[off : off+24]
		end := off + 24 + int(binary.BigEndian.Uint32(h[4:]))
		if end > len(log) || binary.BigEndian.Uint64(h[8:]) == 0 {
			return
		}
		binary.BigEndian.PutUint32(h[16:], crc32.Checksum(log[off+24:end], table))
		binary.BigEndian.PutUint32(h[0:], crc32.Checksum(h[4:], table))
		off = (end + 7) / 8 * 8
	}
}

// damagedBase builds the valid store FuzzOpenDamaged damages: a file of a few leaf pages of
// keys, so that a patch can land in a branch, a leaf or the freelist, and a log of the smallest
// size holding three records that the file does not, as a crash leaves it.
func damagedBase(f testing.TB) (db, log []byte) {
	path := filepath.Join(f.TempDir(), "base.db")
	opts := bolt.Options{NoSync: true, LogBytes: bolt.MinLogBytes}
	s, err := bolt.Open(path, opts)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 200 {
		if err := s.Apply(store.Batch{{Key: fmt.Sprintf("key%04d", i), Value: bytes.Repeat([]byte{'v'}, 40)}}); err != nil {
			f.Fatal(err)
		}
		if i%50 == 0 {
			// Several checkpoints (a Close each), so the freelist has pages.
			if err := s.Close(); err != nil {
				f.Fatal(err)
			}
			if s, err = bolt.Open(path, opts); err != nil {
				f.Fatal(err)
			}
		}
	}
	for i := range 3 {
		if err := s.Apply(store.Batch{{Key: fmt.Sprintf("key%04d", i*7), Value: []byte("logged")}, {Key: fmt.Sprintf("key%04d", 100+i), Delete: true}}); err != nil {
			f.Fatal(err)
		}
		if err := s.Sync(); err != nil {
			f.Fatal(err)
		}
	}
	if err := bolt.Abandon(s); err != nil {
		f.Fatal(err)
	}
	if db, err = os.ReadFile(path); err != nil {
		f.Fatal(err)
	}
	if log, err = os.ReadFile(bolt.LogPath(path)); err != nil {
		f.Fatal(err)
	}
	return db, log
}

// fixMetaChecksums recomputes the checksum of the meta in pages 0 and 1: FNV-1a over the meta's
// first 56 bytes (after the 16-byte page header), stored in the 8 bytes that follow, in the
// machine's byte order as bbolt writes it (little-endian on every platform CI runs on).
func fixMetaChecksums(b []byte, page int) {
	for _, start := range []int{0, page} {
		meta := start + 16
		if len(b) < meta+64 {
			return
		}
		h := fnv.New64a()
		_, _ = h.Write(b[meta : meta+56])
		binary.LittleEndian.PutUint64(b[meta+56:], h.Sum64())
	}
}

// checkDamaged opens the damaged store at p, whose bytes are b and its log's log, and holds it
// to what Open and the store promise for a damaged file.
func checkDamaged(t *testing.T, p string, b, log []byte) {
	s, err := bolt.Open(p, bolt.Options{Timeout: -1, NoSync: true, LogBytes: int64(max(len(log), bolt.MinLogBytes))})
	if err != nil {
		if !errors.Is(err, bolt.ErrCorrupt) && !errors.Is(err, bolt.ErrIncompatible) {
			t.Fatalf("Open = %v, want ErrCorrupt or ErrIncompatible", err)
		}
		if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
			t.Fatalf("Open changed the damaged file it refused")
		}
		if after, _ := os.ReadFile(bolt.LogPath(p)); !bytes.Equal(after, log) {
			t.Fatalf("Open changed the log it refused")
		}
		return
	}
	defer s.Close()
	err = s.Load(func(string, []byte) error { return nil })
	if err == nil {
		if err = s.Apply(store.Batch{{Key: "key0000", Value: []byte("new")}, {Key: "key0100", Delete: true}, {Key: "zzz", Value: []byte("new")}}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if err = s.Sync(); err == nil {
			_, _, err = s.Get("key0199")
		}
	}
	if err != nil && !errors.Is(err, store.ErrChecksum) && (!errors.Is(err, bolt.ErrCorrupt) || !errors.Is(err, bolt.ErrFailed)) {
		t.Fatalf("%v, want ErrCorrupt and ErrFailed, or a value that fails its checksum", err)
	}
}
