package protocol_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// plainEntry mirrors every field of a journal.Entry. cmp would otherwise use Entry.Equal, which
// ignores a value that accompanies a failure.
type plainEntry struct {
	Kind       journal.Kind
	Name       string
	Target     string
	Completed  bool
	Value      []byte
	HasFailure bool
	Failure    journal.Failure
	Param      string
	Duration   time.Duration
	Deadline   int64
}

// cmpOpts compare messages field by field, treating nil and empty slices as equal as the codecs do.
var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Transformer("plain", func(e journal.Entry) plainEntry {
		p := plainEntry{Kind: e.Kind, Name: e.Name, Target: e.Target, Completed: e.Completed, Value: e.Result.Value,
			Param: e.Param.String(), Duration: e.Duration, Deadline: e.Deadline}
		if f := e.Result.Failure; f != nil {
			p.HasFailure, p.Failure = true, *f
		}
		return p
	}),
}

func noErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func noDiff(t testing.TB, d, what string) {
	t.Helper()
	if d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// wantErr checks that err wraps every one of is and that its message contains substr.
func wantErr(t testing.TB, err error, substr string, is ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want one containing %q", substr)
		return
	}
	for _, target := range is {
		if !errors.Is(err, target) {
			t.Errorf("error %q does not wrap %q", err, target)
		}
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("error %q does not contain %q", err, substr)
	}
}

var allKinds = []protocol.Kind{
	protocol.KindStart, protocol.KindCompletion, protocol.KindAck, protocol.KindAbort,
	protocol.KindCommand, protocol.KindSuspend, protocol.KindEnd, protocol.KindError,
	protocol.KindDurable, protocol.KindParked,
}

func genString(utf8Only bool) *rapid.Generator[string] {
	if utf8Only {
		return rapid.String()
	}
	return rapid.OneOf(
		rapid.String(),
		rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "raw")) }),
	)
}

func genInvocationID() *rapid.Generator[protocol.InvocationID] {
	return rapid.Custom(func(t *rapid.T) protocol.InvocationID {
		var id protocol.InvocationID
		copy(id[:], rapid.SliceOfN(rapid.Byte(), len(id), len(id)).Draw(t, "id"))
		return id
	})
}

func genNonZeroInvocationID() *rapid.Generator[protocol.InvocationID] {
	return genInvocationID().Filter(func(id protocol.InvocationID) bool { return !id.IsZero() })
}

// genEntry draws a journal entry of a valid kind.
func genEntry(utf8Only bool) *rapid.Generator[journal.Entry] {
	return rapid.Custom(func(t *rapid.T) journal.Entry {
		e := journal.Entry{
			Kind: rapid.SampledFrom([]journal.Kind{
				journal.KindInput, journal.KindOutput, journal.KindRun, journal.KindAwakeable, journal.KindCompleteAwakeable,
				journal.KindSleep, journal.KindCompletePromise, journal.KindSetState,
			}).Draw(t, "kind"),
			Duration:  time.Duration(rapid.Int64().Draw(t, "duration")),
			Name:      genString(utf8Only).Draw(t, "name"),
			Target:    genString(utf8Only).Draw(t, "target"),
			Completed: rapid.Bool().Draw(t, "completed"),
			Result: journal.Result{Value: rapid.OneOf(
				rapid.Just[[]byte](nil),
				rapid.SliceOf(rapid.Byte()),
				rapid.SampledFrom([][]byte{[]byte(`{"ok":true}`), []byte(`"x"`), []byte(`null`), []byte(`{ }`)}),
			).Draw(t, "value")},
		}
		if rapid.Bool().Draw(t, "failed") {
			e.Result.Failure = &journal.Failure{Code: rapid.Uint16().Draw(t, "code"), Message: genString(utf8Only).Draw(t, "message")}
		}
		if rapid.Bool().Draw(t, "param") {
			e.Param.Value = []byte(`{"p":1}`)
		}
		return e
	})
}

// genMessage draws a message of any kind with any fields set, meaningful for the kind or not.
func genMessage(utf8Only bool) *rapid.Generator[protocol.Message] {
	return rapid.Custom(func(t *rapid.T) protocol.Message {
		m := protocol.Message{
			Kind:       rapid.SampledFrom(allKinds).Draw(t, "kind"),
			Invocation: rapid.OneOf(rapid.Just(protocol.InvocationID{}), genInvocationID()).Draw(t, "invocation"),
			Attempt:    rapid.Uint32().Draw(t, "attempt"),
		}
		// Sparse fields, like real messages, but any combination can occur.
		if rapid.Bool().Draw(t, "hasService") {
			m.Service = genString(utf8Only).Draw(t, "service")
			m.Handler = genString(utf8Only).Draw(t, "handler")
		}
		if rapid.Bool().Draw(t, "hasJournal") {
			m.Journal = rapid.SliceOf(genEntry(utf8Only)).Draw(t, "journal")
		}
		if rapid.Bool().Draw(t, "hasKey") {
			m.Key = genString(utf8Only).Draw(t, "key")
			m.State = rapid.SliceOf(genEntry(utf8Only)).Draw(t, "state")
		}
		if rapid.Bool().Draw(t, "hasIndex") {
			m.Index = rapid.Uint32().Draw(t, "index")
		}
		if rapid.Bool().Draw(t, "hasEntry") {
			m.Entry = genEntry(utf8Only).Draw(t, "entry")
		}
		if rapid.Bool().Draw(t, "hasWaitingOn") {
			m.WaitingOn = rapid.SliceOf(rapid.Uint32()).Draw(t, "waitingOn")
		}
		m.Retryable = rapid.Bool().Draw(t, "retryable")
		m.Gated = rapid.Bool().Draw(t, "gated")
		if rapid.Bool().Draw(t, "hasMessage") {
			m.Message = genString(utf8Only).Draw(t, "message")
		}
		return m
	})
}

var (
	testInvocation = protocol.InvocationID{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	// typicalMessage is a completion of an awakeable, the commonest engine-to-executor message.
	typicalMessage = protocol.Message{
		Kind: protocol.KindCompletion, Invocation: testInvocation, Attempt: 2, Index: 3,
		Entry: journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: journal.Result{Value: []byte(`{"approved":true}`)}},
	}
)

func TestMessageBinaryRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage(false).Draw(t, "message")
		b := protocol.MarshalMessage(m)
		if cap(b) != len(b) {
			t.Fatalf("MarshalMessage sized its buffer wrongly: len %d, cap %d", len(b), cap(b))
		}
		if b[0] != protocol.CodecVersion {
			t.Fatalf("first byte %d, want the codec version", b[0])
		}
		got, err := protocol.UnmarshalMessage(b)
		if err != nil {
			t.Fatalf("UnmarshalMessage(MarshalMessage(%v)): %v", m, err)
		}
		if d := cmp.Diff(m, got, cmpOpts); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}

func TestMessageJSONRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage(true).Draw(t, "message")
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("json.Marshal(%v): %v", m, err)
		}
		var got protocol.Message
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if d := cmp.Diff(m, got, cmpOpts); d != "" {
			t.Fatalf("round trip through %s (-want +got):\n%s", b, d)
		}
	})
}

func TestAppendMessagePreservesPrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := rapid.SliceOf(rapid.Byte()).Draw(t, "prefix")
		m := genMessage(false).Draw(t, "message")
		out := protocol.AppendMessage(bytes.Clone(prefix), m)
		if !bytes.Equal(out[:len(prefix)], prefix) {
			t.Fatalf("prefix changed: %x -> %x", prefix, out[:len(prefix)])
		}
		if !bytes.Equal(out[len(prefix):], protocol.MarshalMessage(m)) {
			t.Fatalf("appended bytes differ from MarshalMessage")
		}
	})
}

func TestAppendMessageDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = protocol.AppendMessage(buf[:0], typicalMessage) }); n != 0 {
		t.Errorf("AppendMessage into a buffer with room: %v allocations, want 0", n)
	}
}

// checkDecode decodes b and checks the codec's contract: no panic, a typed error, and a successful
// decode that re-encodes to something that decodes to the same message.
func checkDecode(t interface {
	Helper()
	Fatalf(string, ...any)
}, b []byte) {
	t.Helper()
	m, err := protocol.UnmarshalMessage(b)
	if err != nil {
		if !errors.Is(err, protocol.ErrCorrupt) && !errors.Is(err, protocol.ErrUnsupportedVersion) {
			t.Fatalf("UnmarshalMessage(%x): untyped error %v", b, err)
		}
		return
	}
	again, err := protocol.UnmarshalMessage(protocol.MarshalMessage(m))
	if err != nil {
		t.Fatalf("re-decoding %v decoded from %x: %v", m, b, err)
	}
	if d := cmp.Diff(m, again, cmpOpts); d != "" {
		t.Fatalf("re-encoding %x changed the message (-first +second):\n%s", b, d)
	}
}

func TestUnmarshalMessageNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		checkDecode(t, rapid.SliceOf(rapid.Byte()).Draw(t, "bytes"))
	})
}

func TestUnmarshalMessageMutations(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := protocol.MarshalMessage(genMessage(false).Draw(t, "message"))
		for range rapid.IntRange(1, 4).Draw(t, "mutations") {
			b[rapid.IntRange(0, len(b)-1).Draw(t, "pos")] = rapid.Byte().Draw(t, "byte")
		}
		checkDecode(t, b)
	})
}

func TestEveryMessageTruncationIsCorrupt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := protocol.MarshalMessage(genMessage(false).Draw(t, "message"))
		for i := range len(b) {
			if _, err := protocol.UnmarshalMessage(b[:i]); !errors.Is(err, protocol.ErrCorrupt) {
				t.Fatalf("prefix of %d of %d bytes: got %v, want ErrCorrupt", i, len(b), err)
			}
		}
		extra := rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "extra")
		if _, err := protocol.UnmarshalMessage(append(b, extra...)); !errors.Is(err, protocol.ErrCorrupt) {
			t.Fatalf("with %d trailing bytes: got %v, want ErrCorrupt", len(extra), err)
		}
	})
}

// header builds the start of a version-1 encoding: version, kind, invocation, attempt 1, field bits.
func header(kind byte, fields byte) []byte {
	b := []byte{protocol.CodecVersion, kind}
	b = append(b, testInvocation[:]...)
	return append(b, 1, fields, 0)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestUnmarshalMessageCorruptInputs(t *testing.T) {
	validEntry := journal.MarshalEntry(journal.Entry{Kind: journal.KindRun, Name: "x"})
	tests := []struct {
		name    string
		in      []byte
		wantMsg string
		wantIs  []error
	}{
		{"empty", nil, "protocol message: truncated at byte 0 reading version: corrupt message", []error{protocol.ErrCorrupt}},
		{"no kind", []byte{1}, "truncated at byte 1 reading kind", []error{protocol.ErrCorrupt}},
		{"kind zero", []byte{1, 0}, "unknown kind 0 at byte 1", []error{protocol.ErrCorrupt}},
		{"kind from the future", []byte{1, 11}, "unknown kind 11 at byte 1", []error{protocol.ErrCorrupt}},
		{"short invocation", []byte{1, 1, 0xde, 0xad}, "truncated at byte 2 reading invocation id", []error{protocol.ErrCorrupt}},
		{"no attempt", header(1, 0)[:18], "truncated at byte 18 reading attempt", []error{protocol.ErrCorrupt}},
		{"attempt over 32 bits", cat(header(1, 0)[:18], []byte{0x80, 0x80, 0x80, 0x80, 0x10}, []byte{0}), "attempt 4294967296 at byte 18 exceeds 32 bits", []error{protocol.ErrCorrupt}},
		{"attempt overflows 64 bits", cat(header(1, 0)[:18], bytes.Repeat([]byte{0xff}, 10), []byte{1}), "attempt at byte 18 overflows 64 bits", []error{protocol.ErrCorrupt}},
		{"no field bits", header(1, 0)[:19], "truncated at byte 19 reading field bits", []error{protocol.ErrCorrupt}},
		{"no second field bits", header(1, 0)[:20], "truncated at byte 20 reading second field bits", []error{protocol.ErrCorrupt}},
		{"unknown second field bits", cat(header(1, 0)[:20], []byte{0x80}), "unknown field bits 0x80 at byte 20", []error{protocol.ErrCorrupt}},
		{"service missing", header(1, 1<<0), "truncated at byte 21 reading service length", []error{protocol.ErrCorrupt}},
		{"service runs past the end", cat(header(1, 1<<0), []byte{9, 'a'}), "truncated reading service: length 9 at byte 21 but only 1 bytes left", []error{protocol.ErrCorrupt}},
		{"journal count too large", cat(header(1, 1<<2), []byte{200, 1}, validEntry), "journal length 200 at byte 21 but only 7 bytes left", []error{protocol.ErrCorrupt}},
		{"journal entry corrupt", cat(header(1, 1<<2), []byte{2}, validEntry, []byte{1, 99, 0, 0, 0, 0}),
			"protocol message: journal entry 1 at byte 29: journal entry: unknown kind 99 at byte 1: corrupt entry: corrupt message",
			[]error{protocol.ErrCorrupt, journal.ErrCorrupt}},
		{"journal entry truncated", cat(header(1, 1<<2), []byte{1}, validEntry[:5]), "journal entry 0 at byte 22: journal entry: truncated at byte 5 reading target length",
			[]error{protocol.ErrCorrupt, journal.ErrCorrupt}},
		{"journal entry from the future", cat(header(1, 1<<2), []byte{1}, []byte{2, 3, 0, 0, 0, 0}), "journal entry 0 at byte 22: journal entry: version 2",
			[]error{protocol.ErrUnsupportedVersion, journal.ErrUnsupportedVersion}},
		{"index over 32 bits", cat(header(3, 1<<3), []byte{0xff, 0xff, 0xff, 0xff, 0x7f}), "index 34359738367 at byte 21 exceeds 32 bits", []error{protocol.ErrCorrupt}},
		{"entry of kind zero", cat(header(5, 1<<4), []byte{1, 0, 0, 0, 0, 0}), "entry at byte 21: journal entry: unknown kind 0", []error{protocol.ErrCorrupt, journal.ErrCorrupt}},
		{"waiting-on count too large", cat(header(6, 1<<5), []byte{3, 1, 2}), "waiting-on length 3 at byte 21 but only 2 bytes left", []error{protocol.ErrCorrupt}},
		{"waiting-on index truncated", cat(header(6, 1<<5), []byte{2, 1, 0x80}), "truncated at byte 23 reading waiting-on index", []error{protocol.ErrCorrupt}},
		{"message missing", header(8, 1<<7), "truncated at byte 21 reading message length", []error{protocol.ErrCorrupt}},
		{"trailing byte", cat(header(4, 0), []byte{0}), "protocol message: 1 trailing bytes after the message ending at byte 21: corrupt message", []error{protocol.ErrCorrupt}},
		{"version 0", []byte{0, 1}, "protocol message: version 0, this build reads version 1: unsupported codec version", []error{protocol.ErrUnsupportedVersion}},
		{"version 2", cat([]byte{2}, header(1, 0)[1:]), "version 2, this build reads version 1", []error{protocol.ErrUnsupportedVersion}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := protocol.UnmarshalMessage(tt.in)
			wantErr(t, err, tt.wantMsg, tt.wantIs...)
			if tt.wantIs[0] == protocol.ErrCorrupt && errors.Is(err, protocol.ErrUnsupportedVersion) ||
				tt.wantIs[0] == protocol.ErrUnsupportedVersion && errors.Is(err, protocol.ErrCorrupt) {
				t.Errorf("error %q wraps both sentinels", err)
			}
			noDiff(t, cmp.Diff(protocol.Message{}, m, cmpOpts), "a failed decode returns the zero message")
		})
	}
}

func TestMessageEncodingIsSparse(t *testing.T) {
	abort := protocol.MarshalMessage(protocol.Message{Kind: protocol.KindAbort, Invocation: testInvocation, Attempt: 1})
	if want := cat(header(byte(protocol.KindAbort), 0)); !bytes.Equal(abort, want) {
		t.Errorf("abort encodes as %x, want %x", abort, want)
	}
	ack := protocol.MarshalMessage(protocol.Message{Kind: protocol.KindAck, Invocation: testInvocation, Attempt: 1, Index: 7})
	if want := cat(header(byte(protocol.KindAck), 1<<3), []byte{7}); !bytes.Equal(ack, want) {
		t.Errorf("ack encodes as %x, want %x", ack, want)
	}
}

func TestMessageJSONShape(t *testing.T) {
	inv := testInvocation.String()
	tests := []struct {
		name string
		m    protocol.Message
		want string
	}{
		{"completion", typicalMessage,
			`{"kind":"completion","invocation":"` + inv + `","attempt":2,"index":3,"entry":{"kind":"awakeable","completed":true,"result":{"value":{"approved":true}}}}`},
		{"ack of entry 0 shows the index", protocol.Message{Kind: protocol.KindAck, Invocation: testInvocation, Attempt: 1},
			`{"kind":"ack","invocation":"` + inv + `","attempt":1,"index":0}`},
		{"abort", protocol.Message{Kind: protocol.KindAbort, Invocation: testInvocation},
			`{"kind":"abort","invocation":"` + inv + `","attempt":0}`},
		{"zero invocation is left out", protocol.Message{Kind: protocol.KindAbort},
			`{"kind":"abort","attempt":0}`},
		{"start", protocol.Message{Kind: protocol.KindStart, Invocation: testInvocation, Attempt: 1, Service: "Orders", Handler: "approve",
			Journal: []journal.Entry{{Kind: journal.KindInput, Result: journal.Result{Value: []byte(`{"id":7}`)}}, {Kind: journal.KindAwakeable}}},
			`{"kind":"start","invocation":"` + inv + `","attempt":1,"service":"Orders","handler":"approve","journal":[{"kind":"input","result":{"value":{"id":7}}},{"kind":"awakeable"}]}`},
		{"suspend", protocol.Message{Kind: protocol.KindSuspend, Invocation: testInvocation, Attempt: 1, WaitingOn: []uint32{1, 4}},
			`{"kind":"suspend","invocation":"` + inv + `","attempt":1,"waitingOn":[1,4]}`},
		{"error", protocol.Message{Kind: protocol.KindError, Invocation: testInvocation, Attempt: 3, Retryable: true, Message: "boom"},
			`{"kind":"error","invocation":"` + inv + `","attempt":3,"retryable":true,"message":"boom"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.m)
			noErr(t, err, "json.Marshal")
			if string(b) != tt.want {
				t.Errorf("json.Marshal = %s\nwant          %s", b, tt.want)
			}
			var got protocol.Message
			noErr(t, json.Unmarshal([]byte(tt.want), &got), "json.Unmarshal")
			noDiff(t, cmp.Diff(tt.m, got, cmpOpts), "decoded")
		})
	}
}

func TestMessageJSONErrors(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"missing kind", `{"attempt":1}`, "protocol message: missing kind"},
		{"unknown kind", `{"kind":"pause"}`, `unknown message kind name "pause"`},
		{"bad invocation", `{"kind":"ack","invocation":"inv_12"}`, `invocation id "inv_12"`},
		{"zero invocation spelled out", `{"kind":"ack","invocation":"inv_00000000000000000000000000000000"}`, "zero id"},
		{"bad entry", `{"kind":"command","entry":{"kind":"nap"}}`, `unknown kind name "nap"`},
		{"attempt out of range", `{"kind":"ack","attempt":4294967296}`, "protocol message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m protocol.Message
			wantErr(t, json.Unmarshal([]byte(tt.in), &m), tt.wantErr)
		})
	}
	t.Run("marshal unknown kind", func(t *testing.T) {
		_, err := json.Marshal(protocol.Message{Kind: 42})
		wantErr(t, err, "kind(42)")
	})
	t.Run("marshal entry of kind zero", func(t *testing.T) {
		_, err := json.Marshal(protocol.Message{Kind: protocol.KindCommand, Entry: journal.Entry{Name: "x"}})
		wantErr(t, err, "kind(0)")
	})
}

func TestKindText(t *testing.T) {
	for k := range protocol.Kind(255) {
		text, err := k.MarshalText()
		valid := k >= protocol.KindStart && k <= protocol.KindParked
		if !valid {
			wantErr(t, err, "kind("+strconv.Itoa(int(k))+")")
			continue
		}
		noErr(t, err, "MarshalText")
		var got protocol.Kind
		noErr(t, got.UnmarshalText(text), "UnmarshalText")
		if got != k || string(text) != k.String() {
			t.Errorf("kind %d: text %q decodes to %d", k, text, got)
		}
	}
}

func TestInvocationIDRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		id := genNonZeroInvocationID().Draw(t, "id")
		s := id.String()
		got, err := protocol.ParseInvocationID(s)
		if err != nil {
			t.Fatalf("ParseInvocationID(%q): %v", s, err)
		}
		if got != id {
			t.Fatalf("ParseInvocationID(%q) = %v, want %v", s, got, id)
		}
		// Each ID has exactly one spelling: upper-case hex is refused, so string comparison of
		// IDs is identity.
		if upper := "inv_" + strings.ToUpper(s[4:]); upper != s {
			if _, err := protocol.ParseInvocationID(upper); !errors.Is(err, protocol.ErrMalformedID) {
				t.Fatalf("upper-case hex %q: got %v, want ErrMalformedID", upper, err)
			}
		}
	})
}

func TestAwakeableIDRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := protocol.AwakeableID{Invocation: genNonZeroInvocationID().Draw(t, "invocation"), Index: rapid.Uint32().Draw(t, "index")}
		s := a.String()
		if !strings.HasPrefix(s, protocol.AwakeablePrefix) {
			t.Fatalf("%q lacks the prefix", s)
		}
		got, err := protocol.ParseAwakeableID(s)
		if err != nil {
			t.Fatalf("ParseAwakeableID(%q): %v", s, err)
		}
		if got != a {
			t.Fatalf("ParseAwakeableID(%q) = %+v, want %+v", s, got, a)
		}
	})
}

func TestIDsAsJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type doc struct {
			Inv  protocol.InvocationID            `json:"inv"`
			Awk  protocol.AwakeableID             `json:"awk"`
			ByID map[protocol.AwakeableID]int     `json:"byId"`
			Invs map[protocol.InvocationID]string `json:"invs"`
		}
		inv := rapid.OneOf(rapid.Just(protocol.InvocationID{}), genNonZeroInvocationID()).Draw(t, "inv")
		awk := protocol.AwakeableID{Invocation: genNonZeroInvocationID().Draw(t, "awkInv"), Index: rapid.Uint32().Draw(t, "awkIndex")}
		in := doc{Inv: inv, Awk: awk, ByID: map[protocol.AwakeableID]int{awk: 1}, Invs: map[protocol.InvocationID]string{inv: "x"}}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		if !bytes.Contains(b, []byte(strconv.Quote(awk.String()))) {
			t.Fatalf("%s does not spell the awakeable ID as its String form", b)
		}
		var out doc
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if d := cmp.Diff(in, out); d != "" {
			t.Fatalf("round trip through %s (-want +got):\n%s", b, d)
		}
	})
}

func TestIDTextEdgeCases(t *testing.T) {
	text, err := protocol.InvocationID{}.MarshalText()
	noErr(t, err, "zero InvocationID")
	if len(text) != 0 {
		t.Errorf("zero InvocationID marshals as %q, want empty", text)
	}
	text, err = protocol.AwakeableID{}.MarshalText()
	noErr(t, err, "zero AwakeableID")
	if len(text) != 0 {
		t.Errorf("zero AwakeableID marshals as %q, want empty", text)
	}
	_, err = protocol.AwakeableID{Index: 3}.MarshalText()
	wantErr(t, err, "zero invocation", protocol.ErrMalformedID)

	var a protocol.AwakeableID
	wantErr(t, a.UnmarshalText([]byte("sign_1nope")), `"sign_1nope"`, protocol.ErrMalformedID)
	var id protocol.InvocationID
	wantErr(t, id.UnmarshalText([]byte("inv_xyz")), `"inv_xyz"`, protocol.ErrMalformedID)
}

// awakeablePayload encodes raw bytes the way AwakeableID.String does, after the prefix.
func awakeablePayload(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

func TestMalformedAwakeableIDs(t *testing.T) {
	good := protocol.AwakeableID{Invocation: testInvocation, Index: 5}.String()
	raw := func(inv protocol.InvocationID, index uint32) []byte {
		return binary.BigEndian.AppendUint32(bytes.Clone(inv[:]), index)
	}
	tests := []struct{ name, id, wantMsg string }{
		{"empty", "", "must start with"},
		{"wrong prefix", "sign_2" + good[len(protocol.AwakeablePrefix):], "must start with"},
		{"invocation id instead", testInvocation.String(), "must start with"},
		{"prefix only", protocol.AwakeablePrefix, "decodes to 0 bytes, want 20"},
		{"bad base64 character", protocol.AwakeablePrefix + "!!!!" + good[len(protocol.AwakeablePrefix)+4:], "not unpadded base64url"},
		{"standard base64 alphabet", protocol.AwakeablePrefix + strings.NewReplacer("-", "+", "_", "/").Replace(good[len(protocol.AwakeablePrefix):]) + "+/", "not unpadded base64url"},
		{"padded", good + "=", "not unpadded base64url"},
		{"too short", protocol.AwakeablePrefix + awakeablePayload(raw(testInvocation, 5)[:19]), "decodes to 19 bytes, want 20"},
		{"too long", protocol.AwakeablePrefix + awakeablePayload(append(raw(testInvocation, 5), 0)), "decodes to 21 bytes, want 20"},
		{"zero invocation", protocol.AwakeablePrefix + awakeablePayload(raw(protocol.InvocationID{}, 5)), "names the zero invocation id"},
		{"zero everything", protocol.AwakeablePrefix + awakeablePayload(make([]byte, 20)), "names the zero invocation id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := protocol.ParseAwakeableID(tt.id)
			wantErr(t, err, tt.wantMsg, protocol.ErrMalformedID)
			if err != nil && !strings.Contains(err.Error(), strconv.Quote(tt.id)) {
				t.Errorf("error %q does not name the ID %q", err, tt.id)
			}
			if a != (protocol.AwakeableID{}) && tt.name != "zero invocation" {
				t.Errorf("a failed parse returned %+v", a)
			}
		})
	}
}

func TestMalformedInvocationIDs(t *testing.T) {
	good := testInvocation.String()
	tests := []struct{ name, id, wantMsg string }{
		{"empty", "", "must start with"},
		{"wrong prefix", "inx_" + good[4:], "must start with"},
		{"short", good[:len(good)-2], "want 32 hex digits after the prefix, got 30"},
		{"long", good + "00", "want 32 hex digits after the prefix, got 34"},
		{"not hex", good[:len(good)-1] + "g", "invalid byte"},
		{"zero", "inv_" + strings.Repeat("0", 32), "the zero id names no invocation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := protocol.ParseInvocationID(tt.id)
			wantErr(t, err, tt.wantMsg, protocol.ErrMalformedID)
			if err != nil && !strings.Contains(err.Error(), strconv.Quote(tt.id)) {
				t.Errorf("error %q does not name the ID %q", err, tt.id)
			}
		})
	}
}

func FuzzUnmarshalMessage(f *testing.F) {
	seeds := []protocol.Message{
		typicalMessage,
		{Kind: protocol.KindStart, Invocation: testInvocation, Attempt: 1, Service: "S", Handler: "h",
			Journal: []journal.Entry{{Kind: journal.KindInput, Result: journal.Result{Value: []byte("in")}}, {Kind: journal.KindAwakeable}}},
		{Kind: protocol.KindAck, Invocation: testInvocation, Attempt: 1, Index: 300},
		{Kind: protocol.KindAbort, Invocation: testInvocation},
		{Kind: protocol.KindSuspend, Invocation: testInvocation, WaitingOn: []uint32{1, 2, 1 << 31}},
		{Kind: protocol.KindEnd, Invocation: testInvocation, Index: 4,
			Entry: journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Failure: &journal.Failure{Code: 500, Message: "x"}}}},
		{Kind: protocol.KindError, Invocation: testInvocation, Retryable: true, Message: "boom"},
	}
	for _, m := range seeds {
		f.Add(protocol.MarshalMessage(m))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
	})
}

func BenchmarkMarshalMessage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = protocol.MarshalMessage(typicalMessage)
	}
}

func BenchmarkUnmarshalMessage(b *testing.B) {
	b.ReportAllocs()
	enc := protocol.MarshalMessage(typicalMessage)
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := protocol.UnmarshalMessage(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseInvocationID holds ParseInvocationID to its definition: it accepts exactly "inv_" and
// 32 lowercase hex digits of a non-zero ID, which String spells back, and refuses anything else
// with ErrMalformedID and an error naming the input.
func FuzzParseInvocationID(f *testing.F) {
	good := testInvocation.String()
	for _, s := range []string{good, "", "inv_", good[:len(good)-1] + "g", good[:len(good)-1] + "F", "inv_" + strings.Repeat("0", 32), good + "0", "inv_" + strings.Repeat("f", 32)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := protocol.ParseInvocationID(s)
		rest, prefixed := strings.CutPrefix(s, "inv_")
		raw, hexErr := hex.DecodeString(rest)
		valid := prefixed && len(rest) == 32 && hexErr == nil && strings.ToLower(rest) == rest && !bytes.Equal(raw, make([]byte, 16))
		switch {
		case valid && err != nil:
			t.Fatalf("ParseInvocationID(%q) refused a well-formed ID: %v", s, err)
		case valid && id.String() != s:
			t.Fatalf("ParseInvocationID(%q) = %v, which spells %q", s, id, id.String())
		case !valid && err == nil:
			t.Fatalf("ParseInvocationID(%q) accepted a malformed ID as %v", s, id)
		case !valid && (!errors.Is(err, protocol.ErrMalformedID) || !strings.Contains(err.Error(), strconv.Quote(s))):
			t.Fatalf("ParseInvocationID(%q): error %v does not wrap ErrMalformedID and name the input", s, err)
		}
	})
}

// FuzzParseAwakeableID holds ParseAwakeableID to its definition: it accepts exactly "sign_1" and
// what strict unpadded base64url decodes to 20 bytes naming a non-zero invocation, and decodes it
// as that decoder does; it refuses anything else with ErrMalformedID and an error naming the
// input.
func FuzzParseAwakeableID(f *testing.F) {
	good := protocol.AwakeableID{Invocation: testInvocation, Index: 7}.String()
	for _, s := range []string{good, "", "sign_1", good[:len(good)-1], good + "A", good[:len(good)-1] + "B", good[:len(good)-1] + "=",
		good[:10] + "\n" + good[10:], good[:10] + "+" + good[11:], protocol.AwakeableID{Index: 1}.String(),
		protocol.AwakeableID{Invocation: testInvocation, Index: 1<<32 - 1}.String()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := protocol.ParseAwakeableID(s)
		rest, prefixed := strings.CutPrefix(s, protocol.AwakeablePrefix)
		raw, b64Err := base64.RawURLEncoding.Strict().DecodeString(rest)
		var want protocol.AwakeableID
		valid := prefixed && b64Err == nil && len(raw) == 20
		if valid {
			copy(want.Invocation[:], raw)
			want.Index = binary.BigEndian.Uint32(raw[16:])
			valid = !want.Invocation.IsZero()
		}
		switch {
		case valid && err != nil:
			t.Fatalf("ParseAwakeableID(%q) refused a well-formed ID: %v", s, err)
		case valid && a != want:
			t.Fatalf("ParseAwakeableID(%q) = %+v, want %+v", s, a, want)
		case !valid && err == nil:
			t.Fatalf("ParseAwakeableID(%q) accepted a malformed ID as %+v", s, a)
		case !valid && (!errors.Is(err, protocol.ErrMalformedID) || !strings.Contains(err.Error(), strconv.Quote(s))):
			t.Fatalf("ParseAwakeableID(%q): error %v does not wrap ErrMalformedID and name the input", s, err)
		}
	})
}
