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
// It imports the simulator, the checkers' history and the runtime's handler API; nothing in the
// runtime imports it.
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
)

// Scenario is the idempotency scenario as the simulator runs it.
var Scenario = sim.Scenario{
	Name:        "idempotency",
	Description: "idempotency keys on two targets, repeated, expired and reused; attach/output by key; sends repeated and delayed",
	New:         func(w *sim.World) sim.Workload { return newWorkload(w) },
}

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

// workload drives the clients.
type workload struct {
	w      *sim.World
	cl     *wfload.Clients
	stamps int
	// ops maps each client (the Node of its requests) to its one request, tried again only
	// after connection errors.
	ops map[string]op
	// answered is, per target and key, the invocations our calls and sends were answered with,
	// for the points the workload reports.
	answered map[Target]map[string][]string
}

func newWorkload(w *sim.World) *workload {
	return &workload{w: w, cl: wfload.New(w, MailerName), ops: map[string]op{}, answered: map[Target]map[string][]string{}}
}

func (wl *workload) Services() []*durable.Service { return NewServices(wl) }

// Stamp implements Stamper.
func (wl *workload) Stamp() int {
	wl.stamps++
	return wl.stamps
}

func (wl *workload) Start() {
	r := wl.w.Rand()
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
		wl.w.After(r.Duration(0, 30*time.Second, "delayed-at"), func() { wl.do(o) })
	}
}

// keyStory uses one idempotency key: on a target A and, soon after, on another target B; again
// on A while it is surely remembered and again once it has surely expired; and attaches to and
// reads A's invocation by the key now and then.
func (wl *workload) keyStory(key string) {
	r := wl.w.Rand()
	a := r.Intn(len(targets), "target-a")
	b := (a + 1 + r.Intn(len(targets)-1, "target-b")) % len(targets)
	ta, tb := targets[a], targets[b]
	kind := func() opKind { return opKind(r.Intn(2, "call-or-send")) }
	t0 := r.Duration(0, 15*time.Second, "story-at")
	wl.w.After(t0, func() { wl.do(op{kind: kind(), target: ta, idem: key}) })
	wl.w.After(t0+r.Duration(0, 2*time.Second, "second-target-at"), func() { wl.do(op{kind: kind(), target: tb, idem: key}) })
	wl.w.After(t0+r.Duration(500*time.Millisecond, 4*time.Second, "repeat-at"), func() { wl.do(op{kind: kind(), target: ta, idem: key}) })
	wl.w.After(t0+r.Duration(15*time.Second, 35*time.Second, "reuse-at"), func() { wl.do(op{kind: kind(), target: ta, idem: key}) })
	for range r.Intn(4, "reads") {
		k := opKind(2 + r.Intn(2, "attach-or-output"))
		wl.w.After(t0+r.Duration(0, 30*time.Second, "read-at"), func() { wl.do(op{kind: k, target: ta, idem: key}) })
	}
}

// path is the route of o.
func (o op) path() string {
	switch o.kind {
	case opAttach, opOutput:
		p := "/restate/invocation/" + o.target.Service
		if o.target.Key != "" {
			p += "/" + o.target.Key
		}
		p += "/" + o.target.Handler + "/" + o.idem
		if o.kind == opAttach {
			return p + "/attach"
		}
		return p + "/output"
	}
	p := "/" + o.target.String()
	if o.kind == opSend {
		p += "/send"
		if o.delay > 0 {
			p += "?delay=" + o.delay.String()
		}
	}
	return p
}

// do has a new client send o, again after connection errors.
func (wl *workload) do(o op) {
	name := wl.cl.Name("client")
	wl.ops[name] = o
	method := http.MethodPost
	var body []byte
	var header http.Header
	if o.kind == opAttach || o.kind == opOutput {
		method = http.MethodGet
	} else {
		body, _ = json.Marshal(name)
		if o.idem != "" {
			header = http.Header{"Idempotency-Key": []string{o.idem}}
		}
	}
	wl.cl.Call(name, method, o.path(), body, header, func(resp sim.Response) { wl.answered1(o, resp) })
}

// answered1 reports the workload points an answer shows.
func (wl *workload) answered1(o op, resp sim.Response) {
	if resp.Err != nil || resp.InvocationID == "" || o.idem == "" || (o.kind != opCall && o.kind != opSend) {
		if o.delay > 0 && resp.Err == nil && resp.Status == http.StatusAccepted {
			wl.w.Reach(sim.CoverDelayedSend)
		}
		return
	}
	if o.delay > 0 {
		wl.w.Reach(sim.CoverDelayedSend)
	}
	if o.kind == opSend && strings.Contains(string(resp.Body), `"PreviouslyAccepted"`) {
		wl.w.Reach(sim.CoverIdempotentSend)
	}
	if wl.answered[o.target] == nil {
		wl.answered[o.target] = map[string][]string{}
	}
	prev := wl.answered[o.target][o.idem]
	if len(prev) > 0 && prev[len(prev)-1] != resp.InvocationID {
		wl.w.Reach(sim.CoverIdempotencyReused)
	}
	wl.answered[o.target][o.idem] = append(prev, resp.InvocationID)
	for t, byKey := range wl.answered {
		if ids := byKey[o.idem]; t != o.target && len(ids) > 0 && ids[0] != resp.InvocationID {
			wl.w.Reach(sim.CoverIdempotencyTwoTargets)
		}
	}
}
