package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/internal/freelist"
	"github.com/vigilsim/vigil/internal/opentable"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// status is where an invocation is in its lifecycle (see the diagram in doc.go).
type status uint8

const (
	statusRunning    status = 1
	statusSuspended  status = 2
	statusBackingOff status = 3
	statusDone       status = 4
	// statusPending: accepted, waiting in its key's inbox for the lock.
	statusPending status = 5
	// statusScheduled: accepted with a delay; a timer at retryAt starts it (or queues it).
	statusScheduled status = 6
)

func (s status) String() string {
	switch s {
	case statusRunning:
		return "running"
	case statusSuspended:
		return "suspended"
	case statusBackingOff:
		return "backing-off"
	case statusDone:
		return "done"
	case statusPending:
		return "pending"
	case statusScheduled:
		return "scheduled"
	default:
		return fmt.Sprintf("status(%d)", uint8(s))
	}
}

// invocation is the engine's record of one invocation. Fields above the line are durable (see
// records.go); those below are rebuilt empty after a restart.
type invocation struct {
	id       protocol.InvocationID
	service  string
	handler  string
	key      string
	kind     protocol.HandlerKind
	seq      uint64
	idemKey  string
	status   status
	attempt  uint32
	failures uint32
	retryAt  time.Time
	waiting  []uint32
	journal  []journal.Entry
	// early holds completions of awakeables whose entry the engine has not seen yet: an ID can
	// reach a resolver before the command that created it reaches the engine.
	early map[uint32]journal.Result
	// earlyBytes is the encoded size of early, bounded by MaxEarlyBytes.
	earlyBytes int
	// purgeAt is when a finished invocation's output is forgotten (zero for a workflow's run,
	// which the workflow's own retention purges).
	purgeAt time.Time
	// entries is the journal's length, kept in the record so that a finished invocation read
	// back from the store (journal nil) knows where its output is.
	entries uint32
	// caller is the call entry of another invocation that waits for this one's output (zero
	// for an invocation started from outside or by a send).
	caller slot
	// cancelPending: the invocation was cancelled while it waited on nothing; its next await
	// fails with 409 Cancelled (cancel.go).
	cancelPending bool

	// ---- volatile
	dirty bool
	// fresh: the invocation was created in the current step, so its acceptance and anything
	// else the step writes of it go into one store batch (cleared when Ready takes the batch).
	fresh bool
	// waiters are ingress requests (calls and attaches) that get the output when it exists.
	waiters []RequestID
	// buffered holds messages of the current attempt that arrived before the entries they
	// follow, one per journal index they need next (a later one replaces it), in ascending
	// order of it: a short sorted slice, where a map made a table of eight messages for one.
	buffered []protocol.Message
	// recordKey is invocationKey(id) once Engine.recordKeyOf made it: Ready writes the record
	// at nearly every step of the invocation, and the key is the same every time.
	recordKey string
}

// bufferedAt finds the buffered message for journal index index: its position, or where it
// would go.
func (inv *invocation) bufferedAt(index uint32) (int, bool) {
	return slices.BinarySearchFunc(inv.buffered, index, func(m protocol.Message, index uint32) int {
		return cmp.Compare(m.Index, index)
	})
}

// dropBuffered forgets the buffered messages, keeping the slice's room for the next attempt.
func (inv *invocation) dropBuffered() {
	clear(inv.buffered)
	inv.buffered = inv.buffered[:0]
}

// holdsKey reports whether the invocation runs under its key's exclusive lock.
func (inv *invocation) holdsKey(svc protocol.ServiceSpec) bool {
	return svc.Keyed() && inv.kind != protocol.HandlerShared
}

// MaxEarlyAhead bounds the completions the engine keeps for awakeables it has not seen yet: how
// far past the journal their index may be, and how many one invocation may hold.
const MaxEarlyAhead = 1024

// MaxEarlyBytes bounds the encoded size of the early completions one invocation holds. A real
// early completion only runs ahead of its entry by the commands in flight; anyone who knows an
// invocation ID can forge them, and without a bound in bytes 1 024 forged 10 MiB resolves would
// park 10 GiB in the store.
const MaxEarlyBytes = 16 << 20

// Engine is the durable core. It is not safe for concurrent use: one driver owns it.
type Engine struct {
	cfg Config
	// specs indexes the declared services by name when they are many (see spec); nil otherwise.
	specs map[string]protocol.ServiceSpec
	invs  map[protocol.InvocationID]*invocation
	keys  map[keyID]*keyState
	// waitingOn maps each request waiting for an output to its invocation (volatile): a table
	// rather than a map, as the host's open requests, since request IDs come in increasing
	// order and most are answered soon (opentable).
	waitingOn opentable.Table[RequestID, protocol.InvocationID]
	seq       uint64
	dirty     []*invocation
	ready     Ready
	// hint is how long the last Ready's hottest slices were (see roomFor).
	hint readyHint
	// room holds the slices of Readies the driver handed back (Recycle), emptied, for the next
	// Readies to fill.
	room readyRoom
	// problems and quarantinedEarlier are what Recover found (see Problems).
	problems           []RecoveryProblem
	quarantinedEarlier int
	// readProblems are records met while serving that could not be read (TakeReadProblems).
	readProblems []RecoveryProblem
	// sweepAt is the earliest retention sweep armed (zero: none).
	sweepAt time.Time
	// values is the buffer store values are cut from, scratch where each is encoded first (see
	// keepValue).
	values, scratch []byte
	// keyRoom and readRoom are where getRecord builds a key and reads a value.
	keyRoom  [indexedKeyLen]byte
	readRoom []byte
	// idemRoom is where readIdempotency builds an idempotency key.
	idemRoom []byte
	// keyBuf is the buffer the store keys the engine writes are cut from (see keepString), made
	// at its first use.
	keyBuf *strings.Builder
	// journals is the buffer journal copies are cut from (see keepJournal), failures the one
	// failures are (see keepFailure).
	journals []journal.Entry
	failures []journal.Failure
	// rec is the room of the last recovery over this engine, for the next (RecoverOver).
	rec *recovery
}

// New returns an engine with empty state, for a store that holds nothing yet.
func New(cfg Config) *Engine {
	e := &Engine{}
	e.init(cfg)
	return e
}

// NewOver is New, made over old, an engine its driver is done with (one whose process
// crashed, or whose run ended): the engine returned is old itself, emptied, keeping the room of
// its maps and buffers, so that a driver that makes engines often (the simulator, at every
// crash and every seed) does not grow them afresh each time. Nothing of old's state is
// visible in it, and nothing old handed out changes (see reset). old nil is New. The driver
// must not use old otherwise afterwards.
func NewOver(cfg Config, old *Engine) *Engine {
	if old == nil {
		return New(cfg)
	}
	old.reset(cfg)
	return old
}

// init makes e, a zero Engine or one reset keeps room in, what New returns for cfg.
func (e *Engine) init(cfg Config) {
	if cfg.Clock == nil || cfg.NewID == nil || cfg.Store == nil {
		panic("engine: Config.Clock, Config.NewID and Config.Store are required")
	}
	cfg.Retry = cfg.Retry.withDefaults()
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.IdempotencyRetention <= 0 {
		cfg.IdempotencyRetention = DefaultRetention
	}
	e.cfg = cfg
	// keys is made at its first use (waitingOn needs no making): many engines (a recovery's, say) never
	// need them, and recovery makes an engine at every restart.
	if e.invs == nil {
		e.invs = map[protocol.InvocationID]*invocation{}
	}
	if len(cfg.Services) > maxScannedSpecs {
		if e.specs == nil {
			e.specs = make(map[string]protocol.ServiceSpec, len(cfg.Services))
		}
		for _, s := range cfg.Services {
			e.specs[s.Name] = s
		}
	} else {
		e.specs = nil
	}
}

// reset empties e for init: every field is zero again but the room of what holds nothing
// between steps or holds only what was handed out already. Its maps (invocations, keys,
// waiting requests, specs) are cleared and kept; so are its dirty list (cleared), the Readies
// handed back to it (emptied by Recycle), its encoding scratch and read rooms (nothing is kept
// in them between steps), its value, key, journal and failure buffers (append-only: what they
// handed out is never written again) and its recovery's room. The Ready being filled is dropped:
// nothing of it was handed out.
func (e *Engine) reset(cfg Config) {
	invs, keys, waitingOn, specs := e.invs, e.keys, e.waitingOn, e.specs
	clear(invs)
	clear(keys)
	waitingOn.Clear()
	clear(specs)
	dirty := e.dirty[:cap(e.dirty)]
	clear(dirty)
	room, scratch, readRoom, idemRoom := e.room, e.scratch[:0], e.readRoom[:0], e.idemRoom[:0]
	values, keyBuf, journals, failures, rec := e.values, e.keyBuf, e.journals, e.failures, e.rec
	*e = Engine{
		invs: invs, keys: keys, waitingOn: waitingOn, specs: specs, dirty: dirty[:0],
		room: room, scratch: scratch, readRoom: readRoom, idemRoom: idemRoom,
		values: values, keyBuf: keyBuf, journals: journals, failures: failures, rec: rec,
	}
	e.init(cfg)
}

// maxScannedSpecs is the most services spec finds by a scan of Config.Services; more get a map.
const maxScannedSpecs = 16

// spec returns the spec of the declared service name, the last declared under that name. A
// deployment declares a handful of services: a scan of them costs no more than a map lookup,
// and no map is built for each engine.
func (e *Engine) spec(name string) (protocol.ServiceSpec, bool) {
	if e.specs != nil {
		s, ok := e.specs[name]
		return s, ok
	}
	ss := e.cfg.Services
	for i := len(ss) - 1; i >= 0; i-- {
		if ss[i].Name == name {
			return ss[i], true
		}
	}
	return protocol.ServiceSpec{}, false
}

// specOf is spec without the ok, as a map index reads.
func (e *Engine) specOf(name string) protocol.ServiceSpec {
	s, _ := e.spec(name)
	return s
}

// Ready returns everything produced since the last call and starts a new, empty Ready. The
// invocations that finished leave memory here: from now on the store has them (finished.go).
func (e *Engine) Ready() Ready {
	if len(e.dirty) == 0 && e.ready.Empty() {
		// Nothing happened since the last Ready, as after most steps that end a group: the
		// empty Ready.
		return Ready{}
	}
	for _, inv := range e.dirty {
		inv.dirty, inv.fresh = false, false
		if e.invs[inv.id] != inv {
			continue
		}
		if inv.status == statusDone {
			e.retire(inv)
			delete(e.invs, inv.id)
			continue
		}
		e.putInvocation(e.recordKeyOf(inv), inv)
	}
	e.dirty = e.dirty[:0]
	r := e.ready
	e.ready = Ready{}
	e.hint.learn(&r)
	return r
}

// maxSpareSlices bounds the slices of each kind Recycle keeps, and maxSpareRoom the room of a
// slice it keeps: a driver rarely holds more than a group's worth of Readies, and one large
// Ready (a recovery's) must not keep its room for the engine's life.
const (
	maxSpareSlices = 8
	maxSpareRoom   = 64
)

// readyRoom holds the slices of Readies handed back (Recycle), emptied, by kind: a fresh Ready's
// first store op, message, reply, timer or note takes a slice of its kind from here (roomFor),
// whichever Ready it came from. Kept per Ready instead, a slice of a kind most Readies lack (a
// timer, a reply) came back only with the rare Ready that had one, and most Readies that needed
// one allocated it. Its message slices also serve as invocations' buffered messages (receive
// takes one, finish hands it back): the same kind of slice, as empty.
type readyRoom struct {
	batches  [][]store.Op
	messages [][]protocol.Message
	replies  [][]Reply
	timers   [][]Timer
	notes    [][]Note
}

// Recycle hands back a Ready the driver has performed and reads no more, so that a later Ready
// fills its slices instead of allocating new ones. The driver must not touch r's slices after
// it (a driver that never calls it may keep every Ready as long as it likes). What the slices
// hold is not reused: a batch's values, a message's journal, a reply's body stay valid. The
// slices are cleared here, so that nothing of r outlives it through them, and r is left zero
// (a driver that keeps its Readies in a slice need not clear it again).
func (e *Engine) Recycle(r *Ready) {
	keepRoom(&e.room.batches, r.Batch)
	keepRoom(&e.room.messages, r.Messages)
	keepRoom(&e.room.replies, r.Replies)
	keepRoom(&e.room.timers, r.Timers)
	keepRoom(&e.room.notes, r.Notes)
	*r = Ready{}
}

// keepRoom keeps s, cleared and of length zero, in free for roomFor, unless it has no room or
// more than maxSpareRoom, or free is full.
func keepRoom[T any](free *[][]T, s []T) {
	if cap(s) == 0 || cap(s) > maxSpareRoom || len(*free) >= maxSpareSlices {
		return
	}
	// Element by element, not clear(s): a Ready's slice holds one or two values as a rule, and
	// clear of a slice of values with pointers is a call to the runtime (memclrHasPointers) that
	// costs more than zeroing them in place (0.6 % of the approval benchmark's instructions).
	for i := range s {
		s[i] = *new(T)
	}
	*free = append(*free, s[:0])
}

// roomFor returns s, or, when s is still nil (the first append to a fresh Ready's slice), a slice
// Recycle kept in free, or else an empty slice of capacity hint (nil for a hint below 2: the
// append allocates as it would).
func roomFor[T any](s []T, free *[][]T, hint int) []T {
	if s != nil {
		return s
	}
	if s, ok := freelist.Pop(free); ok {
		return s
	}
	if hint > 1 {
		return make([]T, 0, hint)
	}
	return nil
}

// readyHint is how many store ops, messages and notes the last Ready that had any held: a fresh
// Ready's slices, when none is kept (readyRoom), start with that capacity, so that filling one
// takes one allocation instead of a doubling series. The slices themselves leave with their
// Ready and are reused only once the driver hands them back (Recycle).
type readyHint struct{ batch, messages, notes int }

// minBatchHint is the least room a Ready's batch starts with: a batch of one store op is the
// most common, but one of several follows it often enough that room for two takes fewer
// allocations overall (two fewer per invocation in the approval benchmark, for 54 more bytes).
const minBatchHint = 2

// maxReadyHint bounds a hint, so that one large Ready (a recovery's) does not make every later
// one allocate for its size.
const maxReadyHint = 16

// learn takes the sizes of r's slices as the hints for the next Ready, keeping a hint where r
// had none.
func (h *readyHint) learn(r *Ready) {
	learn := func(hint *int, n int) {
		if n > 0 {
			*hint = min(n, maxReadyHint)
		}
	}
	learn(&h.batch, len(r.Batch))
	learn(&h.messages, len(r.Messages))
	learn(&h.notes, len(r.Notes))
}

// addTimer adds t to the Ready's timers.
func (e *Engine) addTimer(t Timer) {
	e.ready.Timers = append(roomFor(e.ready.Timers, &e.room.timers, 0), t)
}

// Invocations returns the number of invocations the engine holds in memory: the unfinished ones
// (finished ones are in the store only, once the Ready that finished them was taken).
func (e *Engine) Invocations() int { return len(e.invs) }

// Unfinished returns the IDs of invocations that are not done, in ID order.
func (e *Engine) Unfinished() []protocol.InvocationID {
	var ids []protocol.InvocationID
	for id, inv := range e.invs {
		if inv.status != statusDone {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, compareIDs)
	return ids
}

// Describe says where an invocation is and what it waits for, following the wait-for graph:
// invocation -> what it waits on (awakeable, promise, timer, key lock, retry) -> who should
// complete it; a lock leads on to its holder, described in turn. Liveness reports print it.
func (e *Engine) Describe(id protocol.InvocationID) string {
	var b strings.Builder
	e.describe(&b, id, 0, map[protocol.InvocationID]bool{})
	return b.String()
}

func (e *Engine) describe(b *strings.Builder, id protocol.InvocationID, depth int, seen map[protocol.InvocationID]bool) {
	inv := e.invs[id]
	if inv == nil {
		b.WriteString(id.String() + " (unknown or purged)")
		return
	}
	target := fmt.Sprintf("%s/%s", inv.service, inv.handler)
	if inv.key != "" {
		target = fmt.Sprintf("%s/%s/%s", inv.service, inv.key, inv.handler)
	}
	fmt.Fprintf(b, "%s %s is %s (attempt %d)", id, target, inv.status, inv.attempt)
	if seen[id] || depth > 8 {
		b.WriteString(" [cycle]")
		return
	}
	seen[id] = true
	indent := "\n" + strings.Repeat("    ", depth+1) + "-> "
	switch inv.status {
	case statusSuspended:
		for _, w := range inv.waiting {
			if int(w) >= len(inv.journal) {
				continue
			}
			en := inv.journal[w]
			b.WriteString(indent)
			switch en.Kind {
			case journal.KindAwakeable:
				fmt.Fprintf(b, "awakeable %s [%d]: an outside party must resolve or reject it", protocol.AwakeableID{Invocation: id, Index: w}, w)
			case journal.KindGetPromise:
				fmt.Fprintf(b, "promise %q of workflow %s/%s [%d]: a handler of that workflow must resolve or reject it", en.Name, inv.service, inv.key, w)
			case journal.KindSleep:
				fmt.Fprintf(b, "timer [%d] due at %s: the engine must fire it", w, time.Unix(0, en.Deadline).UTC().Format(time.RFC3339Nano))
			case journal.KindCall:
				b.WriteString(e.describeCall(en, w))
			default:
				fmt.Fprintf(b, "[%d] %s", w, en)
			}
		}
	case statusPending:
		if ks := e.keys[keyID{inv.service, inv.key}]; ks != nil && ks.holder != nil {
			fmt.Fprintf(b, "%slock of %s/%s, held by: ", indent, inv.service, inv.key)
			e.describe(b, ks.holder.id, depth+1, seen)
		} else {
			fmt.Fprintf(b, "%slock of %s/%s, which nobody holds (the inbox should have moved on)", indent, inv.service, inv.key)
		}
	case statusBackingOff:
		fmt.Fprintf(b, "%sretry timer due at %s after %d failures", indent, inv.retryAt.UTC().Format(time.RFC3339Nano), inv.failures)
	case statusScheduled:
		fmt.Fprintf(b, "%sdelayed start due at %s", indent, inv.retryAt.UTC().Format(time.RFC3339Nano))
	case statusRunning:
		fmt.Fprintf(b, "%sthe executor must run attempt %d to its end or suspension", indent, inv.attempt)
	}
}

func compareIDs(a, b protocol.InvocationID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

func (e *Engine) markDirty(inv *invocation) {
	if !inv.dirty {
		inv.dirty = true
		e.dirty = append(e.dirty, inv)
	}
}

func (e *Engine) put(key string, value []byte) {
	e.ready.Batch = append(roomFor(e.ready.Batch, &e.room.batches, max(e.hint.batch, minBatchHint)), store.Op{Key: key, Value: value})
}

func (e *Engine) del(key string) {
	e.ready.Batch = append(roomFor(e.ready.Batch, &e.room.batches, max(e.hint.batch, minBatchHint)), store.Op{Key: key, Delete: true})
}

func (e *Engine) putEntry(inv *invocation, index uint32) {
	e.scratch = journal.AppendEntry(e.scratch[:0], inv.journal[index])
	e.put(e.indexedKeyOf(inv, journalPrefix, index), e.keepValue())
}

// putInvocation writes inv's record under key.
func (e *Engine) putInvocation(key string, inv *invocation) {
	e.scratch = appendInvocation(e.scratch[:0], inv)
	e.put(key, e.keepValue())
}

// The store values the engine writes at nearly every step (invocation records, journal
// entries), and the bodies of the responses it makes, are cut from buffers of valueChunk bytes;
// a value longer than maxSharedValue gets its own.
const (
	valueChunk     = 2048
	maxSharedValue = 128
)

// keepValue returns the store value just encoded into e.scratch, as a slice of a buffer shared
// with other small values of this and later steps: the values then cost one allocation per
// valueChunk bytes rather than one each (eight fewer allocations per invocation in the approval
// benchmark). A value's bytes are never written again (the buffer only grows past them, and a
// full one is replaced, never reused), and the value is capped at its length, so that appending
// to it cannot reach the next one: a driver may keep a Ready's values as long as it likes, as
// before.
func (e *Engine) keepValue() []byte {
	b := e.scratch
	if len(b) > maxSharedValue {
		// Too large to share: the value takes the scratch itself, and the scratch never holds
		// on to more than a small value's room.
		e.scratch = nil
		return b[:len(b):len(b)]
	}
	if cap(e.values)-len(e.values) < len(b) {
		e.values = make([]byte, 0, valueChunk)
	}
	start := len(e.values)
	e.values = append(e.values, b...)
	return e.values[start:len(e.values):len(e.values)]
}

func (e *Engine) reply(id RequestID, r ingress.Response) {
	e.ready.Replies = append(roomFor(e.ready.Replies, &e.room.replies, 0), Reply{Request: id, Response: r})
}

func (e *Engine) send(m protocol.Message) {
	e.ready.Messages = append(roomFor(e.ready.Messages, &e.room.messages, e.hint.messages), m)
}

func (e *Engine) note(n Note) {
	n.Clock = e.now()
	e.ready.Notes = append(roomFor(e.ready.Notes, &e.room.notes, e.hint.notes), n)
}

func (e *Engine) now() time.Time { return e.cfg.Clock.Now() }

// retention returns how long a service's finished invocations and workflows stay readable.
func (e *Engine) retention(service string) time.Duration {
	if mutant.On(mutant.RetentionFromIdempotencySetting) {
		return e.idempotencyRetention(service)
	}
	if d := e.specOf(service).Retention; d > 0 {
		return d
	}
	return e.cfg.Retention
}

func (e *Engine) idempotencyRetention(service string) time.Duration {
	if d := e.specOf(service).IdempotencyRetention; d > 0 {
		return d
	}
	return e.cfg.IdempotencyRetention
}

// arm asks the driver for a timer and notes it for the history.
func (e *Engine) arm(t Timer) {
	e.addTimer(t)
	e.note(Note{Kind: NoteTimerArmed, Invocation: t.Invocation, Index: t.Index, Service: t.Service, Key: t.Key, Timer: t, Reason: t.Kind.String()})
}

// startAttempt bumps the attempt number (durably, in this step's batch) and sends the start,
// with the key's state for objects and workflows. The start of an invocation created in this
// very step is Gated: it shares its batch with the acceptance, so a driver may send it before
// the batch is durable (a lost batch loses the invocation with it); every other start depends on
// batches of earlier steps, whose loss would let the attempt number be given out twice.
func (e *Engine) startAttempt(inv *invocation) {
	inv.attempt++
	inv.status = statusRunning
	inv.waiting = nil
	inv.retryAt = time.Time{}
	inv.dropBuffered()
	e.markDirty(inv)
	m := protocol.Message{
		Kind:       protocol.KindStart,
		Invocation: inv.id,
		Attempt:    inv.attempt,
		Service:    inv.service,
		Handler:    inv.handler,
		Key:        inv.key,
		Journal:    e.keepJournal(inv.journal),
		Gated:      inv.fresh,
	}
	if ks := e.keys[keyID{inv.service, inv.key}]; ks != nil && len(ks.state) > 0 {
		for _, name := range sortedKeys(ks.state) {
			m.State = append(m.State, journal.Entry{Kind: journal.KindGetState, Name: name, Result: journal.Result{Value: ks.state[name]}})
		}
	}
	e.send(m)
}

// Receive takes one message from the executor. Messages of any attempt but the running one are
// dropped; repeats are idempotent by journal index.
func (e *Engine) Receive(m protocol.Message) { e.ReceiveMessage(&m) }

// ReceiveMessage is Receive with the message by reference, for a driver that holds it in place
// (the simulator, in its event queue): a message is some 300 bytes, and each call down the
// receiving path copied it again. *m is read during the call only; nothing keeps or changes it.
func (e *Engine) ReceiveMessage(m *protocol.Message) {
	inv := e.invs[m.Invocation]
	if inv == nil || inv.status != statusRunning {
		return
	}
	if m.Attempt != inv.attempt && !(mutant.On(mutant.AcceptStaleAttempt) && m.Attempt < inv.attempt) {
		e.reached(PointStaleAttemptDropped)
		return
	}
	e.receive(inv, m)
	// Entries may have closed the gap in front of buffered messages.
	for inv.status == statusRunning && len(inv.buffered) > 0 {
		i, ok := inv.bufferedAt(uint32(len(inv.journal)))
		if !ok {
			break
		}
		bm := inv.buffered[i]
		inv.buffered = slices.Delete(inv.buffered, i, i+1)
		e.receive(inv, &bm)
	}
}

func (e *Engine) receive(inv *invocation, m *protocol.Message) {
	switch m.Kind {
	case protocol.KindCommand, protocol.KindSuspend, protocol.KindEnd:
		n := uint32(len(inv.journal))
		if m.Index > n {
			e.reached(PointCommandBuffered)
			if i, ok := inv.bufferedAt(m.Index); ok {
				inv.buffered[i] = *m
			} else {
				// An invocation's first buffered message takes a spare message slice (finish
				// hands a finished invocation's back), not a slice of its own.
				inv.buffered = slices.Insert(roomFor(inv.buffered, &e.room.messages, 0), i, *m)
			}
			return
		}
		switch m.Kind {
		case protocol.KindCommand:
			e.command(inv, m)
		case protocol.KindSuspend:
			e.suspend(inv, m)
		default:
			if m.Index != n {
				break
			}
			out := m.Entry.Result
			if size := len(out.Value) + len(failureMessage(out)); size > protocol.MaxEntryBytes {
				e.reached(PointCommandRefused)
				out = journal.Result{Failure: &journal.Failure{Code: 400, Message: fmt.Sprintf("%s/%s: the output is %d bytes long, over the limit of %d bytes", inv.service, inv.handler, size, protocol.MaxEntryBytes)}}
				e.finish(inv, out, journal.EngineOutput)
				break
			}
			e.finish(inv, out, "")
		}
	case protocol.KindError:
		e.attemptFailed(inv, *m)
	default:
		// Start, Completion, Ack and Abort never come from an executor; ignore rather than trust.
	}
}

func (e *Engine) command(inv *invocation, m *protocol.Message) {
	i := m.Index
	if i < uint32(len(inv.journal)) {
		e.reached(PointDuplicateCommand)
		// A repeat. A run's ack may have been lost with the first copy, so answer it again — but
		// only for the very result journaled, never for another execution's.
		if en := inv.journal[i]; journal.AckedBeforeUse(en.Kind) && en.Equal(m.Entry) {
			e.send(protocol.Message{Kind: protocol.KindAck, Invocation: inv.id, Attempt: inv.attempt, Index: i})
		}
		return
	}
	en := m.Entry
	spec := e.specOf(inv.service)
	switch {
	case en.Kind == journal.KindInput || en.Kind == journal.KindOutput || !en.Kind.Valid():
		e.attemptFailed(inv, protocol.Message{Retryable: true, Message: fmt.Sprintf("executor sent a %s entry as a command at index %d", en.Kind, i)})
		return
	case en.Kind.Writes() && !inv.holdsKey(spec):
		e.finish(inv, journal.Result{Failure: &journal.Failure{Code: 500, Message: fmt.Sprintf("%s/%s may not write state (%s at index %d)", inv.service, inv.handler, en.Kind, i)}}, journal.EngineOutput)
		return
	case isPromiseKind(en.Kind) && spec.Kind != protocol.ServiceWorkflow:
		e.finish(inv, journal.Result{Failure: &journal.Failure{Code: 500, Message: fmt.Sprintf("%s is not a workflow: it has no durable promises (%s at index %d)", inv.service, en.Kind, i)}}, journal.EngineOutput)
		return
	}
	if en.Kind.Completable() {
		en.Completed, en.Result = false, journal.Result{}
	}
	if en.Kind == journal.KindSleep {
		en.Deadline = e.now().Add(en.Duration).UnixNano()
	}
	e.scratch = journal.AppendEntry(e.scratch[:0], en)
	if err := checkCommandLimits(en, e.scratch); err != nil {
		e.reached(PointCommandRefused)
		e.finish(inv, journal.Result{Failure: &journal.Failure{Code: 400, Message: fmt.Sprintf("%s/%s: %s at index %d: %v", inv.service, inv.handler, en.Kind, i, err)}}, journal.EngineOutput)
		return
	}
	inv.journal = append(inv.journal, en)
	e.put(e.indexedKeyOf(inv, journalPrefix, i), e.keepValue())
	if journal.AckedBeforeUse(en.Kind) && !e.buggify(BuggifySkipRunAck) {
		e.send(protocol.Message{Kind: protocol.KindAck, Invocation: inv.id, Attempt: inv.attempt, Index: i})
	}
	switch en.Kind {
	case journal.KindCompleteAwakeable:
		e.reached(PointAwakeableByHandler)
		if aid, err := protocol.ParseAwakeableID(en.Target); err == nil {
			e.completeAwakeable(aid, en.Target, en.Param)
		} else {
			e.note(Note{Kind: NoteCompletionDropped, Awakeable: en.Target, Result: en.Param, Reason: err.Error()})
		}
	case journal.KindSetState, journal.KindClearState, journal.KindClearAllState:
		e.writeState(inv, en)
	case journal.KindSleep:
		e.arm(Timer{Kind: TimerSleep, Invocation: inv.id, Index: i, Deadline: time.Unix(0, en.Deadline)})
	case journal.KindGetPromise, journal.KindPeekPromise, journal.KindCompletePromise:
		e.promiseCommand(inv, i, en)
	case journal.KindCall, journal.KindSend:
		e.callCommand(inv, i, en)
	case journal.KindCancel:
		if id, err := protocol.ParseInvocationID(en.Target); err == nil {
			e.cancelByID(id)
		}
	}
	// A completion buffered before its entry arrived completes the entry at once, so the entry
	// never waits and a pending cancellation goes to the next await instead; cancelling first
	// would accept two completions of one awakeable.
	if mutant.On(mutant.CancelBeforeBufferedCompletion) && inv.status == statusRunning {
		e.cancelOnAwait(inv, i) // planted bug: the cancellation first, then the buffered completion too
	}
	if r, ok := inv.early[i]; ok {
		e.forgetEarly(inv, i)
		aid := protocol.AwakeableID{Invocation: inv.id, Index: i}.String()
		if en.Kind == journal.KindAwakeable {
			e.applyCompletion(inv, i, aid, r)
		} else {
			e.note(Note{Kind: NoteCompletionDropped, Invocation: inv.id, Index: i, Awakeable: aid, Result: r, Reason: fmt.Sprintf("entry %d is a %s, not an awakeable", i, en.Kind)})
		}
	}
	if inv.status == statusRunning {
		e.cancelOnAwait(inv, i)
	}
}

// forgetEarly removes the early completion for index i, in memory and in the store.
func (e *Engine) forgetEarly(inv *invocation, i uint32) {
	inv.earlyBytes -= earlySize(inv.early[i])
	delete(inv.early, i)
	e.del(e.indexedKeyOf(inv, earlyPrefix, i))
}

// checkCommandLimits refuses a command whose name would make a store key past the store's
// limit, or whose entry is past protocol.MaxEntryBytes. The store would refuse the batch and
// stop the server; the engine fails the one invocation instead, with a terminal error.
func checkCommandLimits(en journal.Entry, enc []byte) error {
	switch {
	case en.Kind.Writes():
		if err := protocol.CheckKey("state key", en.Name); err != nil {
			return err
		}
	case isPromiseKind(en.Kind):
		if err := protocol.CheckKey("promise name", en.Name); err != nil {
			return err
		}
	}
	if len(enc) > protocol.MaxEntryBytes {
		return fmt.Errorf("the entry is %d bytes long, over the limit of %d bytes", len(enc), protocol.MaxEntryBytes)
	}
	return nil
}

func isPromiseKind(k journal.Kind) bool {
	return k == journal.KindGetPromise || k == journal.KindPeekPromise || k == journal.KindCompletePromise
}

// completeAwakeable routes a resolve or reject to the awakeable's entry. The first completion
// wins; every later one, and any for an unknown or finished invocation, is dropped and noted.
func (e *Engine) completeAwakeable(aid protocol.AwakeableID, idStr string, r journal.Result) {
	drop := func(reason string) {
		e.note(Note{Kind: NoteCompletionDropped, Invocation: aid.Invocation, Index: aid.Index, Awakeable: idStr, Result: r, Reason: reason})
	}
	inv := e.invs[aid.Invocation]
	switch {
	case inv == nil && e.finished(aid.Invocation):
		e.reached(PointCompletionAfterFinish)
		drop("invocation finished")
		return
	case inv == nil:
		e.reached(PointCompletionAfterFinish)
		drop("unknown invocation")
		return
	case inv.status == statusDone:
		e.reached(PointCompletionAfterFinish)
		drop("invocation finished")
		return
	}
	i := aid.Index
	if i >= uint32(len(inv.journal)) {
		e.reached(PointEarlyCompletion)
		if _, seen := inv.early[i]; seen && !mutant.On(mutant.OverwriteBufferedCompletion) {
			drop("already completed")
			return
		}
		// A real awakeable's completion can only run a little ahead of its entry (the commands
		// still in flight); an ID far past the journal is forged, and keeping it would let
		// anyone grow the invocation's record without bound.
		if i-uint32(len(inv.journal)) >= MaxEarlyAhead || len(inv.early) >= MaxEarlyAhead {
			drop(fmt.Sprintf("index %d is too far past the journal's %d entries", i, len(inv.journal)))
			return
		}
		enc := encodeEarly(r)
		if inv.earlyBytes+len(enc) > MaxEarlyBytes {
			drop(fmt.Sprintf("the invocation's early completions would take %d bytes, over the limit of %d", inv.earlyBytes+len(enc), MaxEarlyBytes))
			return
		}
		if inv.early == nil {
			inv.early = map[uint32]journal.Result{}
		}
		if mutant.On(mutant.CompletionToWrongIndex) {
			i++
		}
		inv.early[i] = r
		inv.earlyBytes += len(enc)
		// Its own record: one small write, whatever the invocation holds already.
		e.put(e.indexedKeyOf(inv, earlyPrefix, i), enc)
		e.note(Note{Kind: NoteCompletionBuffered, Invocation: aid.Invocation, Index: aid.Index, Awakeable: idStr, Result: r})
		return
	}
	en := inv.journal[i]
	switch {
	case en.Kind != journal.KindAwakeable:
		drop(fmt.Sprintf("entry %d is a %s, not an awakeable", i, en.Kind))
	case en.Completed && !mutant.On(mutant.AcceptSecondCompletion):
		e.reached(PointDuplicateCompletion)
		drop("already completed")
	default:
		e.applyCompletion(inv, i, idStr, r)
	}
}

func (e *Engine) applyCompletion(inv *invocation, i uint32, idStr string, r journal.Result) {
	e.note(Note{Kind: NoteCompletionAccepted, Invocation: inv.id, Index: i, Awakeable: idStr, Result: r})
	e.completeEntry(inv, i, r)
}

// completeEntry completes a completable entry and lets the handler know: a completion message to
// the running attempt, or a new attempt if it was suspended waiting for it.
func (e *Engine) completeEntry(inv *invocation, i uint32, r journal.Result) {
	en := &inv.journal[i]
	en.Completed, en.Result = true, r
	e.putEntry(inv, i)
	switch inv.status {
	case statusRunning:
		if !mutant.On(mutant.LostWakeUp) {
			e.send(protocol.Message{Kind: protocol.KindCompletion, Invocation: inv.id, Attempt: inv.attempt, Index: i, Entry: *en})
		}
	case statusSuspended:
		if slices.Contains(inv.waiting, i) || mutant.On(mutant.SpuriousWakeUp) {
			e.reached(PointCompletionWhileSuspended)
			e.startAttempt(inv)
		}
	}
}

func failureMessage(r journal.Result) string {
	if r.Failure == nil {
		return ""
	}
	return r.Failure.Message
}

// entryReady reports whether the handler could read entry i's result now.
func entryReady(en journal.Entry) bool { return !en.Kind.Completable() || en.Completed }

func (e *Engine) suspend(inv *invocation, m *protocol.Message) {
	for _, w := range m.WaitingOn {
		if w >= uint32(len(inv.journal)) {
			e.attemptFailed(inv, protocol.Message{Retryable: true, Message: fmt.Sprintf("attempt suspended waiting on index %d past its journal of %d entries", w, len(inv.journal))})
			return
		}
		if entryReady(inv.journal[w]) {
			// The completion crossed the suspension on the wire: resume at once.
			e.reached(PointCompletionCrossedSuspend)
			e.startAttempt(inv)
			return
		}
	}
	inv.status = statusSuspended
	inv.waiting = slices.Clone(m.WaitingOn)
	e.markDirty(inv)
	if mutant.On(mutant.ReleaseLockOnSuspend) && inv.holdsKey(e.specOf(inv.service)) {
		e.release(inv)
	}
}

func (e *Engine) attemptFailed(inv *invocation, m protocol.Message) {
	if !m.Retryable {
		e.finish(inv, journal.Result{Failure: &journal.Failure{Code: 500, Message: m.Message}}, journal.EngineOutput)
		return
	}
	inv.failures++
	if inv.failures >= e.cfg.Retry.MaxAttempts {
		e.finish(inv, journal.Result{Failure: &journal.Failure{Code: 500, Message: fmt.Sprintf("gave up after %d failed attempts; last error: %s", inv.failures, m.Message)}}, journal.EngineOutput)
		return
	}
	e.reached(PointRetryBackoff)
	inv.status = statusBackingOff
	inv.retryAt = e.now().Add(e.cfg.Retry.backoff(inv.failures))
	if mutant.On(mutant.RetryWithoutBackoff) {
		inv.retryAt = e.now() // planted: the next attempt at once, no backoff
	}
	e.markDirty(inv)
	e.arm(Timer{Kind: TimerRetry, Invocation: inv.id, Deadline: inv.retryAt})
}

// finish appends the output entry, answers everyone waiting for it, releases the key and arms
// the retention.
func (e *Engine) finish(inv *invocation, out journal.Result, decidedBy string) {
	i := uint32(len(inv.journal))
	inv.journal = append(inv.journal, journal.Entry{Kind: journal.KindOutput, Name: decidedBy, Result: out})
	e.putEntry(inv, i)
	inv.status = statusDone
	inv.waiting = nil
	// A finished invocation receives no message again (Receive drops those of an invocation
	// not running): its buffered room, emptied, is spare for the next invocation's (receive).
	keepRoom(&e.room.messages, inv.buffered)
	inv.buffered = nil
	e.markDirty(inv)
	e.note(Note{Kind: NoteInvocationDone, Invocation: inv.id, Index: i, Result: out, Journal: e.keepJournal(inv.journal)})
	for _, idx := range sortedKeys(inv.early) {
		aid := protocol.AwakeableID{Invocation: inv.id, Index: idx}.String()
		e.note(Note{Kind: NoteCompletionDropped, Invocation: inv.id, Index: idx, Awakeable: aid, Result: inv.early[idx], Reason: "invocation finished"})
		e.forgetEarly(inv, idx)
	}
	inv.early = nil
	resp := e.outputResponse(inv)
	for _, w := range inv.waiters {
		e.reply(w, resp)
		e.waitingOn.Take(w)
	}
	inv.waiters = nil
	e.returnToCaller(inv, out)

	spec := e.specOf(inv.service)
	if inv.kind == protocol.HandlerWorkflowRun && spec.Kind == protocol.ServiceWorkflow {
		// The run is purged with its workflow, when the workflow's retention ends.
		ks := e.keyState(inv.service, inv.key)
		ks.purgeAt = e.now().Add(e.retention(inv.service))
		e.putWorkflow(inv.service, inv.key, ks)
		e.arm(Timer{Kind: TimerWorkflowRetention, Service: inv.service, Key: inv.key, Deadline: ks.purgeAt})
	} else {
		ret := e.retention(inv.service)
		if inv.idemKey != "" {
			ret = max(ret, e.idempotencyRetention(inv.service))
		}
		inv.purgeAt = e.now().Add(ret)
		// The history hears of this invocation's own deadline; the driver gets the sweep that
		// honours it when Ready retires the invocation (finished.go).
		rt := Timer{Kind: TimerRetention, Invocation: inv.id, Deadline: inv.purgeAt}
		e.note(Note{Kind: NoteTimerArmed, Invocation: inv.id, Timer: rt, Reason: rt.Kind.String()})
	}
	if inv.holdsKey(spec) {
		e.release(inv)
	} else if ks := e.keys[keyID{inv.service, inv.key}]; ks != nil {
		delete(ks.shared, inv.id)
	}
}
