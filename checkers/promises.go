package checkers

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// promisesName is the Checker name of Promises' violations.
const promisesName = "promises"

// PromiseKinds are the journal kinds of the three durable promise commands: Get waits for the
// promise, Peek reads it without waiting, Complete resolves or rejects it. Promises recognises a
// promise operation by its entry's kind being one of them.
var PromiseKinds = struct{ Get, Peek, Complete journal.Kind }{
	Get:      journal.KindGetPromise,
	Peek:     journal.KindPeekPromise,
	Complete: journal.KindCompletePromise,
}

// PromiseCheckTimeout bounds the linearizability check of one promise (of one epoch) by
// porcupine; zero means no bound. A check that runs out of time is reported as a violation
// ("could not decide"), never taken as a pass: a write-once promise has few operations and
// decides in microseconds, so running out of time means a history worth looking at — but such
// a report depends on the machine's speed, unlike every other finding. Default: 10 seconds.
var PromiseCheckTimeout = 10 * time.Second

// alreadyCompletedCode is the failure code a complete gets when the promise was already
// completed (its message is "promise was already completed").
const alreadyCompletedCode = 409

// Promises checks that durable promise operations are linearizable and resolve each promise
// once (DESIGN.md, "What the checkers prove", items 1 and 8).
//
// An operation is one promise command of one invocation, named by (Invocation, Index): its call
// is the first CommandEmitted there (Entry.Kind one of PromiseKinds, Entry.Name the promise's
// name, and for a complete Entry.Param the value or failure it completes with), its return the
// first ValueObserved there, whose Result is what the handler saw: for a get the promise's value
// or failure; for a peek the same, or an empty Result when the promise is not completed; for a
// complete an empty Result (ok) or a failure with code 409 (already completed). An operation
// nobody saw return (its attempts crashed or were aborted first) may have happened at any time
// after its call, or never, which for a write-once promise is the same as at the end: it returns
// after the end of the run and any outcome is accepted for it.
//
// The promise an operation acts on is Entry.Name of the workflow Service/Key that the
// invocation's InvocationAccepted names, in an epoch: the number of Purged "workflow" events of
// that Service/Key recorded before the operation's call (a purge forgets the promises, and the
// key starts afresh). Per promise and epoch, porcupine checks the operations against a
// write-once register: complete(p) returns ok and stores p if nothing is stored, else 409; peek
// returns what is stored (empty if nothing); get returns what is stored and cannot take effect
// before something is (a get that returned before any complete could have taken effect is a
// violation). A peek that saw an empty Result is also accepted after a completion with an empty
// value, which JSON values never are.
//
// Besides linearizability, per promise and epoch:
//
//   - at most one PromiseCompleted (the engine's durable winning completion);
//   - a complete that returned ok has a PromiseCompleted, whose Result equals its Param;
//   - a PromiseCompleted with no complete that returned ok carries the Param of a complete whose
//     outcome nobody saw (one that may have won);
//   - every value a get or peek saw equals the PromiseCompleted's Result.
//
// And per operation: its invocation was accepted (otherwise its promise is unknown), and a
// complete saw ok or 409, nothing else (its outcome then counts as unknown for the rest).
//
// Violations about one operation name its invocation; those about a promise name none and give
// the promise as "name" of Service/Key (epoch n). Violations are sorted by their first event index.
func Promises(h History) []Violation { return promisesOf(h) }

// promises is Promises over an index, which tells at once a history with nothing to judge:
// every violation comes from a promise operation (a CommandEmitted of a promise kind) or a
// PromiseCompleted, so without those there is none, and the walks are skipped.
func promises(x *Index) []Violation {
	if len(x.ofKind(PromiseCompleted)) == 0 {
		ops := false
		for _, i := range x.ofKind(CommandEmitted) {
			if _, ok := promiseKindOf(x.H.Events[i].Entry.Kind); ok {
				ops = true
				break
			}
		}
		if !ops {
			return nil
		}
	}
	return promisesOf(*x.H)
}

func promisesOf(h History) []Violation {
	ix := indexPromises(h)
	vs := ix.vs
	for _, k := range ix.keys {
		vs = append(vs, linearizable(k, ix.byPromise[k])...)
		vs = append(vs, completions(h, k, ix.byPromise[k], ix.completedBy[k])...)
	}
	sortByFirstEvent(vs)
	return vs
}

// promiseIndex is a history's promise operations and completions, by promise epoch.
type promiseIndex struct {
	// byPromise holds each epoch's operations, completedBy its PromiseCompleted events.
	byPromise   map[promiseKey][]*promiseOp
	completedBy map[promiseKey][]int
	// keys are every epoch with an operation or a completion, sorted.
	keys []promiseKey
	// vs are the violations about single operations found while naming their promises.
	vs []Violation
}

// indexPromises finds every promise operation of h (its call and its first return) and names
// the promise epoch it acts on, as Promises describes; an operation that cannot be judged is a
// violation in the index's vs.
func indexPromises(h History) promiseIndex {
	ix := promiseIndex{byPromise: make(map[promiseKey][]*promiseOp), completedBy: make(map[promiseKey][]int)}
	accepted := make(map[protocol.InvocationID]int)
	wfPurges := make(map[workflowKey][]int)
	opIx := make(map[slot]int)
	var ops []*promiseOp
	var completed []int
	for i := range h.Events {
		e := &h.Events[i]
		switch e.Kind {
		case InvocationAccepted:
			if _, ok := accepted[e.Invocation]; !ok {
				accepted[e.Invocation] = i
			}
		case Purged:
			if e.Purge == event.PurgeWorkflow {
				k := workflowKey{e.Service, e.Key}
				wfPurges[k] = append(wfPurges[k], i)
			}
		case PromiseCompleted:
			completed = append(completed, i)
		case CommandEmitted:
			kind, ok := promiseKindOf(e.Entry.Kind)
			if !ok {
				continue
			}
			s := slot{e.Invocation, e.Index}
			if _, seen := opIx[s]; seen {
				continue
			}
			opIx[s] = len(ops)
			ops = append(ops, &promiseOp{slot: s, kind: kind, name: e.Entry.Name, param: promiseParam(e.Entry), call: i, ret: -1})
		}
	}
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind != ValueObserved {
			continue
		}
		if _, ok := promiseKindOf(e.Entry.Kind); !ok {
			continue
		}
		n, ok := opIx[slot{e.Invocation, e.Index}]
		if !ok || ops[n].ret >= 0 {
			continue
		}
		op := ops[n]
		op.ret, op.result, op.known = i, e.Result, true
		op.call = min(op.call, i)
	}

	// Name each operation's promise, and set aside those that cannot be judged.
	for _, op := range ops {
		a, ok := accepted[op.slot.Invocation]
		if !ok {
			// A gated attempt runs before its acceptance is durable; if a crash lost the
			// acceptance, what it journaled reached no engine that knew it, and is moot. But it
			// cannot have learnt an outcome from one.
			if op.known {
				ix.vs = append(ix.vs, newViolation(promisesName, op.slot.Invocation,
					fmt.Sprintf("%s on promise %q, but the invocation was never accepted (its workflow is unknown)", op.describe(), op.name),
					op.events()...))
			}
			continue
		}
		if op.kind == promiseComplete && op.known && !op.completeOK() && !op.completeConflict() {
			ix.vs = append(ix.vs, newViolation(promisesName, op.slot.Invocation,
				fmt.Sprintf("%s on promise %q, neither ok nor %d already completed", op.describe(), op.name, alreadyCompletedCode),
				op.events()...))
			op.known = false
		}
		// An operation takes effect no earlier than its invocation's acceptance. A gated attempt
		// journals before the sync that records that acceptance (and the notes of the batches
		// before it, a workflow's purge among them), so its call is placed there.
		if op.ret < 0 || op.ret >= a {
			op.call = max(op.call, a)
		}
		wk := workflowKey{h.Events[a].Service, h.Events[a].Key}
		op.promise = promiseKey{wk.service, wk.key, op.name, countBefore(wfPurges[wk], op.call)}
		ix.byPromise[op.promise] = append(ix.byPromise[op.promise], op)
	}
	for _, i := range completed {
		e := &h.Events[i]
		wk := workflowKey{e.Service, e.Key}
		k := promiseKey{e.Service, e.Key, e.Promise, countBefore(wfPurges[wk], i)}
		ix.completedBy[k] = append(ix.completedBy[k], i)
	}

	ix.keys = make([]promiseKey, 0, len(ix.byPromise)+len(ix.completedBy))
	for k := range ix.byPromise {
		ix.keys = append(ix.keys, k)
	}
	for k := range ix.completedBy {
		if _, ok := ix.byPromise[k]; !ok {
			ix.keys = append(ix.keys, k)
		}
	}
	slices.SortFunc(ix.keys, promiseKey.compare)
	return ix
}

// promiseOpKind is what a promise operation does.
type promiseOpKind uint8

const (
	promiseGet promiseOpKind = iota + 1
	promisePeek
	promiseComplete
)

func (k promiseOpKind) String() string {
	switch k {
	case promiseGet:
		return "get"
	case promisePeek:
		return "peek"
	default:
		return "complete"
	}
}

// promiseKindOf tells which promise operation an entry kind is, if any.
func promiseKindOf(k journal.Kind) (promiseOpKind, bool) {
	switch k {
	case PromiseKinds.Get:
		return promiseGet, true
	case PromiseKinds.Peek:
		return promisePeek, true
	case PromiseKinds.Complete:
		return promiseComplete, true
	}
	return 0, false
}

// promiseParam is the value or failure a complete-promise entry completes its promise with.
func promiseParam(e journal.Entry) journal.Result { return e.Param }

// promiseKey names one promise of one workflow key in one epoch (between two purges of the key).
type promiseKey struct {
	service, key, name string
	epoch              int
}

func (k promiseKey) compare(o promiseKey) int {
	return cmp.Or(cmp.Compare(k.service, o.service), cmp.Compare(k.key, o.key),
		cmp.Compare(k.name, o.name), cmp.Compare(k.epoch, o.epoch))
}

// String names the promise in reports.
func (k promiseKey) String() string {
	return fmt.Sprintf("promise %q of %s/%s (epoch %d)", k.name, k.service, k.key, k.epoch)
}

// promiseOp is one promise command of one invocation, with its outcome when someone saw it.
type promiseOp struct {
	slot    slot
	kind    promiseOpKind
	name    string
	param   journal.Result // a complete's value or failure
	promise promiseKey
	call    int // its first CommandEmitted event
	ret     int // its first ValueObserved event, -1 when none
	known   bool
	result  journal.Result // what the handler saw, when known
}

func (op *promiseOp) completeOK() bool {
	return op.result.Failure == nil && len(op.result.Value) == 0
}

func (op *promiseOp) completeConflict() bool {
	return op.result.Failure != nil && op.result.Failure.Code == alreadyCompletedCode
}

// events lists the events that show the operation: its call and, when seen, its return.
func (op *promiseOp) events() []int {
	if op.ret >= 0 {
		return []int{op.call, op.ret}
	}
	return []int{op.call}
}

// describe renders the operation as "inv[index] kind(param) -> outcome".
func (op *promiseOp) describe() string {
	s := fmt.Sprintf("%s[%d] %s", op.slot.Invocation, op.slot.Index, op.kind)
	if op.kind == promiseComplete {
		s += "(" + op.param.String() + ")"
	}
	switch {
	case !op.known && op.ret >= 0:
		s += " -> " + op.result.String() + " (not judged)"
	case !op.known:
		s += " -> ? (never seen)"
	case op.kind == promiseComplete && op.completeOK():
		s += " -> ok"
	case op.kind == promisePeek && op.result.Failure == nil && len(op.result.Value) == 0:
		s += " -> empty"
	default:
		s += " -> " + op.result.String()
	}
	return s
}

// countBefore counts the events of evs (ascending) before the event i.
func countBefore(evs []int, i int) int {
	n, _ := slices.BinarySearch(evs, i)
	return n
}

// resultKey is a journal.Result in a comparable form, as porcupine's states need.
type resultKey struct {
	failed  bool
	code    uint16
	message string
	value   string
}

func resultKeyOf(r journal.Result) resultKey {
	if r.Failure != nil {
		return resultKey{failed: true, code: r.Failure.Code, message: r.Failure.Message}
	}
	return resultKey{value: string(r.Value)}
}

// promiseState is the model's state of one promise: nothing yet, or what it was completed with.
type promiseState struct {
	done  bool
	value resultKey
}

// promiseInput is an operation as the model sees it.
type promiseInput struct {
	kind  promiseOpKind
	param resultKey
}

// promiseOutput is an operation's outcome as the model sees it; known is false when nobody saw it.
type promiseOutput struct {
	known  bool
	result resultKey
}

// promiseModel is a write-once register: the sequential specification of one durable promise.
var promiseModel = porcupine.Model{
	Init: func() any { return promiseState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(promiseState), input.(promiseInput), output.(promiseOutput)
		switch in.kind {
		case promiseComplete:
			switch {
			case !s.done && (!out.known || !out.result.failed):
				return true, promiseState{done: true, value: in.param}
			case s.done && (!out.known || out.result.failed):
				return true, s
			}
			return false, s
		case promisePeek:
			switch {
			case !out.known:
				return true, s
			case out.result == resultKey{}:
				return !s.done || s.value == resultKey{}, s
			}
			return s.done && s.value == out.result, s
		default: // get
			return !out.known || s.done && s.value == out.result, s
		}
	},
	Equal: func(a, b any) bool { return a.(promiseState) == b.(promiseState) },
	// The descriptions are what porcupine's visualisation shows (PromiseCheck.Visualize): they
	// read as the violations' messages do.
	DescribeOperation: func(input, output any) string {
		in, out := input.(promiseInput), output.(promiseOutput)
		s := in.kind.String()
		if in.kind == promiseComplete {
			s += "(" + in.param.String() + ")"
		}
		switch {
		case !out.known:
			return s + " -> ? (never seen)"
		case in.kind == promiseComplete && !out.result.failed:
			return s + " -> ok"
		case in.kind == promisePeek && out.result == resultKey{}:
			return s + " -> empty"
		}
		return s + " -> " + out.result.String()
	},
	DescribeState: func(state any) string {
		s := state.(promiseState)
		if !s.done {
			return "not completed"
		}
		return "completed with " + s.value.String()
	},
	DescribeOperationMetadata: func(info any) string {
		s, _ := info.(string)
		return s
	},
}

// String renders the result as journal.Result does.
func (r resultKey) String() string {
	if r.failed {
		return journal.Result{Failure: &journal.Failure{Code: r.code, Message: r.message}}.String()
	}
	return journal.Result{Value: []byte(r.value)}.String()
}

// promiseCheck is porcupine's check of one promise epoch: its operations in call order (the
// operation ids porcupine reports index them), the events that show them, and the verdict.
type promiseCheck struct {
	ops    []*promiseOp
	events []int
	// clients are the invocations in the order of their client ids.
	clients []protocol.InvocationID
	res     porcupine.CheckResult
	info    porcupine.LinearizationInfo
}

// checkPromise runs porcupine on the operations of one promise epoch. Event indices are the
// timestamps; an operation never seen to return returns after the last of them and after the
// epoch's last completion (which, within one partition, is the same as after the end of the
// run). Each invocation is one of porcupine's clients, so that the visualisation draws an
// invocation's operations on one line.
func checkPromise(ops []*promiseOp, completed []int) promiseCheck {
	// Call events are unique per operation, so this order is total.
	ops = withoutRedundantUnknowns(slices.SortedFunc(slices.Values(ops), func(a, b *promiseOp) int { return cmp.Compare(a.call, b.call) }))
	end := int64(0)
	for _, op := range ops {
		end = max(end, int64(op.call), int64(op.ret))
	}
	for _, c := range completed {
		end = max(end, int64(c))
	}
	history := make([]porcupine.Operation, len(ops))
	clients := make(map[protocol.InvocationID]int)
	var order []protocol.InvocationID
	var evs []int
	for n, op := range ops {
		in := promiseInput{kind: op.kind}
		if op.kind == promiseComplete {
			in.param = resultKeyOf(op.param)
		}
		out := promiseOutput{known: op.known}
		ret := end + 1
		if op.known {
			out.result = resultKeyOf(op.result)
			ret = int64(op.ret)
		}
		client, ok := clients[op.slot.Invocation]
		if !ok {
			client = len(clients)
			clients[op.slot.Invocation] = client
			order = append(order, op.slot.Invocation)
		}
		history[n] = porcupine.Operation{ClientId: client, Input: in, Call: int64(op.call), Output: out, Return: ret, Metadata: op.metadata()}
		evs = append(evs, op.events()...)
	}
	res, info := porcupine.CheckOperationsVerbose(promiseModel, history, PromiseCheckTimeout)
	return promiseCheck{ops: ops, events: evs, clients: order, res: res, info: info}
}

// withoutRedundantUnknowns drops, from ops in call order, the operations never seen to return
// whose presence cannot change porcupine's verdict, so that a promise many handlers raced to
// complete, most of them lost in crashes, is decided at once instead of timing out in a search
// over every order of the pending ones (review-workflow seed 9239: 22 operations, 19 unseen):
//   - a get or peek never seen to return: a read changes nothing and its output is unknown;
//   - every unseen complete but the earliest called of each value: unseen operations all return
//     after the last event, so the earliest one's interval holds any point a later one with
//     the same value could take effect at, and the others, which may have failed or found the
//     promise completed, take effect harmlessly after everything else.
func withoutRedundantUnknowns(ops []*promiseOp) []*promiseOp {
	kept := ops[:0:0]
	seen := map[resultKey]bool{}
	for _, op := range ops {
		if !op.known {
			if op.kind != promiseComplete {
				continue
			}
			k := resultKeyOf(op.param)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		kept = append(kept, op)
	}
	return kept
}

// metadata is what porcupine's visualisation shows of the operation beside its description:
// the journal entry and the events of its call and return.
func (op *promiseOp) metadata() string {
	s := fmt.Sprintf("%s[%d] event #%d", op.slot.Invocation, op.slot.Index, op.call)
	if op.ret >= 0 {
		s += fmt.Sprintf(" .. #%d", op.ret)
	} else {
		s += ", never seen to return"
	}
	return s
}

// linearizable checks the operations of one promise epoch with porcupine.
func linearizable(k promiseKey, ops []*promiseOp) []Violation {
	if len(ops) == 0 {
		return nil
	}
	c := checkPromise(ops, nil)
	switch c.res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return []Violation{newViolation(promisesName, protocol.InvocationID{},
			fmt.Sprintf("%s: could not decide within %v whether its %d operations are linearizable: %s",
				k, PromiseCheckTimeout, len(c.ops), describeOps(c.ops, nil)),
			c.events...)}
	}
	return []Violation{newViolation(promisesName, protocol.InvocationID{},
		fmt.Sprintf("%s: operations are not linearizable as a write-once promise: %s; the longest linearizable prefix is [%s]",
			k, describeOps(c.ops, nil), describeOps(c.ops, longestPrefix(c.info))),
		c.events...)}
}

// PromiseCheck is porcupine's check of the operations of one promise in one epoch, as Promises
// runs it, kept so that a failure report can draw it with porcupine's visualisation. Promises
// itself keeps nothing: PromiseChecks rebuilds these from the history on demand.
type PromiseCheck struct {
	// Promise names the promise as Promises' violations do: promise "name" of Service/Key (epoch n).
	Promise string
	// Service, Key, Name and Epoch are the parts of Promise.
	Service, Key, Name string
	Epoch              int
	// Result is porcupine's verdict: porcupine.Ok, porcupine.Illegal (not linearizable) or
	// porcupine.Unknown (undecided within PromiseCheckTimeout).
	Result porcupine.CheckResult
	// Events are the indices of the events that show the epoch (its operations' calls and
	// returns, its PromiseCompleted events), ascending.
	Events []int
	// Clients are the invocations whose operations the visualisation draws, by line: line n
	// (porcupine's client n) is Clients[n], in the order of their first operation's call.
	Clients []protocol.InvocationID

	info porcupine.LinearizationInfo
}

// Linearizable tells whether porcupine found a linearization.
func (c *PromiseCheck) Linearizable() bool { return c.Result == porcupine.Ok }

// Undecided tells whether porcupine ran out of time (PromiseCheckTimeout) before deciding.
func (c *PromiseCheck) Undecided() bool { return c.Result == porcupine.Unknown }

// PromiseChecks checks the operations of every promise epoch of h with porcupine, as Promises
// does, and returns the checks in the order of their promises (service, key, name, epoch).
// Epochs with completions but no operation have nothing to check and are left out.
func PromiseChecks(h History) []PromiseCheck {
	ix := indexPromises(h)
	var out []PromiseCheck
	for _, k := range ix.keys {
		ops := ix.byPromise[k]
		if len(ops) == 0 {
			continue
		}
		c := checkPromise(ops, ix.completedBy[k])
		evs := slices.Concat(c.events, ix.completedBy[k])
		slices.Sort(evs)
		info := c.info
		info.AddAnnotations(completionAnnotations(h, ix.completedBy[k]))
		out = append(out, PromiseCheck{
			Promise: k.String(), Service: k.service, Key: k.key, Name: k.name, Epoch: k.epoch,
			Result: c.res, Events: slices.Compact(evs), Clients: c.clients, info: info,
		})
	}
	return out
}

// completionAnnotations shows the runtime's PromiseCompleted events on their own line of the
// visualisation: the claims the operations are judged against (a second one is the bug).
func completionAnnotations(h History, completed []int) []porcupine.Annotation {
	var as []porcupine.Annotation
	for n, i := range completed {
		a := porcupine.Annotation{
			Tag:         "runtime: promise-completed",
			Start:       int64(i),
			Description: "completed " + h.Events[i].Result.String(),
			Details:     fmt.Sprintf("event #%d: the runtime recorded the promise completed with %s", i, h.Events[i].Result),
		}
		if n > 0 {
			a.BackgroundColor = "#ffb4b4"
			a.Details += " (a second completion)"
		}
		as = append(as, a)
	}
	return as
}

// Visualize writes porcupine's visualisation of the check to w: a self-contained HTML page
// (its script and data inline) with the operations on a line per invocation, the longest
// partial linearizations and, when the epoch is not linearizable, where each one fails. The
// page is the same for the same history: porcupine collects its partial linearizations
// through a map, so they are put in a fixed order (longest first, then by operation ids)
// before it draws them.
func (c *PromiseCheck) Visualize(w io.Writer) error {
	for _, part := range c.info.PartialLinearizations() {
		// PartialLinearizations returns porcupine's own slices: sorting them in place orders
		// what Visualize draws.
		slices.SortFunc(part, func(a, b []int) int { return cmp.Or(cmp.Compare(len(b), len(a)), slices.Compare(a, b)) })
	}
	if err := porcupine.Visualize(promiseModel, c.info, w); err != nil {
		return fmt.Errorf("checkers: visualising %s: %w", c.Promise, err)
	}
	return nil
}

// describeOps renders the operations (all of them when order is nil, else those order lists).
func describeOps(ops []*promiseOp, order []int) string {
	var parts []string
	if order == nil {
		for _, op := range ops {
			parts = append(parts, op.describe())
		}
	} else {
		for _, n := range order {
			parts = append(parts, ops[n].describe())
		}
	}
	return strings.Join(parts, "; ")
}

// longestPrefix picks, deterministically, the longest partial linearization porcupine found in
// the (only) partition: the longest, then the lexicographically smallest. It returns an empty,
// non-nil slice when there is none.
func longestPrefix(info porcupine.LinearizationInfo) []int {
	best := []int{}
	for _, part := range info.PartialLinearizations() {
		for _, l := range part {
			if len(l) > len(best) || len(l) == len(best) && slices.Compare(l, best) < 0 {
				best = l
			}
		}
	}
	return best
}

// completions checks one promise epoch's PromiseCompleted events against its operations.
func completions(h History, k promiseKey, ops []*promiseOp, completed []int) []Violation {
	var vs []Violation
	for _, c := range completed[min(1, len(completed)):] {
		vs = append(vs, newViolation(promisesName, protocol.InvocationID{},
			fmt.Sprintf("%s completed a second time with %s after %s", k, h.Events[c].Result, h.Events[completed[0]].Result),
			completed[0], c))
	}
	winner := -1
	if len(completed) > 0 {
		winner = completed[0]
	}
	var wonOK bool
	for _, op := range ops {
		if op.kind != promiseComplete || !op.known || !op.completeOK() {
			continue
		}
		wonOK = true
		switch {
		case winner < 0:
			vs = append(vs, newViolation(promisesName, op.slot.Invocation,
				fmt.Sprintf("%s got ok, but %s was never recorded as completed", op.describe(), k),
				op.events()...))
		case !h.Events[winner].Result.Equal(op.param):
			vs = append(vs, newViolation(promisesName, op.slot.Invocation,
				fmt.Sprintf("%s got ok, but %s was completed with %s", op.describe(), k, h.Events[winner].Result),
				append(op.events(), winner)...))
		}
	}
	if winner < 0 {
		return vs
	}
	w := h.Events[winner].Result
	if !wonOK && !slices.ContainsFunc(ops, func(op *promiseOp) bool {
		return op.kind == promiseComplete && !op.known && op.param.Equal(w)
	}) {
		vs = append(vs, newViolation(promisesName, protocol.InvocationID{},
			fmt.Sprintf("%s was completed with %s, which no complete that may have won carried", k, w),
			winner))
	}
	for _, op := range ops {
		if !op.known || op.kind == promiseComplete ||
			op.kind == promisePeek && op.result.Failure == nil && len(op.result.Value) == 0 {
			continue
		}
		if !op.result.Equal(w) {
			vs = append(vs, newViolation(promisesName, op.slot.Invocation,
				fmt.Sprintf("%s, but %s was completed with %s", op.describe(), k, w),
				append(op.events(), winner)...))
		}
	}
	return vs
}
