package protocol

import "time"

// ServiceKind tells how the engine runs a service's invocations.
type ServiceKind uint8

// Service kinds, as in Restate.
const (
	// ServiceStateless handlers run concurrently and have no key.
	ServiceStateless ServiceKind = 0
	// ServiceObject is a virtual object: keyed, with exclusive handlers that run one at a time
	// per key and shared handlers that only read.
	ServiceObject ServiceKind = 1
	// ServiceWorkflow is keyed; its run handler runs at most once per key, its shared handlers
	// beside it, and its durable promises, state and output outlive run for the retention.
	ServiceWorkflow ServiceKind = 2
)

// String names the kind.
func (k ServiceKind) String() string {
	switch k {
	case ServiceStateless:
		return "service"
	case ServiceObject:
		return "object"
	case ServiceWorkflow:
		return "workflow"
	}
	return "unknown"
}

// HandlerKind tells how a handler of an object or a workflow relates to its key.
type HandlerKind uint8

// Handler kinds. A plain service's handlers are all HandlerExclusive and have no key to hold.
const (
	// HandlerExclusive holds its key's lock from start to end (objects).
	HandlerExclusive HandlerKind = 0
	// HandlerShared runs beside anything else on the key and may not write state.
	HandlerShared HandlerKind = 1
	// HandlerWorkflowRun is a workflow's run handler: at most once per key, holding the key.
	HandlerWorkflowRun HandlerKind = 2
)

// String names the kind as history events do.
func (k HandlerKind) String() string {
	switch k {
	case HandlerExclusive:
		return "exclusive"
	case HandlerShared:
		return "shared"
	case HandlerWorkflowRun:
		return "workflow"
	}
	return "unknown"
}

// HandlerSpec describes one handler.
type HandlerSpec struct {
	Name string
	Kind HandlerKind
}

// ServiceSpec is what an executor tells the engine about one service it can run. Like Restate's
// discovery manifest, it is the only knowledge of user code the engine has.
type ServiceSpec struct {
	Name     string
	Kind     ServiceKind
	Handlers []HandlerSpec
	// Retention is how long a finished workflow's promises, state and output stay readable, and
	// how long a finished invocation's output stays attachable (0: the engine's default).
	Retention time.Duration
	// IdempotencyRetention is how long an idempotency key keeps answering with the first call's
	// invocation after it finished (0: the engine's default).
	IdempotencyRetention time.Duration
}

// Handler returns the spec of the named handler.
func (s ServiceSpec) Handler(name string) (HandlerSpec, bool) {
	for _, h := range s.Handlers {
		if h.Name == name {
			return h, true
		}
	}
	return HandlerSpec{}, false
}

// HasHandler reports whether the service declares the named handler.
func (s ServiceSpec) HasHandler(name string) bool {
	_, ok := s.Handler(name)
	return ok
}

// Keyed reports whether invocations of the service are addressed by a key.
func (s ServiceSpec) Keyed() bool { return s.Kind != ServiceStateless }
