package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// MaxBodyBytes is the largest request body Decode accepts; a larger one gets 413. The body ends up
// in the journal and in every replay, so an unbounded one would be a memory and disk hazard.
const MaxBodyBytes = 10 << 20

// idempotencyKeyHeader is the header Restate reads the idempotency key from.
const idempotencyKeyHeader = "Idempotency-Key"

// reservedSegment starts Restate's own API paths; it is never taken as a service name, so that
// a typo in a /restate/... path is a 404 rather than a call to a service named "restate".
const reservedSegment = "restate"

// Decode maps an HTTP request onto a Request. It checks routing and syntax only: the route, the
// method, that the service exists with the kind the route needs, the shape of an invocation or
// awakeable ID, the body size and, where a JSON body is required, that the body is JSON. Whether
// the handler, invocation or workflow run exists is for the engine to decide.
//
// services says what kind each service is (see Services). A nil services treats every name as
// an existing plain service: call and send routes then take no key and the workflow routes
// answer 404.
//
// Routes (anything else is 404; a known route with the wrong method is 405 with Allow):
//
//	POST /{service}/{handler}                                        Call
//	POST /{service}/{handler}/send                                   Send
//	POST /{object}/{key}/{handler}                                   Call with Key
//	POST /{object}/{key}/{handler}/send                              Send with Key
//	POST /{workflow}/{key}/{handler}                                 Call with Key ("run" or a shared handler)
//	POST /{workflow}/{key}/{handler}/send                            Send with Key
//	GET  /restate/invocation/{id}/attach                             Attach by InvocationID
//	GET  /restate/invocation/{id}/output                             Output by InvocationID
//	PATCH /restate/invocation/{id}/cancel                            Cancel (Restate's admin API: PATCH /invocations/{id}/cancel)
//	GET  /restate/invocation/{service}/{handler}/{idem}/attach       Attach by IdempotencyKey
//	GET  /restate/invocation/{service}/{handler}/{idem}/output       Output by IdempotencyKey
//	GET  /restate/invocation/{object}/{key}/{handler}/{idem}/attach  Attach by IdempotencyKey, with Key
//	GET  /restate/invocation/{object}/{key}/{handler}/{idem}/output  Output by IdempotencyKey, with Key
//	GET  /restate/workflow/{workflow}/{key}/attach                   WorkflowAttach
//	GET  /restate/workflow/{workflow}/{key}/output                   WorkflowOutput
//	POST /restate/awakeables/{id}/resolve                            ResolveAwakeable (alias /restate/a/{id}/resolve)
//	POST /restate/awakeables/{id}/reject                             RejectAwakeable (alias /restate/a/{id}/reject)
//
// In the keyed idempotency routes {object} may also be a workflow (for its shared handlers).
//
// The route is resolved before the method is checked, and the service kind is part of the
// route: an unknown service is 404 "service 'X' not found"; a plain service given a key is 404;
// a virtual object or workflow given no key is 400 naming the missing key; a service that is not
// a workflow on a workflow route is 404. A second synchronous run of a workflow key (409) is the
// engine's to detect; Decode maps it like any call.
//
// Call and Send take an empty or JSON body and the Idempotency-Key header (workflow run
// included). A resolve body must be JSON; an empty resolve body is taken as the JSON value null,
// since Restate's clients always send a body and "resolve with nothing" most naturally means
// null. A reject body is the plain text reason. Unknown headers and query parameters are ignored.
//
// The path is split on the slashes of r.URL.EscapedPath() and each segment is then
// percent-decoded, so an encoded slash (%2F) stays inside its segment: /Cart/a%2Fb/add is a call
// to object Cart with key "a/b". Segments are taken verbatim after decoding; empty segments (a
// doubled or trailing slash) are a 404. Decode never panics (provided services does not): every
// failure is an *Error with a 4xx status.
//
// DecodeRaw decodes the same parts given as a RawRequest, without an *http.Request.
func Decode(r *http.Request, services Services) (Request, *Error) {
	p, ok := partsOf(r)
	if !ok {
		return Request{}, noURL()
	}
	return decode(&p, services)
}

// noURL is Decode's refusal of a request without a URL.
func noURL() *Error {
	return &Error{Status: http.StatusBadRequest, Message: "the request has no URL"}
}

// decode is Decode of a request's parts, whichever way they came.
func decode(r *parts, services Services) (Request, *Error) {
	path := r.path
	var into [maxSegments]string
	segs, err := splitPath(path, &into)
	if err != nil {
		return Request{}, err
	}
	if segs[0] == reservedSegment {
		return decodeRestate(r, path, segs, services)
	}
	return decodeInvoke(r, path, segs, services)
}

// decodeInvoke decodes the call and send routes, /{service}/... with segs[0] not "restate".
func decodeInvoke(r *parts, path string, segs []string, services Services) (Request, *Error) {
	if len(segs) < 2 || len(segs) > 4 {
		return Request{}, notFound(path)
	}
	req := Request{Service: segs[0]}
	kind, err := lookup(services, req.Service)
	if err != nil {
		return Request{}, err
	}
	if kind.keyed() {
		// /{object}/{key}/{handler}[/send]
		switch {
		case len(segs) == 2:
			return Request{}, missingKey(kind, req.Service, fmt.Sprintf("POST /%s/{key}/{handler}", segs[0]))
		case len(segs) == 3:
			req.Kind = Call
		case segs[3] == "send":
			req.Kind = Send
		default:
			return Request{}, notFound(path)
		}
		req.Key, req.Handler = segs[1], segs[2]
	} else {
		// /{service}/{handler}[/send]
		switch {
		case len(segs) == 2:
			req.Kind = Call
		case len(segs) == 3 && segs[2] == "send":
			req.Kind = Send
		case len(segs) == 3 || segs[3] == "send":
			// Key-shaped: /{service}/{key}/{handler}[/send].
			return Request{}, unexpectedKey(path, req.Service, fmt.Sprintf("POST /%s/{handler}[/send]", segs[0]))
		default:
			return Request{}, notFound(path)
		}
		req.Handler = segs[1]
	}
	if err := checkMethod(r, path, http.MethodPost); err != nil {
		return Request{}, err
	}
	body, err := r.readBody()
	if err != nil {
		return Request{}, err
	}
	// An empty body is a call without input, which Restate allows for handlers that take none.
	if len(body) > 0 {
		if err := checkJSON(body); err != nil {
			return Request{}, err
		}
	}
	req.Body = body
	if !mutant.On(mutant.DecoderDropsIdempotencyKey) {
		req.IdempotencyKey = r.get(idempotencyKeyHeader) // no header reads as empty
	}
	if err := checkKeys(req); err != nil {
		return Request{}, err
	}
	if d := r.queryValue("delay"); d != "" {
		if req.Kind != Send {
			return Request{}, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("delay %q: only a send (POST .../send) can be delayed", d)}
		}
		delay, err := parseDelay(d)
		if err != nil {
			return Request{}, &Error{Status: http.StatusBadRequest, Message: err.Error()}
		}
		req.Delay = delay
	}
	return req, nil
}

// MaxDelay is the longest delay a delayed send may ask for: ten years (3650 days). A longer one
// is refused with 400 rather than scheduled. A delay of decades is almost surely a mistake of
// unit or digits, and its send would never run in the life of the deployment; and a bound far
// below time.Duration's 292 years keeps every deadline computed from a delay (now + delay, kept
// as Unix nanoseconds, which end in 2262) exact, where an unchecked value would wrap around
// into a negative or early deadline. Ten years still covers any calendar a workflow schedules
// by (yearly renewals, multi-year contracts).
const MaxDelay = 3650 * 24 * time.Hour

// isoDuration matches the ISO-8601 durations Restate accepts for delays (PT1H2M3.5S and the like).
var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// goDuration matches what time.ParseDuration accepts as syntax, so that parseDelay can tell a
// well-formed duration too large for a time.Duration (which ParseDuration reports with the
// same error as a malformed one) from a malformed one.
var goDuration = regexp.MustCompile(`^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$`)

// parseDelay reads a delay as Restate's client writes it ("1500ms"), as a Go duration ("10s"),
// or as an ISO-8601 duration ("PT10S"). A delay past MaxDelay is an error naming the limit,
// however large its numbers: every part is checked against the limit before it is multiplied
// into nanoseconds, so nothing overflows and no delay comes out negative or wrapped around.
func parseDelay(s string) (time.Duration, error) {
	tooLong := func() error {
		return fmt.Errorf("delay %q is longer than the limit of %d days", s, MaxDelay/(24*time.Hour))
	}
	if d, err := time.ParseDuration(s); err == nil {
		switch {
		case d < 0:
			return 0, fmt.Errorf("delay %q is negative", s)
		case d > MaxDelay:
			return 0, tooLong()
		}
		return d, nil
	} else if goDuration.MatchString(s) {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("delay %q is negative", s)
		}
		return 0, tooLong()
	}
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return 0, fmt.Errorf("delay %q is neither a duration like 1500ms or 10s nor ISO-8601 like PT10S", s)
	}
	// Seconds are split at the point and read as integers: a float would turn a huge number of
	// seconds into a value that converts to time.Duration as garbage, and round small ones.
	secs, frac, _ := strings.Cut(m[4], ".")
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		part := m[i+1]
		if i == 3 {
			part = secs
		}
		if part == "" {
			continue
		}
		// Each part is at most MaxDelay on its own, so their sum cannot overflow either.
		n, err := strconv.ParseInt(part, 10, 64)
		if err != nil || n > int64(MaxDelay/unit) {
			return 0, tooLong()
		}
		d += time.Duration(n) * unit
	}
	if frac != "" {
		// Nanoseconds are the resolution: digits past the ninth are dropped.
		ns, _ := strconv.Atoi((frac + "00000000")[:9]) // nine digits, by the regexp
		d += time.Duration(ns)
	}
	if d > MaxDelay {
		return 0, tooLong()
	}
	return d, nil
}

// decodeRestate decodes the paths under /restate/. segs[0] is "restate".
func decodeRestate(r *parts, path string, segs []string, services Services) (Request, *Error) {
	if len(segs) < 2 {
		return Request{}, notFound(path)
	}
	switch segs[1] {
	case "invocation":
		return decodeInvocation(r, path, segs, services)
	case "workflow":
		return decodeWorkflow(r, path, segs, services)
	case "awakeables", "a": // "a" is the short alias Restate's own ingress client uses.
		return decodeAwakeable(r, path, segs)
	default:
		return Request{}, notFound(path)
	}
}

// decodeInvocation decodes /restate/invocation/{id}/{action} and the idempotency-key forms
// /restate/invocation/{service}/{handler}/{idem}/{action} and
// /restate/invocation/{object}/{key}/{handler}/{idem}/{action}.
func decodeInvocation(r *parts, path string, segs []string, services Services) (Request, *Error) {
	if len(segs) != 4 && len(segs) != 6 && len(segs) != 7 {
		return Request{}, notFound(path)
	}
	action := segs[len(segs)-1]
	var req Request
	method := http.MethodGet
	switch {
	case action == "attach":
		req.Kind = Attach
	case action == "output":
		req.Kind = Output
	case action == "cancel" && len(segs) == 4:
		req.Kind, method = Cancel, http.MethodPatch
	default:
		return Request{}, notFound(path)
	}

	if len(segs) == 4 {
		if err := checkMethod(r, path, method); err != nil {
			return Request{}, err
		}
		id := segs[2]
		// Validated here so that a typo gets a clear 400 at the door instead of a 404 from the
		// engine that would read as "no such invocation".
		if _, err := protocol.ParseInvocationID(id); err != nil {
			return Request{}, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("cannot %s: %v", action, err)}
		}
		req.InvocationID = id
		return req, nil
	}

	req.Service = segs[2]
	kind, err := lookup(services, req.Service)
	if err != nil {
		return Request{}, err
	}
	if len(segs) == 6 {
		if kind.keyed() {
			return Request{}, missingKey(kind, req.Service,
				fmt.Sprintf("GET /restate/invocation/%s/{key}/{handler}/{idempotency-key}/%s", segs[2], action))
		}
		req.Handler, req.IdempotencyKey = segs[3], segs[4]
	} else {
		if !kind.keyed() {
			return Request{}, unexpectedKey(path, req.Service,
				fmt.Sprintf("GET /restate/invocation/%s/{handler}/{idempotency-key}/%s", segs[2], action))
		}
		req.Key, req.Handler, req.IdempotencyKey = segs[3], segs[4], segs[5]
	}
	if err := checkMethod(r, path, http.MethodGet); err != nil {
		return Request{}, err
	}
	if err := checkKeys(req); err != nil {
		return Request{}, err
	}
	return req, nil
}

// decodeWorkflow decodes /restate/workflow/{workflow}/{key}/{attach|output}.
func decodeWorkflow(r *parts, path string, segs []string, services Services) (Request, *Error) {
	if len(segs) != 5 {
		return Request{}, notFound(path)
	}
	req := Request{Service: segs[2], Key: segs[3]}
	switch segs[4] {
	case "attach":
		req.Kind = WorkflowAttach
	case "output":
		req.Kind = WorkflowOutput
	default:
		return Request{}, notFound(path)
	}
	kind, err := lookup(services, req.Service)
	if err != nil {
		return Request{}, err
	}
	if kind != KindWorkflow {
		return Request{}, &Error{
			Status:  http.StatusNotFound,
			Message: fmt.Sprintf("no ingress route matches %q: %s is a %s, not a workflow", path, quoteName(req.Service), kind),
		}
	}
	if err := checkMethod(r, path, http.MethodGet); err != nil {
		return Request{}, err
	}
	if err := checkKeys(req); err != nil {
		return Request{}, err
	}
	return req, nil
}

// checkKeys answers 400 when a string the client chose for a store key — the object or workflow
// key, the idempotency key, the handler name — is past its limit (protocol.MaxKeyBytes,
// protocol.MaxNameBytes). Such a string would be stored, and a key the store cannot take would
// stop the server; so it is refused at the door, with the limit named.
func checkKeys(req Request) *Error {
	for _, err := range []error{
		protocol.CheckKey("object or workflow key", req.Key),
		protocol.CheckKey("idempotency key", req.IdempotencyKey),
		protocol.CheckName("handler name", req.Handler),
	} {
		if err != nil {
			return &Error{Status: http.StatusBadRequest, Message: err.Error()}
		}
	}
	return nil
}

// decodeAwakeable decodes /restate/awakeables/{id}/{resolve|reject} and its /restate/a/ alias.
func decodeAwakeable(r *parts, path string, segs []string) (Request, *Error) {
	if len(segs) != 4 {
		return Request{}, notFound(path)
	}
	id, action := segs[2], segs[3]
	var kind RequestKind
	switch action {
	case "resolve":
		kind = ResolveAwakeable
	case "reject":
		kind = RejectAwakeable
	default:
		return Request{}, notFound(path)
	}
	if err := checkMethod(r, path, http.MethodPost); err != nil {
		return Request{}, err
	}
	// A well-formed ID of an unknown invocation is accepted (Restate does no existence check),
	// but a malformed one can never reach a waiter, so it is refused here.
	if _, err := protocol.ParseAwakeableID(id); err != nil {
		return Request{}, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("cannot %s the awakeable: %v", action, err)}
	}
	body, err := r.readBody()
	if err != nil {
		return Request{}, err
	}
	if kind == ResolveAwakeable {
		if len(body) == 0 {
			body = []byte("null")
		} else if err := checkJSON(body); err != nil {
			// Better than Restate, which accepts such a body and leaves the waiter failing to
			// decode it on every replay, forever.
			return Request{}, err
		}
	}
	return Request{Kind: kind, AwakeableID: id, Body: body}, nil
}

// lookup finds the kind of service: KindService for every name when services is nil, else
// what services says. An unknown service, a kind outside the three, and the reserved name
// "restate" are all a 404.
func lookup(services Services, service string) (ServiceKind, *Error) {
	if service == reservedSegment {
		return 0, serviceNotFound(service)
	}
	if services == nil {
		return KindService, nil
	}
	kind, ok := services.Kind(service)
	if !ok || (kind != KindService && kind != KindObject && kind != KindWorkflow) {
		return 0, serviceNotFound(service)
	}
	return kind, nil
}

// serviceNotFound is Restate's error for an unknown service.
func serviceNotFound(service string) *Error {
	return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("service %s not found", quoteName(service))}
}

// missingKey is the error for a virtual object or workflow addressed without a key; usage is the
// route it should have used.
func missingKey(kind ServiceKind, service, usage string) *Error {
	return &Error{
		Status:  http.StatusBadRequest,
		Message: fmt.Sprintf("%s %s requires a key: use %s", kind, quoteName(service), usage),
	}
}

// unexpectedKey is the error for a plain service addressed with a key-shaped path; usage is the
// route it should have used.
func unexpectedKey(path, service, usage string) *Error {
	return &Error{
		Status: http.StatusNotFound,
		Message: fmt.Sprintf("no ingress route matches %q: service %s is a plain service and takes no key; use %s",
			path, quoteName(service), usage),
	}
}

// quoteName quotes a service name the way Restate's messages do ('Greeter'), falling back to Go
// quoting when the name holds a quote, a control character or invalid UTF-8, so that a message
// never carries raw bytes a client would misread.
func quoteName(name string) string {
	q := strconv.Quote(name)
	if q[1:len(q)-1] == name && !strings.Contains(name, "'") {
		return "'" + name + "'"
	}
	return q
}

// maxSegments is the most segments a route has:
// /restate/invocation/{object}/{key}/{handler}/{idempotency-key}/{action}.
const maxSegments = 7

// splitPath splits an escaped absolute path into its percent-decoded segments, kept in into (the
// caller's array, so that a request's segments take no allocation of their own). A path that is
// not absolute or has an empty segment matches no route (404); a segment that is not valid
// percent-encoding is a 400, the first of these problems in path order deciding; a path of more
// than maxSegments segments matches no route either (404), as every route's own check of the
// number would say.
func splitPath(path string, into *[maxSegments]string) ([]string, *Error) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil, notFound(path)
	}
	n := 0
	// Whether any segment holds a '%', found once for the whole path: most paths hold none,
	// and a segment without one needs no look of its own.
	escaped := strings.IndexByte(rest, '%') >= 0
	// The segments as strings.SplitSeq(rest, "/") yields them, cut in a plain loop: the
	// iterator's calls were a third of the split.
	for more := true; more; {
		var s string
		s, rest, more = strings.Cut(rest, "/")
		if s == "" {
			return nil, notFound(path)
		}
		u := s
		// A segment without '%' is its own unescaping (path unescaping turns no '+' into a
		// space), and IndexByte finds that out faster than url.PathUnescape's walk.
		if escaped && strings.IndexByte(s, '%') >= 0 {
			var err error
			if u, err = url.PathUnescape(s); err != nil {
				// EscapedPath falls back to escaping URL.Path when RawPath is not valid, so this
				// is not expected; it is still a refusal rather than a guess.
				return nil, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("the path %q is not valid percent-encoding: %v", path, err)}
			}
		}
		if n < len(into) {
			into[n] = u
		}
		n++
	}
	if n > len(into) {
		return nil, notFound(path)
	}
	return into[:n], nil
}

// checkMethod answers 405 unless r uses method, naming the allowed method as RFC 9110 requires.
func checkMethod(r *parts, path, method string) *Error {
	if r.method == method {
		return nil
	}
	return &Error{
		Status:  http.StatusMethodNotAllowed,
		Message: fmt.Sprintf("method %q is not allowed on %q; use %s", r.method, path, method),
		Allow:   method,
	}
}

// notFound is the error for a path that matches no route.
func notFound(path string) *Error {
	return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("no ingress route matches %q", path)}
}

// tooLarge is the error for a body past MaxBodyBytes.
func tooLarge() *Error {
	return &Error{
		Status:  http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("the request body is larger than the limit of %d bytes", MaxBodyBytes),
	}
}

// readBody reads the whole body, at most MaxBodyBytes of it. An empty body comes back as nil so
// that "no body" has one representation in the journal and in traces.
func readBody(r *http.Request) ([]byte, *Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	// A declared length past the limit is refused before reading a byte of it.
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	// One byte past the limit is enough to tell "too large" from "exactly at the limit" when the
	// length is unknown (chunked) or understated.
	body, err := readSized(io.LimitReader(r.Body, MaxBodyBytes+1), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("cannot read the request body: %v", err)}
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	if len(body) == 0 {
		return nil, nil
	}
	return body, nil
}

// readSized is io.ReadAll with a buffer sized from the declared length (size, -1 when unknown)
// instead of io.ReadAll's 512 bytes that then double: one allocation of the body's size for
// the usual request that declares it. The extra byte lets the read that reports the end fit
// without growing the buffer; a body longer than declared still grows it, like io.ReadAll.
func readSized(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > MaxBodyBytes {
		size = 511
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow, as io.ReadAll does
		}
	}
}

// checkJSON answers 400 unless body is one JSON value in UTF-8. encoding/json alone would let
// invalid UTF-8 through (it substitutes U+FFFD on decode), but JSON text must be UTF-8 (RFC
// 8259), and a value that changes when decoded would not replay as the client sent it.
func checkJSON(body []byte) *Error {
	if simpleJSON(body) || json.Valid(body) {
		if utf8.Valid(body) {
			return nil
		}
		return &Error{Status: http.StatusBadRequest, Message: "the request body is not valid JSON: it is not valid UTF-8"}
	}
	// Decode only on the failure path, to name what is wrong and where.
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	if err == nil {
		// Unreachable unless json.Valid and json.Unmarshal disagree; still a refusal.
		return &Error{Status: http.StatusBadRequest, Message: "the request body is not valid JSON"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("the request body is not valid JSON: %v (at byte %d)", err, se.Offset)}
	}
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("the request body is not valid JSON: %v", err)}
}

// simpleJSON reports whether body is, byte for byte, one of the simple documents clients send
// most — a string, or a flat object of string keys and scalar values, with no whitespace — each
// string of printable ASCII other than '"' and '\\' (so valid UTF-8 that needs no unescaping).
// Every body it takes is valid JSON; for any other body it reports false and json.Valid, which
// walks the document through the general scanner, decides.
func simpleJSON(body []byte) bool {
	if len(body) > 0 && body[0] == '{' {
		rest := body[1:]
		if len(rest) == 1 && rest[0] == '}' {
			return true
		}
		for {
			var ok bool
			if rest, ok = simpleString(rest); !ok || len(rest) == 0 || rest[0] != ':' {
				return false
			}
			if rest, ok = simpleScalar(rest[1:]); !ok || len(rest) == 0 {
				return false
			}
			switch rest[0] {
			case '}':
				return len(rest) == 1
			case ',':
				rest = rest[1:]
			default:
				return false
			}
		}
	}
	rest, ok := simpleScalar(body)
	return ok && len(rest) == 0
}

// simpleScalar reads a string (see simpleJSON), true, false, null or an integer (an optional
// '-', then 0 or digits not starting with 0) at the start of b, and returns what follows it.
func simpleScalar(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	switch c := b[0]; {
	case c == '"':
		return simpleString(b)
	case c == '-' || '0' <= c && c <= '9':
		i := 0
		if c == '-' {
			i++
		}
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		if b[i] == '0' {
			i++
		} else {
			for i < len(b) && '0' <= b[i] && b[i] <= '9' {
				i++
			}
		}
		return b[i:], true
	}
	for _, word := range [...]string{"true", "false", "null"} {
		if rest, ok := bytes.CutPrefix(b, []byte(word)); ok {
			return rest, true
		}
	}
	return nil, false
}

// simpleString reads a string of printable ASCII other than '"' and '\\' at the start of b,
// quotes included, and returns what follows it.
func simpleString(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[i+1:], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
	}
	return nil, false
}
