package sim

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/internal/freelist"
	"github.com/vigilsim/vigil/internal/opentable"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/host"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// Response is what a client actor gets back from an ingress request: the HTTP response, or Err
// when the connection failed (refused while the runtime was down, reset by a crash). A client
// that gets Err cannot know whether its request took effect.
type Response struct {
	ingress.Response
	Err error
}

// ErrConnection is the Err of a request whose connection failed.
var ErrConnection = fmt.Errorf("connection to the runtime failed")

// errRefused and errReset are the errors of a request the runtime refused (it was down) and of
// one whose connection a crash broke. Made once: an error value is never changed, and the
// client reads only its text and what it wraps.
var (
	errRefused = fmt.Errorf("refused: %w", ErrConnection)
	errReset   = fmt.Errorf("reset: %w", ErrConnection)
)

// runtimeNode is the simulated runtime process. It drives the production host's group commit
// (host.Core) on virtual time: each input is stepped through the core and its batch applied at
// once; the group's sync is an event after the fault plan's sync delay; the synced effects
// leave in a later event, so that a crash can fall between the sync and the sends.
//
//	input ──► step, Take ──► Apply ──► (sync-delay) Sync ──► (send-delay) Perform
//	            ▲ crash          ▲ crash            ▲ crash              ▲ crash
//	            before batch     before sync        before sends          after sends
type runtimeNode struct {
	w   *World
	up  bool
	gen uint64
	// pause is the node's pause: while it lasts, what is due for the node waits in order.
	pause pause
	// clockOffset is how far the node's wall clock is ahead of the true time (negative: behind).
	clockOffset time.Duration
	eng         *engine.Engine
	store       *mem.Store
	clock       *virtualClock
	// core is the production host's group commit over eng and store; nil while the node is down.
	core *host.Core
	// spareCore is the core of the last crash, reset over the next engine (host.Core.Reset),
	// and spareEng its engine, which the next one is recovered over (engine.RecoverOver).
	spareCore *host.Core
	spareEng  *engine.Engine

	// syncScheduled is set while an evSync of this generation is queued for the core's group.
	syncScheduled bool
	// crashAt, when set, is the durable boundary at which the next crash happens.
	crashAt boundary
	// crashWhy, when set, starts the reason the next crash records (a failed sync).
	crashWhy string

	// requests are the open requests' repliers by ID: a table rather than a map, as the
	// core's (opentable), since their IDs come in increasing order and most are answered soon.
	requests opentable.Table[engine.RequestID, replier]

	// cfg is the engine's configuration but its retry policy, made once (see config).
	cfg engine.Config
	// answerFn is n.answer, bound once: the core's CoreConfig.Reply, so that no request needs a
	// callback of its own.
	answerFn func(engine.RequestID, ingress.Response)
	// spareReplies and spareTimers are carriers of replies and engine timers whose events have
	// run, for the next ones (see replyEvent, Arm).
	spareReplies []*replyEvent
	spareTimers  []*engine.Timer
	// allReplies and allTimers are every carrier the node (and the nodes it was made over)
	// made: a run ends with some in queued events, which the recycled world drops, and the next
	// run's node takes them all as spare (room).
	allReplies []*replyEvent
	allTimers  []*engine.Timer
	// spareHeld are carriers of held requests whose events have run, for the next ones (see
	// holdRequest).
	spareHeld []*heldRequest
	// openIDs is the room crash sorts the open requests' IDs in.
	openIDs []engine.RequestID
}

// newRuntimeNode makes the runtime node on st and room, an empty store and the room a recycled
// world kept (World.recycle), or new ones when they are nil and empty.
func newRuntimeNode(w *World, st *mem.Store, room runtimeRoom) *runtimeNode {
	if st == nil {
		st = mem.New()
	}
	n := room.node
	if n == nil || n.w != w {
		n = &runtimeNode{w: w}
		n.clock = &virtualClock{w: w, runtime: n}
		n.answerFn = n.answer
		n.cfg = engine.Config{Clock: n.clock, NewID: w.newInvocationID, Reached: w.cover, Buggify: w.buggify}
	}
	// The last run's node of this world, or a new one: every field starts afresh but what only
	// binds n to w — its clock, its reply callback, the engine's callbacks (bound to w, which
	// a recycled world keeps) — and the room of the services' specs, made anew below.
	specs := n.cfg.Services[:0]
	clear(specs[:cap(specs)])
	*n = runtimeNode{w: w, store: st, requests: room.requests, clock: n.clock, answerFn: n.answerFn,
		cfg: engine.Config{Clock: n.clock, NewID: n.cfg.NewID, Reached: n.cfg.Reached, Buggify: n.cfg.Buggify}}
	n.spareCore, n.spareEng, n.spareReplies, n.spareTimers = room.core, room.eng, room.replies, room.timers
	n.allReplies, n.allTimers = room.allReplies, room.allTimers
	for _, r := range n.spareReplies {
		r.n = n
	}
	n.spareHeld, n.openIDs = room.held, room.openIDs
	for _, h := range n.spareHeld {
		h.n = n
	}
	for _, s := range w.services {
		specs = append(specs, s.Spec())
	}
	n.cfg.Services, n.cfg.Store = specs, n.store
	eng := engine.NewOver(n.config(), n.spareEng)
	n.spareEng = nil
	n.start(eng)
	return n
}

// start brings the node up on eng, with a host core as NewCore makes it (no open request, empty
// group): the last crash's core reset, or a new one.
func (n *runtimeNode) start(eng *engine.Engine) {
	n.eng = eng
	cfg := host.CoreConfig{Engine: eng, Store: n.store, Effects: n, Reply: n.answerFn}
	if n.spareCore != nil {
		n.core, n.spareCore = n.spareCore, nil
		n.core.Reset(cfg)
	} else {
		n.core = host.NewCore(cfg)
	}
	n.up = true
}

// runtimeRoom is what a finished run's runtime node leaves the next run's (World.recycle): the
// node itself, made afresh over (newRuntimeNode), its core and engine, whose buffers the next
// ones reuse (host.Core.Reset, engine.NewOver, both tested to leave nothing of the past
// visible), and its spare carriers, which are empty.
type runtimeRoom struct {
	node    *runtimeNode
	core    *host.Core
	eng     *engine.Engine
	replies []*replyEvent
	timers  []*engine.Timer
	// allReplies and allTimers are every carrier made (runtimeNode.allReplies).
	allReplies []*replyEvent
	allTimers  []*engine.Timer
	// held are the spare carriers of held requests (runtimeNode.spareHeld): those whose events
	// ran, emptied. One whose event the run ended with is left to the collector.
	held []*heldRequest
	// openIDs is the room of runtimeNode.openIDs, empty.
	openIDs []engine.RequestID
	// requests is runtimeNode.requests, emptied.
	requests opentable.Table[engine.RequestID, replier]
}

// room returns what n leaves the next run's node; n must not be used afterwards.
func (n *runtimeNode) room() runtimeRoom {
	// The run is over and its world's queue emptied: no event holds a carrier, so every one the
	// node made is spare again, emptied.
	for _, t := range n.allTimers {
		*t = engine.Timer{}
	}
	for _, r := range n.allReplies {
		r.cb, r.resp = nil, Response{}
	}
	r := runtimeRoom{node: n, core: n.core, eng: n.eng,
		replies: append(n.spareReplies[:0], n.allReplies...), timers: append(n.spareTimers[:0], n.allTimers...),
		allReplies: n.allReplies, allTimers: n.allTimers, held: n.spareHeld, openIDs: n.openIDs[:0]}
	n.requests.Clear()
	r.requests = n.requests
	if r.core == nil {
		r.core = n.spareCore
	}
	if r.eng == nil {
		r.eng = n.spareEng
	}
	return r
}

// config returns the engine's configuration. The services' specs and the bound methods are made
// once per node, not at every restart; the engine only reads them. The retry policy is the one
// declared now.
func (n *runtimeNode) config() engine.Config {
	cfg := n.cfg
	cfg.Retry = n.w.declaredRetry
	return cfg
}

// flush takes the core's Ready for the step just made and applies its batch, then commits at
// once when nothing waits for a sync (its effects leave now), or makes sure a sync is coming.
func (n *runtimeNode) flush() {
	problems := n.eng.TakeReadProblems()
	if len(problems) > 0 && !n.store.Failed() {
		// The simulated disk corrupts nothing, so a record the engine cannot read is one it
		// wrote wrong. (A store whose sync failed refuses reads until the crash that follows:
		// a planted bug that goes on after the failure meets that, not the engine.)
		for _, p := range problems {
			n.w.recoveryErrors = append(n.w.recoveryErrors, fmt.Errorf("the engine could not read %q: %s", p.Key, p.Problem))
		}
	}
	waiting := n.core.Waiting()
	ok, batch := n.core.Take()
	if !ok {
		return
	}
	if batch && n.crashAt == boundaryBeforeBatch {
		n.w.crashRuntime()
		return
	}
	if err := n.core.Apply(); err != nil {
		n.storeFailed(err)
		return
	}
	if batch && n.crashAt == boundaryBeforeSync {
		n.w.crashRuntime()
		return
	}
	if !batch && !waiting {
		// Nothing to make durable and nothing before it: the effects leave at once. A group
		// without a batch syncs nothing, so this cannot fail.
		if err := n.core.Commit(); err != nil {
			n.storeFailed(err)
		}
		return
	}
	if !n.syncScheduled {
		n.syncScheduled = true
		d := time.Duration(0)
		if !n.w.healed {
			d = n.w.faultRand.Duration(0, n.w.plan.SyncDelayMax, "sync-delay")
		}
		// Written into its queue slot (add), not built on the stack first and copied (push):
		// an event is some 400 bytes, its message included.
		s := n.w.queue.add(n.w.now + d)
		s.kind, s.gen = evSync, n.gen
	}
}

// storeFailed crashes the node after the core's store failed. As the production host does on a
// store error: a store whose sync failed may have lost what it covered, so nothing waiting for
// it is acknowledged, and the process restarts from what is on disk. The crash keeps a prefix of
// the batches the failed sync covered, or none.
func (n *runtimeNode) storeFailed(err error) {
	switch {
	case errors.Is(err, mem.ErrFailed):
		// A call after a failed sync: only a driver that went on after that failure meets it.
		n.crashWhy = "its store had failed; "
	case errors.Is(err, mem.ErrSyncFailed):
		n.w.cover(CoverSyncFailed)
		n.crashWhy = "its store's sync failed; "
	default:
		panic(fmt.Sprintf("sim: mem store: %v", err))
	}
	n.w.crashRuntime()
}

// syncDone completes the sync of the core's group: the group's notes become facts (Durable),
// and its effects leave in a later event.
func (n *runtimeNode) syncDone(gen uint64) {
	if gen != n.gen || !n.up {
		return
	}
	if !n.w.healed && n.w.faultRand.Percent(n.w.plan.SyncFailPercent, "sync-fail") && n.core.UnsyncedBatches() > 0 {
		n.store.FailNextSync()
	}
	if err := n.core.Sync(); err != nil {
		n.storeFailed(err)
		return
	}
	n.syncScheduled = false
	// What the sync made durable leaves in a later event, so that a crash can fall between the
	// sync and the sends: durable state whose acknowledgements were never sent.
	d := time.Duration(0)
	if !n.w.healed {
		d = n.w.faultRand.Duration(0, n.w.plan.SyncDelayMax/2, "send-delay")
	}
	s := n.w.queue.add(n.w.now + d) // into its slot, as flush queues evSync
	s.kind, s.gen = evRelease, n.gen
}

// releasing reports whether effects of a completed sync wait for their release.
func (n *runtimeNode) releasing() bool { return n.up && n.core.Synced() > 0 }

// releaseDue performs everything a completed sync made durable.
func (n *runtimeNode) releaseDue(gen uint64) {
	if gen != n.gen || !n.up {
		return
	}
	releasing := n.core.Synced() > 0
	if n.crashAt == boundaryBeforeSends && releasing {
		n.w.crashRuntime()
		return
	}
	n.core.Perform()
	if n.crashAt == boundaryAfterSends && releasing {
		n.w.crashRuntime()
	}
}

// boundary is a durable boundary of the runtime node at which a crash can be aimed.
type boundary uint8

const (
	boundaryNone        boundary = iota
	boundaryBeforeBatch          // the engine produced a batch, the store has not applied it
	boundaryBeforeSync           // the batch is applied, not synced
	boundaryBeforeSends          // the sync is done, its effects not sent
	boundaryAfterSends           // the effects were just sent
)

// Send sends a message the core performs to the executor (host.Effects).
func (n *runtimeNode) Send(m *protocol.Message) { n.w.sendToExecutor(m) }

// Arm arms an engine timer the core performs as an event (host.Effects). The engine's deadline
// is on its own clock; the timer goes off when that clock reaches it, judged now (a later step
// of the clock makes it early or late: the engine re-arms one that arrives early).
func (n *runtimeNode) Arm(t engine.Timer) {
	var spec *engine.Timer
	if k := len(n.spareTimers); k > 0 {
		spec = n.spareTimers[k-1]
		n.spareTimers = n.spareTimers[:k-1]
	} else {
		spec = new(engine.Timer)
		n.allTimers = append(n.allTimers, spec)
	}
	*spec = t
	s := n.w.queue.add(max(n.w.now, t.Deadline.Sub(Epoch)-n.clockOffset)) // into its slot, as flush queues evSync
	s.kind, s.gen, s.timerSpec = evEngineTimer, n.gen, spec
}

// Durable records the notes of a Ready the core's sync made durable (host.Effects): they are
// facts from now on.
func (n *runtimeNode) Durable(r *engine.Ready) { n.recordNotes(r.Notes) }

// answer is a reply the core performs to request id: it travels back over the link.
func (n *runtimeNode) answer(id engine.RequestID, r ingress.Response) {
	cb, ok := n.requests.Take(id)
	if !ok {
		return
	}
	n.replyAfter(n.w.linkDelay(), cb, Response{Response: r})
}

// replyAfter calls cb with resp after d, as World.After(d, func() { cb(resp) }) does, without a
// closure per reply: the event runs a replyEvent's fire, bound when the carrier was made, and
// the carrier is reused once its event has run.
func (n *runtimeNode) replyAfter(d time.Duration, cb replier, resp Response) {
	var r *replyEvent
	if k := len(n.spareReplies); k > 0 {
		r = n.spareReplies[k-1]
		n.spareReplies = n.spareReplies[:k-1]
	} else {
		r = &replyEvent{n: n}
		r.fire = r.deliver
		n.allReplies = append(n.allReplies, r)
	}
	r.cb, r.resp = cb, resp
	n.w.After(d, r.fire)
}

// replyEvent carries one response to its callback (replyAfter).
type replyEvent struct {
	n    *runtimeNode
	cb   replier
	resp Response
	// fire is deliver, bound once.
	fire func()
}

// deliver hands the response to the callback. The carrier is emptied and spare before the
// callback runs, so that it keeps nothing of this reply, and whatever the callback sends next
// may use it.
func (r *replyEvent) deliver() {
	cb, resp := r.cb, r.resp
	r.cb, r.resp = nil, Response{}
	r.n.spareReplies = append(r.n.spareReplies, r)
	cb.reply(resp)
}

// replier takes the runtime's answer to a request: the client's exchange, held by the node
// while the request is open, so that no callback is made per request.
type replier interface {
	reply(Response)
}

// noteEvents maps the engine's note kinds to history event kinds: an array indexed by the note
// kind, read for every note; zero (no event kind) for a note kind it does not know.
var noteEvents = [...]checkers.EventKind{
	engine.NoteCompletionAccepted: checkers.CompletionAccepted,
	engine.NoteCompletionDropped:  checkers.CompletionDropped,
	engine.NoteInvocationDone:     checkers.InvocationDone,
	engine.NoteInvocationAccepted: checkers.InvocationAccepted,
	engine.NoteLockAcquired:       checkers.LockAcquired,
	engine.NoteLockReleased:       checkers.LockReleased,
	engine.NoteTimerArmed:         checkers.TimerArmed,
	engine.NoteTimerFired:         checkers.TimerFired,
	engine.NotePromiseCompleted:   checkers.PromiseCompleted,
	engine.NotePurged:             checkers.Purged,
	engine.NoteCompletionBuffered: checkers.CompletionBuffered,
}

func (n *runtimeNode) recordNotes(notes []engine.Note) {
	for i := range notes {
		note := &notes[i] // a note is some 300 bytes: read in place, not copied per note
		var kind checkers.EventKind
		if int(note.Kind) < len(noteEvents) {
			kind = noteEvents[note.Kind]
		}
		if kind == 0 {
			panic(fmt.Sprintf("sim: engine note kind %d has no history event", note.Kind))
		}
		// Filled in place in the history (World.newEvent) rather than built apart and copied in
		// by Record: an event is over 400 bytes. Record's rule holds: a note's clock stamps the
		// event unless it is absent or the epoch itself (an offset of 0), when now does.
		e := n.w.newEvent(kind, "runtime")
		e.Invocation, e.Index, e.Awakeable = note.Invocation, note.Index, note.Awakeable
		e.Result, e.Reason, e.Journal, e.Service, e.Handler = note.Result, note.Reason, note.Journal, note.Service, note.Handler
		e.Key, e.Promise, e.Seq, e.IdempotencyKey = note.Key, note.Promise, note.Seq, note.IdempotencyKey
		if !note.Clock.IsZero() {
			if c := note.Clock.Sub(Epoch); c != 0 {
				e.Clock = c
			}
		}
		typeNote(e, note)
		if !note.Timer.Deadline.IsZero() {
			e.Deadline = note.Timer.Deadline.Sub(Epoch)
			if e.Invocation.IsZero() {
				e.Invocation = note.Timer.Invocation
			}
			if note.Kind == engine.NoteTimerArmed || note.Kind == engine.NoteTimerFired {
				e.Index = note.Timer.Index
			}
		}
	}
}

// timerDue is the event of an engine timer Arm armed; its carrier t is spare from here on.
func (n *runtimeNode) timerDue(gen uint64, t *engine.Timer) {
	timer := *t
	*t = engine.Timer{}
	n.spareTimers = append(n.spareTimers, t)
	if gen != n.gen || !n.up {
		n.w.cover(CoverTimerDuringCrash)
		return
	}
	n.core.FireTimer(timer)
	n.flush()
}

// deliver hands m, read in its queue slot (World.deliverToRuntime), to the core.
func (n *runtimeNode) deliver(m *protocol.Message) {
	if !n.up {
		return // the connection is gone; the new engine restarts attempts itself
	}
	e := n.w.newEvent(checkers.MessageDelivered, "runtime") // filled in place (World.newEvent)
	e.Invocation, e.Attempt, e.Index, e.Message, e.Reason = m.Invocation, m.Attempt, m.Index, m.Kind, m.Kind.String()
	n.core.ReceiveMessage(m)
	n.flush()
}

// request is an HTTP request arriving at the runtime's ingress.
func (n *runtimeNode) request(reqNo uint64, req ingress.Request, cb replier) {
	if n.up && n.pause.active(n.w.now) {
		n.holdRequest(reqNo, req, cb)
		return
	}
	if !n.up {
		n.replyAfter(n.w.linkDelay(), cb, Response{Err: errRefused})
		return
	}
	// The simulator's own fact: this request reached the runtime now, after every earlier one.
	n.w.newEvent(checkers.RequestDelivered, "runtime").Request = reqNo
	n.w.nextRequest++
	id := engine.RequestID(n.w.nextRequest)
	n.requests.Put(id, cb)
	n.core.Ingress(id, req, nil) // answered through n.answerFn
	n.flush()
}

// holdRequest holds a request that reached the paused node until the pause ends: its event
// runs a heldRequest's fire, bound when the carrier was made, instead of a closure per held
// request, and the carrier is reused once its event has run. The carrier takes a copy of req,
// so that req itself stays on request's stack.
func (n *runtimeNode) holdRequest(reqNo uint64, req ingress.Request, cb replier) {
	h, ok := freelist.Pop(&n.spareHeld)
	if !ok {
		h = &heldRequest{n: n}
		h.fire = h.deliver
	}
	h.reqNo, h.req, h.cb = reqNo, req, cb
	n.pause.hold(event{kind: evCall, fn: h.fire})
}

// heldRequest carries one request held by a pause to its release (holdRequest).
type heldRequest struct {
	n     *runtimeNode
	reqNo uint64
	req   ingress.Request
	cb    replier
	// fire is deliver, bound once.
	fire func()
}

// deliver makes the held request arrive now. The carrier is emptied and spare before, so that
// it keeps nothing of this request, and a request held again meanwhile may use it.
func (h *heldRequest) deliver() {
	n, reqNo, req, cb := h.n, h.reqNo, h.req, h.cb
	h.reqNo, h.req, h.cb = 0, ingress.Request{}, nil
	n.spareHeld = append(n.spareHeld, h)
	n.request(reqNo, req, cb)
}

// crash kills the runtime process: a prefix of the unsynced batches survives, every effect that
// waited for a sync is lost, every open request's connection breaks.
func (n *runtimeNode) crash() {
	if !n.up {
		return
	}
	unsynced := n.store.Unsynced()
	keep := n.w.faultRand.Intn(unsynced+1, "crash-keep")
	tear := keep > 0 && n.w.faultRand.Percent(n.w.plan.TornWritePercent, "torn-write")
	switch {
	case unsynced > 0:
		n.w.cover(CoverCrashUnsynced)
		if keep < unsynced {
			n.w.cover(CoverCrashLostWrites)
		}
	case n.core.Synced() > 0:
		n.w.cover(CoverCrashBeforeSends)
	default:
		n.w.cover(CoverCrashAfterSends)
	}
	torn := ""
	if tear {
		// The last batch that reached the disk is torn; when its checksum catches that (it
		// always does, unless the torn bytes were what was to be written), it is dropped whole.
		var detected bool
		keep, detected = n.store.CrashTearing(keep, n.w.faultRand.Intn(1<<20, "torn-at"))
		if detected {
			n.w.cover(CoverTornWriteDetected)
			torn = ", the last of them torn and dropped"
		}
	} else {
		n.store.Crash(keep)
	}
	// Notes of the batches that survive became durable facts even though their effects are lost.
	kept := 0
	for _, r := range n.core.Unsynced() {
		if len(r.Batch) > 0 {
			if kept == keep {
				break
			}
			kept++
		}
		n.recordNotes(r.Notes)
	}
	n.w.endPause(&n.pause)
	n.crashAt = boundaryNone
	n.syncScheduled = false
	n.up = false
	n.gen++
	n.eng, n.spareEng = nil, n.eng
	n.core, n.spareCore = nil, n.core
	ids := n.requests.AppendIDs(n.openIDs[:0])
	for _, id := range ids {
		cb, _ := n.requests.Take(id)
		n.replyAfter(n.w.linkDelay(), cb, Response{Err: errReset})
	}
	n.openIDs = ids[:0]
	n.w.Record(checkers.Event{Kind: checkers.NodeCrashed, Node: "runtime", Reason: crashReason(n.crashWhy, keep, unsynced, torn)})
	n.crashWhy = ""
}

// crashReason is the reason a runtime crash records: why it crashed, if not by the fault plan,
// and what survived of the unsynced batches.
func crashReason(why string, keep, unsynced int, torn string) string {
	if why == "" && torn == "" && unsynced < len(plainCrashReasons) {
		return plainCrashReasons[unsynced][keep]
	}
	// Joined rather than formatted (fmt.Sprintf, "%skept %d of %d unsynced batches%s"): the
	// same text for a fraction of the work.
	return why + "kept " + strconv.Itoa(keep) + " of " + strconv.Itoa(unsynced) + " unsynced batches" + torn
}

// plainCrashReasons[unsynced][keep] is crashReason's text for a crash of the fault plan, none
// torn, made once: nearly every crash is one, and spelling it each time cost a string each.
var plainCrashReasons = func() (t [8][8]string) {
	for unsynced := range t {
		for keep := 0; keep <= unsynced; keep++ {
			t[unsynced][keep] = "kept " + strconv.Itoa(keep) + " of " + strconv.Itoa(unsynced) + " unsynced batches"
		}
	}
	return t
}()

func (n *runtimeNode) restartIfDown() {
	if n.up {
		return
	}
	// Over the crashed engine: the recovered one keeps its maps' and buffers' room. Should
	// recovery fail, it stays the spare, for the next try.
	eng, err := engine.RecoverOver(n.config(), n.spareEng)
	if err == nil && len(eng.Problems()) > 0 {
		// The simulated disk loses only what the store contract allows, so a record recovery
		// has to set aside means the engine wrote what it cannot read back.
		err = fmt.Errorf("recovery set aside %d records, first %q: %s", len(eng.Problems()), eng.Problems()[0].Key, eng.Problems()[0].Problem)
	}
	if err != nil {
		n.w.Record(checkers.Event{Kind: checkers.NodeRestarted, Node: "runtime", Reason: "recovery failed: " + err.Error()})
		n.w.recoveryErrors = append(n.w.recoveryErrors, err)
		return
	}
	n.spareEng = nil
	n.start(eng)
	n.w.Record(checkers.Event{Kind: checkers.NodeRestarted, Node: "runtime"})
	n.flush()
}

// executorNode is the simulated executor process.
type executorNode struct {
	w   *World
	up  bool
	gen uint64
	// pause is the node's pause: while it lasts, what is due for the node waits in order.
	pause pause
	ex    *executor.Executor
	clock *virtualClock
	// clockRoom holds clock: the node and its clock are one allocation per run.
	clockRoom virtualClock
	// services is the handler code the executor runs: nil for the declared services, a
	// deployment's after World.Deploy.
	services []*durable.Service
	// cfg is the executor's configuration but its services, made once: every restart after a
	// crash would otherwise make its closures again.
	cfg executor.Config
	// spare keeps a crashed executor's workers and tables for the next one (World.close hands
	// its workers, which hold no attempt, on to the next runs: executor.StopKeptWorkers).
	spare executor.Spare
}

// newExecutorNode returns the executor node of w, made in room when room is the node of the
// world's earlier run (executorNode.room), whose configuration it keeps: its funcs are bound to
// w and the node, the same as a new node's would be, and hold nothing of a run.
func newExecutorNode(w *World, room *executorNode) *executorNode {
	n := room
	if n == nil || n.w != w {
		n = &executorNode{w: w}
		n.cfg = executor.Config{
			Send:              w.sendToEngine,
			Clock:             &n.clockRoom,
			InactivityTimeout: n.inactivityTimeout,
			Observer:          observer{w: w},
			Reached:           w.cover,
			Buggify:           w.buggify,
			Spare:             &n.spare,
		}
	}
	n.clockRoom = virtualClock{w: w, executor: n}
	n.clock = &n.clockRoom
	n.start()
	return n
}

// room returns the node emptied of its run, for the world's next run (newExecutorNode): all but
// its world, configuration and Spare are zero, its pause's buffer taken apart (recycle), and its
// Spare stopped (World.close), which leaves in it only an executor's zeroed memory, so nothing
// of the run is left in it.
func (n *executorNode) room() *executorNode {
	*n = executorNode{w: n.w, cfg: n.cfg, spare: n.spare}
	return n
}

// inactivityTimeout draws how long a parked attempt waits before it suspends: zero (at once)
// as often as the fault plan says, otherwise up to its bound.
func (n *executorNode) inactivityTimeout() time.Duration {
	if n.w.executorRand.Percent(n.w.plan.SuspendAtOncePercent, "suspend-at-once") {
		return 0
	}
	return n.w.executorRand.Duration(0, n.w.plan.InactivityMax, "inactivity")
}

func (n *executorNode) start() {
	n.up = true
	cfg := n.cfg
	cfg.Services = n.deployed()
	n.ex = executor.New(cfg)
}

func (n *executorNode) deliver(m protocol.Message) {
	if !n.up {
		if m.Kind == protocol.KindStart {
			// Connection refused: the engine learns the attempt never began.
			n.w.connectionLost(protocol.Message{Kind: protocol.KindError, Invocation: m.Invocation, Attempt: m.Attempt, Retryable: true, Message: "executor unavailable"})
		}
		return
	}
	e := n.w.newEvent(checkers.MessageDelivered, "executor") // filled in place (World.newEvent)
	e.Invocation, e.Attempt, e.Index, e.Message, e.Reason = m.Invocation, m.Attempt, m.Index, m.Kind, m.Kind.String()
	n.ex.Deliver(m)
}

func (n *executorNode) timerDue(ev *event) {
	if ev.gen != n.gen || !n.up {
		return
	}
	ev.target.TimerFired(ev.srcGen)
}

func (n *executorNode) crash() {
	if !n.up {
		return
	}
	lost := n.ex.Crash()
	n.w.endPause(&n.pause)
	if len(lost) > 0 {
		n.w.cover(CoverExecutorCrashAttempt)
	}
	n.up = false
	n.gen++
	n.ex = nil
	// The engine sees each attempt's connection break.
	for _, m := range lost {
		n.w.connectionLost(m)
	}
	n.w.Record(checkers.Event{Kind: checkers.NodeCrashed, Node: "executor", Reason: abortedReason(len(lost))})
}

// abortedReason is the reason an executor crash that aborted n attempts records: "aborted n
// attempts", as fmt.Sprintf("aborted %d attempts", n) spells it, taken from a table made once
// for the usual few (every seed crashes its executor several times, and spelling it each time
// cost a string each).
func abortedReason(n int) string {
	if n < len(abortedReasons) {
		return abortedReasons[n]
	}
	return "aborted " + strconv.Itoa(n) + " attempts"
}

// abortedReasons[n] is abortedReason(n) for small n.
var abortedReasons = func() (t [16]string) {
	for n := range t {
		t[n] = "aborted " + strconv.Itoa(n) + " attempts"
	}
	return t
}()

func (n *executorNode) restartIfDown() {
	if n.up {
		return
	}
	n.start()
	n.w.Record(checkers.Event{Kind: checkers.NodeRestarted, Node: "executor"})
}

// virtualClock reads virtual time; for the executor it also arms inactivity timers as events.
type virtualClock struct {
	w        *World
	executor *executorNode
	// runtime, when set, is the node whose wall-clock offset Now adds.
	runtime *runtimeNode
}

func (c *virtualClock) Now() time.Time {
	if c.runtime != nil {
		return Epoch.Add(c.w.now + c.runtime.clockOffset)
	}
	return Epoch.Add(c.w.now)
}

func (c *virtualClock) AfterFunc(d time.Duration, f func()) fakeclock.Timer {
	t := &simTimer{fn: f}
	gen := uint64(0)
	if c.executor != nil {
		gen = c.executor.gen
	}
	c.w.queue.push(event{at: c.w.now + max(d, 0), kind: evExecutorTimer, gen: gen, target: t})
	return t
}

// CallAfter arms an executor timer as an event that carries t and gen, not a new simTimer: it
// allocates nothing (executor.CallClock). It is queued as AfterFunc queues its timers, so either
// way the timer takes the same place in the queue.
func (c *virtualClock) CallAfter(d time.Duration, t executor.TimerTarget, gen uint64) {
	s := c.w.queue.add(c.w.now + max(d, 0))
	s.kind, s.target, s.srcGen = evExecutorTimer, t, gen
	if c.executor != nil {
		s.gen = c.executor.gen
	}
}

// simTimer is a pending executor timer; stopping it makes its event a no-op.
type simTimer struct {
	fn      func()
	stopped bool
}

// TimerFired calls the timer's func unless it was stopped; gen is unused (AfterFunc has none).
func (t *simTimer) TimerFired(uint64) {
	if !t.stopped {
		t.stopped = true
		t.fn()
	}
}

func (t *simTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

// pause holds a paused node's due events until it resumes. Events are held in the order they
// fell due and released in that order when the pause ends — at its planned end, or earlier when
// the node crashes or the run heals — so that nothing due waits past the end of a pause.
type pause struct {
	until time.Duration
	held  []event
}

func (p *pause) active(now time.Duration) bool { return now < p.until }

func (p *pause) hold(ev event) { p.held = append(p.held, ev) }

// endPause ends p now and releases what it held, in order, at the current instant.
func (w *World) endPause(p *pause) {
	p.until = min(p.until, w.now)
	for _, ev := range p.held {
		ev.at = w.now
		w.queue.push(ev)
	}
	// The pause is over, so nothing is held while the events are pushed; the slice is kept
	// for the next pause.
	clear(p.held)
	p.held = p.held[:0]
}
