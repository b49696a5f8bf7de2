// Package vigiltest is the kit for testing your own durable handlers with Vigil's simulator from
// go test: declare the services, the outside world and the invariants of a scenario, and Check
// runs it over many seeds — each one run of the real runtime on virtual time under crashes and
// faults — and fails your test at the first seed that breaks a property, with the go test line
// that reruns exactly that run.
//
// A scenario, in full (examples/shop has the whole application and test):
//
//	var charged = vigiltest.NewFact[int]("charged") // a fact your fakes record
//
//	var Scenario = vigiltest.Scenario{
//		Name: "shop",
//		Setup: func(s *vigiltest.Sim) { // once per seed
//			psp := &fakeProvider{s: s, webhook: s.Client("psp")} // records charged, calls the webhook
//			s.Services(shop.NewOrders(psp))
//			s.Actor("customer", func(c *vigiltest.Client) {
//				vigiltest.Call(c, vigiltest.Object("Order", "order-1", "checkout"), shop.Cart{AmountCents: 500},
//					func(r vigiltest.Reply[shop.Receipt]) { /* r.Value, r.Err */ },
//					vigiltest.IdempotencyKey("checkout-order-1"))
//			})
//			s.Invariant("charged-once", func(h *vigiltest.History) []vigiltest.Violation {
//				var vs []vigiltest.Violation
//				for _, c := range charged.In(h) {
//					if !c.InRun {
//						vs = append(vs, vigiltest.Violationf("%s charged outside durable.Run", c.Key).At(c.Index))
//					}
//				}
//				return vs
//			})
//		},
//	}
//
//	func TestShop(t *testing.T) {
//		vigiltest.Check(t, Scenario, vigiltest.Options{Seeds: 100, Faults: faults.LevelLight})
//	}
//
// What the kit gives:
//
//   - Clients with typed helpers — Call, Send (Delay), Attach, Output, SubmitWorkflow,
//     AttachWorkflow, WorkflowOutput, ResolveAwakeable, RejectAwakeable, Cancel — that build the
//     ingress request, decode the answer into a Reply, and retry after a broken connection
//     whenever that is safe: always for attach, output, workflow submission and awakeable
//     completions, and for calls and sends that carry an IdempotencyKey (or are marked
//     Repeatable). A call or send without one is sent once, and a broken connection leaves it
//     in doubt (ErrInDoubt). AttachByIdempotencyKey and OutputByIdempotencyKey find an
//     invocation by its key; Retry and Backoff set the pause between tries, Header adds a
//     header, and Raw sends a request exactly as given (a malformed one, an alias route).
//   - Facts: typed events your code records in the run's trace (Fact.Record) and invariants read
//     back (Fact.In), each knowing whether it was recorded inside a durable.Run.
//   - History queries by invocation, service, handler and key (History.Invocations, OutputOf),
//     and violations that point at the events that show them (Violation.At, Violation.Of).
//   - Sim.OnStart for a workload that names its clients as it goes, and Sim.Checker for a
//     property written against the simulator's raw history (how Vigil's own scenarios, built
//     on this kit, state their expected outcomes).
//   - Check: every runtime checker plus your invariants; failures reported at your test's line;
//     the reproduce line go test -run '^TestShop$' -count=1 . -vigil.seed=N with the fault
//     intensity, budgets and caps of the run as -vigil.* flags; failing seeds saved under
//     testdata/vigil/ and replayed first by later runs.
//
// The flags, registered when the package is imported: -vigil.seed (run one seed), -vigil.seeds,
// -vigil.faults none|light|default (see faults.Level: start with none, then light, then the
// default swarm), -vigil.budget, -vigil.liveness, -vigil.max-events and
// -vigil.max-events-per-instant.
//
// Rules of a scenario: everything random comes from Sim.Rand, nothing from the clock or package
// variables, so a seed decides its run; Setup builds fresh state for every run. Nothing runs
// concurrently — handlers, actors and fakes all run on the simulator's one goroutine.
//
// The package wraps the simulator's workload API (sim.World, sim.Scenario); it imports sim,
// faults, checkers and the runtime's handler API. Vigil's built-in scenarios (package scenarios)
// are built on it; nothing in the runtime, the simulator or the checkers imports it, and it must
// never import the scenarios.
package vigiltest
