package store

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// TestChecksumErrorTextIsFormatted holds the error texts written without fmt (crcMismatch,
// ChecksumError.Error) to the fmt.Sprintf calls they replace, for any key (quoting included),
// value length and checksums.
func TestChecksumErrorTextIsFormatted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		got, want := rapid.Uint32().Draw(t, "got"), rapid.Uint32().Draw(t, "want")
		if s, f := crcMismatch(got, want), fmt.Sprintf("CRC-32C %08x, stored %08x", got, want); s != f {
			t.Fatalf("crcMismatch(%d, %d) = %q, fmt writes %q", got, want, s, f)
		}
		e := &ChecksumError{
			Key:   rapid.String().Draw(t, "key"),
			Value: make([]byte, rapid.IntRange(0, 1<<12).Draw(t, "len")),
			Why:   rapid.String().Draw(t, "why"),
		}
		if s, f := e.Error(), fmt.Sprintf("value of key %q (%d bytes): %s: %v", e.Key, len(e.Value), e.Why, ErrChecksum); s != f {
			t.Fatalf("Error() = %q, fmt writes %q", s, f)
		}
	})
}

// TestUnsealNamesTheMismatch checks the Why of a damaged value's error through Unseal itself.
func TestUnsealNamesTheMismatch(t *testing.T) {
	sealed := Seal(nil, "k", []byte("value"))
	stored := sealed[len(sealed)-ChecksumBytes:]
	sealed[0] ^= 1
	_, err := Unseal("k", sealed)
	ce, ok := err.(*ChecksumError)
	if !ok {
		t.Fatalf("Unseal of a damaged value = %v, want a *ChecksumError", err)
	}
	want := fmt.Sprintf("CRC-32C %08x, stored %02x%02x%02x%02x", Checksum("k", sealed[:len(sealed)-ChecksumBytes]), stored[0], stored[1], stored[2], stored[3])
	if ce.Why != want {
		t.Errorf("Why = %q, want %q", ce.Why, want)
	}
}
