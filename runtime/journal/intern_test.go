package journal_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/journal"
)

// An interned decode is an owned decode: the same entry, or the same error, for any bytes, with
// one Interner across many entries whose names, targets and failures repeat and differ by a
// little (as the twin's re-reads of journals do), and after the Interner has filled and forgotten.
func TestInternedEntryDecodesAsOwned(t *testing.T) {
	var in journal.Interner // shared by every check: what one interned must not leak into the next
	rapid.Check(t, func(t *rapid.T) {
		base := genEntry(false).Draw(t, "entry")
		for i := range rapid.IntRange(1, 6).Draw(t, "variants") {
			e := base
			// A variant changes one of the interned fields a little, or not at all.
			switch rapid.IntRange(0, 4).Draw(t, fmt.Sprint("change ", i)) {
			case 1:
				e.Name += "x"
			case 2:
				e.Target = strings.TrimSuffix(e.Target, e.Target[len(e.Target)/2:])
			case 3:
				if e.Result.Failure != nil {
					f := *e.Result.Failure
					f.Code++
					e.Result.Failure = &f
				}
			case 4:
				if e.Param.Failure != nil {
					f := *e.Param.Failure
					f.Message += "!"
					e.Param.Failure = &f
				}
			}
			b := journal.MarshalEntry(e)
			if rapid.Bool().Draw(t, fmt.Sprint("mutate ", i)) {
				b[rapid.IntRange(0, len(b)-1).Draw(t, "pos")] = rapid.Byte().Draw(t, "byte")
			}
			want, wantErr := journal.UnmarshalOwnedEntry(bytes.Clone(b))
			got, err := journal.UnmarshalInternedEntry(bytes.Clone(b), &in)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("UnmarshalInternedEntry(%x): error %v, UnmarshalOwnedEntry: %v", b, err, wantErr)
			}
			if d := cmp.Diff(plain(want), plain(got)); d != "" {
				t.Fatalf("UnmarshalInternedEntry(%x) differs from UnmarshalOwnedEntry (-owned +interned):\n%s", b, d)
			}
		}
	})
}

// A second decode of the same bytes takes its strings and failures from the Interner: it
// allocates nothing, where an owned decode copies the name, the target and the failure.
func TestInternedEntryAllocatesOnce(t *testing.T) {
	e := journal.Entry{Kind: journal.KindCall, Name: "n", Target: "S/h", Param: journal.Result{Value: []byte(`"in"`)}, Completed: true,
		Result: journal.Result{Failure: &journal.Failure{Code: 409, Message: "no"}}}
	b := journal.MarshalEntry(e)
	var in journal.Interner
	first, err := journal.UnmarshalInternedEntry(b, &in)
	noErr(t, err, "UnmarshalInternedEntry")
	noDiff(t, diffEntries(e, first), "interned decode")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := journal.UnmarshalInternedEntry(b, &in); err != nil {
			panic(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a second interned decode: %v allocations, want 0", allocs)
	}
}

// The Interner stays bounded and right past its capacity, and copies a long string each time
// rather than keep it.
func TestInternerForgetsWhenFull(t *testing.T) {
	var in journal.Interner
	for i := range 3000 {
		s := fmt.Sprintf("name-%d", i%1500)
		if got := in.String([]byte(s)); got != s {
			t.Fatalf("String(%q) = %q", s, got)
		}
	}
	long := bytes.Repeat([]byte("x"), 1000)
	if in.String(long) != string(long) {
		t.Fatalf("a long string reads back otherwise")
	}
	if allocs := testing.AllocsPerRun(10, func() { _ = in.String(long) }); allocs != 1 {
		t.Errorf("a long string: %v allocations per String, want 1 (its copy, not kept)", allocs)
	}
	if in.String(nil) != "" || in.String([]byte{}) != "" {
		t.Errorf("an empty string reads back non-empty")
	}
}

// An interned entry keeps none of the bytes it was decoded from: the reader that decoded it
// reads the next journal into the same buffer, and the entries it decoded before, kept by the
// Interner, must read as they were decoded — with more entries decoded than it has slots for.
func TestInternedEntryOutlivesItsBytes(t *testing.T) {
	var in journal.Interner
	var buf []byte
	for round := range 2 {
		for i := range 300 {
			e := journal.Entry{Kind: journal.KindRun, Name: "request-review", Completed: true, Result: journal.Result{Value: []byte(fmt.Sprint(i))}}
			if i%3 == 0 {
				e.Result = journal.Result{Failure: &journal.Failure{Code: 500, Message: fmt.Sprintf("reviewer-%d rejects", i)}}
			}
			buf = journal.AppendEntry(buf[:0], e)
			got, err := journal.UnmarshalInternedEntry(buf, &in)
			noErr(t, err, "UnmarshalInternedEntry")
			clear(buf) // the reader's next read
			noDiff(t, diffEntries(e, got), fmt.Sprintf("round %d, entry %d, its bytes written over", round, i))
		}
	}
}
