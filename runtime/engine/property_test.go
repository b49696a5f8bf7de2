package engine_test

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestRecoverNeverPanics: a recovery scan of any keys and values either recovers or returns an
// error wrapping ErrCorruptStore, and an engine it returns survives being driven.
func TestRecoverNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ids := []protocol.InvocationID{idN(1), idN(2), {}}
		idGen := rapid.SampledFrom(ids)
		keyGen := rapid.OneOf(
			rapid.Custom(func(t *rapid.T) string { return engine.InvocationKey(idGen.Draw(t, "id")) }),
			rapid.Custom(func(t *rapid.T) string {
				return engine.EntryKey(idGen.Draw(t, "id"), rapid.Uint32Range(0, 4).Draw(t, "index"))
			}),
			rapid.Custom(func(t *rapid.T) string {
				return engine.EarlyKey(idGen.Draw(t, "id"), rapid.Uint32Range(0, 4).Draw(t, "index"))
			}),
			rapid.Custom(func(t *rapid.T) string {
				return rapid.SampledFrom([]string{"inv/", "jnl/", "jne/", "q/", "", "x/", "st/", "pr/", "wf/", "idem/", "meta/"}).Draw(t, "prefix") + rapid.String().Draw(t, "rest")
			}),
			rapid.Custom(func(t *rapid.T) string {
				// Well-formed keys of objects, workflows and idempotency.
				return rapid.SampledFrom([]string{"meta/seq", "wf/Greeter/k", "st/Greeter/k/n", "pr/Greeter/k/p", "idem/Greeter/greet//once"}).Draw(t, "key")
			}),
			rapid.Custom(func(t *rapid.T) string {
				// A journal key of a known invocation with a mangled index.
				return engine.EntryKey(idGen.Draw(t, "id"), 0)[:37] + "/" + rapid.StringMatching(`[0-9a-fA-F+_x-]{0,10}`).Draw(t, "idx")
			}),
		)
		resultGen := rapid.Custom(func(t *rapid.T) journal.Result {
			if rapid.Bool().Draw(t, "failed") {
				return journal.Result{Failure: &journal.Failure{Code: rapid.Uint16().Draw(t, "code"), Message: rapid.String().Draw(t, "msg")}}
			}
			return journal.Result{Value: rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "value")}
		})
		validValue := rapid.OneOf(
			rapid.Custom(func(t *rapid.T) []byte {
				encode := engine.EncodeRecord
				if rapid.Bool().Draw(t, "legacy") {
					encode = engine.EncodeLegacyRecord
				}
				return encode(engine.Record{
					Service:  rapid.SampledFrom([]string{"Greeter", "Other", "Gone", ""}).Draw(t, "service"),
					Handler:  rapid.SampledFrom([]string{"greet", "run", "x"}).Draw(t, "handler"),
					Status:   rapid.Uint8Range(0, 5).Draw(t, "status"),
					Attempt:  rapid.Uint32().Draw(t, "attempt"),
					Failures: rapid.Uint32().Draw(t, "failures"),
					RetryAt:  time.Unix(0, rapid.Int64().Draw(t, "retryAt")),
					Waiting:  rapid.SliceOfN(rapid.Uint32Range(0, 6), 0, 3).Draw(t, "waiting"),
				})
			}),
			rapid.Custom(func(t *rapid.T) []byte {
				return engine.EncodeLegacyRecord(engine.Record{
					Service: rapid.SampledFrom([]string{"Greeter", "Other", ""}).Draw(t, "service"),
					Handler: rapid.SampledFrom([]string{"greet", "run", "x"}).Draw(t, "handler"),
					Status:  rapid.Uint8Range(0, 5).Draw(t, "status"),
					Early:   rapid.MapOfN(rapid.Uint32Range(0, 6), resultGen, 0, 2).Draw(t, "early"),
				})
			}),
			rapid.Custom(func(t *rapid.T) []byte {
				return journal.MarshalEntry(journal.Entry{
					Kind:      journal.Kind(rapid.Uint8Range(0, 6).Draw(t, "kind")),
					Name:      rapid.StringN(0, 3, -1).Draw(t, "name"),
					Target:    rapid.SampledFrom([]string{"", "sign_1x", awk(idN(1), 1)}).Draw(t, "target"),
					Completed: rapid.Bool().Draw(t, "completed"),
					Result:    resultGen.Draw(t, "result"),
				})
			}),
		)
		valueGen := rapid.OneOf(
			validValue,
			rapid.SliceOfN(rapid.Byte(), 0, 24),
			rapid.Custom(func(t *rapid.T) []byte {
				// A valid value with one byte changed or cut short.
				v := validValue.Draw(t, "valid")
				if len(v) == 0 {
					return v
				}
				i := rapid.IntRange(0, len(v)-1).Draw(t, "at")
				if rapid.Bool().Draw(t, "truncate") {
					return v[:i]
				}
				v[i] ^= rapid.Byte().Draw(t, "flip")
				return v
			}),
		)
		var pairs map[string][]byte
		if rapid.Bool().Draw(t, "coherent") {
			pairs = coherentStore(t, resultGen)
		} else {
			pairs = rapid.MapOfN(keyGen, valueGen, 0, 8).Draw(t, "store")
		}
		var st fakeStore
		for _, k := range slices.Sorted(maps.Keys(pairs)) {
			st.pairs = append(st.pairs, kv(k, pairs[k]))
		}

		h := newHarness(t)
		h.nextID = 1 << 32 // IDs the store cannot hold
		e, err := engine.Recover(withStore(h.cfg, st))
		if err != nil {
			// Nothing a record holds may stop recovery: bad records are set aside instead.
			t.Fatalf("recovery failed: %v", err)
		}
		r := e.Ready()
		// What was set aside stays aside: a second start on the store the first one left meets
		// no problem, so a bad record cannot make a crash loop.
		for _, op := range r.Batch {
			if op.Delete {
				delete(pairs, op.Key)
			} else {
				pairs[op.Key] = op.Value
			}
		}
		delete(pairs, "") // no real store holds the empty key: only a hand-built scan has it
		var again fakeStore
		for _, k := range slices.Sorted(maps.Keys(pairs)) {
			again.pairs = append(again.pairs, kv(k, pairs[k]))
		}
		e2, err := engine.Recover(withStore(h.cfg, again))
		if err != nil {
			t.Fatalf("second recovery failed: %v", err)
		}
		if p := e2.Problems(); len(p) > 0 {
			t.Fatalf("the second start still finds problems: %v (first found %v)", p, e.Problems())
		}
		// Drive whatever came back.
		for _, tm := range r.Timers {
			e.FireTimer(tm)
		}
		for _, id := range engine.IDs(e) {
			e.Ingress(1, ingress.Request{Kind: ingress.Output, InvocationID: id.String()})
			e.Ingress(2, ingress.Request{Kind: ingress.Attach, InvocationID: id.String()})
			e.Ingress(3, ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: awk(id, 1), Body: []byte("1")})
			a := engine.Attempt(e, id)
			n := uint32(engine.JournalLen(e, id))
			e.Receive(cmd(id, a, n, awakeableEntry()))
			e.Receive(suspendMsg(id, a, n+1, n, 0))
			e.Receive(endMsg(id, engine.Attempt(e, id), uint32(engine.JournalLen(e, id)), "1"))
		}
		e.Ingress(4, ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: "greet"})
		e.Ready()
	})
}

// coherentStore draws a store that looks like one the engine wrote: records with journals that
// start with an input and end with an output when done, an acceptance sequence, maybe a workflow
// record and state; most recover, so the engine behind them gets driven. Fields are otherwise
// random (statuses, attempts, deadlines, waits, completions), and sometimes one value is mangled.
func coherentStore(t *rapid.T, resultGen *rapid.Generator[journal.Result]) map[string][]byte {
	pairs := map[string][]byte{}
	n := rapid.IntRange(1, 3).Draw(t, "invocations")
	deadline := rapid.Custom(func(t *rapid.T) time.Time {
		return epoch.Add(time.Duration(rapid.Int64Range(-int64(time.Hour), int64(48*time.Hour)).Draw(t, "offset")))
	})
	for k := 1; k <= n; k++ {
		id := idN(uint64(k))
		st := rapid.SampledFrom([]uint8{engine.StatusRunning, engine.StatusSuspended, engine.StatusBackingOff, engine.StatusDone, engine.StatusPending}).Draw(t, "status")
		j := []journal.Entry{{Kind: journal.KindInput, Result: resultGen.Draw(t, "input")}}
		for range rapid.IntRange(0, 4).Draw(t, "entries") {
			kind := rapid.SampledFrom([]journal.Kind{journal.KindRun, journal.KindAwakeable, journal.KindCompleteAwakeable, journal.KindSleep, journal.KindGetState, journal.KindGetPromise}).Draw(t, "kind")
			en := journal.Entry{Kind: kind, Name: "n", Completed: rapid.Bool().Draw(t, "completed"), Result: resultGen.Draw(t, "result")}
			if kind == journal.KindSleep {
				en.Deadline = deadline.Draw(t, "sleepUntil").UnixNano()
			}
			if kind == journal.KindCompleteAwakeable {
				en.Target = awk(idN(uint64(rapid.IntRange(1, 3).Draw(t, "target"))), 1)
			}
			j = append(j, en)
		}
		if st == engine.StatusDone {
			j = append(j, journal.Entry{Kind: journal.KindOutput, Result: resultGen.Draw(t, "output")})
		}
		r := engine.Record{
			Service:  rapid.SampledFrom([]string{"Greeter", "Other", "Gone"}).Draw(t, "service"),
			Handler:  "greet",
			Status:   st,
			Attempt:  rapid.Uint32Range(0, 5).Draw(t, "attempt"),
			Failures: rapid.Uint32Range(0, 80).Draw(t, "failures"),
			Seq:      uint64(k),
		}
		early := rapid.MapOfN(rapid.Uint32Range(0, 6), resultGen, 0, 2).Draw(t, "early")
		if st == engine.StatusBackingOff {
			r.RetryAt = deadline.Draw(t, "retryAt")
		}
		if st == engine.StatusDone && rapid.Bool().Draw(t, "purges") {
			r.PurgeAt = deadline.Draw(t, "purgeAt")
		}
		if st == engine.StatusSuspended {
			r.Waiting = rapid.SliceOfN(rapid.Uint32Range(0, uint32(len(j)-1)), 0, 2).Draw(t, "waiting")
		}
		if rapid.Bool().Draw(t, "legacy") {
			// Written before version 2: early completions inside the record.
			r.Early = early
			pairs[engine.InvocationKey(id)] = engine.EncodeLegacyRecord(r)
		} else {
			pairs[engine.InvocationKey(id)] = engine.EncodeRecord(r)
			for idx, res := range early {
				pairs[engine.EarlyKey(id, idx)] = engine.EncodeEarly(res)
			}
		}
		for i, en := range j {
			pairs[engine.EntryKey(id, uint32(i))] = journal.MarshalEntry(en)
		}
	}
	pairs["meta/seq"] = binary.AppendUvarint(nil, uint64(n+rapid.IntRange(0, 2).Draw(t, "moreSeq")))
	if rapid.Bool().Draw(t, "mangle") {
		keys := slices.Sorted(maps.Keys(pairs))
		k := rapid.SampledFrom(keys).Draw(t, "mangled")
		if v := pairs[k]; len(v) > 0 {
			i := rapid.IntRange(0, len(v)-1).Draw(t, "at")
			v[i] ^= rapid.Byte().Draw(t, "flip")
		}
	}
	return pairs
}

// engineMachine drives one engine through random inputs, with a driver that syncs (or not)
// after each step and an executor whose messages travel through a network that reorders,
// duplicates and drops them, and checks the invariants of the history after every step.
type engineMachine struct {
	h *harness
	// spare, when the harness reuses engines, is the engine the checks' recoveries are rebuilt
	// over, one after the other (engine.RecoverOver): each must see nothing of the last.
	spare *engine.Engine

	// pending are Readies applied to the store but not synced: not released, and lost (with
	// their notes) if a crash keeps fewer of them.
	pending []engine.Ready

	// Executor side.
	views   map[protocol.InvocationID]*execView // the attempt the executor runs, from the last released Start
	network []protocol.Message                  // in flight to the engine, any order
	sent    []protocol.Message                  // everything the executor ever sent (for stale redelivery)

	// What the history knows, from released Readies and durable notes.
	ids       []protocol.InvocationID                    // every invocation whose creation was released
	known     map[protocol.InvocationID]bool             // the same, as a set
	awakes    []protocol.AwakeableID                     // awakeables journaled by some released Start or command
	accepted  map[protocol.AwakeableID]journal.Result    // durable accepted completions
	done      map[protocol.InvocationID]journal.Result   // durable outputs
	outputs   map[protocol.InvocationID]ingress.Response // first released output response
	lastStart map[protocol.InvocationID]uint32           // latest released attempt
	timers    []engine.Timer                             // released timers, armed in the driver
	oldTimers []engine.Timer                             // timers a crashed driver had armed
	resolves  map[engine.RequestID]protocol.AwakeableID  // resolve requests by ID
	replied   map[engine.RequestID]bool
	purged    map[protocol.InvocationID]bool // invocations whose purge is durable
}

type execView struct {
	attempt uint32
	known   uint32   // entries the executor knows: the start's journal and its own commands
	awakes  []uint32 // its awakeable and sleep indices: what it may suspend on
	stopped bool     // it sent suspend, end or error
}

func newEngineMachine(t *rapid.T) *engineMachine {
	maxAttempts := rapid.Uint32Range(1, 5).Draw(t, "maxAttempts")
	m := &engineMachine{
		h:         newHarness(t, func(c *engine.Config) { c.Retry.MaxAttempts = maxAttempts }),
		views:     map[protocol.InvocationID]*execView{},
		known:     map[protocol.InvocationID]bool{},
		accepted:  map[protocol.AwakeableID]journal.Result{},
		done:      map[protocol.InvocationID]journal.Result{},
		outputs:   map[protocol.InvocationID]ingress.Response{},
		lastStart: map[protocol.InvocationID]uint32{},
		resolves:  map[engine.RequestID]protocol.AwakeableID{},
		replied:   map[engine.RequestID]bool{},
		purged:    map[protocol.InvocationID]bool{},
	}
	m.h.reuse = rapid.Bool().Draw(t, "reuse")
	return m
}

// flush takes the engine's Ready and, depending on the draw, syncs it (releasing every pending
// Ready in order) or leaves it applied but unsynced.
func (m *engineMachine) flush(t *rapid.T) {
	r := m.h.stepUnsynced()
	// The contract: once this batch is durable, everything r says is backed by the store. The
	// store now holds exactly the state after r's batch, so check r against a recovery of it.
	rec, err := m.recover()
	if err != nil {
		t.Fatalf("recover for the contract check: %v", err)
	}
	if bad := backedBy(rec, r, m.resolves); len(bad) > 0 {
		t.Fatalf("Ready not backed by the state its batch makes durable:\n%s", strings.Join(bad, "\n"))
	}
	m.pending = append(m.pending, r)
	if rapid.IntRange(0, 3).Draw(t, "syncNow") > 0 {
		if err := m.h.store.Sync(); err != nil {
			t.Fatalf("sync: %v", err)
		}
		pending := m.pending
		m.pending = nil
		for _, p := range pending {
			m.durable(t, p)
			m.release(t, p)
		}
	}
	m.checkRecovery(t)
}

// durable records the notes of a Ready whose batch is durable and checks exactly-once.
func (m *engineMachine) durable(t *rapid.T, r engine.Ready) {
	for _, n := range r.Notes {
		switch n.Kind {
		case engine.NoteCompletionAccepted:
			aid := protocol.AwakeableID{Invocation: n.Invocation, Index: n.Index}
			if prev, dup := m.accepted[aid]; dup {
				t.Fatalf("second accepted completion of %s[%d]: %s after %s", n.Invocation, n.Index, n.Result, prev)
			}
			if _, finished := m.done[n.Invocation]; finished {
				t.Fatalf("completion of %s[%d] accepted after the invocation finished", n.Invocation, n.Index)
			}
			m.accepted[aid] = n.Result
		case engine.NoteInvocationDone:
			if prev, dup := m.done[n.Invocation]; dup {
				t.Fatalf("second InvocationDone for %s: %s after %s", n.Invocation, n.Result, prev)
			}
			m.done[n.Invocation] = n.Result
		case engine.NoteCompletionDropped:
			if n.Reason == "" {
				t.Fatalf("dropped completion without a reason: %+v", n)
			}
		case engine.NotePurged:
			if n.Reason == "invocation" {
				if _, finished := m.done[n.Invocation]; !finished {
					t.Fatalf("%s purged before it finished", n.Invocation)
				}
				// Its output is gone on purpose: reads answer 404 from now on.
				delete(m.outputs, n.Invocation)
				m.purged[n.Invocation] = true
			}
		}
	}
}

// release performs a synced Ready's effects and checks them against the history.
func (m *engineMachine) release(t *rapid.T, r engine.Ready) {
	for _, msg := range r.Messages {
		switch msg.Kind {
		case protocol.KindStart:
			if last := m.lastStart[msg.Invocation]; msg.Attempt <= last {
				t.Fatalf("start of %s attempt %d after attempt %d", msg.Invocation, msg.Attempt, last)
			}
			m.lastStart[msg.Invocation] = msg.Attempt
			if !m.known[msg.Invocation] {
				m.known[msg.Invocation] = true
				m.ids = append(m.ids, msg.Invocation)
			}
			v := &execView{attempt: msg.Attempt, known: uint32(len(msg.Journal))}
			for i, en := range msg.Journal {
				if en.Kind == journal.KindSleep {
					v.awakes = append(v.awakes, uint32(i))
				}
				if en.Kind == journal.KindAwakeable {
					v.awakes = append(v.awakes, uint32(i))
					m.noteAwakeable(msg.Invocation, uint32(i))
				}
				if en.Kind == journal.KindAwakeable && en.Completed {
					m.checkObserved(t, msg.Invocation, uint32(i), en.Result, "start")
				}
			}
			m.views[msg.Invocation] = v
		case protocol.KindCompletion:
			if msg.Entry.Kind == journal.KindAwakeable {
				m.checkObserved(t, msg.Invocation, msg.Index, msg.Entry.Result, "completion")
			}
			if msg.Attempt != m.lastStart[msg.Invocation] {
				t.Fatalf("completion for attempt %d of %s, whose latest start is %d", msg.Attempt, msg.Invocation, m.lastStart[msg.Invocation])
			}
		}
	}
	for _, rep := range r.Replies {
		if m.replied[rep.Request] {
			t.Fatalf("request %d answered twice", rep.Request)
		}
		m.replied[rep.Request] = true
		resp := rep.Response
		if resp.InvocationID == "" || resp.Status == 202 {
			continue
		}
		id, _ := protocol.ParseInvocationID(resp.InvocationID)
		if m.purged[id] {
			t.Fatalf("request %d got an output of %s after its purge was durable", rep.Request, id)
		}
		if prev, ok := m.outputs[id]; ok {
			if prev.Status != resp.Status || string(prev.Body) != string(resp.Body) {
				t.Fatalf("two outputs for %s: %d %s, then %d %s", id, prev.Status, prev.Body, resp.Status, resp.Body)
			}
		} else {
			m.outputs[id] = resp
		}
	}
	m.timers = append(m.timers, r.Timers...)
}

func (m *engineMachine) noteAwakeable(id protocol.InvocationID, i uint32) {
	aid := protocol.AwakeableID{Invocation: id, Index: i}
	if !slices.Contains(m.awakes, aid) {
		m.awakes = append(m.awakes, aid)
	}
}

// checkObserved: every value an attempt sees for an awakeable is the accepted one.
func (m *engineMachine) checkObserved(t *rapid.T, id protocol.InvocationID, i uint32, got journal.Result, where string) {
	want, ok := m.accepted[protocol.AwakeableID{Invocation: id, Index: i}]
	if !ok {
		t.Fatalf("%s of %s[%d] carries %s, but no completion was accepted", where, id, i, got)
	}
	if !got.Equal(want) {
		t.Fatalf("%s of %s[%d] carries %s, accepted %s", where, id, i, got, want)
	}
}

// checkRecovery: a recovery from the store as it stands reproduces the engine's durable state
// and the outputs the history has seen.
func (m *engineMachine) checkRecovery(t *rapid.T) {
	rec, err := m.recover()
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if want, got := engine.Snapshot(m.h.eng, true), engine.Snapshot(rec, false); want != got {
		t.Fatalf("recovered state differs\nengine:\n%s\nrecovered:\n%s", want, got)
	}
	m.checkOutputs(t, rec)
}

// recover recovers an engine from the store for a check: a new one, or, when the harness reuses
// engines, one rebuilt over the last check's.
func (m *engineMachine) recover() (*engine.Engine, error) {
	if !m.h.reuse {
		return engine.Recover(m.h.cfg)
	}
	rec, err := engine.RecoverOver(m.h.cfg, m.spare)
	if err == nil {
		m.spare = rec
	}
	return rec, err
}

// checkOutputs asks e for the output of every invocation with a released output.
func (m *engineMachine) checkOutputs(t *rapid.T, e *engine.Engine) {
	for _, id := range slices.SortedFunc(maps.Keys(m.outputs), func(a, b protocol.InvocationID) int {
		return slices.Compare(a[:], b[:])
	}) {
		e.Ingress(1<<62, ingress.Request{Kind: ingress.Output, InvocationID: id.String()})
		var got ingress.Response
		for _, rep := range e.Ready().Replies {
			got = rep.Response
		}
		if got.Status == 404 && m.purgePending(id) {
			continue // its purge is applied, not yet durable
		}
		if want := m.outputs[id]; got.Status != want.Status || string(got.Body) != string(want.Body) {
			t.Fatalf("output of %s is %d %s, was released as %d %s", id, got.Status, got.Body, want.Status, want.Body)
		}
	}
}

// Check holds after every action: nothing the engine owns is stuck for want of an output it
// has not produced. A running invocation's current attempt has a Start on its way (released or
// pending); a backing-off one has a timer for its deadline; a suspended one waits on nothing
// that is already there.
// purgePending reports whether an unsynced Ready purges id.
func (m *engineMachine) purgePending(id protocol.InvocationID) bool {
	for _, r := range m.pending {
		for _, n := range r.Notes {
			if n.Kind == engine.NotePurged && n.Invocation == id && n.Reason == "invocation" {
				return true
			}
		}
	}
	return false
}

func (m *engineMachine) Check(t *rapid.T) {
	starts := map[protocol.InvocationID]uint32{}
	timers := map[engine.Timer]bool{}
	norm := func(tm engine.Timer) engine.Timer { tm.Deadline = tm.Deadline.UTC(); return tm }
	for id, a := range m.lastStart {
		starts[id] = a
	}
	for _, tm := range m.timers {
		timers[norm(tm)] = true
	}
	for _, r := range m.pending {
		for _, msg := range r.Messages {
			if msg.Kind == protocol.KindStart {
				starts[msg.Invocation] = max(starts[msg.Invocation], msg.Attempt)
			}
		}
		for _, tm := range r.Timers {
			timers[norm(tm)] = true
		}
	}
	armed := func(tm engine.Timer) bool { return timers[norm(tm)] }
	// Finished invocations are in the store only; a sweep at or before each one's deadline
	// must be armed.
	for _, id := range engine.Finished(m.h.eng) {
		at := engine.PurgeAt(m.h.eng, id)
		if at.IsZero() {
			continue // a workflow's run, purged with its workflow
		}
		swept := false
		for tm := range timers {
			swept = swept || (tm.Kind == engine.TimerRetentionSweep && !tm.Deadline.After(at))
		}
		if !swept {
			t.Fatalf("%s is done, to be purged at %v, with no retention sweep armed for it", id, at)
		}
	}
	for _, id := range engine.IDs(m.h.eng) {
		st := engine.Status(m.h.eng, id)
		if st != "done" {
			for i := range engine.JournalLen(m.h.eng, id) {
				en, _ := engine.JournalEntry(m.h.eng, id, uint32(i))
				if en.Kind == journal.KindSleep && !en.Completed {
					if tm := (engine.Timer{Kind: engine.TimerSleep, Invocation: id, Index: uint32(i), Deadline: time.Unix(0, en.Deadline)}); !armed(tm) {
						t.Fatalf("%s sleeps at entry %d until %v with no timer armed for it", id, i, tm.Deadline)
					}
				}
			}
		}
		switch st {
		case "running":
			if a := engine.Attempt(m.h.eng, id); starts[id] != a {
				t.Fatalf("%s runs attempt %d, but the last start sent is for attempt %d", id, a, starts[id])
			}
		case "backing-off":
			at := engine.RetryAt(m.h.eng, id)
			if !armed(engine.Timer{Kind: engine.TimerRetry, Invocation: id, Deadline: at}) {
				t.Fatalf("%s backs off until %v with no timer armed for it", id, at)
			}
		case "suspended":
			for _, w := range engine.Waiting(m.h.eng, id) {
				if en, ok := engine.JournalEntry(m.h.eng, id, w); ok && (!en.Kind.Completable() || en.Completed) {
					t.Fatalf("%s suspended waiting on entry %d, which is ready: %s", id, w, en)
				}
			}
		}
	}
}

// Actions.

func (m *engineMachine) Call(t *rapid.T) {
	kind := rapid.SampledFrom([]ingress.RequestKind{ingress.Call, ingress.Send}).Draw(t, "kind")
	target := rapid.SampledFrom([][2]string{{"Greeter", "greet"}, {"Other", "run"}, {"Greeter", "nope"}}).Draw(t, "target")
	m.h.ingress(ingress.Request{Kind: kind, Service: target[0], Handler: target[1], Body: []byte(`"in"`)})
	m.flush(t)
}

func (m *engineMachine) AttachOrOutput(t *rapid.T) {
	kind := rapid.SampledFrom([]ingress.RequestKind{ingress.Attach, ingress.Output}).Draw(t, "kind")
	id := idN(1 << 40) // unknown
	if len(m.ids) > 0 && rapid.IntRange(0, 4).Draw(t, "known") > 0 {
		id = rapid.SampledFrom(m.ids).Draw(t, "id")
	}
	m.h.ingress(ingress.Request{Kind: kind, InvocationID: id.String()})
	m.flush(t)
}

func (m *engineMachine) Resolve(t *rapid.T) {
	var aid protocol.AwakeableID
	switch rapid.IntRange(0, 5).Draw(t, "which") {
	case 0, 1, 2: // a journaled awakeable (first resolve or a duplicate)
		if len(m.awakes) == 0 {
			t.Skip("no awakeable yet")
		}
		aid = rapid.SampledFrom(m.awakes).Draw(t, "awakeable")
	case 3: // early: an index the executor has not journaled yet
		if len(m.ids) == 0 {
			t.Skip("no invocation yet")
		}
		id := rapid.SampledFrom(m.ids).Draw(t, "id")
		aid = protocol.AwakeableID{Invocation: id, Index: uint32(engine.JournalLen(m.h.eng, id)) + rapid.Uint32Range(0, 2).Draw(t, "ahead")}
	case 4: // well formed, unknown invocation
		var id protocol.InvocationID
		id[0] = 0xff
		aid = protocol.AwakeableID{Invocation: id, Index: 1}
	case 5: // malformed
		m.h.ingress(ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: "sign_1" + rapid.StringMatching(`[A-Za-z0-9_!-]{0,30}`).Draw(t, "junk"), Body: []byte("1")})
		m.flush(t)
		return
	}
	var req engine.RequestID
	body := fmt.Sprintf(`"v%d"`, rapid.IntRange(0, 3).Draw(t, "v"))
	if rapid.Bool().Draw(t, "reject") {
		req = m.h.ingress(ingress.Request{Kind: ingress.RejectAwakeable, AwakeableID: aid.String(), Body: []byte(body)})
	} else {
		req = m.h.ingress(ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: aid.String(), Body: []byte(body)})
	}
	m.resolves[req] = aid
	m.flush(t)
}

// Exec makes a running attempt's executor emit its next message into the network.
func (m *engineMachine) Exec(t *rapid.T) {
	var live []protocol.InvocationID
	for _, id := range m.ids {
		if v := m.views[id]; v != nil && !v.stopped {
			live = append(live, id)
		}
	}
	if len(live) == 0 {
		t.Skip("no attempt runs")
	}
	id := rapid.SampledFrom(live).Draw(t, "id")
	v := m.views[id]
	var msg protocol.Message
	name := fmt.Sprintf("a%d", v.attempt) // which attempt made the entry
	switch rapid.IntRange(0, 11).Draw(t, "what") {
	case 0, 1, 2: // awakeable
		msg = cmd(id, v.attempt, v.known, journal.Entry{Kind: journal.KindAwakeable, Name: name})
		v.awakes = append(v.awakes, v.known)
		m.noteAwakeable(id, v.known) // its ID is handed out as soon as the handler has it
		v.known++
	case 3, 4: // run
		msg = cmd(id, v.attempt, v.known, runEntry(name, fmt.Sprint(v.known)))
		v.known++
	case 5: // complete another awakeable
		target := "sign_1bogus"
		if len(m.awakes) > 0 && rapid.IntRange(0, 3).Draw(t, "wellFormed") > 0 {
			target = rapid.SampledFrom(m.awakes).Draw(t, "target").String()
		}
		en := completeEntry(target, `"from-handler"`)
		en.Name = name
		msg = cmd(id, v.attempt, v.known, en)
		v.known++
	case 6, 7: // suspend on some of its awakeables
		if len(v.awakes) == 0 {
			t.Skip("nothing to wait on")
		}
		waiting := []uint32{rapid.SampledFrom(v.awakes).Draw(t, "waiting")}
		if w := rapid.SampledFrom(v.awakes).Draw(t, "alsoWaiting"); w != waiting[0] {
			waiting = append(waiting, w)
		}
		msg = suspendMsg(id, v.attempt, v.known, waiting...)
		v.stopped = true
	case 8: // end
		msg = endMsg(id, v.attempt, v.known, fmt.Sprintf(`"out%d"`, v.attempt))
		v.stopped = true
	case 9: // error
		msg = errorMsg(id, v.attempt, rapid.IntRange(0, 3).Draw(t, "retryable") > 0, "boom")
		v.stopped = true
	case 10: // a sleep, completed by a durable timer
		d := time.Duration(rapid.IntRange(0, 2000).Draw(t, "sleepMs")) * time.Millisecond
		msg = cmd(id, v.attempt, v.known, journal.Entry{Kind: journal.KindSleep, Name: name, Duration: d})
		v.awakes = append(v.awakes, v.known)
		v.known++
	case 11: // a command this service may not send: the attempt fails (input, output) or the
		// invocation does (state writes of a stateless service)
		kind := rapid.SampledFrom([]journal.Kind{journal.KindInput, journal.KindOutput, journal.KindSetState}).Draw(t, "kind")
		msg = cmd(id, v.attempt, v.known, journal.Entry{Kind: kind, Name: name})
		v.known++
	}
	m.network = append(m.network, msg)
	m.sent = append(m.sent, msg)
	// Often deliver at once, so that runs make progress.
	if rapid.Bool().Draw(t, "deliverNow") {
		m.deliver(t, len(m.network)-1, false)
	}
}

func (m *engineMachine) deliver(t *rapid.T, i int, keep bool) {
	msg := m.network[i]
	if !keep {
		m.network = slices.Delete(m.network, i, i+1)
	}
	m.receive(t, msg)
	m.flush(t)
}

// receive hands msg to the engine and checks that whatever it journaled came from the attempt
// that was current: a stale attempt's command or output must never extend the journal.
func (m *engineMachine) receive(t *rapid.T, msg protocol.Message) {
	id := msg.Invocation
	attempt := engine.Attempt(m.h.eng, id)
	n := engine.JournalLen(m.h.eng, id)
	m.h.eng.Receive(msg)
	for k := n; k < engine.JournalLen(m.h.eng, id); k++ {
		en, _ := engine.JournalEntry(m.h.eng, id, uint32(k))
		want := fmt.Sprintf("a%d", attempt)
		if en.Kind == journal.KindOutput {
			if en.Result.Failure == nil && string(en.Result.Value) != fmt.Sprintf(`"out%d"`, attempt) {
				t.Fatalf("%s: output %s journaled while attempt %d was current", msg, en, attempt)
			}
			continue
		}
		if en.Name != want {
			t.Fatalf("%s: entry %d %s journaled while attempt %d was current", msg, k, en, attempt)
		}
	}
}

// Deliver delivers any message in flight (reordering), sometimes keeping a copy (duplication).
func (m *engineMachine) Deliver(t *rapid.T) {
	if len(m.network) == 0 {
		t.Skip("nothing in flight")
	}
	i := rapid.IntRange(0, len(m.network)-1).Draw(t, "msg")
	m.deliver(t, i, rapid.IntRange(0, 3).Draw(t, "duplicate") == 0)
}

// Drop loses a message in flight.
func (m *engineMachine) Drop(t *rapid.T) {
	if len(m.network) == 0 {
		t.Skip("nothing in flight")
	}
	i := rapid.IntRange(0, len(m.network)-1).Draw(t, "msg")
	m.network = slices.Delete(m.network, i, i+1)
}

// Stale redelivers anything the executor ever sent, of any attempt.
func (m *engineMachine) Stale(t *rapid.T) {
	if len(m.sent) == 0 {
		t.Skip("nothing sent yet")
	}
	m.receive(t, rapid.SampledFrom(m.sent).Draw(t, "msg"))
	m.flush(t)
}

// Timer fires an armed timer at its deadline, early, or late.
func (m *engineMachine) Timer(t *rapid.T) {
	if len(m.oldTimers) > 0 && rapid.IntRange(0, 4).Draw(t, "oldTimer") == 0 {
		// A timer from before a crash, fired late by a confused driver: it must do nothing
		// unless it names exactly what the engine waits for.
		m.h.eng.FireTimer(rapid.SampledFrom(m.oldTimers).Draw(t, "old"))
		m.flush(t)
		return
	}
	if len(m.timers) == 0 {
		t.Skip("no timer armed")
	}
	i := rapid.IntRange(0, len(m.timers)-1).Draw(t, "timer")
	tm := m.timers[i]
	switch rapid.IntRange(0, 2).Draw(t, "when") {
	case 0: // early: the clock does not move
	case 1:
		if tm.Deadline.After(m.h.clock.Now()) {
			m.h.clock.Set(tm.Deadline)
		}
		m.timers = slices.Delete(m.timers, i, i+1)
	case 2:
		m.h.clock.Set(maxTime(m.h.clock.Now(), tm.Deadline).Add(time.Duration(rapid.IntRange(1, 5000).Draw(t, "lateMs")) * time.Millisecond))
		m.timers = slices.Delete(m.timers, i, i+1)
	}
	m.h.eng.FireTimer(tm)
	m.flush(t)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Crash kills the engine: of the unsynced batches a prefix survives, the rest is lost, nothing
// of them was released. The executor's attempts die with their connections.
func (m *engineMachine) Crash(t *rapid.T) {
	keep := rapid.IntRange(0, len(m.pending)).Draw(t, "keep")
	for _, r := range m.pending[:keep] {
		m.durable(t, r) // durable now, though never released
	}
	m.pending = nil
	m.h.crashKeeping(keep)
	clear(m.views)
	// The driver's armed timers died with it; recovery must arm again what is still wanted.
	m.oldTimers = append(m.oldTimers, m.timers...)
	m.timers = nil
	m.flush(t)
}

// actions returns the machine's actions, weighted so that runs make progress: the executor
// and the network act more often than crashes.
func (m *engineMachine) actions() map[string]func(*rapid.T) {
	weights := map[string]struct {
		n  int
		fn func(*rapid.T)
	}{
		"Call":           {2, m.Call},
		"AttachOrOutput": {1, m.AttachOrOutput},
		"Resolve":        {3, m.Resolve},
		"Exec":           {5, m.Exec},
		"Deliver":        {3, m.Deliver},
		"Drop":           {1, m.Drop},
		"Stale":          {1, m.Stale},
		"Timer":          {2, m.Timer},
		"Crash":          {1, m.Crash},
	}
	actions := map[string]func(*rapid.T){"": m.Check}
	for name, w := range weights {
		for i := range w.n {
			actions[fmt.Sprintf("%s#%d", name, i)] = w.fn
		}
	}
	return actions
}

// TestEngineStateMachine drives the engine with random calls and sends, resolves and rejects
// (first, duplicate, early, of unknown invocations, malformed), executor messages (commands,
// sleeps, suspends, ends, errors, forbidden commands; reordered, duplicated, dropped, and stale
// ones of old attempts), timers (on time, early, late, from before a crash) and crashes that keep
// any prefix of the unsynced batches. After every step it checks:
//
//   - the driver's contract: each Ready is backed by the state its own batch makes durable;
//   - exactly once: at most one accepted completion per awakeable, none after the invocation
//     finished, and every value an attempt is sent (completion or start journal) is that one;
//   - at most one InvocationDone per invocation, one output per invocation for every reader, and
//     none after its purge;
//   - per invocation, released starts have strictly increasing attempt numbers, and an entry is
//     journaled only from the attempt that is current;
//   - nothing is stuck: a running invocation's attempt has a start on its way, a backing-off one
//     a retry timer, a done one a retention timer, a sleep a sleep timer, and a suspended one
//     waits on nothing that is ready;
//   - a recovery from the store reproduces the engine's durable state exactly (attempts of
//     running invocations bumped) and every released output.
func TestEngineStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newEngineMachine(t)
		// Repeat runs about -rapid.steps actions; histories several times longer reach retries
		// running out and invocations finishing after crashes.
		for range 4 {
			t.Repeat(m.actions())
		}
	})
}
