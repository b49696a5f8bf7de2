package checkers

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// cleanHistory is a correct run of two invocations with everything the checkers must tolerate:
// suspension and replay, a runtime crash that loses an unsynced entry, a recovery that restarts
// an attempt with an awakeable still pending and completes it live, a stale attempt emitting
// after its successor started, an observation recorded before the acceptance it matches,
// dropped duplicate completions, and the two invocations' events interleaved.
func cleanHistory() History {
	const (
		kRun = journal.KindRun
		kAwk = journal.KindAwakeable
	)
	targetA4 := protocol.AwakeableID{Invocation: invA, Index: 4}.String()
	b := &builder{}

	// A runs "charge", then suspends on awakeable [2]; B creates awakeable [1].
	b.start(invA, 1, input("x"))
	b.start(invB, 1, input("y"))
	b.runStep(invA, 1, 1, "charge", "r1")
	b.emit(invA, 1, 2, awk())
	b.emit(invB, 1, 1, awk())
	b.ended(invA, 1, "suspended")
	b.accept(invA, 2, "yes")
	b.drop(invA, 2, "no", "already completed")

	// The runtime crashes; recovery restarts B, whose awakeable is still pending.
	b.crash("runtime", "kept 1 of 1 unsynced batches")
	b.start(invB, 2, input("y"), awk())
	b.ended(invB, 1, "aborted")

	// A resumes: it replays [1] and [2] and runs "ship" at [3].
	b.start(invA, 2, secondJournal()...)
	b.observe(invA, 2, 1, kRun, "r1")
	b.observe(invA, 2, 2, kAwk, "yes")
	b.runStep(invA, 2, 3, "ship", "s1")

	// B's awakeable completes while attempt 2 runs and is delivered live.
	b.accept(invB, 1, "approved")
	b.observe(invB, 2, 1, kAwk, "approved")

	// The runtime crashes before A's [3] was synced. The new attempt starts with a journal shorter
	// than what attempt 2 emitted, while attempt 2 is still finishing (its command is dropped).
	b.crash("runtime", "lost 1 unsynced batch")
	b.start(invA, 3, secondJournal()...)
	b.emit(invA, 2, 4, awk())
	b.ended(invA, 2, "aborted")
	b.observe(invA, 3, 1, kRun, "r1")
	b.observe(invA, 3, 2, kAwk, "yes")
	b.runStep(invA, 3, 3, "ship", "s2")
	b.emit(invA, 3, 4, awk())

	// B completes A's awakeable [4]; A observes the value before the runtime records its
	// acceptance.
	b.emit(invB, 2, 2, completeAwk(targetA4, "ok"))
	b.observe(invA, 3, 4, kAwk, "ok")
	b.accept(invA, 4, "ok")
	b.emit(invA, 3, 5, output("done"))
	b.done(invA, "done")
	b.ended(invA, 3, "done")
	b.emit(invB, 2, 3, output("sent"))
	b.done(invB, "sent")
	b.drop(invA, 4, "late", "invocation finished")
	return b.h
}

func TestAllClean(t *testing.T) {
	h := cleanHistory()
	checkViolations(t, h, All(h), nil)
	if vs := All(History{}); vs != nil {
		t.Fatalf("empty history: got %v", vs)
	}
}

// brokenHistory breaks every checker at least once, some several times, with violations found
// out of event order.
func brokenHistory() History {
	b := &builder{}
	b.start(invA, 1, input("x"))
	b.emit(invA, 1, 1, awk())
	b.observe(invA, 1, 1, journal.KindAwakeable, "b") // exactly-once: differs from the accepted a
	b.emit(invA, 1, 3, awk())                         // replay: gap
	b.accept(invA, 1, "a")
	b.accept(invA, 1, "c")                                         // exactly-once: second acceptance
	b.doneWith(invA, "o1", input("x"), awkDone("a"), output("o1")) // final-journal: b was observed
	b.done(invA, "o2")                                             // exactly-once: second output
	b.start(invB, 1, input("y"), awk())                            // replay: entry nobody emitted

	b.request(1, "GET /restate/invocation/x/attach", "", "", "", "")
	b.respondOutput(1, invA, "o9") // outputs: not A's output
	b.invoked(invC, "Obj", "add", "k1", 1, "exclusive")
	b.invoked(invD, "Obj", "add", "k1", 2, "exclusive")
	b.lock(invD, "Obj", "k1") // exclusive: D overtakes C
	b.arm(invC, 1, "sleep", time.Hour)
	b.fire(invC, 1, "sleep", time.Hour) // timers: early
	invE := invID(5)
	b.invoked(invE, "Wf", "approve", "k1", 3, "shared")
	b.start(invE, 1, input("e"))
	b.emit(invE, 1, 1, getPromise("p"))
	b.observe(invE, 1, 1, journal.KindGetPromise, "v") // promises: nothing completed p
	b.request(2, "POST /S/h/send", "S", "h", "", "")
	b.respondAccepted(2, invID(6)) // durability: never durably accepted
	b.declareRetention("R", false, time.Hour, 0)
	b.invoked(invID(7), "R", "h", "", 4, "service")
	b.done(invID(7), "r")
	b.purgeNow(event.PurgeInvocation, invID(7), "", "") // retention: before the declared hour
	awk8 := protocol.AwakeableID{Invocation: invID(8), Index: 1}.String()
	b.resolveRequest(3, awk8, "1")
	b.resolveRequest(4, awk8, "2")
	b.delivered(3)
	b.delivered(4)
	b.accept(invID(8), 1, "2") // first-completion: 1 arrived first
	return b.h
}

func TestAllSortedByCheckerThenEvent(t *testing.T) {
	h := brokenHistory()
	checkViolations(t, h, All(h), []wantViolation{
		{durabilityName, invID(6), "acknowledged before the invocation was durably accepted"},
		eo(invA, "attempt 1 observed value(b) for awakeable [1], but the accepted completion is value(a)"),
		eo(invA, "awakeable [1] accepted a second completion value(c) after value(a)"),
		eo(invA, "second output value(o2) after value(o1)"),
		ex(invD, "Obj/k1: acquired the lock (seq 2) before "+invC.String()+" (seq 1)"),
		{finalJournalName, invA, "attempt 1 observed value(b) at [1], but the final journal holds awakeable value(a)"},
		fc(invID(8), "reached the runtime at 30ms with value(1) for awakeable [1], the first completion to arrive, but the engine accepted value(2)"),
		out(invA, "response to request 1 (status 200) carries output value(o9), but the invocation's output is value(o1)"),
		pr(noInv, `promise "p" of Wf/k1 (epoch 0): operations are not linearizable`),
		rp(invA, "attempt 1 emitted command [3] awakeable (pending), expected [2] (gap)"),
		rp(invB, "attempt 1's start journal holds awakeable (pending) at [1], which no earlier attempt emitted"),
		rt(invID(7), "the invocation's output purged at 27ms (runtime clock), 59m59.999s before the end of the declared retention 1h0m0s of R"),
		tm(invC, "sleep timer [1] due at 1h0m0s fired at 16ms"),
	})
	for _, v := range All(h) {
		if !slices.IsSorted(v.Events) || len(v.Events) == 0 {
			t.Errorf("%v: events must be sorted and non-empty", v)
		}
	}
}

func TestRegistry(t *testing.T) {
	h := brokenHistory()
	var all []Violation
	names := make(map[string]bool)
	for _, c := range Registry {
		if names[c.Name] {
			t.Errorf("checker %q registered twice", c.Name)
		}
		names[c.Name] = true
		vs := c.Check(h)
		if len(vs) == 0 {
			t.Errorf("checker %q found nothing in the broken history", c.Name)
		}
		for _, v := range vs {
			if v.Checker != c.Name {
				t.Errorf("checker %q reported a violation named %q", c.Name, v.Checker)
			}
		}
		all = append(all, vs...)
	}
	if len(all) != len(All(h)) {
		t.Errorf("All found %d violations, the registry's checkers %d", len(All(h)), len(all))
	}
}

func TestDeterministic(t *testing.T) {
	h := brokenHistory()
	want := All(h)
	for range 20 {
		if diff := cmp.Diff(want, All(h)); diff != "" {
			t.Fatalf("All differs between calls (-first +again):\n%s", diff)
		}
	}
	// The checkers must not modify the history they judge.
	before := brokenHistory()
	if diff := cmp.Diff(before, h); diff != "" {
		t.Fatalf("All modified its history (-before +after):\n%s", diff)
	}
}

// TestAllJudgeReused holds AllJudge, whose index is kept from one history to the next, to All:
// clean and broken histories judged in turn by one AllJudge, twice over, give exactly All's
// violations, so nothing of one history's index is seen by the next.
func TestAllJudgeReused(t *testing.T) {
	histories := []History{cleanHistory(), brokenHistory(), {}, brokenHistory(), cleanHistory()}
	var a AllJudge
	found := 0
	for range 2 {
		for n := range histories {
			h := histories[n]
			want := All(h)
			found += len(want)
			if got := a.Judge(&h, nil); !reflect.DeepEqual(got, want) {
				t.Fatalf("history %d: the kept index found %v, a fresh one %v", n, got, want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no history broke anything: the test proves nothing")
	}
}

// TestJudgeIsCheck holds every checker's Judge (over the shared index, with its shortcuts for a
// history with nothing of its kind) to its Check, on histories with and without violations.
func TestJudgeIsCheck(t *testing.T) {
	broken := brokenHistory()
	noLocks := History{}
	for _, e := range broken.Events {
		if e.Kind != LockAcquired && e.Kind != LockReleased && e.Kind != PromiseCompleted {
			noLocks.Events = append(noLocks.Events, e)
		}
	}
	for n, h := range []History{cleanHistory(), broken, noLocks, {}} {
		for _, c := range Registry {
			if c.Judge == nil {
				continue
			}
			if got, want := c.Judge(NewIndex(&h)), c.Check(h); !reflect.DeepEqual(got, want) {
				t.Errorf("history %d, %s: Judge found %v, Check %v", n, c.Name, got, want)
			}
		}
	}
}
