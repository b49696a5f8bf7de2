package engine_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

func TestRecoverEmptyStore(t *testing.T) {
	h := newHarness(t)
	h.crash()
	assert.True(t, func() bool { r := h.step(); return r.Empty() }())
	assert.Equal(t, 0, h.eng.Invocations())
}

func TestRecoverRunningStartsNextAttemptWithFullJournal(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(cmd(id, 1, 2, runEntry("r", `"ran"`)))
	h.resolve(id, 1, `"v"`)
	h.step()
	before := engine.Snapshot(h.eng, true)

	h.crash()
	assert.Equal(t, before, engine.Snapshot(h.eng, false), "recovered state is the durable state, attempt bumped")
	r := h.step()
	start := onlyStart(t, r)
	assert.Equal(t, id, start.Invocation)
	assert.Equal(t, uint32(2), start.Attempt)
	assert.Equal(t, "Greeter", start.Service)
	assert.Equal(t, "greet", start.Handler)
	assert.Equal(t, []string{`input value("in")`, `awakeable value("v")`, `run name="r" value("ran")`}, entries(start.Journal))
	assertBatchHas(t, r, engine.InvocationKey(id)) // the bump is durable before the start leaves

	// Attempt 1 is gone with the old process: its messages are stale.
	h.eng.Receive(endMsg(id, 1, 3, `"old"`))
	assert.True(t, func() bool { r := h.step(); return r.Empty() }())

	// A second crash bumps again.
	h.crash()
	assert.Equal(t, uint32(3), onlyStart(t, h.step()).Attempt)
	h.eng.Receive(endMsg(id, 3, 3, `"out"`))
	assert.Len(t, notesOf(h.step(), engine.NoteInvocationDone), 1)
}

func TestRecoverLosesWaitersButNotOutput(t *testing.T) {
	h := newHarness(t)
	callReq := h.call("Greeter", "greet", `"in"`)
	id := onlyStart(t, h.step()).Invocation
	h.crash()
	h.step()
	h.eng.Receive(endMsg(id, 2, 1, `"out"`))
	r := h.step()
	// The caller's connection died with the old process; the driver failed it.
	noReplyTo(t, r, callReq)
	resp := h.outputOf(id)
	assert.Equal(t, 200, resp.Status)
	assert.Equal(t, `"out"`, string(resp.Body))
}

func TestRecoverSuspendedStaysSuspended(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(suspendMsg(id, 1, 2, 1))
	h.step()
	before := engine.Snapshot(h.eng, true)

	h.crash()
	assert.Equal(t, before, engine.Snapshot(h.eng, false))
	r := h.step()
	assert.True(t, r.Empty(), "a suspended invocation holds nothing in memory: %+v", r)
	assert.Equal(t, "suspended", engine.Status(h.eng, id))
	assert.Equal(t, uint32(1), engine.Attempt(h.eng, id))

	h.resolve(id, 1, `"v"`)
	start := onlyStart(t, h.step())
	assert.Equal(t, uint32(2), start.Attempt)
	assert.True(t, start.Journal[1].Result.Equal(value(`"v"`)))
}

// A store in which a suspended invocation's waited entry is already complete cannot come from the
// engine's own batches (the completion and the new attempt are one batch), but recovery must
// still resume it rather than leave it waiting forever.
func TestRecoverSuspendedWithCompletedWaitResumes(t *testing.T) {
	id := idN(1)
	st := storeOf(
		kv(engine.InvocationKey(id), engine.EncodeRecord(engine.Record{ID: id, Service: "Greeter", Handler: "greet", Status: engine.StatusSuspended, Attempt: 4, Waiting: []uint32{2, 1}})),
		kv(engine.EntryKey(id, 0), journal.MarshalEntry(journal.Entry{Kind: journal.KindInput, Result: value(`1`)})),
		kv(engine.EntryKey(id, 1), journal.MarshalEntry(journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: value(`"v"`)})),
		kv(engine.EntryKey(id, 2), journal.MarshalEntry(journal.Entry{Kind: journal.KindAwakeable})),
	)
	h := newHarness(t)
	e, err := engine.Recover(withStore(h.cfg, st))
	require.NoError(t, err)
	r := e.Ready()
	start := onlyStart(t, r)
	assert.Equal(t, uint32(5), start.Attempt)
	assert.Len(t, start.Journal, 3)
	assert.Equal(t, "running", engine.Status(e, id))
}

func TestRecoverBackingOffRearmsStoredDeadline(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(errorMsg(id, 1, true, "x"))
	timer := h.step().Timers[0]
	require.True(t, timer.Deadline.Equal(epoch.Add(500*time.Millisecond)))

	h.clock.Advance(200 * time.Millisecond)
	h.crash()
	r := h.step()
	assert.Empty(t, r.Messages, "a backing-off invocation does not restart at recovery")
	assert.Empty(t, r.Batch)
	require.Len(t, r.Timers, 1)
	assert.Equal(t, id, r.Timers[0].Invocation)
	assert.True(t, r.Timers[0].Deadline.Equal(timer.Deadline), "re-armed at %v, stored %v", r.Timers[0].Deadline, timer.Deadline)

	// The recovered timer never fires early either.
	h.eng.FireTimer(r.Timers[0])
	early := h.step()
	assert.Empty(t, early.Messages)
	require.Len(t, early.Timers, 1)

	// The old timer value (armed before the crash) works as well as the re-armed one.
	h.clock.Set(timer.Deadline)
	h.eng.FireTimer(timer)
	assert.Equal(t, uint32(2), onlyStart(t, h.step()).Attempt)

	// The failure count survived: the next wait is the second step of the schedule.
	h.eng.Receive(errorMsg(id, 2, true, "x"))
	next := h.step().Timers[0]
	assert.True(t, next.Deadline.Equal(h.clock.Now().Add(time.Second)))
}

func TestRecoverBackingOffPastDeadline(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(errorMsg(id, 1, true, "x"))
	h.step()
	h.clock.Advance(time.Hour) // down for an hour
	h.crash()
	r := h.step()
	require.Len(t, r.Timers, 1)
	// Due already: the driver fires it at once.
	h.eng.FireTimer(r.Timers[0])
	assert.Equal(t, uint32(2), onlyStart(t, h.step()).Attempt)
}

func TestRecoverDoneKeepsOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(h *harness, id protocol.InvocationID)
		want int
	}{
		{"value", func(h *harness, id protocol.InvocationID) { h.eng.Receive(endMsg(id, 1, 2, `{"a":1}`)) }, 200},
		{"failure", func(h *harness, id protocol.InvocationID) { h.eng.Receive(errorMsg(id, 1, false, "bad")) }, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			id := h.withAwakeable()
			tc.end(h, id)
			h.step()
			want := h.outputOf(id)
			require.Equal(t, tc.want, want.Status)
			before := engine.Snapshot(h.eng, true)

			purgeAt := engine.PurgeAt(h.eng, id)
			require.True(t, purgeAt.Equal(h.clock.Now().Add(engine.DefaultRetention)), "purge at %v", purgeAt)

			h.crash()
			assert.Equal(t, before, engine.Snapshot(h.eng, false))
			r := h.step()
			assert.Empty(t, r.Batch, "nothing to restart")
			assert.Empty(t, r.Messages)
			// Only the retention sweep comes back, at the stored deadline.
			require.Len(t, r.Timers, 1)
			assert.Equal(t, engine.TimerRetentionSweep, r.Timers[0].Kind)
			assert.True(t, r.Timers[0].Deadline.Equal(purgeAt))
			assert.Equal(t, want, h.outputOf(id))
			attach := h.attach(id)
			assert.Equal(t, want, replyTo(t, h.step(), attach))
			// Late completions still drop.
			h.resolve(id, 1, `"late"`)
			drops := notesOf(h.step(), engine.NoteCompletionDropped)
			require.Len(t, drops, 1)
			assert.Equal(t, "invocation finished", drops[0].Reason)
		})
	}
}

func TestRecoverKeepsEarlyCompletions(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.resolve(id, 1, `"early"`)
	h.reject(id, 2, "no")
	h.step()
	before := engine.Snapshot(h.eng, true)

	h.crash()
	assert.Equal(t, before, engine.Snapshot(h.eng, false))
	start := onlyStart(t, h.step())
	require.Equal(t, uint32(2), start.Attempt)
	assert.Len(t, start.Journal, 1, "early completions are not journal entries")

	// A repeat of an early resolve still loses after the crash.
	h.resolve(id, 1, `"again"`)
	drops := notesOf(h.step(), engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "already completed", drops[0].Reason)

	h.eng.Receive(cmd(id, 2, 1, awakeableEntry()))
	h.eng.Receive(cmd(id, 2, 2, awakeableEntry()))
	r := h.step()
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 2)
	assert.True(t, comps[0].Entry.Result.Equal(value(`"early"`)))
	assert.True(t, comps[1].Entry.Result.Equal(failure(500, "no")))

	// Once applied, the early completions are gone from the durable record too.
	h.crash()
	h.step()
	_, early := engine.EarlyCompletion(h.eng, id, 1)
	assert.False(t, early)
}

func TestRecoverManyInvocationsInEveryState(t *testing.T) {
	h := newHarness(t)
	running := h.withAwakeable()
	suspended := h.withAwakeable()
	h.eng.Receive(suspendMsg(suspended, 1, 2, 1))
	backingOff := h.started(`"b"`)
	h.eng.Receive(errorMsg(backingOff, 1, true, "x"))
	done := h.started(`"d"`)
	h.eng.Receive(endMsg(done, 1, 1, `"out"`))
	h.step()
	before := engine.Snapshot(h.eng, true)

	h.crash()
	assert.Equal(t, before, engine.Snapshot(h.eng, false))
	r := h.step()
	starts := messagesOf(r, protocol.KindStart)
	require.Len(t, starts, 1)
	assert.Equal(t, running, starts[0].Invocation)
	retries := timersOf(r, engine.TimerRetry)
	require.Len(t, retries, 1)
	assert.Equal(t, backingOff, retries[0].Invocation)
	// The finished one is not read at all: one sweep, for the head of the retention index.
	sweeps := timersOf(r, engine.TimerRetentionSweep)
	require.Len(t, sweeps, 1)
	assert.True(t, sweeps[0].Deadline.Equal(engine.PurgeAt(h.eng, done)))
	assert.Len(t, r.Timers, 2)
	assert.Equal(t, []protocol.InvocationID{running, suspended, backingOff}, h.eng.Unfinished())
	assert.Equal(t, 3, h.eng.Invocations())
}

// TestCrashDropsUnsyncedSuffix runs one story with every batch left unsynced, then, for every
// prefix a crash may keep, recovers and checks the driver's contract: each Ready whose batch
// survived is backed by the recovered state (so had it been released after its sync, nothing it
// said would be contradicted), and nothing of a lost batch is visible.
func TestCrashDropsUnsyncedSuffix(t *testing.T) {
	type story struct {
		readies  []engine.Ready
		resolves map[engine.RequestID]protocol.AwakeableID
		ids      []protocol.InvocationID
	}
	run := func(t *testing.T, h *harness) story {
		s := story{resolves: map[engine.RequestID]protocol.AwakeableID{}}
		take := func() { s.readies = append(s.readies, h.stepUnsynced()) }
		resolve := func(id protocol.InvocationID, i uint32, v string) {
			s.resolves[h.resolve(id, i, v)] = protocol.AwakeableID{Invocation: id, Index: i}
		}

		h.send("Greeter", "greet", `"a"`) // 202 with its batch
		take()
		a := idN(1)
		h.call("Greeter", "greet", `"b"`)
		take()
		b := idN(2)
		s.ids = []protocol.InvocationID{a, b}
		resolve(a, 1, `"early"`) // early completion, kept in the record
		take()
		h.eng.Receive(cmd(a, 1, 1, awakeableEntry())) // applies it: completion + accepted note
		take()
		h.eng.Receive(cmd(b, 1, 1, runEntry("r", `1`))) // ack
		take()
		h.eng.Receive(cmd(b, 1, 2, awakeableEntry()))
		h.eng.Receive(suspendMsg(b, 1, 3, 2))
		take()
		resolve(b, 2, `"wake"`) // resumes b: attempt 2
		take()
		h.eng.Receive(errorMsg(b, 2, true, "flaky")) // backing off
		take()
		h.eng.Receive(endMsg(a, 1, 2, `"A"`)) // done
		take()
		h.output(a) // 200 from a Ready with no batch: it follows the batch that made it true
		take()
		return s
	}

	probe := newHarness(t)
	total := len(run(t, probe).readies)
	require.Equal(t, total, probe.store.Unsynced())

	for keep := 0; keep <= total; keep++ {
		h := newHarness(t)
		s := run(t, h)
		h.crashKeeping(keep)
		// The recovered state is exactly the state after the kept batches: check every kept
		// Ready against it, on a throwaway copy per Ready since the check asks for outputs.
		for i := range keep {
			rec, err := engine.Recover(h.cfg)
			require.NoError(t, err)
			for _, v := range backedBy(rec, s.readies[i], s.resolves) {
				t.Errorf("keep %d, Ready %d: %s", keep, i, v)
			}
		}
		// Invocations whose creating batch was lost are unknown, and their IDs are never
		// handed out again.
		if keep == 0 {
			assert.Equal(t, 0, h.eng.Invocations())
			assert.Equal(t, 404, h.outputOf(s.ids[0]).Status)
		}
		if keep == 1 {
			assert.Equal(t, 1, h.eng.Invocations())
		}
		// The recovered engine keeps working.
		r := h.step()
		for _, m := range messagesOf(r, protocol.KindStart) {
			assert.Greater(t, m.Attempt, uint32(0))
		}
	}
}

// TestReplyOfSendTravelsWithItsBatch pins the contract the driver relies on for the simplest
// case: the 202 of a send comes in the same Ready as the writes that create the invocation, so a
// driver that syncs before replying can never acknowledge an invocation a crash then loses.
func TestReplyOfSendTravelsWithItsBatch(t *testing.T) {
	h := newHarness(t)
	req := h.send("Greeter", "greet", `"x"`)
	r := h.stepUnsynced()
	resp := replyTo(t, r, req)
	require.Equal(t, 202, resp.Status)
	assertBatchHas(t, r, engine.InvocationKey(idN(1)), engine.EntryKey(idN(1), 0))

	// Crash before the sync: the batch is lost, and so the 202 was never released.
	h.crashKeeping(0)
	assert.Equal(t, 404, h.outputOf(idN(1)).Status)
	// A retry by the client makes a new invocation with a new ID.
	req = h.send("Greeter", "greet", `"x"`)
	r = h.step()
	assert.Equal(t, idN(2).String(), replyTo(t, r, req).InvocationID)

	// Crash after the sync: it survives.
	h.crash()
	h.step()
	assert.Equal(t, "running", engine.Status(h.eng, idN(2)))
}

func TestRecoverAfterEveryStepOfAStory(t *testing.T) {
	// After each step of a story, a recovery from the store sees the durable state exactly.
	h := newHarness(t)
	check := func(what string) {
		t.Helper()
		h.step()
		rec, err := engine.Recover(h.cfg)
		require.NoError(t, err, what)
		assert.Equal(t, engine.Snapshot(h.eng, true), engine.Snapshot(rec, false), what)
	}
	h.call("Greeter", "greet", `"a"`)
	check("call")
	a := idN(1)
	h.resolve(a, 2, `"early"`)
	check("early resolve")
	h.eng.Receive(cmd(a, 1, 1, runEntry("r", "1")))
	check("run")
	h.eng.Receive(cmd(a, 1, 2, awakeableEntry()))
	check("awakeable with early completion")
	h.eng.Receive(cmd(a, 1, 3, awakeableEntry()))
	h.eng.Receive(suspendMsg(a, 1, 4, 3))
	check("suspend")
	h.reject(a, 3, "no")
	check("resume")
	h.eng.Receive(errorMsg(a, 2, true, "x"))
	check("backoff")
	h.clock.Advance(time.Second)
	h.eng.FireTimer(engine.Timer{Invocation: a, Deadline: epoch.Add(500 * time.Millisecond)})
	check("retry")
	h.eng.Receive(errorMsg(a, 3, false, "fatal"))
	check("done")
}

// TestRetryDeadlineSurvivesRecoveryAtAnyTime: deadlines (retry, retention) are stored as Unix
// nanoseconds, so one outside 1678..2262 (the fake clock's zero value is year 1) comes back from
// the store as a different instant, and one exactly at the Unix epoch comes back as "no deadline".
// A crash must neither lose a timer nor fire it early, whatever the clock reads.
func TestRetryDeadlineSurvivesRecoveryAtAnyTime(t *testing.T) {
	for _, start := range []time.Time{
		{}, // fakeclock.Fake's zero value
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, -int64(500*time.Millisecond)).UTC(), // the deadline is the Unix epoch itself
	} {
		t.Run(start.Format(time.RFC3339Nano), func(t *testing.T) {
			h := newHarnessAt(t, start)
			// A retry (backing-off) and a retention (done) deadline.
			id := h.started(`"in"`)
			h.eng.Receive(errorMsg(id, 1, true, "x"))
			armed := h.step().Timers
			done := h.started(`"in"`)
			h.eng.Receive(endMsg(done, 1, 1, `"out"`))
			armed = append(armed, h.step().Timers...)
			require.Len(t, armed, 2)
			h.crash()
			rearmed := h.step().Timers
			require.Len(t, rearmed, 2)
			for _, want := range armed {
				var got engine.Timer
				for _, tm := range rearmed {
					if tm.Kind == want.Kind {
						got = tm
					}
				}
				assert.True(t, got.Deadline.Equal(want.Deadline), "%s timer: stored %v, recovered %v", want.Kind, want.Deadline, got.Deadline)
			}
		})
	}
}

// Corrupt stores.

type kvPair struct {
	key   string
	value []byte
}

func kv(k string, v []byte) kvPair { return kvPair{k, v} }

// fakeStore is a hand-built store: pairs in ascending key order (callers sort them), read
// through store.Reader.
type fakeStore struct{ pairs []kvPair }

func storeOf(pairs ...kvPair) fakeStore { return fakeStore{pairs} }

func (s fakeStore) Get(key string) ([]byte, bool, error) {
	for _, p := range s.pairs {
		if p.key == key {
			return append([]byte(nil), p.value...), true, nil
		}
	}
	return nil, false, nil
}

func (s fakeStore) Scan(prefix string, fn func(key string, value []byte) error) error {
	for _, p := range s.pairs {
		if !strings.HasPrefix(p.key, prefix) {
			continue
		}
		if err := fn(p.key, append([]byte(nil), p.value...)); err != nil {
			return err
		}
	}
	return nil
}

// withStore is cfg reading from st.
func withStore(cfg engine.Config, st store.Reader) engine.Config {
	cfg.Store = st
	return cfg
}

// failingStore fails every read, as a disk on fire would.
type failingStore struct{ err error }

func (s failingStore) Get(string) ([]byte, bool, error) { return nil, false, s.err }
func (s failingStore) Scan(string, func(string, []byte) error) error {
	return s.err
}

func TestRecoverCorruptStore(t *testing.T) {
	id := idN(1)
	rec := engine.EncodeRecord(engine.Record{ID: id, Service: "Greeter", Handler: "greet", Status: engine.StatusRunning, Attempt: 1})
	input := journal.MarshalEntry(journal.Entry{Kind: journal.KindInput, Result: value(`1`)})
	run := journal.MarshalEntry(journal.Entry{Kind: journal.KindRun, Result: value(`1`)})
	output := journal.MarshalEntry(journal.Entry{Kind: journal.KindOutput, Result: value(`"out"`)})
	withStatus := func(s byte) []byte {
		b := append([]byte(nil), rec...)
		// version, service (len+7 bytes), handler (len+5 bytes), then status.
		b[1+1+len("Greeter")+1+len("greet")] = s
		return b
	}
	tests := []struct {
		name  string
		pairs []kvPair
	}{
		{"garbage record", []kvPair{kv(engine.InvocationKey(id), []byte("\x01garbage")), kv(engine.EntryKey(id, 0), input)}},
		{"empty record", []kvPair{kv(engine.InvocationKey(id), nil), kv(engine.EntryKey(id, 0), input)}},
		{"record of a future version", []kvPair{kv(engine.InvocationKey(id), append([]byte{3}, rec[1:]...)), kv(engine.EntryKey(id, 0), input)}},
		{"record with trailing bytes", []kvPair{kv(engine.InvocationKey(id), append(append([]byte(nil), rec...), 0)), kv(engine.EntryKey(id, 0), input)}},
		{"record with status 0", []kvPair{kv(engine.InvocationKey(id), withStatus(0)), kv(engine.EntryKey(id, 0), input)}},
		{"record with status 9", []kvPair{kv(engine.InvocationKey(id), withStatus(9)), kv(engine.EntryKey(id, 0), input)}},
		{"record key not hex", []kvPair{kv("inv/zz000000000000000000000000000001", rec)}},
		{"record key too short", []kvPair{kv("inv/01", rec)}},
		{"record without journal", []kvPair{kv(engine.InvocationKey(id), rec)}},
		{"journal not starting with input", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 0), run)}},
		{"journal gap", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 0), input), kv(engine.EntryKey(id, 2), run)}},
		{"journal starting at 1", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 1), run)}},
		{"garbage journal entry", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 0), []byte{1, 99})}},
		{"journal key without index", []kvPair{kv(engine.InvocationKey(id), rec), kv("jnl/"+engine.InvocationKey(id)[4:], input)}},
		{"journal key with bad index", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 0)[:37]+"/xyz", input)}},
		{"journal index past 32 bits", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 0)[:37]+"/100000000", input)}},
		// Records that decode but that no sequence of the engine's atomic batches can produce.
		{"done without output", []kvPair{kv(engine.InvocationKey(id), withStatus(engine.StatusDone)), kv(engine.EntryKey(id, 0), input)}},
		{"running with output", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 0), input), kv(engine.EntryKey(id, 1), output)}},
		{"output before the end", []kvPair{kv(engine.InvocationKey(id), withStatus(engine.StatusDone)), kv(engine.EntryKey(id, 0), input), kv(engine.EntryKey(id, 1), output), kv(engine.EntryKey(id, 2), output)}},
		{"second input", []kvPair{kv(engine.InvocationKey(id), rec), kv(engine.EntryKey(id, 0), input), kv(engine.EntryKey(id, 1), input)}},
		{"zero invocation id", []kvPair{kv(engine.InvocationKey(protocol.InvocationID{}), rec), kv(engine.EntryKey(protocol.InvocationID{}, 0), input)}},
		{"suspended past its journal", []kvPair{kv(engine.InvocationKey(id), engine.EncodeRecord(engine.Record{Service: "Greeter", Handler: "greet", Status: engine.StatusSuspended, Attempt: 1, Waiting: []uint32{1}})), kv(engine.EntryKey(id, 0), input)}},
		{"sequence past the last", []kvPair{kv(engine.InvocationKey(id), engine.EncodeRecord(engine.Record{Service: "Greeter", Handler: "greet", Status: engine.StatusRunning, Attempt: 1, Seq: 5})), kv(engine.EntryKey(id, 0), input), kv("meta/seq", []byte{4})}},
		{"garbage sequence", []kvPair{kv("meta/seq", []byte{0x80})}},
		{"sequence with trailing bytes", []kvPair{kv("meta/seq", []byte{1, 2})}},
		{"state key with too few parts", []kvPair{kv("st/Greeter/k", []byte("1"))}},
		{"state key badly escaped", []kvPair{kv("st/Greeter/%zz/n", []byte("1"))}},
		{"garbage promise", []kvPair{kv("pr/Greeter/k/p", []byte("x"))}},
		{"short workflow record", []kvPair{kv("wf/Greeter/k", []byte{1, 2, 3})}},
		{"workflow record of another version", []kvPair{kv("wf/Greeter/k", append([]byte{9}, make([]byte, 17)...))}},
		{"workflow record with trailing bytes", []kvPair{kv("wf/Greeter/k", append([]byte{1}, make([]byte, 18)...))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var e *engine.Engine
			var err error
			require.NotPanics(t, func() { e, err = engine.Recover(withStore(h.cfg, storeOf(tt.pairs...))) })
			require.NoError(t, err, "a bad record must not stop recovery")
			require.NotEmpty(t, e.Problems(), "the bad record is reported")
			assertSetAsideForGood(t, h, tt.pairs, e)
		})
	}

	t.Run("every truncation of a record", func(t *testing.T) {
		for _, full := range [][]byte{
			engine.EncodeRecord(engine.Record{
				ID: id, Service: "Greeter", Handler: "greet", Status: engine.StatusBackingOff, Attempt: 300, Failures: 2,
				RetryAt: epoch, Waiting: []uint32{1, 1000},
			}),
			engine.EncodeLegacyRecord(engine.Record{
				ID: id, Service: "Greeter", Handler: "greet", Status: engine.StatusBackingOff, Attempt: 300, Failures: 2,
				RetryAt: epoch, Waiting: []uint32{1, 1000}, Early: map[uint32]journal.Result{5: value(`"x"`), 7: failure(500, "no")},
			}),
		} {
			for n := range len(full) {
				pairs := []kvPair{kv(engine.InvocationKey(id), full[:n]), kv(engine.EntryKey(id, 0), input)}
				e, err := engine.Recover(withStore(newHarness(t).cfg, storeOf(pairs...)))
				require.NoError(t, err)
				require.NotEmpty(t, e.Problems(), "prefix of %d bytes", n)
				assert.Equal(t, engine.InvocationKey(id), e.Problems()[0].Key)
				assert.Empty(t, engine.IDs(e), "the invocation is set aside whole")
			}
			e, err := engine.Recover(withStore(newHarness(t).cfg, storeOf(kv(engine.InvocationKey(id), full), kv(engine.EntryKey(id, 0), input))))
			assert.NoError(t, err)
			assert.Empty(t, e.Problems())
		}
	})

	t.Run("scan error is returned", func(t *testing.T) {
		boom := errors.New("disk on fire")
		_, err := engine.Recover(withStore(newHarness(t).cfg, failingStore{boom}))
		assert.ErrorIs(t, err, boom)
		assert.NotErrorIs(t, err, engine.ErrCorruptStore)
	})
}

// Recovery reads the live part of the store only, so records elsewhere — journals without a
// record, idempotency keys, keys of no known kind — cost nothing at start and cannot stop it. A
// bad idempotency record is met when a request looks it up: it reads as absent, and is reported.
func TestRecoverReadsOnlyTheLivePart(t *testing.T) {
	input := journal.MarshalEntry(journal.Entry{Kind: journal.KindInput, Result: value(`1`)})
	pairs := []kvPair{
		kv("", nil),
		kv("foo/bar", []byte("x")),
		kv("idem/Greeter/greet//k", []byte{1}),
		kv("idem/Greeter/greet/a/b/c", make([]byte, 16)),
		kv(engine.EntryKey(idN(9), 0), input),
		kv("zzz", nil),
	}
	h := newHarness(t)
	e, err := engine.Recover(withStore(h.cfg, storeOf(pairs...)))
	require.NoError(t, err)
	assert.Empty(t, e.Problems())
	assert.Empty(t, e.Ready().Batch, "nothing is moved")

	h.eng = e
	h.cfg.Store = storeOf(pairs...)
	e, err = engine.Recover(h.cfg)
	require.NoError(t, err)
	h.eng = e
	e.Ready()
	req := h.ingress(ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", IdempotencyKey: "k"})
	r := e.Ready()
	assert.Equal(t, 202, replyTo(t, r, req).Status, "a fresh invocation")
	problems := e.TakeReadProblems()
	require.Len(t, problems, 1)
	assert.Equal(t, "idem/Greeter/greet//k", problems[0].Key)
	assert.Equal(t, "read as absent", problems[0].Action)
	assert.Empty(t, e.TakeReadProblems(), "taken once")
}

// assertSetAsideForGood checks that what recovery set aside is out of the live keys, kept whole
// under q/, and that a second start on the store the first one left finds nothing wrong.
func assertSetAsideForGood(t *testing.T, h *harness, pairs []kvPair, e *engine.Engine) {
	t.Helper()
	st := map[string][]byte{}
	for _, p := range pairs {
		st[p.key] = p.value
	}
	repaired := map[string]bool{}
	for _, p := range e.Problems() {
		repaired[p.Key] = repaired[p.Key] || strings.HasPrefix(p.Action, "repaired")
	}
	r := e.Ready()
	for _, op := range r.Batch {
		if op.Delete {
			delete(st, op.Key)
		} else {
			st[op.Key] = op.Value
		}
	}
	for _, p := range e.Problems() {
		if !strings.HasPrefix(p.Action, "set aside") {
			continue
		}
		raw, ok := st[engine.QuarantineKey(p.Key)]
		require.True(t, ok, "%s is not under q/", p.Key)
		key, problem, _, err := engine.DecodeQuarantined(raw)
		require.NoError(t, err)
		assert.Equal(t, p.Key, key)
		assert.Equal(t, p.Problem, problem)
		if p.Key != "" && !repaired[p.Key] {
			_, live := st[p.Key]
			assert.False(t, live, "%s is still among the live keys", p.Key)
		}
	}
	delete(st, "") // no real store holds the empty key: it can only come from a hand-built scan
	var again fakeStore
	for _, k := range slices.Sorted(maps.Keys(st)) {
		again.pairs = append(again.pairs, kv(k, st[k]))
	}
	e2, err := engine.Recover(withStore(h.cfg, again))
	require.NoError(t, err)
	assert.Empty(t, e2.Problems(), "the second start still finds problems")
	setAside := 0
	for _, p := range e.Problems() {
		if strings.HasPrefix(p.Action, "set aside") {
			setAside++
		}
	}
	assert.Equal(t, setAside, e2.QuarantinedEarlier())
}

// A version 1 record (early completions inline) recovers, and the first Ready writes it anew as
// version 2 with its early completions apart; a start on that store sees the same invocation.
func TestRecordRoundTrip(t *testing.T) {
	id := idN(7)
	r := engine.Record{
		ID: id, Service: "Greeter", Handler: "approve", Status: engine.StatusBackingOff, Attempt: 1 << 20, Failures: 69,
		RetryAt: epoch.Add(time.Hour + 3*time.Nanosecond), Early: map[uint32]journal.Result{2: value(`{}`), 1 << 30: failure(0, "")},
		IdemKey: "once", Seq: 3,
	}
	st := storeOf(
		kv(engine.InvocationKey(id), engine.EncodeLegacyRecord(r)),
		kv(engine.EntryKey(id, 0), journal.MarshalEntry(journal.Entry{Kind: journal.KindInput})),
		kv("meta/seq", []byte{3}),
	)
	h := newHarness(t)
	check := func(e *engine.Engine) {
		t.Helper()
		assert.Empty(t, e.Problems())
		assert.Equal(t, "backing-off", engine.Status(e, id))
		assert.Equal(t, r.Attempt, engine.Attempt(e, id))
		for idx, want := range r.Early {
			got, ok := engine.EarlyCompletion(e, id, idx)
			require.True(t, ok)
			assert.True(t, got.Equal(want))
		}
	}
	e, err := engine.Recover(withStore(h.cfg, st))
	require.NoError(t, err)
	check(e)
	ready := e.Ready()
	require.Len(t, ready.Timers, 1)
	assert.True(t, ready.Timers[0].Deadline.Equal(r.RetryAt))
	assertBatchHas(t, ready, engine.InvocationKey(id), engine.EarlyKey(id, 2), engine.EarlyKey(id, 1<<30))

	migrated := map[string][]byte{}
	for _, p := range st.pairs {
		migrated[p.key] = p.value
	}
	for _, op := range ready.Batch {
		migrated[op.Key] = op.Value
	}
	assert.Equal(t, byte(2), migrated[engine.InvocationKey(id)][0], "written anew as version 2")
	var again fakeStore
	for _, k := range slices.Sorted(maps.Keys(migrated)) {
		again.pairs = append(again.pairs, kv(k, migrated[k]))
	}
	e2, err := engine.Recover(withStore(h.cfg, again))
	require.NoError(t, err)
	check(e2)
}
