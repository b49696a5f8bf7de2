package executor_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// touchy's JSON methods panic or fail on demand: user code that runs when the executor decodes
// a handler's input before its coroutine starts, or encodes its output after it returned.
type touchy struct{ how string }

func (t *touchy) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"panic"`:
		panic("unmarshal boom")
	case `"fail"`:
		return errors.New("unmarshal refused")
	}
	t.how = string(b)
	return nil
}

func (t touchy) MarshalJSON() ([]byte, error) {
	switch t.how {
	case `"panic-out"`:
		panic("marshal boom")
	case `"fail-out"`:
		return nil, errors.New("marshal refused")
	}
	return []byte(`"ok"`), nil
}

// TestDecodeOutsideTheCoroutine: the input is decoded before the handler's coroutine starts and
// the output encoded after it returned, with the outcomes the handler's own call would give: a
// panic in user (un)marshalling is a retryable "panicked" failure, an input that does not decode
// a terminal 400 at index 1, an output that does not encode a terminal 500 at the output index.
func TestDecodeOutsideTheCoroutine(t *testing.T) {
	ran := 0
	svc := service(func(ctx durable.Context, in touchy) (touchy, error) {
		ran++
		durable.Awakeable[string](ctx)
		return in, nil
	})
	cases := []struct {
		input   string
		ran     int
		ended   string
		kind    protocol.Kind
		code    uint16
		message string
	}{
		{input: `"panic"`, ran: 0, ended: "#1 panicked", kind: protocol.KindError, message: "unmarshal boom"},
		{input: `"fail"`, ran: 0, ended: "#1 done", kind: protocol.KindEnd, code: 400, message: "unmarshal refused"},
		{input: `"panic-out"`, ran: 1, ended: "#1 panicked", kind: protocol.KindError, message: "marshal boom"},
		{input: `"fail-out"`, ran: 1, ended: "#1 done", kind: protocol.KindEnd, code: 500, message: "marshal refused"},
		{input: `"fine"`, ran: 1, ended: "#1 done", kind: protocol.KindEnd},
	}
	for i, c := range cases {
		t.Run(c.input, func(t *testing.T) {
			defer noLeak(t)
			ran = 0
			h := newHarness(t, time.Minute, svc)
			inv := invID(byte(40 + i))
			require.NotPanics(t, func() {
				h.start(inv, 1, journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: []byte(c.input)}})
			})
			last := h.take()
			require.NotEmpty(t, last)
			m := last[len(last)-1]
			assert.Equal(t, c.ran, ran)
			assert.Equal(t, []string{c.ended}, h.obs.ended(inv))
			assert.Equal(t, c.kind, m.Kind)
			switch {
			case c.kind == protocol.KindError:
				assert.True(t, m.Retryable)
				assert.Contains(t, m.Message, c.message)
			case c.code != 0:
				require.NotNil(t, m.Entry.Result.Failure)
				assert.Equal(t, c.code, m.Entry.Result.Failure.Code)
				assert.Contains(t, m.Entry.Result.Failure.Message, c.message)
				assert.Equal(t, uint32(1+c.ran), m.Index)
			default:
				assert.Equal(t, `"ok"`, string(m.Entry.Result.Value))
			}
			assert.Equal(t, 0, h.ex.Active())
		})
	}
}
