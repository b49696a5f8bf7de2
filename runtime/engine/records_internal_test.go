package engine

import (
	"strings"
	"testing"
	"time"

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
