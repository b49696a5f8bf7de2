package sim

import (
	"math/bits"
	"time"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// eventKind says what a queued event does when it fires.
type eventKind uint8

const (
	evCall             eventKind = iota + 1 // run fn, or call's Call
	evToEngine                              // deliver msg to the runtime node's engine
	evToExecutor                            // deliver msg to the executor node
	evSync                                  // the runtime node's store sync completes (gen)
	evEngineTimer                           // an engine timer falls due (gen)
	evExecutorTimer                         // an executor inactivity timer falls due (gen, target and srcGen)
	evConnectionLost                        // the runtime (gen) notices an attempt's connection failed (msg)
	evRelease                               // the runtime (gen) sends what its last sync made durable
	evRequestArrives                        // a client's request reaches the runtime node (x)
	evClientTimeout                         // a client gives up on a lost request or response (x)
	evRestartRuntime                        // the crashed runtime node's downtime ends
	evRestartExecutor                       // the crashed executor node's downtime ends
	evRuntimeCrashDue                       // the plan's next runtime crash strikes
	evExecutorCrashDue                      // the plan's next executor crash strikes
	evClockStepDue                          // the plan's next step of the runtime node's clock
	evPauseDue                              // the plan's next pause of a node (gen, see pauseRuntime)
	evPauseEnd                              // a node's (gen) pause ending at srcGen ends
)

// event is one thing due at a virtual instant. It is a value type with the hot payloads inline
// so that pushing a message delivery does not allocate a closure.
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	gen  uint64
	// srcGen is the sender's incarnation for messages: a message whose sender or receiver has
	// crashed since it was sent travelled on a connection that no longer exists, and is lost.
	// Of an executor timer armed through CallAfter it is the gen its target is called with.
	srcGen uint64
	// timerSpec is the engine timer an evEngineTimer delivers.
	timerSpec *engine.Timer
	// msg is the message of a delivery (evToEngine, evToExecutor, evConnectionLost). Of any
	// other event it is garbage, a message an earlier event of the queue slot carried, never
	// read: clearing its dozen pointer fields at every pop cost more than the rest of the pop
	// (each is a write barrier while the GC marks), and the next delivery in the slot
	// overwrites it.
	msg protocol.Message
	fn  func()
	// call is what an evCall without fn calls (World.AfterCall).
	call Caller
	// target is what an executor timer calls, with srcGen: an executor attempt armed through
	// CallAfter, or a simTimer AfterFunc armed.
	target executor.TimerTarget
	// x is the client exchange of the client events, which need no closure of their own.
	x *exchange
}

// eventQueue orders events on (at, seq). seq is the push order, so events due at the same
// instant run in the order they were scheduled — unless ties is set, when seq is drawn from it
// and events due at one instant run in an order the seed decides.
//
// The order is kept as a sorted array of small keys, keys[head:] ascending, that point into a
// slab of events: the next event is keys[head], taken by moving head, and a new key goes in at
// its place by binary search, shifting whichever side of it is shorter by one. A run's queue
// holds about ten events, where this does a third of a binary heap's work (a pop sifted through
// every level of the heap, comparing two children at each); a queue of n events still costs at
// most a shift of n/2 keys of 24 bytes per push. Two keys never compare equal (seq is unique,
// or 64 drawn bits), so the order is the one (at, seq) defines, whatever structure keeps it.
// Slots are reused, so a steady run allocates nothing per push.
type eventQueue struct {
	keys  []queueKey
	head  int
	slots []event
	free  []int32
	seq   uint64
	ties  Source
}

type queueKey struct {
	at   time.Duration
	seq  uint64
	slot int32
}

// before reports whether a runs before b: the order insert keeps, which it spells out on the
// values of the key it inserts.
func (a *queueKey) before(b *queueKey) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *eventQueue) Len() int { return len(q.keys) - q.head }

// peekAt is the due time of the next event; the queue must not be empty.
func (q *eventQueue) peekAt() time.Duration { return q.keys[q.head].at }

func (q *eventQueue) push(e event) {
	s := q.add(e.at)
	// Field by field rather than *s = e: the message, 300 bytes of the event, is copied only by
	// the kinds that carry one (of any other event it is garbage, see event).
	s.kind, s.gen, s.srcGen = e.kind, e.gen, e.srcGen
	s.timerSpec, s.fn, s.call, s.target, s.x = e.timerSpec, e.fn, e.call, e.target, e.x
	if e.kind.carriesMessage() {
		s.msg = e.msg
	}
}

// carriesMessage reports whether events of kind k deliver their msg.
func (k eventKind) carriesMessage() bool {
	return k == evToEngine || k == evToExecutor || k == evConnectionLost
}

// pushMessage queues a message delivery due at at, written straight into its slot: the message
// is copied once, not into an event on the caller's stack first. That matters on the executor's
// side, whose sends run on the handler's coroutine, where every large frame risks growing its
// small stack (a copy of the whole stack).
func (q *eventQueue) pushMessage(at time.Duration, kind eventKind, m *protocol.Message, srcGen, gen uint64) {
	s := q.add(at)
	s.kind = kind
	s.msg = *m
	s.srcGen = srcGen
	s.gen = gen
}

// add queues an event due at at and returns its slot, zero but for at, seq and msg (see event),
// for the caller to fill in before anything else touches the queue.
func (q *eventQueue) add(at time.Duration) *event {
	q.seq++
	seq := q.seq
	if q.ties != nil {
		seq = q.drawTie()
	}
	var slot int32
	if n := len(q.free); n > 0 {
		slot = q.free[n-1]
		q.free = q.free[:n-1]
	} else {
		slot = int32(len(q.slots))
		q.slots = append(q.slots, event{})
	}
	q.insert(queueKey{at: at, seq: seq, slot: slot})
	s := &q.slots[slot]
	s.at, s.seq, s.kind, s.gen, s.srcGen = at, seq, 0, 0, 0
	return s
}

// drawTie draws the seq of a new event from ties: Draw(2^64-1), which the world's PCG stream
// answers without the call through the Source interface, and without Draw's division (see
// pcgSource.uint64Max).
func (q *eventQueue) drawTie() uint64 {
	if s, ok := q.ties.(*pcgSource); ok && bits.UintSize == 64 {
		return s.uint64Max()
	}
	return q.ties.Draw(^uint64(0), "tie")
}

// insert puts k in its place among keys[head:]: after every key before it, before every other.
//
// The place is looked for from the front, one key after another: most events a run queues fall
// due before every event queued already (over half of the approval scenario's, and nine in ten
// within the first four places), where a binary search took four probes of a queue of ten. Past
// the first few places it is searched for in halves, so a long queue costs no more than it did.
func (q *eventQueue) insert(k queueKey) {
	keys := q.keys
	lo, hi := q.head, len(keys)
	// k's fields are compared as values, not through before(&k): taking k's address kept it in
	// memory, spilled there at every insert.
	at, seq := k.at, k.seq
	for near := min(hi, lo+linearPlaces); lo < near && (keys[lo].at < at || keys[lo].at == at && keys[lo].seq < seq); {
		lo++
	}
	if lo == q.head+linearPlaces {
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if keys[m].at < at || keys[m].at == at && keys[m].seq < seq {
				lo = m + 1
			} else {
				hi = m
			}
		}
	}
	if q.head > 0 && lo-q.head < len(keys)-lo {
		// Fewer keys before k's place than after it, and room before them: they move down, one
		// by one (there are few).
		q.head--
		for i := q.head; i < lo-1; i++ {
			keys[i] = keys[i+1]
		}
		keys[lo-1] = k
		return
	}
	if len(keys) == cap(keys) && q.head > 0 {
		// Full at the end, room at the start: move the keys down rather than grow.
		n := copy(keys, keys[q.head:])
		keys = keys[:n]
		lo -= q.head
		q.head = 0
	}
	keys = append(keys, queueKey{})
	copy(keys[lo+1:], keys[lo:])
	keys[lo] = k
	q.keys = keys
}

// linearPlaces is how many places from the front insert looks at one by one before it searches
// the rest in halves.
const linearPlaces = 4

// next removes the next event from the queue and returns its slot, which stays the event's, for
// the caller to run in place, until the caller gives it back with release. An event is over 400
// bytes: copying it out of its slot, as a pop would, cost more than ordering the queue.
//
// The event may be read through a pointer into the slab while it runs, even if the events it
// queues grow the slab: growing copies the slab, and nothing writes the old array's slot again
// (the slot is not free), so the pointer still reads the event as it was.
func (q *eventQueue) next() int32 {
	slot := q.keys[q.head].slot
	q.head++
	if q.head == len(q.keys) {
		q.keys, q.head = q.keys[:0], 0
	}
	return slot
}

// release frees the slot of an event next returned, once it has run. The slot lets go of what
// the event points to, but for its message (see event).
func (q *eventQueue) release(slot int32) {
	s := &q.slots[slot]
	s.timerSpec, s.fn, s.call, s.target, s.x = nil, nil, nil, nil, nil
	q.free = append(q.free, slot)
}
