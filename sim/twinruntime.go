package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// twinReplay is the replay twin's own implementation of durable.Runtime: it re-runs one handler
// against a persisted journal and nothing else. It is written apart from runtime/executor on
// purpose — the twin judges the executor's replay, so it must not share its code (a bug in the
// executor's comparison would otherwise hide from its own judge).
//
// It runs the handler on the caller's goroutine, with no coroutine at all: the twin never waits.
// Every durable call is answered from the journal; the first call the journal cannot answer (a
// new command, a completion not journaled yet) or a call that diverges from the journal stops the
// handler by panicking with twinStop, or, from Command, Await and EnterRun, by returning the stop
// mark, which the durable call turns into its own panic (durable.Unwind); the handler's call
// recovers either (durable.Prepared.RunIn) once the handler's defers have run.
// No side effect ever runs: a Run's closure is never called, a journaled Run's result is handed
// back instead.
//
//	          durable call answered by the journal
//	running ─────────────────────────────────────► running
//	   │  handler returns / Fail at the journal's end ──► returned (output, or a retryable error)
//	   │  call the journal cannot answer yet ───────────► waiting (covered the whole journal)
//	   └─ call that differs from the journal, or an ────► diverged
//	      early return, Fail or panic
type twinReplay struct {
	inv    protocol.InvocationID
	key    string
	shared bool
	now    time.Time
	// journal is the persisted journal without its output entry; pos is the index the handler's
	// next durable call takes.
	journal []journal.Entry
	pos     uint32
	rng     *rand.Rand

	// How the re-run ended. stopped is set before the stop panics, so a handler that recovers
	// the stop cannot make the twin believe it went on. A divergence is in words in diverged,
	// or, for a command that differs from the journal's (the common one: a later version
	// re-running an earlier version's journal), in at, put in words only for a verdict.
	stopped  bool
	diverged string
	at       twinStopAt
	output   *journal.Result
	retry    string
	// unencoded says the handler returned at the journal's end an output that nothing judges,
	// which was therefore never encoded: output then holds no value.
	unencoded bool
	// result and failure hold the output (output points at result), in the re-run's own
	// allocation, as at holds the command where it stopped.
	result  journal.Result
	failure journal.Failure
}

// twinStopAt is the call a re-run stopped at, for the words of a verdict (waitingText,
// divergedText), which most re-runs never need.
type twinStopAt struct {
	how   stopKind
	index uint32
	// produced is the command the handler produced (stopWaitCommand, stopDiffers); the entry
	// awaited (stopWaitCompletion) is the journal's at index.
	produced journal.Entry
	// difference is how produced differs from the journal's command at index (stopDiffers).
	difference difference
}

// stopKind says which call a re-run stopped at.
type stopKind uint8

const (
	stopNone           stopKind = iota
	stopWaitCommand             // a command the journal does not hold yet: waiting
	stopWaitCompletion          // an await of an entry whose completion is not journaled yet: waiting
	stopDiffers                 // a command that differs from the journal's: diverged
)

// waitingText says in words where the re-run stopped waiting, or "" when it did not.
func (r *twinReplay) waitingText() string {
	switch a := &r.at; a.how {
	case stopWaitCommand:
		return fmt.Sprintf("would journal %s at index %d", a.produced, a.index)
	case stopWaitCompletion:
		return fmt.Sprintf("waits for the completion of %s at index %d", r.journal[a.index], a.index)
	}
	return ""
}

// hasDiverged reports whether the re-run diverged from the journal.
func (r *twinReplay) hasDiverged() bool { return r.diverged != "" || r.at.how == stopDiffers }

// divergedText says in words how the re-run diverged, or "" when it did not.
func (r *twinReplay) divergedText() string {
	if a := &r.at; a.how == stopDiffers {
		j := r.journal[a.index]
		return fmt.Sprintf("at journal index %d the journal has %s, the handler produced %s (%s)", a.index, j, a.produced, a.difference.words(j, a.produced))
	}
	return r.diverged
}

// setOutput records the handler's output.
func (r *twinReplay) setOutput(value []byte, failure *journal.Failure) {
	r.result = journal.Result{Value: value}
	if failure != nil {
		r.failure = *failure
		r.result.Failure = &r.failure
	}
	r.output = &r.result
}

// twinStop unwinds the handler when the twin stops it.
type twinStop struct{}

// twinCalls is the memory the twin's re-runs make their handlers' calls in: a spare call for
// each of the first few handlers re-run (durable.SpareCalls, by service and name; a call of other
// types is not reused, durable.Handler.PrepareReusing allocates then), and the rooms of their
// contexts. A call is reused from re-run to re-run, and from run to run of a recycled world:
// PrepareReusing leaves nothing of the earlier call in the new one, and the twin keeps nothing of
// a call past its re-run (its output is encoded into memory of its own). A room is never reused: a
// context that a handler kept past its re-run points into its room, which replayHandler ends at
// the re-run's end (durable.ContextRoom.End), so that the context reaches no runtime at all, never
// a later re-run's (whose twinReplay may well be the same memory), and refuses every call with a
// panic wrapping durable.ErrContextEnded, as the executor refuses a context kept past its attempt.
type twinCalls struct {
	spares durable.SpareCalls
	// rooms are the unused rooms of the block the last ones came from.
	rooms []durable.ContextRoom
}

// twinRoomBlock is how many contexts' rooms the twin allocates at once (32 bytes each).
const twinRoomBlock = 64

// room returns a room for one re-run's context that no re-run has had.
func (c *twinCalls) room() *durable.ContextRoom {
	if len(c.rooms) == 0 {
		c.rooms = make([]durable.ContextRoom, twinRoomBlock)
	}
	room := &c.rooms[0]
	c.rooms = c.rooms[1:]
	return room
}

// replayHandler re-runs h, the handler called handler of service, against j (the persisted
// journal without its output entry) and says in r (zero, or a past re-run's, which it overwrites)
// how the re-run ended, making the handler's call in c's memory. It never lets a panic of the
// handler escape. The output a handler returns at the journal's end is encoded only when encode
// says it is judged (comparesOutput): otherwise r.output holds no value (r.unencoded).
func replayHandler(r *twinReplay, c *twinCalls, h durable.Handler, service, handler string, inv protocol.InvocationID, key string, now time.Time, j []journal.Entry, encode bool) {
	*r = twinReplay{inv: inv, key: key, shared: h.Kind() == protocol.HandlerShared, now: now, journal: j, pos: 1}
	if len(j) == 0 || j[0].Kind != journal.KindInput {
		r.diverged = "the journal does not begin with an input entry"
		return
	}
	// Decoding the input and encoding the output may run the program's code too (UnmarshalJSON,
	// MarshalJSON): a panic there is the handler's as well.
	defer func() {
		if p := recover(); p != nil && !r.stopped {
			r.ended(nil, fmt.Errorf("handler panicked: %v", p), true)
		}
	}()
	// h.Call spelled out (Prepare, Run, Output) here, the run through RunIn, which recovers the
	// handler's panics (the twin's stops among them) in its own frame: every stop unwinds the
	// frames between the handler and its recover, and each costs the unwinder a walk.
	slot, spare := c.spares.Take(service, handler)
	p, err := h.PrepareReusing(j[0].Result.Value, spare)
	if err != nil {
		r.ended(nil, err, false)
		return
	}
	c.spares.Put(slot, p) // the next re-run of the handler's, which begins after this one ends
	room := c.room()
	panicked, err := p.RunIn(room, r)
	room.End() // a context the handler kept reaches no runtime, and refuses every call saying why (twinCalls)
	switch {
	case panicked != nil && r.stopped:
		return // stopped by the twin (whatever the handler's defers re-panicked)
	case panicked != nil:
		r.ended(nil, fmt.Errorf("handler panicked: %v", panicked), true)
		return
	}
	var out []byte
	// A return before the journal's end diverges, and its output is in the verdict's words.
	if err == nil {
		if encode || int(r.pos) < len(j) {
			out, err = p.Output()
		} else {
			r.unencoded = true
		}
	}
	if !r.stopped {
		r.ended(out, err, false)
	}
}

// ended records the handler's return (or panic). Ending before the journal's end diverges: the
// attempt that wrote the later entries went on past this point.
func (r *twinReplay) ended(out []byte, err error, panicked bool) {
	r.stopped = true
	switch {
	case int(r.pos) < len(r.journal):
		how := "returned"
		if panicked {
			how = "panicked"
		} else if err != nil {
			how = "failed"
		}
		r.diverged = fmt.Sprintf("at journal index %d the journal has %s, the handler %s instead (%v)", r.pos, r.journal[r.pos], how, orOutput(out, err))
	case r.unencoded:
		// returned at the journal's end; nothing judges the output (replayHandler)
	case err == nil:
		r.setOutput(out, nil)
	case durable.IsTerminalError(err):
		r.setOutput(nil, &journal.Failure{Code: durable.ErrorCode(err), Message: err.Error()})
	default:
		r.retry = err.Error()
	}
}

func orOutput(out []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("output %s", out)
}

// stop ends the re-run: the handler's defers run while the stop unwinds it.
func (r *twinReplay) stop() {
	r.stopped = true
	panic(twinStop{})
}

// stopMark ends the re-run as stop does, from Command, by returning the stop mark: the durable
// call unwinds the handler (durable.Unwind) from its own frame, one frame nearer the handler than
// a panic here, and the twin stops most re-runs (at the journal's end).
func (r *twinReplay) stopMark() uint32 {
	r.stopped = true
	return durable.StopIndex
}

// live refuses a durable call after the twin stopped the handler (one that recovered the stop).
func (r *twinReplay) live() {
	if r.stopped {
		panic(twinStop{})
	}
}

func (r *twinReplay) diverge(format string, args ...any) {
	r.diverged = fmt.Sprintf(format, args...)
	r.stop()
}

// replayed replays the command produced at the cursor: the journal must hold the same command
// there, and the cursor moves past it. It reports false, with r.at saying why, when the re-run
// must stop there: the journal ends before it (the attempt that wrote the journal went no
// further), or holds another command. The caller stops the handler itself: a stop unwinds every
// frame between it and replayHandler, each at a cost, so it is thrown from the durable call's own
// frame, not from one more below it.
func (r *twinReplay) replayed(produced *journal.Entry) bool {
	index := r.pos
	if int(index) >= len(r.journal) {
		r.at = twinStopAt{how: stopWaitCommand, index: index, produced: *produced}
		return false
	}
	if d := commandDifference(&r.journal[index], produced); d != sameCommand {
		r.at = twinStopAt{how: stopDiffers, index: index, produced: *produced, difference: d}
		return false
	}
	r.pos++
	return true
}

// difference is how a produced command differs from the journaled one.
type difference uint8

const (
	sameCommand difference = iota
	otherKind
	otherName
	otherTarget
	otherDuration
	otherParam
)

// commandDifference says how produced is not the command journaled as j, or sameCommand when it
// is. A command is its kind and its parameters (name, target, parameter, duration); what
// completed it later (a result, a deadline) is not the handler's choice. Written here rather
// than taken from journal.Entry.SameCommand so that the twin keeps its own reading of what must
// match.
func commandDifference(j, produced *journal.Entry) difference {
	switch {
	case j.Kind != produced.Kind:
		return otherKind
	case j.Name != produced.Name:
		return otherName
	case j.Target != produced.Target:
		return otherTarget
	case j.Duration != produced.Duration:
		return otherDuration
	case !sameResult(j.Param, produced.Param):
		return otherParam
	}
	return sameCommand
}

// words says the difference d between the journaled command j and produced.
func (d difference) words(j, produced journal.Entry) string {
	switch d {
	case otherKind:
		return "another kind"
	case otherName:
		return fmt.Sprintf("name %q, not %q", produced.Name, j.Name)
	case otherTarget:
		return fmt.Sprintf("target %q, not %q", produced.Target, j.Target)
	case otherDuration:
		return fmt.Sprintf("duration %s, not %s", produced.Duration, j.Duration)
	case otherParam:
		return fmt.Sprintf("parameter %s, not %s", produced.Param, j.Param)
	}
	return ""
}

// sameResult compares two values or failures; an absent value equals an empty one.
func sameResult(a, b journal.Result) bool {
	if (a.Failure == nil) != (b.Failure == nil) {
		return false
	}
	if a.Failure != nil {
		return a.Failure.Code == b.Failure.Code && a.Failure.Message == b.Failure.Message
	}
	return bytes.Equal(a.Value, b.Value)
}

// InvocationID implements durable.Runtime.
func (r *twinReplay) InvocationID() protocol.InvocationID { return r.inv }

// Key implements durable.Runtime.
func (r *twinReplay) Key() string { return r.key }

// Command implements durable.Runtime: the command must be the journaled one at the cursor. A
// shared handler writing state fails the invocation, as the runtime makes it do.
func (r *twinReplay) Command(e journal.Entry) uint32 {
	r.live()
	if e.Kind.Writes() && r.shared {
		r.Fail(journal.Failure{Code: 500, Message: fmt.Sprintf("a shared handler may not write state (%s)", e)})
	}
	if !r.replayed(&e) {
		return r.stopMark()
	}
	return r.pos - 1
}

// Read implements durable.Runtime: the journaled read's value, never the state's current one.
func (r *twinReplay) Read(e journal.Entry) journal.Result {
	r.live()
	if !r.replayed(&e) {
		r.stop()
	}
	return r.journal[r.pos-1].Result
}

// Await implements durable.Runtime: the journaled result, or a stop when the entry's completion
// is not journaled yet (the attempt that wrote the journal waits there too).
func (r *twinReplay) Await(index uint32) journal.Result {
	r.live()
	if index >= r.pos {
		r.diverge("the handler awaited journal index %d before producing it (next index %d)", index, r.pos)
	}
	j := &r.journal[index]
	if j.Kind.Completable() && !j.Completed {
		r.at = twinStopAt{how: stopWaitCompletion, index: index}
		r.stopped = true
		return durable.Stopped()
	}
	return j.Result
}

// AwaitAny implements durable.Runtime: the journaled choice of a WaitFirst, which must name one
// of the futures waited on.
func (r *twinReplay) AwaitAny(indices []uint32) int {
	r.live()
	for _, i := range indices {
		if i >= r.pos {
			r.diverge("the handler waited on journal index %d before producing it (next index %d)", i, r.pos)
		}
	}
	if !r.replayed(&journal.Entry{Kind: journal.KindSelect}) {
		r.stop()
	}
	index := r.pos - 1
	j := &r.journal[index]
	var choice int
	if err := json.Unmarshal(j.Result.Value, &choice); err != nil || choice < 0 || choice >= len(indices) {
		r.diverge("at journal index %d the journaled choice %s does not name one of the %d futures waited on", index, j.Result, len(indices))
	}
	return choice
}

// EnterRun implements durable.Runtime: the journaled result; the side effect never runs, and a
// run the journal does not hold yet stops the handler before it.
func (r *twinReplay) EnterRun(name string) (journal.Result, bool) {
	r.live()
	if !r.replayed(&journal.Entry{Kind: journal.KindRun, Name: name}) {
		r.stopped = true
		return durable.Stopped(), true
	}
	return r.journal[r.pos-1].Result, true
}

// LeaveRun implements durable.Runtime; EnterRun never lets a side effect run, so there is none
// to leave.
func (r *twinReplay) LeaveRun() {}

// EndRun implements durable.Runtime; EnterRun never lets a side effect run, so a call is a
// handler calling the runtime on its own, which no replayed journal can hold.
func (r *twinReplay) EndRun(journal.Result, error) journal.Result {
	r.live()
	r.diverge("at journal index %d the handler ended a side effect it never began", r.pos)
	return journal.Result{}
}

// Fail implements durable.Runtime: a terminal failure is the handler's output, and only where
// the journal ends.
func (r *twinReplay) Fail(f journal.Failure) {
	r.live()
	if int(r.pos) < len(r.journal) {
		r.diverge("at journal index %d the journal has %s, the handler failed instead (%s)", r.pos, r.journal[r.pos], f.Message)
	}
	r.setOutput(nil, &f)
	r.stop()
}

// Rand implements durable.Runtime: the source every attempt of the invocation draws from.
func (r *twinReplay) Rand() *rand.Rand {
	r.live()
	if r.rng == nil {
		hi, lo := durable.SeedOf(r.inv)
		r.rng = rand.New(rand.NewPCG(hi, lo))
	}
	return r.rng
}

// Now implements durable.Runtime with the world's virtual time; only a Run's closure reads it,
// and the twin never calls one.
func (r *twinReplay) Now() time.Time { return r.now }
