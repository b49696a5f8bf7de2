package engine

import (
	"encoding/binary"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// keyChunk is the size of the buffers the store keys the engine writes (and other short
// strings it makes) are cut from, and maxSharedKey the longest string cut from one; a longer
// one gets a string of its own.
const (
	keyChunk     = 1024
	maxSharedKey = keyChunk / 8
)

// keepString returns k as a string cut from the engine's key buffer: the keys the engine writes
// at nearly every step (journal entries, invocation records, their retention) then cost one
// allocation per keyChunk bytes rather than one each (about eight fewer allocations per
// invocation in the approval benchmark), and so do the invocation IDs its responses name and
// the messages of rejected awakeables. The buffer is a strings.Builder, which only ever
// appends: a string it returned is never written again, and a full buffer is replaced, never
// reused, so a string stays valid for as long as anyone (a store's index, a Ready kept by its
// driver) holds it, as a string of its own would.
func (e *Engine) keepString(k []byte) string {
	if len(k) > maxSharedKey {
		return string(k)
	}
	if e.keyBuf == nil {
		e.keyBuf = new(strings.Builder)
	}
	if e.keyBuf.Cap()-e.keyBuf.Len() < len(k) {
		*e.keyBuf = strings.Builder{} // the full buffer is left to the keys cut from it
		e.keyBuf.Grow(keyChunk)
	}
	start := e.keyBuf.Len()
	e.keyBuf.Write(k)
	return e.keyBuf.String()[start:]
}

// idKeyOf is idKey(prefix, id), cut from the key buffer (keepString).
func (e *Engine) idKeyOf(prefix string, id protocol.InvocationID) string {
	var b [4 + 2*len(protocol.InvocationID{})]byte
	n := copy(b[:], prefix)
	encodeHex(b[n:], id[:])
	return e.keepString(b[:])
}

// recordKeyOf returns the store key of inv's record while it is unfinished (invocationKey),
// made once per invocation: Ready writes the record at nearly every step of the invocation.
func (e *Engine) recordKeyOf(inv *invocation) string {
	if inv.recordKey == "" {
		inv.recordKey = e.idKeyOf(invocationPrefix, inv.id)
	}
	return inv.recordKey
}

// indexedKeyOf returns indexedKey(prefix, inv.id, index), its ID's hex digits copied from
// recordKeyOf rather than encoded again (an entry key is made at every command), cut from the
// key buffer.
func (e *Engine) indexedKeyOf(inv *invocation, prefix string, index uint32) string {
	var k [indexedKeyLen]byte
	n := copy(k[:], prefix)
	n += copy(k[n:], e.recordKeyOf(inv)[len(invocationPrefix):])
	k[n] = '/'
	putKeyIndex(&k, index)
	return e.keepString(k[:])
}

// idHexOf returns inv's ID in hex, as its record key holds it (recordKeyOf): the keys and names
// that hold an invocation's ID copy its digits from there instead of encoding them again.
func (e *Engine) idHexOf(inv *invocation) string {
	return e.recordKeyOf(inv)[len(invocationPrefix):]
}

// invKeyOf is idKey(prefix, inv.id), cut from the key buffer.
func (e *Engine) invKeyOf(prefix string, inv *invocation) string {
	var b [4 + 2*len(protocol.InvocationID{})]byte
	n := copy(b[:], prefix)
	copy(b[n:], e.idHexOf(inv))
	return e.keepString(b[:])
}

// retentionKeyOf is retentionKey(deadline, id), cut from the key buffer. idHex, when not empty,
// is the ID in hex already (idHexOf).
func (e *Engine) retentionKeyOf(deadline time.Time, id protocol.InvocationID, idHex string) string {
	var b [retentionKeyLen]byte
	putRetentionKey(&b, deadline, id, idHex)
	return e.keepString(b[:])
}

// retentionKeyLen is the length of every retentionKey.
const retentionKeyLen = 4 + 2*(8+4) + 1 + 2*len(protocol.InvocationID{})

// putRetentionKey writes retentionKey(deadline, id) into b, copying the ID's hex digits from
// idHex unless it is empty.
func putRetentionKey(b *[retentionKeyLen]byte, deadline time.Time, id protocol.InvocationID, idHex string) {
	var d [8 + 4]byte
	binary.BigEndian.PutUint64(d[:8], uint64(deadline.Unix())^(1<<63))
	binary.BigEndian.PutUint32(d[8:], uint32(deadline.Nanosecond()))
	n := copy(b[:], retentionPrefix)
	n += encodeHex(b[n:], d[:])
	b[n] = '/'
	if idHex != "" {
		copy(b[n+1:], idHex)
	} else {
		encodeHex(b[n+1:], id[:])
	}
}

// idString is inv.id.String() ("inv_" and its hex digits), cut from the key buffer: a response
// names its invocation, and most responses are made by the engine.
func (e *Engine) idString(inv *invocation) string {
	var b [4 + 2*len(protocol.InvocationID{})]byte
	n := copy(b[:], "inv_")
	copy(b[n:], e.idHexOf(inv))
	return e.keepString(b[:])
}

// journalChunk is how many entries the buffer journal copies are cut from holds (32 entries of
// 128 bytes: one 4 KiB allocation), and maxSharedJournal the longest copy cut from one.
const (
	journalChunk     = 32
	maxSharedJournal = journalChunk / 4
)

// keepJournal returns a copy of j cut from the engine's journal buffer: a start carries a copy
// of its invocation's journal, and an invocation's end notes one, several times per invocation,
// and most journals are a few entries long. The buffer is only appended to, and each copy is
// capped at its length, so that appending to it cannot reach the next: no copy is ever written
// by the engine again, and a full buffer is replaced, never reused, so a copy is as much its
// holder's as a slice of its own would be.
func (e *Engine) keepJournal(j []journal.Entry) []journal.Entry {
	if len(j) == 0 || len(j) > maxSharedJournal {
		return slices.Clone(j)
	}
	if cap(e.journals)-len(e.journals) < len(j) {
		e.journals = make([]journal.Entry, 0, journalChunk)
	}
	start := len(e.journals)
	e.journals = append(e.journals, j...)
	return e.journals[start:len(e.journals):len(e.journals)]
}

// failureChunk is how many failures the buffer keepFailure cuts from holds.
const failureChunk = 32

// keepFailure returns a failure of code and message, cut from the engine's failure buffer: a
// rejected awakeable carries one, and a failure is never changed once made (results are
// compared and copied, not written), so failures may share an allocation. The buffer is only
// appended to, and a full one is replaced, never reused.
func (e *Engine) keepFailure(code uint16, message string) *journal.Failure {
	if len(e.failures) == cap(e.failures) {
		e.failures = make([]journal.Failure, 0, failureChunk)
	}
	e.failures = append(e.failures, journal.Failure{Code: code, Message: message})
	return &e.failures[len(e.failures)-1]
}
