package sim

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/vigilsim/vigil/checkers"
	hist "github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// Epoch is the wall-clock reading of virtual time zero, a fixed date so runs are reproducible.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Workload is one scenario's instance in one world: its services, its clients, its verdict.
type Workload interface {
	// Services returns the handlers the executor runs; called once per world.
	Services() []*durable.Service
	// Start schedules the workload's first client actions.
	Start()
	// Check judges the finished run against the scenario's expected outcome.
	Check(h *checkers.History) []checkers.Violation
}

// Scenario is a named workload factory.
type Scenario struct {
	// Name is how simrun and reports call it.
	Name string
	// Description says in one line what it exercises.
	Description string
	// New builds the workload for one world. It may keep w to schedule client actions.
	New func(w *World) Workload
}

// Options configures one run.
type Options struct {
	// Seed derives every random choice unless Source is set.
	Seed uint64
	// Source, if set, replaces the seeded PCG streams (for rapid).
	Source Source
	// Record, if set, receives every draw of the run, in order: a choice tape that Tape.Replay
	// feeds back bit for bit (see Tape).
	Record *Tape
	// Plan, if set, replaces the fault plan drawn from the seed.
	Plan *faults.Plan
	// Faults is the intensity the plan is drawn at when Plan is not set (default faults.LevelDefault,
	// the whole swarm, with exactly the draws of faults.Draw, so runs that never choose keep their
	// trace hashes).
	Faults faults.Level
	// SafetyBudget is the virtual time during which faults are injected (default 60 s).
	SafetyBudget time.Duration
	// LivenessBudget is the virtual time after healing within which every invocation must finish
	// (default 10 minutes).
	LivenessBudget time.Duration
	// KeepHistory keeps the full history in the Result (always kept when there are violations).
	KeepHistory bool
	// MaxEvents caps the events of one run (default DefaultMaxEvents). A run that reaches it
	// ends with a PropertyBound violation: something keeps scheduling work forever.
	MaxEvents int
	// MaxEventsPerInstant caps the events run at one virtual instant (default
	// DefaultMaxEventsPerInstant). A run that reaches it ends with a PropertyBound violation: a
	// livelock that never lets virtual time advance would otherwise spin until MaxEvents.
	MaxEventsPerInstant int
	// Interrupt, if set, is asked before every event and once before the checkers run whether
	// the run must stop; a non-nil error stops it with a PropertyBound violation that quotes the
	// error, the run is not judged further, and Result.Cut is BoundInterrupted. It is how a driver imposes a wall-clock limit
	// without the simulator reading the wall clock. Such a cut depends on more than the seed and
	// does not reproduce; every run it does not stop is unchanged by it.
	Interrupt func(Progress) error
}

// The default phase budgets of a run (see Options).
const (
	DefaultSafetyBudget   = 60 * time.Second
	DefaultLivenessBudget = 10 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.SafetyBudget <= 0 {
		o.SafetyBudget = DefaultSafetyBudget
	}
	if o.LivenessBudget <= 0 {
		o.LivenessBudget = DefaultLivenessBudget
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxEventsPerInstant <= 0 {
		o.MaxEventsPerInstant = DefaultMaxEventsPerInstant
	}
	return o
}

// World is one simulated run: the nodes, the links between them, the clients, the history.
// It is valid during its run: once RunSeed has returned the Result, the world may be emptied
// and reused for another run (unless the Result keeps its history), so a workload must not use
// it afterwards.
type World struct {
	opts     Options
	plan     faults.Plan
	now      time.Duration
	queue    eventQueue
	healed   bool
	history  checkers.History
	services []*durable.Service

	netRand      Rand
	faultRand    Rand
	executorRand Rand
	workloadRand Rand
	idRand       Rand

	runtime  *runtimeNode
	executor *executorNode
	workload Workload

	nextRequest uint64
	requests    uint64
	twin        twinState
	// link is the link log (link.go), releases the number of the runtime node's last release.
	link       checkers.Link
	releases   uint64
	violations []checkers.Violation
	// covered counts the points reached (cover), until the Result takes them as coverage.
	covered      []coverCount
	coverage     map[Point]uint64
	coverTaken   bool
	idCounter    uint64
	serviceKinds ingress.ServiceKinds
	// declared are the services as the scenario declared them, for the checkers' own reading of
	// client requests (checkers.ParseClientRequest).
	declared map[string]*protocol.ServiceSpec
	// specs and runtimeDecl are where declare keeps the declarations its events point to: kept
	// by the recycled world for its next run, rather than an allocation of each per run (the
	// history that points at them is not kept past recycling either).
	specs       []protocol.ServiceSpec
	runtimeDecl *hist.Runtime
	// declaredRetry is the engine's retry policy as the scenario declared it (DeclareRetry; zero
	// fields take the engine's defaults), recorded as RuntimeDeclared for the checkers.
	declaredRetry  engine.RetryPolicy
	events         uint64
	recoveryErrors []error

	// instant is the virtual time of the last event run, eventsAtInstant how many events ran at
	// it, busiestInstant the most that ran at any one instant (see MaxEventsPerInstant).
	instant         time.Duration
	eventsAtInstant int
	busiestInstant  int
	recent          recentEvents
	// cut is the bound that ended the run early, and cutViolation its verdict.
	cut          Bound
	cutViolation checkers.Violation

	// auditRows holds the store's keys for the end-of-run audit (storage.go).
	auditRows []checkers.Row
	judges    *judges // the checkers' kept state, taken for the run (judge.go)

	// spare is set only on a world in the pool: the buffers its next run reuses (recycle).
	spare spare
	// streams are the run's seeded PCG streams (reused by the next run, see spare).
	streams pcgSources

	// client is the room the client path takes its exchanges and texts from (client.go).
	client clientRoom
}

// newWorld builds the world of one run on a pooled world (see worlds), or a new one.
func newWorld(sc Scenario, opts Options) *World {
	w, _ := worlds.Get().(*World)
	return newWorldOn(w, sc, opts)
}

// newWorldOn builds the world of one run on w, a world recycle emptied, or a new one when w is
// nil: only the emptied buffers carry over, every other field starts at its zero value as in a
// world made from nothing.
func newWorldOn(w *World, sc Scenario, opts Options) *World {
	opts = opts.withDefaults()
	if opts.Record != nil {
		opts.Record.begin(sc.Name, opts)
	}
	if w == nil {
		w = &World{}
	}
	stream := func(purpose string) Rand {
		if opts.Source != nil {
			return Rand{recordingStream(opts.Source, opts.Record)}
		}
		return Rand{recordingStream(w.streams.next(opts.Seed, purpose), opts.Record)}
	}
	sp := w.spare
	*w = World{
		streams:   pcgSources{all: sp.streams},
		history:   checkers.History{Events: sp.events},
		queue:     sp.queue,
		link:      sp.link,
		auditRows: sp.auditRows,
		covered:   sp.covered,
		// Emptied by recycle, or nil: filled below (declare).
		serviceKinds: sp.serviceKinds,
		declared:     sp.declared,
		specs:        sp.specs,
		runtimeDecl:  sp.runtimeDecl,
		twin:         sp.twin,
		client:       sp.client,
		opts:         opts,
	}
	// The streams are made once the world is in place: a PCG stream comes from w.streams.
	w.netRand = stream("net")
	w.faultRand = stream("faults")
	w.executorRand = stream("executor")
	w.workloadRand = stream("workload")
	w.idRand = stream("ids")
	if opts.Plan != nil {
		w.plan = *opts.Plan
	} else {
		w.plan = faults.DrawLevel(opts.Faults, stream("plan"))
	}
	if w.plan.ShuffleTies {
		// A stream of its own, seeded by one draw, so that rapid does not record a draw per event.
		w.queue.ties = w.streams.next(w.faultRand.Draw(^uint64(0), "tie-seed"), "ties")
	}
	w.workload = sc.New(w)
	w.services = w.workload.Services()
	if w.serviceKinds == nil {
		w.serviceKinds = ingress.ServiceKinds{}
	}
	for _, s := range w.services {
		w.serviceKinds[s.Name()] = ingress.KindOf(s.Kind())
	}
	w.declare()
	w.runtime = newRuntimeNode(w, sp.store, sp.runtimeRoom)
	w.executor = newExecutorNode(w, sp.executorNode)
	w.runtime.pause.held, w.executor.pause.held = sp.runtimeHeld, sp.executorHeld
	return w
}

// worlds holds the worlds of finished runs for the next run to reuse. A run grows an event queue,
// a history, a link log, a store and a few maps; growing them afresh for every seed of a campaign
// was a large share of what the simulator allocated. A world in the pool holds only those
// buffers, emptied (recycle), so nothing of one run can reach the next; the capacity a run starts
// with changes nothing it records.
var worlds sync.Pool

// spare is what a recycled world keeps for its next run: buffers emptied of everything the
// finished run put in them (cleared, so they point at nothing of it), with their capacity.
type spare struct {
	queue     eventQueue
	events    []checkers.Event
	link      checkers.Link
	store     *mem.Store
	auditRows []checkers.Row
	covered   []coverCount
	// serviceKinds and declared are the world's maps of the services, emptied: nothing keeps
	// them past the run (the judge's readings let go of declared at their Reset).
	serviceKinds ingress.ServiceKinds
	declared     map[string]*protocol.ServiceSpec
	// specs and runtimeDecl are the world's declarations (see World), the specs emptied.
	specs       []protocol.ServiceSpec
	runtimeDecl *hist.Runtime
	// runtimeHeld and executorHeld are the nodes' pause buffers (pause.held).
	runtimeHeld, executorHeld []event
	// executorNode is the executor node, emptied (executorNode.room).
	executorNode *executorNode
	// streams are the PCG streams, seeded afresh for each run.
	streams []*pcgSource
	// runtimeRoom is the runtime node's core, engine and carriers, for their room.
	runtimeRoom runtimeRoom
	// twin is the replay twin's buffers and reader (twinState.emptied).
	twin twinState
	// client is the client path's room, its exchanges emptied (clientRoom.emptied).
	client clientRoom
}

// recycle empties the finished world for a next run (newWorldOn); a world whose history a
// Result keeps is never recycled (runOn). The world must not be used after it: a caller that
// keeps a *World past its run (a workload's pointer) sees a blank world, and then another run's.
func (w *World) recycle() {
	sp := spare{queue: emptyQueue(w.queue), streams: w.streams.all, twin: w.twin.emptied(), client: w.client.emptied()}
	// The events are cleared, every slot this run used: past its length the history's array is
	// all zero, so that newEvent takes its next slot as it is instead of writing a zero event
	// into it (one clear of the whole array costs a third of an event's zeroing at a time).
	clear(w.history.Events)
	sp.events = w.history.Events[:0]
	clear(w.link)
	sp.link = w.link[:0]
	clear(w.auditRows)
	sp.auditRows = w.auditRows[:0]
	clear(w.covered)
	sp.covered = w.covered[:0]
	clear(w.serviceKinds)
	clear(w.declared)
	sp.serviceKinds, sp.declared = w.serviceKinds, w.declared
	clear(w.specs)
	sp.specs, sp.runtimeDecl = w.specs[:0], w.runtimeDecl
	if n := w.runtime; n != nil {
		sp.runtimeHeld = emptyHeld(n.pause.held)
		n.store.Reset()
		sp.store = n.store
		sp.runtimeRoom = n.room()
	}
	if n := w.executor; n != nil {
		sp.executorHeld = emptyHeld(n.pause.held)
		sp.executorNode = n.room()
	}
	*w = World{spare: sp}
}

// emptyHeld empties a pause's buffer (a run can end mid-pause), keeping its array.
func emptyHeld(held []event) []event {
	clear(held)
	return held[:0]
}

// emptyQueue returns q emptied, its slices kept: the events left in it (a run ends with timers
// still armed) are cleared so their closures and messages are not kept alive, and the push
// counter starts again at zero, as the trace hash needs (ties are drawn afresh per run).
func emptyQueue(q eventQueue) eventQueue {
	clear(q.slots)
	return eventQueue{keys: q.keys[:0], slots: q.slots[:0], free: q.free[:0]}
}

// Now returns the virtual time since the start of the run.
func (w *World) Now() time.Duration { return w.now }

// Rand returns the workload's random stream: client actors draw their choices from it.
func (w *World) Rand() Rand { return w.workloadRand }

// Plan returns the run's fault plan.
func (w *World) Plan() faults.Plan { return w.plan }

// DeclareRetry declares the retry policy the runtime's engine runs with (zero fields: the
// engine's defaults). A scenario calls it from Scenario.New, before the runtime exists; the
// history records it (RuntimeDeclared), and the checkers judge retries against it, not against
// what the engine says it armed.
func (w *World) DeclareRetry(p engine.RetryPolicy) { w.declaredRetry = p }

// Healed reports whether the safety phase is over: faults are off and clients should finish up.
func (w *World) Healed() bool { return w.healed }

// After runs fn once virtual time has advanced by d.
func (w *World) After(d time.Duration, fn func()) {
	s := w.queue.add(w.now + max(d, 0))
	s.kind, s.fn = evCall, fn
}

// Caller is what AfterCall calls: a long-lived object whose Call does what a closure given to
// After would, with its data in its fields.
type Caller interface {
	// Call runs when the event falls due.
	Call()
}

// AfterCall calls c.Call() once virtual time has advanced by d. It is After for a caller that
// can hand over a long-lived object rather than bind a closure for each event (an allocation);
// the event takes the place in the queue After's would.
func (w *World) AfterCall(d time.Duration, c Caller) {
	s := w.queue.add(w.now + max(d, 0))
	s.kind, s.call = evCall, c
}

// Record appends an event to the history, stamped with the current virtual time, and returns its
// index, for a violation to point at.
func (w *World) Record(e checkers.Event) int {
	e.At = w.now
	if e.Clock == 0 {
		e.Clock = w.now
	}
	w.history.Events = append(w.history.Events, e)
	return len(w.history.Events) - 1
}

// newEvent appends an event of kind by node to the history, stamped with the current virtual
// time as Record stamps one, and returns it for the caller to fill in at once, before anything
// else records: Record without the event built apart first. An event is over 400 bytes, and
// copying one into the history cost more than the rest of recording it; on the executor's side,
// which records from the handler's coroutine, an event on the stack also makes the frame that
// much larger, and the coroutine's small stack grows by copying.
//
// The slot past the history's end is zero already while there is room (the array is cleared
// when the world is recycled, a grown array is zero past what it copied, and every event
// appended is written whole), so the event is not zeroed again.
func (w *World) newEvent(kind checkers.EventKind, node string) *checkers.Event {
	evs := w.history.Events
	if n := len(evs); n < cap(evs) {
		evs = evs[:n+1]
	} else {
		evs = append(evs, checkers.Event{})
	}
	w.history.Events = evs
	e := &evs[len(evs)-1]
	e.At, e.Clock, e.Kind, e.Node = w.now, w.now, kind, node
	return e
}

// afterKind queues an event of kind, which needs no payload, once virtual time has advanced by d.
func (w *World) afterKind(d time.Duration, kind eventKind) {
	w.queue.add(w.now + max(d, 0)).kind = kind
}

// linkDelay draws the delay of one message or HTTP leg: uniform up to the plan's maximum, with
// a long tail, rounded up to the plan's time quantum so that bursts fall due together.
func (w *World) linkDelay() time.Duration {
	if w.healed {
		return w.netRand.Duration(0, min(w.plan.LinkDelayMax, time.Millisecond), "delay")
	}
	d := w.netRand.Duration(0, w.plan.LinkDelayMax, "delay")
	if w.netRand.Percent(w.plan.LongTailPercent, "long-tail") {
		d += w.netRand.Duration(0, 20*w.plan.LinkDelayMax, "long-tail-delay")
	}
	if q := w.plan.TimeQuantum; q > 0 {
		d = (d + q - 1) / q * q
	}
	return d
}

// linkFault draws what happens to one engine<->executor message: delivered, delivered twice,
// or lost (which breaks the attempt's connection).
func (w *World) linkFault() (copies int, lost bool) {
	if w.healed {
		return 1, false
	}
	if w.netRand.Percent(w.plan.LinkLossPercent, "link-loss") {
		w.cover(CoverLinkLoss)
		return 0, true
	}
	if w.netRand.Percent(w.plan.DuplicatePercent, "duplicate") {
		w.cover(CoverDuplicateMessage)
		return 2, false
	}
	return 1, false
}

// breakAttempt models a broken engine<->executor stream: the executor abandons the attempt and
// the runtime sees it fail.
func (w *World) breakAttempt(inv protocol.InvocationID, attempt uint32) {
	w.queue.pushMessage(w.now+w.linkDelay(), evToExecutor, &protocol.Message{Kind: protocol.KindAbort, Invocation: inv, Attempt: attempt}, w.runtime.gen, w.executor.gen)
	w.connectionLost(protocol.Message{Kind: protocol.KindError, Invocation: inv, Attempt: attempt, Retryable: true, Message: "attempt stream broken"})
}

// sendToEngine puts a message from the executor on the link to the runtime. Like the stream of
// a real connection, it is lost if either end crashes before it arrives. It runs on the
// handler's coroutine, so it keeps its frame small and hands the message on by pointer (see
// pushMessage).
func (w *World) sendToEngine(m protocol.Message) {
	w.send(&m, "executor", evToEngine, w.executor.gen, w.runtime.gen)
}

// connectionLost tells the runtime, after the network's delay, that the connection of an attempt
// broke (the executor crashed, or refused the start). Unlike a message it needs no live sender.
func (w *World) connectionLost(m protocol.Message) {
	w.queue.pushMessage(w.now+w.linkDelay(), evConnectionLost, &m, 0, w.runtime.gen)
}

// sendToExecutor puts a message from the runtime on the link to the executor.
func (w *World) sendToExecutor(m *protocol.Message) {
	w.send(m, "runtime", evToExecutor, w.runtime.gen, w.executor.gen)
}

// send puts m, sent by from (of generation srcGen), on the link as deliveries of kind to a node
// of generation gen: noted in the link log, then lost, delivered once, or twice, each copy after
// its own delay.
func (w *World) send(m *protocol.Message, from string, kind eventKind, srcGen, gen uint64) {
	w.linkEvent(checkers.LinkSent, from, m)
	copies, lost := w.linkFault()
	if lost {
		w.breakAttempt(m.Invocation, m.Attempt)
	}
	for range copies {
		w.queue.pushMessage(w.now+w.linkDelay(), kind, m, srcGen, gen)
	}
}

// newInvocationID is the engine's ID source: a counter (so IDs never repeat, whatever a rapid
// source draws) followed by random bits (so IDs do not look alike and order is not creation order).
func (w *World) newInvocationID() protocol.InvocationID {
	var id protocol.InvocationID
	w.idCounter++
	binary.BigEndian.PutUint64(id[8:], w.idCounter)
	binary.BigEndian.PutUint64(id[:8], w.idRand.Draw(^uint64(0), "invocation-id"))
	return id
}

// run is the event loop: the safety phase with faults, then heal, then the liveness phase. It
// returns early when a bound cuts the run short (see step).
func (w *World) run() {
	w.scheduleCrashes()
	w.workload.Start()
	healAt := w.opts.SafetyBudget
	endAt := healAt + w.opts.LivenessBudget
	healScheduled := false
	for w.queue.Len() > 0 {
		if !healScheduled && w.queue.peekAt() >= healAt {
			healScheduled = true
			w.now = max(w.now, healAt)
			w.heal()
			continue
		}
		if w.queue.peekAt() > endAt {
			break
		}
		if !w.step() {
			return
		}
	}
	if !healScheduled {
		w.now = max(w.now, healAt)
		w.heal()
		for w.queue.Len() > 0 && w.queue.peekAt() <= endAt {
			if !w.step() {
				return
			}
		}
	}
}

// dispatch runs ev, which it takes by pointer (an event is over 400 bytes) and does not keep.
func (w *World) dispatch(ev *event) {
	// A paused node handles nothing until it resumes; what was due waits, in order.
	switch ev.kind {
	case evToEngine, evConnectionLost, evSync, evEngineTimer, evRelease:
		if w.runtime.pause.active(w.now) {
			w.runtime.pause.hold(*ev)
			return
		}
	case evToExecutor, evExecutorTimer:
		if w.executor.pause.active(w.now) {
			w.executor.pause.hold(*ev)
			return
		}
	}
	switch ev.kind {
	case evCall:
		if ev.fn != nil {
			ev.fn()
		} else {
			ev.call.Call()
		}
	case evToEngine:
		switch {
		case ev.gen != w.runtime.gen:
			// The runtime crashed since; its successor restarts the attempt.
		case ev.srcGen != w.executor.gen:
			// The executor crashed before its message arrived: the runtime sees the attempt's
			// connection break instead (an attempt that had already ended, by suspending say,
			// was not among those the crash reported).
			w.deliverToRuntime(&protocol.Message{Kind: protocol.KindError, Invocation: ev.msg.Invocation, Attempt: ev.msg.Attempt, Retryable: true, Message: "connection to the executor lost"})
		default:
			w.deliverToRuntime(&ev.msg)
		}
	case evToExecutor:
		switch {
		case ev.srcGen != w.runtime.gen:
			// The runtime crashed since it sent this; its successor restarts the attempt.
		case ev.gen != w.executor.gen:
			// The executor crashed since: the start of an attempt it never saw fails like its
			// running attempts did, or the engine would wait for that attempt forever.
			if ev.msg.Kind == protocol.KindStart {
				w.connectionLost(protocol.Message{Kind: protocol.KindError, Invocation: ev.msg.Invocation, Attempt: ev.msg.Attempt, Retryable: true, Message: "connection to the executor lost"})
			}
		default:
			w.deliverToExecutor(&ev.msg)
		}
	case evConnectionLost:
		if ev.gen == w.runtime.gen {
			w.deliverToRuntime(&ev.msg)
		}
	case evSync:
		w.runtime.syncDone(ev.gen)
	case evRelease:
		w.linkReleased(ev.gen)
		w.runtime.releaseDue(ev.gen)
	case evEngineTimer:
		w.runtime.timerDue(ev.gen, ev.timerSpec)
	case evExecutorTimer:
		w.executor.timerDue(ev)
	case evRequestArrives:
		ev.x.arrive()
	case evClientTimeout:
		ev.x.timedOut()
	case evRestartRuntime:
		w.runtime.restartIfDown()
	case evRestartExecutor:
		w.executor.restartIfDown()
	case evRuntimeCrashDue:
		w.runtimeCrashDue()
	case evExecutorCrashDue:
		w.executorCrashDue()
	case evClockStepDue:
		w.clockStepDue()
	case evPauseDue:
		w.pauseDue(ev.gen)
	case evPauseEnd:
		w.pauseEnd(ev.gen, time.Duration(ev.srcGen))
	default:
		panic(fmt.Sprintf("sim: unknown event kind %d", ev.kind))
	}
}

// heal ends the safety phase: no more faults, crashed nodes restart now, paused ones resume.
func (w *World) heal() {
	w.healed = true
	w.runtime.crashAt = boundaryNone
	w.endPause(&w.runtime.pause)
	w.endPause(&w.executor.pause)
	w.runtime.restartIfDown()
	w.executor.restartIfDown()
}

// scheduleCrashes queues the first of the plan's crashes and pauses, each of which queues the
// next while faults are on. The crashes and clock steps are event kinds of their own rather than
// closures that queue themselves (a closure and its captured self were allocations per run);
// they run, and draw, exactly as those did.
func (w *World) scheduleCrashes() {
	if d := w.plan.RuntimeCrashEvery; d > 0 {
		w.afterKind(w.faultRand.Exp(d, "runtime-crash"), evRuntimeCrashDue)
	}
	w.scheduleClockSteps()
	w.schedulePauses(pauseRuntime)
	w.schedulePauses(pauseExecutor)
	if d := w.plan.ExecutorCrashEvery; d > 0 {
		w.afterKind(w.faultRand.Exp(d, "executor-crash"), evExecutorCrashDue)
	}
}

// runtimeCrashDue strikes the runtime node (evRuntimeCrashDue) and queues its next crash.
func (w *World) runtimeCrashDue() {
	if w.healed {
		return
	}
	// Half the crashes strike at once; the others are aimed at the next durable boundary of a
	// kind drawn here, where a crash finds the most to break.
	if b := boundary(w.faultRand.Intn(8, "crash-boundary")); b <= boundaryAfterSends && b != boundaryNone && w.runtime.up {
		w.runtime.crashAt = b
	} else {
		w.crashRuntime()
	}
	w.afterKind(w.faultRand.Exp(w.plan.RuntimeCrashEvery, "runtime-crash"), evRuntimeCrashDue)
}

// executorCrashDue crashes the executor node (evExecutorCrashDue), queues its restart and its
// next crash.
func (w *World) executorCrashDue() {
	if w.healed {
		return
	}
	w.executor.crash()
	w.afterKind(w.faultRand.Duration(time.Millisecond, max(w.plan.DowntimeMax, time.Millisecond), "executor-downtime"), evRestartExecutor)
	w.afterKind(w.faultRand.Exp(w.plan.ExecutorCrashEvery, "executor-crash"), evExecutorCrashDue)
}

// scheduleClockSteps sets the runtime node's wall clock off the true time by a drawn offset and,
// while faults are on, steps it to new offsets now and then (forward jumps and backward steps).
func (w *World) scheduleClockSteps() {
	max := w.plan.ClockSkewMax
	if max <= 0 {
		return
	}
	w.runtime.clockOffset = w.faultRand.Duration(-max, max, "clock-offset")
	w.Record(checkers.Event{Kind: checkers.ClockStepped, Node: "runtime", Span: w.runtime.clockOffset, Reason: "initial offset"})
	if w.plan.ClockStepEvery <= 0 {
		return
	}
	w.afterKind(w.faultRand.Exp(w.plan.ClockStepEvery, "clock-step"), evClockStepDue)
}

// clockStepDue steps the runtime node's clock to a new offset (evClockStepDue) and queues the
// next step.
func (w *World) clockStepDue() {
	if w.healed {
		return
	}
	max := w.plan.ClockSkewMax
	from := w.runtime.clockOffset
	w.runtime.clockOffset = w.faultRand.Duration(-max, max, "clock-offset")
	// What fmt's "offset %v -> %v" writes, without fmt, in the client room's text (stepReason).
	w.Record(checkers.Event{Kind: checkers.ClockStepped, Node: "runtime", Span: w.runtime.clockOffset, Reason: w.client.stepReason(from, w.runtime.clockOffset)})
	w.afterKind(w.faultRand.Exp(w.plan.ClockStepEvery, "clock-step"), evClockStepDue)
}

// crashRuntime crashes the runtime node and restarts it after a drawn downtime.
func (w *World) crashRuntime() {
	if !w.runtime.up {
		return
	}
	w.runtime.crash()
	w.afterKind(w.faultRand.Duration(time.Millisecond, max(w.plan.DowntimeMax, time.Millisecond), "runtime-downtime"), evRestartRuntime)
}

// schedulePauses stops a node (pauseRuntime or pauseExecutor) now and then: it handles nothing
// until its pause ends. Like the crashes, the pauses and their ends are event kinds of their own
// (evPauseDue, evPauseEnd, the node in the event's gen), not closures made per run and per pause.
func (w *World) schedulePauses(node uint64) {
	if _, every := w.pauseOf(node); every > 0 {
		w.afterPause(w.faultRand.Exp(every, pauseNames[node].every), evPauseDue, node, 0)
	}
}

// The nodes a pause stops, as an event's gen names them.
const (
	pauseRuntime uint64 = iota
	pauseExecutor
)

// pauseNames are a pausing node's name and its draws' labels, by node.
var pauseNames = [...]struct{ node, pause, every string }{
	pauseRuntime:  {"runtime", "runtime-pause", "runtime-pause-every"},
	pauseExecutor: {"executor", "executor-pause", "executor-pause-every"},
}

// pauseOf returns node's pause and how often the plan pauses it.
func (w *World) pauseOf(node uint64) (*pause, time.Duration) {
	if node == pauseRuntime {
		return &w.runtime.pause, w.plan.RuntimePauseEvery
	}
	return &w.executor.pause, w.plan.ExecutorPauseEvery
}

// afterPause queues a pause event of kind for node once virtual time has advanced by d; until is
// the end of the pause an evPauseEnd ends, kept in the event's srcGen (times here are positive).
func (w *World) afterPause(d time.Duration, kind eventKind, node uint64, until time.Duration) {
	s := w.queue.add(w.now + max(d, 0))
	s.kind, s.gen, s.srcGen = kind, node, uint64(until)
}

// pauseDue pauses node (evPauseDue), queues the pause's end and the node's next pause.
func (w *World) pauseDue(node uint64) {
	if w.healed {
		return
	}
	p, every := w.pauseOf(node)
	names := &pauseNames[node]
	d := w.faultRand.Duration(time.Millisecond, max(w.plan.PauseMax, time.Millisecond), names.pause)
	p.until = max(p.until, w.now+d)
	w.afterPause(d, evPauseEnd, node, p.until)
	w.cover(CoverPause)
	w.Record(checkers.Event{Kind: checkers.NodePaused, Node: names.node, Span: d, Reason: w.client.durationReason("for ", d)})
	w.afterPause(d+w.faultRand.Exp(every, names.every), evPauseDue, node, 0)
}

// pauseEnd ends node's pause (evPauseEnd) if it is still the one that ends at until: a later
// pause that overlapped it moved the end.
func (w *World) pauseEnd(node uint64, until time.Duration) {
	if p, _ := w.pauseOf(node); p.until == until {
		w.endPause(p)
	}
}

// close ends the run: every attempt still parked is aborted so no coroutine outlives the world.
func (w *World) close() {
	if w.executor.ex != nil {
		w.executor.ex.Crash()
	}
	w.executor.spare.Stop()
}

// observer adapts the executor's observations to history events.
type observer struct{ w *World }

func (o observer) AttemptStarted(inv protocol.InvocationID, attempt uint32, j []journal.Entry) {
	e := o.w.newEvent(checkers.AttemptStarted, "executor")
	e.Invocation, e.Attempt, e.Journal = inv, attempt, j
}

func (o observer) CommandEmitted(inv protocol.InvocationID, attempt uint32, index uint32, e journal.Entry) {
	ev := o.w.newEvent(checkers.CommandEmitted, "executor")
	ev.Invocation, ev.Attempt, ev.Index, ev.Entry = inv, attempt, index, e
}

func (o observer) ValueObserved(inv protocol.InvocationID, attempt uint32, index uint32, kind journal.Kind, r journal.Result) {
	e := o.w.newEvent(checkers.ValueObserved, "executor")
	e.Invocation, e.Attempt, e.Index, e.Entry.Kind, e.Result = inv, attempt, index, kind, r
}

func (o observer) RunExecuted(inv protocol.InvocationID, attempt uint32, index uint32) {
	e := o.w.newEvent(checkers.RunExecuted, "executor")
	e.Invocation, e.Attempt, e.Index = inv, attempt, index
}

func (o observer) AttemptEnded(inv protocol.InvocationID, attempt uint32, how string) {
	e := o.w.newEvent(checkers.AttemptEnded, "executor")
	e.Invocation, e.Attempt, e.End, e.Reason = inv, attempt, hist.ParseAttemptEnd(how), how
	o.w.replayTwin(inv)
}

// declare records the services as the scenario declared them — kinds, handlers, retention and
// idempotency retention — before the runtime exists, so that the checkers judge the runtime
// against what it was told rather than against what it says it did.
func (w *World) declare() {
	if w.declared == nil {
		w.declared = map[string]*protocol.ServiceSpec{}
	}
	// The specs go in w.specs, and the pointers into it are taken once it is filled: a pointer
	// taken before an append that grows it would point into the array it left.
	for _, s := range w.services {
		w.specs = append(w.specs, s.Spec())
	}
	for i := range w.specs {
		spec := &w.specs[i]
		w.declared[spec.Name] = spec
		w.Record(checkers.Event{Kind: checkers.ServiceDeclared, Service: spec.Name, Spec: spec})
	}
	// The runtime's own configuration: the retry policy the engine is given and the inactivity
	// bound the fault plan gives the executor, as declared, zero meaning the default.
	if w.runtimeDecl == nil {
		w.runtimeDecl = new(hist.Runtime)
	}
	r := w.declaredRetry
	*w.runtimeDecl = hist.Runtime{
		RetryInitialInterval: r.InitialInterval, RetryFactor: r.Factor, RetryMaxInterval: r.MaxInterval, RetryMaxAttempts: r.MaxAttempts,
		InactivityMax: w.plan.InactivityMax, SuspendAtOncePercent: w.plan.SuspendAtOncePercent,
	}
	w.Record(checkers.Event{Kind: checkers.RuntimeDeclared, Runtime: w.runtimeDecl})
}
