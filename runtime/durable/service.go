package durable

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// Handler is one typed handler, adapted to bytes in and bytes out.
type Handler interface {
	// Call runs the handler with its JSON input and returns its JSON output. A terminal error
	// fails the invocation; any other error makes it retry.
	Call(ctx Context, input []byte) ([]byte, error)
}

type serviceHandler[I, O any] struct {
	fn func(Context, I) (O, error)
}

// NewServiceHandler adapts a typed function into a Handler; input and output are JSON. An input
// that does not decode into I is a terminal error with code 400.
func NewServiceHandler[I, O any](fn func(ctx Context, input I) (O, error)) Handler {
	return serviceHandler[I, O]{fn: fn}
}

func (h serviceHandler[I, O]) Call(ctx Context, input []byte) ([]byte, error) {
	var in I
	if len(input) > 0 {
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, TerminalError(fmt.Errorf("decode input: %w", err), 400)
		}
	}
	out, err := h.fn(ctx, in)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, TerminalError(fmt.Errorf("encode output: %w", err), 500)
	}
	return b, nil
}

// Service is a named set of stateless handlers.
type Service struct {
	name     string
	handlers map[string]Handler
}

// NewService starts the definition of a service called name.
func NewService(name string) *Service {
	return &Service{name: name, handlers: map[string]Handler{}}
}

// Handler adds the handler called name and returns the service for chaining. Defining two
// handlers with one name is a programming error and panics.
func (s *Service) Handler(name string, h Handler) *Service {
	if _, dup := s.handlers[name]; dup {
		panic(fmt.Sprintf("durable: service %q defines handler %q twice", s.name, name))
	}
	s.handlers[name] = h
	return s
}

// Name returns the service's name.
func (s *Service) Name() string { return s.name }

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
	return protocol.ServiceSpec{Name: s.name, Handlers: names}
}
