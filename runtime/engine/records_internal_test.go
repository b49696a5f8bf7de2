package engine

import (
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestRecordStringsRoundTrip: a record's strings read back the same whether they are cut from
// one copy of a small record or copied one by one from a large one, and reading a record twice
// gives strings that do not depend on the bytes read (which the store may reuse).
func TestRecordStringsRoundTrip(t *testing.T) {
	for _, long := range []int{0, 3, maxSharedRecordText} {
		inv := &invocation{id: protocol.InvocationID{1, 2, 3}, service: "Svc" + strings.Repeat("s", long), handler: "run",
			key: strings.Repeat("k", long), idemKey: "idem-1", status: statusSuspended, attempt: 3, waiting: []uint32{2, 5},
			kind: protocol.HandlerExclusive, seq: 9, purgeAt: time.Unix(1_700_000_000, 5), entries: 6}
		b := encodeInvocation(inv)
		got, err := decodeInvocation(inv.id, b)
		if err != nil {
			t.Fatalf("long %d: %v", long, err)
		}
		for i := range b {
			b[i] = 0
		}
		if got.service != inv.service || got.handler != inv.handler || got.key != inv.key || got.idemKey != inv.idemKey {
			t.Fatalf("long %d: strings %q %q %q %q, want %q %q %q %q", long, got.service, got.handler, got.key, got.idemKey,
				inv.service, inv.handler, inv.key, inv.idemKey)
		}
		if got.seq != inv.seq || got.entries != inv.entries || !got.purgeAt.Equal(inv.purgeAt) || len(got.waiting) != 2 {
			t.Fatalf("long %d: other fields differ: %+v", long, got)
		}
	}
}

// TestKeptValuesStayPut: values cut from the shared buffer keep their bytes whatever is encoded
// and kept after them, are capped at their length, and a large value is its own.
func TestKeptValuesStayPut(t *testing.T) {
	e := &Engine{}
	var kept [][]byte
	var want []string
	for i := range 200 {
		n := 1 + i%(maxSharedValue+40)
		e.scratch = append(e.scratch[:0], strings.Repeat(string(rune('a'+i%26)), n)...)
		v := e.keepValue()
		if len(v) != n || cap(v) != n {
			t.Fatalf("value %d: len %d cap %d, want %d", i, len(v), cap(v), n)
		}
		kept, want = append(kept, v), append(want, string(v))
		_ = append(v, "overflow"...)
	}
	for i, v := range kept {
		if string(v) != want[i] {
			t.Fatalf("value %d changed to %q", i, v)
		}
	}
}

// TestJournalKeysAreEntryKeys: journalKeys gives entryKey's keys whatever the hints.
func TestJournalKeysAreEntryKeys(t *testing.T) {
	id := protocol.InvocationID{0: 0x12, 7: 0x9a, 15: 0xff}
	for _, hint := range []uint32{0, 1, 3, 7, 200} {
		keys := journalKeys{id: id}
		for i := range uint32(100) {
			if got, want := keys.key(i, hint), entryKey(id, i); got != want {
				t.Fatalf("hint %d: key(%d) = %q, want %q", hint, i, got, want)
			}
		}
	}
	if got, want := entryKey(id, 0x0102abcd), journalPrefix+"120000000000009a00000000000000ff/0102abcd"; got != want {
		t.Fatalf("entryKey = %q, want %q", got, want)
	}
}

// TestAppendEscapedKeyIsEscapedKey: the lookup that builds an idempotency key in the engine's
// own buffer (appendEscapedKey) builds the key the record was written under (escapedKey), for
// any parts, escaped or not.
func TestAppendEscapedKeyIsEscapedKey(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := rapid.SampledFrom([]string{idempotencyPrefix, "x/"}).Draw(t, "prefix")
		parts := rapid.SliceOfN(rapid.String(), 0, 5).Draw(t, "parts")
		room := rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "room")
		if got, want := string(appendEscapedKey(room[:0], prefix, parts...)), escapedKey(prefix, parts...); got != want {
			t.Fatalf("appendEscapedKey(%q, %q) = %q; escapedKey = %q", prefix, parts, got, want)
		}
	})
}

// TestRecordNamesAsDeclared: a record decoded with the declared services reads as it does
// without them, names declared or not, and one whose service and handler are declared and that
// has no key or idempotency key costs no allocation: its names are the specs' own strings.
func TestRecordNamesAsDeclared(t *testing.T) {
	specs := []protocol.ServiceSpec{
		{Name: "Other", Handlers: []protocol.HandlerSpec{{Name: "run"}}},
		{Name: "Svc", Handlers: []protocol.HandlerSpec{{Name: "start"}, {Name: "run"}}},
	}
	for _, tt := range []struct{ service, handler, key, idemKey string }{
		{"Svc", "run", "", ""}, {"Svc", "run", "k", "idem"}, {"Svc", "gone", "", ""},
		{"Undeclared", "run", "", ""}, {"Other", "start", "", "idem"}, {"", "", "", ""},
	} {
		inv := &invocation{id: protocol.InvocationID{4}, service: tt.service, handler: tt.handler, key: tt.key,
			idemKey: tt.idemKey, status: statusRunning, attempt: 1, entries: 2}
		b := encodeInvocation(inv)
		want, err := decodeInvocation(inv.id, b)
		if err != nil {
			t.Fatal(err)
		}
		// Without a key buffer and with one (recordReader.keys), whose strings are the same.
		for _, keys := range []*Engine{nil, {}} {
			var got invocation
			if err := decodeInvocationNamed(&got, inv.id, b, specs, keys); err != nil {
				t.Fatal(err)
			}
			if got.service != want.service || got.handler != want.handler || got.key != want.key || got.idemKey != want.idemKey ||
				got.status != want.status || got.attempt != want.attempt || got.entries != want.entries {
				t.Fatalf("%+v: decoded with the specs (key buffer %v) %+v, without %+v", tt, keys != nil, got, *want)
			}
		}
	}
	b := encodeInvocation(&invocation{id: protocol.InvocationID{4}, service: "Svc", handler: "run", status: statusRunning, attempt: 1, entries: 2})
	if n := testing.AllocsPerRun(100, func() {
		var inv invocation
		_ = decodeInvocationNamed(&inv, protocol.InvocationID{4}, b, specs, nil)
	}); n != 0 {
		t.Errorf("decoding a record of declared names allocated %v times, want none", n)
	}
	// With a key and an idempotency key, cut from a key buffer: one allocation per keyChunk
	// bytes of them, none per record.
	keyed := encodeInvocation(&invocation{id: protocol.InvocationID{4}, service: "Svc", handler: "run", key: "k", idemKey: "idem", status: statusRunning, attempt: 1, entries: 2})
	keys := &Engine{}
	if n := testing.AllocsPerRun(100, func() {
		var inv invocation
		_ = decodeInvocationNamed(&inv, protocol.InvocationID{4}, keyed, specs, keys)
	}); n != 0 {
		t.Errorf("decoding a keyed record with a key buffer allocated %v times, want none", n)
	}
}
