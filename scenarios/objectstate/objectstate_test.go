package objectstate

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

// TestScenario runs the scenario over a few seeds: no checker and no expected-outcome rule may
// fail.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 60})
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

func result(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

// history builds applies and reads of one shelf, each finishing before the next is accepted
// unless overlap says otherwise.
type history struct {
	h checkers.History
	n byte
}

func (b *history) accepted(handler string) protocol.InvocationID {
	b.n++
	inv := protocol.InvocationID{15: b.n}
	b.h.Events = append(b.h.Events, checkers.Event{Kind: checkers.InvocationAccepted, Invocation: inv, Service: ObjectName, Handler: handler, Key: "shelf-0"})
	return inv
}

func (b *history) done(inv protocol.InvocationID, in []Op, out Snapshot) {
	j := []journal.Entry{{Kind: journal.KindInput, Result: result(in)}, {Kind: journal.KindOutput, Result: result(out)}}
	b.h.Events = append(b.h.Events, checkers.Event{Kind: checkers.InvocationDone, Invocation: inv, Result: result(out), Journal: j})
}

func snap(kv ...string) Snapshot {
	s := Snapshot{Keys: []string{}, Values: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		s.Keys = append(s.Keys, kv[i])
		s.Values[kv[i]] = kv[i+1]
	}
	return s
}

var (
	setAB   = []Op{{Op: OpSet, Key: "a", Value: "1"}, {Op: OpSet, Key: "b", Value: "2"}}
	clearA  = []Op{{Op: OpClear, Key: "a"}, {Op: OpClear, Key: "z"}}
	wipeSet = []Op{{Op: OpClearAll}, {Op: OpSet, Key: "c", Value: "3"}}
)

// TestCheck shows the check passing a right history and reporting each wrong answer.
func TestCheck(t *testing.T) {
	tests := []struct {
		name              string
		afterClear, after Snapshot
		read              Snapshot
		want              string
	}{
		{"right", snap("b", "2"), snap("c", "3"), snap("c", "3"), ""},
		{"clear ignored", snap("a", "1", "b", "2"), snap("c", "3"), snap("c", "3"), "apply of shelf-0 answered"},
		{"clearAll ignored", snap("b", "2"), snap("b", "2", "c", "3"), snap("c", "3"), "apply of shelf-0 answered"},
		{"stale read", snap("b", "2"), snap("c", "3"), snap("b", "2"), "read of shelf-0 answered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b history
			i := b.accepted(Apply)
			b.done(i, setAB, snap("a", "1", "b", "2"))
			i = b.accepted(Apply)
			b.done(i, clearA, tc.afterClear)
			i = b.accepted(Apply)
			b.done(i, wipeSet, tc.after)
			i = b.accepted(Read)
			b.done(i, nil, tc.read)
			vs := Check(&b.h)
			if tc.want == "" {
				require.Empty(t, vs)
				return
			}
			require.NotEmpty(t, vs)
			require.Contains(t, vs[0].Message, tc.want)
		})
	}
}

// TestOverlappingReadNotJudged shows that a read an apply overlapped may see any state.
func TestOverlappingReadNotJudged(t *testing.T) {
	var b history
	apply := b.accepted(Apply)
	read := b.accepted(Read)
	b.done(read, nil, snap("a", "1"))
	b.done(apply, setAB, snap("a", "1", "b", "2"))
	require.Empty(t, Check(&b.h))
}
