package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"unsafe"
)

// Every value a Store holds carries a checksum, so that a bit flipped at rest, or a write torn
// by a power loss, is detected when the value is read, never handed out as data.
//
// The checksum lives in the store, not in the engine's record codecs: one envelope covers every
// record kind (journal entries, invocation records, state, promises, the sequence number, q/
// records) and every reader (recovery, the engine's reads at run time, the storage audit, tools),
// and no codec changed. Seal appends it at Apply; Unseal checks and strips it on every read.
//
// The envelope is the value followed by 4 bytes, big-endian: the CRC-32C (Castagnoli, which
// CPUs compute in hardware) of the key and the value. The key is covered too, so a value that
// lands under another key (a misdirected write) fails as well.

// ChecksumBytes is the size of the checksum a Store appends to every value.
const ChecksumBytes = 4

// ErrChecksum is wrapped by the error of a read that met a value whose checksum does not match:
// the value was damaged at rest or torn, and is not returned as data. Get reports it for its key;
// Scan and Load skip such values, go on, and return an error that joins one *ChecksumError per
// key.
var ErrChecksum = errors.New("stored value fails its checksum")

// ChecksumError is a value that failed its checksum. It wraps ErrChecksum.
type ChecksumError struct {
	// Key is the value's key.
	Key string
	// Value is what the store holds for it without the checksum trailer (all of it when it is
	// shorter than one): damaged data, for inspection and for setting it aside, never to use.
	Value []byte
	// Why says what did not match.
	Why string
}

// Error is what fmt.Sprintf("value of key %q (%d bytes): %s: %v", e.Key, len(e.Value), e.Why,
// ErrChecksum) writes, joined in a buffer on the stack rather than formatted: recovery spells it
// for every damaged record it sets aside, and the simulator damages one nearly every run.
func (e *ChecksumError) Error() string {
	var buf [192]byte
	b := append(buf[:0], "value of key "...)
	b = strconv.AppendQuote(b, e.Key)
	b = append(b, " ("...)
	b = strconv.AppendInt(b, int64(len(e.Value)), 10)
	b = append(b, " bytes): "...)
	b = append(b, e.Why...)
	b = append(b, ": "...)
	b = append(b, ErrChecksum.Error()...)
	return string(b)
}

func (e *ChecksumError) Unwrap() error { return ErrChecksum }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the checksum of value stored under key.
func Checksum(key string, value []byte) uint32 {
	// The key's bytes are read in place: a []byte conversion would allocate a copy on every
	// write and read, and crc32 neither keeps nor changes what it is given.
	c := crc32.Update(0, castagnoli, unsafe.Slice(unsafe.StringData(key), len(key)))
	return crc32.Update(c, castagnoli, value)
}

// Seal appends value's checksum under key to dst (which may be value[:0] only if it has room
// for nothing to move) and returns the result.
func Seal(dst []byte, key string, value []byte) []byte {
	dst = append(dst, value...)
	return binary.BigEndian.AppendUint32(dst, Checksum(key, value))
}

// Unseal checks a sealed value read under key and returns the value without its checksum (a
// subslice of sealed), or a *ChecksumError.
func Unseal(key string, sealed []byte) ([]byte, error) {
	if len(sealed) < ChecksumBytes {
		return nil, &ChecksumError{Key: key, Value: append([]byte{}, sealed...), Why: fmt.Sprintf("%d bytes, shorter than its %d-byte checksum", len(sealed), ChecksumBytes)}
	}
	n := len(sealed) - ChecksumBytes
	value := sealed[:n:n]
	want := binary.BigEndian.Uint32(sealed[n:])
	if got := Checksum(key, value); got != want {
		return nil, &ChecksumError{Key: key, Value: append([]byte{}, value...), Why: crcMismatch(got, want)}
	}
	return value, nil
}

// crcMismatch is fmt.Sprintf("CRC-32C %08x, stored %08x", got, want), written without fmt: a
// damaged value's error spells it at every read of the value, and fmt would box both numbers.
func crcMismatch(got, want uint32) string {
	const prefix, middle = "CRC-32C ", ", stored "
	var buf [len(prefix) + 8 + len(middle) + 8]byte
	b := append(buf[:0], prefix...)
	b = appendHex8(b, got)
	b = append(b, middle...)
	b = appendHex8(b, want)
	return string(b)
}

// appendHex8 appends v as %08x writes it: eight lower-case hex digits.
func appendHex8(b []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}

// ChecksumErrors returns every *ChecksumError that err holds (through wrapping and
// errors.Join), in order.
func ChecksumErrors(err error) []*ChecksumError {
	var out []*ChecksumError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *ChecksumError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// ExceptChecksum returns err without its checksum errors: nil when it holds nothing else.
func ExceptChecksum(err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var rest []error
		for _, inner := range j.Unwrap() {
			if inner = ExceptChecksum(inner); inner != nil {
				rest = append(rest, inner)
			}
		}
		return errors.Join(rest...)
	}
	if _, ok := err.(*ChecksumError); ok {
		return nil
	}
	// A wrapper (a store naming itself) of nothing but checksum errors is one too.
	if u, ok := err.(interface{ Unwrap() error }); ok && u.Unwrap() != nil && ExceptChecksum(u.Unwrap()) == nil {
		return nil
	}
	return err
}
