// Package approval is the seed's human-approval scenario: a handler creates an awakeable, hands
// its ID to a reviewer inside Run, waits for the decision and returns it. Reviewers resolve or
// reject over the ingress HTTP API — sometimes twice, sometimes two racing, sometimes late — and
// some submitters cancel their request while it waits; the scenario checks that each invocation
// returns the first accepted decision, or fails with a terminal error carrying the rejection
// reason or Restate's cancellation.
//
// It imports the user kit (vigiltest), the checkers and the runtime's handler API; nothing in the
// runtime imports it.
package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/histutil"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the approval scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "approval",
	Description: "human approval via awakeable: reviewers resolve/reject over HTTP, twice, racing, late",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s}
		wl.recordFn, wl.callDoneFn = wl.record, wl.callDone
		wl.responses = wl.responseBuf[:0]
		// Not the engine's defaults, so that a runtime that ignores its configuration is caught
		// by the retry-timing checker, which judges against this declaration.
		s.World().DeclareRetry(engine.RetryPolicy{InitialInterval: 200 * time.Millisecond, Factor: 3, MaxInterval: 5 * time.Second})
		s.Services(NewService(wl))
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// ServiceName and HandlerName address the approval handler over the ingress.
const (
	ServiceName = "Approval"
	HandlerName = "requestHumanReview"
)

// Request is the handler's input.
type Request struct {
	Document string `json:"document"`
}

// Outcome formats the handler's output for a document, the review ticket and the reviewer's
// decision; the scenario's expected outcome is stated with it.
//
// It is not inlined: the handler calls it on its coroutine, whose small stack grows by copying,
// and every byte the inlined concatenation added to the handler's frame cost an extra growth of
// the stack on some invocations (about 100 000 instructions a seed in the approval benchmark).
//
//go:noinline
func Outcome(document string, ticket int, decision string) string {
	// Concatenation, not fmt.Sprintf: the handler formats one per invocation and the check
	// again, and the text is the same.
	return "review of " + document + " (ticket " + strconv.Itoa(ticket) + "): " + decision
}

// ReviewSystem is the outside world the handler hands review requests to.
type ReviewSystem interface {
	// RequestReview asks a human to review document and answer on the awakeable awakeableID, and
	// returns the ticket number of the request: a fresh one each time it is called, so a review
	// requested twice is visible. It may fail transiently (the review system is down), and then
	// the handler retries.
	RequestReview(document, awakeableID string) (int, error)
}

// NewService returns the Approval service whose requestHumanReview handler follows the seed.
func NewService(reviews ReviewSystem) *durable.Service {
	return durable.NewService(ServiceName).Handler(HandlerName, durable.NewServiceHandler(
		func(ctx durable.Context, req Request) (string, error) {
			awakeable := durable.Awakeable[string](ctx)
			ticket, err := durable.Run(ctx, func(durable.RunContext) (int, error) {
				return reviews.RequestReview(req.Document, awakeable.ID())
			}, durable.WithName("request-review"))
			if err != nil {
				return "", err
			}
			decision, err := awakeable.Result()
			if err != nil {
				return "", err
			}
			return Outcome(req.Document, ticket, decision), nil
		}))
}

// workload drives submitters and reviewers from the run's random stream, as clients of the
// user kit: the kit builds their requests and retries them.
type workload struct {
	s *vigiltest.Sim
	// responses are the outputs clients received, by invocation ID (x-restate-id).
	responses []clientResult
	tickets   int
	// cancelled are the invocations some submitter sent a cancel for (sent at least once).
	cancelled map[string]bool
	// recordFn and callDoneFn are record and callDone as callbacks, made once per run rather
	// than per attach or call.
	recordFn, callDoneFn func(vigiltest.Reply[json.RawMessage])
	// responseBuf holds a run's usual answers (responses), in the workload's one allocation.
	responseBuf [8]clientResult
	// texts holds the reviewers' decisions, written in chunks rather than concatenated each
	// (a string the Builder returned stays as it was: it only appends, and a new chunk is a
	// new Builder).
	texts strings.Builder
	// submits are the documents' submission timers, reviewBuf the first nReviews reviewers'
	// timers (more are allocated), in the workload's one allocation.
	submits   [maxDocuments]submitCall
	reviewBuf [8]reviewCall
	nReviews  int
}

type clientResult struct {
	invocation string
	status     int
	body       []byte
}

var errReviewSystemDown = errors.New("review system unavailable")

func (wl *workload) start() {
	r := wl.s.Rand()
	n := 1 + r.Intn(maxDocuments, "invocations")
	for i := range n {
		wl.submits[i] = submitCall{wl: wl, d: &documents[i]}
		wl.s.AfterCall(r.Duration(0, 20*time.Second, "submit-at"), &wl.submits[i])
	}
}

// submitCall is the timer of one document's submission, kept in the workload's one allocation
// rather than bound as a closure per document.
type submitCall struct {
	wl *workload
	d  *document
}

// Call submits the document.
func (sc *submitCall) Call() { sc.wl.submit(sc.d) }

// maxDocuments is the most documents a run submits.
const maxDocuments = 8

// document is what the submissions of one document send, made once for every run: its name,
// its input (boxed, a json.RawMessage the kit copies as it sends it) and the options of an
// idempotent submission (an Option only sets a field of the request it is applied to). None of
// it is ever changed.
type document struct {
	name string
	body any
	opts []vigiltest.Option
}

// documents are the documents "doc-0", "doc-1", ... a run submits, in order.
var documents = func() (ds [maxDocuments]document) {
	for i := range ds {
		name := "doc-" + strconv.Itoa(i)
		ds[i] = document{name: name, body: requestBody(name),
			opts: []vigiltest.Option{vigiltest.IdempotencyKey("submit-" + name), submitTries, submitRetry}}
	}
	return ds
}()

// submit invokes the handler for d, by a call that waits or by a send followed by attaches.
func (wl *workload) submit(d *document) {
	r := wl.s.Rand()
	c := wl.s.NumberedClient("submitter")
	var opts []vigiltest.Option
	if r.Percent(50, "idempotent") {
		// An idempotent submitter retries until it hears back, as a careful client does; every
		// answer must name the same invocation (the outputs checker holds it to that).
		opts = d.opts
	}
	send := r.Percent(50, "use-send")
	wl.sendOrCall(c, d.body, send, opts)
	if opts != nil && r.Percent(30, "double-submit") {
		// The user clicks twice: the same idempotent request again, a little later.
		wl.s.After(r.Duration(0, 10*time.Second, "double-submit-delay"), func() { wl.sendOrCall(c, d.body, send, opts) })
	}
}

// requestBody is the handler's input for doc, the bytes json.Marshal writes for a Request: by
// hand when doc needs no escaping (the kit sends such a json.RawMessage as it is, where a
// Request would cost it encoding/json's reflection on every submission), else by json.Marshal.
func requestBody(doc string) json.RawMessage {
	const prefix, suffix = `{"document":"`, `"}`
	for i := 0; i < len(doc); i++ {
		if c := doc[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(Request{Document: doc}) // a Request always encodes
			return b
		}
	}
	b := make([]byte, 0, len(prefix)+len(doc)+len(suffix))
	return append(append(append(b, prefix...), doc...), suffix...)
}

// The options every idempotent submission and every review shares, made once: an Option only
// sets a field of the request it is applied to.
var (
	submitTries = vigiltest.Tries(21)
	submitRetry = vigiltest.Retry(100*time.Millisecond, 5*time.Second)
	reviewOpts  = []vigiltest.Option{vigiltest.Tries(101), vigiltest.Retry(10*time.Millisecond, 3*time.Second)}
)

// sendOrCall invokes the handler with body once (and again after connection failures when opts
// carry an idempotency key); a call's answer is recorded, a send's invocation is attached to.
func (wl *workload) sendOrCall(c *vigiltest.Client, body any, send bool, opts []vigiltest.Option) {
	target := vigiltest.Service(ServiceName, HandlerName)
	if send {
		vigiltest.Send(c, target, body, func(rep vigiltest.Reply[string]) {
			// In doubt or refused, the invocation may or may not exist: nothing more to learn.
			if rep.Err == nil && rep.Status == http.StatusAccepted {
				vigiltest.Attach(c, rep.Value, wl.recordFn)
				if wl.s.Rand().Percent(20, "cancel") {
					// The submitter changes its mind while the review may still be pending: the
					// awaited decision, or the next await, fails with 409 Cancelled.
					id := rep.Value
					wl.s.After(wl.s.Rand().Duration(0, 8*time.Second, "cancel-after"), func() {
						if wl.cancelled == nil {
							wl.cancelled = map[string]bool{}
						}
						wl.cancelled[id] = true
						vigiltest.Cancel(c, id, nil)
					})
				}
			}
		}, opts...)
		return
	}
	vigiltest.Call(c, target, body, wl.callDoneFn, opts...)
}

// callDone keeps a call's answer when it names an invocation.
func (wl *workload) callDone(rep vigiltest.Reply[json.RawMessage]) {
	if rep.Invocation != "" {
		wl.record(rep)
	}
}

// record keeps an answer the client read, for Check to compare with the durable output.
func (wl *workload) record(rep vigiltest.Reply[json.RawMessage]) {
	if errors.Is(rep.Err, vigiltest.ErrInDoubt) {
		return
	}
	if wl.responses == nil {
		// Room for a run's usual answers at once, not grown from one by doubling.
		wl.responses = make([]clientResult, 0, 8)
	}
	wl.responses = append(wl.responses, clientResult{invocation: rep.Invocation, status: rep.Status, body: rep.Body})
}

// RequestReview is the review system: it schedules one or two reviewers for the awakeable.
// While faults are on it is sometimes down, so the handler's Run fails and the invocation retries.
func (wl *workload) RequestReview(document, awakeableID string) (int, error) {
	r := wl.s.Rand()
	if !wl.s.Healed() && r.Percent(10, "review-system-down") {
		return 0, errReviewSystemDown
	}
	wl.tickets++
	reviewers := 1
	if r.Percent(30, "racing-reviewers") {
		reviewers = 2
	}
	for range reviewers {
		c := wl.s.NumberedClient("reviewer")
		delay := r.Duration(0, 5*time.Second, "review-delay")
		if r.Percent(10, "late-review") {
			delay += r.Duration(30*time.Second, 2*time.Minute, "late-delay")
		}
		reject := r.Percent(30, "reject")
		twice := r.Percent(20, "twice")
		rc := wl.newReviewCall()
		*rc = reviewCall{wl: wl, c: c, document: document, awakeableID: awakeableID, reject: reject, twice: twice}
		wl.s.AfterCall(delay, rc)
	}
	return wl.tickets, nil
}

// reviewCall is one reviewer's timer: its review, and its second, opposite review when it
// reviews twice. It is a long-lived object rather than a closure per reviewer (an allocation).
type reviewCall struct {
	wl                    *workload
	c                     *vigiltest.Client
	document, awakeableID string
	reject, twice, second bool
}

// Call sends the review due; the first of a reviewer that reviews twice queues the second.
func (rc *reviewCall) Call() {
	if rc.second {
		rc.wl.review(rc.c, rc.document, rc.awakeableID, !rc.reject)
		return
	}
	rc.wl.review(rc.c, rc.document, rc.awakeableID, rc.reject)
	if rc.twice {
		rc.second = true
		rc.wl.s.AfterCall(rc.wl.s.Rand().Duration(0, 3*time.Second, "second-review"), rc)
	}
}

// newReviewCall returns a reviewer's timer: from the workload's own room while it lasts, then
// allocated. Each is used by one reviewer only, for the rest of the run.
func (wl *workload) newReviewCall() *reviewCall {
	if wl.nReviews < len(wl.reviewBuf) {
		wl.nReviews++
		return &wl.reviewBuf[wl.nReviews-1]
	}
	return new(reviewCall)
}

// review resolves or rejects the awakeable over HTTP, retrying after connection failures as a
// webhook sender would (the first completion wins, so a repeat is harmless).
func (wl *workload) review(c *vigiltest.Client, document, awakeableID string, reject bool) {
	if reject {
		vigiltest.RejectAwakeable(c, awakeableID, wl.text(c.Name(), " rejects ", document, ": insufficient documentation"), nil, reviewOpts...)
		return
	}
	vigiltest.ResolveAwakeable(c, awakeableID, wl.text(c.Name(), " approves"), nil, reviewOpts...)
}

// textChunk is the size of a chunk of the decisions' texts: a run has some eight reviews of
// some forty bytes each.
const textChunk = 512

// text returns the concatenation of parts, written in the run's texts.
func (wl *workload) text(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if wl.texts.Cap()-wl.texts.Len() < n {
		wl.texts = strings.Builder{}
		wl.texts.Grow(max(n, textChunk))
	}
	start := wl.texts.Len()
	for _, p := range parts {
		wl.texts.WriteString(p)
	}
	return wl.texts.String()[start:]
}

// Check states the scenario's expected outcome: every finished invocation's output is the
// first accepted decision on its awakeable (journal index 1) with the ticket its review request
// returned (index 2), or a terminal failure carrying the accepted rejection's reason; and every
// output a client received is that durable output.
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	// A run has a few invocations (maxDocuments, the submissions of each accepted once), so the
	// results are looked up by a short search in arrays on the stack: two Go maps cost more to
	// fill and read than the rest of the check.
	var accBuf, outBuf [2 * maxDocuments]invocationResult
	accepted, outputs := invocationResults(accBuf[:0]), invocationResults(outBuf[:0])
	var vs []checkers.Violation
	var buf [256]byte // plainOutput's, on the stack
	fail := func(id protocol.InvocationID, events []int, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: "approval-outcome", Invocation: id, Message: fmt.Sprintf(format, args...), Events: events})
	}
	events := h.Events // read once: the calls below could change h, as far as the compiler knows
	// The kinds the check reads are a few of a history's events: nextChecked skips the others
	// in a loop of its own, which keeps its few registers, where this loop's body, holding the
	// whole check's state, spilled and reloaded them at every event it skipped.
	for i := nextChecked(events, 0); i < len(events); i = nextChecked(events, i+1) {
		e := &events[i] // not a copy: an event is a few hundred bytes
		switch e.Kind {
		case checkers.CompletionAccepted:
			if _, seen := accepted.get(e.Invocation); !seen && e.Index == 1 {
				accepted = append(accepted, invocationResult{e.Invocation, e.Result})
			}
		case checkers.InvocationDone:
			if _, seen := outputs.get(e.Invocation); seen {
				continue // a second output is the exactly-once checker's to report
			}
			outputs = append(outputs, invocationResult{e.Invocation, e.Result})
			acc, ok := accepted.get(e.Invocation)
			if !ok && histutil.IsCancelled(e.Result) && wl.cancelled[e.Invocation.String()] {
				continue // cancelled before the handler created its awakeable (queued or delayed)
			}
			if !ok {
				fail(e.Invocation, []int{i}, "finished with %s but no decision was ever accepted", e.Result)
				continue
			}
			if e.Result.Failure == nil {
				if want, ok := plainOutput(buf[:0], e.Journal, acc); ok && bytes.Equal(want, e.Result.Value) {
					continue // what expectedOutput would find, without its allocations
				}
			} else if acc.Failure != nil && *e.Result.Failure == *acc.Failure {
				continue // expectedOutput's failure, the decision's, equals the output: judged without making it
			}
			want, err := expectedOutput(e.Journal, acc)
			if err != nil {
				fail(e.Invocation, []int{i}, "%v", err)
			} else if !want.Equal(e.Result) {
				fail(e.Invocation, []int{i}, "output %s, want %s (accepted decision %s)", e.Result, want, acc)
			}
		}
	}
	for _, cr := range wl.responses {
		id, err := protocol.ParseInvocationID(cr.invocation)
		if err != nil {
			fail(id, nil, "a client received status %d with x-restate-id %q, not an invocation ID", cr.status, cr.invocation)
			continue
		}
		out, done := outputs.get(id)
		if !done {
			fail(id, nil, "a client received status %d %s for an invocation with no durable output", cr.status, cr.body)
			continue
		}
		got := journal.Result{Value: cr.body}
		if cr.status != http.StatusOK {
			if f := out.Failure; f != nil {
				// decodeFailure's reading when the body is plain, compared without making its
				// message a string.
				if code, msg, ok := plainFailureBytes(cr.body); ok && code == f.Code && string(msg) == f.Message {
					continue
				}
			}
			code, msg := decodeFailure(cr.body)
			// got.Equal(out) for the failure, judged before it is built: only a mismatch's
			// report needs it.
			if out.Failure != nil && *out.Failure == (journal.Failure{Code: code, Message: msg}) {
				continue
			}
			got = journal.Result{Failure: &journal.Failure{Code: code, Message: msg}}
		}
		if !got.Equal(out) {
			fail(id, nil, "a client received %s, the durable output is %s", got, out)
		}
	}
	return vs
}

// nextChecked returns the index of the first event from i on that Check reads (a completion
// accepted, an invocation done), len(events) if there is none. It is not inlined: inlined, its
// loop would run among Check's registers again (see Check).
//
//go:noinline
func nextChecked(events []checkers.Event, i int) int {
	for ; i < len(events); i++ {
		if k := events[i].Kind; k == checkers.CompletionAccepted || k == checkers.InvocationDone {
			return i
		}
	}
	return len(events)
}

// invocationResult is one invocation's result, an entry of invocationResults.
type invocationResult struct {
	id     protocol.InvocationID
	result journal.Result
}

// invocationResults is a small map of invocations to results: one entry per invocation.
type invocationResults []invocationResult

// get returns id's result, and whether it has one.
func (rs invocationResults) get(id protocol.InvocationID) (journal.Result, bool) {
	for i := range rs {
		if rs[i].id == id {
			return rs[i].result, true
		}
	}
	return journal.Result{}, false
}

// expectedOutput derives what the handler must have returned from its final journal and the
// accepted decision.
func expectedOutput(j []journal.Entry, decision journal.Result) (journal.Result, error) {
	if decision.Failure != nil {
		return journal.Result{Failure: &journal.Failure{Code: decision.Failure.Code, Message: decision.Failure.Message}}, nil
	}
	if len(j) < 4 || j[0].Kind != journal.KindInput || j[1].Kind != journal.KindAwakeable || j[2].Kind != journal.KindRun {
		return journal.Result{}, fmt.Errorf("final journal %v does not have the handler's shape (input, awakeable, run, output)", j)
	}
	doc, err := decodeDocument(j[0].Result.Value)
	if err != nil {
		return journal.Result{}, fmt.Errorf("input %s: %v", j[0].Result, err)
	}
	ticket, err := decodeTicket(j[2].Result.Value)
	if err != nil {
		return journal.Result{}, fmt.Errorf("ticket %s: %v", j[2].Result, err)
	}
	verdict, err := decodeString(decision.Value)
	if err != nil {
		return journal.Result{}, fmt.Errorf("decision %s: %v", decision, err)
	}
	b := encodeString(Outcome(doc, ticket, verdict))
	return journal.Result{Value: b}, nil
}

// plainOutput appends to dst the value expectedOutput derives, when the decision is not a
// failure and the journal's input, ticket and the decision are plain values (the short paths of
// the decoders below, and nothing encodeString would escape); ok is false otherwise, and then
// only expectedOutput says what the output must be.
func plainOutput(dst []byte, j []journal.Entry, decision journal.Result) ([]byte, bool) {
	if decision.Failure != nil || len(j) < 4 || j[0].Kind != journal.KindInput || j[1].Kind != journal.KindAwakeable || j[2].Kind != journal.KindRun {
		return nil, false
	}
	const prefix, suffix = `{"document":"`, `"}`
	in := j[0].Result.Value
	if len(in) < len(prefix)+len(suffix) || string(in[:len(prefix)]) != prefix || string(in[len(in)-len(suffix):]) != suffix {
		return nil, false
	}
	doc := in[len(prefix) : len(in)-len(suffix)]
	t := j[2].Result.Value
	if len(t) == 0 || len(t) > 18 || t[0] == '0' && len(t) > 1 {
		return nil, false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	d := decision.Value
	if len(d) < 2 || d[0] != '"' || d[len(d)-1] != '"' {
		return nil, false
	}
	verdict := d[1 : len(d)-1]
	if !plainUnescaped(doc) || !plainUnescaped(verdict) {
		return nil, false
	}
	// Outcome's text, quoted as encodeString quotes it: the ticket's digits are decodeTicket's
	// number as strconv.Itoa writes it (no leading zero, no sign).
	dst = append(dst, `"review of `...)
	dst = append(dst, doc...)
	dst = append(dst, ` (ticket `...)
	dst = append(dst, t...)
	dst = append(dst, `): `...)
	dst = append(dst, verdict...)
	return append(dst, '"'), true
}

// plainUnescaped reports whether b is plainJSON and free of what encodeString would escape.
func plainUnescaped(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// The decoders below read what expectedOutput needs exactly as json.Unmarshal would, and
// encodeString writes a string exactly as json.Marshal would; each takes a short path for the
// plain values the handler and the kit write (no escapes, printable ASCII) and leaves anything
// else to encoding/json itself, whose reflection was a third of the scenario's check.

// failureBody is the part of an ingress error body the check reads.
type failureBody struct {
	Code    uint16 `json:"code"`
	Message string `json:"message"`
}

// decodeFailure reads the code and message of an ingress error body as json.Unmarshal into a
// failureBody does, its error ignored (what a body it cannot read leaves set is what counts).
func decodeFailure(b []byte) (uint16, string) {
	if code, msg, ok := plainFailure(b); ok {
		return code, msg
	}
	var fb failureBody
	_ = json.Unmarshal(b, &fb)
	return fb.Code, fb.Message
}

// plainFailure reads {"code":N,"message":"M"} with an optional ,"source":"S" before the brace,
// as the ingress writes them: N a uint16 without a leading zero, M and S plain (plainJSON).
func plainFailure(b []byte) (uint16, string, bool) {
	code, msg, ok := plainFailureBytes(b)
	return code, string(msg), ok
}

// plainFailureBytes is plainFailure with the message as b's bytes.
func plainFailureBytes(b []byte) (uint16, []byte, bool) {
	const pre, mid, src = `{"code":`, `,"message":"`, `,"source":"`
	if !bytes.HasPrefix(b, []byte(pre)) {
		return 0, nil, false
	}
	rest := b[len(pre):]
	digits, code := 0, 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		code = code*10 + int(rest[digits]-'0')
		digits++
		if code > math.MaxUint16 {
			return 0, nil, false
		}
	}
	if digits == 0 || rest[0] == '0' && digits > 1 {
		return 0, nil, false
	}
	rest = rest[digits:]
	if !bytes.HasPrefix(rest, []byte(mid)) {
		return 0, nil, false
	}
	rest = rest[len(mid):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || !plainJSON(rest[:end]) {
		return 0, nil, false
	}
	msg, rest := rest[:end], rest[end+1:]
	if string(rest) != "}" {
		source, ok := bytes.CutPrefix(rest, []byte(src))
		if !ok || !bytes.HasSuffix(source, []byte(`"}`)) || !plainJSON(source[:len(source)-2]) {
			return 0, nil, false
		}
	}
	return uint16(code), msg, true
}

// decodeDocument decodes a Request and returns its document.
func decodeDocument(b []byte) (string, error) {
	const prefix, suffix = `{"document":"`, `"}`
	if len(b) >= len(prefix)+len(suffix) && string(b[:len(prefix)]) == prefix && string(b[len(b)-len(suffix):]) == suffix {
		if doc := b[len(prefix) : len(b)-len(suffix)]; plainJSON(doc) {
			return string(doc), nil
		}
	}
	var req Request
	err := json.Unmarshal(b, &req)
	return req.Document, err
}

// decodeTicket decodes an int.
func decodeTicket(b []byte) (int, error) {
	// Up to 18 digits without a leading zero: a JSON number that fits an int as it is.
	if len(b) > 0 && len(b) <= 18 && (b[0] != '0' || len(b) == 1) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return n, nil
		}
	}
	var n int
	err := json.Unmarshal(b, &n)
	return n, err
}

// decodeString decodes a string.
func decodeString(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && plainJSON(b[1:len(b)-1]) {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// encodeString encodes s as json.Marshal does: quoted as it is when it holds no character
// json.Marshal escapes (those of plainJSON, and the HTML-sensitive <, > and &).
func encodeString(s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if !plain {
		b, _ := json.Marshal(s)
		return b
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainJSON reports whether the inside of a JSON string is its value as it is: printable ASCII
// without a quote or a backslash.
func plainJSON(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
