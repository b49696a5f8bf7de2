package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// Store layout. Recovery reads the live part only — inv/ with each one's jne/ and jnl/ entries,
// st/, pr/, wf/, meta/seq and the head of ret/ — so it takes time in proportion to unfinished
// work; what is finished is read when asked for (finished.go).
//
//	inv/<32 hex digits>                       record of an unfinished invocation (recordVersion,
//	                                          see encodeInvocation)
//	fin/<32 hex digits>                       record of a finished one, moved here as it finishes
//	jne/<32 hex digits>/<8 hex>               early completion of an awakeable whose entry is not
//	                                          journaled yet (an awakeable entry, completed)
//	jnl/<32 hex digits>/<8 hex>               journal entry (journal's binary codec)
//	st/<service>/<key>/<name>                 state value of an object or workflow
//	pr/<service>/<key>/<name>                 completed durable promise (a get-promise entry)
//	wf/<service>/<key>                        workflow record: its run and its purge deadline
//	idem/<service>/<handler>/<key>/<idem key> invocation ID of an idempotency key
//	meta/seq                                  the last acceptance sequence number
//	ret/<24 hex>/<32 hex digits>              retention index: a finished invocation by its purge
//	                                          deadline (see retentionKey); the value is empty
//	q/<64 hex digits>                         a record recovery could not use, set aside (see
//	                                          quarantine.go), under the SHA-256 of its key
//
// Early completions live apart from their invocation's record so that each costs one small write
// however many came before it: kept inside the record, every forged completion rewrote them all.
//
// Names, services and keys are path-escaped, so a "/" inside one never splits a store key.
const (
	invocationPrefix  = "inv/"
	finishedPrefix    = "fin/"
	retentionPrefix   = "ret/"
	earlyPrefix       = "jne/"
	journalPrefix     = "jnl/"
	statePrefix       = "st/"
	promisePrefix     = "pr/"
	workflowPrefix    = "wf/"
	idempotencyPrefix = "idem/"
	seqKey            = "meta/seq"
	quarantinePrefix  = "q/"
	// recordVersion 2 keeps early completions apart (jne/); version 1 kept them inside the
	// invocation record, and is still read (and rewritten as version 2 by recovery).
	recordVersion       = 2
	legacyRecordVersion = 1
	// workflowRecordVersion is the version of a wf/ record.
	workflowRecordVersion = 1
)

func escapedKey(prefix string, parts ...string) string {
	// Room for the key as it is when no part needs escaping, the usual case: one allocation.
	n := len(prefix) + len(parts)
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(prefix)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

// appendEscapedKey appends escapedKey(prefix, parts...) to dst: the same key, in a buffer of
// the caller's for a lookup that keeps no key.
func appendEscapedKey(dst []byte, prefix string, parts ...string) []byte {
	dst = append(dst, prefix...)
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, '/')
		}
		dst = append(dst, url.PathEscape(p)...)
	}
	return dst
}

func stateKey(service, key, name string) string {
	return escapedKey(statePrefix, service, key, name)
}

func promiseKey(service, key, name string) string {
	return escapedKey(promisePrefix, service, key, name)
}

func workflowKey(service, key string) string { return escapedKey(workflowPrefix, service, key) }

func idempotencyKey(id idemID) string {
	return escapedKey(idempotencyPrefix, id.service, id.handler, id.key, id.idemKey)
}

// splitKey undoes escapedKey for a key with n parts after prefix.
func splitKey(key, prefix string, n int) ([]string, error) {
	parts := strings.Split(key[len(prefix):], "/")
	if len(parts) != n {
		return nil, fmt.Errorf("key %q: want %d parts after %q: %w", key, n, prefix, ErrCorruptStore)
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("key %q: %v: %w", key, err, ErrCorruptStore)
		}
		parts[i] = u
	}
	return parts, nil
}

// putSeq writes the last acceptance sequence number, a uvarint, under seqKey.
func (e *Engine) putSeq() {
	e.scratch = binary.AppendUvarint(e.scratch[:0], e.seq)
	e.put(seqKey, e.keepValue())
}

// encodeWorkflow writes a workflow record: version, run ID, purge deadline (absent while running).
func encodeWorkflow(ks *keyState) []byte {
	b := []byte{workflowRecordVersion}
	b = append(b, ks.run[:]...)
	return appendTime(b, ks.purgeAt)
}

// appendTime encodes a deadline as a presence byte, then Unix seconds and nanoseconds, so that
// every instant time.Time can hold survives the store (Unix nanoseconds alone would only cover
// 1678 to 2262, and could not tell the epoch itself from no deadline).
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// time reads a time appendTime wrote. The zero time, one byte, is read here, without the
// calls timeSlow makes for the rest.
func (r *recordReader) time(what string) time.Time {
	if b := r.b; len(b) > 0 && b[0] == 0 { // bytes left: no error yet (failOf)
		r.b = b[1:]
		return time.Time{}
	}
	return r.timeSlow(what)
}

func (r *recordReader) timeSlow(what string) time.Time {
	if r.byte(what) == 0 || r.err != nil {
		return time.Time{}
	}
	sec := r.varintOf(what, " seconds")
	nsec := r.uvarintOf(what, " nanoseconds")
	if r.err == nil && nsec >= uint64(time.Second) {
		r.failOf(what, " nanoseconds")
	}
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

func invocationKey(id protocol.InvocationID) string { return idKey(invocationPrefix, id) }

// idKey is prefix then the invocation ID in hex. prefix is four bytes, as every prefix here.
func idKey(prefix string, id protocol.InvocationID) string {
	// Built in place: the key is made for every invocation record written or read, and a
	// concatenation of an encoded string would allocate twice.
	var b [4 + 2*len(protocol.InvocationID{})]byte
	n := copy(b[:], prefix)
	encodeHex(b[n:], id[:])
	return string(b[:])
}

func entryKey(id protocol.InvocationID, index uint32) string {
	return indexedKey(journalPrefix, id, index)
}

func earlyKey(id protocol.InvocationID, index uint32) string {
	return indexedKey(earlyPrefix, id, index)
}

// indexedKeyLen is the length of every indexedKey.
const indexedKeyLen = 4 + 32 + 1 + 8

// indexedKey is prefix, the invocation ID in hex, a slash and the index as 8 hex digits, so that
// an invocation's keys sort in index order. prefix is four bytes, as every prefix here.
func indexedKey(prefix string, id protocol.InvocationID, index uint32) string {
	// Built in place, as idKey is: one allocation.
	var k [indexedKeyLen]byte
	putIndexedKey(&k, prefix, id, index)
	return string(k[:])
}

// putIndexedKey writes indexedKey(prefix, id, index) into k.
func putIndexedKey(k *[indexedKeyLen]byte, prefix string, id protocol.InvocationID, index uint32) {
	n := copy(k[:], prefix)
	n += encodeHex(k[n:], id[:])
	k[n] = '/'
	putKeyIndex(k, index)
}

// putKeyIndex writes index into the last 8 bytes of an indexedKey.
func putKeyIndex(k *[indexedKeyLen]byte, index uint32) {
	var idx [4]byte
	binary.BigEndian.PutUint32(idx[:], index)
	encodeHex(k[indexedKeyLen-8:], idx[:])
}

// journalKeys makes the journal keys of one invocation in index order, several in one string:
// reading a whole journal (ReadInvocation, at every attempt end under the simulator) then
// allocates a key string per run of keys instead of one per entry.
type journalKeys struct {
	id protocol.InvocationID
	// run holds the keys of entries from, from+1, ..., one after the other.
	run  string
	from uint32
}

// minKeyRun is the fewest keys journalKeys makes at once.
const minKeyRun = 2

// key returns entryKey(k.id, i), for i from 0 up, one after the other; n is how many keys the
// caller expects to need from i on, a hint.
func (k *journalKeys) key(i, n uint32) string {
	if i < k.from || int(i-k.from+1)*indexedKeyLen > len(k.run) {
		n = min(max(n, minKeyRun), maxJournalHint)
		var b strings.Builder
		b.Grow(int(n) * indexedKeyLen)
		// The keys differ in their index only.
		var key [indexedKeyLen]byte
		putIndexedKey(&key, journalPrefix, k.id, i)
		for j := range n {
			putKeyIndex(&key, i+j)
			b.Write(key[:])
		}
		k.run, k.from = b.String(), i
	}
	start := int(i-k.from) * indexedKeyLen
	return k.run[start : start+indexedKeyLen]
}

// ErrCorruptStore is wrapped by every recovery error about data the engine cannot read.
var ErrCorruptStore = errors.New("corrupt engine state in store")

func encodeInvocation(inv *invocation) []byte {
	return appendInvocation(make([]byte, 0, 64), inv)
}

// appendInvocation appends inv's record (see encodeInvocation) to b.
func appendInvocation(b []byte, inv *invocation) []byte {
	b = append(b, recordVersion)
	b = appendString(b, inv.service)
	b = appendString(b, inv.handler)
	b = append(b, byte(inv.status))
	b = binary.AppendUvarint(b, uint64(inv.attempt))
	b = binary.AppendUvarint(b, uint64(inv.failures))
	b = appendTime(b, inv.retryAt)
	b = binary.AppendUvarint(b, uint64(len(inv.waiting)))
	for _, w := range inv.waiting {
		b = binary.AppendUvarint(b, uint64(w))
	}
	b = appendString(b, inv.key)
	b = append(b, byte(inv.kind))
	b = binary.AppendUvarint(b, inv.seq)
	b = appendString(b, inv.idemKey)
	b = appendTime(b, inv.purgeAt)
	entries := uint64(inv.entries)
	if inv.journal != nil {
		entries = uint64(len(inv.journal))
	}
	b = binary.AppendUvarint(b, entries)
	// The caller's call entry: its invocation ID (empty when none) and index.
	if inv.caller.inv.IsZero() {
		b = appendBytes(b, nil)
	} else {
		b = appendBytes(b, inv.caller.inv[:])
	}
	b = binary.AppendUvarint(b, uint64(inv.caller.index))
	if inv.cancelPending {
		return append(b, 1)
	}
	return append(b, 0)
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
// A field's name comes in two parts (what and detail, " length" say) that are joined only when
// the field fails: every record read would otherwise pay for the concatenation.
type recordReader struct {
	b   []byte
	err error
	// whole is the record b started as, when str may cut its strings from one copy of it, text
	// (nil: every string is its own copy).
	whole []byte
	text  string
	// noText makes str check its strings and return them empty, copying nothing.
	noText bool
	// in, when not nil, gives str its strings (InvocationReader).
	in *journal.Interner
	// specs are the declared services, whose names serviceName and handlerName give as they
	// are declared instead of copying them (none: every name is copied).
	specs []protocol.ServiceSpec
	// keys, when not nil, is the engine whose key buffer str cuts short strings from
	// (keepString): a recovered or finished record's key and idempotency key then cost no
	// allocation, not even the one copy of the record.
	keys *Engine
}

// maxSharedRecordText bounds the records whose strings str cuts from one copy of the record:
// each string keeps that copy alive, which must not hold a large legacy record's early
// completions in memory for the sake of a service name.
const maxSharedRecordText = 512

// str reads a length-prefixed string. The strings of a record small enough are substrings of
// one copy of it (text, made at the first non-empty one), so that decoding a record costs one
// string allocation instead of one per field.
func (r *recordReader) str(what string) string {
	return r.strOf(r.bytes(what))
}

// strOf is str of v, the bytes just read.
func (r *recordReader) strOf(v []byte) string {
	if r.noText {
		return ""
	}
	if r.in != nil {
		return r.in.String(v)
	}
	if r.keys != nil && len(v) > 0 && len(v) <= maxSharedKey {
		return r.keys.keepString(v)
	}
	if len(v) == 0 || r.whole == nil || len(r.whole) > maxSharedRecordText {
		return string(v)
	}
	if r.text == "" {
		r.text = string(r.whole)
	}
	end := len(r.whole) - len(r.b)
	return r.text[end-len(v) : end]
}

// serviceName reads a service name as str does, but gives a name r.specs declare as declared,
// without a copy, and that service's handlers, for handlerName: a record without a key or an
// idempotency key then costs no string at all.
func (r *recordReader) serviceName() (string, []protocol.HandlerSpec) {
	v := r.bytes("service")
	if !r.noText && r.in == nil {
		// The last declared under the name, as Engine.spec finds it.
		for i := len(r.specs) - 1; i >= 0; i-- {
			if r.specs[i].Name == string(v) {
				return r.specs[i].Name, r.specs[i].Handlers
			}
		}
	}
	return r.strOf(v), nil
}

// handlerName reads a handler name as str does, but gives one of handlers as declared, without
// a copy.
func (r *recordReader) handlerName(handlers []protocol.HandlerSpec) string {
	v := r.bytes("handler")
	for i := range handlers {
		if handlers[i].Name == string(v) {
			return handlers[i].Name
		}
	}
	return r.strOf(v)
}

func (r *recordReader) fail(what string) { r.failOf(what, "") }

// failOf records the first failure, and empties what is left to read: every read after a
// failure then finds nothing, so that the fast paths (byte, uvarintOf, bytes) need not ask
// whether an error came first. The error is a fieldError rather than fmt.Errorf's, with the
// text fmt.Errorf wrote, so that failOf makes no call and the readers it is part of inline.
func (r *recordReader) failOf(what, detail string) {
	if r.err == nil {
		r.err = &fieldError{what: what, detail: detail}
	}
	r.b = nil
}

// fieldError is a record field that is truncated or invalid: what fmt.Errorf("truncated or
// invalid %s%s", what, detail) made.
type fieldError struct{ what, detail string }

func (e *fieldError) Error() string { return "truncated or invalid " + e.what + e.detail }

func (r *recordReader) uvarint(what string) uint64 { return r.uvarintOf(what, "") }

// small reads a uvarint that fits in one byte, as nearly every one of a record does, and
// reports whether it did (false: nothing read, the caller reads it with uvarint, which also
// fails it). It makes no call, so that it inlines where uvarint cannot.
func (r *recordReader) small() (uint64, bool) {
	if b := r.b; len(b) > 0 && b[0] < 0x80 { // bytes left: no error yet (failOf)
		r.b = b[1:]
		return uint64(b[0]), true
	}
	return 0, false
}

// uvarintOf reads a uvarint: one that fits in a byte by small, without a call into
// uvarintSlow, which reads the rest and fails. It is too large to inline (so is a uvarint with
// the fast path written into it): a hot caller calls small itself first.
func (r *recordReader) uvarintOf(what, detail string) uint64 {
	if v, ok := r.small(); ok {
		return v
	}
	return r.uvarintSlow(what, detail)
}

func (r *recordReader) uvarintSlow(what, detail string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.failOf(what, detail)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varintOf(what, detail string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.failOf(what, detail)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes reads a length-prefixed byte string, without a copy. One shorter than 128 bytes, as
// nearly every one in a record is, is read here, without the calls bytesSlow makes.
func (r *recordReader) bytes(what string) []byte {
	if b := r.b; len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) { // no error yet (failOf)
		n := 1 + int(b[0])
		r.b = b[n:]
		return b[1:n:n]
	}
	return r.bytesSlow(what)
}

func (r *recordReader) bytesSlow(what string) []byte {
	n := r.uvarintOf(what, " length")
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
	if b := r.b; len(b) > 0 { // bytes left: no error yet (failOf)
		r.b = b[1:]
		return b[0]
	}
	r.failOf(what, "") // keeps an earlier error
	return 0
}

// decodeInvocation decodes an invocation record of either version. A version 1 record's early
// completions come back in inv.early; the caller writes them apart. Nothing decoded shares b's
// bytes (strings and early completions are copies), so the caller may reuse b (getRecord).
func decodeInvocation(id protocol.InvocationID, b []byte) (*invocation, error) {
	inv := &invocation{}
	if err := decodeInvocationInto(inv, id, b); err != nil {
		return nil, err
	}
	return inv, nil
}

// decodeInvocationInto is decodeInvocation into inv, which a caller that only reads the record
// can keep on its stack.
func decodeInvocationInto(inv *invocation, id protocol.InvocationID, b []byte) error {
	return decodeInvocationText(inv, id, b, true)
}

// decodeInvocationText is decodeInvocationInto, with the same checks and errors; without
// text, inv's strings (service, handler, key, idempotency key) are left empty rather than
// copied, for a caller that only asks whether the record is sound and what its status is.
func decodeInvocationText(inv *invocation, id protocol.InvocationID, b []byte, text bool) error {
	return decodeInvocationRecord(inv, id, recordReader{b: b, whole: b, noText: !text})
}

// decodeInvocationNamed is decodeInvocationInto, the service and handler names given as specs
// declare them when they are declared there (recordReader.name), and the other short strings cut
// from the key buffer of keys when it is not nil (recordReader.keys).
func decodeInvocationNamed(inv *invocation, id protocol.InvocationID, b []byte, specs []protocol.ServiceSpec, keys *Engine) error {
	return decodeInvocationRecord(inv, id, recordReader{b: b, whole: b, specs: specs, keys: keys})
}

// decodeInvocationRecord is decodeInvocationText with a reader of the caller's making, over
// the whole record (r.b and r.whole are the record).
func decodeInvocationRecord(inv *invocation, id protocol.InvocationID, r recordReader) error {
	b := r.whole
	v := r.byte("version")
	if r.err == nil && v != recordVersion && v != legacyRecordVersion {
		return fmt.Errorf("invocation record %s: version %d, this build reads %d and %d: %w", id, v, legacyRecordVersion, recordVersion, ErrCorruptStore)
	}
	inv.id = id
	service, handlers := r.serviceName()
	inv.service = service
	inv.handler = r.handlerName(handlers)
	inv.status = status(r.byte("status"))
	// Each uvarint is read by small where it fits in a byte, inlined, and by uvarint only where
	// it does not: uvarint's call cannot be inlined.
	attempt, ok := r.small()
	if !ok {
		attempt = r.uvarint("attempt")
	}
	inv.attempt = uint32(attempt)
	failures, ok := r.small()
	if !ok {
		failures = r.uvarint("failures")
	}
	inv.failures = uint32(failures)
	inv.retryAt = r.time("retry deadline")
	nw, ok := r.small()
	if !ok {
		nw = r.uvarint("waiting count")
	}
	for range min(nw, uint64(len(b))) {
		inv.waiting = append(inv.waiting, uint32(r.uvarint("waiting index")))
	}
	if v == legacyRecordVersion {
		inv.early = r.legacyEarly(len(b))
	}
	inv.key = r.str("key")
	inv.kind = protocol.HandlerKind(r.byte("handler kind"))
	seq, ok := r.small()
	if !ok {
		seq = r.uvarint("sequence")
	}
	inv.seq = seq
	inv.idemKey = r.str("idempotency key")
	inv.purgeAt = r.time("purge deadline")
	if v == recordVersion {
		entries, ok := r.small()
		if !ok {
			entries = r.uvarint("journal length")
		}
		inv.entries = uint32(entries)
		switch caller := r.bytes("caller"); len(caller) {
		case 0:
		case len(inv.caller.inv):
			inv.caller.inv = protocol.InvocationID(caller)
		default:
			r.fail("caller")
		}
		index, ok := r.small()
		if !ok {
			index = r.uvarint("caller index")
		}
		inv.caller.index = uint32(index)
		switch r.byte("cancel pending") {
		case 0:
		case 1:
			inv.cancelPending = true
		default:
			r.fail("cancel pending")
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err == nil && (inv.status < statusRunning || inv.status > statusScheduled) {
		r.err = fmt.Errorf("unknown status %d", inv.status)
	}
	if r.err != nil {
		return fmt.Errorf("invocation record %s: %v: %w", id, r.err, ErrCorruptStore)
	}
	return nil
}

// legacyEarly reads the early completions a version 1 record kept inline: a count, then index
// and encoded completion pairs. recordLen bounds the count, so a corrupt one cannot allocate.
func (r *recordReader) legacyEarly(recordLen int) map[uint32]journal.Result {
	var early map[uint32]journal.Result
	n := r.uvarint("early count")
	for range min(n, uint64(recordLen)) {
		idx := uint32(r.uvarint("early index"))
		raw := r.bytes("early completion")
		if r.err != nil {
			break
		}
		en, err := journal.UnmarshalEntry(raw)
		if err != nil {
			r.err = fmt.Errorf("early completion %d: %v", idx, err)
			r.b = nil // as failOf leaves it: nothing more to read
			break
		}
		if early == nil {
			early = map[uint32]journal.Result{}
		}
		early[idx] = en.Result
	}
	return early
}

// parseHexID reads an ID from the 32 hex digits of a store key, either case, as hex.Decode
// reads them, in one pass with no copy of s.
func parseHexID(s string) (protocol.InvocationID, bool) {
	return protocol.ParseHexInvocationID(s)
}

// hexDigit is the value of one hex digit, either case.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// PersistedInvocation is an invocation as its store records hold it, for tools and the
// simulator's replay twin.
type PersistedInvocation struct {
	Service string
	Handler string
	Key     string
	Done    bool
	Journal []journal.Entry
}

// maxJournalHint bounds the room ReadInvocation makes for a journal from its record's length.
const maxJournalHint = 64

// ReadInvocation reads invocation id, unfinished or finished, from a store. It reports false when
// the store has no record of it.
func ReadInvocation(st store.Reader, id protocol.InvocationID) (PersistedInvocation, bool, error) {
	if ap, ok := st.(valueAppender); ok {
		return readInvocationAppending(ap, id)
	}
	raw, ok, err := st.Get(invocationKey(id))
	if err == nil && !ok {
		raw, ok, err = st.Get(finishedKey(id))
	}
	if err != nil || !ok {
		return PersistedInvocation{}, ok, err
	}
	var inv invocation
	if err := decodeInvocationInto(&inv, id, raw); err != nil {
		return PersistedInvocation{}, true, err
	}
	p := PersistedInvocation{Service: inv.service, Handler: inv.handler, Key: inv.key, Done: inv.status == statusDone}
	// The record says how long the journal is (a legacy one does not): room for that many
	// entries, bounded, since a damaged length must not allocate.
	if n := min(inv.entries, maxJournalHint); n > 0 {
		p.Journal = make([]journal.Entry, 0, n)
	}
	keys := journalKeys{id: id}
	for i := uint32(0); ; i++ {
		// The record's journal length may be behind the journal (it is written at the end of a
		// step, entries as they come), and the loop reads one key past the journal's end.
		raw, ok, err := st.Get(keys.key(i, max(inv.entries, i)-i+1))
		if err != nil {
			return p, true, err
		}
		if !ok {
			break
		}
		// Get's value is a copy of our own, so the entry's values may keep its bytes.
		en, err := journal.UnmarshalOwnedEntry(raw)
		if err != nil {
			return p, true, fmt.Errorf("journal entry %d of %s: %v: %w", i, id, err, ErrCorruptStore)
		}
		p.Journal = append(p.Journal, en)
	}
	return p, true, nil
}

// valueAppender is a store.Reader that reads a value into a buffer of the caller's, the key
// given as bytes (mem.Store.AppendValue), failing as its Get does.
type valueAppender interface {
	AppendValue(dst, key []byte) ([]byte, bool, error)
}

// readInvocationBuffer is the room readInvocationAppending starts with: an invocation record
// and a short journal.
const readInvocationBuffer = 256

// readInvocationAppending is ReadInvocation over a valueAppender, with the same results and
// errors: the record and every journal entry are read into one buffer, which the entries'
// values then share (each capped at its length, and never written again: the buffer only grows
// past them, or moves and leaves them where they are), and the keys are built on the stack.
// That is one allocation where Get made a key and a copy per value.
func readInvocationAppending(st valueAppender, id protocol.InvocationID) (PersistedInvocation, bool, error) {
	// The key is built in the room past the buffer's, in the same allocation (a key array of
	// its own would escape to the heap through the interface call): the buffer is capped short
	// of it, so that no value appended can reach it.
	whole := make([]byte, readInvocationBuffer+indexedKeyLen)
	p, _, ok, err := readInto(st, id, whole[:0:readInvocationBuffer], (*[indexedKeyLen]byte)(whole[readInvocationBuffer:]), nil, nil)
	return p, ok, err
}

// readInto reads invocation id into buf (empty; the record and the entries' encodings are
// appended to it) and journal (empty, or nil), building the keys in key. With a memo, what it
// decodes comes from the memo (readMemo), and the entries' values are its interner's copies;
// without, the strings are copies and the entries' values share buf. It returns the buffer as
// it grew.
func readInto(st valueAppender, id protocol.InvocationID, buf []byte, key *[indexedKeyLen]byte, journalRoom []journal.Entry, memo *readMemo) (PersistedInvocation, []byte, bool, error) {
	// The record's key and the entries' keys share the ID's hex digits: the prefixes are all
	// four bytes long.
	idKeyLen := copy(key[:], invocationPrefix)
	idKeyLen += encodeHex(key[idKeyLen:], id[:])
	buf, ok, err := st.AppendValue(buf, key[:idKeyLen])
	if err == nil && !ok {
		copy(key[:], finishedPrefix)
		buf, ok, err = st.AppendValue(buf, key[:idKeyLen])
	}
	if err != nil || !ok {
		return PersistedInvocation{}, buf, ok, err
	}
	// The entries follow the record in the buffer, never over it: nothing decoded of it is
	// then at the mercy of how it was decoded.
	h, err := memo.head(id, buf[:len(buf):len(buf)])
	if err != nil {
		return PersistedInvocation{}, buf, true, err
	}
	p := PersistedInvocation{Service: h.service, Handler: h.handler, Key: h.key, Done: h.done, Journal: journalRoom}
	if n := min(h.entries, maxJournalHint); n > 0 && p.Journal == nil {
		p.Journal = make([]journal.Entry, 0, n)
	}
	copy(key[:], journalPrefix)
	key[idKeyLen] = '/'
	for i := uint32(0); ; i++ {
		putKeyIndex(key, i)
		start := len(buf)
		buf, ok, err = st.AppendValue(buf, key[:])
		if err != nil {
			return p, buf, true, err
		}
		if !ok {
			break
		}
		var en journal.Entry
		if memo != nil {
			en, err = journal.UnmarshalInternedEntry(buf[start:len(buf):len(buf)], &memo.text)
		} else {
			en, err = journal.UnmarshalOwnedEntry(buf[start:len(buf):len(buf)])
		}
		if err != nil {
			return p, buf, true, fmt.Errorf("journal entry %d of %s: %v: %w", i, id, err, ErrCorruptStore)
		}
		p.Journal = append(p.Journal, en)
	}
	return p, buf, true, nil
}

// InvocationReader reads persisted invocations as ReadInvocation does, for a caller that reads
// them again and again: the simulator's replay twin reads one at every attempt end. Every Read
// reads the record and every entry from the store, with ReadInvocation's checks, results and
// errors; only where the results live differs, and how much it decodes: the reader keeps its
// buffer and its journal from read to read, and remembers what it decoded (readMemo, reader.go),
// so that a read of the same invocation, or of one like it, allocates and decodes next to
// nothing.
//
// What a Read returns is the reader's own: it is good until the next Read or Reset, and nothing
// of it may be written (its values and failures are shared with later reads). The zero
// InvocationReader is ready to use; it is not safe for concurrent use.
type InvocationReader struct {
	buf     []byte
	journal []journal.Entry
	// used is how many entries of journal's room the last Read filled: only those may hold
	// anything of it.
	used int
	key  [indexedKeyLen]byte
	memo readMemo
}

// maxReaderBuffer bounds the buffer an InvocationReader keeps for its next read: a journal
// larger than that is read into a buffer of its own, which the reader lets go of.
const maxReaderBuffer = 64 << 10

// Read reads invocation id from st as ReadInvocation does (see InvocationReader for how long
// the result is good). A store that cannot append values (mem.Store can) is read by
// ReadInvocation itself, into memory of the result's own.
func (r *InvocationReader) Read(st store.Reader, id protocol.InvocationID) (PersistedInvocation, bool, error) {
	ap, ok := st.(valueAppender)
	if !ok {
		return ReadInvocation(st, id)
	}
	if r.buf == nil {
		r.buf = make([]byte, 0, readInvocationBuffer)
	}
	p, buf, ok, err := readInto(ap, id, r.buf[:0], &r.key, r.journal[:0], &r.memo)
	if cap(buf) <= maxReaderBuffer {
		r.buf = buf[:0]
	}
	// The entries past this read's keep nothing of an earlier one alive: those the last read
	// filled are cleared (room that grew is zero past its length).
	if cap(p.Journal) > 0 {
		if n := len(p.Journal); r.used > n {
			clear(p.Journal[n:min(r.used, cap(p.Journal))])
		}
		r.journal, r.used = p.Journal[:0], len(p.Journal)
	}
	return p, ok, err
}

// Reset lets go of what the last Read returned, keeping the reader's room (and what it remembers,
// readMemo, which is the same whoever reads: decoded from bytes, handed out only for equal ones).
func (r *InvocationReader) Reset() {
	clear(r.journal[:r.used])
	r.journal, r.used = r.journal[:0], 0
}
