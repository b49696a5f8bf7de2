package engine

import (
	"github.com/vigilsim/vigil/internal/word"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// readMemo is what an InvocationReader remembers from read to read: the strings, failures and
// entries of its interner (journal.Interner), and the heads of the records it decoded. The twin's
// records and entries are written from a small vocabulary (the same services, statuses and
// counters, the same inputs and completions, run after run), so that most of those it reads it
// decoded before. Whatever it hands out it decoded from bytes equal to the ones read, compared in
// full: decoding is a function of the bytes alone, so a read returns the same whether or not it
// remembers them, and every byte is still read from the store.
type readMemo struct {
	text journal.Interner
	// heads holds record heads by a hash of their records (headSlot), made at the first.
	heads *[headSlots]rememberedHead
	// block is what is left of the block the slots' copies are cut from (room).
	block []byte
}

// recordHead is what a read takes from an invocation record.
type recordHead struct {
	service, handler, key string
	done                  bool
	entries               uint32
}

// rememberedHead is a head decoded from record, the slot's copy of the record's bytes.
type rememberedHead struct {
	record []byte
	head   recordHead
}

const (
	// headSlots is the size of readMemo.heads, headSlotBits the bits of a slot's number.
	headSlotBits = 9
	headSlots    = 1 << headSlotBits
	// maxRememberedRecord is the longest record whose head a readMemo remembers.
	maxRememberedRecord = 256
	// headBlock is the size of the blocks the slots' copies are cut from.
	headBlock = 4096
)

// headSlot is the slot of record b in readMemo.heads, by a hash of all its bytes (the status,
// the attempt, a deadline, whatever differs, may be anywhere in them).
func headSlot(b []byte) int { return int(word.Hash(b) >> (64 - headSlotBits)) }

// head decodes the invocation record b of id as decodeInvocationRecord does, with its checks and
// errors, and returns what a read takes from it: the one it remembers decoded from the same
// bytes, if any. A nil m remembers nothing and cuts the strings from one copy of the record.
func (m *readMemo) head(id protocol.InvocationID, b []byte) (recordHead, error) {
	if m == nil {
		return decodeHead(id, b, nil)
	}
	if len(b) > maxRememberedRecord {
		return decodeHead(id, b, &m.text)
	}
	if m.heads == nil {
		m.heads = new([headSlots]rememberedHead)
	}
	slot := &m.heads[headSlot(b)]
	if slot.record != nil && string(slot.record) == string(b) {
		return slot.head, nil
	}
	h, err := decodeHead(id, b, &m.text)
	if err != nil {
		return h, err
	}
	// Nothing handed out shares the slot's copy (a head holds strings), so it is written over
	// when it has room, or cut anew from the memo's block.
	if cap(slot.record) < len(b) {
		slot.record = m.room(len(b))
	}
	slot.record, slot.head = append(slot.record[:0], b...), h
	return h, nil
}

// room returns room for a record of n bytes (and a little more, as a record grows by a byte or
// two with its counters), cut from the memo's block: its slots take the room of one allocation.
func (m *readMemo) room(n int) []byte {
	n += 8
	if n > cap(m.block) {
		m.block = make([]byte, 0, max(headBlock, n))
	}
	r := m.block[:0:n]
	m.block = m.block[n:n]
	return r
}

// decodeHead decodes the invocation record b of id, its strings from in when it is not nil.
func decodeHead(id protocol.InvocationID, b []byte, in *journal.Interner) (recordHead, error) {
	var inv invocation
	if err := decodeInvocationRecord(&inv, id, recordReader{b: b, whole: b, in: in}); err != nil {
		return recordHead{}, err
	}
	return recordHead{service: inv.service, handler: inv.handler, key: inv.key, done: inv.status == statusDone, entries: inv.entries}, nil
}
