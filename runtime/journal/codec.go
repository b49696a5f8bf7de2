package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// CodecVersion is the first byte of every binary entry encoding; a decoder refuses any other
// version with ErrUnsupportedVersion. Version 1 lays an entry out as
//
//	version  1 byte   CodecVersion
//	kind     1 byte   Kind (must be Valid)
//	flags    1 byte   bit 0: Completed; bit 1: Result.Failure present; bit 2: Param present;
//	                  bit 3: Param.Failure present (needs bit 2); bit 4: timer fields present;
//	                  other bits must be 0
//	name     uvarint length, then the bytes
//	target   uvarint length, then the bytes
//	value    uvarint length, then the bytes of Result.Value
//	failure  only if flag bit 1: code as 2 bytes big-endian, then uvarint length and the message
//	param    only if flag bit 2: uvarint length and the bytes of Param.Value, then, if flag bit 3,
//	         Param.Failure as above
//	timer    only if flag bit 4: Duration and Deadline as varints
//
// Every variable-length field is length-prefixed, so an encoding is self-delimiting (see
// DecodeEntry) and every proper prefix of one is truncated, which the decoder reports.
//
// The codec does not distinguish a nil Result.Value from an empty one: both encode as length 0
// and decode as nil. Everything else round-trips exactly, including a non-nil Failure with code 0
// and an empty message, and strings that are not valid UTF-8.
const CodecVersion = 1

// ErrCorrupt is wrapped by every decoding error about malformed input: truncation, trailing
// bytes, an unknown kind, unknown flag bits or a length that runs past the end.
var ErrCorrupt = errors.New("corrupt entry")

// ErrUnsupportedVersion is wrapped by the decoding error for an encoding whose version byte is not
// CodecVersion, for instance one written by a newer build.
var ErrUnsupportedVersion = errors.New("unsupported codec version")

// Flag bits of the binary encoding's third byte.
const (
	flagCompleted    = 1 << 0
	flagFailure      = 1 << 1
	flagParam        = 1 << 2
	flagParamFailure = 1 << 3
	flagTimer        = 1 << 4
	flagsKnownMask   = flagCompleted | flagFailure | flagParam | flagParamFailure | flagTimer
)

func hasParam(e Entry) bool { return len(e.Param.Value) > 0 || e.Param.Failure != nil }

func hasTimer(e Entry) bool { return e.Duration != 0 || e.Deadline != 0 }

// AppendEntry appends the binary encoding of e to dst and returns the extended slice. It does not
// allocate when dst has room for EntrySize(e) more bytes.
//
// It encodes whatever it is given: an entry whose Kind is not Valid produces an encoding that
// UnmarshalEntry rejects with ErrCorrupt.
func AppendEntry(dst []byte, e Entry) []byte {
	var flags byte
	if e.Completed {
		flags |= flagCompleted
	}
	if e.Result.Failure != nil {
		flags |= flagFailure
	}
	if hasParam(e) {
		flags |= flagParam
		if e.Param.Failure != nil {
			flags |= flagParamFailure
		}
	}
	if hasTimer(e) {
		flags |= flagTimer
	}
	dst = append(dst, CodecVersion, byte(e.Kind), flags)
	dst = appendString(dst, e.Name)
	dst = appendString(dst, e.Target)
	dst = binary.AppendUvarint(dst, uint64(len(e.Result.Value)))
	dst = append(dst, e.Result.Value...)
	if f := e.Result.Failure; f != nil {
		dst = binary.BigEndian.AppendUint16(dst, f.Code)
		dst = appendString(dst, f.Message)
	}
	if flags&flagParam != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(e.Param.Value)))
		dst = append(dst, e.Param.Value...)
		if f := e.Param.Failure; f != nil {
			dst = binary.BigEndian.AppendUint16(dst, f.Code)
			dst = appendString(dst, f.Message)
		}
	}
	if flags&flagTimer != 0 {
		dst = binary.AppendVarint(dst, int64(e.Duration))
		dst = binary.AppendVarint(dst, e.Deadline)
	}
	return dst
}

// EntrySize returns len(MarshalEntry(e)) without encoding anything, so callers can size buffers.
func EntrySize(e Entry) int {
	n := 3 + stringSize(e.Name) + stringSize(e.Target) + prefixedSize(len(e.Result.Value))
	if f := e.Result.Failure; f != nil {
		n += 2 + stringSize(f.Message)
	}
	if hasParam(e) {
		n += prefixedSize(len(e.Param.Value))
		if f := e.Param.Failure; f != nil {
			n += 2 + stringSize(f.Message)
		}
	}
	if hasTimer(e) {
		n += varintSize(int64(e.Duration)) + varintSize(e.Deadline)
	}
	return n
}

// MarshalEntry returns the binary encoding of e in a new slice of exactly the right size.
func MarshalEntry(e Entry) []byte {
	return AppendEntry(make([]byte, 0, EntrySize(e)), e)
}

// UnmarshalEntry decodes one binary-encoded entry that must fill b exactly. The result does not
// alias b. Errors wrap ErrCorrupt or ErrUnsupportedVersion and say what is wrong and where; no
// input makes it panic.
func UnmarshalEntry(b []byte) (Entry, error) {
	return unmarshalEntry(b, true, nil)
}

// UnmarshalOwnedEntry is UnmarshalEntry for an encoding the caller hands over, such as a copy a
// store's Get made for it: the result's Result.Value and Param.Value are b's own bytes rather
// than copies of them (each capped at its length, so appending to one never writes over its
// neighbour), and b must not change afterwards. Strings are copied all the same.
func UnmarshalOwnedEntry(b []byte) (Entry, error) {
	return unmarshalEntry(b, false, nil)
}

func unmarshalEntry(b []byte, copyValues bool, in *Interner) (Entry, error) {
	e, n, err := decodeEntry(b, copyValues, in)
	if err != nil {
		return Entry{}, err
	}
	if n != len(b) {
		return Entry{}, fmt.Errorf("journal entry: %d trailing bytes after the entry ending at byte %d: %w", len(b)-n, n, ErrCorrupt)
	}
	return e, nil
}

// DecodeEntry decodes the binary-encoded entry at the front of b and returns it with the number of
// bytes it occupied; bytes after it are left alone, so callers can read entries laid end to end.
// The result does not alias b. Errors are those of UnmarshalEntry (n is then 0).
func DecodeEntry(b []byte) (e Entry, n int, err error) {
	return decodeEntry(b, true, nil)
}

// decodeEntry is DecodeEntry; with copyValues false the byte values alias b (see
// UnmarshalOwnedEntry), and with an Interner the strings and failures come from it (see
// UnmarshalInternedEntry).
func decodeEntry(b []byte, copyValues bool, in *Interner) (e Entry, n int, err error) {
	d := decoder{b: b}
	version, err := d.readByte("version")
	if err != nil {
		return Entry{}, 0, err
	}
	if version != CodecVersion {
		return Entry{}, 0, fmt.Errorf("journal entry: version %d, this build reads version %d: %w", version, CodecVersion, ErrUnsupportedVersion)
	}
	kind, err := d.readByte("kind")
	if err != nil {
		return Entry{}, 0, err
	}
	if e.Kind = Kind(kind); !e.Kind.Valid() {
		return Entry{}, 0, fmt.Errorf("journal entry: unknown kind %d at byte %d: %w", kind, d.off-1, ErrCorrupt)
	}
	flags, err := d.readByte("flags")
	if err != nil {
		return Entry{}, 0, err
	}
	if flags&^flagsKnownMask != 0 {
		return Entry{}, 0, fmt.Errorf("journal entry: unknown flag bits %#02x at byte %d: %w", flags&^flagsKnownMask, d.off-1, ErrCorrupt)
	}
	if flags&flagParamFailure != 0 && flags&flagParam == 0 {
		return Entry{}, 0, fmt.Errorf("journal entry: param failure flag without param flag at byte %d: %w", d.off-1, ErrCorrupt)
	}
	e.Completed = flags&flagCompleted != 0
	name, ok := d.short()
	if !ok {
		if name, err = d.readPrefixed("name"); err != nil {
			return Entry{}, 0, err
		}
	}
	target, ok := d.short()
	if !ok {
		if target, err = d.readPrefixed("target"); err != nil {
			return Entry{}, 0, err
		}
	}
	value, ok := d.short()
	if !ok {
		if value, err = d.readPrefixed("value"); err != nil {
			return Entry{}, 0, err
		}
	}
	var failure *Failure
	if flags&flagFailure != 0 {
		code, err := d.readUint16("failure code")
		if err != nil {
			return Entry{}, 0, err
		}
		msg, err := d.readPrefixed("failure message")
		if err != nil {
			return Entry{}, 0, err
		}
		failure = newFailure(code, msg, in)
	}
	var param []byte
	var paramFailure *Failure
	if flags&flagParam != 0 {
		if param, err = d.readPrefixed("param"); err != nil {
			return Entry{}, 0, err
		}
		if flags&flagParamFailure != 0 {
			code, err := d.readUint16("param failure code")
			if err != nil {
				return Entry{}, 0, err
			}
			msg, err := d.readPrefixed("param failure message")
			if err != nil {
				return Entry{}, 0, err
			}
			paramFailure = newFailure(code, msg, in)
		}
	}
	if flags&flagTimer != 0 {
		dur, err := d.readVarint("duration")
		if err != nil {
			return Entry{}, 0, err
		}
		deadline, err := d.readVarint("deadline")
		if err != nil {
			return Entry{}, 0, err
		}
		e.Duration, e.Deadline = time.Duration(dur), deadline
	}
	// Copy only once the whole entry is known to be well formed.
	if in != nil {
		e.Name, e.Target = in.String(name), in.String(target)
	} else {
		e.Name, e.Target = string(name), string(target)
	}
	e.Result.Value = ownBytes(value, copyValues)
	e.Result.Failure = failure
	e.Param.Value = ownBytes(param, copyValues)
	e.Param.Failure = paramFailure
	return e, d.off, nil
}

// newFailure is a failure with code and message, from in when there is one.
func newFailure(code uint16, message []byte, in *Interner) *Failure {
	if in != nil {
		return in.failure(code, message)
	}
	return &Failure{Code: code, Message: string(message)}
}

// ownBytes is nil for an empty b, else a copy of b, or b capped at its length when the caller
// owns it already.
func ownBytes(b []byte, copyThem bool) []byte {
	switch {
	case len(b) == 0:
		return nil
	case copyThem:
		return append([]byte(nil), b...)
	}
	return b[:len(b):len(b)]
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// stringSize is the encoded size of a length-prefixed string.
func stringSize(s string) int { return prefixedSize(len(s)) }

// prefixedSize is the encoded size of n bytes after their uvarint length.
func prefixedSize(n int) int { return uvarintSize(uint64(n)) + n }

func varintSize(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintSize(ux)
}

func uvarintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// decoder reads the binary encoding and turns every problem into an error that names the field
// and the byte offset.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) truncated(what string) error {
	return fmt.Errorf("journal entry: truncated at byte %d reading %s: %w", d.off, what, ErrCorrupt)
}

func (d *decoder) readByte(what string) (byte, error) {
	if d.off >= len(d.b) {
		return 0, d.truncated(what)
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *decoder) readVarint(what string) (int64, error) {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		if n == 0 {
			return 0, d.truncated(what)
		}
		return 0, fmt.Errorf("journal entry: varint overflow at byte %d reading %s: %w", d.off, what, ErrCorrupt)
	}
	d.off += n
	return v, nil
}

func (d *decoder) readUint16(what string) (uint16, error) {
	if len(d.b)-d.off < 2 {
		return 0, d.truncated(what)
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v, nil
}

// short reads a length below 128 (one byte) and that many bytes, when they are there: an
// entry's usual name, target and value, read where the call can be inlined (the replay twin
// decodes every journal at every attempt end). It reports false, having read nothing, for
// anything else, which readPrefixed reads or fails.
func (d *decoder) short() ([]byte, bool) {
	off := d.off
	if off >= len(d.b) || d.b[off] >= 0x80 || int(d.b[off]) >= len(d.b)-off {
		return nil, false
	}
	d.off = off + 1 + int(d.b[off])
	return d.b[off+1 : d.off], true
}

// readPrefixed reads a uvarint length and that many bytes, returning a subslice of the input.
// The field name and the word "length" stay separate so that the success path builds no string.
func (d *decoder) readPrefixed(what string) ([]byte, error) {
	start := d.off
	n, w := binary.Uvarint(d.b[d.off:])
	switch {
	case w == 0:
		return nil, fmt.Errorf("journal entry: truncated at byte %d reading %s length: %w", d.off, what, ErrCorrupt)
	case w < 0:
		return nil, fmt.Errorf("journal entry: %s length at byte %d overflows 64 bits: %w", what, d.off, ErrCorrupt)
	}
	d.off += w
	if left := uint64(len(d.b) - d.off); n > left {
		return nil, fmt.Errorf("journal entry: truncated reading %s: length %d at byte %d but only %d bytes left: %w",
			what, n, start, left, ErrCorrupt)
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

// MarshalText returns the kind's name, so that kinds read as names in JSON. It fails for a kind
// that is not Valid, which has no name to read back.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("journal: cannot marshal unknown %s", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText sets k to the kind with the given name, as MarshalText writes it.
func (k *Kind) UnmarshalText(text []byte) error {
	for c := KindInput; c <= maxKind; c++ {
		if string(text) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("journal: unknown kind name %q", text)
}

// failureJSON is the JSON shape of a Failure.
type failureJSON struct {
	Code    uint16 `json:"code"`
	Message string `json:"message"`
}

// MarshalJSON renders the failure as {"code":409,"message":"..."}; both fields are always present.
func (f Failure) MarshalJSON() ([]byte, error) {
	return json.Marshal(failureJSON(f))
}

// UnmarshalJSON reads the form MarshalJSON writes; missing fields are zero.
func (f *Failure) UnmarshalJSON(data []byte) error {
	var j failureJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("journal failure: %w", err)
	}
	*f = Failure(j)
	return nil
}

// resultJSON is the JSON shape of a Result.
type resultJSON struct {
	Value       json.RawMessage `json:"value,omitempty"`
	ValueBase64 []byte          `json:"valueBase64,omitempty"`
	Failure     *Failure        `json:"failure,omitempty"`
}

// MarshalJSON renders the result as Entry.MarshalJSON describes: an inlined JSON value or a
// base64 value, and a failure if there is one; the zero Result is {}.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{Failure: r.Failure}
	if len(r.Value) > 0 {
		if inlinable(r.Value) {
			j.Value = r.Value
		} else {
			j.ValueBase64 = r.Value
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes. An inlined value is read back compacted, so
// re-indenting a trace changes nothing; an absent or empty value decodes as nil; a result carrying
// both value and valueBase64 is an error.
func (r *Result) UnmarshalJSON(data []byte) error {
	var j resultJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("journal result: %w", err)
	}
	if j.Value != nil && j.ValueBase64 != nil {
		return errors.New("journal result: both value and valueBase64 are set")
	}
	var v []byte
	switch {
	case len(j.Value) > 0:
		var compact bytes.Buffer
		if err := json.Compact(&compact, j.Value); err != nil {
			return fmt.Errorf("journal result: value: %w", err)
		}
		v = compact.Bytes()
	case len(j.ValueBase64) > 0:
		v = j.ValueBase64
	}
	*r = Result{Value: v, Failure: j.Failure}
	return nil
}

// inlinable reports whether v can appear as raw JSON and come back byte for byte: it must be valid
// UTF-8 JSON that encoding/json's compaction and HTML escaping leave unchanged, since json.Marshal
// applies both to whatever a MarshalJSON method returns.
func inlinable(v []byte) bool {
	if !utf8.Valid(v) || !json.Valid(v) {
		return false
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, v); err != nil || !bytes.Equal(compact.Bytes(), v) {
		return false
	}
	var escaped bytes.Buffer
	json.HTMLEscape(&escaped, v)
	return bytes.Equal(escaped.Bytes(), v)
}

// entryJSON is the JSON shape of an Entry.
type entryJSON struct {
	Kind      *Kind   `json:"kind"`
	Name      string  `json:"name,omitempty"`
	Target    string  `json:"target,omitempty"`
	Param     *Result `json:"param,omitempty"`
	Duration  int64   `json:"durationNanos,omitempty"`
	Deadline  int64   `json:"deadlineUnixNanos,omitempty"`
	Completed bool    `json:"completed,omitempty"`
	Result    *Result `json:"result,omitempty"`
}

// MarshalJSON renders the entry in the readable JSON form that traces and tools use:
//
//	{"kind":"awakeable","name":"n","target":"t","completed":true,"result":{...}}
//
// where kind is the Kind's name and name, target, completed and result are left out when empty,
// false or the zero Result. A result looks like
//
//	{"value":{"order":42}}                      a value that is itself compact JSON, inlined
//	{"valueBase64":"AAEC"}                      any other value, in standard padded base64
//	{"failure":{"code":409,"message":"taken"}}  a terminal failure (may come with a value)
//
// A value is inlined only if it is valid UTF-8 JSON that encoding/json would emit unchanged
// (compact, with <, >, & and U+2028/U+2029 escaped, as json.Marshal writes it), so that decoding
// restores exactly the same bytes even from re-indented JSON (inlined values are read back
// compacted); other values fall back to valueBase64. The JSON form round-trips
// like the binary one (nil and empty values are the same) provided strings are valid UTF-8:
// encoding/json replaces invalid bytes in strings with U+FFFD. Unknown fields are ignored.
//
// It fails for a Kind that is not Valid.
func (e Entry) MarshalJSON() ([]byte, error) {
	j := entryJSON{Kind: &e.Kind, Name: e.Name, Target: e.Target, Completed: e.Completed, Duration: int64(e.Duration), Deadline: e.Deadline}
	if len(e.Result.Value) > 0 || e.Result.Failure != nil {
		j.Result = &e.Result
	}
	if hasParam(e) {
		j.Param = &e.Param
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes. The kind is required and must be a known name.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var j entryJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("journal entry: %w", err)
	}
	if j.Kind == nil {
		return errors.New("journal entry: missing kind")
	}
	out := Entry{Kind: *j.Kind, Name: j.Name, Target: j.Target, Completed: j.Completed, Duration: time.Duration(j.Duration), Deadline: j.Deadline}
	if j.Result != nil {
		out.Result = *j.Result
	}
	if j.Param != nil {
		out.Param = *j.Param
	}
	*e = out
	return nil
}
