package vigiltest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/sim"
)

// Scenario is a test of your own handlers: a name and a Setup that declares, for each simulated
// run, the services, the outside world (actors, fakes of other systems) and the invariants.
type Scenario struct {
	// Name names the scenario in reports; a short word ("shop").
	Name string
	// Description says in one line what it exercises.
	Description string
	// Setup builds one run. It is called once per seed with a fresh Sim, before the run starts,
	// so everything it creates (fakes, counters) belongs to that run alone: keep no state in
	// package variables, or two runs of one seed differ.
	Setup func(s *Sim)
}

// Sim returns the scenario as the simulator runs it, for sim.RunSeed, sim.CheckRapid and
// sim.CheckDeterminism.
func (sc Scenario) Sim() sim.Scenario {
	if sc.Setup == nil {
		panic(fmt.Sprintf("vigiltest: scenario %q has no Setup", sc.Name))
	}
	return sim.Scenario{Name: sc.Name, Description: sc.Description, New: func(w *sim.World) sim.Workload {
		s := &Sim{w: w}
		// The usual few services, starts and checkers, the first clients, their kinds and the
		// first requests go in the Sim's own arrays: a Sim is one allocation per run, not one
		// more per list or chunk.
		s.services, s.starts, s.checkers = s.serviceBuf[:0], s.startBuf[:0], s.checkerBuf[:0]
		s.spareClients, s.numberedKinds, s.spareRequests = s.clientBuf[:], s.kindBuf[:0], s.requestBuf[:]
		sc.Setup(s)
		return workload{s}
	}}
}

// Sim is one simulated run as a scenario's Setup sees it: where services, actors and invariants
// are declared, and what the fakes of outside systems use to record facts and schedule work.
// Everything in a run happens on one goroutine, the simulator's, so a Sim needs no locking;
// handlers, actors and fakes may all call it.
type Sim struct {
	w          *sim.World
	services   []*durable.Service
	starts     []func()
	invariants []invariant
	checkers   []func(h *checkers.History) []checkers.Violation
	// clients are the names Client gave (nil until it gives one); numberedKinds the kind of
	// each client NumberedClient named, by number less one.
	clients       map[string]bool
	numberedKinds []string
	// spareClients is where clients are made in chunks, not an allocation each; room is where
	// numbered names and what the clients send and decode are.
	spareClients []Client
	room         room
	// spareRequests is where the run's requests are made, in chunks (newRequest), and
	// doneRequests the first of a list of requests whose last answer has been handed on, for
	// newRequest to use again.
	spareRequests []request
	doneRequests  *request
	// serviceBuf, startBuf and checkerBuf hold the first services, starts and checkers;
	// clientBuf, kindBuf and requestBuf the first clients, numbered kinds and requests (a run of
	// the approval scenario names some eleven clients).
	serviceBuf [2]*durable.Service
	startBuf   [2]func()
	checkerBuf [2]func(h *checkers.History) []checkers.Violation
	clientBuf  [16]Client
	kindBuf    [16]string
	requestBuf [requestChunk]request
}

type invariant struct {
	name  string
	check func(h *History) []Violation
}

// Services declares the services the runtime serves in this run.
func (s *Sim) Services(svcs ...*durable.Service) { s.services = append(s.services, svcs...) }

// Actor declares an external actor — a customer, a webhook sender, a courier — as a named client
// whose start runs when the run begins. It may send requests at once or schedule them with
// Client.After; the names of actors and clients must be distinct.
func (s *Sim) Actor(name string, start func(c *Client)) {
	c := s.Client(name)
	s.starts = append(s.starts, func() { start(c) })
}

// Client returns a new client named name, for fakes of outside systems that call the runtime
// (a payment provider's webhook). The names of actors and clients must be distinct, since the
// trace tells the clients apart by name.
func (s *Sim) Client(name string) *Client {
	if s.clients[name] || s.numberedName(name) {
		panic(fmt.Sprintf("vigiltest: two clients named %q", name))
	}
	if s.clients == nil {
		s.clients = map[string]bool{}
	}
	s.clients[name] = true
	return s.newClient(name)
}

// NumberedClient returns a new client named "<kind>-<n>", where n counts every client
// NumberedClient has named in this run: for workloads that start clients as they go (a reviewer
// per review, a customer per order), so that each has a name of its own in the trace.
func (s *Sim) NumberedClient(kind string) *Client {
	n := len(s.numberedKinds) + 1
	var digits [20]byte
	number := strconv.AppendInt(digits[:0], int64(n), 10)
	start := s.room.reserve(len(kind) + 1 + len(number))
	s.room.text.WriteString(kind)
	s.room.text.WriteByte('-')
	s.room.text.Write(number)
	name := s.room.since(start)
	// Two numbered names differ in their numbers, what follows their last '-': only a name
	// Client gave can be taken.
	if s.clients[name] {
		panic(fmt.Sprintf("vigiltest: two clients named %q", name))
	}
	if s.numberedKinds == nil {
		// Room for a run's usual clients at once, not grown from one by doubling.
		s.numberedKinds = make([]string, 0, 8)
	}
	s.numberedKinds = append(s.numberedKinds, kind)
	return s.newClient(name)
}

// numberedName reports whether NumberedClient has named a client name: "<kind>-<n>" with n a
// number it gave (as strconv.Itoa writes it) to a client of that kind.
func (s *Sim) numberedName(name string) bool {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return false
	}
	n, err := strconv.Atoi(name[i+1:])
	return err == nil && n >= 1 && n <= len(s.numberedKinds) && strconv.Itoa(n) == name[i+1:] && s.numberedKinds[n-1] == name[:i]
}

// newClient returns a client named name, from the run's chunk of them.
func (s *Sim) newClient(name string) *Client {
	if len(s.spareClients) == 0 {
		s.spareClients = make([]Client, 8)
	}
	c := &s.spareClients[0]
	s.spareClients = s.spareClients[1:]
	*c = Client{s: s, name: name}
	return c
}

// Invariant declares a property of every run, judged on the whole history once the run has
// ended (after the heal and liveness phases): check returns the violations it finds, each
// reported under name with the events it points at.
func (s *Sim) Invariant(name string, check func(h *History) []Violation) {
	s.invariants = append(s.invariants, invariant{name: name, check: check})
}

// OnStart runs start when the run begins, for a workload that names its clients as it goes (a
// new client per submitter, per webhook delivery) rather than declaring each as an Actor.
func (s *Sim) OnStart(start func()) { s.starts = append(s.starts, start) }

// Checker declares a property judged on the simulator's raw history (package checkers) whose
// violations name their checker themselves: for checkers written against that history, as
// Vigil's own scenarios state their expected outcomes. Prefer Invariant and its History queries
// for a property of your own.
func (s *Sim) Checker(check func(h *checkers.History) []checkers.Violation) {
	s.checkers = append(s.checkers, check)
}

// Rand is the run's random stream for the workload: draw every choice of actors and fakes from
// it (never from math/rand or the clock), so that the seed decides the run.
func (s *Sim) Rand() sim.Rand { return s.w.Rand() }

// Now is the virtual time since the run began.
func (s *Sim) Now() time.Duration { return s.w.Now() }

// After runs fn once virtual time has advanced by d.
func (s *Sim) After(d time.Duration, fn func()) { s.w.After(d, fn) }

// AfterCall calls c.Call() once virtual time has advanced by d: After for a workload that can
// hand over a long-lived object instead of binding a closure for each event.
func (s *Sim) AfterCall(d time.Duration, c sim.Caller) { s.w.AfterCall(d, c) }

// Healed reports whether the safety phase is over: faults have stopped, and actors should
// finish what they started (a retrying actor keeps retrying; one that starts new work late may
// leave it unfinished at the end of the liveness phase).
func (s *Sim) Healed() bool { return s.w.Healed() }

// World is the simulator's run underneath, for what the kit does not wrap.
func (s *Sim) World() *sim.World { return s.w }

// workload adapts a Sim to the simulator's Workload contract.
type workload struct{ s *Sim }

func (wl workload) Services() []*durable.Service { return wl.s.services }

func (wl workload) Start() {
	for _, start := range wl.s.starts {
		start()
	}
}

func (wl workload) Check(h *checkers.History) []checkers.Violation {
	var out []checkers.Violation
	if len(wl.s.invariants) > 0 {
		// The queryable history costs a pass over the events: only invariants need it.
		hist := newHistory(h)
		for _, inv := range wl.s.invariants {
			for _, v := range inv.check(hist) {
				out = append(out, checkers.Violation{Checker: inv.name, Invocation: v.Invocation, Message: v.Message, Events: v.Events})
			}
		}
	}
	for _, check := range wl.s.checkers {
		out = append(out, check(h)...)
	}
	return out
}
