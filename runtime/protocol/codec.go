package protocol

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/vigilsim/vigil/runtime/journal"
)

// CodecVersion is the first byte of every binary message encoding; a decoder refuses any other
// version with ErrUnsupportedVersion. Version 1 lays a message out as
//
//	version     1 byte    CodecVersion
//	kind        1 byte    Kind (must be one of the declared kinds)
//	invocation  16 bytes  the InvocationID
//	attempt     uvarint   (at most MaxUint32)
//	fields      1 byte    which optional fields follow: bit 0 Service, 1 Handler, 2 Journal,
//	                      3 Index, 4 Entry, 5 WaitingOn, 6 Retryable (no payload), 7 Message
//	fields2     1 byte    bit 0 Key, bit 1 State, bit 2 Gated (no payload); other bits must be 0
//	then, in bit order, each field whose bit is set, the first byte's before the second's:
//	  Service, Handler, Message   uvarint length, then the bytes
//	  Journal                     uvarint count, then each entry as journal.AppendEntry writes it
//	  Key                         uvarint length, then the bytes
//	  State                       as Journal
//	  Index                       uvarint (at most MaxUint32)
//	  Entry                       as journal.AppendEntry writes it
//	  WaitingOn                   uvarint count, then each index as a uvarint (at most MaxUint32)
//
// A field's bit is set exactly when the field is not zero, so every field of any Message round-trips
// whatever its Kind, and a message pays only for the fields it uses. Entries carry their own journal
// codec version. As in the journal codec, nil and empty slices are not distinguished (Journal,
// WaitingOn and entry values decode as nil when empty), and an entry that is not zero must have a
// valid journal kind to decode.
const CodecVersion = 1

// ErrCorrupt is wrapped by every decoding error about a malformed message: truncation, trailing
// bytes, an unknown kind, an out-of-range number, a length that runs past the end, or a corrupt
// journal entry inside it (whose journal.ErrCorrupt is wrapped too).
var ErrCorrupt = errors.New("corrupt message")

// ErrUnsupportedVersion is wrapped by the decoding error for a message, or a journal entry inside
// it, whose version byte this build does not read.
var ErrUnsupportedVersion = errors.New("unsupported codec version")

// Field bits of the binary encoding.
const (
	fieldService = 1 << iota
	fieldHandler
	fieldJournal
	fieldIndex
	fieldEntry
	fieldWaitingOn
	fieldRetryable
	fieldMessage
)

// Field bits of the second field byte.
const (
	field2Key = 1 << iota
	field2State
	field2Gated
	fields2KnownMask = field2Key | field2State | field2Gated
)

func (m *Message) fields2() byte {
	var f byte
	if m.Key != "" {
		f |= field2Key
	}
	if len(m.State) > 0 {
		f |= field2State
	}
	if m.Gated {
		f |= field2Gated
	}
	return f
}

func appendEntries(dst []byte, es []journal.Entry) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	for _, e := range es {
		dst = journal.AppendEntry(dst, e)
	}
	return dst
}

// maxJournalPrealloc caps the entries UnmarshalMessage allocates before it has decoded them.
const maxJournalPrealloc = 64

// validKind reports whether k is one of the declared message kinds.
func validKind(k Kind) bool { return k >= KindStart && k <= lastKind }

// entryIsZero reports whether e is the zero entry, treating an empty value as nil as the codecs do.
func entryIsZero(e journal.Entry) bool {
	return e.Kind == 0 && e.Name == "" && e.Target == "" && !e.Completed &&
		len(e.Result.Value) == 0 && e.Result.Failure == nil &&
		len(e.Param.Value) == 0 && e.Param.Failure == nil && e.Duration == 0 && e.Deadline == 0
}

func (m *Message) fields() byte {
	var f byte
	if m.Service != "" {
		f |= fieldService
	}
	if m.Handler != "" {
		f |= fieldHandler
	}
	if len(m.Journal) > 0 {
		f |= fieldJournal
	}
	if m.Index != 0 {
		f |= fieldIndex
	}
	if !entryIsZero(m.Entry) {
		f |= fieldEntry
	}
	if len(m.WaitingOn) > 0 {
		f |= fieldWaitingOn
	}
	if m.Retryable {
		f |= fieldRetryable
	}
	if m.Message != "" {
		f |= fieldMessage
	}
	return f
}

// AppendMessage appends the binary encoding of m to dst and returns the extended slice. It does
// not allocate when dst has room. It encodes whatever it is given: a message whose Kind is not one
// of the declared kinds, or that holds a non-zero entry of an invalid journal kind, produces an
// encoding that UnmarshalMessage rejects with ErrCorrupt.
func AppendMessage(dst []byte, m Message) []byte {
	f, f2 := m.fields(), m.fields2()
	dst = append(dst, CodecVersion, byte(m.Kind))
	dst = append(dst, m.Invocation[:]...)
	dst = binary.AppendUvarint(dst, uint64(m.Attempt))
	dst = append(dst, f, f2)
	if f&fieldService != 0 {
		dst = appendString(dst, m.Service)
	}
	if f&fieldHandler != 0 {
		dst = appendString(dst, m.Handler)
	}
	if f&fieldJournal != 0 {
		dst = appendEntries(dst, m.Journal)
	}
	if f&fieldIndex != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.Index))
	}
	if f&fieldEntry != 0 {
		dst = journal.AppendEntry(dst, m.Entry)
	}
	if f&fieldWaitingOn != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(m.WaitingOn)))
		for _, i := range m.WaitingOn {
			dst = binary.AppendUvarint(dst, uint64(i))
		}
	}
	if f&fieldMessage != 0 {
		dst = appendString(dst, m.Message)
	}
	if f2&field2Key != 0 {
		dst = appendString(dst, m.Key)
	}
	if f2&field2State != 0 {
		dst = appendEntries(dst, m.State)
	}
	return dst
}

// messageSize returns len(MarshalMessage(m)).
func messageSize(m *Message) int {
	n := 2 + len(m.Invocation) + uvarintSize(uint64(m.Attempt)) + 2
	n += stringSize(m.Service) + stringSize(m.Handler) + stringSize(m.Message) + stringSize(m.Key)
	for _, es := range [][]journal.Entry{m.Journal, m.State} {
		if len(es) > 0 {
			n += uvarintSize(uint64(len(es)))
			for _, e := range es {
				n += journal.EntrySize(e)
			}
		}
	}
	if m.Index != 0 {
		n += uvarintSize(uint64(m.Index))
	}
	if !entryIsZero(m.Entry) {
		n += journal.EntrySize(m.Entry)
	}
	if len(m.WaitingOn) > 0 {
		n += uvarintSize(uint64(len(m.WaitingOn)))
		for _, i := range m.WaitingOn {
			n += uvarintSize(uint64(i))
		}
	}
	return n
}

// MarshalMessage returns the binary encoding of m in a new slice of exactly the right size.
func MarshalMessage(m Message) []byte {
	return AppendMessage(make([]byte, 0, messageSize(&m)), m)
}

// UnmarshalMessage decodes one binary-encoded message that must fill b exactly. The result does
// not alias b. Errors wrap ErrCorrupt or ErrUnsupportedVersion (and, for a bad journal entry
// inside, the journal's own sentinel) and say what is wrong and where; no input makes it panic.
func UnmarshalMessage(b []byte) (Message, error) {
	var m Message
	d := decoder{b: b}
	version, err := d.readByte("version")
	if err != nil {
		return Message{}, err
	}
	if version != CodecVersion {
		return Message{}, fmt.Errorf("protocol message: version %d, this build reads version %d: %w", version, CodecVersion, ErrUnsupportedVersion)
	}
	kind, err := d.readByte("kind")
	if err != nil {
		return Message{}, err
	}
	if m.Kind = Kind(kind); !validKind(m.Kind) {
		return Message{}, fmt.Errorf("protocol message: unknown kind %d at byte %d: %w", kind, d.off-1, ErrCorrupt)
	}
	if len(b)-d.off < len(m.Invocation) {
		return Message{}, d.truncated("invocation id")
	}
	d.off += copy(m.Invocation[:], b[d.off:])
	if m.Attempt, err = d.readUint32("attempt"); err != nil {
		return Message{}, err
	}
	f, err := d.readByte("field bits")
	if err != nil {
		return Message{}, err
	}
	f2, err := d.readByte("second field bits")
	if err != nil {
		return Message{}, err
	}
	if f2&^fields2KnownMask != 0 {
		return Message{}, fmt.Errorf("protocol message: unknown field bits %#02x at byte %d: %w", f2&^fields2KnownMask, d.off-1, ErrCorrupt)
	}
	if f&fieldService != 0 {
		if m.Service, err = d.readString("service"); err != nil {
			return Message{}, err
		}
	}
	if f&fieldHandler != 0 {
		if m.Handler, err = d.readString("handler"); err != nil {
			return Message{}, err
		}
	}
	if f&fieldJournal != 0 {
		if m.Journal, err = d.readEntries("journal"); err != nil {
			return Message{}, err
		}
	}
	if f&fieldIndex != 0 {
		if m.Index, err = d.readUint32("index"); err != nil {
			return Message{}, err
		}
	}
	if f&fieldEntry != 0 {
		if m.Entry, err = d.readEntry("entry", -1); err != nil {
			return Message{}, err
		}
	}
	if f&fieldWaitingOn != 0 {
		start := d.off
		n, err := d.readUvarint("waiting-on length")
		if err != nil {
			return Message{}, err
		}
		if left := uint64(len(b) - d.off); n > left {
			return Message{}, fmt.Errorf("protocol message: waiting-on length %d at byte %d but only %d bytes left: %w", n, start, left, ErrCorrupt)
		}
		m.WaitingOn = make([]uint32, n)
		for i := range m.WaitingOn {
			if m.WaitingOn[i], err = d.readUint32("waiting-on index"); err != nil {
				return Message{}, err
			}
		}
	}
	m.Retryable = f&fieldRetryable != 0
	m.Gated = f2&field2Gated != 0
	if f&fieldMessage != 0 {
		if m.Message, err = d.readString("message"); err != nil {
			return Message{}, err
		}
	}
	if f2&field2Key != 0 {
		if m.Key, err = d.readString("key"); err != nil {
			return Message{}, err
		}
	}
	if f2&field2State != 0 {
		if m.State, err = d.readEntries("state"); err != nil {
			return Message{}, err
		}
	}
	if d.off != len(b) {
		return Message{}, fmt.Errorf("protocol message: %d trailing bytes after the message ending at byte %d: %w", len(b)-d.off, d.off, ErrCorrupt)
	}
	return m, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func stringSize(s string) int {
	if s == "" {
		return 0 // left out altogether
	}
	return uvarintSize(uint64(len(s))) + len(s)
}

func uvarintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// readEntries reads a count and that many journal entries (what names them in errors).
func (d *decoder) readEntries(what string) ([]journal.Entry, error) {
	start := d.off
	n, err := d.readUvarint(what + " length")
	if err != nil {
		return nil, err
	}
	// Every entry takes at least one byte. A corrupt count must not make a small input allocate
	// much, so preallocation is capped and longer lists grow as they decode.
	if left := uint64(len(d.b) - d.off); n > left {
		return nil, fmt.Errorf("protocol message: %s length %d at byte %d but only %d bytes left: %w", what, n, start, left, ErrCorrupt)
	}
	es := make([]journal.Entry, 0, min(n, maxJournalPrealloc))
	for i := range int(n) {
		e, err := d.readEntry(what+" entry", i)
		if err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	return es, nil
}

// decoder reads the binary encoding and turns every problem into an error that names the field
// and the byte offset.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) truncated(what string) error {
	return fmt.Errorf("protocol message: truncated at byte %d reading %s: %w", d.off, what, ErrCorrupt)
}

func (d *decoder) readByte(what string) (byte, error) {
	if d.off >= len(d.b) {
		return 0, d.truncated(what)
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *decoder) readUvarint(what string) (uint64, error) {
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		return 0, d.truncated(what)
	case n < 0:
		return 0, fmt.Errorf("protocol message: %s at byte %d overflows 64 bits: %w", what, d.off, ErrCorrupt)
	}
	d.off += n
	return v, nil
}

func (d *decoder) readUint32(what string) (uint32, error) {
	start := d.off
	v, err := d.readUvarint(what)
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("protocol message: %s %d at byte %d exceeds 32 bits: %w", what, v, start, ErrCorrupt)
	}
	return uint32(v), nil
}

func (d *decoder) readString(what string) (string, error) {
	start := d.off
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		return "", fmt.Errorf("protocol message: truncated at byte %d reading %s length: %w", d.off, what, ErrCorrupt)
	case n < 0:
		return "", fmt.Errorf("protocol message: %s length at byte %d overflows 64 bits: %w", what, d.off, ErrCorrupt)
	}
	d.off += n
	if left := uint64(len(d.b) - d.off); v > left {
		return "", fmt.Errorf("protocol message: truncated reading %s: length %d at byte %d but only %d bytes left: %w", what, v, start, left, ErrCorrupt)
	}
	s := string(d.b[d.off : d.off+int(v)])
	d.off += int(v)
	return s, nil
}

// readEntry decodes a journal entry; i is its position in the journal, or -1 for Message.Entry.
func (d *decoder) readEntry(what string, i int) (journal.Entry, error) {
	e, n, err := journal.DecodeEntry(d.b[d.off:])
	if err != nil {
		sentinel := ErrCorrupt
		if errors.Is(err, journal.ErrUnsupportedVersion) {
			sentinel = ErrUnsupportedVersion
		}
		if i >= 0 {
			return journal.Entry{}, fmt.Errorf("protocol message: %s %d at byte %d: %w: %w", what, i, d.off, err, sentinel)
		}
		return journal.Entry{}, fmt.Errorf("protocol message: %s at byte %d: %w: %w", what, d.off, err, sentinel)
	}
	d.off += n
	return e, nil
}

// MarshalText returns the ID's String form, so that IDs read as strings in JSON and work as JSON
// object keys. The zero ID, which String renders but ParseInvocationID refuses, marshals as the
// empty string.
func (id InvocationID) MarshalText() ([]byte, error) {
	if id.IsZero() {
		return []byte{}, nil
	}
	return []byte(id.String()), nil
}

// UnmarshalText parses the ID with ParseInvocationID; the empty string is the zero ID.
func (id *InvocationID) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*id = InvocationID{}
		return nil
	}
	parsed, err := ParseInvocationID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// MarshalText returns the ID's String form, so that IDs read as strings in JSON and work as JSON
// object keys. The zero AwakeableID marshals as the empty string; an ID with the zero invocation
// but a non-zero index has no text form and is an error wrapping ErrMalformedID.
func (a AwakeableID) MarshalText() ([]byte, error) {
	if a.Invocation.IsZero() {
		if a.Index != 0 {
			return nil, fmt.Errorf("awakeable id with index %d names the zero invocation id: %w", a.Index, ErrMalformedID)
		}
		return []byte{}, nil
	}
	return []byte(a.String()), nil
}

// UnmarshalText parses the ID with ParseAwakeableID; the empty string is the zero ID.
func (a *AwakeableID) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*a = AwakeableID{}
		return nil
	}
	parsed, err := ParseAwakeableID(string(text))
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}

// MarshalText returns the kind's name, so that kinds read as names in JSON. It fails for a kind
// that is not one of the declared kinds.
func (k Kind) MarshalText() ([]byte, error) {
	if !validKind(k) {
		return nil, fmt.Errorf("protocol: cannot marshal unknown %s", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText sets k to the kind with the given name, as MarshalText writes it.
func (k *Kind) UnmarshalText(text []byte) error {
	for c := KindStart; c <= lastKind; c++ {
		if string(text) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("protocol: unknown message kind name %q", text)
}

// messageJSON is the JSON shape of a Message.
type messageJSON struct {
	Kind       *Kind           `json:"kind"`
	Invocation InvocationID    `json:"invocation,omitzero"`
	Attempt    uint32          `json:"attempt"`
	Service    string          `json:"service,omitempty"`
	Handler    string          `json:"handler,omitempty"`
	Key        string          `json:"key,omitempty"`
	Journal    []journal.Entry `json:"journal,omitempty"`
	State      []journal.Entry `json:"state,omitempty"`
	Index      *uint32         `json:"index,omitempty"`
	Entry      *journal.Entry  `json:"entry,omitempty"`
	WaitingOn  []uint32        `json:"waitingOn,omitempty"`
	Retryable  bool            `json:"retryable,omitempty"`
	Message    string          `json:"message,omitempty"`
	Gated      bool            `json:"gated,omitempty"`
}

// usesIndex reports whether messages of kind k carry a journal index, which JSON then always shows.
func usesIndex(k Kind) bool {
	return k == KindCompletion || k == KindAck || k == KindCommand || k == KindEnd
}

// MarshalJSON renders the message readably for traces and tools, e.g.
//
//	{"kind":"completion","invocation":"inv_…","attempt":2,"index":3,"entry":{"kind":"awakeable",…}}
//
// kind is the Kind's name, invocation the ID's String form (left out when zero), and entries use
// journal.Entry's JSON form. attempt is always present, index whenever the kind uses one or it is
// not zero; every other field is left out when zero. Any Message round-trips, with the same
// caveats as the binary codec and journal.Entry's JSON (nil and empty slices are the same; strings
// must be valid UTF-8). It fails for an unknown Kind or a non-zero entry of an invalid kind.
func (m Message) MarshalJSON() ([]byte, error) {
	j := messageJSON{
		Kind: &m.Kind, Invocation: m.Invocation, Attempt: m.Attempt,
		Service: m.Service, Handler: m.Handler, Key: m.Key, Journal: m.Journal, State: m.State,
		WaitingOn: m.WaitingOn, Retryable: m.Retryable, Message: m.Message, Gated: m.Gated,
	}
	if m.Index != 0 || usesIndex(m.Kind) {
		j.Index = &m.Index
	}
	if !entryIsZero(m.Entry) {
		j.Entry = &m.Entry
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes. The kind is required and must be a known name;
// unknown fields are ignored.
func (m *Message) UnmarshalJSON(data []byte) error {
	var j messageJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("protocol message: %w", err)
	}
	if j.Kind == nil {
		return errors.New("protocol message: missing kind")
	}
	out := Message{
		Kind: *j.Kind, Invocation: j.Invocation, Attempt: j.Attempt,
		Service: j.Service, Handler: j.Handler, Key: j.Key, Retryable: j.Retryable, Message: j.Message,
		Gated: j.Gated,
	}
	if len(j.Journal) > 0 {
		out.Journal = j.Journal
	}
	if len(j.State) > 0 {
		out.State = j.State
	}
	if j.Index != nil {
		out.Index = *j.Index
	}
	if j.Entry != nil {
		out.Entry = *j.Entry
	}
	if len(j.WaitingOn) > 0 {
		out.WaitingOn = j.WaitingOn
	}
	*m = out
	return nil
}
