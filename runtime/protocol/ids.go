package protocol

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// InvocationID identifies one invocation. The engine draws it from its injected ID source, so a
// simulation produces the same IDs for the same seed.
type InvocationID [16]byte

// invocationPrefix starts every printed invocation ID, as in Restate.
const invocationPrefix = "inv_"

// String renders the ID as "inv_" followed by 32 lowercase hex digits.
func (id InvocationID) String() string { return invocationPrefix + hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID, which no invocation has.
func (id InvocationID) IsZero() bool { return id == InvocationID{} }

// ErrMalformedID is wrapped by every error about an ID that cannot be parsed.
var ErrMalformedID = errors.New("malformed id")

// ParseInvocationID parses the output of InvocationID.String.
func ParseInvocationID(s string) (InvocationID, error) {
	var id InvocationID
	// A well-formed ID, as nearly every one is, is checked and decoded in one pass over its
	// digits; anything else goes the long way below, which says what is wrong with it.
	if rest, ok := strings.CutPrefix(s, invocationPrefix); ok && decodeHexID(&id, rest, false) && !id.IsZero() {
		return id, nil
	}
	id = InvocationID{}
	rest, ok := strings.CutPrefix(s, invocationPrefix)
	if !ok {
		return id, fmt.Errorf("invocation id %q: must start with %q: %w", s, invocationPrefix, ErrMalformedID)
	}
	if len(rest) != 2*len(id) {
		return id, fmt.Errorf("invocation id %q: want %d hex digits after the prefix, got %d: %w", s, 2*len(id), len(rest), ErrMalformedID)
	}
	if strings.ToLower(rest) != rest {
		return id, fmt.Errorf("invocation id %q: hex digits must be lowercase: %w", s, ErrMalformedID)
	}
	if _, err := hex.Decode(id[:], []byte(rest)); err != nil {
		return id, fmt.Errorf("invocation id %q: %v: %w", s, err, ErrMalformedID)
	}
	if id.IsZero() {
		return id, fmt.Errorf("invocation id %q: the zero id names no invocation: %w", s, ErrMalformedID)
	}
	return id, nil
}

// AwakeablePrefix starts every awakeable ID, as in Restate ("sign_" and the format version 1).
const AwakeablePrefix = "sign_1"

// awakeableIDBytes is the decoded size: the invocation ID and a 4-byte big-endian journal index.
const awakeableIDBytes = len(InvocationID{}) + 4

// awakeableDigits is the length of an awakeable ID's unpadded base64url encoding.
const awakeableDigits = (awakeableIDBytes*8 + 5) / 6

// decodeAwakeableDigits decodes rest into a when it is exactly what String writes after the
// prefix: awakeableDigits base64url digits whose last one has its two padding bits clear (as
// strict decoding wants), naming a non-zero invocation. It reports whether it was (a is then
// partly written). Every completion of an awakeable parses its ID twice (the ingress, the
// engine), and the general decoder costs three times as much.
func decodeAwakeableDigits(a *AwakeableID, rest string) bool {
	if len(rest) != awakeableDigits {
		return false
	}
	var raw [awakeableIDBytes]byte
	bad := byte(0)
	// Four digits make three bytes: six groups make the first 18 bytes, the last three digits
	// the last two bytes and the two padding bits.
	for g := range awakeableDigits / 4 {
		d0, d1, d2, d3 := base64URLValue[rest[4*g]], base64URLValue[rest[4*g+1]], base64URLValue[rest[4*g+2]], base64URLValue[rest[4*g+3]]
		bad |= d0 | d1 | d2 | d3
		raw[3*g], raw[3*g+1], raw[3*g+2] = d0<<2|d1>>4, d1<<4|d2>>2, d2<<6|d3
	}
	d0, d1, d2 := base64URLValue[rest[24]], base64URLValue[rest[25]], base64URLValue[rest[26]]
	bad |= d0 | d1 | d2
	raw[18], raw[19] = d0<<2|d1>>4, d1<<4|d2>>2
	if bad > 63 || d2&3 != 0 {
		return false
	}
	copy(a.Invocation[:], raw[:len(a.Invocation)])
	a.Index = binary.BigEndian.Uint32(raw[len(a.Invocation):])
	return !a.Invocation.IsZero()
}

// base64URLValue is the value of each digit of the base64url alphabet, and 0xff for every other
// byte.
var base64URLValue = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for c := range t {
		t[c] = 0xff
	}
	for v := range len(alphabet) {
		t[alphabet[v]] = byte(v)
	}
	return t
}()

// AwakeableID is the self-routing address of an awakeable: the invocation that owns it and the
// journal index of its entry. A resolution finds its waiter from the ID alone.
type AwakeableID struct {
	Invocation InvocationID
	Index      uint32
}

// String renders the ID as "sign_1" and the unpadded base64url encoding of invocation and index.
func (a AwakeableID) String() string {
	var raw [awakeableIDBytes]byte
	copy(raw[:], a.Invocation[:])
	binary.BigEndian.PutUint32(raw[len(a.Invocation):], a.Index)
	// Spelt into a buffer on the stack, so that the string is the only allocation: every
	// awakeable a handler creates, on every attempt and replay, asks for its ID.
	var buf [len(AwakeablePrefix) + awakeableDigits]byte
	b := append(buf[:0], AwakeablePrefix...)
	return string(base64.RawURLEncoding.AppendEncode(b, raw[:]))
}

// strictAwakeableEncoding is the encoding of awakeable IDs, made once: Strict makes a copy.
var strictAwakeableEncoding = base64.RawURLEncoding.Strict()

// ParseAwakeableID decodes an awakeable ID. Its errors wrap ErrMalformedID and say what is wrong.
func ParseAwakeableID(s string) (AwakeableID, error) {
	var a AwakeableID
	rest, ok := strings.CutPrefix(s, AwakeablePrefix)
	// A well-formed ID, as nearly every one is, is decoded in one pass over its 27 digits;
	// anything else goes the long way below, which says what is wrong with it.
	if ok && decodeAwakeableDigits(&a, rest) {
		return a, nil
	}
	a = AwakeableID{}
	if !ok {
		return a, fmt.Errorf("awakeable id %q: must start with %q: %w", s, AwakeablePrefix, ErrMalformedID)
	}
	// Strict decoding refuses non-zero padding bits, so each ID has exactly one spelling. An ID
	// of the right length decodes into a buffer on the stack: every completion of an awakeable
	// parses its ID, and DecodeString would allocate.
	var buf [awakeableIDBytes]byte
	var raw []byte
	var err error
	if strictAwakeableEncoding.DecodedLen(len(rest)) <= len(buf) {
		var n int
		n, err = strictAwakeableEncoding.Decode(buf[:], []byte(rest))
		raw = buf[:n]
	} else {
		raw, err = strictAwakeableEncoding.DecodeString(rest)
	}
	if err != nil {
		return a, fmt.Errorf("awakeable id %q: not unpadded base64url after the prefix: %w", s, ErrMalformedID)
	}
	if len(raw) != awakeableIDBytes {
		return a, fmt.Errorf("awakeable id %q: decodes to %d bytes, want %d: %w", s, len(raw), awakeableIDBytes, ErrMalformedID)
	}
	copy(a.Invocation[:], raw)
	if a.Invocation.IsZero() {
		return a, fmt.Errorf("awakeable id %q: names the zero invocation id: %w", s, ErrMalformedID)
	}
	a.Index = binary.BigEndian.Uint32(raw[len(a.Invocation):])
	return a, nil
}
