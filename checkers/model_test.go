package checkers

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"pgregory.net/rapid"
)

// chooser is where the model draws its choices from: rapid in property tests (so failures
// shrink), a seeded PCG stream in the benchmark.
type chooser interface {
	// choose returns a number in [0, n).
	choose(n int, label string) int
}

type rapidChooser struct{ t *rapid.T }

func (c rapidChooser) choose(n int, label string) int { return rapid.IntRange(0, n-1).Draw(c.t, label) }

type randChooser struct{ r *rand.Rand }

func (c randChooser) choose(n int, _ string) int { return c.r.IntN(n) }

// modelConfig bounds the histories the model generates.
type modelConfig struct {
	invocations int
	maxSteps    int // handler steps between the input and the output
	maxAttempts int
}

// genHistory generates a correct history: each invocation runs a deterministic handler (a fixed
// script of runs, awakeables and awakeable completions) under an engine that journals commands
// unsynced until a sync, loses an arbitrary suffix of unsynced entries when it crashes, syncs
// before it accepts a completion, suspends or finishes, and starts each attempt with its durable
// journal. The invocations' events are then interleaved at random.
func genHistory(c chooser, cfg modelConfig) History {
	lists := make([][]Event, cfg.invocations)
	for n := range lists {
		lists[n] = genInvocation(c, invID(n+1), cfg)
	}
	var active []int
	total := 0
	for n, l := range lists {
		if len(l) > 0 {
			active = append(active, n)
			total += len(l)
		}
	}
	evs := make([]Event, 0, total)
	for len(active) > 0 {
		k := c.choose(len(active), "next invocation")
		n := active[k]
		e := lists[n][0]
		e.At = time.Duration(len(evs)) * time.Millisecond
		evs = append(evs, e)
		lists[n] = lists[n][1:]
		if len(lists[n]) == 0 {
			active[k] = active[len(active)-1]
			active = active[:len(active)-1]
		}
	}
	return History{Events: evs}
}

// genInvocation generates the events of one invocation, in the order they happen.
func genInvocation(c chooser, id protocol.InvocationID, cfg modelConfig) []Event {
	script := make([]journal.Entry, c.choose(cfg.maxSteps+1, "steps"))
	for s := range script {
		name := fmt.Sprintf("step-%d", s+1)
		switch c.choose(3, "step kind") {
		case 0:
			script[s] = journal.Entry{Kind: journal.KindRun, Name: name}
		case 1:
			script[s] = journal.Entry{Kind: journal.KindAwakeable}
		default:
			script[s] = journal.Entry{Kind: journal.KindCompleteAwakeable, Target: "sign_1elsewhere", Param: val(name)}
		}
	}
	out := journal.Entry{Kind: journal.KindOutput, Result: val("out-" + id.String())}

	var evs []Event
	add := func(e Event) {
		e.Invocation = id
		evs = append(evs, e)
	}
	durable := []journal.Entry{{Kind: journal.KindInput, Result: val("in-" + id.String())}}
	var unsynced []journal.Entry
	sync := func() {
		durable = append(durable, unsynced...)
		unsynced = nil
	}
	accept := func(index int, v string) {
		sync()
		durable[index].Completed = true
		durable[index].Result = val(v)
		add(Event{Kind: CompletionAccepted, Node: "runtime", Index: uint32(index), Result: val(v),
			Awakeable: protocol.AwakeableID{Invocation: id, Index: uint32(index)}.String()})
		if c.choose(3, "duplicate completion") == 0 {
			add(Event{Kind: CompletionDropped, Node: "runtime", Index: uint32(index), Result: val(v + "-dup"),
				Reason: "already completed"})
		}
	}
	// A live completion: the engine accepts it; the attempt may record its observation first.
	live := func(attempt uint32, index int) {
		v := fmt.Sprintf("v%d-%d", attempt, index)
		obs := Event{Kind: ValueObserved, Node: "executor", Attempt: attempt, Index: uint32(index),
			Entry: journal.Entry{Kind: journal.KindAwakeable}, Result: val(v)}
		if c.choose(2, "observed first") == 0 {
			add(obs)
			accept(index, v)
		} else {
			accept(index, v)
			add(obs)
		}
	}
	// stale holds what an aborted attempt still does after its successor started.
	var stale []Event
	// staleStep is what attempt would record for the command at index, had it not been aborted.
	staleStep := func(attempt uint32, index int, step journal.Entry) {
		cmd := Event{Kind: CommandEmitted, Node: "executor", Invocation: id, Attempt: attempt, Index: uint32(index), Entry: step}
		if step.Kind == journal.KindRun {
			r := val(fmt.Sprintf("stale%d-%d", attempt, index))
			cmd.Entry.Result = r
			stale = append(stale, Event{Kind: RunExecuted, Node: "executor", Invocation: id, Attempt: attempt, Index: uint32(index)})
			stale = append(stale, cmd, Event{Kind: ValueObserved, Node: "executor", Invocation: id, Attempt: attempt,
				Index: uint32(index), Entry: journal.Entry{Kind: journal.KindRun}, Result: r})
			return
		}
		stale = append(stale, cmd)
	}
	crash := func(attempt uint32, index int, next journal.Entry) {
		keep := c.choose(len(unsynced)+1, "unsynced kept")
		durable = append(durable, unsynced[:keep]...)
		unsynced = nil
		evs = append(evs, Event{Kind: NodeCrashed, Node: "runtime", Reason: fmt.Sprintf("kept %d unsynced entries", keep)})
		if c.choose(2, "stale attempt") == 0 {
			staleStep(attempt, index, next)
		}
	}

	for attempt := uint32(1); attempt <= uint32(cfg.maxAttempts); attempt++ {
		j := slices.Clone(durable)
		add(Event{Kind: AttemptStarted, Node: "executor", Attempt: attempt, Journal: j})
		evs = append(evs, stale...)
		stale = nil
		stopped, crashed := false, false
		for pos := 1; pos <= len(script) && !stopped && !crashed; pos++ {
			step := script[pos-1]
			if pos < len(j) {
				// Replay.
				je := j[pos]
				switch {
				case je.Kind == journal.KindRun || je.Kind.Completable() && je.Completed:
					add(Event{Kind: ValueObserved, Node: "executor", Attempt: attempt, Index: uint32(pos),
						Entry: journal.Entry{Kind: je.Kind}, Result: je.Result})
				case je.Kind.Completable():
					if c.choose(2, "completion arrives") == 0 {
						live(attempt, pos)
					} else {
						stopped = true
					}
				}
				continue
			}
			if c.choose(6, "crash") == 0 {
				crash(attempt, pos, step)
				crashed = true
				continue
			}
			switch step.Kind {
			case journal.KindRun:
				entry := step
				entry.Result = val(fmt.Sprintf("r%d-%d", attempt, pos))
				add(Event{Kind: RunExecuted, Node: "executor", Attempt: attempt, Index: uint32(pos)})
				cmd := Event{Kind: CommandEmitted, Node: "executor", Attempt: attempt, Index: uint32(pos), Entry: entry}
				obs := Event{Kind: ValueObserved, Node: "executor", Attempt: attempt, Index: uint32(pos),
					Entry: journal.Entry{Kind: journal.KindRun}, Result: entry.Result}
				if c.choose(2, "run order") == 0 {
					add(cmd)
					add(obs)
				} else {
					add(obs)
					add(cmd)
				}
				unsynced = append(unsynced, entry)
			case journal.KindAwakeable:
				add(Event{Kind: CommandEmitted, Node: "executor", Attempt: attempt, Index: uint32(pos), Entry: step})
				unsynced = append(unsynced, step)
				if c.choose(2, "completion arrives") == 0 {
					live(attempt, pos)
				} else {
					stopped = true
				}
			default:
				add(Event{Kind: CommandEmitted, Node: "executor", Attempt: attempt, Index: uint32(pos), Entry: step})
				unsynced = append(unsynced, step)
			}
			if c.choose(2, "sync") == 0 {
				sync()
			}
		}
		if crashed {
			continue // the next attempt starts from what survived
		}
		if stopped {
			// Suspended on the awakeable at the end of the durable journal or of this attempt's
			// commands: the engine syncs, and the completion may arrive before the next attempt.
			sync()
			add(Event{Kind: AttemptEnded, Node: "executor", Attempt: attempt, Reason: "suspended"})
			for idx, e := range durable {
				if e.Kind.Completable() && !e.Completed {
					if c.choose(3, "completion while suspended") != 0 {
						accept(idx, fmt.Sprintf("s%d-%d", attempt, idx))
					}
					break
				}
			}
			continue
		}
		index := len(script) + 1
		if c.choose(5, "crash before output") == 0 {
			crash(attempt, index, out)
			continue
		}
		add(Event{Kind: CommandEmitted, Node: "executor", Attempt: attempt, Index: uint32(index), Entry: out})
		sync()
		durable = append(durable, out)
		add(Event{Kind: InvocationDone, Node: "runtime", Result: out.Result})
		add(Event{Kind: AttemptEnded, Node: "executor", Attempt: attempt, Reason: "done"})
		break
	}
	return append(evs, stale...)
}

var smallModel = modelConfig{invocations: 3, maxSteps: 4, maxAttempts: 6}

func TestModelHistoriesAreClean(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHistory(rapidChooser{t}, smallModel)
		if vs := All(h); len(vs) != 0 {
			t.Fatalf("correct history judged broken:\n%s", render(h, vs))
		}
	})
}

// mutation breaks a correct history in one place, in a way some checker must always catch.
type mutation struct {
	name  string
	event int
}

// mutations lists every mutation that applies to h.
func mutations(h History) []mutation {
	starts := make(map[protocol.InvocationID]int)
	for _, e := range h.Events {
		if e.Kind == AttemptStarted {
			starts[e.Invocation]++
		}
	}
	var ms []mutation
	for i, e := range h.Events {
		switch e.Kind {
		case ValueObserved:
			ms = append(ms, mutation{"change an observed value", i})
		case CompletionAccepted:
			ms = append(ms, mutation{"accept a completion twice", i})
		case InvocationDone:
			ms = append(ms, mutation{"record an output twice", i})
		case CommandEmitted:
			ms = append(ms, mutation{"shift a command's index", i})
		case AttemptStarted:
			if starts[e.Invocation] >= 2 {
				ms = append(ms, mutation{"change a start journal's input", i})
			}
			if slices.ContainsFunc(e.Journal, func(je journal.Entry) bool { return je.Kind == journal.KindRun }) {
				ms = append(ms, mutation{"re-execute a journaled run", i})
			}
		}
	}
	return ms
}

// apply returns a copy of h with m applied; h itself is not modified.
func (m mutation) apply(h History) History {
	evs := slices.Clone(h.Events)
	e := evs[m.event]
	insert := func(n Event) { evs = slices.Insert(evs, m.event+1, n) }
	switch m.name {
	case "change an observed value":
		evs[m.event].Result = val("MUTANT")
	case "accept a completion twice", "record an output twice":
		insert(e)
	case "shift a command's index":
		evs[m.event].Index++
	case "change a start journal's input":
		j := slices.Clone(e.Journal)
		j[0].Result = val("MUTANT")
		evs[m.event].Journal = j
	case "re-execute a journaled run":
		idx := slices.IndexFunc(e.Journal, func(je journal.Entry) bool { return je.Kind == journal.KindRun })
		insert(Event{Kind: RunExecuted, Node: "executor", Invocation: e.Invocation, Attempt: e.Attempt, Index: uint32(idx)})
	default:
		panic("unknown mutation " + m.name)
	}
	return History{Events: evs}
}

func TestModelMutationsAreCaught(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHistory(rapidChooser{t}, smallModel)
		ms := mutations(h)
		if len(ms) == 0 {
			t.Skip("nothing to mutate")
		}
		m := ms[rapid.IntRange(0, len(ms)-1).Draw(t, "mutation")]
		broken := m.apply(h)
		if vs := All(broken); len(vs) == 0 {
			t.Fatalf("mutation %q at event %d went unnoticed:\n%s", m.name, m.event, render(broken, nil))
		}
	})
}

// render prints a history and its violations for a failure message.
func render(h History, vs []Violation) string {
	s := ""
	for i, e := range h.Events {
		s += fmt.Sprintf("%4d %s\n", i, e)
	}
	for _, v := range vs {
		s += v.String() + "\n"
	}
	return s
}

func BenchmarkAll(b *testing.B) {
	c := randChooser{rand.New(rand.NewPCG(1, 2))}
	h := genHistory(c, modelConfig{invocations: 6000, maxSteps: 6, maxAttempts: 6})
	if vs := All(h); len(vs) != 0 {
		b.Fatalf("benchmark history is not clean: %v", vs[0])
	}
	for b.Loop() {
		All(h)
	}
	b.ReportMetric(float64(len(h.Events)), "events/op")
}
