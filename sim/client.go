package sim

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	hist "github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// HTTP sends an HTTP request from the client actor named client to the runtime's ingress and
// calls cb with the response (or a connection error) after the network's delays, as Send does
// with the header's fields listed sorted by name (so that a map's order never reaches the
// history), each name's values in order.
func (w *World) HTTP(client, method, path string, body []byte, header http.Header, cb func(Response)) {
	var buf [8]ingress.HeaderField
	w.Send(client, ClientRequest{Method: method, Target: path, Header: headerFields(header, buf[:0]), Body: body}, answerFunc(cb))
}

// ClientRequest is an HTTP request as a simulated client writes it, in plain values: no
// net/http type is built per request.
type ClientRequest struct {
	// Method is the request method ("POST").
	Method string
	// Target is the request target as on the request line: the raw path, percent-escapes and
	// query included.
	Target string
	// Header lists the header fields in the order they are written, names as written; the
	// runtime files them as http.Header.Add does.
	Header []ingress.HeaderField
	// Body is the body, nil for none.
	Body []byte
}

// Answerer takes the answer to a client's request: a value the client keeps for the request
// anyway (a pointer to it), so that sending needs no callback made for it.
type Answerer interface {
	// Answer is called once with the response, or with a connection error or a timeout in Err.
	Answer(Response)
}

// answerFunc is a callback as an Answerer.
type answerFunc func(Response)

// Answer calls f.
func (f answerFunc) Answer(r Response) { f(r) }

// Send sends req from the client actor named client to the runtime's ingress and hands the
// response (or a connection error) to to after the network's delays. The history records the
// exchange from the client's side of the link, before anything decodes it: what the client wrote
// (method, raw target, header fields, body) and what it read back (status, headers, body). The
// runtime's side triages and decodes the request with ingress.RawRequest.Triage, the decoding
// the production http.Handler uses, from the parts a server would have parsed (no *http.Request
// is built), and answers with the value that handler would encode; only the socket is missing.
func (w *World) Send(client string, req ClientRequest, to Answerer) {
	w.requests++
	room := &w.client
	x := room.exchange() // zero: only the fields set here need setting
	x.w, x.client, x.reqNo, x.to = w, client, w.requests, to
	// The runtime gets the request in parts, its own copies of them: nothing the client does
	// with its buffers later reaches the runtime, nor the runtime's doings the history. The two
	// copies of the body are cut from the room's bytes, each capped so that neither can grow
	// into the other; the two copies of the header fields are held by the exchange when they
	// fit.
	runtimeBody, sentBody := room.cloneTwice(req.Body)
	x.req = ingress.RawRequest{Method: req.Method, Target: req.Target, Fields: copyFields(req.Header, x.reqFields[:0]), Body: runtimeBody}
	sent := &x.rec.sent
	*sent = hist.HTTP{Method: req.Method, Path: req.Target, Header: histFields(req.Header, x.rec.sentFields[:0]), Body: sentBody}
	// The target fields are the checkers' own reading of the bytes, for scenario checks that
	// group requests by target; the runtime's decoding never reaches the history.
	target := w.readRequest(x.reqNo, sent) // the judge's index takes this reading (judge.go)
	// What fmt's "%s %s" writes, in the room's text.
	start := room.reserve(len(req.Method) + 1 + len(req.Target))
	room.text.WriteString(req.Method)
	room.text.WriteByte(' ')
	room.text.WriteString(req.Target)
	e := w.newEvent(checkers.ClientRequest, client)
	e.Request, e.Reason, e.HTTP = x.reqNo, room.since(start), sent
	e.Service, e.Handler, e.Key, e.IdempotencyKey = target.Service, target.Handler, target.Key, target.IdempotencyKey
	// A lost request or a lost response (a black hole) leaves the client waiting until its
	// timeout: it cannot know whether the request took effect.
	lostRequest := !w.healed && w.netRand.Percent(w.plan.RequestLossPercent, "request-loss")
	x.lostResponse = !w.healed && !lostRequest && w.netRand.Percent(w.plan.ResponseLossPercent, "response-loss")
	if lostRequest || x.lostResponse {
		x.timeout = max(w.plan.ClientTimeout, time.Millisecond)
		w.queue.push(event{at: w.now + x.timeout, kind: evClientTimeout, x: x})
	}
	if lostRequest {
		w.cover(CoverRequestLost)
		return
	}
	w.queue.push(event{at: w.now + w.linkDelay(), kind: evRequestArrives, x: x})
}

// copyFields copies fs into buf when they fit, else into a new array; none is nil.
func copyFields(fs, buf []ingress.HeaderField) []ingress.HeaderField {
	if len(fs) == 0 {
		return nil
	}
	if len(fs) > cap(buf) {
		buf = make([]ingress.HeaderField, 0, len(fs))
	}
	return append(buf[:0], fs...)[:len(fs):len(fs)]
}

// histFields copies fs as the history's header fields, into buf when they fit; none is nil.
func histFields(fs []ingress.HeaderField, buf []hist.Header) []hist.Header {
	if len(fs) == 0 {
		return nil
	}
	if len(fs) > cap(buf) {
		buf = make([]hist.Header, 0, len(fs))
	}
	for _, f := range fs {
		buf = append(buf, hist.Header{Name: f.Name, Value: f.Value})
	}
	return buf[:len(fs):len(fs)]
}

// clientRoom is where the client path takes what a run's history keeps of its exchanges, in
// chunks instead of an allocation each: the exchanges, the bodies' copies and the events'
// texts. Nothing handed out is ever handed out again, or written after it was handed out. A
// recycled world's next run takes the exchanges again (emptied: nothing of a run outlives its
// recycling but the world's own buffers, and the history, the queue and the runtime node's
// requests that point at exchanges are emptied with them), and the rest of the chunks of bytes
// and text after what the last run took: the strings and bodies of a history may be kept by what
// outlives the run (a checker's interned names), so what was handed out is never written again,
// but what follows it in a chunk was never handed out. A run's texts and bodies then take some
// four kilobytes of chunks, not a new chunk of each and its unused end per run.
type clientRoom struct {
	// exchanges is the rest of the chunk in use; chunks are the room's chunks of exchanges,
	// the first used of them in use for this run, kept for the world's next runs.
	exchanges []exchange
	chunks    [][]exchange
	used      int
	bytes     []byte
	// text holds the events' texts: a string the Builder returned stays as it was while more is
	// written after it, since a Builder only appends (and a new chunk is a new Builder). It is
	// held by pointer so that it can pass to the next run (emptied) without being copied: a
	// Builder refuses to be written after a copy.
	text *strings.Builder
}

// The chunk sizes: a run of the approval scenario sends some twenty requests, each with a body
// of a few dozen bytes and two texts of some sixty; an exchange is some 560 bytes, so a chunk of
// four leaves less unused at the end of a run than a larger one would. Bytes and text pass on to
// the next run (emptied), so their chunks waste nothing at a run's end and can be larger.
const (
	exchangeChunk = 4
	bytesChunk    = 1024
	textChunk     = 4096
)

// exchange returns a zero exchange of the room's: from the next of its chunks, emptied by
// the last run's end, or a new chunk.
func (r *clientRoom) exchange() *exchange {
	if len(r.exchanges) == 0 {
		if r.used == len(r.chunks) {
			r.chunks = append(r.chunks, make([]exchange, exchangeChunk))
		}
		r.exchanges = r.chunks[r.used]
		r.used++
	}
	x := &r.exchanges[0]
	r.exchanges = r.exchanges[1:]
	return x
}

// emptied returns the room for a recycled world's next run: its chunks of exchanges, the ones
// this run used cleared (which also lets go of what they point to), and the rest of its bytes
// and text, which nothing was handed out of.
func (r *clientRoom) emptied() clientRoom {
	for _, c := range r.chunks[:r.used] {
		clear(c)
	}
	return clientRoom{chunks: r.chunks, bytes: r.bytes, text: r.text}
}

// cloneTwice returns two copies of b from the room's bytes, each with no room to grow into the
// other or into what follows; both are nil when b is, as bytes.Clone's are.
func (r *clientRoom) cloneTwice(b []byte) (first, second []byte) {
	if b == nil {
		return nil, nil
	}
	n := len(b)
	if len(r.bytes) < 2*n || r.bytes == nil {
		r.bytes = make([]byte, max(2*n, bytesChunk))
	}
	first, second = r.bytes[:n:n], r.bytes[n:2*n:2*n]
	r.bytes = r.bytes[2*n:]
	copy(first, b)
	copy(second, b)
	return first, second
}

// reserve makes room for n more bytes of text and returns where the next text starts, for
// since once it is written.
func (r *clientRoom) reserve(n int) int {
	if r.text == nil {
		r.text = new(strings.Builder)
	}
	if r.text.Cap()-r.text.Len() < n {
		*r.text = strings.Builder{}
		r.text.Grow(max(n, textChunk))
	}
	return r.text.Len()
}

// since returns the text written since start (reserve).
func (r *clientRoom) since(start int) string { return r.text.String()[start:] }

// textOf returns b as a string of the room's text.
func (r *clientRoom) textOf(b []byte) string {
	start := r.reserve(len(b))
	r.text.Write(b)
	return r.since(start)
}

// exchange is one client request in flight: the request as the runtime's side has it and
// whether the client has had its answer. One value holds what the request's callbacks share.
type exchange struct {
	w      *World
	client string
	reqNo  uint64
	// req is the request as the runtime's side has it: its Method and Target are the method and
	// path the client wrote.
	req ingress.RawRequest
	// lostResponse drops the answer on its way back; timeout is when the client gives up on a
	// lost request or response.
	lostResponse bool
	timeout      time.Duration
	answered     bool
	to           Answerer
	// reqFields hold the runtime's copy of the usual header fields (req.Fields).
	reqFields [2]ingress.HeaderField
	// rec is what the history keeps of the exchange, held here so that an exchange is one
	// allocation.
	rec exchangeRecord
}

// exchangeRecord is what the history keeps of an exchange: the request as the client wrote it
// and the response as it read it, with room for their usual header fields. Nothing changes
// either once it is recorded.
type exchangeRecord struct {
	sent, got  hist.HTTP
	sentFields [2]hist.Header
	gotFields  [3]hist.Header
	// failure is the failure the response carries, if any (responseFacts).
	failure journal.Failure
}

// arrive is the request reaching the runtime node, after the link's delay.
func (x *exchange) arrive() {
	w := x.w
	if !w.runtime.up {
		w.runtime.request(x.reqNo, ingress.Request{}, x) // refused
		return
	}
	// What the production handler answers before decoding — a CORS preflight, the health
	// probe (the simulated ingress is always ready) — it answers here in the same order with the
	// same functions, and decodes anything else as it does; every answer carries the CORS
	// headers a browser's request gets. It reads the runtime's own copy of the request, so
	// decoding it on arrival or when it was sent is all one.
	early, answeredEarly, decoded, derr := x.req.Triage(w.serviceKinds, true, "ready")
	if answeredEarly || derr != nil {
		w.Record(checkers.Event{Kind: checkers.RequestDelivered, Node: "runtime", Request: x.reqNo})
		resp := Response{Response: early}
		if !answeredEarly {
			resp.Response = derr.Response()
		}
		w.After(w.linkDelay(), func() { x.reply(resp) })
		return
	}
	w.runtime.request(x.reqNo, decoded, x)
}

// reply is the runtime's answer leaving for the client, or lost on the way.
func (x *exchange) reply(r Response) {
	if x.lostResponse {
		x.w.cover(CoverResponseLost)
		return
	}
	if r.Err == nil {
		r.Response = x.req.WithCORS(r.Response)
	}
	x.done(r)
}

// timedOut is the client giving up on a request or response that was lost.
func (x *exchange) timedOut() {
	x.done(Response{Err: timeoutError{x.timeout}})
}

// timeoutError is the error of a client that gave up after waiting d: what fmt.Errorf("no answer
// within %s: %w", d, ErrTimeout) says and wraps, made without fmt.
type timeoutError struct{ d time.Duration }

// Error says how long the client waited.
func (e timeoutError) Error() string {
	var buf [96]byte
	return string(e.appendError(buf[:0]))
}

// appendError appends what Error returns, so that the client's record writes it in the room's
// text without making the string first.
func (e timeoutError) appendError(b []byte) []byte {
	b = appendDuration(append(b, "no answer within "...), e.d)
	return append(append(b, ": "...), ErrTimeout.Error()...)
}

// Unwrap lets errors.Is find ErrTimeout.
func (e timeoutError) Unwrap() error { return ErrTimeout }

// done records what the client read, once, and hands it to the client's callback.
func (x *exchange) done(r Response) {
	if x.answered {
		return
	}
	x.answered = true
	// Filled in place (nothing below records another event before the client's callback).
	e := x.w.newEvent(checkers.ClientResponse, x.client)
	e.Request = x.reqNo
	room := &x.w.client
	if r.Err != nil {
		// What fmt's "%s %s: %v" writes, in the room's text; a timeout's message (the usual
		// error) is written on the stack first rather than made as a string.
		var msg string
		var buf [96]byte
		var timeout []byte
		if te, ok := r.Err.(timeoutError); ok {
			timeout = te.appendError(buf[:0])
		} else {
			msg = r.Err.Error()
		}
		start := room.reserve(len(x.req.Method) + 1 + len(x.req.Target) + 2 + len(msg) + len(timeout))
		x.writeRequestLine(room)
		room.text.WriteString(msg)
		room.text.Write(timeout)
		e.Reason = room.since(start)
	} else {
		e.Status = r.Status
		// What fmt's "%s %s: %d %s" writes, in the room's text (the status is written on the
		// stack first: strconv.Itoa allocates for 100 and more).
		var digits [20]byte
		status := strconv.AppendInt(digits[:0], int64(r.Status), 10)
		start := room.reserve(len(x.req.Method) + 1 + len(x.req.Target) + 2 + len(status) + 1 + len(r.Body))
		x.writeRequestLine(room)
		room.text.Write(status)
		room.text.WriteByte(' ')
		room.text.Write(r.Body)
		e.Reason = room.since(start)
		got := &x.rec.got
		*got = responseHTTP(r.Response, x.rec.gotFields[:0])
		e.HTTP = got
		e.Invocation, e.Entry, e.Result = responseFacts(e.HTTP, room, &x.rec.failure)
	}
	x.to.Answer(r)
}

// writeRequestLine writes "METHOD TARGET: " to the room's text, the start of a response's
// reason.
func (x *exchange) writeRequestLine(room *clientRoom) {
	room.text.WriteString(x.req.Method)
	room.text.WriteByte(' ')
	room.text.WriteString(x.req.Target)
	room.text.WriteString(": ")
}

// ErrTimeout is the Err of a request whose client gave up waiting for an answer; like a
// connection error, it leaves the request's outcome in doubt.
var ErrTimeout = errors.New("client timed out")

// responseFacts reads what a response says, from the bytes the client received: the invocation it
// names (the x-restate-id header, or the invocationId of a 202), and the output it carries, if
// any — the body of a 200, or the failure of an error that came from the invocation rather than
// the ingress (its message written in room's text, the failure itself in *f).
func responseFacts(r *hist.HTTP, room *clientRoom, f *journal.Failure) (protocol.InvocationID, journal.Entry, journal.Result) {
	var inv protocol.InvocationID
	idText, hasID := r.Get(headerInvocationID)
	// An empty body is no JSON (the 202 of an awakeable's resolution has none): ReadAcceptedID
	// says so without decoding.
	if idText == "" && r.Status == http.StatusAccepted {
		if id, err := ReadAcceptedID(r.Body); err == nil {
			idText = id
		}
	}
	// An absent ID names nothing; parsing it would only build the error that says so.
	if idText != "" {
		if id, err := protocol.ParseInvocationID(idText); err == nil {
			inv = id
		}
	}
	if inv.IsZero() || !hasID {
		return inv, journal.Entry{}, journal.Result{}
	}
	if r.Status == http.StatusOK {
		return inv, journal.Entry{Kind: journal.KindOutput}, journal.Result{Value: r.Body}
	}
	if code, message, source, ok := PlainErrorBody(r.Body); ok {
		// ReadErrorBody's reading, the message written in the room rather than made a string
		// of its own.
		if source != "invocation" {
			return inv, journal.Entry{}, journal.Result{}
		}
		*f = journal.Failure{Code: code, Message: room.textOf(message)}
		return inv, journal.Entry{Kind: journal.KindOutput}, journal.Result{Failure: f}
	}
	body, err := ReadErrorBody(r.Body)
	if err == nil && body.Source == "invocation" {
		*f = journal.Failure{Code: body.Code, Message: body.Message}
		return inv, journal.Entry{Kind: journal.KindOutput}, journal.Result{Failure: f}
	}
	return inv, journal.Entry{}, journal.Result{}
}

// headerInvocationID is the response header that names the invocation of a finished call.
const headerInvocationID = "x-restate-id"

// headerFields lists a header's fields sorted by name, so that a map's order never reaches the
// history, each name's values in order, in buf when they fit.
func headerFields(h http.Header, buf []ingress.HeaderField) []ingress.HeaderField {
	if len(h) == 0 {
		return nil
	}
	var names [8]string
	keys := names[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fs := buf[:0]
	for _, k := range keys {
		for _, v := range h[k] {
			fs = append(fs, ingress.HeaderField{Name: k, Value: v})
		}
	}
	return fs
}

// responseHTTP is the response as it reaches the client: status, the headers the production
// handler writes for it, and the body; the headers go in buf when they fit.
func responseHTTP(r ingress.Response, buf []hist.Header) hist.HTTP {
	h := hist.HTTP{Status: r.Status, Body: r.Body}
	// The fields are read here and copied below: a buffer on the stack holds them (ten is
	// the most the ingress writes; append would move a longer list to the heap).
	var fieldBuf [10]ingress.HeaderField
	fields := ingress.AppendHeaderFields(fieldBuf[:0], r)
	if len(fields) == 0 {
		return h
	}
	h.Header = buf[:0]
	if len(fields) > cap(buf) {
		h.Header = make([]hist.Header, 0, len(fields))
	}
	for _, f := range fields {
		h.Header = append(h.Header, hist.Header{Name: lowerHeaderName(f.Name), Value: f.Value})
	}
	h.Header = h.Header[:len(fields):len(fields)]
	return h
}

// lowerHeaderName is strings.ToLower(name), with the names the ingress writes on most responses
// answered from constants instead of a new string each time.
func lowerHeaderName(name string) string {
	switch name {
	case "Content-Type":
		return "content-type"
	case "Access-Control-Allow-Origin":
		return "access-control-allow-origin"
	case "Access-Control-Allow-Credentials":
		return "access-control-allow-credentials"
	case "Access-Control-Expose-Headers":
		return "access-control-expose-headers"
	case "Vary":
		return "vary"
	case "Allow":
		return "allow"
	case "x-restate-id", "x-restate-error-source":
		return name
	}
	return strings.ToLower(name)
}
