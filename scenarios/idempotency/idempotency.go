// Package idempotency is the scenario of idempotency keys through their whole life, and of
// delayed sends. Its services declare short retentions (Retention, IdempotencyRetention), so
// that within every run a key answers with its first invocation, expires, and starts a fresh
// one when used again. Each key is also sent to a second target (another handler of the same
// service, or another key of the same object), which must get an invocation of its own. Clients
// call and send with the key (a repeated send gets 202 PreviouslyAccepted), attach to and read
// the output of invocations by idempotency key (GET /restate/invocation/{service}[/{key}]/
// {handler}/{idempotency key}/attach and /output), and send with ?delay=.
//
// The expected outcome (see Check) is judged against what the clients sent — the target, the
// key and the delay of each request as the workload built it — and the retentions the services
// declared, never against what the runtime says it understood.
//
// It imports the user kit (vigiltest), the simulator's coverage points and fault plan, the
// checkers' history and the runtime's handler API; nothing in the runtime imports it.
package idempotency

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the idempotency scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "idempotency",
	Description: "idempotency keys on two targets, repeated, expired and reused; attach/output by key; sends repeated and delayed",
	Setup: func(s *vigiltest.Sim) {
		wl := newWorkload(s)
		s.Services(NewServices(wl)...)
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// Names of the services and handlers, as clients address them.
const (
	MailerName  = "Mailer"
	MailboxName = "Mailbox"
	Send        = "send"
	Notify      = "notify"
	Post        = "post"
)

// Retention and IdempotencyRetention are what both services declare: short, so that keys expire
// and are reused inside every run.
const (
	Retention            = 2 * time.Second
	IdempotencyRetention = 6 * time.Second
)

// Target is where a request goes: a handler of a service, and an object key for the object.
type Target struct {
	Service, Handler, Key string
}

// String renders t as the path of its call route, without the leading slash.
func (t Target) String() string {
	if t.Key == "" {
		return t.Service + "/" + t.Handler
	}
	return t.Service + "/" + t.Key + "/" + t.Handler
}

// targets are the four targets keys are sent to: two handlers of one service, two keys of one
// object's handler.
var targets = []Target{{MailerName, Send, ""}, {MailerName, Notify, ""}, {MailboxName, Post, "mb-0"}, {MailboxName, Post, "mb-1"}}

// Output is what a handler of target returns for input, with the stamp its Run drew: a fresh
// one per invocation, so that two invocations never answer alike.
func Output(t Target, input string, stamp int) string {
	return fmt.Sprintf("%s #%d: %s", t, stamp, input)
}

// Stamper is the outside world the handlers draw their stamps from.
type Stamper interface {
	// Stamp returns a number never returned before.
	Stamp() int
}

// NewServices returns the Mailer service (send, notify) and the Mailbox object (post), each
// returning Output of its target, its input and a stamp drawn inside Run.
func NewServices(st Stamper) []*durable.Service {
	opts := []durable.ServiceOption{durable.WithRetention(Retention), durable.WithIdempotencyRetention(IdempotencyRetention)}
	stamp := func(ctx durable.Context) (int, error) {
		return durable.Run(ctx, func(durable.RunContext) (int, error) { return st.Stamp(), nil }, durable.WithName("stamp"))
	}
	plain := func(handler string) durable.Handler {
		return durable.NewServiceHandler(func(ctx durable.Context, in string) (string, error) {
			n, err := stamp(ctx)
			return Output(Target{MailerName, handler, ""}, in, n), err
		})
	}
	return []*durable.Service{
		durable.NewService(MailerName, opts...).Handler(Send, plain(Send)).Handler(Notify, plain(Notify)),
		durable.NewObject(MailboxName, opts...).Handler(Post, durable.NewObjectHandler(func(ctx durable.ObjectContext, in string) (string, error) {
			n, err := stamp(ctx)
			return Output(Target{MailboxName, Post, ctx.Key()}, in, n), err
		})),
	}
}

// opKind is what a client request does.
type opKind uint8

const (
	opCall opKind = iota
	opSend
	opAttach
	opOutput
)

// op is one client's request as the workload built it: what the check judges the answers by.
type op struct {
	kind   opKind
	target Target
	idem   string
	delay  time.Duration
}

// workload drives the clients, on the user kit.
type workload struct {
	s *vigiltest.Sim
	// w is the run's world, whose fault plan bounds the clock skew Check allows for.
	w      *sim.World
	cl     *wfload.Actors
	stamps int
	// ops maps each client (the Node of its requests) to its one request, tried again only
	// after connection errors.
	ops map[string]op
	// answered is, per target and key, the invocations our calls and sends were answered with,
	// for the points the workload reports.
	answered map[Target]map[string][]string
}

func newWorkload(s *vigiltest.Sim) *workload {
	return &workload{s: s, w: s.World(), cl: wfload.Over(s, MailerName), ops: map[string]op{}, answered: map[Target]map[string][]string{}}
}

// Stamp implements Stamper.
func (wl *workload) Stamp() int {
	wl.stamps++
	return wl.stamps
}

func (wl *workload) start() {
	r := wl.s.Rand()
	for k := range 2 + r.Intn(3, "keys") {
		wl.keyStory(fmt.Sprintf("key-%d", k))
	}
	for d := range 1 + r.Intn(4, "delayed") {
		// Only the plain service's targets: a delayed send to an object joins its key's inbox when
		// its delay ends, not in acceptance order, and the exclusive checker's FIFO rule does not
		// know delays yet (it would report that order as a violation).
		t := targets[r.Intn(2, "delayed-target")]
		o := op{kind: opSend, target: t, delay: r.Duration(500*time.Millisecond, 8*time.Second, "delay")}
		if r.Percent(50, "delayed-idem") {
			o.idem = fmt.Sprintf("delayed-%d", d)
		}
		wl.s.After(r.Duration(0, 30*time.Second, "delayed-at"), func() { wl.do(o) })
	}
}

// keyStory uses one idempotency key: on a target A and, soon after, on another target B; again
// on A while it is surely remembered and again once it has surely expired; and attaches to and
// reads A's invocation by the key now and then.
func (wl *workload) keyStory(key string) {
	r := wl.s.Rand()
	a := r.Intn(len(targets), "target-a")
	b := (a + 1 + r.Intn(len(targets)-1, "target-b")) % len(targets)
	ta, tb := targets[a], targets[b]
	kind := func() opKind { return opKind(r.Intn(2, "call-or-send")) }
	t0 := r.Duration(0, 15*time.Second, "story-at")
	wl.s.After(t0, func() { wl.do(op{kind: kind(), target: ta, idem: key}) })
	wl.s.After(t0+r.Duration(0, 2*time.Second, "second-target-at"), func() { wl.do(op{kind: kind(), target: tb, idem: key}) })
	wl.s.After(t0+r.Duration(500*time.Millisecond, 4*time.Second, "repeat-at"), func() { wl.do(op{kind: kind(), target: ta, idem: key}) })
	wl.s.After(t0+r.Duration(15*time.Second, 35*time.Second, "reuse-at"), func() { wl.do(op{kind: kind(), target: ta, idem: key}) })
	for range r.Intn(4, "reads") {
		k := opKind(2 + r.Intn(2, "attach-or-output"))
		wl.s.After(t0+r.Duration(0, 30*time.Second, "read-at"), func() { wl.do(op{kind: k, target: ta, idem: key}) })
	}
}

// target is o's target as the kit addresses it.
func (o op) kitTarget() vigiltest.Target {
	return vigiltest.Target{Service: o.target.Service, Key: o.target.Key, Handler: o.target.Handler}
}

// do has a new client send o, its name as the input of a call or send. Every request here is
// tried again after connection errors, with or without a key, as the check expects: it indexes
// every try of a client's one request.
func (wl *workload) do(o op) {
	c := wl.cl.Client("client")
	wl.ops[c.Name()] = o
	opts := wfload.Retrying(vigiltest.Repeatable())
	if o.idem != "" && (o.kind == opCall || o.kind == opSend) {
		opts = append(opts, vigiltest.IdempotencyKey(o.idem))
	}
	switch o.kind {
	case opCall:
		vigiltest.Call(c, o.kitTarget(), c.Name(), answer[json.RawMessage](wl, o), opts...)
	case opSend:
		if o.delay > 0 {
			opts = append(opts, vigiltest.Delay(o.delay))
		}
		vigiltest.Send(c, o.kitTarget(), c.Name(), answer[string](wl, o), opts...)
	case opAttach:
		vigiltest.AttachByIdempotencyKey(c, o.kitTarget(), o.idem, answer[json.RawMessage](wl, o), opts...)
	case opOutput:
		vigiltest.OutputByIdempotencyKey(c, o.kitTarget(), o.idem, answer[json.RawMessage](wl, o), opts...)
	}
}

// answer hands the last answer to o, as the client read it, to answered1.
func answer[T any](wl *workload, o op) func(vigiltest.Reply[T]) {
	return func(rep vigiltest.Reply[T]) { wl.answered1(o, rep.Status, rep.Invocation, rep.Body) }
}

// answered1 reports the workload points an answer shows: its status (0 after a connection
// error), the invocation it names and its body.
func (wl *workload) answered1(o op, status int, invocation string, body []byte) {
	if status == 0 || invocation == "" || o.idem == "" || (o.kind != opCall && o.kind != opSend) {
		if o.delay > 0 && status == http.StatusAccepted {
			wl.w.Reach(sim.CoverDelayedSend)
		}
		return
	}
	if o.delay > 0 {
		wl.w.Reach(sim.CoverDelayedSend)
	}
	if o.kind == opSend && strings.Contains(string(body), `"PreviouslyAccepted"`) {
		wl.w.Reach(sim.CoverIdempotentSend)
	}
	if wl.answered[o.target] == nil {
		wl.answered[o.target] = map[string][]string{}
	}
	prev := wl.answered[o.target][o.idem]
	if len(prev) > 0 && prev[len(prev)-1] != invocation {
		wl.w.Reach(sim.CoverIdempotencyReused)
	}
	wl.answered[o.target][o.idem] = append(prev, invocation)
	for t, byKey := range wl.answered {
		if ids := byKey[o.idem]; t != o.target && len(ids) > 0 && ids[0] != invocation {
			wl.w.Reach(sim.CoverIdempotencyTwoTargets)
		}
	}
}
