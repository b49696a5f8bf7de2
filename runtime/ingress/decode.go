package ingress

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

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
// method, the shape of an invocation or awakeable ID, the body size and, where a JSON body is
// required, that the body is JSON. Whether the target exists is for the engine to decide.
//
// Routes (anything else is 404; a known route with the wrong method is 405 with Allow):
//
//	POST /{service}/{handler}                 Call
//	POST /{service}/{handler}/send            Send
//	GET  /restate/invocation/{id}/attach      Attach
//	GET  /restate/invocation/{id}/output      Output
//	POST /restate/awakeables/{id}/resolve     ResolveAwakeable (alias /restate/a/{id}/resolve)
//	POST /restate/awakeables/{id}/reject      RejectAwakeable  (alias /restate/a/{id}/reject)
//
// Call and Send take an empty or JSON body and the Idempotency-Key header. A resolve body must
// be JSON; an empty resolve body is taken as the JSON value null, since Restate's clients always
// send a body and "resolve with nothing" most naturally means null. A reject body is the plain
// text reason. Unknown headers and query parameters are ignored.
//
// Path segments come from r.URL.Path, already percent-decoded by the standard library, and are
// taken verbatim; empty segments (a doubled or trailing slash) are a 404. Decode never panics:
// every failure is an *Error with a 4xx status.
func Decode(r *http.Request) (Request, *Error) {
	if r == nil || r.URL == nil {
		return Request{}, &Error{Status: http.StatusBadRequest, Message: "the request has no URL"}
	}
	path := r.URL.Path
	segs, ok := splitPath(path)
	if !ok {
		return Request{}, notFound(path)
	}
	if segs[0] == reservedSegment {
		return decodeRestate(r, path, segs)
	}

	var kind RequestKind
	switch {
	case len(segs) == 2:
		kind = Call
	case len(segs) == 3 && segs[2] == "send":
		kind = Send
	default:
		return Request{}, notFound(path)
	}
	if err := checkMethod(r, path, http.MethodPost); err != nil {
		return Request{}, err
	}
	body, err := readBody(r)
	if err != nil {
		return Request{}, err
	}
	// An empty body is a call without input, which Restate allows for handlers that take none.
	if len(body) > 0 {
		if err := checkJSON(body); err != nil {
			return Request{}, err
		}
	}
	return Request{
		Kind:           kind,
		Service:        segs[0],
		Handler:        segs[1],
		Body:           body,
		IdempotencyKey: r.Header.Get(idempotencyKeyHeader),
	}, nil
}

// decodeRestate decodes the paths under /restate/. segs[0] is "restate".
func decodeRestate(r *http.Request, path string, segs []string) (Request, *Error) {
	if len(segs) != 4 {
		return Request{}, notFound(path)
	}
	id, action := segs[2], segs[3]
	switch segs[1] {
	case "invocation":
		var kind RequestKind
		switch action {
		case "attach":
			kind = Attach
		case "output":
			kind = Output
		default:
			return Request{}, notFound(path)
		}
		if err := checkMethod(r, path, http.MethodGet); err != nil {
			return Request{}, err
		}
		// Validated here so that a typo gets a clear 400 at the door instead of a 404 from the
		// engine that would read as "no such invocation".
		if _, err := protocol.ParseInvocationID(id); err != nil {
			return Request{}, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("cannot %s: %v", action, err)}
		}
		return Request{Kind: kind, InvocationID: id}, nil

	case "awakeables", "a": // "a" is the short alias Restate's own ingress client uses.
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
		// A well-formed ID of an unknown invocation is accepted (Restate does no existence
		// check), but a malformed one can never reach a waiter, so it is refused here.
		if _, err := protocol.ParseAwakeableID(id); err != nil {
			return Request{}, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("cannot %s the awakeable: %v", action, err)}
		}
		body, err := readBody(r)
		if err != nil {
			return Request{}, err
		}
		if kind == ResolveAwakeable {
			if len(body) == 0 {
				body = []byte("null")
			} else if err := checkJSON(body); err != nil {
				// Better than Restate, which accepts such a body and leaves the waiter failing
				// to decode it on every replay, forever.
				return Request{}, err
			}
		}
		return Request{Kind: kind, AwakeableID: id, Body: body}, nil

	default:
		return Request{}, notFound(path)
	}
}

// splitPath splits an absolute path into its segments. It reports false for a path that is not
// absolute or has an empty segment, which no route has.
func splitPath(path string) ([]string, bool) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil, false
	}
	segs := strings.Split(rest, "/")
	for _, s := range segs {
		if s == "" {
			return nil, false
		}
	}
	return segs, true
}

// checkMethod answers 405 unless r uses method, naming the allowed method as RFC 9110 requires.
func checkMethod(r *http.Request, path, method string) *Error {
	if r.Method == method {
		return nil
	}
	return &Error{
		Status:  http.StatusMethodNotAllowed,
		Message: fmt.Sprintf("method %q is not allowed on %q; use %s", r.Method, path, method),
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
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
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

// checkJSON answers 400 unless body is one JSON value in UTF-8. encoding/json alone would let
// invalid UTF-8 through (it substitutes U+FFFD on decode), but JSON text must be UTF-8 (RFC
// 8259), and a value that changes when decoded would not replay as the client sent it.
func checkJSON(body []byte) *Error {
	if json.Valid(body) {
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
