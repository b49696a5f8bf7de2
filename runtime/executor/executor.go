package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/internal/freelist"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Observer receives what attempts do, for histories and tests. Every method is called on the
// driver's goroutine or the attempt's coroutine while the driver waits, never concurrently.
type Observer interface {
	AttemptStarted(inv protocol.InvocationID, attempt uint32, j []journal.Entry)
	CommandEmitted(inv protocol.InvocationID, attempt uint32, index uint32, e journal.Entry)
	ValueObserved(inv protocol.InvocationID, attempt uint32, index uint32, kind journal.Kind, r journal.Result)
	RunExecuted(inv protocol.InvocationID, attempt uint32, index uint32)
	AttemptEnded(inv protocol.InvocationID, attempt uint32, how string)
}

// Config is what an Executor is built from.
type Config struct {
	// Services are the handlers this executor can run.
	Services []*durable.Service
	// Send delivers a message to the engine. It must not call back into the executor.
	Send func(protocol.Message)
	// Clock arms the inactivity timers that suspend waiting attempts.
	Clock fakeclock.Clock
	// InactivityTimeout returns how long a parked attempt waits before it suspends; called once
	// per park. Zero suspends at once. Restate's default is one minute.
	InactivityTimeout func() time.Duration
	// Observer, if set, is told what attempts do.
	Observer Observer
	// Reached, if set, is told each time the executor passes one of its Points.
	Reached func(point string)
	// Buggify, if set, is asked at fault points of the executor whether to misbehave there now,
	// as FoundationDB's BUGGIFY does: a spurious transient failure before a durable call, or the
	// attempt dying right after a side effect ran and before its result was journaled. Production
	// leaves it nil; the simulator draws the answers from the seed.
	Buggify func(point string) bool
	// Spare, if set, keeps what a crashed executor leaves behind for the next one built with the
	// same Spare: its waiting workers and its emptied tables. The simulator, which builds an
	// executor at every restart, sets it; its owner hands the kept workers on to the executors
	// built with a Spare after it with Spare.Stop (StopKeptWorkers ends those).
	Spare *Spare
	// ReplayOnly stops every attempt when it reaches the end of its start journal, before it
	// sends a new command or executes a side effect: the attempt then ends as "replayed". The
	// simulator's replay twin uses it to re-run handlers against persisted journals.
	ReplayOnly bool
}

// Executor runs the attempts of one executor node.
type Executor struct {
	cfg Config
	// services finds a service by name when there are more than fewServices; fewer are looked
	// up in cfg.Services, which costs an executor (the simulator makes one at every restart) no
	// map.
	services map[string]*durable.Service
	// tables are the attempts by invocation, what the executor remembers of ended ones and what
	// it keeps for ones not started, and its waiting workers.
	tables
	// ending is what the attempt that ends now decided: its last message and how it ended. It
	// is decided and sent within one step of the driver, which runs one attempt's code at a
	// time, so one slot serves every attempt and keeps its 300 bytes out of each.
	ending ending
	// runErr is what the handler of the attempt that ends now returned, from its return on the
	// coroutine until the driver settles it in the same step; runName names the side effect that
	// runs now, from EnterRun to EndRun on the coroutine the driver waits for. Like ending, one
	// slot each serves every attempt and keeps the attempt (with its journal room) in a smaller
	// size class.
	runErr  error
	runName string
}

// ending is an attempt's last message and how it ended, until the driver sends it.
type ending struct {
	msg protocol.Message
	// how is the end as the Observer is told it; empty when nothing is to be sent (an
	// aborted attempt, whose aborting side reports the end).
	how string
}

// earlyMessages are the messages kept for one attempt that has not started yet.
type earlyMessages struct {
	attempt uint32
	msgs    []protocol.Message
}

// Bounds of what an executor keeps for attempts it has not seen start: a lost message there is
// healed by the engine (a suspension over a completed entry resumes at once), so the bounds
// only trade a rare extra attempt for memory.
const (
	maxEarlyInvocations = 1024
	maxEarlyMessages    = 64
)

// rememberEnded is how many ended attempts an executor remembers to refuse their stale starts.
const rememberEnded = 4096

// New returns an executor with no attempts.
func New(cfg Config) *Executor {
	if cfg.Send == nil || cfg.Clock == nil {
		panic("executor: Config.Send and Config.Clock are required")
	}
	if cfg.InactivityTimeout == nil {
		cfg.InactivityTimeout = func() time.Duration { return time.Minute }
	}
	var e *Executor
	if sp := cfg.Spare; sp != nil {
		if sp.tables.none() {
			sp.tables = takeKeptTables()
		}
		e = sp.crashed
		t := sp.tables
		*sp = Spare{}
		if e == nil {
			e = new(Executor)
		}
		// Cleared, then filled: the composite literal would be built whole (696 bytes) on the
		// stack and copied over e word by word.
		*e = Executor{}
		e.cfg, e.tables = cfg, t
	} else {
		e = &Executor{cfg: cfg}
	}
	if len(cfg.Services) > fewServices {
		e.services = make(map[string]*durable.Service, len(cfg.Services))
	}
	for i, s := range cfg.Services {
		if e.services == nil {
			if slices.ContainsFunc(cfg.Services[:i], func(o *durable.Service) bool { return o.Name() == s.Name() }) {
				panic(fmt.Sprintf("executor: two services are called %q", s.Name()))
			}
			continue
		}
		if _, dup := e.services[s.Name()]; dup {
			panic(fmt.Sprintf("executor: two services are called %q", s.Name()))
		}
		e.services[s.Name()] = s
	}
	return e
}

// fewServices is how many services an executor looks up by a scan of its configuration rather
// than in a map.
const fewServices = 8

// service returns the service called name, or nil.
func (e *Executor) service(name string) *durable.Service {
	if e.services != nil {
		return e.services[name]
	}
	for _, s := range e.cfg.Services {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// Specs describes the services of this executor for the engine, in name order.
func (e *Executor) Specs() []protocol.ServiceSpec {
	specs := make([]protocol.ServiceSpec, 0, len(e.cfg.Services))
	for _, s := range e.cfg.Services {
		specs = append(specs, s.Spec())
	}
	slices.SortFunc(specs, func(a, b protocol.ServiceSpec) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return specs
}

// Active returns the number of attempts that have started and not ended.
func (e *Executor) Active() int { return e.attempts.len() }

// Deliver hands the executor one message from the engine. Messages of stale or unknown attempts
// are dropped; repeats are harmless.
func (e *Executor) Deliver(m protocol.Message) {
	switch m.Kind {
	case protocol.KindStart:
		e.start(m)
	case protocol.KindCompletion, protocol.KindAck, protocol.KindDurable:
		a, _ := e.attempts.get(m.Invocation)
		if a != nil && a.number == m.Attempt {
			a.complete(m)
			return
		}
		if !mutant.On(mutant.DropCompletionBeforeStart) {
			e.keepEarly(m, a)
		}
	case protocol.KindAbort:
		if a, _ := e.attempts.get(m.Invocation); a != nil && a.number == m.Attempt {
			a.abort("aborted")
		}
	default:
		panic(fmt.Sprintf("executor: message %s does not go to an executor", m.Kind))
	}
}

// Crash aborts every attempt as a process crash would, in invocation order, and returns the
// attempts that were running so a transport can report their lost connections to the engine.
// It also ends the coroutines the executor keeps for later attempts: a crashed executor leaves no
// goroutine behind (one used after Crash makes new ones, which the next Crash ends), unless its
// Config.Spare keeps them for the next executor, whose owner then hands them on (Spare.Stop) to
// later ones, until StopKeptWorkers ends them.
func (e *Executor) Crash() []protocol.Message {
	ids := make([]protocol.InvocationID, 0, e.attempts.len())
	e.attempts.each(func(id protocol.InvocationID, _ *attempt) { ids = append(ids, id) })
	slices.SortFunc(ids, func(a, b protocol.InvocationID) int { return compareIDs(a, b) })
	lost := make([]protocol.Message, 0, len(ids))
	for _, id := range ids {
		a, _ := e.attempts.get(id)
		lost = append(lost, protocol.Message{Kind: protocol.KindError, Invocation: id, Attempt: a.number, Retryable: true, Message: "connection to the executor lost"})
		a.abort("crashed")
	}
	if sp := e.cfg.Spare; sp != nil {
		sp.keep(e)
	} else {
		e.stopWorkers()
	}
	return lost
}

// Spare is what crashed executors leave for the next one (Config.Spare): the coroutines of
// their waiting workers, which hold no attempt and nothing of one, their tables, emptied, the
// memory of their handlers' calls, and the crashed executor's own memory, which the next one is
// made in: a crashed executor whose Spare built another must not be used again (the simulator
// drops it at its crash). A new executor built with it is as one built without: only
// allocations are saved. The zero Spare is empty; an executor built with it takes the tables a
// stopped Spare left, if any (see keptTables).
type Spare struct {
	tables
	// crashed is the executor whose crash filled the Spare, for New to make the next one in.
	crashed *Executor
}

// keep takes the workers and tables of the crashed executor e, emptied, and e's memory for the
// next executor; until then e has no tables, so that a stray use of it reaches none of theirs.
func (sp *Spare) keep(e *Executor) {
	sp.Stop() // what an earlier crash left and no executor took
	sp.tables, e.tables = e.emptied(), tables{}
	sp.crashed = e
}

// Stop hands the kept workers, which hold no attempt, to the executors built with a Spare after
// it (a bounded few; the others it ends; StopKeptWorkers ends those kept), and leaves the
// emptied tables for the next executor built with a zero Spare (the simulator stops its
// executor's Spare at a run's end, and the next run's executor takes them). The Spare keeps
// only the memory of its crashed executor, zeroed, for the next executor built with it.
func (sp *Spare) Stop() {
	keepWorkers(sp.idle)
	sp.idle = sp.idle[:0]
	if !sp.tables.none() {
		keepTables(sp.tables)
	}
	crashed := sp.crashed
	if crashed != nil {
		*crashed = Executor{} // its configuration is the finished run's: let go of it
	}
	*sp = Spare{crashed: crashed}
}

func compareIDs(a, b protocol.InvocationID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// keepEarly keeps m, a completion, ack or Durable for an attempt of its invocation newer than
// any the executor has seen (current is the running one, or nil), until that attempt starts.
func (e *Executor) keepEarly(m protocol.Message, current *attempt) {
	if current != nil && current.number > m.Attempt {
		return // for an attempt already superseded
	}
	if last, known := e.ended.get(m.Invocation); known && m.Attempt <= last {
		return // for an attempt that already ended
	}
	b, _ := e.early.get(m.Invocation)
	if b == nil {
		if len(e.earlyOrder) >= maxEarlyInvocations {
			oldest, _ := e.early.get(e.earlyOrder[0])
			e.freeEarly(oldest)
			e.early.delete(e.earlyOrder[0])
			e.earlyOrder = e.earlyOrder[1:]
		}
		b = e.newEarly(m.Attempt)
		e.early.set(m.Invocation, b)
		e.earlyOrder = append(e.earlyOrder, m.Invocation)
	}
	switch {
	case m.Attempt < b.attempt:
		return
	case m.Attempt > b.attempt:
		b.attempt, b.msgs = m.Attempt, b.msgs[:0]
	}
	if len(b.msgs) < maxEarlyMessages {
		e.reached(PointCompletionBeforeStart)
		b.msgs = append(b.msgs, m)
	}
}

// takeEarly returns what was kept for inv, and forgets it: nil if nothing was. The caller
// uses the messages kept for its attempt, if they are for it, then frees them (freeEarly).
func (e *Executor) takeEarly(inv protocol.InvocationID) *earlyMessages {
	b, _ := e.early.get(inv)
	if b == nil {
		return nil
	}
	e.early.delete(inv)
	if i := slices.Index(e.earlyOrder, inv); i >= 0 {
		e.earlyOrder = slices.Delete(e.earlyOrder, i, i+1)
	}
	return b
}

// forget records that attempt a ended, for stale-start detection.
func (e *Executor) forget(a *attempt) {
	if cur, _ := e.attempts.get(a.inv); cur == a {
		e.attempts.delete(a.inv)
	}
	last, known := e.ended.get(a.inv)
	if !known {
		if len(e.endedOrder) >= rememberEnded {
			e.ended.delete(e.endedOrder[0])
			e.endedOrder = e.endedOrder[1:]
		}
		e.endedOrder = append(e.endedOrder, a.inv)
	}
	e.ended.set(a.inv, max(last, a.number))
}

func (e *Executor) start(m protocol.Message) {
	if last, known := e.ended.get(m.Invocation); known && m.Attempt <= last {
		e.reached(PointStaleStartIgnored)
		return // a start that the network delayed past a newer attempt: stale
	}
	if old, _ := e.attempts.get(m.Invocation); old != nil {
		if old.number >= m.Attempt {
			e.reached(PointStaleStartIgnored)
			return // a duplicate or reordered start of an attempt we have already seen
		}
		old.abort("superseded")
	}
	a := &attempt{
		ex:        e,
		inv:       m.Invocation,
		number:    m.Attempt,
		key:       m.Key,
		replayLen: uint32(len(m.Journal)),
		pos:       1,
		gated:     m.Gated,
	}
	a.journal = a.copyJournal(m.Journal)
	if len(m.State) > 0 {
		a.state = make(map[string][]byte, len(m.State))
		for _, st := range m.State {
			a.state[st.Name] = st.Result.Value
		}
	}
	if cap(a.journal) <= len(a.readyRoom) {
		a.ready = a.readyRoom[:len(a.journal)]
	} else {
		a.ready = make([]bool, len(a.journal), cap(a.journal))
	}
	for i, en := range a.journal {
		a.ready[i] = !en.Kind.Completable() || en.Completed
	}
	if o := e.cfg.Observer; o != nil {
		o.AttemptStarted(a.inv, a.number, m.Journal)
	}
	e.attempts.set(m.Invocation, a)
	if len(a.journal) == 0 || a.journal[0].Kind != journal.KindInput {
		a.finishWith(protocol.Message{Kind: protocol.KindError, Retryable: true, Message: "start journal does not begin with an input entry"}, "failed")
		return
	}
	// What arrived for this attempt before its start completes its journal before it runs.
	if b := e.takeEarly(m.Invocation); b != nil {
		if b.attempt == m.Attempt {
			for _, early := range b.msgs {
				a.complete(early)
			}
		}
		e.freeEarly(b)
	}
	svc := e.service(m.Service)
	var h durable.Handler
	if svc != nil {
		h, _ = svc.Lookup(m.Handler)
	}
	if h == nil {
		a.finishWith(protocol.Message{Kind: protocol.KindError, Retryable: true, Message: fmt.Sprintf("executor has no handler %s/%s", m.Service, m.Handler)}, "failed")
		return
	}
	a.shared = h.Kind() == protocol.HandlerShared
	// The input is decoded here, on the driver's stack, not on the coroutine's: a fresh
	// coroutine starts with a small stack that JSON decoding would grow (a copy) every attempt.
	call, err := a.prepare(h, svc, m.Handler)
	if call == nil {
		if err != nil {
			a.returned(nil, err)
		}
		a.sendEnding()
		return
	}
	a.call = call
	e.bind(a)
	a.resume()
}

// newEntriesRoom is how many new entries a first attempt's journal has room for before it grows:
// the journal is copied from the start message anyway, and a handler that starts afresh would
// otherwise reallocate it (and its ready flags) at its first few commands.
const newEntriesRoom = 4

// journalRoom is room for a short journal: a first attempt's input and newEntriesRoom more.
type journalRoom [1 + newEntriesRoom]journal.Entry

// copyJournal returns a copy of j for the attempt to complete and extend: in a journalRoom when
// j fits there (a spare one of the executor's, see freeJournal), which leaves a first attempt
// room for newEntriesRoom more entries; otherwise (a later attempt's long journal, which mostly
// replays) a copy of exactly j.
func (a *attempt) copyJournal(j []journal.Entry) []journal.Entry {
	if len(j) > len(journalRoom{}) {
		return slices.Clone(j)
	}
	t := &a.ex.tables
	room, ok := freelist.Pop(&t.journalRooms)
	if !ok {
		room = new(journalRoom)
	}
	a.journalRoom = room
	return append(a.journalRoom[:0], j...)
}

// freeJournal lets go of the journal of the attempt, which has ended, and gives its journalRoom
// back, emptied, for a later attempt: a room is a third of the bytes an attempt allocated, and
// every seed runs a dozen attempts. Nothing outside the attempt holds its journal (entries leave
// it by value), and nothing of the attempt reads it once it has ended: the handler is over, a
// kept context is refused (guard) before it reaches the journal, a late timer finds it ended.
// Dropping the journal makes a stray use of it (a goroutine's Run that outlived its attempt,
// which EndRun journals unguarded) append to a journal of its own, never to the room's next.
func (a *attempt) freeJournal() {
	used := len(a.journal) // the room's entries past it were never written
	a.journal = nil
	r := a.journalRoom
	if r == nil {
		return
	}
	a.journalRoom = nil
	t := &a.ex.tables
	if len(t.journalRooms) >= maxJournalRooms {
		return
	}
	clear(r[:min(used, len(r))])
	t.journalRooms = append(t.journalRooms, r)
}

// maxJournalRooms bounds the spare journalRooms an executor keeps: as many as attempts that
// ended since the last one started, which a burst of suspensions makes many.
const maxJournalRooms = 64

// attempt is one run of a handler against a journal.
type attempt struct {
	ex     *Executor
	inv    protocol.InvocationID
	number uint32
	// awaiting holds the one index Await parks on, so that a park does not allocate a slice
	// (waiting is cloned before it leaves in a Suspend).
	awaiting [1]uint32
	key      string
	// state is the attempt's view of its key's state: the state the engine sent with the start,
	// changed by the attempt's own writes (replayed ones included, which leaves it unchanged).
	state map[string][]byte

	// journal is the start journal followed by the entries this attempt produced; ready[i] says
	// whether the handler may read entry i's result (completed awakeable, acknowledged run).
	journal []journal.Entry
	ready   []bool
	// readyRoom holds ready when the journal is short, as most are: no allocation of its own.
	readyRoom [8]bool
	// journalRoom holds journal when the start journal is short, as most are (a first attempt's
	// is its input alone); it is the executor's, lent until the attempt ends (freeJournal).
	journalRoom *journalRoom
	replayLen   uint32
	// pos is the index the handler's next durable call takes; below replayLen it replays.
	pos uint32

	// call is the handler's call with its input decoded; ran is set once its Run returned, and
	// Executor.runErr is what it returned.
	call durable.Prepared
	// room holds the handler's context, which points at the attempt: it is the attempt's own, so
	// that a context the handler kept past its run (whose call a later attempt reuses) still
	// reaches this attempt, which refuses it.
	room durable.ContextRoom

	// w is the worker whose coroutine runs the handler, from the start until the handler is
	// over (done).
	w *worker
	// The flags, together so that they share words (the attempt and its journalRoom fit a
	// smaller size class).
	ran bool
	// done is set once the handler is over: it returned, failed, or was unwound by an abort.
	done bool
	// aborting is set when the driver resumes a parked handler only to unwind it.
	aborting bool
	running  bool
	// inRun is set while a Run's side effect executes: durable calls cannot nest inside one.
	inRun bool
	// rerun says that the side effect that runs is a journaled run executed again (the planted
	// ReexecuteJournaledRun), whose result is not journaled.
	rerun bool
	// gated is set from a Gated start until its Durable arrives: until then no side effect may
	// run, since the start may be lost with the batch that accepted the invocation.
	gated bool
	// atGate is set while the handler is parked at a Run, waiting for the Durable.
	atGate bool
	ended  bool
	shared bool
	// timerArmed says the inactivity timer a CallClock armed is not stopped (see parkTimer).
	timerArmed bool
	// callSlot is the slot of Executor.calls the attempt's call goes back to, or -1.
	callSlot int8

	// waiting lists the indices the parked handler waits on (any one of them resumes it).
	waiting []uint32
	// parkGen counts parks, so an inactivity timer armed for an earlier park does nothing.
	parkGen uint64
	// timer is the inactivity timer an AfterFunc armed.
	timer fakeclock.Timer

	// rng is the attempt's deterministic random source (durable.Rand), made on first use.
	rng *rand.Rand
}

// Sentinels unwind the coroutine through handler code; body recovers them.
type (
	abortSignal struct{}
	failSignal  struct{ msg protocol.Message }
)

// body runs the handler on its worker's coroutine. What the handler returned is settled by the
// driver once the handler is over, so that encoding the output runs on the driver's stack as
// decoding the input did. Every panic out of the handler stops in RunIn, which recovers it one
// frame nearer the handler than a deferred recover here would (every suspension unwinds the
// handler, and the unwinder walks each frame between), so the worker goes on.
func (a *attempt) body() {
	a.running = true
	panicked, err := a.call.RunIn(&a.room, a)
	a.running = false
	if panicked != nil {
		a.recovered(panicked)
		return
	}
	a.ex.runErr = err
	a.ran = true
}

// prepare decodes the handler's input. A panic in user decoding code (an UnmarshalJSON) fails
// the attempt as a panic in the handler would; prepare then returns neither call nor error.
func (a *attempt) prepare(h durable.Handler, svc *durable.Service, handler string) (call durable.Prepared, err error) {
	defer func() {
		if r := recover(); r != nil {
			call, err = nil, nil
			a.recovered(r)
		}
	}()
	if a.ex.calls == nil {
		a.ex.calls = new(durable.SpareCalls)
	}
	slot, spare := a.ex.calls.Take(svc.Name(), handler)
	a.callSlot = int8(slot)
	return h.PrepareReusing(a.journal[0].Result.Value, spare)
}

// releaseCall keeps the call of the attempt, whose handler is over and whose output is
// encoded, for a later attempt to prepare its call in.
func (a *attempt) releaseCall() {
	if a.call != nil {
		a.ex.calls.Put(int(a.callSlot), a.call)
	}
	a.call = nil
}

// settle decides the outcome of an attempt whose handler returned, encoding its output. A panic
// in user encoding code (a MarshalJSON) fails the attempt as a panic in the handler would.
func (a *attempt) settle() {
	defer func() {
		if r := recover(); r != nil {
			a.recovered(r)
		}
	}()
	if err := a.ex.runErr; err != nil {
		a.ex.runErr = nil
		a.returned(nil, err)
		return
	}
	a.returned(a.call.Output())
}

// returned decides the attempt's outcome from what the handler returned: its encoded output, a
// terminal failure, or a retry.
func (a *attempt) returned(out []byte, err error) {
	switch {
	case err == nil:
		a.end(journal.Result{Value: out})
	case durable.IsTerminalError(err):
		a.end(journal.Result{Failure: &journal.Failure{Code: durable.ErrorCode(err), Message: err.Error()}})
	default:
		a.ex.ending = ending{msg: protocol.Message{Kind: protocol.KindError, Retryable: true, Message: err.Error()}, how: "failed"}
	}
}

func (a *attempt) recovered(r any) {
	if _, ok := r.(durable.Unwind); ok && a.aborting {
		// The attempt returned the stop mark at the abort (Await, EnterRun, EndRun). An Unwind
		// outside an abort is not the attempt's: the handler kept one (of a replay twin's stop,
		// say) and panicked with it again, which is the handler's own panic.
		r = abortSignal{}
	}
	switch s := r.(type) {
	case abortSignal:
		a.ex.ending = ending{} // the aborting side already decided what to report
	case replayedSignal:
		a.ex.ending = ending{msg: protocol.Message{Kind: protocol.KindSuspend, Index: a.pos}, how: "replayed"}
	case failSignal:
		a.ex.ending = ending{msg: s.msg, how: "failed"}
		if IsNonDeterminism(s.msg) {
			a.ex.reached(PointNonDeterminism)
		}
	default:
		msg := protocol.Message{Kind: protocol.KindError, Retryable: true, Message: fmt.Sprintf("handler panicked: %v\n%s", r, debug.Stack())}
		a.ex.ending = ending{msg: msg, how: "panicked"}
	}
}

// end records the handler's output as the attempt's outcome.
func (a *attempt) end(r journal.Result) {
	index := a.pos
	if index < a.replayLen {
		msg := nonDeterminism(index, a.journal[index], journal.Entry{Kind: journal.KindOutput, Result: r}, "the handler returned early")
		a.ex.ending = ending{msg: msg, how: "failed"}
		return
	}
	a.ex.ending = ending{msg: protocol.Message{Kind: protocol.KindEnd, Index: index, Entry: journal.Entry{Kind: journal.KindOutput, Result: r}}, how: "done"}
}

// nonDeterminismPrefix starts the message of every non-determinism error.
const nonDeterminismPrefix = "non-determinism"

// IsNonDeterminism reports whether m is the error of an attempt whose handler diverged from its
// journal.
func IsNonDeterminism(m protocol.Message) bool {
	return m.Kind == protocol.KindError && strings.HasPrefix(m.Message, nonDeterminismPrefix)
}

// nonDeterminism is the error of an attempt whose handler diverged from its journal at index.
// Its text is fmt.Sprintf(nonDeterminismPrefix+" at journal index %d: journal has %s, handler
// produced %s (%s)", ...), joined rather than formatted: a deployment of changed code diverges
// often, and formatting boxed both entries.
func nonDeterminism(index uint32, journaled, produced journal.Entry, detail string) protocol.Message {
	return protocol.Message{Kind: protocol.KindError, Retryable: true, Message: nonDeterminismPrefix + " at journal index " +
		strconv.FormatUint(uint64(index), 10) + ": journal has " + journaled.String() + ", handler produced " + produced.String() + " (" + detail + ")"}
}

// resume runs the handler until it parks or is over, then reports the outcome if it is over.
func (a *attempt) resume() {
	a.w.next()
	if !a.done {
		a.parked()
		return
	}
	a.release()
	if a.ran {
		a.ran = false
		a.settle()
	}
	a.releaseCall()
	a.sendEnding()
}

// parked arms the inactivity timeout of a parked attempt, or suspends at once when it is zero.
// A gated attempt first tells the driver it waits, so the driver need not hold its group open
// for it.
func (a *attempt) parked() {
	a.parkGen++
	if a.gated {
		a.ex.cfg.Send(protocol.Message{Kind: protocol.KindParked, Invocation: a.inv, Attempt: a.number})
	}
	d := a.ex.cfg.InactivityTimeout()
	if mutant.On(mutant.NeverSuspendIdle) {
		return // planted: the attempt stays parked on its connection, whatever its timeout
	}
	if d <= 0 {
		a.idle()
		return
	}
	a.armTimer(d, a.parkGen)
}

// idle ends a parked attempt that waited its inactivity timeout: it suspends. One waiting at
// the gate, whose Durable never came (lost on the way, or its start was lost in a crash),
// suspends waiting on its input entry, which is always complete: the engine starts the next
// attempt, ungated, as soon as it takes the suspension (a lost invocation takes nothing).
func (a *attempt) idle() {
	if a.atGate {
		a.ex.reached(PointGateTimedOut)
		a.awaiting[0] = 0
		a.waiting = a.awaiting[:]
	}
	if len(a.waiting) > 0 {
		a.suspend()
	}
}

func (a *attempt) suspend() {
	a.ex.reached(PointSuspended)
	msg := protocol.Message{Kind: protocol.KindSuspend, Index: uint32(len(a.journal)), WaitingOn: waitingOn(a.waiting)}
	a.abort("")
	a.finishWith(msg, "suspended")
}

// waitingOn returns the indices of a Suspend's WaitingOn: a copy of waiting, which the attempt
// reuses, or, when it is one small index as nearly every suspension waits on, a slice of
// oneIndex, which costs no allocation. No one changes a message's WaitingOn in place (the engine
// clones what it keeps); its capacity is its length, so an append copies it.
func waitingOn(waiting []uint32) []uint32 {
	if len(waiting) == 1 && int(waiting[0]) < len(oneIndex) {
		i := waiting[0]
		return oneIndex[i : i+1 : i+1]
	}
	return slices.Clone(waiting)
}

// oneIndex[i] is i, for waitingOn's one-index slices; never written after it is made.
var oneIndex = func() (t [256]uint32) {
	for i := range t {
		t[i] = uint32(i)
	}
	return t
}()

// sendEnding sends what the attempt decided as it ended, if anything, and empties the slot.
func (a *attempt) sendEnding() {
	end := a.ex.ending
	a.ex.ending = ending{}
	if end.how != "" {
		a.finishWith(end.msg, end.how)
	}
}

// finishWith sends the attempt's last message and forgets it.
func (a *attempt) finishWith(m protocol.Message, how string) {
	a.ended = true
	a.ex.forget(a)
	a.freeJournal()
	m.Invocation, m.Attempt = a.inv, a.number
	if o := a.ex.cfg.Observer; o != nil {
		o.AttemptEnded(a.inv, a.number, how)
	}
	a.ex.cfg.Send(m)
}

// abort unwinds the parked handler, if any; its defers run. how, if not empty, is reported as the
// end.
func (a *attempt) abort(how string) {
	a.stopTimer()
	if a.w != nil {
		if len(a.waiting) > 0 && how != "" {
			a.ex.reached(PointAbortedParked)
		}
		a.aborting = true
		a.w.next()
		// The unwinding decides nothing to send, unless a defer of the handler failed on the way:
		// the abort reports the end either way. Nor is what a handler that swallowed the abort
		// returned settled.
		a.ex.ending, a.ex.runErr = ending{}, nil
		if a.done {
			a.release()
			a.releaseCall()
		} else {
			// Unreachable unless the handler escaped its unwinding; its worker cannot be reused.
			a.w.stop()
			a.w = nil
		}
	}
	if how != "" && !a.ended {
		a.ended = true
		a.ex.forget(a)
		a.freeJournal()
		if o := a.ex.cfg.Observer; o != nil {
			o.AttemptEnded(a.inv, a.number, how)
		}
	}
}

// complete applies a completion or ack and resumes the handler if it waits on that index.
func (a *attempt) complete(m protocol.Message) {
	if m.Kind == protocol.KindDurable {
		if !a.gated || a.ended {
			return
		}
		a.gated = false
		if a.atGate {
			a.stopTimer()
			a.resume()
		}
		return
	}
	i := m.Index
	if int(i) >= len(a.journal) || a.ended {
		return
	}
	if m.Kind == protocol.KindCompletion {
		en := &a.journal[i]
		if !en.Kind.Completable() || en.Completed {
			return
		}
		en.Completed, en.Result = true, m.Entry.Result
	} else if a.journal[i].Kind.Completable() {
		return // an ack says the entry is durable; an awakeable is ready only once completed
	}
	if a.ready[i] {
		a.ex.reached(PointDuplicateCompletion)
		return
	}
	a.ready[i] = true
	if slices.Contains(a.waiting, i) {
		a.stopTimer()
		a.resume()
	}
}

// ErrWrongGoroutine is the panic value (wrapped, so errors.Is finds it) of a durable call made
// while its attempt is not the code that runs: from a goroutine the handler started while the
// handler waits. A call once the attempt ended (the handler returned, failed or was unwound)
// wraps durable.ErrContextEnded instead, as the simulator's replay twin refuses a kept context:
// the handler kept its context, in a variable or a goroutine, past its attempt. A stray
// call while the handler itself runs is not detected; Go offers no cheap goroutine identity to
// tell the two apart.
var ErrWrongGoroutine = errors.New("durable call outside the handler's own goroutine: use futures, not goroutines, for concurrency inside a handler")

func (a *attempt) guard() {
	if !a.running || a.ended {
		cause := ErrWrongGoroutine
		if a.ended {
			cause = durable.ErrContextEnded
		}
		panic(fmt.Errorf("invocation %s attempt %d: %w", a.inv, a.number, cause))
	}
	if a.ex.buggify(BuggifyTransientError) && a.pos >= a.replayLen {
		panic(failSignal{msg: protocol.Message{Kind: protocol.KindError, Retryable: true, Message: "buggify: spurious transient failure before a durable call"}})
	}
	if a.inRun {
		// The nested call would take the run's index and the run would be journaled after it.
		panic(failSignal{msg: protocol.Message{Kind: protocol.KindError, Retryable: true, Message: fmt.Sprintf(
			"durable call inside a Run closure (the run at journal index %d): side effects cannot make durable calls", a.pos)}})
	}
}

// InvocationID implements durable.Runtime.
func (a *attempt) InvocationID() protocol.InvocationID { return a.inv }

// Key implements durable.Runtime.
func (a *attempt) Key() string { return a.key }

// Command implements durable.Runtime.
func (a *attempt) Command(e journal.Entry) uint32 {
	a.guard()
	if e.Kind.Writes() {
		if a.shared {
			a.Fail(journal.Failure{Code: 500, Message: fmt.Sprintf("a shared handler may not write state (%s)", e)})
		}
		a.applyWrite(e)
	}
	index := a.pos
	if index < a.replayLen {
		a.replayed(index, e)
		a.pos++
		return index
	}
	return a.emit(e)
}

// replayed checks a command against the journal entry it replays.
func (a *attempt) replayed(index uint32, e journal.Entry) journal.Entry {
	j := a.journal[index]
	if !j.SameCommand(e) && !mutant.On(mutant.SkipNonDeterminismCheck) {
		panic(failSignal{msg: nonDeterminism(index, j, e, "replay")})
	}
	return j
}

// applyWrite changes the attempt's view of the state as the engine will change the stored state.
func (a *attempt) applyWrite(e journal.Entry) {
	switch e.Kind {
	case journal.KindSetState:
		if a.state == nil {
			a.state = map[string][]byte{}
		}
		a.state[e.Name] = e.Param.Value
	case journal.KindClearState:
		delete(a.state, e.Name)
	case journal.KindClearAllState:
		clear(a.state)
	}
}

// Read implements durable.Runtime.
func (a *attempt) Read(e journal.Entry) journal.Result {
	a.guard()
	index := a.pos
	if index < a.replayLen {
		j := a.replayed(index, e)
		a.pos++
		a.observe(index, j)
		return j.Result
	}
	switch e.Kind {
	case journal.KindGetState:
		e.Result = journal.Result{Value: a.state[e.Name]}
	case journal.KindGetStateKeys:
		a.ex.reached(PointStateKeysListed)
		keys := slices.Sorted(maps.Keys(a.state))
		if keys == nil {
			keys = []string{}
		}
		b, _ := json.Marshal(keys)
		e.Result = journal.Result{Value: b}
	default:
		panic(fmt.Sprintf("executor: Read of a %s entry", e.Kind))
	}
	a.emit(e)
	// What the attempt read may differ on a re-run (a shared handler's state can change between
	// attempts); go on only once it is durable, so nothing outside depends on a lost read.
	return a.awaitUnwinding(index)
}

func (a *attempt) observe(index uint32, e journal.Entry) {
	if o := a.ex.cfg.Observer; o != nil {
		o.ValueObserved(a.inv, a.number, index, e.Kind, e.Result)
	}
}

// AwaitAny implements durable.Runtime.
func (a *attempt) AwaitAny(indices []uint32) int {
	a.guard()
	for _, i := range indices {
		if int(i) >= len(a.journal) {
			panic(fmt.Sprintf("executor: AwaitAny of index %d past the journal of %d entries", i, len(a.journal)))
		}
	}
	if len(indices) > 1 {
		a.ex.reached(PointWaitFirstMany)
	}
	index := a.pos
	if index < a.replayLen {
		j := a.replayed(index, journal.Entry{Kind: journal.KindSelect})
		var pos int
		if err := json.Unmarshal(j.Result.Value, &pos); err != nil || pos < 0 || pos >= len(indices) {
			panic(failSignal{msg: nonDeterminism(index, j, journal.Entry{Kind: journal.KindSelect},
				fmt.Sprintf("the journaled choice does not fit the %d futures waited on", len(indices)))})
		}
		a.pos++
		a.observe(index, j)
		return pos
	}
	for {
		for pos, i := range indices {
			if a.ready[i] {
				b, _ := json.Marshal(pos)
				a.emit(journal.Entry{Kind: journal.KindSelect, Result: journal.Result{Value: b}})
				// The choice depends on timing, so a re-run may choose otherwise: go on only once it
				// is durable, or a side effect could hand out IDs of entries that a re-run shifts.
				if !mutant.On(mutant.UseSelectBeforeAck) {
					a.awaitUnwinding(index)
				}
				return pos
			}
		}
		if !a.park(indices) {
			panic(abortSignal{})
		}
	}
}

// park hands control back to the driver until a completion of one of indices resumes it. It
// reports false when the driver resumed it only to unwind the handler: the caller then returns
// the stop mark (durable.Unwind), or panics with abortSignal, itself, so that the unwinding
// starts nearer the handler (the unwinder pays a walk per frame, and every suspension unwinds).
func (a *attempt) park(indices []uint32) bool {
	a.waiting = indices
	a.running = false
	if !a.w.yield(struct{}{}) || a.aborting {
		return false
	}
	a.running = true
	a.waiting = nil
	return true
}

// replayedSignal ends a replay-only attempt at the end of its journal.
type replayedSignal struct{}

// emit journals a new entry at the cursor and sends it to the engine.
func (a *attempt) emit(e journal.Entry) uint32 {
	if a.ex.cfg.ReplayOnly {
		panic(replayedSignal{})
	}
	index := a.pos
	a.pos++
	a.journal = append(a.journal, e)
	a.ready = append(a.ready, !e.Kind.Completable() && !journal.AckedBeforeUse(e.Kind))
	if o := a.ex.cfg.Observer; o != nil {
		o.CommandEmitted(a.inv, a.number, index, e)
	}
	a.ex.cfg.Send(protocol.Message{Kind: protocol.KindCommand, Invocation: a.inv, Attempt: a.number, Index: index, Entry: e})
	return index
}

// Await implements durable.Runtime. An abort returns the stop mark (durable.Unwind): the
// durable call that awaits then unwinds the handler from its own frame, one frame nearer the
// handler than a panic here (every suspension unwinds, and the unwinder walks each frame).
func (a *attempt) Await(index uint32) journal.Result {
	a.guard()
	if !a.waitReady(index) {
		return durable.Stopped()
	}
	return a.observed(index)
}

// awaitUnwinding is Await for the runtime's own methods whose durable calls take no stop mark
// (Read, AwaitAny): an abort panics here.
func (a *attempt) awaitUnwinding(index uint32) journal.Result {
	res := a.Await(index)
	if res.Failure != nil && res.Failure == durable.Stopped().Failure {
		panic(abortSignal{})
	}
	return res
}

// waitReady parks the handler until the entry at index is ready, and reports false when the
// driver resumed it only to unwind it (an abort). It is small enough for the compiler to inline,
// and the runtime's methods that wait (Await, EnterRun, EndRun) spell Await out with it rather
// than call Await, for the one frame less it costs.
func (a *attempt) waitReady(index uint32) bool {
	for !a.ready[index] {
		a.awaiting[0] = index
		if !a.park(a.awaiting[:]) {
			return false
		}
	}
	return true
}

// observed tells the observer the handler observes the ready entry at index and returns its
// result.
func (a *attempt) observed(index uint32) journal.Result {
	a.observe(index, a.journal[index])
	return a.journal[index].Result
}

// EnterRun implements durable.Runtime: the journaled result of a replayed run, or leave to run
// the effect now. A run past the journal first waits, when gated, until its start is durable.
func (a *attempt) EnterRun(name string) (journal.Result, bool) {
	a.guard()
	index := a.pos
	if index < a.replayLen {
		j := a.journal[index]
		if want := (journal.Entry{Kind: journal.KindRun, Name: name}); !j.SameCommand(want) {
			panic(failSignal{msg: nonDeterminism(index, j, want, "replay")})
		}
		a.ex.reached(PointReplayedRun)
		if mutant.On(mutant.ReexecuteJournaledRun) {
			a.enterEffect(index, name, true)
			return journal.Result{}, false
		}
		a.pos++
		a.guard() // Await spelled out (see waitReady)
		if !a.waitReady(index) {
			return durable.Stopped(), true
		}
		return a.observed(index), true
	}
	if a.ex.cfg.ReplayOnly {
		panic(replayedSignal{})
	}
	// A gated attempt parks here until its start is durable; in this frame, not one of its own,
	// as waitReady says; an abort returns the stop mark, as Await's does.
	for a.gated && !mutant.On(mutant.RunBeforeDurable) {
		a.ex.reached(PointGated)
		a.atGate = true
		if !a.park(nil) {
			return durable.Stopped(), false
		}
		a.atGate = false
	}
	a.enterEffect(index, name, false)
	return journal.Result{}, false
}

// enterEffect tells the observer that the side effect name at index executes, remembers it for
// EndRun, and refuses durable calls until it is over (LeaveRun). rerun says that it is a
// journaled run executed again (planted).
func (a *attempt) enterEffect(index uint32, name string, rerun bool) {
	if o := a.ex.cfg.Observer; o != nil {
		o.RunExecuted(a.inv, a.number, index)
	}
	a.ex.runName, a.rerun = name, rerun
	a.inRun = true
}

// LeaveRun implements durable.Runtime.
func (a *attempt) LeaveRun() { a.inRun = false }

// EndRun implements durable.Runtime: a non-terminal error ends the attempt with a retry, because
// the journal has no result to give the handler and the index must stay the run's on replay.
// Otherwise the result is journaled and handed back once durable.
func (a *attempt) EndRun(res journal.Result, err error) journal.Result {
	index := a.pos
	if err != nil {
		a.rerun = false
		panic(failSignal{msg: protocol.Message{Kind: protocol.KindError, Retryable: true, Message: fmt.Sprintf("run at journal index %d: %v", index, err)}})
	}
	if a.rerun {
		// Planted (ReexecuteJournaledRun): the effect ran again; the journaled result stands.
		a.rerun = false
		a.pos++
		return a.Await(index)
	}
	if a.ex.buggify(BuggifyDieAfterEffect) {
		// The side effect happened; its result is lost with the attempt, so the next attempt
		// runs it again: at-least-once until journaled.
		panic(failSignal{msg: protocol.Message{Kind: protocol.KindError, Retryable: true, Message: "buggify: attempt died after a side effect, before journaling it"}})
	}
	name := a.ex.runName
	a.ex.runName = ""
	a.emit(journal.Entry{Kind: journal.KindRun, Name: name, Result: res})
	a.guard() // Await spelled out (see waitReady)
	if !a.waitReady(index) {
		return durable.Stopped()
	}
	return a.observed(index)
}

// Fail implements durable.Runtime.
// Rand implements durable.Runtime: a PCG source seeded from the invocation ID, one per attempt,
// so that each attempt draws from the start of the same sequence as its replay requires.
func (a *attempt) Rand() *rand.Rand {
	a.guard()
	if a.rng == nil {
		hi, lo := durable.SeedOf(a.inv)
		a.rng = rand.New(rand.NewPCG(hi, lo))
	}
	return a.rng
}

// Now implements durable.Runtime: the executor's clock (virtual under the simulator).
func (a *attempt) Now() time.Time { return a.ex.cfg.Clock.Now() }

func (a *attempt) Fail(f journal.Failure) {
	a.guard()
	index := a.pos
	out := journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Failure: &f}}
	if index < a.replayLen {
		// The attempt that wrote this journal went on past index, so failing here diverges.
		panic(failSignal{msg: nonDeterminism(index, a.journal[index], out, "the handler failed early")})
	}
	panic(failSignal{msg: protocol.Message{Kind: protocol.KindEnd, Index: index, Entry: out}})
}
