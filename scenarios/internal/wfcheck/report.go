package wfcheck

import (
	"fmt"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Report collects, in order, the violations a scenario's Check finds, under the scenario's
// checker name; each message starts with the name of the rule the violation breaks.
type Report struct {
	checker    string
	violations []checkers.Violation
}

// NewReport returns an empty Report whose violations carry the Checker name checker.
func NewReport(checker string) *Report { return &Report{checker: checker} }

// Fail reports a violation of rule about inv, naming events.
func (r *Report) Fail(inv protocol.InvocationID, events []int, rule, format string, args ...any) {
	r.violations = append(r.violations, checkers.Violation{Checker: r.checker, Invocation: inv, Message: rule + ": " + fmt.Sprintf(format, args...), Events: events})
}

// Rule returns the FailFunc that reports violations of rule.
func (r *Report) Rule(rule string) FailFunc {
	return func(inv protocol.InvocationID, events []int, format string, args ...any) {
		r.Fail(inv, events, rule, format, args...)
	}
}

// Violations returns the violations reported so far, in the order they were reported (nil if
// none).
func (r *Report) Violations() []checkers.Violation { return r.violations }
