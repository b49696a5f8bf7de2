package ingress

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// RequestKind tells which ingress operation a Request asks for.
type RequestKind uint8

// Ingress operations.
const (
	// Call invokes Service/Handler (on Key, for a virtual object or workflow) with Body and
	// answers with its output once it is done.
	Call RequestKind = 1
	// Send invokes Service/Handler (on Key, for a virtual object or workflow) with Body and
	// answers 202 with the invocation ID at once.
	Send RequestKind = 2
	// Attach waits for an invocation to finish and answers with its output. The invocation is
	// InvocationID when that is set; otherwise it is the one that Service/Handler (on Key, for a
	// virtual object) ran with IdempotencyKey.
	Attach RequestKind = 3
	// Output answers with an invocation's output if it is done, 470 if it is not. The
	// invocation is named as for Attach.
	Output RequestKind = 4
	// ResolveAwakeable completes AwakeableID with the JSON value in Body.
	ResolveAwakeable RequestKind = 5
	// RejectAwakeable completes AwakeableID with a terminal failure whose message is Body.
	RejectAwakeable RequestKind = 6
	// WorkflowOutput answers with the output of the run of workflow Service with Key if it is
	// done, 470 if it is still running, 404 if that key never started.
	WorkflowOutput RequestKind = 7
	// WorkflowAttach waits for the run of workflow Service with Key to finish and answers with
	// its output; 404 if that key never started.
	WorkflowAttach RequestKind = 8
	// Cancel cancels the invocation InvocationID: its pending awaits fail with Restate's
	// terminal error 409 "Cancelled" (and so do the calls it waits on, which are cancelled in
	// turn); one that has not started yet ends at once with that error.
	Cancel RequestKind = 9
)

// String names the operation as traces print it.
func (k RequestKind) String() string {
	switch k {
	case Call:
		return "call"
	case Send:
		return "send"
	case Attach:
		return "attach"
	case Output:
		return "output"
	case ResolveAwakeable:
		return "resolve"
	case RejectAwakeable:
		return "reject"
	case WorkflowOutput:
		return "workflow-output"
	case WorkflowAttach:
		return "workflow-attach"
	case Cancel:
		return "cancel"
	default:
		return fmt.Sprintf("request(%d)", uint8(k))
	}
}

// ServiceKind tells how a service is addressed: a plain service by handler alone, a virtual
// object or a workflow by key and handler. The zero value is no kind at all, so that a
// forgotten registration is never silently a plain service.
type ServiceKind uint8

// Service kinds.
const (
	// KindService is a plain (stateless, unkeyed) service: POST /{service}/{handler}.
	KindService ServiceKind = 1
	// KindObject is a virtual object, keyed, with exclusive and shared handlers:
	// POST /{object}/{key}/{handler}.
	KindObject ServiceKind = 2
	// KindWorkflow is a workflow, keyed, with one run handler and shared handlers:
	// POST /{workflow}/{key}/{handler}.
	KindWorkflow ServiceKind = 3
)

// KindOf is the kind the ingress routes a service of protocol kind k by (zero, no kind, for a
// kind it has none for).
func KindOf(k protocol.ServiceKind) ServiceKind {
	switch k {
	case protocol.ServiceStateless:
		return KindService
	case protocol.ServiceObject:
		return KindObject
	case protocol.ServiceWorkflow:
		return KindWorkflow
	}
	return 0
}

// String names the kind as messages and traces print it.
func (k ServiceKind) String() string {
	switch k {
	case KindService:
		return "service"
	case KindObject:
		return "virtual object"
	case KindWorkflow:
		return "workflow"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// keyed reports whether services of this kind are addressed with a key.
func (k ServiceKind) keyed() bool {
	return k == KindObject || k == KindWorkflow
}

// Services tells Decode what kind each service is, which it needs because /{a}/{b}/{c} reads
// either as a send to handler b of plain service a (when c is "send") or as a call to handler c
// of object a with key b.
//
// Kind reports the kind of the named service and whether it exists. A kind other than
// KindService, KindObject and KindWorkflow is treated as a service that does not exist. Kind
// must not panic, and must be safe for concurrent use when the Services is given to NewHandler,
// since every request is decoded on its own goroutine.
type Services interface {
	Kind(service string) (ServiceKind, bool)
}

// ServiceKinds is a Services backed by a map from service name to kind. It is safe for
// concurrent use as long as nobody writes to the map.
type ServiceKinds map[string]ServiceKind

// Kind implements Services. A nil map knows no services.
func (s ServiceKinds) Kind(service string) (ServiceKind, bool) {
	k, ok := s[service]
	return k, ok
}

// Request is one decoded ingress request. Decode has already checked its syntax (the awakeable
// ID parses, a resolve body is valid JSON) and that the service exists with the kind the route
// needs; whether the handler, invocation or workflow run exists is for the engine to say.
type Request struct {
	Kind RequestKind

	Service string
	// Key is the virtual object or workflow key, percent-decoded; empty for a plain service and
	// for the requests that name no service.
	Key     string
	Handler string
	Body    []byte
	// IdempotencyKey is the Idempotency-Key header of a Call or Send (empty when absent), or the
	// idempotency key in the path of an Attach or Output by idempotency key.
	IdempotencyKey string

	// InvocationID is the target of Attach and Output by invocation ID, as written by the
	// client; empty when they name the invocation by idempotency key instead.
	InvocationID string
	// AwakeableID is the target of ResolveAwakeable and RejectAwakeable, as written by the client.
	AwakeableID string
	// Delay postpones a Send: the invocation is accepted at once and starts once Delay has
	// passed (the delay query parameter of /send, as Restate's client sends it).
	Delay time.Duration
}

// Response is what the ingress answers. Status is an HTTP status code; Body is sent as is with
// ContentType. InvocationID, when set, is sent in the x-restate-id header.
type Response struct {
	Status       int
	ContentType  string
	Body         []byte
	InvocationID string
	// Allow, when set, is sent in the Allow header. A 405 must name the allowed methods (RFC 9110),
	// and the header has to travel inside the Response because the simulator never sees the wire.
	Allow string
	// ErrorSource, when set, is sent in the x-restate-error-source header: "ingress" or
	// "invocation". Restate's client reads it to tell errors worth a retry (the ingress's) from
	// the final outcome of an invocation.
	ErrorSource string
	// AllowOrigin, when set, is the browser origin the response answers (WithCORS): Restate's
	// permissive CORS echoes it with credentials allowed and x-restate-id exposed.
	AllowOrigin string
	// Preflight marks the answer to a CORS preflight (PreflightResponse); PreflightHeaders are
	// the request headers it allows, as the preflight asked for them.
	Preflight        bool
	PreflightHeaders string
}

// StatusNotReady is Restate's status for the output of an invocation that has not finished.
const StatusNotReady = 470
