package ingress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
)

// contentTypeJSON is the content type of every JSON body the ingress sends.
const contentTypeJSON = "application/json"

// invocationIDHeader carries the invocation ID on responses, as in Restate.
const invocationIDHeader = "x-restate-id"

// errorSourceHeader says whether an error came from the ingress or from the invocation.
const errorSourceHeader = "x-restate-error-source"

// Error sources in Restate's error body: "ingress" when the ingress refused the request itself,
// "invocation" when the invocation ran and failed.
const (
	sourceIngress    = "ingress"
	sourceInvocation = "invocation"
)

// Error is a request the ingress refuses before it reaches the engine. Status is the HTTP status
// (4xx from Decode); Message says what is wrong in words a client can act on.
type Error struct {
	Status  int
	Message string
	// Allow names the allowed methods when Status is 405; empty otherwise.
	Allow string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("ingress: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Response renders the error as Restate does: {"code": Status, "message": Message, "source":
// "ingress"}.
func (e *Error) Response() Response {
	resp := ErrorResponse(e.Status, e.Message)
	resp.Allow = e.Allow
	return resp
}

// errorBody is Restate's error body. The field order is Restate's, so bodies compare byte for
// byte in traces.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

// acceptedBody is Restate's answer to /send.
type acceptedBody struct {
	InvocationID string `json:"invocationId"`
	Status       string `json:"status"`
}

// ErrorResponse builds an error the ingress itself raises (unknown service, no such invocation,
// ...), in Restate's body shape with source "ingress". WorkflowAlreadyInvokedResponse and
// NotReadyResponse build the two whose wording clients match on.
func ErrorResponse(status int, message string) Response {
	return Response{
		Status:      status,
		ContentType: contentTypeJSON,
		Body:        errorBody{Code: status, Message: message, Source: sourceIngress}.json(),
		ErrorSource: sourceIngress,
	}
}

// OutputResponse builds the 200 answer carrying a finished invocation's output. value is the
// handler's JSON output, sent as is; an empty value (a handler that returns nothing) is sent as
// an empty body without a content type, as Restate does.
func OutputResponse(invocationID string, value []byte) Response {
	resp := Response{Status: http.StatusOK, InvocationID: invocationID}
	if len(value) > 0 {
		resp.ContentType = contentTypeJSON
		resp.Body = value
	}
	return resp
}

// FailureResponse builds the answer for an invocation that ended with a terminal error. The HTTP
// status is the error's code when that is an error status (400..599), else 500, because a
// handler may use any uint16 as its code but a client must still see a failure. The body keeps
// the original code: {"code": code, "message": message, "source": "invocation"} (Restate's error
// shape; "invocation" because the failure came from the handler, not the ingress).
func FailureResponse(invocationID string, code uint16, message string) Response {
	resp := failureHead(invocationID, code)
	resp.Body = errorBody{Code: int(code), Message: message, Source: sourceInvocation}.json()
	return resp
}

// failureHead is FailureResponse without its body.
func failureHead(invocationID string, code uint16) Response {
	status := int(code)
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	return Response{
		Status:       status,
		ContentType:  contentTypeJSON,
		InvocationID: invocationID,
		ErrorSource:  sourceInvocation,
	}
}

// AppendFailureBody appends to dst the body FailureResponse gives a failure of code and
// message, and returns the result; FailureResponseWithBody makes the response around it. The two
// are for a caller that keeps the bodies it makes in room of its own: the engine makes most
// responses, and cuts their bodies from its value buffer instead of an allocation each.
func AppendFailureBody(dst []byte, code uint16, message string) []byte {
	b := errorBody{Code: int(code), Message: message, Source: sourceInvocation}
	if !plainJSON(b.Message) {
		return append(dst, marshal(b)...)
	}
	return b.appendPlain(dst)
}

// FailureResponseWithBody is FailureResponse(invocationID, code, message) whose body is body,
// what AppendFailureBody wrote for code and message. The response holds body: nothing may write
// it afterwards.
func FailureResponseWithBody(invocationID string, code uint16, body []byte) Response {
	resp := failureHead(invocationID, code)
	resp.Body = body
	return resp
}

// AppendAcceptedBody appends to dst the body AcceptedResponse gives, and returns the result, as
// AppendFailureBody does.
func AppendAcceptedBody(dst []byte, invocationID string, previouslyAccepted bool) []byte {
	b := acceptedBody{InvocationID: invocationID, Status: acceptedStatus(previouslyAccepted)}
	if !plainJSON(b.InvocationID) {
		return append(dst, marshal(b)...)
	}
	return b.appendPlain(dst)
}

// AcceptedResponseWithBody is AcceptedResponse(invocationID, previouslyAccepted) whose body is
// body, what AppendAcceptedBody wrote for the same arguments. The response holds body: nothing
// may write it afterwards.
func AcceptedResponseWithBody(invocationID string, body []byte) Response {
	return Response{Status: http.StatusAccepted, ContentType: contentTypeJSON, Body: body, InvocationID: invocationID}
}

// acceptedStatus is the status an accepted body names.
func acceptedStatus(previouslyAccepted bool) string {
	if previouslyAccepted {
		return "PreviouslyAccepted"
	}
	return "Accepted"
}

// AcceptedResponse builds the 202 answer to /send: {"invocationId": "inv_...", "status":
// "Accepted"}, or "PreviouslyAccepted" when an idempotency key or workflow key matched an
// invocation that already existed (its new input was dropped).
func AcceptedResponse(invocationID string, previouslyAccepted bool) Response {
	return Response{
		Status:       http.StatusAccepted,
		ContentType:  contentTypeJSON,
		Body:         acceptedBody{InvocationID: invocationID, Status: acceptedStatus(previouslyAccepted)}.json(),
		InvocationID: invocationID,
	}
}

// WorkflowAlreadyInvokedResponse builds Restate's 409 answer to a synchronous call of a
// workflow's run handler for a key whose run was already invoked (running or finished):
// {"code":409,"message":"the workflow method was already invoked","source":"ingress"}. Such a
// call does not attach to the existing run.
func WorkflowAlreadyInvokedResponse() Response {
	return ErrorResponse(http.StatusConflict, "the workflow method was already invoked")
}

// NotReadyResponse builds Restate's 470 answer to an output request for an invocation or
// workflow run that exists but has not finished:
// {"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}.
func NotReadyResponse() Response {
	return ErrorResponse(StatusNotReady, "the invocation exists but has not completed yet")
}

// AwakeableAcceptedResponse builds the 202 with an empty body that answers every well-formed
// resolve or reject, whether or not it wins: Restate drops late completions silently.
func AwakeableAcceptedResponse() Response {
	return Response{Status: http.StatusAccepted}
}

// json is marshal(b), written by hand when every string is plainJSON: the engine answers most
// sends and failures with one, and encoding/json's encoder costs four allocations a body.
func (b errorBody) json() []byte {
	if !plainJSON(b.Message) || !plainJSON(b.Source) {
		return marshal(b)
	}
	return b.appendPlain(make([]byte, 0, len(`{"code":,"message":"","source":""}`)+20+len(b.Message)+len(b.Source)))
}

// appendPlain appends what json writes for b to out, every string of b being plainJSON.
func (b errorBody) appendPlain(out []byte) []byte {
	out = append(out, `{"code":`...)
	out = strconv.AppendInt(out, int64(b.Code), 10)
	out = append(out, `,"message":"`...)
	out = append(out, b.Message...)
	out = append(out, `","source":"`...)
	out = append(out, b.Source...)
	return append(out, `"}`...)
}

// json is marshal(b), written by hand when every string is plainJSON (an invocation ID always
// is).
func (b acceptedBody) json() []byte {
	if !plainJSON(b.InvocationID) || !plainJSON(b.Status) {
		return marshal(b)
	}
	return b.appendPlain(make([]byte, 0, len(`{"invocationId":"","status":""}`)+len(b.InvocationID)+len(b.Status)))
}

// appendPlain appends what json writes for b to out, every string of b being plainJSON.
func (b acceptedBody) appendPlain(out []byte) []byte {
	out = append(out, `{"invocationId":"`...)
	out = append(out, b.InvocationID...)
	out = append(out, `","status":"`...)
	out = append(out, b.Status...)
	return append(out, `"}`...)
}

// plainJSON reports whether encoding/json writes s between its quotes as it is: printable ASCII
// other than '"' and '\\' (with HTML escaping off, as marshal has it, '<', '>' and '&' stay).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// marshal encodes v without HTML escaping, so a message with <, > or & reads as written, and
// without the encoder's trailing newline. The bodies are structs of strings and ints, which
// cannot fail to encode.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("ingress: encoding %T: %v", v, err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Encode writes resp: status, Content-Type, Content-Length, Allow and x-restate-id when set,
// then the body. A status net/http cannot send (outside 200..999; 1xx would not end the
// response) is a bug upstream; it becomes a 500 with an error body naming it rather than a
// panic inside net/http.
func Encode(w http.ResponseWriter, resp Response) {
	if resp.Status < 200 || resp.Status > 999 {
		bad := resp.Status
		resp = ErrorResponse(http.StatusInternalServerError, fmt.Sprintf("ingress: invalid response status %d", bad))
	}
	// The fields go straight into the header map, under their canonical names (what h.Add
	// would store), with every value in one allocation instead of one slice per field.
	var fields [maxHeaderFields]HeaderField
	n := 0
	eachHeaderField(resp, func(name, v string) {
		fields[n] = HeaderField{name, v}
		n++
	})
	hasLength := bodyAllowed(resp.Status)
	values := make([]string, n, n+1)
	h := w.Header()
	for i, f := range fields[:n] {
		name := canonicalName(f.Name)
		if old := h[name]; len(old) > 0 {
			h[name] = append(old, f.Value)
			continue
		}
		values[i] = f.Value
		h[name] = values[i : i+1 : i+1]
	}
	if resp.ContentType == "" {
		// A nil entry stops net/http from sniffing a content type, so the wire says exactly what
		// the Response says in production and in the simulator.
		h["Content-Type"] = nil
	}
	if hasLength {
		values = append(values, strconv.Itoa(len(resp.Body)))
		h["Content-Length"] = values[n : n+1 : n+1]
	}
	w.WriteHeader(resp.Status)
	if len(resp.Body) > 0 && bodyAllowed(resp.Status) {
		// A write error means the client is gone; there is no one left to tell.
		_, _ = w.Write(resp.Body)
	}
}

// HeaderField is one response header.
type HeaderField struct{ Name, Value string }

// HeaderFields lists the headers Encode sends for resp, Content-Length aside: the one place that
// maps a Response onto HTTP headers, for the production handler and for the simulator, which
// hands clients Responses without a socket.
func HeaderFields(resp Response) []HeaderField {
	// Room for the usual fields (content type, invocation ID, error source) in one allocation,
	// and for the CORS ones when there are any.
	n := 4
	if resp.AllowOrigin != "" {
		n = maxHeaderFields
	}
	var fs []HeaderField
	eachHeaderField(resp, func(name, v string) {
		if fs == nil {
			fs = make([]HeaderField, 0, n)
		}
		fs = append(fs, HeaderField{name, v})
	})
	return fs
}

// AppendHeaderFields appends the fields HeaderFields lists for resp to dst, for a caller that
// reads them at once and keeps none: into a buffer of its own, on its stack.
func AppendHeaderFields(dst []HeaderField, resp Response) []HeaderField {
	eachHeaderField(resp, func(name, v string) { dst = append(dst, HeaderField{name, v}) })
	return dst
}

// maxHeaderFields is the most fields eachHeaderField yields for one Response.
const maxHeaderFields = 10

// eachHeaderField calls yield with each header of resp that HeaderFields lists, in order.
func eachHeaderField(resp Response, yield func(name, v string)) {
	add := func(name, v string) {
		if v != "" {
			yield(name, v)
		}
	}
	add("Allow", resp.Allow)
	add("Content-Type", resp.ContentType)
	add(invocationIDHeader, resp.InvocationID)
	add(errorSourceHeader, resp.ErrorSource)
	if resp.AllowOrigin != "" {
		add("Access-Control-Allow-Origin", resp.AllowOrigin)
		add("Access-Control-Allow-Credentials", "true")
		if resp.Preflight {
			add("Access-Control-Allow-Methods", "GET, POST, PATCH, OPTIONS")
			add("Access-Control-Allow-Headers", resp.PreflightHeaders)
			add("Access-Control-Max-Age", "86400")
			add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		} else {
			add("Access-Control-Expose-Headers", invocationIDHeader+", "+errorSourceHeader)
			add("Vary", "Origin")
		}
	}
}

// The lower-case header names in their canonical form, computed once rather than per response.
var (
	invocationIDCanonical = textproto.CanonicalMIMEHeaderKey(invocationIDHeader)
	errorSourceCanonical  = textproto.CanonicalMIMEHeaderKey(errorSourceHeader)
)

// canonicalName is textproto.CanonicalMIMEHeaderKey of a name eachHeaderField yields, without
// its allocation for the two that are not canonical already.
func canonicalName(name string) string {
	switch name {
	case invocationIDHeader:
		return invocationIDCanonical
	case errorSourceHeader:
		return errorSourceCanonical
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// bodyAllowed reports whether a response with this status may carry a body (RFC 9110).
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}
