package durable

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sync"
)

// inputs remembers what recent inputs of one type decoded to, for every handler of that input
// type. Every attempt of an invocation replays the handler from the same input bytes (and the
// simulator's replay twin replays it once more), so without it one invocation decodes its input
// once per attempt; with it, once. And the simulator builds its handlers afresh for each seed of a
// scenario, whose workload sends much the same inputs seed after seed: a memory per type, not per
// handler, decodes each of them once per process.
//
// It is only made for input types whose decoded value can be handed to several calls as it is
// (see shareableInput): no pointer, slice, map, interface or channel anywhere in the type, so that
// nothing one call does to its input reaches another, and no UnmarshalJSON or UnmarshalText
// method, which may do anything. For such a type json.Unmarshal into a zero value is a pure
// function of the bytes, so a remembered value is exactly the value decoding would give.
//
// Attempts of different invocations may run at once (the production host runs each on its own
// goroutine), hence the mutex.
type inputs[I any] struct {
	mu      sync.Mutex
	decoded map[string]I
}

// Bounds on what inputs remembers: a handler with many distinct or large inputs costs at most
// maxRememberedInputs values of inputs no longer than maxRememberedInputBytes.
const (
	maxRememberedInputs     = 64
	maxRememberedInputBytes = 512
)

// inputsOf returns the memory of decoded inputs of type I that every handler of I shares, or nil
// when values of I cannot be shared between calls.
func inputsOf[I any]() *inputs[I] {
	m, _ := inputTypeFor[I]().inputs.(*inputs[I])
	return m
}

// inputType is what handlers of an input type need of it, worked out by reflection once per type
// rather than per handler: the simulator builds its services, and so their handlers, afresh for
// every seed. Its facts are pure functions of the type; its memory only saves decoding.
type inputType struct {
	// shareable is shareableInput of the type.
	shareable bool
	// object is plainObjectOf the type.
	object *plainObject
	// inputs is the type's *inputs[I] when it is shareable, else nil.
	inputs any
}

// inputTypes holds the inputType of each type asked for, by reflect.Type. Handlers are built
// from a program's own types, so it holds as many as the program has handler input types.
var inputTypes sync.Map

// inputTypeFor returns what handlers of input type I need of it.
func inputTypeFor[I any]() *inputType {
	t := reflect.TypeFor[I]()
	if it, ok := inputTypes.Load(t); ok {
		return it.(*inputType)
	}
	it := &inputType{shareable: shareableInput(t), object: plainObjectOf(t)}
	if it.shareable {
		it.inputs = &inputs[I]{}
	}
	v, _ := inputTypes.LoadOrStore(t, it)
	return v.(*inputType)
}

// get sets *v to what input decoded to, if remembered, and reports whether it was.
func (c *inputs[I]) get(input []byte, v *I) bool {
	if c == nil || len(input) > maxRememberedInputBytes {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.decoded[string(input)]
	if ok {
		*v = d
	}
	return ok
}

// put remembers that input decoded to v. When full it forgets everything: the inputs worth
// remembering are those of invocations still being retried, which come back soon.
func (c *inputs[I]) put(input []byte, v I) {
	if c == nil || len(input) > maxRememberedInputBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.decoded == nil:
		c.decoded = map[string]I{}
	case len(c.decoded) >= maxRememberedInputs:
		clear(c.decoded)
	}
	c.decoded[string(input)] = v
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shareableInput reports whether every value of t is plain data that encoding/json decodes by
// itself: booleans, numbers and strings (immutable in Go), and arrays and structs of them, with no
// method of their own for decoding. A copy of such a value shares nothing mutable with the
// original.
func shareableInput(t reflect.Type) bool {
	// A method on the value is in the pointer's method set too; encoding/json uses either.
	if pt := reflect.PointerTo(t); pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	case reflect.Array:
		return shareableInput(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !shareableInput(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
