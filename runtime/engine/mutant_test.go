//go:build vigil_mutants

package engine_test

// Run with: go test -tags vigil_mutants -run Mutant ./runtime/engine/
//
// Each engine mutant within the state machine's reach (stateless services: awakeables, sleeps,
// retries, retention, recovery) is a realistic bug planted in the engine; the property test
// must catch every one of them, or it proves less than it claims.

import (
	"flag"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/mutant"
)

// recordingTB is a rapid.TB that records a failure instead of failing the test, so a test can
// assert that a property fails.
type recordingTB struct {
	name   string
	failed bool
	log    []string
}

func (r *recordingTB) Helper()      {}
func (r *recordingTB) Name() string { return r.name }
func (r *recordingTB) Logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Log(args ...any)                   { r.log = append(r.log, fmt.Sprint(args...)) }
func (r *recordingTB) Skipf(format string, args ...any)  {}
func (r *recordingTB) Skip(args ...any)                  {}
func (r *recordingTB) SkipNow()                          {}
func (r *recordingTB) Errorf(format string, args ...any) { r.failed = true; r.Logf(format, args...) }
func (r *recordingTB) Error(args ...any)                 { r.failed = true; r.Log(args...) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.failed = true; r.Logf(format, args...) }
func (r *recordingTB) Fatal(args ...any)                 { r.failed = true; r.Log(args...) }
func (r *recordingTB) FailNow()                          { r.failed = true }
func (r *recordingTB) Fail()                             { r.failed = true }
func (r *recordingTB) Failed() bool                      { return r.failed }

func TestStateMachineCatchesEngineMutants(t *testing.T) {
	// An expected failure must not leave a fail file behind.
	old := flag.Lookup("rapid.nofailfile").Value.String()
	if err := flag.Set("rapid.nofailfile", "true"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = flag.Set("rapid.nofailfile", old) }()

	for _, id := range []mutant.ID{
		mutant.AcceptSecondCompletion, mutant.AcceptStaleAttempt, mutant.CompletionToWrongIndex,
		mutant.ForgetRetentionTimer, mutant.FireTimerEarlyAfterRestart,
	} {
		t.Run(id.String(), func(t *testing.T) {
			mutant.Plant(id)
			defer mutant.Plant(mutant.None)
			rec := &recordingTB{name: t.Name()}
			rapid.Check(rec, func(t *rapid.T) {
				m := newEngineMachine(t)
				for range 4 {
					t.Repeat(m.actions())
				}
			})
			if !rec.failed {
				t.Fatalf("the engine state machine did not catch mutant %s", id)
			}
			t.Logf("caught: %s", rec.log[len(rec.log)-1])
		})
	}
}
