package bolt

import (
	"bytes"
	"fmt"
	"strconv"

	bbolt "go.etcd.io/bbolt"
)

// The file format, version 3. These names are part of it: changing one is a new version.
//
// Version 3 is version 2 with a write-ahead log beside the file (LogPath; see log.go): the
// batches synced since the last checkpoint are in the log, not in the file, and the meta bucket
// names the log ("log-id", 16 bytes that the log's header repeats), the last log record the
// file holds ("log-checkpoint", ASCII decimal) and the log offset where the record after it is,
// or goes ("log-head", ASCII decimal). A build that knew version 2 only would open such
// a file without its log and silently miss synced batches; the version bump makes it refuse.
//
// Version 2 stores every value sealed: followed by its CRC-32C checksum (store.Seal), checked on
// every read; version 3 keeps that. Version 1 stored values bare. This build creates version 3
// files, upgrades a version 2 file to version 3 when it opens it (the values stay as they are;
// the log and the two meta keys are added), and opens version 1 files as they are: their values
// are read without a check, new writes to them stay bare so that a file never mixes the two (the
// version says how to read every value in it), and they have no log: each Sync is a bbolt commit.
// A version 1 file gains checksums and the log by copying its data into a new file.
const (
	// FormatName is the format name every vigil store file records in its meta bucket.
	FormatName = "vigil-store"
	// FormatVersion is the file format version this build creates.
	FormatVersion = 3
	// OldestFormatVersion is the oldest version this build still opens.
	OldestFormatVersion = 1
)

var (
	metaBucket = []byte("meta")
	dataBucket = []byte("data")

	formatKey     = []byte("format")
	versionKey    = []byte("version")
	logIDKey      = []byte("log-id")
	checkpointKey = []byte("log-checkpoint")
	headKey       = []byte("log-head")
)

// fileState is what checkFormat found in a file that bbolt could open.
type fileState int

const (
	// fileOK is a vigil store of the current version, with its data bucket.
	fileOK fileState = iota
	// fileBlank is a bbolt database with no buckets at all: either bbolt just created it, or
	// a crash came between bbolt creating it and the transaction that writes our meta bucket.
	// Either way it holds nothing, and initFormat may claim it.
	fileBlank
	// fileV1 is a vigil store of version 1: values without checksums, and no log.
	fileV1
	// fileV2 is a vigil store of version 2: sealed values, no log yet. Open upgrades it.
	fileV2
)

// checkFormat reads the meta bucket of an open file and says whether this build may use it.
// It never writes. A file with buckets but no meta bucket belongs to some other program, so it
// is incompatible, not blank.
func checkFormat(tx *bbolt.Tx, path string) (fileState, error) {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		var names []string
		_ = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			names = append(names, strconv.Quote(string(name)))
			return nil
		})
		if len(names) == 0 {
			return fileBlank, nil
		}
		return 0, incompatible(path, fmt.Sprintf("a bbolt database with buckets %v and no %q bucket", names, metaBucket))
	}
	format := meta.Get(formatKey)
	if format == nil {
		return 0, incompatible(path, fmt.Sprintf("a %q bucket without a %q key", metaBucket, formatKey))
	}
	if !bytes.Equal(format, []byte(FormatName)) {
		return 0, incompatible(path, fmt.Sprintf("format %q", format))
	}
	raw := meta.Get(versionKey)
	if raw == nil {
		return 0, incompatible(path, fmt.Sprintf("format %q without a version", format))
	}
	version, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, incompatible(path, fmt.Sprintf("format %q with an unreadable version %q", format, raw))
	}
	if version < OldestFormatVersion || version > FormatVersion {
		what := "an unknown"
		if version > FormatVersion {
			what = "a newer"
		}
		return 0, incompatible(path, fmt.Sprintf("format %q version %d (%s version; upgrade vigil to read it)", format, version, what))
	}
	// Every version creates both buckets in one transaction, so a missing data bucket is
	// damage, not a half-created file.
	if tx.Bucket(dataBucket) == nil {
		return 0, fmt.Errorf("bolt: open %s: %w: format %q version %d but no %q bucket", path, ErrCorrupt, format, version, dataBucket)
	}
	switch version {
	case 1:
		return fileV1, nil
	case 2:
		return fileV2, nil
	}
	if _, _, err := logMeta(meta, path); err != nil {
		return 0, err
	}
	return fileOK, nil
}

// logMeta reads a version 3 file's log keys: the log's ID, the last log record the file holds
// and the offset of the record after it. Version 3 writes them in the transaction that sets the
// version, so a missing or unreadable one is damage.
func logMeta(meta *bbolt.Bucket, path string) (id logID, mark logMark, err error) {
	raw := meta.Get(logIDKey)
	if len(raw) != len(id) {
		return id, mark, fmt.Errorf("bolt: open %s: %w: format %q version %d with a %q of %d bytes, want %d",
			path, ErrCorrupt, FormatName, FormatVersion, logIDKey, len(raw), len(id))
	}
	copy(id[:], raw)
	number := func(key []byte) uint64 {
		raw := meta.Get(key)
		v, perr := strconv.ParseUint(string(raw), 10, 63)
		if (raw == nil || perr != nil) && err == nil {
			err = fmt.Errorf("bolt: open %s: %w: format %q version %d with an unreadable %q %q",
				path, ErrCorrupt, FormatName, FormatVersion, key, raw)
		}
		return v
	}
	mark.record, mark.head = number(checkpointKey), int64(number(headKey))
	if err == nil && (mark.head < logHeaderBytes || mark.head%recordAlign != 0) {
		err = fmt.Errorf("bolt: open %s: %w: format %q version %d with a %q of %d, not a record offset",
			path, ErrCorrupt, FormatName, FormatVersion, headKey, mark.head)
	}
	return id, mark, err
}

// setCheckpoint records in the file that it holds every log record up to and including record,
// and that the record after it is, or goes, at offset head of the log.
func setCheckpoint(tx *bbolt.Tx, record uint64, head int64) error {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		return fmt.Errorf("no %q bucket", metaBucket)
	}
	if err := meta.Put(checkpointKey, []byte(strconv.FormatUint(record, 10))); err != nil {
		return err
	}
	return meta.Put(headKey, []byte(strconv.FormatInt(head, 10)))
}

// incompatible returns ErrIncompatible naming the file, what it holds and what this build reads.
func incompatible(path, found string) error {
	return fmt.Errorf("bolt: open %s: %w: it holds %s; this build supports format %q versions %d to %d",
		path, ErrIncompatible, found, FormatName, OldestFormatVersion, FormatVersion)
}

// initFormat claims a blank file for the log id names: it writes the meta bucket and creates
// the data bucket, in one transaction so that a file never has one without the other.
func initFormat(tx *bbolt.Tx, id logID) error {
	meta, err := tx.CreateBucket(metaBucket)
	if err != nil {
		return err
	}
	if err := meta.Put(formatKey, []byte(FormatName)); err != nil {
		return err
	}
	if _, err = tx.CreateBucket(dataBucket); err != nil {
		return err
	}
	return upgradeFormat(tx, id)
}

// upgradeFormat makes a version 2 file (or the blank file initFormat is claiming) version 3,
// with the log id names and nothing of it checkpointed yet. Version 2 and 3 values are alike, so
// the data bucket is not touched.
func upgradeFormat(tx *bbolt.Tx, id logID) error {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		return fmt.Errorf("no %q bucket", metaBucket)
	}
	if err := meta.Put(logIDKey, id[:]); err != nil {
		return err
	}
	if err := setCheckpoint(tx, 0, logHeaderBytes); err != nil {
		return err
	}
	return meta.Put(versionKey, []byte(strconv.Itoa(FormatVersion)))
}
