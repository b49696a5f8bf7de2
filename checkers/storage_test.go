package checkers

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// storageRows is the store a clean run leaves for one finished invocation inv: its finished
// record, its final journal and its retention entry, plus the engine's sequence counter.
func storageRows(inv protocol.InvocationID, final []journal.Entry) []Row {
	hexID := fmt.Sprintf("%x", inv[:])
	rows := []Row{{Key: "meta/seq"}, {Key: "fin/" + hexID}, {Key: "ret/" + strings.Repeat("0", 23) + "1/" + hexID}}
	for i, e := range final {
		rows = append(rows, Row{Key: fmt.Sprintf("jnl/%s/%08x", hexID, i), Value: journal.MarshalEntry(e)})
	}
	return rows
}

// TestStorageAudit judges stores against a history with one finished invocation of svc/h sent
// with idempotency key "k": the store a clean run leaves passes, and each way the engine could
// leave it wrong (a row it forgot, changed, lost, set aside or wrote under the wrong scope) is a
// storage violation.
func TestStorageAudit(t *testing.T) {
	final := []journal.Entry{input("x"), output("y")}
	hexA := fmt.Sprintf("%x", invA[:])
	history := func(extra ...Event) History {
		var b builder
		b.request(1, "POST", "svc", "h", "", "k")
		b.add(Event{Kind: InvocationAccepted, Node: "runtime", Invocation: invA, Service: "svc", Handler: "h",
			IdempotencyKey: "k", HandlerKind: event.HandlerService})
		b.add(Event{Kind: InvocationDone, Node: "runtime", Invocation: invA, Result: val("y"), Journal: final})
		for _, e := range extra {
			b.add(e)
		}
		return b.h
	}
	idemRow := func(scope string) Row { return Row{Key: "idem/" + scope, Value: invA[:]} }
	clean := append(storageRows(invA, final), idemRow("svc/h//k"))
	require.Empty(t, StorageAudit(history(), clean))

	without := func(key string) []Row {
		var rows []Row
		for _, r := range clean {
			if r.Key != key {
				rows = append(rows, r)
			}
		}
		return rows
	}
	with := func(rows []Row, r Row) []Row { return append(append([]Row(nil), rows...), r) }
	changed := without(fmt.Sprintf("jnl/%s/%08x", hexA, 1))
	changed = with(changed, Row{Key: fmt.Sprintf("jnl/%s/%08x", hexA, 1), Value: journal.MarshalEntry(output("z"))})

	cases := []struct {
		name string
		h    History
		rows []Row
		want string
	}{
		{"row left after purge", history(Event{Kind: Purged, Node: "runtime", Invocation: invA, Purge: event.PurgeInvocation}),
			without("ret/" + strings.Repeat("0", 23) + "1/" + hexA), "the invocation was purged, yet this row remains"},
		{"journal changed after finishing", history(), changed, "but the invocation finished with"},
		{"journal entry lost", history(), without(fmt.Sprintf("jnl/%s/%08x", hexA, 0)), "holds 1 of the 2 entries"},
		{"entry past the final journal", history(), with(clean, Row{Key: fmt.Sprintf("jnl/%s/%08x", hexA, 2), Value: journal.MarshalEntry(output("y"))}),
			"final journal has 2 entries"},
		{"retention entry lost", history(), without("ret/" + strings.Repeat("0", 23) + "1/" + hexA), "has 0 retention entries, want 1"},
		{"unfinished record of a finished invocation", history(), with(without("fin/"+hexA), Row{Key: "inv/" + hexA}), "still an unfinished one"},
		{"record set aside", history(), with(clean, Row{Key: "q/jnl/" + hexA}), "set aside by recovery"},
		{"invocation never accepted", history(), with(clean, Row{Key: "inv/" + fmt.Sprintf("%x", invB[:])}), "no invocation of this ID was ever accepted"},
		{"idempotency key under the wrong scope", history(), with(without("idem/svc/h//k"), idemRow("svc/other//k")), "wrong scope"},
		{"idempotency key left after its purge", history(Event{Kind: Purged, Node: "runtime", Service: "svc", Handler: "h", IdempotencyKey: "k", Purge: event.PurgeIdempotency}),
			clean, "the idempotency key was purged"},
		{"state of a key nobody targeted", history(), with(clean, Row{Key: "st/svc/key/name"}), "state of a key no live invocation targeted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs := StorageAudit(tc.h, tc.rows)
			require.NotEmpty(t, vs)
			var msgs []string
			for _, v := range vs {
				require.Equal(t, storageName, v.Checker)
				msgs = append(msgs, v.Message)
			}
			require.Contains(t, strings.Join(msgs, "\n"), tc.want)
		})
	}

	// One StorageJudge kept across audits, as the simulator keeps it across seeds, judges each
	// store as a fresh audit does: nothing of the last history or store stays in its model.
	var kept StorageJudge
	var all AllJudge
	for range 2 {
		for _, tc := range cases {
			h := tc.h
			require.Equal(t, StorageAudit(tc.h, tc.rows), kept.Judge(&h, tc.rows, nil), "%s, by the kept judge", tc.name)
			// And through the history's index, as the simulator judges it.
			all.Judge(&h, nil)
			require.Equal(t, StorageAudit(tc.h, tc.rows), kept.JudgeIndexed(all.Index(), tc.rows, nil), "%s, by the kept judge through the index", tc.name)
			h = history()
			require.Empty(t, kept.Judge(&h, clean, nil), "the clean store after %s, by the kept judge", tc.name)
		}
	}
}

// TestParseHex8 holds parseHex8 to strconv.ParseUint(s, 16, 32) on strings of 8 characters
// and to a refusal on any other length.
func TestParseHex8(t *testing.T) {
	for _, s := range []string{"00000000", "0000000a", "DEADbeef", "ffffffff", "FFFFFFFF", "0000000g", "+0000001", "-0000001",
		"0x000001", "0000_001", " 0000001", "1", "", "000000001", "12345678"} {
		got, ok := parseHex8(s)
		want, err := strconv.ParseUint(s, 16, 32)
		if wantOK := err == nil && len(s) == 8; ok != wantOK || ok && got != want {
			t.Errorf("parseHex8(%q) = %d, %v; want %d, %v", s, got, ok, want, wantOK)
		}
	}
}

// TestParseHex16 holds parseHex16 to encoding/hex on strings of 32 characters, every byte value
// tried at every position (after a valid ID), and to a refusal on any other length.
func TestParseHex16(t *testing.T) {
	valid := "0123456789abcdefABCDEF0123456789"
	check := func(s string) {
		t.Helper()
		got, ok := parseHex16(s)
		b, err := hex.DecodeString(s)
		if wantOK := err == nil && len(s) == 32; ok != wantOK || ok && string(got[:]) != string(b) {
			t.Fatalf("parseHex16(%q) = %x, %v; want %x, %v", s, got[:], ok, b, wantOK)
		}
	}
	for _, s := range []string{valid, strings.Repeat("f", 32), strings.Repeat("F", 32), valid[1:], valid + "0", ""} {
		check(s)
	}
	for pos := range len(valid) {
		for c := range 256 {
			check(valid[:pos] + string([]byte{byte(c)}) + valid[pos+1:])
		}
	}
}
