package host

import (
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vigilsim/vigil/internal/opentable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// Core is the host's group commit without goroutines, channels or clock: the one piece of the
// production driver that decides when an effect may leave. The engine goroutine (loop.go) wraps
// it with a channel and a goroutine; the simulator (sim) drives the same Core on virtual time,
// with a store that can crash and a sync that completes as an event, so that the code that
// acknowledges in production is the code the campaigns test.
//
// Each input steps the engine (Ingress, Receive, FireTimer, Forget); Take takes the step's
// Ready and Apply applies its batch at once (the engine reads what it wrote in its next step).
// The Readies applied since the last Sync form the group. Sync makes the group durable with
// one store Sync; Perform then performs the synced Readies' effects in order: messages, replies,
// timers. Commit is Sync then Perform, what the engine goroutine does at the end of each group.
// Only a gated start leaves at Apply (see speculate): its attempt runs while the group is open,
// so that a call ending inside the group costs the group's one sync.
//
//	step ──► Take ──► Apply ──► (more steps join the group) ──► Sync ──► Perform
//	                    │                                          │
//	                    └───────── store error ────────────────────┴──► nothing of the group
//	                                                                    leaves; the caller stops
//	                                                                    (host) or crashes (sim)
//
// A Core is not safe for concurrent use, except Stats, which any goroutine may call.
type Core struct {
	eng   *engine.Engine
	store store.Store
	fx    Effects
	now   func() time.Time
	log   *slog.Logger
	// replyTo answers the open requests whose Ingress gave no callback (CoreConfig.Reply).
	replyTo func(engine.RequestID, ingress.Response)

	// pending holds the reply callbacks of ingress requests the engine has not answered yet
	// (nil for a request that replyTo answers). A table rather than a map: request IDs come in
	// increasing order and most are answered soon (opentable).
	pending opentable.Table[engine.RequestID, func(ingress.Response)]
	// taken is the Ready Take took and Apply has not applied yet; hasTaken tells it is there.
	taken    engine.Ready
	hasTaken bool
	// group are the Readies applied since the last Sync; applied counts their batches.
	group   []engine.Ready
	applied int
	// synced are the Readies whose batches a Sync made durable, their effects not performed yet.
	synced []engine.Ready
	// stepped counts the inputs stepped since the last Sync.
	stepped int
	// speculating holds the attempts whose gated starts the group sent before its sync, until
	// each ends or parks (see Speculating); the group is their one chance to join the sync.
	speculating []attemptRef
	// waits counts the attempts in speculating whose wait is set: Speculating is asked at every
	// input of a held group, so it is kept here rather than counted there.
	waits int
	// holds learns, per handler, whether holding a group open for its speculative attempts
	// pays (see holdScore).
	holds map[handlerKey]*holdScore

	stats struct {
		inputs, groups, batches, syncs atomic.Uint64
		syncTime, open                 atomic.Int64
	}
}

// attemptRef names one attempt of an invocation started speculatively, with what the Core
// learns from it: its handler's holdScore, and whether the group waits for it.
type attemptRef struct {
	inv     protocol.InvocationID
	attempt uint32
	hold    *holdScore
	wait    bool
}

type handlerKey struct{ service, handler string }

// holdScore says whether a handler's speculative attempts tend to end before their group's
// sync (an echo: holding the group open saves the call a second fsync) or to park first (at a
// side effect, which waits for the sync anyway, or on an awakeable: holding only delays the
// group). It rises by one for each attempt that ends and falls by one for each that parks,
// between holdScoreMin and holdScoreMax; a group waits for a handler's attempts while its
// score is not negative, and for every holdProbe-th start otherwise, so that a handler whose
// behaviour changes is noticed.
type holdScore struct {
	score  int8
	starts uint8
}

const (
	holdScoreMin = -4
	holdScoreMax = 3
	holdProbe    = 16
)

// holdFor returns the holdScore of the handler of start m, made on first use.
func (c *Core) holdFor(m *protocol.Message) *holdScore {
	k := handlerKey{m.Service, m.Handler}
	hs := c.holds[k]
	if hs == nil {
		if c.holds == nil {
			c.holds = map[handlerKey]*holdScore{}
		}
		hs = &holdScore{}
		c.holds[k] = hs
	}
	return hs
}

// Effects is where a Core's outputs leave. The Core calls it only for Readies whose batches
// are durable (Durable first, then Send and Arm in the engine's order), so an implementation
// performs them at once. The one exception is a gated start (protocol.Message.Gated), which
// Send gets as soon as its batch is applied; the Core sends the attempt a protocol.KindDurable
// in the start's place once the batch is synced. Replies leave through the callbacks given to
// Ingress, not through Effects.
type Effects interface {
	// Send hands m to the executor that runs (or is to run) its invocation. *m is the Core's,
	// by reference because a message is some 300 bytes: read it during the call, keep a copy.
	Send(m *protocol.Message)
	// Arm arranges for t to be stepped through FireTimer when its deadline comes.
	Arm(t engine.Timer)
	// Durable is called once for each Ready of a synced group, in order, before any of the
	// group's effects leaves: r's batch and every batch before it are durable, so its notes
	// are facts now. The production host ignores it; the simulator records the notes. r and
	// its slices are the Core's: once performed, the engine reuses them (Engine.Recycle), so
	// an implementation copies what it keeps.
	Durable(r *engine.Ready)
}

// CoreConfig is what NewCore needs.
type CoreConfig struct {
	// Engine is the engine the Core steps; it must be built (or recovered) over Store.
	Engine *engine.Engine
	// Store is the store the Core applies batches to and syncs.
	Store store.Store
	// Effects performs the durable Readies' messages and timers.
	Effects Effects
	// Now, when set, times each Sync for CoreStats.SyncTime. The simulator leaves it nil: it
	// reads no wall clock.
	Now func() time.Time
	// Logger, when set, gets one debug line per group commit that wrote something.
	Logger *slog.Logger
	// Reply, when set, answers every request given to Ingress without a reply callback, with
	// the request's ID: a driver that keeps its requests by ID itself (the simulator) then
	// makes no callback per request. Required when Ingress is called with a nil callback.
	Reply func(id engine.RequestID, r ingress.Response)
}

// CoreStats counts a Core's work since NewCore, so that tests and metrics can see group commit.
type CoreStats struct {
	// Inputs is the number of inputs stepped.
	Inputs uint64
	// Groups is the number of groups ended by a Sync, each with at most one store Sync.
	Groups uint64
	// Batches is the number of non-empty store batches synced.
	Batches uint64
	// Syncs is the number of store Syncs that had batches to make durable.
	Syncs uint64
	// SyncTime is the total time spent in those Syncs (zero without CoreConfig.Now).
	SyncTime time.Duration
	// OpenRequests is the number of ingress requests not answered yet.
	OpenRequests int64
}

// NewCore returns a Core over cfg's engine and store with an empty group. What recovery left
// in the engine is the first thing Take takes.
func NewCore(cfg CoreConfig) *Core {
	return &Core{
		eng:     cfg.Engine,
		store:   cfg.Store,
		fx:      cfg.Effects,
		now:     cfg.Now,
		log:     cfg.Logger,
		replyTo: cfg.Reply,
	}
}

// Reset makes c what NewCore(cfg) returns: nothing of its past carries over (open requests,
// the group, synced Readies, speculating attempts, what it learned of handlers, its counters),
// only the room of its buffers, so that a driver that restarts its engine often (the simulator,
// at every crash) does not grow them afresh each time. The caller must not use c meanwhile.
func (c *Core) Reset(cfg CoreConfig) {
	c.pending.Clear()
	// The Readies of the past are never performed now (the driver crashed): the new engine
	// takes their slices back, emptied (Engine.Recycle), to fill its own. The driver read what
	// it wanted of them (the simulator, the notes of the batches a crash kept) before.
	for i := range c.group {
		cfg.Engine.Recycle(&c.group[i])
	}
	for i := range c.synced {
		cfg.Engine.Recycle(&c.synced[i])
	}
	if c.hasTaken {
		cfg.Engine.Recycle(&c.taken)
	}
	clear(c.group)
	clear(c.synced)
	clear(c.speculating)
	// A zero score is what a handler met for the first time gets (holdFor), so zeroing each
	// kept score is forgetting it; the order of the walk is immaterial.
	for _, hs := range c.holds {
		*hs = holdScore{}
	}
	c.eng, c.store, c.fx, c.now, c.log, c.replyTo = cfg.Engine, cfg.Store, cfg.Effects, cfg.Now, cfg.Logger, cfg.Reply
	c.taken, c.hasTaken = engine.Ready{}, false
	c.group, c.applied = c.group[:0], 0
	c.synced = c.synced[:0]
	c.stepped = 0
	c.speculating, c.waits = c.speculating[:0], 0
	c.stats.inputs.Store(0)
	c.stats.groups.Store(0)
	c.stats.batches.Store(0)
	c.stats.syncs.Store(0)
	c.stats.syncTime.Store(0)
	c.stats.open.Store(0)
}

// Engine returns the engine the Core steps, for reads (WaitingOn, Unfinished, read problems).
func (c *Core) Engine() *engine.Engine { return c.eng }

// Ingress steps the engine with ingress request id; reply gets the one response to it once the
// batch it depends on is durable (or from Forget, or Abandon). A nil reply leaves the response
// to CoreConfig.Reply.
func (c *Core) Ingress(id engine.RequestID, req ingress.Request, reply func(ingress.Response)) {
	if reply == nil && c.replyTo == nil {
		panic("host: Core.Ingress without a reply callback, and CoreConfig.Reply is not set")
	}
	c.pending.Put(id, reply)
	c.stepped++
	c.stats.open.Add(1)
	c.eng.Ingress(id, req)
}

// Receive steps the engine with a message from an executor. A Parked notice is the Core's own:
// it only tells Speculating that the attempt waits.
func (c *Core) Receive(m protocol.Message) { c.ReceiveMessage(&m) }

// ReceiveMessage is Receive with the message by reference (engine.Engine.ReceiveMessage): *m
// is read during the call only; nothing keeps or changes it.
func (c *Core) ReceiveMessage(m *protocol.Message) {
	switch m.Kind {
	case protocol.KindParked:
		c.settled(m, false)
		return
	case protocol.KindSuspend:
		c.settled(m, false)
	case protocol.KindEnd, protocol.KindError:
		c.settled(m, true)
	}
	c.stepped++
	c.eng.ReceiveMessage(m)
}

// settled drops the attempt of m from the speculating ones, which ended or waits, and scores
// its handler.
func (c *Core) settled(m *protocol.Message, ended bool) {
	for i, a := range c.speculating {
		if a.inv == m.Invocation && a.attempt == m.Attempt {
			if ended {
				a.hold.score = min(a.hold.score+1, holdScoreMax)
			} else {
				a.hold.score = max(a.hold.score-1, holdScoreMin)
			}
			if a.wait {
				c.waits--
			}
			c.speculating = slices.Delete(c.speculating, i, i+1)
			return
		}
	}
}

// Speculating returns how many attempts that the group started before its sync still run (they
// have neither ended nor parked) and are worth waiting for (see holdScore). A driver that holds
// the group open a little longer while some do lets a call that ends inside the group cost the
// group's one sync, instead of a second one.
func (c *Core) Speculating() int { return c.waits }

// FireTimer steps the engine with a timer that Effects.Arm armed and that is now due.
func (c *Core) FireTimer(t engine.Timer) {
	c.stepped++
	c.eng.FireTimer(t)
}

// Forget tells the engine that the client of request id went away, and answers its callback
// with 499 (nobody reads it, but a backend owes one reply per request). It produces no output.
func (c *Core) Forget(id engine.RequestID) {
	c.stepped++
	c.eng.Forget(id)
	if reply, ok := c.pending.Take(id); ok {
		c.stats.open.Add(-1)
		c.answer(id, reply, ingress.ErrorResponse(499, "the client closed the request"))
	}
}

// Take takes the engine's Ready for the steps made since the last Take, for Apply to apply. It
// reports whether there is anything to apply or perform (ok) and whether that includes a store
// batch. A caller may crash between Take and Apply: nothing of the Ready is applied then.
func (c *Core) Take() (ok, batch bool) {
	if c.hasTaken {
		panic("host: Core.Take before the previous Ready was applied")
	}
	r := c.eng.Ready()
	if r.Empty() {
		c.eng.Recycle(&r)
		return false, false
	}
	c.taken, c.hasTaken = r, true
	return true, len(r.Batch) > 0
}

// Apply applies the batch of the Ready Take took and adds the Ready to the group. Apply is
// cheap (bbolt's group commit queues it in memory); the group's one Sync comes later, before
// any effect leaves. On a store error the Ready is dropped and the error returned: the caller
// must perform nothing more (the host stops; the simulator crashes the node).
func (c *Core) Apply() error {
	if !c.hasTaken {
		return nil
	}
	r := c.taken
	c.taken, c.hasTaken = engine.Ready{}, false
	if len(r.Batch) > 0 {
		if err := c.store.Apply(r.Batch); err != nil {
			return &coreError{prefix: "apply batch: ", err: err}
		}
		c.applied++
	}
	if mutant.On(mutant.AckBeforeSync) {
		// Planted bug: the replies leave before the batch they acknowledge is synced.
		c.reply(r.Replies)
		r.Replies = nil
	}
	c.speculate(&r)
	c.group = append(c.group, r)
	return nil
}

// speculate sends r's gated starts now, before the sync, and puts a Durable for each in its
// place among r's messages, to leave once r's batch is durable. A gated start shares its batch
// with its invocation's acceptance, and its attempt runs no side effect before the Durable: if
// the batch is lost, the invocation and everything the attempt did are lost together.
func (c *Core) speculate(r *engine.Ready) {
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Kind != protocol.KindStart || !m.Gated {
			continue
		}
		// Sending it now overtakes no message waiting in the group or for Perform: a gated
		// start's invocation was created in this very step, under an ID the engine checks it
		// never gave out before, so no earlier message can be for it.
		c.fx.Send(m)
		hs := c.holdFor(m)
		hs.starts++
		wait := hs.score >= 0 || hs.starts%holdProbe == 0
		c.speculating = append(c.speculating, attemptRef{m.Invocation, m.Attempt, hs, wait})
		if wait {
			c.waits++
		}
		*m = protocol.Message{Kind: protocol.KindDurable, Invocation: m.Invocation, Attempt: m.Attempt}
		if mutant.On(mutant.DurableBeforeSync) {
			// Planted bug: the attempt hears its start is durable before the sync.
			c.fx.Send(m)
		}
	}
}

// Flush is Take then Apply: the engine goroutine's step of one input.
func (c *Core) Flush() error {
	if ok, _ := c.Take(); !ok {
		return nil
	}
	return c.Apply()
}

// Waiting reports whether Readies wait in the group or for Perform: a Ready taken now must
// then wait for them, so that effects leave in the order the engine produced them.
func (c *Core) Waiting() bool { return len(c.group) > 0 || len(c.synced) > 0 }

// Unsynced returns the Readies of the group, applied and not synced, in order. The caller
// must not keep or change them; the simulator reads it at a crash to learn whose notes survive.
func (c *Core) Unsynced() []engine.Ready { return c.group }

// UnsyncedBatches returns the number of store batches applied since the last Sync.
func (c *Core) UnsyncedBatches() int { return c.applied }

// Synced returns the number of Readies that a Sync made durable and whose effects wait for
// Perform.
func (c *Core) Synced() int { return len(c.synced) }

// Sync ends the group: it makes the group's batches durable with one store Sync (none when it
// applied no batch), tells Effects.Durable of each Ready, and moves them to wait for Perform.
// On a store error it returns the error and the group stays unsynced: none of its effects may
// leave, and the caller must perform nothing more.
func (c *Core) Sync() error {
	_, err := c.sync()
	return err
}

func (c *Core) sync() (time.Duration, error) {
	batches := c.applied
	c.applied = 0
	c.stats.inputs.Add(uint64(c.stepped))
	c.stepped = 0
	c.stats.groups.Add(1)
	var took time.Duration
	if batches > 0 {
		var start time.Time
		if c.now != nil {
			start = c.now()
		}
		if err := c.store.Sync(); err != nil && !mutant.On(mutant.IgnoreSyncError) {
			return 0, &coreError{prefix: "sync: ", err: err}
		}
		// With IgnoreSyncError planted, a failed Sync falls through here: the group is taken
		// as durable and its effects leave.
		if c.now != nil {
			took = c.now().Sub(start)
		}
		c.stats.batches.Add(uint64(batches))
		c.stats.syncs.Add(1)
		c.stats.syncTime.Add(int64(took))
	}
	for i := range c.group {
		c.fx.Durable(&c.group[i])
	}
	if len(c.synced) == 0 {
		// Nothing synced waits to be performed, as is usual: the group becomes the synced list
		// by trading the two slices (the synced one was cleared when it was last performed),
		// instead of copying each Ready across and clearing the group's.
		c.synced, c.group = c.group, c.synced[:0]
	} else {
		c.synced = append(c.synced, c.group...)
		clear(c.group) // let the group's values go
		c.group = c.group[:0]
	}
	c.speculating, c.waits = c.speculating[:0], 0
	return took, nil
}

// Perform performs the effects of every synced Ready, in order: each Ready's messages, then
// its replies, then its timers.
func (c *Core) Perform() { c.perform() }

func (c *Core) perform() (messages, replies, timers int) {
	for i := range c.synced {
		r := &c.synced[i]
		// By reference: a message is some 300 bytes, copied only where Send keeps it.
		for k := range r.Messages {
			c.fx.Send(&r.Messages[k])
		}
		c.reply(r.Replies)
		for k := range r.Timers {
			c.fx.Arm(r.Timers[k])
		}
		messages += len(r.Messages)
		replies += len(r.Replies)
		timers += len(r.Timers)
		// Performed: nothing reads r again (Effects took each value by copy), so the engine
		// may fill its slices anew.
		c.eng.Recycle(r)
	}
	// No clear(c.synced) to let the values go: Recycle left each Ready zero.
	c.synced = c.synced[:0]
	return messages, replies, timers
}

// coreError is what fmt.Errorf(prefix+"%w", err) makes: a store error with the step it broke.
// A value of its own, not fmt's: the simulator fails a sync in many runs, and reads the error
// with errors.Is only.
type coreError struct {
	prefix string
	err    error
}

func (e *coreError) Error() string { return e.prefix + e.err.Error() }

func (e *coreError) Unwrap() error { return e.err }

// Commit is Sync then Perform: the end of one group of the engine goroutine.
func (c *Core) Commit() error {
	inputs, batches := c.stepped, c.applied
	took, err := c.sync()
	if err != nil {
		return err
	}
	messages, replies, timers := c.perform()
	if batches > 0 && c.log != nil {
		c.log.Debug("group commit", "inputs", inputs, "batches", batches, "sync", took,
			"messages", messages, "replies", replies, "timers", timers)
	}
	return nil
}

// reply answers each reply's request, if it is still open.
func (c *Core) reply(reps []engine.Reply) {
	for i := range reps {
		rep := &reps[i]
		if reply, ok := c.pending.Take(rep.Request); ok {
			c.stats.open.Add(-1)
			c.answer(rep.Request, reply, rep.Response)
		}
	}
}

// answer gives request id its response r: through its own callback reply, or CoreConfig.Reply
// when it has none.
func (c *Core) answer(id engine.RequestID, reply func(ingress.Response), r ingress.Response) {
	if reply == nil {
		c.replyTo(id, r)
		return
	}
	reply(r)
}

// Abandon answers every open request with answer(id), in request ID order (the order they
// arrived), and forgets them: the caller stops without waiting for their invocations.
func (c *Core) Abandon(answer func(id engine.RequestID) ingress.Response) {
	for _, id := range c.pending.AppendIDs(nil) {
		reply, _ := c.pending.Take(id)
		c.stats.open.Add(-1)
		c.answer(id, reply, answer(id))
	}
}

// Stats returns the Core's counters. Any goroutine may call it.
func (c *Core) Stats() CoreStats {
	return CoreStats{
		Inputs:       c.stats.inputs.Load(),
		Groups:       c.stats.groups.Load(),
		Batches:      c.stats.batches.Load(),
		Syncs:        c.stats.syncs.Load(),
		SyncTime:     time.Duration(c.stats.syncTime.Load()),
		OpenRequests: c.stats.open.Load(),
	}
}
