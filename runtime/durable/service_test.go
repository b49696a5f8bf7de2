package durable_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func noop() durable.Handler {
	return durable.NewServiceHandler(func(durable.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
}

func TestServiceDefinition(t *testing.T) {
	a, b := noop(), noop()
	s := durable.NewService("Orders").Handler("submit", a).Handler("cancel", b).Handler("audit", noop())
	assert.Equal(t, "Orders", s.Name())

	h, ok := s.Lookup("submit")
	require.True(t, ok)
	assert.NotNil(t, h)
	_, ok = s.Lookup("missing")
	assert.False(t, ok)

	assert.Equal(t, protocol.ServiceSpec{Name: "Orders", Handlers: []protocol.HandlerSpec{{Name: "audit"}, {Name: "cancel"}, {Name: "submit"}}}, s.Spec())
	assert.Equal(t, protocol.ServiceSpec{Name: "Empty"}, durable.NewService("Empty").Spec())
}

func TestServiceDuplicateHandlerPanics(t *testing.T) {
	s := durable.NewService("Orders").Handler("submit", noop())
	defer func() {
		r := recover()
		require.NotNil(t, r, "a duplicate handler must panic")
		msg, ok := r.(string)
		require.True(t, ok, "panic value %#v", r)
		assert.Contains(t, msg, `"Orders"`)
		assert.Contains(t, msg, `"submit"`)
		assert.Contains(t, msg, "twice")
	}()
	s.Handler("submit", noop())
}

type order struct {
	ID    string   `json:"id"`
	Items []string `json:"items"`
	Total int      `json:"total"`
}

type receipt struct {
	OrderID string `json:"orderId"`
	Count   int    `json:"count"`
}

func TestServiceHandlerJSONRoundTrip(t *testing.T) {
	var got order
	h := durable.NewServiceHandler(func(ctx durable.Context, in order) (receipt, error) {
		got = in
		return receipt{OrderID: in.ID, Count: len(in.Items)}, nil
	})
	out, err := h.Call(newFakeRuntime(), []byte(`{"id":"o-1","items":["a","b"],"total":7,"extra":true}`))
	require.NoError(t, err)
	assert.Equal(t, order{ID: "o-1", Items: []string{"a", "b"}, Total: 7}, got)
	assert.JSONEq(t, `{"orderId":"o-1","count":2}`, string(out))
}

func TestServiceHandlerEmptyInputIsZero(t *testing.T) {
	called := false
	h := durable.NewServiceHandler(func(ctx durable.Context, in order) (*receipt, error) {
		called = true
		assert.Equal(t, order{}, in)
		return nil, nil
	})
	out, err := h.Call(newFakeRuntime(), nil)
	require.NoError(t, err)
	assert.True(t, called)
	assert.Equal(t, "null", string(out))
}

func TestServiceHandlerBadInput(t *testing.T) {
	h := durable.NewServiceHandler(func(ctx durable.Context, in order) (receipt, error) {
		t.Fatal("the handler must not run on undecodable input")
		return receipt{}, nil
	})
	for _, in := range []string{`{`, `{"total":"seven"}`, `[1,2]`, `"text"`} {
		_, err := h.Call(newFakeRuntime(), []byte(in))
		require.Error(t, err, "input %s", in)
		assert.True(t, durable.IsTerminalError(err), "input %s", in)
		assert.Equal(t, uint16(400), durable.ErrorCode(err), "input %s", in)
		assert.Contains(t, err.Error(), "decode input")
	}
}

func TestServiceHandlerErrors(t *testing.T) {
	plain := errors.New("try again")
	h := durable.NewServiceHandler(func(ctx durable.Context, in string) (string, error) {
		switch in {
		case "plain":
			return "", plain
		case "terminal":
			return "", durable.TerminalError(errors.New("no"), 422)
		}
		return "ok", nil
	})
	rt := newFakeRuntime()
	_, err := h.Call(rt, []byte(`"plain"`))
	assert.Same(t, plain, err, "a handler's error is passed on unchanged")
	_, err = h.Call(rt, []byte(`"terminal"`))
	assert.True(t, durable.IsTerminalError(err))
	assert.Equal(t, uint16(422), durable.ErrorCode(err))
}

func TestServiceHandlerUnencodableOutput(t *testing.T) {
	h := durable.NewServiceHandler(func(ctx durable.Context, _ struct{}) (chan int, error) { return make(chan int), nil })
	_, err := h.Call(newFakeRuntime(), nil)
	require.Error(t, err)
	assert.True(t, durable.IsTerminalError(err))
	assert.Equal(t, uint16(500), durable.ErrorCode(err))
	assert.Contains(t, err.Error(), "encode output")
}

// TestLookupAmongManyHandlers: a service finds each of its handlers by name however many it has
// (a scan for few, a binary search for more) and whatever order they were defined in, finds no
// other name, and describes them in name order.
func TestLookupAmongManyHandlers(t *testing.T) {
	for _, n := range []int{1, 3, 8, 9, 17} {
		s := durable.NewService("Many")
		var names []string
		for i := range n {
			name := fmt.Sprintf("h%02d", (i*7)%n) // defined out of order
			names = append(names, name)
			s.Handler(name, durable.NewServiceHandler(func(durable.Context, struct{}) (string, error) { return name, nil }))
		}
		for _, name := range names {
			h, ok := s.Lookup(name)
			require.True(t, ok, "%d handlers: %s", n, name)
			out, err := h.Call(nil, nil)
			require.NoError(t, err)
			assert.Equal(t, `"`+name+`"`, string(out), "%d handlers: the handler found for %s", n, name)
		}
		for _, other := range []string{"", "h", "h99", "h00x"} {
			_, ok := s.Lookup(other)
			assert.False(t, ok, "%d handlers: %q", n, other)
		}
		slices.Sort(names)
		var specNames []string
		for _, h := range s.Spec().Handlers {
			specNames = append(specNames, h.Name)
		}
		assert.Equal(t, names, specNames, "%d handlers", n)
		assert.Panics(t, func() { s.Handler(names[n/2], noop()) }, "%d handlers: a second %s", n, names[n/2])
	}
}
