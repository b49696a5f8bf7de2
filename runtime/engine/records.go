package engine

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Store layout. Keys sort invocations before journals, so a recovery scan meets an invocation's
// record before its entries, and an invocation's entries in index order.
//
//	inv/<32 hex digits>              invocation record (recordVersion, see encodeInvocation)
//	jnl/<32 hex digits>/<8 hex>      journal entry (journal's binary codec)
const (
	invocationPrefix = "inv/"
	journalPrefix    = "jnl/"
	recordVersion    = 1
)

func invocationKey(id protocol.InvocationID) string {
	return invocationPrefix + hex.EncodeToString(id[:])
}

func entryKey(id protocol.InvocationID, index uint32) string {
	var b [len(journalPrefix) + 32 + 1 + 8]byte
	n := copy(b[:], journalPrefix)
	n += hex.Encode(b[n:], id[:])
	b[n] = '/'
	n++
	var idx [4]byte
	binary.BigEndian.PutUint32(idx[:], index)
	hex.Encode(b[n:], idx[:])
	return string(b[:])
}

// ErrCorruptStore is wrapped by every recovery error about data the engine cannot read.
var ErrCorruptStore = errors.New("corrupt engine state in store")

func encodeInvocation(inv *invocation) []byte {
	b := make([]byte, 0, 64)
	b = append(b, recordVersion)
	b = appendString(b, inv.service)
	b = appendString(b, inv.handler)
	b = append(b, byte(inv.status))
	b = binary.AppendUvarint(b, uint64(inv.attempt))
	b = binary.AppendUvarint(b, uint64(inv.failures))
	var retryAt int64
	if !inv.retryAt.IsZero() {
		retryAt = inv.retryAt.UnixNano()
	}
	b = binary.AppendVarint(b, retryAt)
	b = binary.AppendUvarint(b, uint64(len(inv.waiting)))
	for _, w := range inv.waiting {
		b = binary.AppendUvarint(b, uint64(w))
	}
	b = binary.AppendUvarint(b, uint64(len(inv.early)))
	for _, idx := range slices.Sorted(maps.Keys(inv.early)) {
		b = binary.AppendUvarint(b, uint64(idx))
		enc := journal.MarshalEntry(journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: inv.early[idx]})
		b = appendBytes(b, enc)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// recordReader decodes a record; the first error sticks and later reads return zero values.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or invalid %s", what)
	}
}

func (r *recordReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes(what string) []byte {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func decodeInvocation(id protocol.InvocationID, b []byte) (*invocation, error) {
	r := recordReader{b: b}
	if v := r.byte("version"); r.err == nil && v != recordVersion {
		return nil, fmt.Errorf("invocation record version %d, this build reads %d: %w", v, recordVersion, ErrCorruptStore)
	}
	inv := &invocation{id: id}
	inv.service = string(r.bytes("service"))
	inv.handler = string(r.bytes("handler"))
	inv.status = status(r.byte("status"))
	inv.attempt = uint32(r.uvarint("attempt"))
	inv.failures = uint32(r.uvarint("failures"))
	if ns := r.varint("retry deadline"); ns != 0 {
		inv.retryAt = time.Unix(0, ns)
	}
	nw := r.uvarint("waiting count")
	for range min(nw, uint64(len(b))) {
		inv.waiting = append(inv.waiting, uint32(r.uvarint("waiting index")))
	}
	ne := r.uvarint("early count")
	for range min(ne, uint64(len(b))) {
		idx := uint32(r.uvarint("early index"))
		raw := r.bytes("early completion")
		if r.err != nil {
			break
		}
		en, err := journal.UnmarshalEntry(raw)
		if err != nil {
			r.err = fmt.Errorf("early completion %d: %v", idx, err)
			break
		}
		if inv.early == nil {
			inv.early = map[uint32]journal.Result{}
		}
		inv.early[idx] = en.Result
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err == nil && (inv.status < statusRunning || inv.status > statusDone) {
		r.err = fmt.Errorf("unknown status %d", inv.status)
	}
	if r.err != nil {
		return nil, fmt.Errorf("invocation record %s: %v: %w", id, r.err, ErrCorruptStore)
	}
	return inv, nil
}

func parseHexID(s string) (protocol.InvocationID, bool) {
	var id protocol.InvocationID
	if len(s) != 32 {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err == nil
}

// Recover rebuilds an engine from a store's recovery scan (Store.Load). The returned engine's
// first Ready restarts what was running: each running invocation gets a new attempt, timers are
// armed again (due ones fire at once when the driver arms them), suspended invocations stay
// suspended unless what they wait on is already there.
func Recover(cfg Config, load func(fn func(key string, value []byte) error) error) (*Engine, error) {
	e := New(cfg)
	var order []*invocation
	err := load(func(key string, value []byte) error {
		switch {
		case strings.HasPrefix(key, invocationPrefix):
			id, ok := parseHexID(key[len(invocationPrefix):])
			if !ok {
				return fmt.Errorf("key %q: %w", key, ErrCorruptStore)
			}
			inv, err := decodeInvocation(id, value)
			if err != nil {
				return err
			}
			e.invs[id] = inv
			order = append(order, inv)
		case strings.HasPrefix(key, journalPrefix):
			rest := key[len(journalPrefix):]
			idPart, idxPart, ok := strings.Cut(rest, "/")
			id, okID := parseHexID(idPart)
			idx, errIdx := strconv.ParseUint(idxPart, 16, 32)
			if !ok || !okID || errIdx != nil {
				return fmt.Errorf("key %q: %w", key, ErrCorruptStore)
			}
			inv := e.invs[id]
			if inv == nil {
				return fmt.Errorf("journal entry %q of an invocation without a record: %w", key, ErrCorruptStore)
			}
			if idx != uint64(len(inv.journal)) {
				return fmt.Errorf("journal of %s: entry %d follows %d entries: %w", id, idx, len(inv.journal), ErrCorruptStore)
			}
			en, err := journal.UnmarshalEntry(value)
			if err != nil {
				return fmt.Errorf("journal entry %q: %v: %w", key, err, ErrCorruptStore)
			}
			inv.journal = append(inv.journal, en)
		default:
			return fmt.Errorf("unknown key %q: %w", key, ErrCorruptStore)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recover engine: %w", err)
	}
	for _, inv := range order {
		if len(inv.journal) == 0 || inv.journal[0].Kind != journal.KindInput {
			return nil, fmt.Errorf("recover engine: invocation %s has no input entry: %w", inv.id, ErrCorruptStore)
		}
		switch inv.status {
		case statusRunning:
			e.startAttempt(inv)
		case statusBackingOff:
			e.ready.Timers = append(e.ready.Timers, Timer{Invocation: inv.id, Deadline: inv.retryAt})
		case statusSuspended:
			for _, w := range inv.waiting {
				if w < uint32(len(inv.journal)) && entryReady(inv.journal[w]) {
					e.startAttempt(inv)
					break
				}
			}
		}
	}
	return e, nil
}
