package bolt

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigilsim/vigil/runtime/store"
)

// The write-ahead log, format version 1: a file beside the store file (LogPath) of a fixed
// size, written in place as a ring: each record goes after the one before, or at the top (just
// after the header) when it does not fit before the end, over records that a checkpoint has put
// into the store file. The store file records where the first record it does not hold is. Its
// layout:
//
//	offset 0     header, logHeaderBytes: "vigil-store-log\n", version (uint32), the log's ID
//	             (16 bytes, also in the store file's meta bucket), CRC-32C of those 36 bytes;
//	             zeros to the end of the header
//	offset 512   records, each at an offset that is a multiple of 8:
//	               [0:4]   CRC-32C of bytes [4:24]
//	               [4:8]   payload length n
//	               [8:16]  record number (1, 2, 3, ... over the store's whole life)
//	               [16:20] CRC-32C of the payload
//	               [20:24] zero
//	               [24:24+n] payload: uvarint batch count, then per batch a uvarint op count,
//	                       then per op a kind byte (0 put, 1 delete), uvarint key length, key,
//	                       and for a put uvarint value length and the value as the file stores it
//	                       (sealed with its checksum)
//	             zeros up to the next multiple of 8
//	elsewhere: whatever the bytes were (zeros, or records a checkpoint put into the file)
//
// All numbers are big-endian. Every integer in the format is bounded by the file's size, which a
// reader checks before it trusts one.
const (
	logMagic          = "vigil-store-log\n"
	logFormatVersion  = 1
	logHeaderBytes    = 512
	recordHeaderBytes = 24
	recordAlign       = 8

	// DefaultLogBytes is the size of the write-ahead log when Options.LogBytes is zero: how many
	// bytes of synced batches the store keeps in the log, and in memory, before it checkpoints
	// them into the store file.
	DefaultLogBytes = 4 << 20
	// MinLogBytes is the smallest Options.LogBytes that Open accepts.
	MinLogBytes = 4 << 10
	// MaxLogBytes is the largest Options.LogBytes that Open accepts: Open reads the whole log
	// into memory, and a record's length must fit its 32-bit field.
	MaxLogBytes = 1 << 30

	opPut    = 0
	opDelete = 1
)

// LogPath returns the path of the write-ahead log of the store file at path. The two files
// belong together: copy, move and delete them together, and only while no Store has them open.
func LogPath(path string) string { return path + "-log" }

// logID names a log, so that a store file never replays another store's log.
type logID [16]byte

// newLogID draws a fresh log ID. crypto/rand.Read never returns an error.
func newLogID() logID {
	var id logID
	_, _ = rand.Read(id[:])
	return id
}

// wal is the open write-ahead log of a store. Its fields are guarded by the store's syncMu,
// and tail by its mu as well.
type wal struct {
	path string
	f    *os.File
	// size is the log's capacity in bytes, header included.
	size int64
	// tail is where the last record ends, and the next goes if it fits.
	tail int64
	// last is the number of the last record written, or checkpointed when none is in the log.
	last uint64
	// buf is the encoding buffer, reused from record to record.
	buf []byte
	// noSync is Options.NoSync.
	noSync bool
}

// logRecord is a record in the log: its number, where it starts and where the next may start
// (its end, padding included), and its batches.
type logRecord struct {
	n          uint64
	start, end int64
	batches    []batch
}

// logHeader returns the header of the log named id.
func logHeader(id logID) []byte {
	h := make([]byte, logHeaderBytes)
	copy(h, logMagic)
	binary.BigEndian.PutUint32(h[16:], logFormatVersion)
	copy(h[20:36], id[:])
	binary.BigEndian.PutUint32(h[36:], crc32.Checksum(h[:36], castagnoli))
	return h
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkLogHeader checks that b, a whole log file, starts with the header of the log named id.
func checkLogHeader(b []byte, id logID, path string) error {
	corrupt := func(why string) error {
		return fmt.Errorf("bolt: open %s: %w: %s", path, ErrCorrupt, why)
	}
	if len(b) < logHeaderBytes {
		return corrupt(fmt.Sprintf("%d bytes, shorter than the log's %d-byte header", len(b), logHeaderBytes))
	}
	if string(b[:16]) != logMagic {
		return corrupt(fmt.Sprintf("no log header (it starts %q)", b[:16]))
	}
	if got, want := crc32.Checksum(b[:36], castagnoli), binary.BigEndian.Uint32(b[36:]); got != want {
		return corrupt(fmt.Sprintf("the log header fails its checksum (CRC-32C %08x, stored %08x)", got, want))
	}
	if v := binary.BigEndian.Uint32(b[16:]); v != logFormatVersion {
		return fmt.Errorf("bolt: open %s: %w: log format version %d; this build reads version %d", path, ErrIncompatible, v, logFormatVersion)
	}
	if !bytes.Equal(b[20:36], id[:]) {
		return corrupt(fmt.Sprintf("the log of another store (ID %x; the store file names %x)", b[20:36], id[:]))
	}
	return nil
}

// createLog creates (or overwrites) the log at path for the log named id, size bytes long: the
// header, then zeros. It writes every byte now so that a record later overwrites blocks the file
// system has already allocated: the fdatasync after a record then has no file-system metadata to
// write (no size, no extent), only the record. It syncs the file and its directory, so that the
// log is durable before the store file names it, and returns the fsync calls it made.
func createLog(path string, id logID, size int64, noSync bool) (*os.File, uint64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, 0, err
	}
	fsyncs, err := fillLog(f, logHeader(id), size, noSync)
	if err == nil && !noSync {
		err = syncDir(filepath.Dir(path))
		fsyncs++
	}
	if err != nil {
		_ = f.Close()
		return nil, fsyncs, fmt.Errorf("creating the log %s: %w", path, err)
	}
	return f, fsyncs, nil
}

// fillLog writes head at the start of f and zeros after it up to size, truncates f to size and
// syncs it. It returns the fsync calls it made.
func fillLog(f *os.File, head []byte, size int64, noSync bool) (uint64, error) {
	if _, err := f.WriteAt(head, 0); err != nil {
		return 0, err
	}
	zeros := make([]byte, 64<<10)
	for off := int64(len(head)); off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return 0, err
		}
	}
	if err := f.Truncate(size); err != nil {
		return 0, err
	}
	if noSync {
		return 0, nil
	}
	return 1, fdatasync(f)
}

// syncDir fsyncs a directory, so that a file created in it survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// encodeRecord encodes batches as log record number n into w.buf and returns it, padded to a
// multiple of recordAlign.
func (w *wal) encodeRecord(n uint64, batches []batch) []byte {
	b := append(w.buf[:0], make([]byte, recordHeaderBytes)...)
	b = binary.AppendUvarint(b, uint64(len(batches)))
	for _, bt := range batches {
		b = binary.AppendUvarint(b, uint64(len(bt.ops)))
		for _, op := range bt.ops {
			if op.Delete {
				b = append(b, opDelete)
			} else {
				b = append(b, opPut)
			}
			b = binary.AppendUvarint(b, uint64(len(op.Key)))
			b = append(b, op.Key...)
			if !op.Delete {
				b = binary.AppendUvarint(b, uint64(len(op.Value)))
				b = append(b, op.Value...)
			}
		}
	}
	payload := len(b) - recordHeaderBytes
	for len(b)%recordAlign != 0 {
		b = append(b, 0)
	}
	h := b[:recordHeaderBytes]
	binary.BigEndian.PutUint32(h[4:], uint32(payload))
	binary.BigEndian.PutUint64(h[8:], n)
	binary.BigEndian.PutUint32(h[16:], crc32.Checksum(b[recordHeaderBytes:recordHeaderBytes+payload], castagnoli))
	binary.BigEndian.PutUint32(h[0:], crc32.Checksum(h[4:], castagnoli))
	w.buf = b
	return b
}

// recordSpace is the most bytes one record may take in a log of size bytes.
func recordSpace(size int64) int64 { return size - logHeaderBytes }

// writeAt writes rec, record number n, at offset at and makes it durable (one fdatasync). The
// caller has checked that it overlaps no record the file does not hold.
func (w *wal) writeAt(rec []byte, n uint64, at int64) error {
	if _, err := w.f.WriteAt(rec, at); err != nil {
		return fmt.Errorf("writing log record %d at offset %d of %s: %w", n, at, w.path, err)
	}
	if !w.noSync {
		if err := fdatasync(w.f); err != nil {
			return fmt.Errorf("syncing log record %d at offset %d of %s: %w", n, at, w.path, err)
		}
	}
	w.last = n
	return nil
}

// parseRecord reads the record at off in b, a whole log file: its number, its payload and the
// offset of the next record. ok is false when there is no intact record at off: its header or
// its payload fails its checksum, or it runs past the end of b.
func parseRecord(b []byte, off int64) (n uint64, payload []byte, next int64, ok bool) {
	if off < 0 || off+recordHeaderBytes > int64(len(b)) {
		return 0, nil, 0, false
	}
	h := b[off : off+recordHeaderBytes]
	if crc32.Checksum(h[4:], castagnoli) != binary.BigEndian.Uint32(h) {
		return 0, nil, 0, false
	}
	end := off + recordHeaderBytes + int64(binary.BigEndian.Uint32(h[4:]))
	if end > int64(len(b)) {
		return 0, nil, 0, false
	}
	payload = b[off+recordHeaderBytes : end]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(h[16:]) {
		return 0, nil, 0, false
	}
	next = (end + recordAlign - 1) / recordAlign * recordAlign
	return binary.BigEndian.Uint64(h[8:]), payload, next, true
}

// scanLog reads the records of b, a whole log file whose header was checked, that come after
// the last one the store file holds (mark): records mark.record+1, +2, ... each right after the
// one before, or at the top where it did not fit before the end, starting at mark.head, up to
// the first record of the next number that is neither there nor at the top, intact (both
// checksums match). That is the log's end: past it are the zeros or records a checkpoint put
// into the file, whose numbers are lower, or the record the process or the machine died
// writing, which was never acknowledged.
//
// It then makes sure that the end is not damage. A record that is damaged at rest looks like a
// torn one, but records written after it are intact: so if an intact record with the next
// number or a later one lies anywhere in the log, batches that were acknowledged as durable
// would be lost, and scanLog fails with ErrCorrupt naming the offset, rather than dropping them
// silently. What it cannot tell apart is a torn last record and a last record damaged at rest;
// see the package documentation.
func scanLog(b []byte, mark logMark, path string) ([]logRecord, error) {
	var out []logRecord
	off, want := mark.head, mark.record+1
	for {
		start := off
		n, payload, next, ok := parseRecord(b, start)
		if !ok || n != want {
			start = logHeaderBytes
			if n, payload, next, ok = parseRecord(b, start); !ok || n != want {
				break
			}
		}
		batches, err := decodePayload(payload)
		if err != nil {
			return nil, fmt.Errorf("bolt: open %s: %w: log record %d at offset %d is intact but does not decode: %w", path, ErrCorrupt, n, start, err)
		}
		out = append(out, logRecord{n: n, start: start, end: next, batches: batches})
		off, want = next, want+1
	}
	for p := int64(logHeaderBytes); p+recordHeaderBytes <= int64(len(b)); p += recordAlign {
		if n, _, _, ok := parseRecord(b, p); ok && n >= want {
			return nil, fmt.Errorf("bolt: open %s: %w: the log's record %d, at offset %d or at its top (%d), is missing or fails its checksum, but record %d at offset %d is intact: "+
				"the batches synced in the records between would be lost; the log and the store file are left as they are", path, ErrCorrupt, want, off, logHeaderBytes, n, p)
		}
	}
	return out, nil
}

// decodePayload decodes a record's payload into batches. The values are the file's sealed
// bytes; they alias payload.
func decodePayload(p []byte) ([]batch, error) {
	r := payloadReader{b: p}
	count := r.uvarint("batch count")
	batches := make([]batch, 0, min(count, uint64(len(p))))
	for i := uint64(0); i < count && r.err == nil; i++ {
		ops := r.uvarint("op count")
		bt := batch{ops: make([]store.Op, 0, min(ops, uint64(len(p))))}
		for j := uint64(0); j < ops && r.err == nil; j++ {
			kind := r.bytes(1, "op kind")
			key := string(r.bytes(r.uvarint("key length"), "key"))
			switch {
			case r.err != nil:
			case kind[0] == opDelete:
				bt.ops = append(bt.ops, store.Op{Key: key, Delete: true})
			case kind[0] == opPut:
				bt.ops = append(bt.ops, store.Op{Key: key, Value: r.bytes(r.uvarint("value length"), "value")})
			default:
				r.fail(fmt.Sprintf("op kind %d", kind[0]))
			}
			if r.err == nil {
				if err := store.CheckOp(bt.ops[len(bt.ops)-1]); err != nil {
					r.fail(err.Error())
				}
			}
		}
		batches = append(batches, bt)
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail(fmt.Sprintf("%d bytes after the last batch", len(r.b)))
	}
	return batches, r.err
}

// payloadReader reads a record's payload; after the first failure every read returns nothing.
type payloadReader struct {
	b   []byte
	err error
}

func (r *payloadReader) fail(what string) {
	if r.err == nil {
		r.err = errors.New(what)
	}
}

func (r *payloadReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("unreadable " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) bytes(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(fmt.Sprintf("%s of %d bytes past the payload's end", what, n))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// readLog reads the whole log at path for a version 3 store file. A missing log is damage: the
// batches synced since the last checkpoint are in it.
func readLog(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bolt: open %s: %w: the store file's write-ahead log is missing; the batches synced since its last checkpoint are in it (restore the log beside the file)", path, ErrCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return b, nil
}
