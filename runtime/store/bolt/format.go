package bolt

import (
	"bytes"
	"fmt"
	"strconv"

	bbolt "go.etcd.io/bbolt"
)

// The file format, version 2. These names are part of it: changing one is a new version.
//
// Version 2 stores every value sealed: followed by its CRC-32C checksum (store.Seal), checked on
// every read. Version 1 stored values bare. This build creates version 2 files and opens
// version 1 files as they are: their values are read without a check and new writes to them stay
// bare, so that a file never mixes the two (the version says how to read every value in it).
// A version 1 file gains checksums by copying its data into a new file.
const (
	// FormatName is the format name every vigil store file records in its meta bucket.
	FormatName = "vigil-store"
	// FormatVersion is the file format version this build creates.
	FormatVersion = 2
	// OldestFormatVersion is the oldest version this build still opens.
	OldestFormatVersion = 1
)

var (
	metaBucket = []byte("meta")
	dataBucket = []byte("data")

	formatKey  = []byte("format")
	versionKey = []byte("version")
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
	// fileV1 is a vigil store of version 1: values without checksums.
	fileV1
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
	if version == 1 {
		return fileV1, nil
	}
	return fileOK, nil
}

// incompatible returns ErrIncompatible naming the file, what it holds and what this build reads.
func incompatible(path, found string) error {
	return fmt.Errorf("bolt: open %s: %w: it holds %s; this build supports format %q versions %d to %d",
		path, ErrIncompatible, found, FormatName, OldestFormatVersion, FormatVersion)
}

// initFormat claims a blank file: it writes the meta bucket and creates the data bucket, in
// one transaction so that a file never has one without the other.
func initFormat(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucket(metaBucket)
	if err != nil {
		return err
	}
	if err := meta.Put(formatKey, []byte(FormatName)); err != nil {
		return err
	}
	if err := meta.Put(versionKey, []byte(strconv.Itoa(FormatVersion))); err != nil {
		return err
	}
	_, err = tx.CreateBucket(dataBucket)
	return err
}
