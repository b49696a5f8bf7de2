package checkers

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// RequestKind is what a client request asks for, as the checkers read it from the bytes the
// client sent.
type RequestKind uint8

// Request kinds.
const (
	// RequestInvalid is a request the ingress must refuse (4xx): unknown route or service, wrong
	// method, a body that is not JSON where JSON is required, a malformed awakeable ID.
	RequestInvalid RequestKind = iota
	// RequestCall calls Service/Handler (on Key) and waits for its output.
	RequestCall
	// RequestSend starts Service/Handler (on Key) and answers 202 at once.
	RequestSend
	// RequestResolve resolves the awakeable Awakeable with Body (JSON; an empty body is null).
	RequestResolve
	// RequestReject rejects the awakeable Awakeable with Body as the reason.
	RequestReject
	// RequestAttach waits for the output of an invocation (by ID or by idempotency key).
	RequestAttach
	// RequestOutput reads the output of an invocation (by ID or by idempotency key) at once.
	RequestOutput
	// RequestWorkflowAttach waits for the output of workflow Service/Key's run.
	RequestWorkflowAttach
	// RequestWorkflowOutput reads the output of workflow Service/Key's run at once.
	RequestWorkflowOutput
	// RequestCancel cancels the invocation Invocation (PATCH /restate/invocation/{id}/cancel).
	RequestCancel
)

// ParsedRequest is what a client request means, parsed by the checkers from the exchange the
// client sent (method, raw path, headers, body) and the services the scenario declared. It is
// the oracle's own reading of Restate's HTTP routes (RESTATE.md), written apart from the
// runtime's ingress decoder on purpose: a decoder that drops or misreads a part of a request
// must not hide that part from the checkers too.
type ParsedRequest struct {
	Kind RequestKind
	// Service, Handler and Key name the target of a call, send, or attach by idempotency key;
	// Service and Key the workflow of a workflow attach or output.
	Service, Handler, Key string
	// Workflow is set when the target is a workflow's run handler.
	Workflow bool
	// IdempotencyKey is the Idempotency-Key header of a call or send, or the key of an attach
	// or output by idempotency key.
	IdempotencyKey string
	// Invocation is the invocation an attach or output by ID names.
	Invocation protocol.InvocationID
	// Awakeable is the awakeable a resolve or reject names.
	Awakeable Slot
	// Result is the completion a resolve or reject carries, as the waiter must see it.
	Result journal.Result
	// Body is the request body as sent.
	Body []byte
}

// Slot names one journal position of one invocation: an awakeable, a run, a command.
type Slot struct {
	Invocation protocol.InvocationID
	Index      uint32
}

// awakeablePrefix starts every awakeable ID: "sign_" and the format version, as in Restate.
const awakeablePrefix = "sign_1"

// awakeableEncoding decodes what follows the prefix; Strict returns a new Encoding each call, so
// it is made once.
var awakeableEncoding = base64.RawURLEncoding.Strict()

// parseAwakeable decodes an awakeable ID: the prefix, then the unpadded base64url encoding of
// the owning invocation's 16 bytes and a 4-byte big-endian journal index.
func parseAwakeable(s string) (Slot, bool) {
	rest, ok := strings.CutPrefix(s, awakeablePrefix)
	if !ok {
		return Slot{}, false
	}
	// An ID decodes to 20 bytes: the 27 characters of a plain one by decodeAwakeable20, any
	// other text into an array on the stack, unless it is too long to be one anyway (then
	// DecodeString reads it, to fail the same way).
	enc := awakeableEncoding
	var buf [32]byte
	var raw []byte
	if r, ok := decodeAwakeable20(rest); ok {
		raw = r[:]
	} else if len(rest) == awakeableChars && !strings.ContainsAny(rest, "\r\n") {
		return Slot{}, false // 27 characters, no line break, and not an ID's: Decode says no too
	} else if enc.DecodedLen(len(rest)) <= len(buf) {
		n, err := enc.Decode(buf[:], []byte(rest))
		if err != nil || n != 20 {
			return Slot{}, false
		}
		raw = buf[:n]
	} else if r, err := enc.DecodeString(rest); err != nil || len(r) != 20 {
		return Slot{}, false
	} else {
		raw = r
	}
	var sl Slot
	copy(sl.Invocation[:], raw[:16])
	sl.Index = binary.BigEndian.Uint32(raw[16:])
	if sl.Invocation.IsZero() {
		return Slot{}, false
	}
	return sl, true
}

// awakeableChars is the length of an awakeable ID's 20 bytes in unpadded base64.
const awakeableChars = 27

// base64URL maps each byte to its 6-bit value in the URL-safe base64 alphabet, 0xff for a byte
// outside it.
var base64URL = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeAwakeable20 decodes s as awakeableEncoding does when s is 27 characters of the alphabet
// whose last leaves no bits set past the 20 bytes (what Strict insists on): false for anything
// else, which the encoding then reads. It decodes without the encoding's general loop, which was
// most of what reading an awakeable request cost.
func decodeAwakeable20(s string) (out [20]byte, ok bool) {
	if len(s) != awakeableChars {
		return out, false
	}
	// Six groups of four characters make 18 bytes; the last three characters make 2 bytes and
	// two bits that must be zero.
	for g := range 6 {
		a, b, c, d := base64URL[s[4*g]], base64URL[s[4*g+1]], base64URL[s[4*g+2]], base64URL[s[4*g+3]]
		if (a|b|c|d)&0xc0 != 0 { // 0xff, outside the alphabet
			return [20]byte{}, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		out[3*g], out[3*g+1], out[3*g+2] = byte(v>>16), byte(v>>8), byte(v)
	}
	a, b, c := base64URL[s[24]], base64URL[s[25]], base64URL[s[26]]
	if (a|b|c)&0xc0 != 0 || c&0x03 != 0 {
		return [20]byte{}, false
	}
	v := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
	out[18], out[19] = byte(v>>10), byte(v>>2)
	return out, true
}

// ParseClientRequest reads what the request h (a ClientRequest's HTTP) asks for, given the
// services the scenario declared (by name). A request it cannot read is RequestInvalid.
func ParseClientRequest(h *event.HTTP, services map[string]*protocol.ServiceSpec) ParsedRequest {
	var r ParsedRequest
	parseClientRequest(&r, h, services, nil)
	return r
}

// parseClientRequest is ParseClientRequest written into *r, with a reject's failure from
// rejects (nil: a new one). The reading is written where its caller keeps it rather than
// returned: a reading is a dozen words, and returning it by value through the route's parsers
// copied it at every level.
func parseClientRequest(r *ParsedRequest, h *event.HTTP, services map[string]*protocol.ServiceSpec, rejects *rejectFailures) {
	*r = ParsedRequest{}
	if !readClientRequest(r, h, services, rejects) {
		// A route's parser may have set fields before it found the request invalid: an invalid
		// reading is the zero one, whatever the parsers wrote.
		*r = ParsedRequest{}
	}
}

// readClientRequest fills the zero reading *r with what h asks for, false if h cannot be read
// (and *r is then to be zeroed).
func readClientRequest(r *ParsedRequest, h *event.HTTP, services map[string]*protocol.ServiceSpec, rejects *rejectFailures) bool {
	if h == nil {
		return false
	}
	path, _, _ := strings.Cut(h.Path, "?")
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return false
	}
	// The segments go to an array on the stack instead of strings.Split's slice: no route has
	// more than maxRouteSegments, so a path with more is invalid whatever its segments hold.
	var buf [maxRouteSegments]string
	segs := buf[:0]
	// A path without a '%' has every segment as it stands (url.PathUnescape returns such a
	// segment unchanged): looked for once, not per segment.
	escaped := strings.IndexByte(path, '%') >= 0
	for {
		s, after, more := strings.Cut(rest, "/")
		if s == "" || len(segs) == maxRouteSegments {
			return false
		}
		if escaped {
			u, err := url.PathUnescape(s)
			if err != nil {
				return false
			}
			s = u
		}
		segs = append(segs, s)
		if !more {
			break
		}
		rest = after
	}
	if segs[0] == "restate" {
		return parseRestateRoute(r, h, segs, services, rejects)
	}
	return parseInvoke(r, h, segs, services)
}

// pathUnescape is url.PathUnescape, which returns a segment without a '%' as it is: most are,
// and finding none with IndexByte is cheaper than PathUnescape's own walk.
func pathUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	return url.PathUnescape(s)
}

// maxRouteSegments is the most path segments a route has:
// /restate/invocation/{service}/{key}/{handler}/{idempotency key}/{action}.
const maxRouteSegments = 7

// parseInvoke reads /{service}/{handler}[/send] and /{object}/{key}/{handler}[/send] into the
// zero reading *r; false if the request is invalid (*r may then hold some fields).
func parseInvoke(r *ParsedRequest, h *event.HTTP, segs []string, services map[string]*protocol.ServiceSpec) bool {
	spec := services[segs[0]]
	if spec == nil || h.Method != "POST" {
		return false
	}
	r.Service, r.Body = segs[0], h.Body
	if spec.Kind != protocol.ServiceStateless {
		segs = segs[1:]
		if len(segs) < 2 {
			return false
		}
		r.Key = segs[0]
	}
	switch {
	case len(segs) == 2:
		r.Kind = RequestCall
	case len(segs) == 3 && segs[2] == "send":
		r.Kind = RequestSend
	default:
		return false
	}
	r.Handler = segs[1]
	hs, ok := spec.Handler(r.Handler)
	if !ok || (len(h.Body) > 0 && !validJSON(h.Body)) {
		return false
	}
	r.Workflow = spec.Kind == protocol.ServiceWorkflow && hs.Kind == protocol.HandlerWorkflowRun
	r.IdempotencyKey, _ = h.Get("Idempotency-Key")
	return true
}

// rejectFailures hands out the failure a reject carries, one *journal.Failure for equal bodies:
// a parsed request is only read, so sharing its failure is invisible, and the failure and its
// message were two allocations per reject, though a run's clients reject with a few reasons. It
// keeps at most maxRejectFailures, of bodies up to maxRejectBody bytes (a longer one gets a
// failure of its own), and forgets them all when full, so that it neither grows without bound
// nor keeps a large body alive. The zero value is ready.
type rejectFailures struct {
	byBody map[string]*journal.Failure
}

const (
	maxRejectFailures = 256
	maxRejectBody     = 256
)

// failure returns the failure of a reject with body body: code 500 and the body as message.
func (c *rejectFailures) failure(body []byte) *journal.Failure {
	if c == nil || len(body) > maxRejectBody {
		return &journal.Failure{Code: 500, Message: string(body)}
	}
	if f, ok := c.byBody[string(body)]; ok { // the conversion in a map index does not allocate
		return f
	}
	if c.byBody == nil {
		c.byBody = make(map[string]*journal.Failure)
	} else if len(c.byBody) >= maxRejectFailures {
		clear(c.byBody)
	}
	f := &journal.Failure{Code: 500, Message: string(body)}
	c.byBody[f.Message] = f
	return f
}

// parseRestateRoute reads the /restate/... routes into the zero reading *r: awakeables (and the
// /restate/a/ alias), invocations by ID or idempotency key, and workflows. False if the request
// is invalid (*r may then hold some fields).
func parseRestateRoute(r *ParsedRequest, h *event.HTTP, segs []string, services map[string]*protocol.ServiceSpec, rejects *rejectFailures) bool {
	if len(segs) < 4 {
		return false
	}
	action := segs[len(segs)-1]
	switch segs[1] {
	case "awakeables", "a":
		sl, ok := parseAwakeable(segs[2])
		if len(segs) != 4 || !ok || h.Method != "POST" {
			return false
		}
		r.Awakeable, r.Body = sl, h.Body
		switch action {
		case "resolve":
			body := h.Body
			if len(body) == 0 {
				body = []byte("null")
			}
			if !validJSON(body) {
				return false
			}
			r.Kind, r.Result = RequestResolve, journal.Result{Value: body}
		case "reject":
			r.Kind, r.Result = RequestReject, journal.Result{Failure: rejects.failure(h.Body)}
		default:
			return false
		}
		return true
	case "workflow":
		spec := services[segs[2]]
		if len(segs) != 5 || spec == nil || spec.Kind != protocol.ServiceWorkflow || h.Method != "GET" {
			return false
		}
		r.Service, r.Key, r.Workflow = segs[2], segs[3], true
		return withAction(r, action, RequestWorkflowAttach, RequestWorkflowOutput)
	case "invocation":
		if h.Method == "PATCH" && len(segs) == 4 && action == "cancel" {
			id, err := protocol.ParseInvocationID(segs[2])
			if err != nil {
				return false
			}
			r.Kind, r.Invocation = RequestCancel, id
			return true
		}
		if h.Method != "GET" {
			return false
		}
		switch len(segs) {
		case 4:
			id, err := protocol.ParseInvocationID(segs[2])
			if err != nil {
				return false
			}
			r.Invocation = id
		case 6:
			r.Service, r.Handler, r.IdempotencyKey = segs[2], segs[3], segs[4]
		case 7:
			r.Service, r.Key, r.Handler, r.IdempotencyKey = segs[2], segs[3], segs[4], segs[5]
		default:
			return false
		}
		return withAction(r, action, RequestAttach, RequestOutput)
	}
	return false
}

// withAction sets r's kind from a route's last segment: attach or output, false for any other.
func withAction(r *ParsedRequest, action string, attach, output RequestKind) bool {
	switch action {
	case "attach":
		r.Kind = attach
	case "output":
		r.Kind = output
	default:
		return false
	}
	return true
}

// validJSON reports whether b is one JSON value in UTF-8, what the ingress must insist on.
func validJSON(b []byte) bool {
	return plainJSONValue(b) || json.Valid(b) && utf8.Valid(b)
}

// plainJSONValue reports whether b is, as it stands, a JSON string or an object of one string
// member, every string of it printable ASCII without a quote or backslash: valid JSON in UTF-8
// for certain, told without json.Valid's scanner. Those are what clients send nearly always
// (a handler's input, an awakeable's value); false says nothing, and validJSON asks json.Valid.
func plainJSONValue(b []byte) bool {
	if len(b) >= 2 && b[0] == '"' {
		return b[len(b)-1] == '"' && plainString(b[1:len(b)-1])
	}
	// {"name":"value"}
	if len(b) < 7 || b[0] != '{' || b[1] != '"' || b[len(b)-2] != '"' || b[len(b)-1] != '}' {
		return false
	}
	inner := b[2 : len(b)-2] // name":"value
	for i := 0; i+3 <= len(inner); i++ {
		if inner[i] == '"' {
			return string(inner[i:i+3]) == `":"` && plainString(inner[:i]) && plainString(inner[i+3:])
		}
	}
	return false
}

// plainString reports whether b is printable ASCII without a quote or a backslash: the inside
// of a JSON string as it is. A table tells each byte, cheaper than four comparisons.
func plainString(b []byte) bool {
	for _, c := range b {
		if !plainByte[c] {
			return false
		}
	}
	return true
}

// plainByte marks the bytes plainString takes.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
