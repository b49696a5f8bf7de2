package vigiltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/sim"
)

// Client is one named client of the runtime's ingress: an actor, or a fake of an outside
// system. Its requests travel over the simulated network (delayed, lost, answered by a crashed
// runtime with a broken connection) and are recorded in the trace under its name. The typed
// helpers of this package (Call, Send, Attach, Output, SubmitWorkflow, AttachWorkflow,
// WorkflowOutput, ResolveAwakeable, RejectAwakeable) send through it and retry for it.
type Client struct {
	s    *Sim
	name string
}

// Name is the client's name in the trace.
func (c *Client) Name() string { return c.name }

// After runs fn once virtual time has advanced by d: how an actor waits.
func (c *Client) After(d time.Duration, fn func()) { c.s.w.After(d, fn) }

// Sim is the run the client belongs to.
func (c *Client) Sim() *Sim { return c.s }

// room is the room of the client's run; nil for no client (a request a test makes by hand),
// whose texts and bytes are then fresh allocations.
func (c *Client) room() *room {
	if c == nil {
		return nil
	}
	return &c.s.room
}

// Target addresses a handler: Service/Handler for a plain service, Service/Key/Handler for a
// virtual object or a workflow.
type Target struct {
	Service, Key, Handler string
}

// Service addresses handler of a plain service.
func Service(service, handler string) Target { return Target{Service: service, Handler: handler} }

// Object addresses handler of the virtual object service with key.
func Object(service, key, handler string) Target {
	return Target{Service: service, Key: key, Handler: handler}
}

// Workflow addresses the run handler of workflow service with key; On addresses its shared
// handlers.
func Workflow(service, key string) Target { return Target{Service: service, Key: key, Handler: "run"} }

// On returns the target's handler handler on the same service and key.
func (t Target) On(handler string) Target { t.Handler = handler; return t }

// String renders the target as its ingress path does.
func (t Target) String() string { return t.path() }

func (t Target) path() string { return t.pathIn(nil, "") }

// pathIn is the target's path followed by suffix, written in rm's text (pathEscape returns a
// segment that needs no escaping as it is), or the same text rm gave for it lately.
func (t Target) pathIn(rm *room, suffix string) string {
	if path, ok := rm.lastPath(t, suffix); ok {
		return path
	}
	var path string
	if t.Key == "" {
		path = rm.join("/", pathEscape(t.Service), "/", pathEscape(t.Handler), suffix)
	} else {
		path = rm.join("/", pathEscape(t.Service), "/", pathEscape(t.Key), "/", pathEscape(t.Handler), suffix)
	}
	rm.keepPath(t, suffix, path)
	return path
}

func escape(segs ...string) string {
	for i, s := range segs {
		segs[i] = pathEscape(s)
	}
	return strings.Join(segs, "/")
}

// pathEscape is url.PathEscape(s): s itself when every byte is a letter, a digit or one of
// "-_.~" (which PathEscape never escapes; told with a table, cheaper than its walk), else what
// PathEscape writes.
func pathEscape(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved[s[i]] {
			return url.PathEscape(s)
		}
	}
	return s
}

// unreserved marks the bytes url.PathEscape leaves as they are in any context: RFC 3986's
// unreserved characters.
var unreserved = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~") {
		t[c] = true
	}
	return t
}()

// Option changes one request.
type Option func(*request)

// IdempotencyKey sends the request with an Idempotency-Key: the runtime runs the handler once
// for the key, and a retry of a call or send after a connection error is safe. Without a key a
// call or send is not retried (it might run twice), and a broken connection leaves its outcome
// in doubt (ErrInDoubt).
func IdempotencyKey(key string) Option { return func(r *request) { r.key = key } }

// Delay delays a Send: the runtime accepts it now and starts the handler after d.
func Delay(d time.Duration) Option { return func(r *request) { r.delay = d } }

// Tries bounds how many times a request is sent before it gives up with ErrInDoubt (default 50).
func Tries(n int) Option { return func(r *request) { r.tries = max(n, 1) } }

// Retry bounds the wait between two tries (default 10 ms to 2 s, drawn from the run's stream).
func Retry(min, max time.Duration) Option {
	return func(r *request) { r.backoffMin, r.backoffMax, r.backoffFirst = min, max, 0 }
}

// Backoff makes the wait between two tries grow, as a client that backs off exponentially
// does: the wait after the n-th failed try is drawn between min and first·2^(n-1), capped at
// max. Quick retries then find a runtime that restarted at once, and a long outage is not
// hammered.
func Backoff(min, first, max time.Duration) Option {
	return func(r *request) { r.backoffMin, r.backoffFirst, r.backoffMax = min, first, max }
}

// Repeatable marks a request without an IdempotencyKey as safe to repeat, so that it is
// retried after connection errors too: for handlers idempotent by design — one that reads, or
// completes a durable promise (the first completion wins and a repeat is refused), or a
// workflow's run (a key runs once). Without it, only requests with a key are retried.
func Repeatable() Option { return func(r *request) { r.safe = true } }

// Header adds a header to the request, for what a real client sends besides the body: an
// Origin of a browser, a header your own middleware reads. Set the Idempotency-Key with
// IdempotencyKey instead, which also makes the request safe to retry.
func Header(name, value string) Option {
	return func(r *request) { r.header = append(r.header, [2]string{name, value}) }
}

// ErrInDoubt is the Err of a request whose connection failed on its last try (or on its only
// try, when a retry was not safe): it may or may not have taken effect.
var ErrInDoubt = errors.New("vigiltest: request outcome in doubt (connection failed)")

// ErrNotReady is the Err of Output and WorkflowOutput while the invocation runs (status 470).
var ErrNotReady = errors.New("vigiltest: the invocation has not completed yet")

// IngressError is an answer of the ingress that is neither an output nor an invocation's
// failure: a 4xx about the request itself (404 unknown service, 409 workflow already invoked).
type IngressError struct {
	Status  int
	Message string
}

func (e *IngressError) Error() string {
	return fmt.Sprintf("ingress answered %d: %s", e.Status, e.Message)
}

// Is makes errors.Is(err, ErrNotReady) true for a 470.
func (e *IngressError) Is(target error) bool {
	return target == ErrNotReady && e.Status == ingress.StatusNotReady
}

// Reply is what a client learned from one request.
type Reply[T any] struct {
	// Value is the decoded output (Call, Attach, Output and their workflow forms) or the
	// invocation ID (Send, SubmitWorkflow), when Err is nil; the body as read for a 200 of Raw.
	Value T
	// Err is nil; a *Failure when the invocation failed; an *IngressError (ErrNotReady
	// included) when the ingress refused; ErrInDoubt when the connection failed for good.
	Err error
	// Invocation is the invocation the answer names (x-restate-id), if any.
	Invocation string
	// Status is the last HTTP status, 0 when the connection failed.
	Status int
	// Tries is how many times the request was sent.
	Tries int
	// Body is the last answer's body as the client read it, for what Reply does not decode:
	// whether a 202 says the send was PreviouslyAccepted, the exact bytes of an output.
	Body []byte
}

// request is one exchange with its retry loop.
type request struct {
	c                      *Client
	method, path           string
	body                   []byte
	contentType            string
	key                    string
	header                 [][2]string
	delay                  time.Duration
	tries                  int
	backoffMin, backoffMax time.Duration
	// backoffFirst, when set, is the upper bound of the first wait, doubling per try (Backoff).
	backoffFirst time.Duration
	// safe means repeating the request cannot do more than sending it once.
	safe bool

	// What do sends on every try, made once: the request (its header fields in fieldBuf when
	// they fit); then the number of the try in flight (the world answers each try once, and the
	// next try starts only after that answer). A retry is queued as the request itself, a
	// sim.Caller (Call), with no callback bound for it.
	sent     sim.ClientRequest
	fieldBuf [2]ingress.HeaderField
	n        int
	// finish hands the last answer to the caller's callback fn: a value of a zero-size type for
	// each kind of callback, so that nothing is made per request (a generic function's func
	// value would be a closure over its dictionary, made at every call).
	finish finisher
	fn     any
	// nextDone is the next request of the run's list of done ones (Sim.doneRequests), while
	// this one is on it.
	nextDone *request
}

// finisher hands a request's last answer to its callback, r.fn.
type finisher interface {
	finish(r *request, resp sim.Response)
}

func newRequest(c *Client, method, path string, body []byte, safe bool, opts []Option) *request {
	r := c.takeRequest()
	*r = request{c: c, method: method, path: path, body: body, tries: 50, safe: safe,
		backoffMin: 10 * time.Millisecond, backoffMax: 2 * time.Second}
	for _, o := range opts {
		o(r)
	}
	if r.key != "" {
		r.safe = true
	}
	return r
}

// requestChunk is how many requests a run's chunk holds: a request is some 350 bytes, and a run
// of the approval scenario makes some sixteen, a few of them in flight at a time.
const requestChunk = 4

// takeRequest returns a request whose last answer has been handed on, or one from the run's
// chunk of them, or a new one for no client. A request is nobody's once its callback returned:
// the world answers each try once, and its last answer ends the request (do, Answer), so that
// nothing reaches the request after that.
func (c *Client) takeRequest() *request {
	if c == nil {
		return new(request)
	}
	s := c.s
	if r := s.doneRequests; r != nil {
		s.doneRequests = r.nextDone
		return r
	}
	if len(s.spareRequests) == 0 {
		s.spareRequests = make([]request, requestChunk)
	}
	r := &s.spareRequests[0]
	s.spareRequests = s.spareRequests[1:]
	return r
}

// wait draws the pause after the n-th failed try.
func (r *request) wait(n int) time.Duration {
	lo, hi := r.waitBounds(n)
	return r.c.s.w.Rand().Duration(lo, hi, "vigiltest-retry")
}

// waitBounds are the bounds of the pause after the n-th failed try: fixed (Retry), or growing
// from backoffFirst by doubling up to backoffMax (Backoff).
func (r *request) waitBounds(n int) (lo, hi time.Duration) {
	hi = r.backoffMax
	if r.backoffFirst > 0 {
		// The shift is capped so that a long run of failures cannot overflow the duration.
		hi = min(r.backoffFirst<<min(n-1, 30), r.backoffMax)
	}
	return r.backoffMin, max(hi, r.backoffMin)
}

// do sends the request and retries after connection errors while that is safe, then calls
// finish with the last response (fn is finish's callback).
func (r *request) do(finish finisher, fn any) {
	r.sent = sim.ClientRequest{Method: r.method, Target: r.path, Header: r.fields(), Body: r.body}
	if r.delay > 0 {
		r.sent.Target += "?delay=" + url.QueryEscape(r.delay.String())
	}
	r.finish, r.fn = finish, fn
	r.try()
}

// fields lists the request's header fields as a client that files them in an http.Header (Set
// the idempotency key and content type, Add each Header option) writes that header: names
// canonical, sorted by name, each name's values in the order they were added; nil for none.
func (r *request) fields() []ingress.HeaderField {
	fs := r.fieldBuf[:0]
	if r.key != "" {
		fs = append(fs, ingress.HeaderField{Name: "Idempotency-Key", Value: r.key})
	}
	if r.contentType != "" {
		fs = append(fs, ingress.HeaderField{Name: "Content-Type", Value: r.contentType})
	}
	for _, h := range r.header {
		fs = append(fs, ingress.HeaderField{Name: textproto.CanonicalMIMEHeaderKey(h[0]), Value: h[1]})
	}
	if len(fs) == 0 {
		return nil
	}
	slices.SortStableFunc(fs, func(a, b ingress.HeaderField) int { return strings.Compare(a.Name, b.Name) })
	return fs
}

// try sends the request once more.
func (r *request) try() {
	r.n++
	r.c.s.w.Send(r.c.name, r.sent, r)
}

// Call sends the next try, when the pause after a failed one is over (Answer queues it).
func (r *request) Call() { r.try() }

// Answer takes the answer to try r.n: another try after a connection error while that is safe,
// else the end.
func (r *request) Answer(resp sim.Response) {
	if resp.Err != nil && r.safe && r.n < r.tries {
		r.c.s.w.AfterCall(r.wait(r.n), r)
		return
	}
	r.finish.finish(r, resp)
	r.release()
}

// release hands the request, its last answer handed on, to the run's next request: cleared of
// what it refers to (the caller's callback, the body, the path), so that nothing of it is kept
// alive by the value.
func (r *request) release() {
	s := r.c.s
	*r = request{nextDone: s.doneRequests}
	s.doneRequests = r
}

// decode turns a response into a Reply: a 200's body decoded as T (a copy of a raw body from
// rm's bytes), a 202's invocation ID (when T is string), a failure or an ingress error.
func decode[T any](rm *room, resp sim.Response, tries int) Reply[T] {
	rep := Reply[T]{Invocation: resp.InvocationID, Status: resp.Status, Tries: tries, Body: resp.Body}
	if resp.Err != nil {
		rep.Err = &inDoubtError{resp.Err}
		return rep
	}
	switch {
	case resp.Status == http.StatusOK:
		if len(resp.Body) > 0 {
			rep.Value, rep.Err = decodeOutput[T](rm, resp.Body)
		}
		return rep
	case resp.Status == http.StatusAccepted:
		if id := acceptedID(resp.Body, rep.Invocation); id != "" {
			rep.Invocation = id
		}
		if p, ok := any(&rep.Value).(*string); ok {
			*p = rep.Invocation
		}
		return rep
	}
	body := errorBodyOf(rm, resp.Body)
	if body.Source == "invocation" {
		rep.Err = &Failure{Code: body.Code, Message: body.Message}
	} else {
		rep.Err = &IngressError{Status: resp.Status, Message: body.Message}
	}
	return rep
}

// inDoubtError is the Err of a request whose connection failed for good: what
// fmt.Errorf("%w: %w", ErrInDoubt, err) says and wraps, made without fmt's formatting (a
// request in doubt is common under faults, and its text is seldom read).
type inDoubtError struct{ err error }

// Error says that the outcome is in doubt, and why.
func (e *inDoubtError) Error() string { return ErrInDoubt.Error() + ": " + e.err.Error() }

// Unwrap lets errors.Is and errors.As find ErrInDoubt and the connection's error.
func (e *inDoubtError) Unwrap() []error { return []error{ErrInDoubt, e.err} }

// errorBodyOf reads an error body as encoding/json does, a malformed one as far as it goes (the
// simulated client's reader, so that the two read bodies alike); the message of a plain one is
// written in rm's text.
func errorBodyOf(rm *room, b []byte) sim.ErrorBody {
	if code, message, source, ok := sim.PlainErrorBody(b); ok {
		return sim.ErrorBody{Code: code, Message: rm.textOf(message), Source: source}
	}
	body, _ := sim.ReadErrorBody(b)
	return body
}

// decodeOutput decodes a 200's body as T. It is apart from decode so that decode's Reply, which
// encoding/json would make escape, stays on the stack.
func decodeOutput[T any](rm *room, body []byte) (T, error) {
	if v, ok := rawOutput[T](rm, body); ok {
		return v, nil
	}
	return unmarshalOutput[T](body)
}

// rawOutput is a valid body as a json.RawMessage T, as json.Unmarshal reads it: false when T is
// no RawMessage or body is no JSON. It is apart from unmarshalOutput so that its value, which
// encoding/json would make escape, stays on the stack.
func rawOutput[T any](rm *room, body []byte) (v T, ok bool) {
	raw, isRaw := any(&v).(*json.RawMessage)
	if !isRaw {
		return v, false
	}
	if plainJSONString(body) {
		// A string as it stands: valid, and nothing around it to trim.
		*raw = rm.clone(body)
		return v, true
	}
	if json.Valid(body) {
		// What json.Unmarshal hands RawMessage.UnmarshalJSON to copy: the value, without the
		// whitespace around it (a valid document has no other bytes there).
		*raw = rm.clone(bytes.TrimSpace(body))
		return v, true
	}
	return v, false
}

// plainJSONString reports whether b is a JSON string whose inside is printable ASCII without a
// quote or a backslash: valid JSON, told without json.Valid's scanner (a handler's output is
// most often one).
func plainJSONString(b []byte) bool {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if byteKind[c] == otherByte {
			return false
		}
	}
	return true
}

// unmarshalOutput decodes body as T with encoding/json.
func unmarshalOutput[T any](body []byte) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("vigiltest: decode output %s as %T: %w", body, v, err)
	}
	return v, nil
}

// acceptedID is the invocationId of a 202's body as encoding/json reads it, "" when there is
// none (an awakeable's 202 has no body at all); known itself when the ID is its text.
func acceptedID(body []byte, known string) string {
	id, _ := sim.ReadAcceptedIDAs(body, known)
	return id
}

// encodeInput is encode for a handler's input, except that a nil input sends no body at all, as
// a client of a handler that takes no input does.
func encodeInput(rm *room, verb, subject string, v any) []byte {
	if v == nil {
		return nil
	}
	return encode(rm, verb, subject, v)
}

// encode is json.Marshal of what a request sends, its short paths written in rm's bytes; a value
// that does not encode is the test's bug and panics, naming the request as verb and subject
// (kept apart, so that nothing is concatenated unless it panics).
func encode(rm *room, verb, subject string, v any) []byte {
	switch v := v.(type) {
	case string:
		if plainString(v) {
			// What json.Marshal writes for a string that needs no escaping, without its
			// reflection.
			b := rm.take(len(v) + 2)
			b[0], b[len(b)-1] = '"', '"'
			copy(b[1:], v)
			return b
		}
	case json.RawMessage:
		if plainRaw(v) {
			// What json.Marshal writes for a value already compact with nothing to escape: a
			// copy of it.
			return rm.clone(v)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("vigiltest: %s %s: encode %T: %v", verb, subject, v, err))
	}
	return b
}

// plainString reports whether json.Marshal writes s as it is between quotes: printable ASCII
// other than the quote and backslash, and other than the '<', '>' and '&' it escapes for HTML.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if byteKind[s[i]] != marshalByte {
			return false
		}
	}
	return true
}

// The kinds of byte of a JSON string's inside, as the kit's short paths read them: one that
// json.Marshal writes as it is, one that only decoding takes as it is (the '<', '>' and '&'
// json.Marshal escapes for HTML), and any other (a quote, a backslash, a control, not ASCII).
const (
	otherByte = iota
	marshalByte
	decodeByte
)

// byteKind is each byte's kind: one table load per byte, cheaper than the comparisons.
var byteKind = func() (t [256]uint8) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = marshalByte
	}
	t['<'], t['>'], t['&'] = decodeByte, decodeByte, decodeByte
	t['"'], t['\\'] = otherByte, otherByte
	return t
}()

// plainRaw reports whether json.Marshal writes the json.RawMessage b as it is: a string that
// plainString takes, or an object of one or more members whose names and values are such strings,
// without whitespace. It is false for anything else, which json.Marshal then writes.
func plainRaw(b []byte) bool {
	if len(b) > 0 && b[0] == '"' {
		rest, ok := plainRawString(b)
		return ok && len(rest) == 0
	}
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	rest := b[1:]
	for {
		var ok bool
		if rest, ok = plainRawString(rest); !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		if rest, ok = plainRawString(rest[1:]); !ok || len(rest) == 0 {
			return false
		}
		switch {
		case string(rest) == "}":
			return true
		case rest[0] != ',':
			return false
		}
		rest = rest[1:]
	}
}

// plainRawString reads a JSON string at the start of b whose inside plainString takes, and
// returns what follows it.
func plainRawString(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, false
	}
	for i := 1; i < len(b); i++ {
		if byteKind[b[i]] != marshalByte {
			if b[i] == '"' {
				return b[i+1:], true
			}
			return nil, false
		}
	}
	return nil, false
}

// then is a request's finisher for a callback func(Reply[T]) (a nil one ignores the reply).
type then[T any] struct{}

func (then[T]) finish(r *request, resp sim.Response) {
	if fn, _ := r.fn.(func(Reply[T])); fn != nil {
		fn(decode[T](r.c.room(), resp, r.n))
	}
}

// Call invokes t with input and calls done with the handler's output, decoded as Out, once the
// invocation finishes. With IdempotencyKey it retries after connection errors; without, a broken
// connection ends it with ErrInDoubt. A nil input sends no body. done may be nil.
func Call[Out any](c *Client, t Target, input any, done func(Reply[Out]), opts ...Option) {
	path := t.pathIn(c.room(), "")
	newRequest(c, http.MethodPost, path, encodeInput(c.room(), "call", path, input), false, opts).do(then[Out]{}, done)
}

// Send invokes t with input without waiting for it to finish (Delay delays its start); done
// gets the invocation's ID as Value, to Attach to or read the Output of later. Retries as Call
// does; a nil input sends no body. done may be nil.
func Send(c *Client, t Target, input any, done func(Reply[string]), opts ...Option) {
	path := t.pathIn(c.room(), "/send")
	newRequest(c, http.MethodPost, path, encodeInput(c.room(), "send", strings.TrimSuffix(path, "/send"), input), false, opts).do(then[string]{}, done)
}

// Attach waits for the invocation with ID id to finish and calls done with its output. It
// retries after connection errors (attaching twice is harmless).
func Attach[Out any](c *Client, id string, done func(Reply[Out]), opts ...Option) {
	newRequest(c, http.MethodGet, c.room().join("/restate/invocation/", pathEscape(id), "/attach"), nil, true, opts).do(then[Out]{}, done)
}

// Output reads the output of the invocation with ID id without waiting: ErrNotReady while it
// runs. It retries after connection errors.
func Output[Out any](c *Client, id string, done func(Reply[Out]), opts ...Option) {
	newRequest(c, http.MethodGet, c.room().join("/restate/invocation/", pathEscape(id), "/output"), nil, true, opts).do(then[Out]{}, done)
}

// Cancel cancels the invocation with ID id, as Restate's admin API does: its pending awaits fail
// with the terminal error 409 "Cancelled", and so do the calls it waits on; done (may be nil)
// gets nil once the runtime accepted the request. Cancelling twice is harmless, so it retries
// after connection errors.
func Cancel(c *Client, id string, done func(error), opts ...Option) {
	newRequest(c, http.MethodPatch, c.room().join("/restate/invocation/", pathEscape(id), "/cancel"), nil, true, opts).do(errOnly{}, done)
}

// AttachByIdempotencyKey waits for the invocation of t that a call or send with idempotency key
// key created, and calls done with its output; the ingress answers 404 while there is none (not
// yet, or no longer: the key's retention ended). It retries after connection errors.
func AttachByIdempotencyKey[Out any](c *Client, t Target, key string, done func(Reply[Out]), opts ...Option) {
	newRequest(c, http.MethodGet, byKeyPath(t, key)+"/attach", nil, true, opts).do(then[Out]{}, done)
}

// OutputByIdempotencyKey reads the output of the invocation of t that idempotency key key
// created, without waiting: ErrNotReady while it runs, a 404 while there is none. It retries
// after connection errors.
func OutputByIdempotencyKey[Out any](c *Client, t Target, key string, done func(Reply[Out]), opts ...Option) {
	newRequest(c, http.MethodGet, byKeyPath(t, key)+"/output", nil, true, opts).do(then[Out]{}, done)
}

func byKeyPath(t Target, key string) string {
	segs := []string{t.Service}
	if t.Key != "" {
		segs = append(segs, t.Key)
	}
	return "/restate/invocation/" + escape(append(segs, t.Handler, key)...)
}

// Raw sends a request the typed helpers do not build — a deliberately malformed one, to see the
// ingress refuse it; an alias route; a method of the admin API — exactly as given: method, path
// (with its query), body and header. done (may be nil) gets the answer with the body raw in
// Value. Like Call, it retries after connection errors only with IdempotencyKey or Repeatable.
func Raw(c *Client, method, path string, body []byte, header http.Header, done func(Reply[json.RawMessage]), opts ...Option) {
	r := newRequest(c, method, path, body, false, opts)
	for _, k := range slices.Sorted(maps.Keys(header)) {
		for _, v := range header[k] {
			r.header = append(r.header, [2]string{k, v})
		}
	}
	r.do(rawAnswer{}, done)
}

// rawAnswer is a Raw request's finisher: a 200's body is the Value as read.
type rawAnswer struct{}

func (rawAnswer) finish(r *request, resp sim.Response) {
	done, _ := r.fn.(func(Reply[json.RawMessage]))
	if done == nil {
		return
	}
	rep := decode[json.RawMessage](r.c.room(), resp, r.n)
	if resp.Err == nil && resp.Status == http.StatusOK {
		// The body as read, JSON or not: a raw request's answer is not the kit's to judge.
		rep.Value, rep.Err = resp.Body, nil
	}
	done(rep)
}

// SubmitWorkflow starts the run of workflow wf (a Workflow target) with input, without waiting;
// done gets the run's invocation ID. A workflow key runs once, so it retries after connection
// errors even without an idempotency key; a later submission of the same key is answered with
// the first run's ID.
func SubmitWorkflow(c *Client, wf Target, input any, done func(Reply[string]), opts ...Option) {
	path := wf.pathIn(c.room(), "/send")
	newRequest(c, http.MethodPost, path, encode(c.room(), "submit", strings.TrimSuffix(path, "/send"), input), true, opts).do(then[string]{}, done)
}

// AttachWorkflow waits for the run of workflow wf (its Service and Key) to finish and calls done
// with its output. It retries after connection errors.
func AttachWorkflow[Out any](c *Client, wf Target, done func(Reply[Out]), opts ...Option) {
	newRequest(c, http.MethodGet, "/restate/workflow/"+escape(wf.Service, wf.Key)+"/attach", nil, true, opts).do(then[Out]{}, done)
}

// WorkflowOutput reads the output of the run of workflow wf without waiting: ErrNotReady while
// it runs. It retries after connection errors.
func WorkflowOutput[Out any](c *Client, wf Target, done func(Reply[Out]), opts ...Option) {
	newRequest(c, http.MethodGet, "/restate/workflow/"+escape(wf.Service, wf.Key)+"/output", nil, true, opts).do(then[Out]{}, done)
}

// ResolveAwakeable completes the awakeable id with value, as a webhook does; done (may be nil)
// gets nil once the runtime accepted the request — which does not mean it won: the first
// completion wins and later ones are dropped. It retries after connection errors, which is
// safe for the same reason.
func ResolveAwakeable(c *Client, id string, value any, done func(error), opts ...Option) {
	rm := c.room()
	r := newRequest(c, http.MethodPost, rm.join("/restate/awakeables/", pathEscape(id), "/resolve"), encode(rm, "resolve", id, value), true, opts)
	r.contentType = "application/json"
	r.do(errOnly{}, done)
}

// RejectAwakeable fails the awakeable id with reason; its waiter gets a terminal error. Like
// ResolveAwakeable, it retries after connection errors.
func RejectAwakeable(c *Client, id string, reason string, done func(error), opts ...Option) {
	rm := c.room()
	r := newRequest(c, http.MethodPost, rm.join("/restate/awakeables/", pathEscape(id), "/reject"), rm.bytesOf(reason), true, opts)
	r.contentType = "text/plain"
	r.do(errOnly{}, done)
}

// errOnly is a request's finisher for a callback func(error) (a nil one ignores the reply).
type errOnly struct{}

func (errOnly) finish(r *request, resp sim.Response) {
	if fn, _ := r.fn.(func(error)); fn != nil {
		fn(decode[struct{}](r.c.room(), resp, r.n).Err)
	}
}
