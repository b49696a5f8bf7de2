package durable

import (
	"encoding/json"
	"fmt"
	"slices"
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
	// Output encodes the output of a Run that returned nil as JSON; an output that does not
	// encode is a terminal error with code 500.
	Output() ([]byte, error)
}

// typedHandler adapts fn, whose context is a C, concretely an X (baseContext, objectContext...).
type typedHandler[C, X any, I, O any] struct {
	fn func(C, I) (O, error)
	// ctx makes the context for an attempt's runtime in x, the room for it in the call, and
	// returns it as a C: a pointer, so that handing it to fn allocates nothing.
	ctx     func(x *X, rt Runtime) C
	kind    protocol.HandlerKind
	svcKind protocol.ServiceKind
	// inputs remembers decoded inputs of type I, for every handler of I (nil when I's values
	// cannot be shared; see inputs).
	inputs *inputs[I]
	// object describes I for decodeObject (nil unless I is a struct of plain strings).
	object *plainObject
}

func (h typedHandler[C, X, I, O]) Kind() protocol.HandlerKind        { return h.kind }
func (h typedHandler[C, X, I, O]) serviceKind() protocol.ServiceKind { return h.svcKind }

func (h typedHandler[C, X, I, O]) Call(rt Runtime, input []byte) ([]byte, error) {
	p, err := h.Prepare(input)
	if err != nil {
		return nil, err
	}
	if err := p.Run(rt); err != nil {
		return nil, err
	}
	return p.Output()
}

func (h typedHandler[C, X, I, O]) Prepare(input []byte) (Prepared, error) {
	p := &typedCall[C, X, I, O]{fn: h.fn, ctx: h.ctx}
	if len(input) == 0 || decodeScalar(input, &p.in) || h.inputs.get(input, &p.in) {
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
type typedCall[C, X any, I, O any] struct {
	fn  func(C, I) (O, error)
	ctx func(*X, Runtime) C
	cx  X
	in  I
	out O
}

func (p *typedCall[C, X, I, O]) Run(rt Runtime) error {
	out, err := p.fn(p.ctx(&p.cx, rt), p.in)
	if err != nil {
		return err
	}
	p.out = out
	return nil
}

func (p *typedCall[C, X, I, O]) Output() ([]byte, error) {
	b, err := encode(p.out)
	if err != nil {
		return nil, TerminalError(fmt.Errorf("encode output: %w", err), 500)
	}
	return b, nil
}

// NewServiceHandler adapts a typed function into a handler of a plain service; input and output
// are JSON. An input that does not decode into I is a terminal error with code 400.
func NewServiceHandler[I, O any](fn func(ctx Context, input I) (O, error)) Handler {
	return typedHandler[Context, baseContext, I, O]{fn: fn, svcKind: protocol.ServiceStateless, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(x *baseContext, rt Runtime) Context { *x = baseContext{rt}; return x }}
}

// NewObjectHandler adapts a typed function into an exclusive handler of a virtual object: it
// holds the key's lock from start to end, and may write state.
func NewObjectHandler[I, O any](fn func(ctx ObjectContext, input I) (O, error)) Handler {
	return typedHandler[ObjectContext, objectContext, I, O]{fn: fn, kind: protocol.HandlerExclusive, svcKind: protocol.ServiceObject, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(x *objectContext, rt Runtime) ObjectContext {
			*x = objectContext{objectSharedContext{baseContext{rt}}}
			return x
		}}
}

// NewObjectSharedHandler adapts a typed function into a shared handler of a virtual object: it
// runs beside anything else on the key and may only read state.
func NewObjectSharedHandler[I, O any](fn func(ctx ObjectSharedContext, input I) (O, error)) Handler {
	return typedHandler[ObjectSharedContext, objectSharedContext, I, O]{fn: fn, kind: protocol.HandlerShared, svcKind: protocol.ServiceObject, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(x *objectSharedContext, rt Runtime) ObjectSharedContext {
			*x = objectSharedContext{baseContext{rt}}
			return x
		}}
}

// NewWorkflowHandler adapts a typed function into a workflow's run handler, which runs at most
// once per key.
func NewWorkflowHandler[I, O any](fn func(ctx WorkflowContext, input I) (O, error)) Handler {
	return typedHandler[WorkflowContext, workflowContext, I, O]{fn: fn, kind: protocol.HandlerWorkflowRun, svcKind: protocol.ServiceWorkflow, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(x *workflowContext, rt Runtime) WorkflowContext {
			*x = workflowContext{workflowSharedContext{objectSharedContext{baseContext{rt}}}}
			return x
		}}
}

// NewWorkflowSharedHandler adapts a typed function into a workflow's shared handler: it runs
// beside run, reads state and reads, resolves and rejects the workflow's promises.
func NewWorkflowSharedHandler[I, O any](fn func(ctx WorkflowSharedContext, input I) (O, error)) Handler {
	return typedHandler[WorkflowSharedContext, workflowSharedContext, I, O]{fn: fn, kind: protocol.HandlerShared, svcKind: protocol.ServiceWorkflow, inputs: inputsOf[I](), object: inputTypeFor[I]().object,
		ctx: func(x *workflowSharedContext, rt Runtime) WorkflowSharedContext {
			*x = workflowSharedContext{objectSharedContext{baseContext{rt}}}
			return x
		}}
}

// WorkflowRunHandler is the name of a workflow's run handler, as Restate calls it.
const WorkflowRunHandler = "run"

// Service is a named set of handlers: a plain service, a virtual object or a workflow.
type Service struct {
	name     string
	kind     protocol.ServiceKind
	handlers map[string]Handler
	opts     serviceOptions
}

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
	s := &Service{name: name, kind: kind, handlers: map[string]Handler{}}
	for _, o := range opts {
		o(&s.opts)
	}
	return s
}

// Handler adds the handler called name and returns the service for chaining. Defining two
// handlers with one name, or a handler made for another kind of service, is a programming error
// and panics with a message that says which.
func (s *Service) Handler(name string, h Handler) *Service {
	if _, dup := s.handlers[name]; dup {
		panic(fmt.Sprintf("durable: service %q defines handler %q twice", s.name, name))
	}
	if h.serviceKind() != s.kind {
		panic(fmt.Sprintf("durable: handler %q of %s %q was made for a %s", name, s.kind, s.name, h.serviceKind()))
	}
	if s.kind == protocol.ServiceWorkflow && (h.Kind() == protocol.HandlerWorkflowRun) != (name == WorkflowRunHandler) {
		panic(fmt.Sprintf("durable: workflow %q: the handler called %q must be, and only it may be, made with NewWorkflowHandler", s.name, WorkflowRunHandler))
	}
	s.handlers[name] = h
	return s
}

// Name returns the service's name.
func (s *Service) Name() string { return s.name }

// Kind returns the service's kind.
func (s *Service) Kind() protocol.ServiceKind { return s.kind }

// Lookup returns the handler called name.
func (s *Service) Lookup(name string) (Handler, bool) {
	h, ok := s.handlers[name]
	return h, ok
}

// Spec describes the service for the engine, handlers in name order.
func (s *Service) Spec() protocol.ServiceSpec {
	names := make([]string, 0, len(s.handlers))
	for n := range s.handlers {
		names = append(names, n)
	}
	slices.Sort(names)
	spec := protocol.ServiceSpec{Name: s.name, Kind: s.kind, Retention: s.opts.retention, IdempotencyRetention: s.opts.idempotencyRetention}
	for _, n := range names {
		spec.Handlers = append(spec.Handlers, protocol.HandlerSpec{Name: n, Kind: s.handlers[n].Kind()})
	}
	return spec
}
