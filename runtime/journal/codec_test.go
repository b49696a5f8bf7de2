package journal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/journal"
)

// The codec does not distinguish nil from empty byte slices, so comparisons treat them as equal.
var equateEmpty = cmpopts.EquateEmpty()

// plainEntry mirrors every field of an Entry without its Equal method (which cmp would use, and
// which ignores a value that accompanies a failure), so that diffs compare everything.
type plainEntry struct {
	Kind            journal.Kind
	Name            string
	Target          string
	Completed       bool
	Value           []byte
	HasFailure      bool
	Failure         journal.Failure
	ParamValue      []byte
	HasParamFailure bool
	ParamFailure    journal.Failure
	Duration        time.Duration
	Deadline        int64
}

func plain(e journal.Entry) plainEntry {
	p := plainEntry{Kind: e.Kind, Name: e.Name, Target: e.Target, Completed: e.Completed, Value: e.Result.Value,
		ParamValue: e.Param.Value, Duration: e.Duration, Deadline: e.Deadline}
	if f := e.Result.Failure; f != nil {
		p.HasFailure, p.Failure = true, *f
	}
	if f := e.Param.Failure; f != nil {
		p.HasParamFailure, p.ParamFailure = true, *f
	}
	return p
}

// diffEntries returns a readable difference between two entries, field by field, normalising nil
// and empty values.
func diffEntries(want, got journal.Entry) string {
	return cmp.Diff(plain(want), plain(got), equateEmpty)
}

// noErr fails the test now if err is not nil.
func noErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// noDiff reports a non-empty cmp diff.
func noDiff(t testing.TB, d, what string) {
	t.Helper()
	if d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// wantErr checks that err wraps is (unless is is nil) and that its message contains substr.
func wantErr(t testing.TB, err, is error, substr string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("got no error, want one containing %q", substr)
	case is != nil && !errors.Is(err, is):
		t.Errorf("error %q does not wrap %q", err, is)
	case !strings.Contains(err.Error(), substr):
		t.Errorf("error %q does not contain %q", err, substr)
	}
}

// genKind draws one of the kinds this build knows.
func genKind() *rapid.Generator[journal.Kind] {
	return rapid.SampledFrom([]journal.Kind{
		journal.KindInput, journal.KindOutput, journal.KindRun, journal.KindAwakeable, journal.KindCompleteAwakeable,
	})
}

// genString draws valid UTF-8 strings, or arbitrary byte strings when utf8Only is false.
func genString(utf8Only bool) *rapid.Generator[string] {
	if utf8Only {
		return rapid.String()
	}
	return rapid.OneOf(
		rapid.String(),
		rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "raw")) }),
	)
}

// trickyValues are values on the border between the inlined-JSON and base64 forms.
var trickyValues = [][]byte{
	[]byte(`null`), []byte(`0`), []byte(`""`), []byte(`{}`), []byte(`[]`), []byte(`true`),
	[]byte(`{"a":1}`), []byte(`{ "a": 1 }`), []byte(" 1"), []byte("1 "), []byte(`"<b>"`),
	[]byte(`"\u003cb\u003e"`), []byte("\"\u2028\""), []byte(`"\u2028"`), []byte(`"a&b"`),
	[]byte("\"\xff\""), []byte(`{"a":1}{"b":2}`), []byte(`1e400`), []byte(`-0.0`), []byte{0},
	[]byte(`"é"`), []byte(`[1,2,{"x":[null]}]`),
}

// genValue draws nil, empty, arbitrary, JSON-encoded and tricky values.
func genValue() *rapid.Generator[[]byte] {
	return rapid.OneOf(
		rapid.Just[[]byte](nil),
		rapid.Just([]byte{}),
		rapid.SliceOf(rapid.Byte()),
		rapid.SampledFrom(trickyValues),
		rapid.Custom(func(t *rapid.T) []byte {
			v := map[string]any{
				"s": rapid.String().Draw(t, "s"),
				"n": rapid.Int().Draw(t, "n"),
				"l": rapid.SliceOf(rapid.Bool()).Draw(t, "l"),
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			return b
		}),
	)
}

// genFailure draws nil or a failure, including the zero failure.
func genFailure(utf8Only bool) *rapid.Generator[*journal.Failure] {
	return rapid.OneOf(
		rapid.Just[*journal.Failure](nil),
		rapid.Just(&journal.Failure{}),
		rapid.Custom(func(t *rapid.T) *journal.Failure {
			return &journal.Failure{
				Code:    rapid.Uint16().Draw(t, "code"),
				Message: genString(utf8Only).Draw(t, "message"),
			}
		}),
	)
}

// GenEntry draws any entry of a valid kind; with utf8Only its strings are valid UTF-8, as the JSON
// form requires.
func genEntry(utf8Only bool) *rapid.Generator[journal.Entry] {
	return rapid.Custom(func(t *rapid.T) journal.Entry {
		return journal.Entry{
			Kind:      genKind().Draw(t, "kind"),
			Name:      genString(utf8Only).Draw(t, "name"),
			Target:    genString(utf8Only).Draw(t, "target"),
			Completed: rapid.Bool().Draw(t, "completed"),
			Result: journal.Result{
				Value:   genValue().Draw(t, "value"),
				Failure: genFailure(utf8Only).Draw(t, "failure"),
			},
			Param: journal.Result{
				Value:   genValue().Draw(t, "param"),
				Failure: genFailure(utf8Only).Draw(t, "param-failure"),
			},
			Duration: time.Duration(rapid.Int64().Draw(t, "duration")),
			Deadline: rapid.Int64().Draw(t, "deadline"),
		}
	})
}

// typicalEntry is a completed awakeable carrying a small JSON value, the commonest completion.
var typicalEntry = journal.Entry{
	Kind:      journal.KindAwakeable,
	Completed: true,
	Result:    journal.Result{Value: []byte(`{"approved":true,"by":"alice@example.com"}`)},
}

func TestEntryBinaryRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEntry(false).Draw(t, "entry")
		b := journal.MarshalEntry(e)
		if len(b) != journal.EntrySize(e) || cap(b) != len(b) {
			t.Fatalf("EntrySize %d, len %d, cap %d", journal.EntrySize(e), len(b), cap(b))
		}
		if b[0] != journal.CodecVersion {
			t.Fatalf("first byte %d, want the codec version", b[0])
		}
		got, err := journal.UnmarshalEntry(b)
		if err != nil {
			t.Fatalf("UnmarshalEntry(MarshalEntry(%v)): %v", e, err)
		}
		if d := diffEntries(e, got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		if !got.Equal(e) {
			t.Fatalf("Equal reports %v != %v", got, e)
		}
		if len(got.Result.Value) == 0 && got.Result.Value != nil {
			t.Fatalf("empty value decoded as non-nil")
		}
	})
}

func TestEntryBinaryDoesNotAliasInput(t *testing.T) {
	e := journal.Entry{Kind: journal.KindRun, Name: "n", Result: journal.Result{Value: []byte("abc"), Failure: &journal.Failure{Message: "m"}}}
	b := journal.MarshalEntry(e)
	got, err := journal.UnmarshalEntry(b)
	noErr(t, err, "UnmarshalEntry")
	for i := range b {
		b[i] = 'X'
	}
	noDiff(t, diffEntries(e, got), "after overwriting the input")
}

// TestOwnedEntryKeepsItsBytesApart: the values of an owned decode are the input's bytes, each
// capped so that appending to one reallocates rather than writing over the next field.
func TestOwnedEntryKeepsItsBytesApart(t *testing.T) {
	e := journal.Entry{Kind: journal.KindCall, Name: "n", Target: "S/h", Param: journal.Result{Value: []byte(`"in"`)}, Completed: true, Result: journal.Result{Value: []byte(`"out"`)}}
	b := journal.MarshalEntry(e)
	got, err := journal.UnmarshalOwnedEntry(b)
	noErr(t, err, "UnmarshalOwnedEntry")
	noDiff(t, diffEntries(e, got), "owned decode")
	if cap(got.Result.Value) != len(got.Result.Value) || cap(got.Param.Value) != len(got.Param.Value) {
		t.Fatalf("values not capped: cap %d and %d", cap(got.Result.Value), cap(got.Param.Value))
	}
	_ = append(got.Result.Value, "XXXXXXXX"...)
	noDiff(t, diffEntries(e, got), "after appending to the result")
	i := bytes.Index(b, []byte(`"out"`))
	b[i+1] = 'O'
	if string(got.Result.Value) != `"Out"` {
		t.Fatalf("the owned decode copied its value: %q", got.Result.Value)
	}
}

func TestZeroFailureRoundTripsAsNonNil(t *testing.T) {
	for _, e := range []journal.Entry{
		{Kind: journal.KindOutput, Result: journal.Result{Failure: &journal.Failure{}}},
		{Kind: journal.KindAwakeable, Completed: true, Result: journal.Result{Value: []byte("x"), Failure: &journal.Failure{}}},
	} {
		got, err := journal.UnmarshalEntry(journal.MarshalEntry(e))
		noErr(t, err, "UnmarshalEntry")
		if got.Result.Failure == nil || *got.Result.Failure != (journal.Failure{}) {
			t.Errorf("binary: failure %v, want the zero failure", got.Result.Failure)
		}
		noDiff(t, diffEntries(e, got), "binary")

		var fromJSON journal.Entry
		b, err := json.Marshal(e)
		noErr(t, err, "json.Marshal")
		noErr(t, json.Unmarshal(b, &fromJSON), "json.Unmarshal")
		if fromJSON.Result.Failure == nil {
			t.Errorf("JSON %s: failure decoded as nil", b)
		}
		noDiff(t, diffEntries(e, fromJSON), "JSON")
	}
}

func TestEntryJSONRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEntry(true).Draw(t, "entry")
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("json.Marshal(%v): %v", e, err)
		}
		var got journal.Entry
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if d := diffEntries(e, got); d != "" {
			t.Fatalf("round trip through %s (-want +got):\n%s", b, d)
		}
		// Indented output (as a trace viewer might write) reads back the same.
		ind, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			t.Fatalf("json.MarshalIndent: %v", err)
		}
		got = journal.Entry{}
		if err := json.Unmarshal(ind, &got); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", ind, err)
		}
		if d := diffEntries(e, got); d != "" {
			t.Fatalf("indented round trip through %s (-want +got):\n%s", ind, d)
		}
	})
}

func TestEntryJSONShape(t *testing.T) {
	tests := []struct {
		name string
		e    journal.Entry
		want string
	}{
		{"completed awakeable with JSON value", typicalEntry,
			`{"kind":"awakeable","completed":true,"result":{"value":{"approved":true,"by":"alice@example.com"}}}`},
		{"pending awakeable", journal.Entry{Kind: journal.KindAwakeable}, `{"kind":"awakeable"}`},
		{"binary value", journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: []byte{0, 1, 2}}},
			`{"kind":"input","result":{"valueBase64":"AAEC"}}`},
		{"non-compact JSON value falls back to base64", journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: []byte(`{ }`)}},
			`{"kind":"input","result":{"valueBase64":"eyB9"}}`},
		{"unescaped HTML falls back to base64", journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: []byte(`"<"`)}},
			`{"kind":"input","result":{"valueBase64":"Ijwi"}}`},
		{"run with failure", journal.Entry{Kind: journal.KindRun, Name: "charge", Result: journal.Result{Failure: &journal.Failure{Code: 409, Message: "taken"}}},
			`{"kind":"run","name":"charge","result":{"failure":{"code":409,"message":"taken"}}}`},
		{"zero failure", journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Failure: &journal.Failure{}}},
			`{"kind":"output","result":{"failure":{"code":0,"message":""}}}`},
		{"complete-awakeable", journal.Entry{Kind: journal.KindCompleteAwakeable, Target: "sign_1abc", Result: journal.Result{Value: []byte(`"ok"`)}},
			`{"kind":"complete-awakeable","target":"sign_1abc","result":{"value":"ok"}}`},
		{"value null", journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Value: []byte(`null`)}},
			`{"kind":"output","result":{"value":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.e)
			noErr(t, err, "json.Marshal")
			if string(b) != tt.want {
				t.Errorf("json.Marshal = %s\nwant          %s", b, tt.want)
			}
			var got journal.Entry
			noErr(t, json.Unmarshal([]byte(tt.want), &got), "json.Unmarshal")
			noDiff(t, diffEntries(tt.e, got), "decoded")
		})
	}
}

func TestEntryJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"missing kind", `{"name":"x"}`, "missing kind"},
		{"null kind", `{"kind":null}`, "missing kind"},
		{"unknown kind name", `{"kind":"snooze"}`, `unknown kind name "snooze"`},
		{"numeric kind", `{"kind":3}`, "journal entry"},
		{"both value forms", `{"kind":"input","result":{"value":1,"valueBase64":"AA=="}}`, "both value and valueBase64"},
		{"bad base64", `{"kind":"input","result":{"valueBase64":"!!"}}`, "journal result"},
		{"not an object", `[1]`, "journal entry"},
		{"bad failure", `{"kind":"output","result":{"failure":{"code":"x"}}}`, "journal failure"},
		{"code out of range", `{"kind":"output","result":{"failure":{"code":70000}}}`, "journal failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e journal.Entry
			err := json.Unmarshal([]byte(tt.in), &e)
			wantErr(t, err, nil, tt.wantErr)
		})
	}
	t.Run("marshal unknown kind", func(t *testing.T) {
		_, err := json.Marshal(journal.Entry{Kind: 99})
		wantErr(t, err, nil, "kind(99)")
	})
}

func TestEntryJSONIgnoresUnknownFields(t *testing.T) {
	var e journal.Entry
	noErr(t, json.Unmarshal([]byte(`{"kind":"run","name":"n","future":42}`), &e), "json.Unmarshal")
	noDiff(t, diffEntries(journal.Entry{Kind: journal.KindRun, Name: "n"}, e), "decoded")
}

func TestKindText(t *testing.T) {
	for k := journal.Kind(0); k < 255; k++ {
		text, err := k.MarshalText()
		if !k.Valid() {
			wantErr(t, err, nil, fmt.Sprintf("kind(%d)", k))
			continue
		}
		noErr(t, err, "MarshalText")
		if string(text) != k.String() {
			t.Errorf("MarshalText(%d) = %q, want %q", k, text, k.String())
		}
		var got journal.Kind
		noErr(t, got.UnmarshalText(text), "UnmarshalText")
		if got != k {
			t.Errorf("UnmarshalText(%q) = %d, want %d", text, got, k)
		}
	}
	var k journal.Kind
	wantErr(t, k.UnmarshalText([]byte("kind(1)")), nil, `unknown kind name "kind(1)"`)

	// Kinds work as JSON map keys through the text methods.
	m := map[journal.Kind]int{journal.KindRun: 1, journal.KindInput: 2}
	b, err := json.Marshal(m)
	noErr(t, err, "json.Marshal")
	if want := `{"input":2,"run":1}`; string(b) != want {
		t.Errorf("json.Marshal(map) = %s, want %s", b, want)
	}
	var back map[journal.Kind]int
	noErr(t, json.Unmarshal(b, &back), "json.Unmarshal")
	noDiff(t, cmp.Diff(m, back), "map round trip")
}

func TestAppendEntryPreservesPrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := rapid.SliceOf(rapid.Byte()).Draw(t, "prefix")
		spare := rapid.IntRange(0, 64).Draw(t, "spare")
		e := genEntry(false).Draw(t, "entry")
		dst := append(make([]byte, 0, len(prefix)+spare), prefix...)
		out := journal.AppendEntry(dst, e)
		if !bytes.Equal(out[:len(prefix)], prefix) {
			t.Fatalf("prefix changed: %x -> %x", prefix, out[:len(prefix)])
		}
		if !bytes.Equal(out[len(prefix):], journal.MarshalEntry(e)) {
			t.Fatalf("appended bytes differ from MarshalEntry")
		}
	})
}

func TestDecodeEntryReadsEntriesEndToEnd(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		entries := rapid.SliceOf(genEntry(false)).Draw(t, "entries")
		var buf []byte
		for _, e := range entries {
			buf = journal.AppendEntry(buf, e)
		}
		rest := buf
		for i, want := range entries {
			got, n, err := journal.DecodeEntry(rest)
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			if d := diffEntries(want, got); d != "" {
				t.Fatalf("entry %d (-want +got):\n%s", i, d)
			}
			rest = rest[n:]
		}
		if len(rest) != 0 {
			t.Fatalf("%d bytes left over", len(rest))
		}
	})
}

func TestAppendEntryDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() { buf = journal.AppendEntry(buf[:0], typicalEntry) })
	if allocs != 0 {
		t.Errorf("AppendEntry into a buffer with room: %v allocations, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() { buf = journal.MarshalEntry(typicalEntry) })
	if allocs != 1 {
		t.Errorf("MarshalEntry: %v allocations, want 1", allocs)
	}
	enc := journal.MarshalEntry(typicalEntry)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := journal.UnmarshalEntry(enc); err != nil {
			panic(err)
		}
	})
	if allocs != 1 {
		t.Errorf("UnmarshalEntry of an entry with only a value: %v allocations, want 1 (the value's copy)", allocs)
	}
}

// checkDecode decodes b and checks the codec's contract: no panic, a typed error, and a successful
// decode that re-encodes to something that decodes to the same entry.
func checkDecode(t interface {
	Helper()
	Fatalf(string, ...any)
}, b []byte) {
	t.Helper()
	e, err := journal.UnmarshalEntry(b)
	owned, ownedErr := journal.UnmarshalOwnedEntry(bytes.Clone(b))
	if fmt.Sprint(err) != fmt.Sprint(ownedErr) {
		t.Fatalf("UnmarshalEntry(%x): error %v, UnmarshalOwnedEntry: %v", b, err, ownedErr)
	}
	if err != nil {
		if !errors.Is(err, journal.ErrCorrupt) && !errors.Is(err, journal.ErrUnsupportedVersion) {
			t.Fatalf("UnmarshalEntry(%x): untyped error %v", b, err)
		}
		return
	}
	if d := cmp.Diff(plain(e), plain(owned)); d != "" {
		t.Fatalf("UnmarshalOwnedEntry(%x) differs from UnmarshalEntry (-copied +owned):\n%s", b, d)
	}
	again, err := journal.UnmarshalEntry(journal.MarshalEntry(e))
	if err != nil {
		t.Fatalf("re-decoding %v decoded from %x: %v", e, b, err)
	}
	if d := diffEntries(e, again); d != "" {
		t.Fatalf("re-encoding %x changed the entry (-first +second):\n%s", b, d)
	}
}

func TestUnmarshalEntryNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		checkDecode(t, rapid.SliceOf(rapid.Byte()).Draw(t, "bytes"))
	})
}

func TestUnmarshalEntryMutations(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := journal.MarshalEntry(genEntry(false).Draw(t, "entry"))
		n := rapid.IntRange(1, 4).Draw(t, "mutations")
		for i := 0; i < n; i++ {
			pos := rapid.IntRange(0, len(b)-1).Draw(t, "pos")
			b[pos] = rapid.Byte().Draw(t, "byte")
		}
		checkDecode(t, b)
	})
}

func TestEveryTruncationIsCorrupt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := journal.MarshalEntry(genEntry(false).Draw(t, "entry"))
		for i := 0; i < len(b); i++ {
			_, err := journal.UnmarshalEntry(b[:i])
			if !errors.Is(err, journal.ErrCorrupt) {
				t.Fatalf("prefix of %d of %d bytes: got %v, want ErrCorrupt", i, len(b), err)
			}
		}
		extra := rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "extra")
		_, err := journal.UnmarshalEntry(append(b, extra...))
		if !errors.Is(err, journal.ErrCorrupt) {
			t.Fatalf("with %d trailing bytes: got %v, want ErrCorrupt", len(extra), err)
		}
	})
}

func TestUnmarshalEntryCorruptInputs(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantIs  error
		wantMsg string
	}{
		{"empty", nil, journal.ErrCorrupt, "journal entry: truncated at byte 0 reading version: corrupt entry"},
		{"version only", []byte{1}, journal.ErrCorrupt, "truncated at byte 1 reading kind"},
		{"no flags", []byte{1, 1}, journal.ErrCorrupt, "truncated at byte 2 reading flags"},
		{"no name length", []byte{1, 1, 0}, journal.ErrCorrupt, "truncated at byte 3 reading name length"},
		{"no target length", []byte{1, 1, 0, 0}, journal.ErrCorrupt, "truncated at byte 4 reading target length"},
		{"no value length", []byte{1, 1, 0, 0, 0}, journal.ErrCorrupt, "truncated at byte 5 reading value length"},
		{"unfinished uvarint", []byte{1, 1, 0, 0x80}, journal.ErrCorrupt, "truncated at byte 3 reading name length"},
		{"name runs past the end", []byte{1, 3, 0, 5, 'a'}, journal.ErrCorrupt, "truncated reading name: length 5 at byte 3 but only 1 bytes left"},
		{"huge length", []byte{1, 3, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, journal.ErrCorrupt, "truncated reading target: length 4294967295 at byte 4 but only 0 bytes left"},
		{"length overflows", []byte{1, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, journal.ErrCorrupt, "value length at byte 5 overflows 64 bits"},
		{"kind zero", []byte{1, 0, 0, 0, 0, 0}, journal.ErrCorrupt, "unknown kind 0 at byte 1"},
		{"kind from the future", []byte{1, 19, 0, 0, 0, 0}, journal.ErrCorrupt, "unknown kind 19 at byte 1"},
		{"unknown flag", []byte{1, 1, 32, 0, 0, 0}, journal.ErrCorrupt, "unknown flag bits 0x20 at byte 2"},
		{"param failure without param", []byte{1, 1, 8, 0, 0, 0}, journal.ErrCorrupt, "param failure flag without param flag at byte 2"},
		{"failure without code", []byte{1, 2, 2, 0, 0, 0, 1}, journal.ErrCorrupt, "truncated at byte 6 reading failure code"},
		{"failure without message", []byte{1, 2, 2, 0, 0, 0, 1, 244}, journal.ErrCorrupt, "truncated at byte 8 reading failure message length"},
		{"trailing byte", []byte{1, 1, 0, 0, 0, 0, 9}, journal.ErrCorrupt, "journal entry: 1 trailing bytes after the entry ending at byte 6: corrupt entry"},
		{"version 0", []byte{0, 1, 0, 0, 0, 0}, journal.ErrUnsupportedVersion, "journal entry: version 0, this build reads version 1: unsupported codec version"},
		{"version 2", []byte{2, 1, 0, 0, 0, 0}, journal.ErrUnsupportedVersion, "version 2, this build reads version 1"},
		{"version 2 alone", []byte{2}, journal.ErrUnsupportedVersion, "version 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := journal.UnmarshalEntry(tt.in)
			wantErr(t, err, tt.wantIs, tt.wantMsg)
			other := journal.ErrCorrupt
			if tt.wantIs == journal.ErrCorrupt {
				other = journal.ErrUnsupportedVersion
			}
			if errors.Is(err, other) {
				t.Errorf("error %q also wraps %q", err, other)
			}
			noDiff(t, diffEntries(journal.Entry{}, e), "a failed decode returns the zero entry")
			_, n, err := journal.DecodeEntry(tt.in)
			if tt.name == "trailing byte" {
				if err != nil || n != 6 {
					t.Errorf("DecodeEntry = %d, %v; want 6, nil (trailing bytes left alone)", n, err)
				}
			} else {
				wantErr(t, err, tt.wantIs, tt.wantMsg)
				if n != 0 {
					t.Errorf("DecodeEntry consumed %d bytes on error", n)
				}
			}
		})
	}
}

func TestInvalidKindEncodesButDoesNotDecode(t *testing.T) {
	for _, k := range []journal.Kind{0, 19, 255} {
		_, err := journal.UnmarshalEntry(journal.MarshalEntry(journal.Entry{Kind: k, Name: "x"}))
		wantErr(t, err, journal.ErrCorrupt, fmt.Sprintf("unknown kind %d", k))
	}
}

func FuzzUnmarshalEntry(f *testing.F) {
	seeds := []journal.Entry{
		typicalEntry,
		{Kind: journal.KindInput, Result: journal.Result{Value: []byte(`{"order":42}`)}},
		{Kind: journal.KindAwakeable},
		{Kind: journal.KindRun, Name: "charge", Result: journal.Result{Value: []byte{0xff, 0}, Failure: &journal.Failure{Code: 500, Message: "boom"}}},
		{Kind: journal.KindOutput, Result: journal.Result{Failure: &journal.Failure{}}},
		{Kind: journal.KindCompleteAwakeable, Target: "sign_1AAAAAAAAAAAAAAAAAAAAAAAAAA", Result: journal.Result{Value: []byte(`"yes"`)}},
	}
	for _, e := range seeds {
		f.Add(journal.MarshalEntry(e))
	}
	f.Add([]byte{})
	f.Add([]byte{2, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
	})
}

func BenchmarkMarshalEntry(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = journal.MarshalEntry(typicalEntry)
	}
}

func BenchmarkAppendEntry(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = journal.AppendEntry(buf[:0], typicalEntry)
	}
}

func BenchmarkUnmarshalEntry(b *testing.B) {
	b.ReportAllocs()
	enc := journal.MarshalEntry(typicalEntry)
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := journal.UnmarshalEntry(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResultStringIsFmts: Result.String writes what fmt wrote before it was built by hand.
func TestResultStringIsFmts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := journal.Result{Value: genValue().Draw(t, "value"), Failure: genFailure(false).Draw(t, "failure")}
		want := fmt.Sprintf("value(%s)", r.Value)
		if f := r.Failure; f != nil {
			want = fmt.Sprintf("failure(%d %q)", f.Code, f.Message)
		}
		if got := r.String(); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	})
}
