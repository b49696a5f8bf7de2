package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/sim"
)

// promisesChecker is the Checker name of the promise checker's violations (checkers.Promises).
const promisesChecker = "promises"

// promiseView is one promise epoch drawn by porcupine, for the page and its own file.
type promiseView struct {
	Promise string
	Verdict string
	// File is the name of the epoch's page beside report.html.
	File string
	// Page is porcupine's self-contained page; report.html carries it in an iframe's srcdoc.
	Page string
	// Lines name the invocation of each of the drawing's numbered lines.
	Lines []lineView
}

// lineView is one numbered line of porcupine's drawing: porcupine numbers its clients, the
// page says which invocation each one is.
type lineView struct {
	N          int
	Invocation string
	Target     string
}

// linearizability draws, for a run that the promise checker failed, each promise epoch worth
// looking at with porcupine's visualisation: those porcupine found not linearizable or could
// not decide, and those whose events a promise violation names (a second completion, a value
// no complete carried). The checks are rebuilt from the history (checkers.PromiseChecks), so a
// campaign's runs keep nothing for a report they may never need.
func linearizability(r *sim.Result, x *run) ([]promiseView, error) {
	if r.History == nil {
		return nil, nil
	}
	named := map[int]bool{}
	failed := false
	for _, v := range r.Violations {
		if v.Checker != promisesChecker {
			continue
		}
		failed = true
		for _, i := range v.Events {
			named[i] = true
		}
	}
	if !failed {
		return nil, nil
	}
	var out []promiseView
	for _, c := range checkers.PromiseChecks(*r.History) {
		if c.Linearizable() && !namesAny(c.Events, named) {
			continue
		}
		var b bytes.Buffer
		if err := c.Visualize(&b); err != nil {
			return nil, err
		}
		v := promiseView{Promise: c.Promise, Verdict: verdictOf(c), File: linearizabilityFile(c), Page: b.String()}
		for n, id := range c.Clients {
			l := lineView{N: n, Invocation: id.String()}
			if inv := x.byInv[id]; inv != nil {
				l.Target = inv.target
			}
			v.Lines = append(v.Lines, l)
		}
		out = append(out, v)
	}
	return out, nil
}

func namesAny(evs []int, named map[int]bool) bool {
	for _, i := range evs {
		if named[i] {
			return true
		}
	}
	return false
}

// verdictOf says what porcupine found.
func verdictOf(c checkers.PromiseCheck) string {
	switch {
	case c.Linearizable():
		return "linearizable (the violation is elsewhere: its completions)"
	case c.Undecided():
		return "undecided within the checker's time bound"
	}
	return "not linearizable as a write-once promise"
}

// linearizabilityFile names an epoch's page: linearizability-<service>-<key>-<name>-<epoch>.html,
// with anything but letters, digits, '.', '_' and '-' replaced by '_'.
func linearizabilityFile(c checkers.PromiseCheck) string {
	clean := func(s string) string {
		return strings.Map(func(c rune) rune {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
				return c
			}
			return '_'
		}, s)
	}
	return fmt.Sprintf("linearizability-%s-%s-%s-%d.html", clean(c.Service), clean(c.Key), clean(c.Name), c.Epoch)
}
