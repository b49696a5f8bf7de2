package durable_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
)

// stubCall is a Prepared that only has an identity.
type stubCall struct{ n int }

func (*stubCall) Run(durable.Runtime) error                                { return nil }
func (*stubCall) RunIn(*durable.ContextRoom, durable.Runtime) (any, error) { return nil, nil }
func (*stubCall) Output() ([]byte, error)                                  { return nil, nil }

// TestSpareCalls shows a kept call handed to the next Take of its own handler only, once, and the
// slots bounded: handlers past the first few take the slots taken longest ago.
func TestSpareCalls(t *testing.T) {
	var s durable.SpareCalls
	assert.True(t, s.Empty())
	const handlers = 6 // more than SpareCalls keeps
	slots := map[string]int{}
	for i := range handlers {
		name := strconv.Itoa(i)
		slot, spare := s.Take("S", name)
		assert.Nil(t, spare, "nothing kept yet for %s", name)
		slots[name] = slot
		s.Put(slot, &stubCall{n: i})
	}
	assert.False(t, s.Empty())
	// The last four handlers took the slots of the first two and kept theirs.
	for i := handlers - 4; i < handlers; i++ {
		name := strconv.Itoa(i)
		slot, spare := s.Take("S", name)
		assert.Equal(t, slots[name], slot, "a handler keeps its slot while it is among the last four")
		assert.Equal(t, &stubCall{n: i}, spare, "the call kept for %s, not another handler's", name)
		_, again := s.Take("S", name)
		assert.Nil(t, again, "a spare is handed out once")
	}
	_, lost := s.Take("S", "0")
	assert.Nil(t, lost, "the first handler's slot went to a later one")
	_, other := s.Take("T", "5")
	assert.Nil(t, other, "another service's handler of the same name has not S's slot")

	s.Reset()
	assert.True(t, s.Empty())
	slot, spare := s.Take("S", "5")
	assert.Equal(t, 0, slot, "after Reset the slots are free again")
	assert.Nil(t, spare)
}

// TestScrubbedSpareCalls: Scrub keeps a kept call's memory in its slot for the same handler of a
// later run, emptied of what the earlier run left in it (its output here), and drops a call it
// cannot empty.
func TestScrubbedSpareCalls(t *testing.T) {
	type doc struct {
		Name string `json:"name"`
	}
	h := durable.NewServiceHandler(func(_ durable.Context, in doc) (string, error) { return in.Name + "!", nil })
	call, err := h.Prepare([]byte(`{"name":"first"}`))
	require.NoError(t, err)
	require.NoError(t, call.Run(nil))
	out, err := call.Output()
	require.NoError(t, err)
	require.Equal(t, `"first!"`, string(out))

	var s durable.SpareCalls
	slot, _ := s.Take("S", "h")
	s.Put(slot, call)
	other, _ := s.Take("S", "stub")
	s.Put(other, &stubCall{n: 1})
	s.Scrub()

	_, stub := s.Take("S", "stub")
	assert.Nil(t, stub, "a call Scrub cannot empty is dropped")
	_, spare := s.Take("S", "h")
	require.Same(t, call, spare, "the call's memory stays in its slot")
	out, err = spare.Output()
	require.NoError(t, err)
	assert.Equal(t, `""`, string(out), "nothing of the earlier run is left in it")

	again, err := h.PrepareReusing([]byte(`{"name":"second"}`), spare)
	require.NoError(t, err)
	assert.Same(t, call, again)
	require.NoError(t, again.Run(nil))
	out, err = again.Output()
	require.NoError(t, err)
	assert.Equal(t, `"second!"`, string(out))
}
