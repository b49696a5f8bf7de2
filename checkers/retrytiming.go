package checkers

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// retryTimingName is the Checker name of RetryTiming's violations.
const retryTimingName = "retry-timing"

// The engine's documented retry policy (runtime/engine RetryPolicy, Restate's defaults), written
// here and not read from the engine: a declaration that says nothing means these.
const (
	DefaultRetryInitialInterval = 500 * time.Millisecond
	DefaultRetryFactor          = 2.0
	DefaultRetryMaxInterval     = time.Minute
	DefaultRetryMaxAttempts     = 70
)

// RetryLateSlack is how long after its declared backoff the next attempt of a failed invocation
// may still start. The simulator hands the engine its retry timer at the true time at which the
// engine's clock was predicted, when the timer was armed, to reach the deadline; a clock step
// in between (fault plans keep the runtime's clock within 10 s of the true time, so a step moves
// it by at most 20 s) makes the engine act that much later. A second on top covers the sync and
// the release that carry the Start (tens of milliseconds). Stretches in which the runtime was
// paused excuse any lateness, and a crash of the runtime makes the next start a recovery's.
const RetryLateSlack = 21 * time.Second

// retryRounding absorbs the rounding of the engine's floating-point backoff arithmetic.
const retryRounding = time.Millisecond

// RetryPolicy is a retry policy with every field set: a declaration with its defaults filled in.
type RetryPolicy struct {
	InitialInterval time.Duration
	Factor          float64
	MaxInterval     time.Duration
	MaxAttempts     uint32
}

// DeclaredRetry returns the retry policy h declares (its first RuntimeDeclared; none declared
// means the defaults), each zero field taking its documented default.
func DeclaredRetry(h *History) RetryPolicy {
	p := RetryPolicy{}
	if r := declaredRuntime(h); r != nil {
		p = RetryPolicy{r.RetryInitialInterval, r.RetryFactor, r.RetryMaxInterval, r.RetryMaxAttempts}
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = DefaultRetryInitialInterval
	}
	if !(p.Factor >= 1) { // the engine takes a factor below 1 (or NaN) for the default too
		p.Factor = DefaultRetryFactor
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = DefaultRetryMaxInterval
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultRetryMaxAttempts
	}
	return p
}

// declaredRuntime is the first RuntimeDeclared's configuration, nil when h has none. The whole
// history is searched: whatever a scenario records before the declarations must not hide them.
func declaredRuntime(h *History) *event.Runtime {
	for i := range h.Events {
		if e := &h.Events[i]; e.Kind == event.RuntimeDeclared && e.Runtime != nil {
			return e.Runtime
		}
	}
	return nil
}

// Backoff is the wait the policy declares before the next attempt after failures failed
// attempts (at least 1): InitialInterval * Factor^(failures-1), capped at MaxInterval.
func (p RetryPolicy) Backoff(failures int) time.Duration {
	d := float64(p.InitialInterval)
	for i := 1; i < failures && d < float64(p.MaxInterval); i++ {
		d *= p.Factor
	}
	if d >= float64(p.MaxInterval) {
		return p.MaxInterval
	}
	return time.Duration(d)
}

// RetryTiming checks that the runtime retries a failed attempt when the declared retry policy
// says (DeclaredRetry), judged from the link log the simulator kept (l) placed among the history
// (h), never from the retry timers the engine announced.
//
// A retry is a Start of attempt b of an invocation, sent by the runtime node, where the runtime
// node last sent the Start of attempt a < b of it in the same life (no crash of the runtime in
// between), and an Error of attempt a reached the engine after that while no Suspend or End of
// a had reached it first: the engine was running a, saw it fail, and must back off before b.
// Starts after a crash are recovery's, after a suspension a resume's, and are not judged; nor is
// anything of an invocation after its output (InvocationDone), when a breaking connection's
// Error fails nothing.
//
//   - never early: b's Start must come no earlier than the declared backoff after the Error, on
//     the runtime's own clock, taking for it the largest clock offset the runtime had in between
//     (a forward clock step lets the engine's timer fire that much sooner in true time). The
//     backoff is that of the k-th failure where k counts the judged retries of the invocation
//     so far, this one included: a lower bound of the engine's own count (every judged retry's
//     Start left after a sync that made its failure count durable), so the backoff is too;
//   - never late, never missing: after such an Error, a Start of a later attempt, the
//     invocation's output or a crash of the runtime must come within the backoff of n failures
//     plus RetryLateSlack, where n counts the attempts of the invocation whose Error reached
//     the engine (an upper bound of its count), unless the runtime was paused in between.
//
// Violations are sorted by their first event index.
func RetryTiming(h History, l Link) []Violation { return judgeAttempts(h, l, newRetryTiming(&h))[0] }

func newRetryTiming(h *History) *retryTiming {
	r := &retryTiming{}
	r.reset(h, DeclaredRetry(h))
	return r
}

// reset readies r for history h and its declared policy, keeping its maps' and slices' room
// and its retryStates for reuse (AttemptJudges): r.invs alone holds them.
func (r *retryTiming) reset(h *History, policy RetryPolicy) {
	for _, st := range r.invs {
		if st != nil {
			r.free = append(r.free, st)
		}
	}
	r.invs = clearDense(r.invs)
	r.errors.reset()
	r.h, r.policy, r.order, r.offset = h, policy, r.order[:0], 0
	r.steps, r.pauses = r.steps[:0], r.pauses[:0]
	r.vs = nil // handed out by finish
}

func (r *retryTiming) finish() []Violation {
	for _, o := range r.order {
		if st := r.invs[o.v]; st.failed && !st.done {
			r.late(o.inv, st, r.h.End(), len(r.h.Events)-1, silenceEnd{text: "the end of the run"})
		}
	}
	sortByFirstEvent(r.vs)
	return r.vs
}

// retryState is what the checker knows of one invocation's attempts since the runtime's last
// Start of it.
type retryState struct {
	started bool   // the runtime sent a Start of it in its current life
	attempt uint32 // that Start's attempt
	ended   bool   // a Suspend or End of that attempt reached the engine
	failed  bool   // an Error of that attempt reached the engine while it was running it
	done    bool   // the invocation finished (its first InvocationDone)
	errAt   time.Duration
	errOff  time.Duration // the runtime's clock offset then
	errEv   int
	retries int // judged retries so far
	errored int // attempts whose Error reached the engine
}

// clockStep is a change of the runtime's clock offset at At.
type clockStep struct{ at, offset time.Duration }

type retryTiming struct {
	h      *History
	policy RetryPolicy
	invs   []*retryState          // by invocation number; nil for none
	free   []*retryState          // states of an earlier history, for state to reuse
	order  []numberedInvocation   // invocations in the order first seen, for a stable report
	errors smallMap[uint64, bool] // attempts whose Error reached the engine, by farKey(invocation number, attempt)
	offset time.Duration
	steps  []clockStep
	pauses []Window // the runtime node's pauses so far
	vs     []Violation
}

// numberedInvocation is an invocation and its number in the walk.
type numberedInvocation struct {
	inv protocol.InvocationID
	v   invNum
}

// stateOf returns the state of invocation number v, nil when there is none.
func (r *retryTiming) stateOf(v invNum) *retryState {
	if int(v) < len(r.invs) {
		return r.invs[v]
	}
	return nil
}

func (r *retryTiming) state(inv protocol.InvocationID, v invNum) *retryState {
	st := r.stateOf(v)
	if st == nil {
		if n := len(r.free); n > 0 {
			st, r.free = r.free[n-1], r.free[:n-1]
			*st = retryState{}
		} else {
			st = &retryState{}
		}
		r.invs = dense(r.invs, v)
		r.invs[v] = st
		r.order = append(r.order, numberedInvocation{inv, v})
	}
	return st
}

// retryKinds are the kinds of event that retryTiming.event reads.
var retryKinds = kinds(ClockStepped, NodePaused, NodeCrashed, InvocationDone)

func (*retryTiming) kinds() *kindSet { return &retryKinds }

func (r *retryTiming) event(i int, e *Event, v invNum) {
	if e.Node != runtimeNode && e.Kind != event.InvocationDone {
		return
	}
	switch e.Kind {
	case event.ClockStepped:
		r.offset = e.Span
		r.steps = append(r.steps, clockStep{e.At, e.Span})
	case event.NodePaused:
		r.pauses = append(r.pauses, Window{e.At, e.At + e.Span})
	case event.NodeCrashed:
		for _, o := range r.order {
			st := r.invs[o.v]
			if st.failed && !st.done {
				r.late(o.inv, st, e.At, i, silenceEnd{text: "the runtime's crash"})
			}
			st.started, st.failed = false, false
		}
	case event.InvocationDone:
		// It finished (or gave up, or a non-retryable error ended it): an Error of its attempt
		// that comes after, a connection breaking say, fails nothing.
		r.state(e.Invocation, v).done = true
	}
}

// retryLinks are the link events that retryTiming.link reads.
var retryLinks = links(linkMatch{kind: LinkDelivered, from: "executor", msgs: []protocol.Kind{protocol.KindSuspend, protocol.KindEnd, protocol.KindError}},
	linkMatch{kind: LinkSent, from: runtimeNode, msgs: []protocol.Kind{protocol.KindStart}})

func (*retryTiming) links() *linkSet { return &retryLinks }

func (r *retryTiming) link(_ int, le *LinkEvent, v invNum) {
	m := &le.Message
	switch {
	case le.Kind == LinkDelivered && le.From == "executor":
		st := r.stateOf(v)
		if st == nil || st.done || !st.started || m.Attempt != st.attempt {
			return
		}
		switch m.Kind {
		case protocol.KindSuspend, protocol.KindEnd:
			st.ended = true
		case protocol.KindError:
			if k := (farKey(v, m.Attempt)); !r.errors.get(k) {
				r.errors.set(k, true)
				st.errored++
			}
			if !st.ended && !st.failed {
				st.failed, st.errAt, st.errOff, st.errEv = true, le.At, r.offset, reportedAt(r.h, le)
			}
		}
	case le.Kind == LinkSent && le.From == runtimeNode && m.Kind == protocol.KindStart:
		st := r.state(m.Invocation, v)
		if st.done || st.started && m.Attempt == st.attempt {
			return // the same start again
		}
		if st.started && st.failed && m.Attempt > st.attempt {
			st.retries++
			r.early(m.Invocation, st, le)
			r.late(m.Invocation, st, le.At, reportedAt(r.h, le), silenceEnd{start: m.Attempt})
		}
		*st = retryState{started: true, attempt: m.Attempt, retries: st.retries, errored: st.errored}
	}
}

// early reports a retry that started before its declared backoff ended on the runtime's clock.
func (r *retryTiming) early(inv protocol.InvocationID, st *retryState, le *LinkEvent) {
	want := r.policy.Backoff(st.retries)
	failedClock := st.errAt + st.errOff
	// The latest reading the runtime's clock can have had when its timer fired: the Start's
	// true time plus the largest offset the clock had since the failure.
	maxOff := st.errOff
	for _, s := range r.steps {
		if s.at >= st.errAt && s.at <= le.At {
			maxOff = max(maxOff, s.offset)
		}
	}
	latest := le.At + maxOff
	if latest+retryRounding >= failedClock+want {
		return
	}
	r.vs = append(r.vs, newViolation(retryTimingName, inv, fmt.Sprintf(
		"attempt %d started %v after attempt %d failed (runtime clock, at most), before the declared backoff of %v after failure %d (retry policy initial %v, factor %g, max %v)",
		le.Message.Attempt, latest-failedClock, st.attempt, want, st.retries, r.policy.InitialInterval, r.policy.Factor, r.policy.MaxInterval),
		st.errEv, reportedAt(r.h, le)))
}

// late reports a failed attempt whose retry had not started by at (when what is at event i
// happened), past its backoff and the slack, while the runtime was never paused.
//
// what names what happened at i; like Inactivity's, it is spelled out only for a violation.
func (r *retryTiming) late(inv protocol.InvocationID, st *retryState, at time.Duration, i int, what silenceEnd) {
	bound := r.policy.Backoff(max(st.errored, 1))
	if at <= st.errAt+bound+RetryLateSlack || Overlaps(r.pauses, st.errAt, at) {
		return
	}
	r.vs = append(r.vs, newViolation(retryTimingName, inv, fmt.Sprintf(
		"attempt %d failed at %v and no later attempt started by %s at %v, past the declared backoff of at most %v (%d failed attempts) and the slack of %v",
		st.attempt, st.errAt, what, at, bound, st.errored, RetryLateSlack), st.errEv, i))
}
