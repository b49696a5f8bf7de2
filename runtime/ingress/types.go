package ingress

import (
	"fmt"
)

// RequestKind tells which ingress operation a Request asks for.
type RequestKind uint8

// Ingress operations.
const (
	// Call invokes Service/Handler with Body and answers with its output once it is done.
	Call RequestKind = 1
	// Send invokes Service/Handler with Body and answers 202 with the invocation ID at once.
	Send RequestKind = 2
	// Attach waits for InvocationID to finish and answers with its output.
	Attach RequestKind = 3
	// Output answers with InvocationID's output if it is done, 470 if it is not.
	Output RequestKind = 4
	// ResolveAwakeable completes AwakeableID with the JSON value in Body.
	ResolveAwakeable RequestKind = 5
	// RejectAwakeable completes AwakeableID with a terminal failure whose message is Body.
	RejectAwakeable RequestKind = 6
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
	default:
		return fmt.Sprintf("request(%d)", uint8(k))
	}
}

// Request is one decoded ingress request. Decode has already checked its syntax (the awakeable
// ID parses, a resolve body is valid JSON); whether the service, handler or invocation exists is
// for the engine to say.
type Request struct {
	Kind RequestKind

	Service string
	Handler string
	Body    []byte
	// IdempotencyKey is the Idempotency-Key header, empty when absent.
	IdempotencyKey string

	// InvocationID is the target of Attach and Output, as written by the client.
	InvocationID string
	// AwakeableID is the target of ResolveAwakeable and RejectAwakeable, as written by the client.
	AwakeableID string
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
}

// StatusNotReady is Restate's status for the output of an invocation that has not finished.
const StatusNotReady = 470
