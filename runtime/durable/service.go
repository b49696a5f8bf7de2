package durable

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// Handler is one typed handler, adapted to bytes in and bytes out.
type Handler interface {
	// Call runs the handler with its JSON input against the attempt's runtime and returns its
	// JSON output. A terminal error fails the invocation; any other error makes it retry.
	Call(rt Runtime, input []byte) ([]byte, error)
	// Prepare decodes the handler's JSON input for one call. Call is Prepare, Run and Output in
	// turn; an executor calls them apart so that JSON decoding and encoding, which take deep
	// stacks, run on its own goroutine and only the handler runs on the attempt's coroutine,
	// whose stack then need not grow. An input that does not decode is the terminal error (code
	// 400) Call returns for it.
	Prepare(input []byte) (Prepared, error)
	// PrepareReusing is Prepare, making the call in the memory of spare when it can: spare is
	// nil or a call that Prepare or PrepareReusing of a handler returned earlier and that its
	// caller is done with (its run is over and its output encoded, or it never ran), which the
	// caller must not use again. An executor that keeps its calls' memory from attempt to attempt
	// saves an allocation per attempt; nothing of the earlier call is left in the new one. Only a
	// spare of the same types whose input type is plain data (see inputs) is reused: decoding
	// such a type runs no code of the program (an UnmarshalJSON) that could keep the address of
	// the call's input.
	PrepareReusing(input []byte, spare Prepared) (Prepared, error)
	// Kind says how the handler relates to its key (objects and workflows).
	Kind() protocol.HandlerKind
	// serviceKind is the kind of service the handler belongs in.
	serviceKind() protocol.ServiceKind
}

// Prepared is one call of a handler whose input is decoded: Run it once, then, if it returned
// nil, encode its Output.
type Prepared interface {
	// Run runs the handler against the attempt's runtime. A terminal error fails the invocation;
	// any other error makes it retry.
	Run(rt Runtime) error
	// RunIn is Run with the handler's context made in room, which the caller keeps for this one
	// run (a call's own room would be the next call's when calls are reused: a context the
	// handler kept past its run must still reach this run's runtime). It recovers a panic out of
	// the handler and returns its value as panicked (err is then nil): a caller that survives
	// handler panics needs no deferred recover of its own, one frame further from the handler,
	// and every frame between a panic and its recover costs the unwinder a walk.
	RunIn(room *ContextRoom, rt Runtime) (panicked any, err error)
	// Output encodes the output of a Run that returned nil as JSON; an output that does not
	// encode is a terminal error with code 500.
	Output() ([]byte, error)
}

// ContextRoom is memory for the context of one run of a handler (Prepared.RunIn). Every
// context is one runtime at bottom, nested in the types that give it its capabilities: the room
// holds a workflow's, whose fields are the service's, the shared object's and the shared
// workflow's, and an exclusive object's beside it.
type ContextRoom struct {
	workflow workflowContext
	object   objectContext
}

// typedHandler adapts fn, whose context is a C.
type typedHandler[C, I, O any] struct {
	fn func(C, I) (O, error)
	// ctx makes the context for an attempt's runtime in room, and returns it as a C: a pointer,
	// so that handing it to fn allocates nothing.
	ctx     func(room *ContextRoom, rt Runtime) C
	kind    protocol.HandlerKind
	svcKind protocol.ServiceKind
	// inputs remembers decoded inputs of type I, for every handler of I (nil when I's values
	// cannot be shared; see inputs). A call is reused (PrepareReusing) only when it is not nil:
	// then decoding an I runs no code of the program, which could keep the address of the call's
	// input.
	inputs *inputs[I]
	// object describes I for decodeObject (nil unless I is a struct of plain strings).
	object *plainObject
}

func (h typedHandler[C, I, O]) Kind() protocol.HandlerKind        { return h.kind }
func (h typedHandler[C, I, O]) serviceKind() protocol.ServiceKind { return h.svcKind }

func (h typedHandler[C, I, O]) Call(rt Runtime, input []byte) ([]byte, error) {
	p, err := h.Prepare(input)
	if err != nil {
		return nil, err
	}
	if err := p.Run(rt); err != nil {
		return nil, err
	}
	return p.Output()
}

func (h typedHandler[C, I, O]) Prepare(input []byte) (Prepared, error) {
	return h.PrepareReusing(input, nil)
}

func (h typedHandler[C, I, O]) PrepareReusing(input []byte, spare Prepared) (Prepared, error) {
	p, ok := spare.(*typedCall[C, I, O])
	if ok && h.inputs != nil {
		*p = typedCall[C, I, O]{fn: h.fn, ctx: h.ctx}
	} else {
		p = &typedCall[C, I, O]{fn: h.fn, ctx: h.ctx}
	}
	// decodeScalar takes no struct, and object is only made for one: a type switch saved a call.
	if len(input) == 0 || h.object == nil && decodeScalar(input, &p.in) || h.inputs.get(input, &p.in) {
		return p, nil
	}
	if !decodeObject(h.object, input, &p.in) {
		if err := json.Unmarshal(input, &p.in); err != nil {
			return nil, TerminalError(fmt.Errorf("decode input: %w", err), 400)
		}
	}
	h.inputs.put(input, p.in)
	return p, nil
}

// typedCall is a Prepared call of a typedHandler: its decoded input, and its output once run.
type typedCall[C, I, O any] struct {
	fn  func(C, I) (O, error)
	ctx func(*ContextRoom, Runtime) C
	// room holds the context of Run. A caller that reuses calls runs them with RunIn, in a room
	// of its own.
	room ContextRoom
	in   I
	out  O
}

func (p *typedCall[C, I, O]) Run(rt Runtime) error {
	out, err := p.fn(p.ctx(&p.room, rt), p.in)
	if err != nil {
		return err
	}
	p.out = out
	return nil
}

func (p *typedCall[C, I, O]) RunIn(room *ContextRoom, rt Runtime) (panicked any, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked, err = r, nil
		}
	}()
	out, err := p.fn(p.ctx(room, rt), p.in)
	if err != nil {
		return nil, err
	}
	p.out = out
	return nil, nil
}

// scrub empties the call, which keeps only its memory and type (SpareCalls.Scrub).
func (p *typedCall[C, I, O]) scrub() { *p = typedCall[C, I, O]{} }

func (p *typedCall[C, I, O]) Output() ([]byte, error) {
	b, err := encode(p.out)
	if err != nil {
		return nil, TerminalError(fmt.Errorf("encode output: %w", err), 500)
	}
	return b, nil
}

// NewServiceHandler adapts a typed function into a handler of a plain service; input and output
// are JSON. An input that does not decode into I is a terminal error with code 400.
func NewServiceHandler[I, O any](fn func(ctx Context, input I) (O, error)) Handler {
	return typedHandler[Context, I, O]{fn: fn, svcKind: protocol.ServiceStateless, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(r *ContextRoom, rt Runtime) Context {
			x := &r.workflow.baseContext
			*x = baseContext{rt}
			return x
		}}
}

// NewObjectHandler adapts a typed function into an exclusive handler of a virtual object: it
// holds the key's lock from start to end, and may write state.
func NewObjectHandler[I, O any](fn func(ctx ObjectContext, input I) (O, error)) Handler {
	return typedHandler[ObjectContext, I, O]{fn: fn, kind: protocol.HandlerExclusive, svcKind: protocol.ServiceObject, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(r *ContextRoom, rt Runtime) ObjectContext {
			x := &r.object
			*x = objectContext{objectSharedContext{baseContext{rt}}}
			return x
		}}
}

// NewObjectSharedHandler adapts a typed function into a shared handler of a virtual object: it
// runs beside anything else on the key and may only read state.
func NewObjectSharedHandler[I, O any](fn func(ctx ObjectSharedContext, input I) (O, error)) Handler {
	return typedHandler[ObjectSharedContext, I, O]{fn: fn, kind: protocol.HandlerShared, svcKind: protocol.ServiceObject, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(r *ContextRoom, rt Runtime) ObjectSharedContext {
			x := &r.workflow.objectSharedContext
			*x = objectSharedContext{baseContext{rt}}
			return x
		}}
}

// NewWorkflowHandler adapts a typed function into a workflow's run handler, which runs at most
// once per key.
func NewWorkflowHandler[I, O any](fn func(ctx WorkflowContext, input I) (O, error)) Handler {
	return typedHandler[WorkflowContext, I, O]{fn: fn, kind: protocol.HandlerWorkflowRun, svcKind: protocol.ServiceWorkflow, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(r *ContextRoom, rt Runtime) WorkflowContext {
			x := &r.workflow
			*x = workflowContext{workflowSharedContext{objectSharedContext{baseContext{rt}}}}
			return x
		}}
}

// NewWorkflowSharedHandler adapts a typed function into a workflow's shared handler: it runs
// beside run, reads state and reads, resolves and rejects the workflow's promises.
func NewWorkflowSharedHandler[I, O any](fn func(ctx WorkflowSharedContext, input I) (O, error)) Handler {
	return typedHandler[WorkflowSharedContext, I, O]{fn: fn, kind: protocol.HandlerShared, svcKind: protocol.ServiceWorkflow, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(r *ContextRoom, rt Runtime) WorkflowSharedContext {
			x := &r.workflow.workflowSharedContext
			*x = workflowSharedContext{objectSharedContext{baseContext{rt}}}
			return x
		}}
}

// WorkflowRunHandler is the name of a workflow's run handler, as Restate calls it.
const WorkflowRunHandler = "run"

// Service is a named set of handlers: a plain service, a virtual object or a workflow.
type Service struct {
	name string
	kind protocol.ServiceKind
	// handlers are the service's handlers in name order; room holds the first few, so that
	// defining a service (the simulator defines its services afresh for every run) allocates
	// nothing for them, and an executor finds one (at every attempt) by a short scan instead of
	// hashing its name.
	handlers []namedHandler
	room     [4]namedHandler
	opts     serviceOptions
}

// namedHandler is a handler of a service and its name.
type namedHandler struct {
	name string
	h    Handler
}

// scanHandlers is how many handlers a service looks a name up in by a scan rather than a binary
// search.
const scanHandlers = 8

type serviceOptions struct {
	retention            time.Duration
	idempotencyRetention time.Duration
}

// ServiceOption configures a service.
type ServiceOption func(*serviceOptions)

// WithRetention sets how long a finished workflow's promises, state and output stay readable,
// and how long a finished invocation's output stays attachable (default 24 h, as in Restate).
func WithRetention(d time.Duration) ServiceOption {
	return func(o *serviceOptions) { o.retention = d }
}

// WithIdempotencyRetention sets how long an idempotency key keeps answering with the first
// call's invocation once it has finished (default 24 h, as in Restate).
func WithIdempotencyRetention(d time.Duration) ServiceOption {
	return func(o *serviceOptions) { o.idempotencyRetention = d }
}

// NewService starts the definition of a plain (stateless) service called name.
func NewService(name string, opts ...ServiceOption) *Service {
	return newService(name, protocol.ServiceStateless, opts)
}

// NewObject starts the definition of a virtual object called name.
func NewObject(name string, opts ...ServiceOption) *Service {
	return newService(name, protocol.ServiceObject, opts)
}

// NewWorkflow starts the definition of a workflow called name; it needs a handler called "run"
// made with NewWorkflowHandler.
func NewWorkflow(name string, opts ...ServiceOption) *Service {
	return newService(name, protocol.ServiceWorkflow, opts)
}

func newService(name string, kind protocol.ServiceKind, opts []ServiceOption) *Service {
	s := &Service{name: name, kind: kind}
	s.handlers = s.room[:0]
	for _, o := range opts {
		o(&s.opts)
	}
	return s
}

// Handler adds the handler called name and returns the service for chaining. Defining two
// handlers with one name, or a handler made for another kind of service, is a programming error
// and panics with a message that says which.
func (s *Service) Handler(name string, h Handler) *Service {
	i, dup := slices.BinarySearchFunc(s.handlers, name, func(n namedHandler, name string) int { return strings.Compare(n.name, name) })
	if dup {
		panic(fmt.Sprintf("durable: service %q defines handler %q twice", s.name, name))
	}
	if h.serviceKind() != s.kind {
		panic(fmt.Sprintf("durable: handler %q of %s %q was made for a %s", name, s.kind, s.name, h.serviceKind()))
	}
	if s.kind == protocol.ServiceWorkflow && (h.Kind() == protocol.HandlerWorkflowRun) != (name == WorkflowRunHandler) {
		panic(fmt.Sprintf("durable: workflow %q: the handler called %q must be, and only it may be, made with NewWorkflowHandler", s.name, WorkflowRunHandler))
	}
	s.handlers = slices.Insert(s.handlers, i, namedHandler{name: name, h: h})
	return s
}

// Name returns the service's name.
func (s *Service) Name() string { return s.name }

// Kind returns the service's kind.
func (s *Service) Kind() protocol.ServiceKind { return s.kind }

// Lookup returns the handler called name.
func (s *Service) Lookup(name string) (Handler, bool) {
	if len(s.handlers) <= scanHandlers {
		for _, n := range s.handlers {
			if n.name == name {
				return n.h, true
			}
		}
		return nil, false
	}
	i, ok := slices.BinarySearchFunc(s.handlers, name, func(n namedHandler, name string) int { return strings.Compare(n.name, name) })
	if !ok {
		return nil, false
	}
	return s.handlers[i].h, true
}

// Spec describes the service for the engine, handlers in name order.
func (s *Service) Spec() protocol.ServiceSpec {
	spec := protocol.ServiceSpec{Name: s.name, Kind: s.kind, Retention: s.opts.retention, IdempotencyRetention: s.opts.idempotencyRetention}
	for _, n := range s.handlers {
		spec.Handlers = append(spec.Handlers, protocol.HandlerSpec{Name: n.name, Kind: n.h.Kind()})
	}
	return spec
}
