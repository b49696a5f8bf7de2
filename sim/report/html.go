package report

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/sim"
)

// page is what report.html shows.
type page struct {
	Scenario   string
	Seed       uint64
	Commit     string
	Plan       string
	Reproduce  string
	Shrink     string
	Notes      []string
	Figures    string
	End        string
	Violations []violationView
	Invs       []invView
	Faults     []eventView
	Trace      []eventView
	NoHistory  bool
	// Promises is set when a violation of the promise checker is on the page.
	Promises bool
	// Linearizability are porcupine's drawings of the promise epochs the promise checker's
	// violations concern.
	Linearizability []promiseView
}

type violationView struct {
	N          int
	Checker    string
	Invocation string
	Message    string
	// WaitFor is set for liveness failures: the engine's wait-for graph of the unfinished
	// invocation (Engine.Describe), as the message carries it.
	WaitFor string
	Events  []eventView
}

type eventView struct {
	Index   int
	At      string
	Kind    string
	Node    string
	Text    string
	Detail  string
	Flagged string // the violations that name the event, "1, 3"; empty when none
}

type invView struct {
	ID       string
	Target   string
	Violated bool
	// From and To are the ends of the timeline's axis; Height fits its lanes.
	From, To string
	Height   int
	Bars     []markView
	Marks    []markView
	Events   []eventView
}

// markView is a bar (an attempt) or a tick (an event) on a timeline; Style places it.
type markView struct {
	Style   template.CSS
	Label   string
	Title   string
	Index   int
	Flagged bool
	Class   string
}

// HTML renders report.html: one page with no outside references (its CSS and script are inline).
func HTML(r *sim.Result, info Info) ([]byte, error) {
	info = info.withDefaults(r)
	x := newRun(r)
	p := page{
		Scenario: r.Scenario, Seed: r.Seed, Commit: info.Commit, Plan: planOf(r),
		Reproduce: info.Reproduce, Shrink: info.Shrink, Notes: info.Notes,
		End: x.end.String(), NoHistory: r.History == nil,
	}
	if r.History != nil {
		p.Figures = fmt.Sprintf("%d queue events, %d recorded events, %d invocations, %s virtual, trace hash %016x",
			r.Events, len(x.events), r.Invocations, r.Virtual, r.TraceHash)
	}
	for vi, v := range r.Violations {
		p.Violations = append(p.Violations, violationOf(r, x, vi, v))
		p.Promises = p.Promises || v.Checker == "promises"
	}
	lin, err := linearizability(r, x)
	if err != nil {
		return nil, err
	}
	p.Linearizability = lin
	for _, inv := range x.invs {
		p.Invs = append(p.Invs, invOf(x, inv))
	}
	for i, e := range x.events {
		ev := eventOf(x, i, e)
		p.Trace = append(p.Trace, ev)
		switch e.Kind {
		case checkers.NodeCrashed, checkers.NodeRestarted, checkers.NodePaused, checkers.ClockStepped:
			p.Faults = append(p.Faults, ev)
		}
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func violationOf(r *sim.Result, x *run, vi int, v checkers.Violation) violationView {
	vv := violationView{N: vi + 1, Checker: v.Checker, Message: v.Message}
	if !v.Invocation.IsZero() {
		vv.Invocation = v.Invocation.String()
	}
	if v.Checker == "liveness" {
		// The message is "not finished <budget> after healing: <wait-for graph>".
		if _, graph, ok := strings.Cut(v.Message, "after healing: "); ok {
			vv.WaitFor = graph
		} else {
			vv.WaitFor = v.Message
		}
	}
	for _, i := range v.Events {
		if e, ok := eventAt(r, i); ok {
			vv.Events = append(vv.Events, eventOf(x, i, e))
		} else {
			vv.Events = append(vv.Events, eventView{Index: i, Text: "(not in the history)"})
		}
	}
	return vv
}

func eventOf(x *run, i int, e checkers.Event) eventView {
	ev := eventView{Index: i, At: e.At.String(), Kind: e.Kind.String(), Node: e.Node, Text: strings.TrimSpace(e.String())}
	// Detail is the line without the time and kind that the table's own columns show.
	ev.Detail = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(ev.Text, ev.At)), ev.Kind))
	var ns []string
	for _, vi := range x.flagged[i] {
		ns = append(ns, strconv.Itoa(vi+1))
	}
	ev.Flagged = strings.Join(ns, ", ")
	return ev
}

// invOf lays out one invocation's timeline on its own time axis, from its first event to its
// last (a run's idle liveness phase would otherwise squeeze every bar into a sliver): its
// attempts as bars (a lane each where they overlap) and its events as ticks, violation events
// marked.
func invOf(x *run, inv *invocation) invView {
	v := invView{ID: inv.id.String(), Target: inv.target, Violated: inv.violated}
	ax := axisOf(x, inv)
	v.From, v.To = ax.from.String(), ax.to.String()
	ls := lanes(inv.attempts)
	for n, a := range inv.attempts {
		left, width := ax.percent(a.from), ax.percent(a.to)-ax.percent(a.from)
		flagged := len(x.flagged[a.start]) > 0 || a.end >= 0 && len(x.flagged[a.end]) > 0
		v.Bars = append(v.Bars, markView{
			Style: template.CSS(fmt.Sprintf("left:%.3f%%;width:max(%.3f%%,3px);top:%dpx", left, width, 4+ls[n]*16)),
			Label: a.name, Title: fmt.Sprintf("%s: %s .. %s (#%d)", a.name, a.from, a.to, a.start),
			Index: a.start, Flagged: flagged, Class: attemptClass(a.name),
		})
	}
	v.Height = 28 + 16*max(1, slices.Max(append(ls, 0))+1)
	for _, i := range inv.events {
		e := x.events[i]
		if e.Kind == checkers.AttemptStarted || e.Kind == checkers.AttemptEnded {
			if len(x.flagged[i]) == 0 {
				v.Events = append(v.Events, eventOf(x, i, e))
				continue
			}
		}
		v.Marks = append(v.Marks, markView{
			Style: template.CSS(fmt.Sprintf("left:%.3f%%", ax.percent(e.At))),
			Title: fmt.Sprintf("#%d %s", i, strings.TrimSpace(e.String())),
			Index: i, Flagged: len(x.flagged[i]) > 0,
		})
		v.Events = append(v.Events, eventOf(x, i, e))
	}
	return v
}

// axis is a timeline's time range.
type axis struct{ from, to time.Duration }

func axisOf(x *run, inv *invocation) axis {
	if len(inv.events) == 0 {
		return axis{0, x.end}
	}
	ax := axis{from: x.events[inv.events[0]].At, to: x.events[inv.events[len(inv.events)-1]].At}
	for _, a := range inv.attempts {
		ax.from, ax.to = min(ax.from, a.from), max(ax.to, a.to)
	}
	return ax
}

// percent places at on the axis, 0..97 so that a mark at the end stays visible.
func (ax axis) percent(at time.Duration) float64 {
	if ax.to <= ax.from {
		return 0
	}
	return 97 * float64(at-ax.from) / float64(ax.to-ax.from)
}

// attemptClass colours a bar by how the attempt ended.
func attemptClass(name string) string {
	for _, end := range []string{"done", "suspended", "failed", "panicked", "crashed", "aborted", "superseded", "replayed"} {
		if strings.Contains(name, " "+end) {
			return "a-" + end
		}
	}
	return "a-open"
}

var pageTemplate = template.Must(template.New("report").Parse(pageHTML))
