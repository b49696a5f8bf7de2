package checkers

import (
	"bytes"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// twoWinners is a history in which promise "p" of Wf/k1 was completed twice, both completes
// told ok, and a get saw the second value; promise "q" is clean.
func twoWinners() History {
	b := &builder{}
	b.workflowK1()
	b.emit(invC, 1, 1, completePromise("p", "a"))
	b.emit(invD, 1, 1, completePromise("p", "b"))
	b.observeResult(invC, 1, 1, journal.KindCompletePromise, promiseOK)
	b.promiseCompleted("Wf", "k1", "p", "a")
	b.observeResult(invD, 1, 1, journal.KindCompletePromise, promiseOK)
	b.promiseCompleted("Wf", "k1", "p", "b")
	b.emit(invA, 1, 1, getPromise("p"))
	b.observe(invA, 1, 1, journal.KindGetPromise, "b")
	b.emit(invB, 1, 2, peekPromise("q"))
	b.observeResult(invB, 1, 2, journal.KindPeekPromise, promiseEmpty)
	return b.h
}

func TestPromiseChecksRebuildWhatPromisesJudged(t *testing.T) {
	h := twoWinners()
	cs := PromiseChecks(h)
	require.Len(t, cs, 2)

	p := cs[0]
	assert.Equal(t, `promise "p" of Wf/k1 (epoch 0)`, p.Promise)
	assert.Equal(t, []any{"Wf", "k1", "p", 0}, []any{p.Service, p.Key, p.Name, p.Epoch})
	assert.Equal(t, porcupine.Illegal, p.Result)
	assert.False(t, p.Linearizable())
	assert.False(t, p.Undecided(), "decided: porcupine found no linearization")
	// Every event of the epoch: four calls and returns of the completes, two completions, the get.
	assert.Len(t, p.Events, 8)
	assert.Equal(t, []protocol.InvocationID{invC, invD, invA}, p.Clients, "a line per invocation, by first call")
	// Promises says the same of it.
	var said bool
	for _, v := range Promises(h) {
		said = said || v.Message[:len(p.Promise)] == p.Promise && bytes.Contains([]byte(v.Message), []byte("not linearizable"))
	}
	assert.True(t, said, "Promises reports the epoch not linearizable")

	q := cs[1]
	assert.Equal(t, `promise "q" of Wf/k1 (epoch 0)`, q.Promise)
	assert.True(t, q.Linearizable())
}

func TestPromiseCheckVisualize(t *testing.T) {
	h := twoWinners()
	render := func() []byte {
		cs := PromiseChecks(h)
		var b bytes.Buffer
		require.NoError(t, cs[0].Visualize(&b))
		return b.Bytes()
	}
	page := render()
	for _, want := range []string{
		"<!doctype html>",
		"complete(value(a)) -\\u003e ok", // json.Marshal escapes '>'
		"get -\\u003e value(b)",
		"completed with value(a)", // a state
		"runtime: promise-completed",
		"(a second completion)",
		invD.String() + "[1] event #",
	} {
		assert.Contains(t, string(page), want)
	}
	// Porcupine gathers its partial linearizations through a map: the page must not depend on it.
	for range 10 {
		require.True(t, bytes.Equal(page, render()), "the same history gives the same page")
	}
}
