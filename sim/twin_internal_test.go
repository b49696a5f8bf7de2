package sim

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// shop returns one version of a shop's buy handler. Version 1 creates an awakeable, hands it out
// in a run and ships once paid; version 2 waits a second first, so it journals a sleep where
// version 1 journals the awakeable. sideEffects counts the runs' closures that ran.
func shop(v2 bool, sideEffects *int) []*durable.Service {
	return []*durable.Service{durable.NewService("Shop").Handler("buy", durable.NewServiceHandler(
		func(ctx durable.Context, order string) (string, error) {
			if v2 {
				if err := durable.Sleep(ctx, time.Second); err != nil {
					return "", err
				}
			}
			paid := durable.Awakeable[string](ctx)
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) { *sideEffects++; return true, nil }, durable.WithName("ask")); err != nil {
				return "", err
			}
			payment, err := paid.Result()
			if err != nil {
				return "", err
			}
			if _, err := durable.Run(ctx, func(durable.RunContext) (int, error) { *sideEffects++; return 7, nil }, durable.WithName("ship")); err != nil {
				return "", err
			}
			version := map[bool]string{false: "v1", true: "v2"}[v2]
			return version + " " + order + " " + payment, nil
		}))}
}

func jsonOf(t *testing.T, v any) journal.Result {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return journal.Result{Value: b}
}

// judge runs the twin's judgement of journal j (output entry included, if any) under versions.
func judge(vs [][]*durable.Service, j []journal.Entry) (outcome, problem string) {
	p := engine.PersistedInvocation{Service: "Shop", Handler: "buy", Journal: j}
	var output *journal.Entry
	if last := j[len(j)-1]; last.Kind == journal.KindOutput {
		output, j = &last, j[:len(j)-1]
	}
	tried, fit := replayVersions(nil, new(twinCalls), vs, protocol.InvocationID{15: 9}, p, j, output, Epoch)
	return twinVerdict(len(vs), tried, fit, output)
}

// TestTwinJudgesAgainstEveryDeployedVersion shows the multi-version rule: a journal that the
// first version wrote and the second never extended is correct, even though the second diverges
// from it; one that the second version extended after diverging from what the first wrote fits
// no version and is flagged; and a finished journal must end with the output of the version that
// replays it. No side effect runs, and no goroutine is left behind.
func TestTwinJudgesAgainstEveryDeployedVersion(t *testing.T) {
	defer goleak.VerifyNone(t)
	var effects int
	v1, v2 := shop(false, &effects), shop(true, &effects)
	both := [][]*durable.Service{v1, v2}
	input := journal.Entry{Kind: journal.KindInput, Result: jsonOf(t, "o1")}
	awk := journal.Entry{Kind: journal.KindAwakeable}
	paid := journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: jsonOf(t, "paid")}
	ask := journal.Entry{Kind: journal.KindRun, Name: "ask", Result: jsonOf(t, true)}
	ship := journal.Entry{Kind: journal.KindRun, Name: "ship", Result: jsonOf(t, 7)}
	sleep := journal.Entry{Kind: journal.KindSleep, Duration: time.Second, Completed: true}
	out := func(s string) journal.Entry { return journal.Entry{Kind: journal.KindOutput, Result: jsonOf(t, s)} }

	tests := []struct {
		name     string
		vs       [][]*durable.Service
		j        []journal.Entry
		outcome  string
		problems []string
	}{
		{"v1 prefix waiting, v2 deployed", both, []journal.Entry{input, awk, ask}, "matched its journal with version 1", nil},
		{"v1 journal finished under v1", both, []journal.Entry{input, paid, ask, ship, out("v1 o1 paid")}, "matched its journal with version 1", nil},
		{"v2 journal", both, []journal.Entry{input, sleep, paid, ask, ship, out("v2 o1 paid")}, "matched its journal with version 2", nil},
		{"only v1 deployed", [][]*durable.Service{v1}, []journal.Entry{input, awk, ask}, "matched its journal", nil},
		{"v1 prefix extended by a diverging v2", both, []journal.Entry{input, paid, ask, {Kind: journal.KindRun, Name: "ask", Result: jsonOf(t, true)}},
			"diverged from its journal", []string{
				"no one of the 2 deployed versions replays the persisted journal",
				`version 2 diverged: at journal index 1 the journal has awakeable`,
				`version 1 diverged: at journal index 3 the journal has run name="ask"`,
			}},
		{"v1 diverging from its own journal", [][]*durable.Service{v1}, []journal.Entry{input, sleep, paid},
			"diverged from its journal", []string{"re-running the handler against its persisted journal diverged: at journal index 1 the journal has sleep duration=1s"}},
		{"output of another version", both, []journal.Entry{input, paid, ask, ship, out("v2 o1 paid")},
			"returned another output", []string{`version 1 returned value("v1 o1 paid"), the journal's output is value("v2 o1 paid")`}},
		{"engine output", both, []journal.Entry{input, awk, ask, {Kind: journal.KindOutput, Name: journal.EngineOutput, Result: journal.Result{Failure: &journal.Failure{Code: 500, Message: "retries ran out"}}}},
			"matched its journal with version 1", nil},
		{"journal ends early", both, []journal.Entry{input, paid, ask, out("v1 o1 paid")},
			"returned another output", []string{"version 1 returned nothing: it would journal run name=\"ship\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outcome, problem := judge(tc.vs, tc.j)
			assert.Equal(t, tc.outcome, outcome, problem)
			if tc.problems == nil {
				assert.Empty(t, problem)
			}
			for _, p := range tc.problems {
				assert.Contains(t, problem, p)
			}
		})
	}
	assert.Zero(t, effects, "the twin ran a side effect")
}

// TestTwinStopIsSticky shows that a handler which recovers the twin's stop and goes on cannot
// make the twin take what it does afterwards for a replay.
func TestTwinStopIsSticky(t *testing.T) {
	var afterStop bool
	h := durable.NewServiceHandler(func(ctx durable.Context, _ string) (s string, err error) {
		func() {
			defer func() { _ = recover() }()
			durable.Awakeable[string](ctx) // past the journal: the twin stops here
		}()
		afterStop = true
		durable.Awakeable[string](ctx) // stopped again
		return "went on", nil
	})
	r, c := new(twinReplay), new(twinCalls)
	replayHandler(r, c, h, "Shop", "buy", protocol.InvocationID{15: 1}, "", Epoch, []journal.Entry{{Kind: journal.KindInput, Result: jsonOf(t, "x")}}, true)
	assert.True(t, afterStop)
	assert.Nil(t, r.output)
	assert.Empty(t, r.divergedText())
	assert.Contains(t, r.waitingText(), "would journal awakeable (pending) at index 1")
}

// TestTwinTurnsPanicsIntoVerdicts shows a handler's panic staying inside the twin: before the
// journal's end it is a divergence, at the end a retryable failure.
func TestTwinTurnsPanicsIntoVerdicts(t *testing.T) {
	h := durable.NewServiceHandler(func(ctx durable.Context, _ string) (string, error) { panic("boom") })
	input := journal.Entry{Kind: journal.KindInput, Result: jsonOf(t, "x")}
	r, c := new(twinReplay), new(twinCalls)
	replayHandler(r, c, h, "Shop", "buy", protocol.InvocationID{15: 1}, "", Epoch, []journal.Entry{input}, true)
	assert.Contains(t, r.retry, "handler panicked: boom")
	replayHandler(r, c, h, "Shop", "buy", protocol.InvocationID{15: 1}, "", Epoch, []journal.Entry{input, {Kind: journal.KindSleep}}, true)
	assert.Contains(t, r.divergedText(), "the handler panicked instead")
}

// counted is an output whose encodings are counted.
type counted struct{ encodings *int }

func (c counted) MarshalJSON() ([]byte, error) {
	*c.encodings++
	return []byte(`"done"`), nil
}

// TestTwinEncodesOutputOnlyToJudgeIt shows the twin encoding a returned output only where the
// journal holds one to compare it with (or a return before the journal's end puts it in words),
// and judging the same either way: a journal without an output fits, one whose output differs
// does not.
func TestTwinEncodesOutputOnlyToJudgeIt(t *testing.T) {
	var encodings int
	vs := [][]*durable.Service{{durable.NewService("Shop").Handler("buy", durable.NewServiceHandler(
		func(ctx durable.Context, _ string) (counted, error) { return counted{&encodings}, nil }))}}
	input := journal.Entry{Kind: journal.KindInput, Result: jsonOf(t, "x")}

	outcome, problem := judge(vs, []journal.Entry{input})
	assert.Equal(t, "matched its journal", outcome, problem)
	assert.Zero(t, encodings, "an output nothing judges was encoded")

	outcome, problem = judge(vs, []journal.Entry{input, {Kind: journal.KindOutput, Name: journal.EngineOutput, Result: journal.Result{Failure: &journal.Failure{Code: 500, Message: "retries ran out"}}}})
	assert.Equal(t, "matched its journal", outcome, problem)
	assert.Zero(t, encodings, "an output nothing judges was encoded")

	outcome, problem = judge(vs, []journal.Entry{input, {Kind: journal.KindOutput, Result: jsonOf(t, "done")}})
	assert.Equal(t, "matched its journal", outcome, problem)
	assert.Equal(t, 1, encodings)

	outcome, problem = judge(vs, []journal.Entry{input, {Kind: journal.KindOutput, Result: jsonOf(t, "other")}})
	assert.Equal(t, "returned another output", outcome)
	assert.Contains(t, problem, `returned value("done"), the journal's output is value("other")`)
	assert.Equal(t, 2, encodings)

	outcome, problem = judge(vs, []journal.Entry{input, {Kind: journal.KindSleep}})
	assert.Equal(t, "diverged from its journal", outcome)
	assert.Contains(t, problem, `the handler returned instead (output "done")`)
	assert.Equal(t, 3, encodings)
}

// TestTwinKeptContextReachesNoLaterReplay shows that a context a handler kept past its re-run
// never reaches a later re-run, though the twin reuses the handler's call and the re-run's
// memory (twinCalls): the second re-run, which does its durable call through the context the
// first one kept, is a handler's panic, not a replay of the journal, and the verdict says what
// the handler did wrong (durable.ErrContextEnded), not that it dereferenced nil.
func TestTwinKeptContextReachesNoLaterReplay(t *testing.T) {
	var kept durable.Context
	h := durable.NewServiceHandler(func(ctx durable.Context, _ string) (string, error) {
		if kept == nil {
			kept = ctx
		} else {
			ctx = kept
		}
		return durable.Run(ctx, func(durable.RunContext) (string, error) { return "", nil }, durable.WithName("ask"))
	})
	j := []journal.Entry{{Kind: journal.KindInput, Result: jsonOf(t, "x")}, {Kind: journal.KindRun, Name: "ask", Result: jsonOf(t, "yes")}}
	r, c := new(twinReplay), new(twinCalls)
	replayHandler(r, c, h, "Shop", "buy", protocol.InvocationID{15: 1}, "", Epoch, j, true)
	require.False(t, r.hasDiverged(), r.divergedText())
	require.NotNil(t, r.output)
	assert.Equal(t, `"yes"`, string(r.output.Value))

	replayHandler(r, c, h, "Shop", "buy", protocol.InvocationID{15: 1}, "", Epoch, j, true)
	assert.True(t, r.hasDiverged(), "a later re-run replayed the journal through a context an earlier one kept")
	assert.Contains(t, r.divergedText(), "the handler panicked instead")
	assert.Contains(t, r.divergedText(), durable.ErrContextEnded.Error())
	assert.NotContains(t, r.divergedText(), "nil pointer")
	assert.Nil(t, r.output)
}
