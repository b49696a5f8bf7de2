package mem

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vigilsim/vigil/runtime/store"
)

// A torn batch's log record holds every write sealed, whether the store keeps the value raw (as
// Apply wrote it) or sealed (damaged by FlipBit): the record, and so where a tear falls in it
// (CrashTearing's at, modulo its length), is what it was when every value was sealed at Apply.
func TestBatchRecordHoldsValuesSealed(t *testing.T) {
	s := New()
	if err := s.Apply(store.Batch{{Key: "a", Value: []byte("first")}, {Key: "empty", Value: []byte{}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // damaged and mended: held sealed from now on
		if !s.FlipBit("a", 3) {
			t.Fatal("FlipBit: no key")
		}
	}
	sealedA := s.data.get("a").v
	if !sealedA.sealed {
		t.Fatal("a flipped value is not held sealed")
	}
	if err := s.Apply(store.Batch{{Key: "b", Value: []byte("second")}, {Key: "a", Delete: true}}); err != nil {
		t.Fatal(err)
	}
	writes := append([]undoRecord{}, s.undo...)
	writes = append(writes, undoRecord{key: "a", next: sealedA})

	var body []byte
	for _, w := range []struct {
		key, value string
		deleted    bool
	}{{"a", "first", false}, {"empty", "", false}, {"b", "second", false}, {"a", "", true}, {"a", "first", false}} {
		body = binary.AppendUvarint(body, uint64(len(w.key)))
		body = append(body, w.key...)
		if w.deleted {
			body = append(body, 1)
			continue
		}
		sealed := store.Seal(nil, w.key, []byte(w.value))
		body = append(body, 0)
		body = binary.AppendUvarint(body, uint64(len(sealed)))
		body = append(body, sealed...)
	}
	want := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	want = append(want, body...)
	want = binary.BigEndian.AppendUint32(want, store.Checksum("", body))
	if got := encodeBatchRecord(writes); !bytes.Equal(got, want) {
		t.Fatalf("record\n%x\nwant\n%x", got, want)
	}
	if s.data.get("b").v.sealed {
		t.Fatal("a value nothing damaged is held sealed")
	}
}
