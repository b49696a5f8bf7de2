package executor_test

import (
	"encoding/json"
	"fmt"
	"time"

	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// The property tests run handlers written in a small language of durable operations against
// random delivery orders, duplicates, stale messages and restarts, and check the executor's side
// of the protocol: commands take the indices 1..n in order, each once; a restart from the journal
// those commands built replays without commands, without re-running side effects, and observes
// the same values.

type opKind int

const (
	opAwait   opKind = iota // create an awakeable and await it at once
	opRun                   // a side effect that returns value
	opResolve               // resolve (or reject) another invocation's awakeable
	opFanOut                // create n awakeables, then await them in order
)

type op struct {
	kind   opKind
	value  string
	target string
	reject bool
	order  []int // opFanOut: the await order over its n awakeables
}

var values = []string{"", "a", "b", "yes", "no", "ünï", `"q"`, "two words"}

func drawOps(t *rapid.T) []op {
	n := rapid.IntRange(0, 7).Draw(t, "ops")
	ops := make([]op, n)
	for i := range ops {
		o := op{kind: opKind(rapid.IntRange(0, 3).Draw(t, "kind"))}
		switch o.kind {
		case opRun:
			o.value = rapid.SampledFrom(values).Draw(t, "run-value")
		case opResolve:
			o.value = rapid.SampledFrom(values).Draw(t, "resolve-value")
			o.reject = rapid.Bool().Draw(t, "reject")
			o.target = awakeableID(invID(byte(200+rapid.IntRange(0, 3).Draw(t, "target-inv"))), uint32(rapid.IntRange(1, 9).Draw(t, "target-index")))
		case opFanOut:
			width := rapid.IntRange(1, 4).Draw(t, "width")
			o.order = rapid.Permutation(seq(width)).Draw(t, "order")
		}
		ops[i] = o
	}
	return ops
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// program is a handler built from ops, with the side-effect executions it counts.
type program struct {
	ops   []op
	execs []int // per op: executions of its side effect
	kinds []journal.Kind
}

func newProgram(ops []op) *program {
	p := &program{ops: ops, execs: make([]int, len(ops))}
	for _, o := range ops {
		switch o.kind {
		case opAwait:
			p.kinds = append(p.kinds, journal.KindAwakeable)
		case opRun:
			p.kinds = append(p.kinds, journal.KindRun)
		case opResolve:
			p.kinds = append(p.kinds, journal.KindCompleteAwakeable)
		case opFanOut:
			for range o.order {
				p.kinds = append(p.kinds, journal.KindAwakeable)
			}
		}
	}
	return p
}

// n is the number of commands the program journals.
func (p *program) n() int { return len(p.kinds) }

func show(v string, err error) string {
	if err != nil {
		return fmt.Sprintf("err(%d):%s", durable.ErrorCode(err), err.Error())
	}
	return v
}

func (p *program) service() *durable.Service {
	return service(func(ctx durable.Context, _ struct{}) ([]string, error) {
		out := []string{}
		for i, o := range p.ops {
			switch o.kind {
			case opAwait:
				out = append(out, show(durable.Awakeable[string](ctx).Result()))
			case opRun:
				v, err := durable.Run(ctx, func(durable.RunContext) (string, error) {
					p.execs[i]++
					return o.value, nil
				}, durable.WithName(fmt.Sprintf("op-%d", i)))
				out = append(out, show(v, err))
			case opResolve:
				if o.reject {
					durable.RejectAwakeable(ctx, o.target, fmt.Errorf("%s", o.value))
				} else {
					durable.ResolveAwakeable(ctx, o.target, o.value)
				}
			case opFanOut:
				fs := make([]durable.AwakeableFuture[string], len(o.order))
				for k := range fs {
					fs[k] = durable.Awakeable[string](ctx)
				}
				for _, k := range o.order {
					out = append(out, show(fs[k].Result()))
				}
			}
		}
		return out, nil
	})
}

// expected is the program's output given the completions of its awakeables by index.
func (p *program) expected(completions map[uint32]journal.Result) []string {
	out := []string{}
	index := uint32(1)
	res := func(i uint32) string {
		r := completions[i]
		if r.Failure != nil {
			return fmt.Sprintf("err(%d):%s", r.Failure.Code, r.Failure.Message)
		}
		var s string
		if err := json.Unmarshal(r.Value, &s); err != nil {
			panic(err)
		}
		return s
	}
	for _, o := range p.ops {
		switch o.kind {
		case opAwait:
			out = append(out, res(index))
			index++
		case opRun:
			out = append(out, o.value)
			index++
		case opResolve:
			index++
		case opFanOut:
			for _, k := range o.order {
				out = append(out, res(index+uint32(k)))
			}
			index += uint32(len(o.order))
		}
	}
	return out
}

// world drives one invocation through an executor like an engine would, with random delivery.
type world struct {
	t           *rapid.T
	h           *harness
	p           *program
	inv         protocol.InvocationID
	completions map[uint32]journal.Result // the first (winning) completion of each awakeable
}

// completion returns the winning completion of the awakeable at index, drawing it the first time.
func (w *world) completion(index uint32) journal.Result {
	if r, ok := w.completions[index]; ok {
		return r
	}
	var r journal.Result
	if rapid.IntRange(0, 4).Draw(w.t, "reject") == 0 {
		r = failure(uint16(rapid.SampledFrom([]int{500, 409, 422}).Draw(w.t, "code")), rapid.SampledFrom(values).Draw(w.t, "reason"))
	} else {
		r = value(w.t, rapid.SampledFrom(values).Draw(w.t, "value"))
	}
	w.completions[index] = r
	return r
}

// runAttempt starts attempt with start and delivers acks and completions in a random order, with
// duplicates, conflicting second completions and stale copies, until the attempt ends. It checks
// the commands as they arrive and returns them by index, and the End.
func (w *world) runAttempt(attempt uint32, start []journal.Entry) (map[uint32]journal.Entry, protocol.Message) {
	t := w.t
	w.h.start(w.inv, attempt, start...)
	next := uint32(len(start))
	commands := map[uint32]journal.Entry{}
	var pending, delivered []protocol.Message
	// Completions for awakeables that are pending in the start journal may be delivered at once.
	for i, e := range start {
		if e.Kind == journal.KindAwakeable && !e.Completed {
			pending = append(pending, w.completionMsg(attempt, uint32(i)))
		}
	}
	var end *protocol.Message
	for step := 0; ; step++ {
		for _, m := range w.h.take() {
			require.Nil(t, end, "message after the end: %s", m)
			switch m.Kind {
			case protocol.KindCommand:
				require.Equal(t, attempt, m.Attempt)
				require.Equal(t, next, m.Index, "commands must take the next index: %s", m)
				require.Less(t, int(m.Index), w.p.n()+1, "more commands than the program has: %s", m)
				require.Equal(t, w.p.kinds[m.Index-1], m.Entry.Kind, "command %s", m)
				commands[m.Index] = m.Entry
				next++
				switch m.Entry.Kind {
				case journal.KindRun:
					pending = append(pending, protocol.Message{Kind: protocol.KindAck, Invocation: w.inv, Attempt: attempt, Index: m.Index})
				case journal.KindAwakeable:
					pending = append(pending, w.completionMsg(attempt, m.Index))
				}
			case protocol.KindEnd:
				require.Equal(t, attempt, m.Attempt)
				end = &m
			default:
				t.Fatalf("unexpected message %s", m)
			}
		}
		if end != nil {
			return commands, *end
		}
		require.Less(t, step, 20*(w.p.n()+2), "the attempt makes no progress")
		require.NotEmpty(t, pending, "the attempt waits for nothing it could get: pending none, delivered %v", delivered)
		switch rapid.IntRange(0, 9).Draw(t, "action") {
		case 0: // a duplicate of something delivered already
			if len(delivered) > 0 {
				w.h.ex.Deliver(delivered[rapid.IntRange(0, len(delivered)-1).Draw(t, "dup")])
				continue
			}
		case 1: // a stale copy for an older attempt, which must be ignored
			m := pending[rapid.IntRange(0, len(pending)-1).Draw(t, "stale")]
			m.Attempt--
			if m.Kind == protocol.KindCompletion {
				m.Entry.Result = value(t, "stale")
			}
			w.h.ex.Deliver(m)
			continue
		case 2: // a conflicting later completion, which must lose
			for _, m := range delivered {
				if m.Kind == protocol.KindCompletion {
					m.Entry.Result = failure(500, "second completion")
					w.h.ex.Deliver(m)
					break
				}
			}
			continue
		}
		i := rapid.IntRange(0, len(pending)-1).Draw(t, "deliver")
		m := pending[i]
		pending = append(pending[:i], pending[i+1:]...)
		delivered = append(delivered, m)
		w.h.ex.Deliver(m)
	}
}

func (w *world) completionMsg(attempt, index uint32) protocol.Message {
	return protocol.Message{Kind: protocol.KindCompletion, Invocation: w.inv, Attempt: attempt, Index: index,
		Entry: journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: w.completion(index)}}
}

// journalOf is the journal an engine would hold: start, then commands, awakeables completed.
func (w *world) journalOf(input journal.Entry, commands map[uint32]journal.Entry) []journal.Entry {
	j := []journal.Entry{input}
	for i := uint32(1); i <= uint32(len(commands)); i++ {
		e, ok := commands[i]
		require.True(w.t, ok, "no command at index %d", i)
		if e.Kind == journal.KindAwakeable {
			e = completedAwakeable(w.completion(i))
		}
		j = append(j, e)
	}
	return j
}

// observed returns the values one attempt observed, in order.
func observed(h *harness, inv protocol.InvocationID, attempt uint32) []string {
	var out []string
	for _, c := range h.obs.of("ValueObserved") {
		if c.Inv == inv && c.Attempt == attempt {
			out = append(out, fmt.Sprintf("%d %s %s", c.Index, c.Kind, c.Result))
		}
	}
	return out
}

func countOf(h *harness, method string, inv protocol.InvocationID, attempt uint32) int {
	n := 0
	for _, c := range h.obs.of(method) {
		if c.Inv == inv && c.Attempt == attempt {
			n++
		}
	}
	return n
}

func decodeOutput(t *rapid.T, end protocol.Message) []string {
	require.Nil(t, end.Entry.Result.Failure, "end %s", end)
	var out []string
	require.NoError(t, json.Unmarshal(end.Entry.Result.Value, &out))
	return out
}

// TestPropertyCommandsAndReplay: commands are exactly 1..n in order under any delivery order;
// a full replay sends nothing, executes nothing and observes the same values; a partial replay
// (a crash lost the tail of the journal, some completions not yet journaled) sends exactly the
// missing commands, runs exactly the missing side effects and ends the same way.
func TestPropertyCommandsAndReplay(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := newProgram(drawOps(t))
		h := newHarness(t, time.Hour, p.service())
		w := &world{t: t, h: h, p: p, inv: invID(1), completions: map[uint32]journal.Result{}}
		input := inputEntry(t, nil)

		// Attempt 1, from scratch.
		commands, end := w.runAttempt(1, []journal.Entry{input})
		n := p.n()
		require.Len(t, commands, n)
		require.Equal(t, uint32(n+1), end.Index)
		want := p.expected(w.completions)
		require.Equal(t, want, decodeOutput(t, end))
		for i, o := range p.ops {
			if o.kind == opRun {
				require.Equal(t, 1, p.execs[i], "op %d executed %d times", i, p.execs[i])
			}
		}
		require.Equal(t, n, countOf(h, "CommandEmitted", w.inv, 1))
		first := observed(h, w.inv, 1)
		require.Equal(t, 0, h.ex.Active())
		require.Equal(t, 0, h.clock.Pending())

		// Attempt 2 replays the whole journal.
		full := w.journalOf(input, commands)
		for i, e := range full[1:] {
			if e.Kind == journal.KindRun {
				require.Equal(t, fmt.Sprintf("op-%d", opOf(p, i+1)), e.Name)
			}
		}
		h.start(w.inv, 2, full...)
		end2 := h.takeOne()
		require.Equal(t, protocol.KindEnd, end2.Kind, "replay: %s", end2)
		end.Attempt = 2
		require.Equal(t, end, end2)
		require.Equal(t, 0, countOf(h, "CommandEmitted", w.inv, 2))
		require.Equal(t, 0, countOf(h, "RunExecuted", w.inv, 2))
		require.Equal(t, first, observed(h, w.inv, 2))
		execs := append([]int(nil), p.execs...)

		// Attempt 3 replays a prefix; awakeables in it may still be pending.
		k := rapid.IntRange(1, n+1).Draw(t, "prefix")
		prefix := append([]journal.Entry(nil), full[:k]...)
		for i := range prefix {
			if prefix[i].Kind == journal.KindAwakeable && rapid.Bool().Draw(t, "pending") {
				prefix[i] = awakeableEntry()
			}
		}
		commands3, end3 := w.runAttempt(3, prefix)
		require.Len(t, commands3, n+1-k)
		for i, e := range commands3 {
			require.True(t, commands[i].SameCommand(e), "index %d: %s then %s", i, commands[i], e)
			if e.Kind == journal.KindRun {
				require.True(t, commands[i].Result.Equal(e.Result))
			}
		}
		end.Attempt = 3
		require.Equal(t, end, end3)
		require.Equal(t, first, observed(h, w.inv, 3))
		for i, o := range p.ops {
			if o.kind == opRun {
				idx := indexOf(p, i)
				want := execs[i]
				if idx >= uint32(k) {
					want++
				}
				require.Equal(t, want, p.execs[i], "op %d at index %d, prefix %d", i, idx, k)
			}
		}
		require.Equal(t, 0, h.ex.Active())
		require.Equal(t, 0, h.clock.Pending())
	})
}

// indexOf is the journal index of op i's (first) command.
func indexOf(p *program, i int) uint32 {
	index := uint32(1)
	for _, o := range p.ops[:i] {
		if o.kind == opFanOut {
			index += uint32(len(o.order))
		} else {
			index++
		}
	}
	return index
}

// opOf is the op whose command sits at index.
func opOf(p *program, index int) int {
	for i := range p.ops {
		if indexOf(p, i+1) > uint32(index) {
			return i
		}
	}
	return -1
}

// TestPropertySuspendCycles: with an inactivity timeout of zero every wait suspends; an engine
// that journals each command, completes what the attempt waits on (and sometimes more) and
// starts the next attempt gets the same output as an attempt that never suspends, every side
// effect executes exactly once over all attempts, and each attempt starts at the end of the
// journal it was given.
func TestPropertySuspendCycles(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := newProgram(drawOps(t))
		h := newHarness(t, 0, p.service())
		w := &world{t: t, h: h, p: p, inv: invID(2), completions: map[uint32]journal.Result{}}
		j := []journal.Entry{inputEntry(t, nil)}
		for attempt := uint32(1); ; attempt++ {
			require.LessOrEqual(t, int(attempt), 2*p.n()+2, "too many attempts")
			h.start(w.inv, attempt, j...)
			replayLen := len(j)
			var last protocol.Message
			for _, m := range h.take() {
				require.Equal(t, attempt, m.Attempt)
				switch m.Kind {
				case protocol.KindCommand:
					require.Equal(t, uint32(len(j)), m.Index, "%s", m)
					j = append(j, m.Entry) // the engine journals it (a run is durable, so acked)
				case protocol.KindSuspend, protocol.KindEnd:
					last = m
				default:
					t.Fatalf("unexpected message %s", m)
				}
			}
			for _, c := range h.obs.of("RunExecuted") {
				if c.Attempt == attempt {
					require.GreaterOrEqual(t, int(c.Index), replayLen, "a journaled run executed again")
				}
			}
			require.Equal(t, 0, h.ex.Active(), "with timeout 0 no attempt stays")
			if last.Kind == protocol.KindEnd {
				require.Equal(t, uint32(len(j)), last.Index)
				require.Equal(t, p.n()+1, len(j))
				require.Equal(t, p.expected(w.completions), decodeOutput(t, last))
				break
			}
			require.Equal(t, protocol.KindSuspend, last.Kind, "attempt %d ended without a message", attempt)
			require.Equal(t, uint32(len(j)), last.Index)
			require.Len(t, last.WaitingOn, 1)
			waited := last.WaitingOn[0]
			require.Less(t, int(waited), len(j))
			// Complete what it waits on and, at random, other pending awakeables.
			for i := range j {
				if j[i].Kind == journal.KindAwakeable && !j[i].Completed && (uint32(i) == waited || rapid.Bool().Draw(t, "complete-more")) {
					j[i] = completedAwakeable(w.completion(uint32(i)))
				}
			}
		}
		for i, o := range p.ops {
			if o.kind == opRun {
				require.Equal(t, 1, p.execs[i], "op %d executed %d times", i, p.execs[i])
			}
		}
		require.Equal(t, 0, h.clock.Pending())
	})
}
