// Package agenttools is the seed's AI-agent pattern as a scenario: an agent loop that, at each
// step, fans out several tool calls — each an awakeable whose ID a tool worker gets inside Run —
// and collects their answers with WaitFirst(pending tools..., After(timeout)) until every tool
// answered or the step's timer fired. Tool workers answer, fail (reject), answer twice or never.
// Before its final step the agent asks a human for approval, another awakeable with its own
// timeout. The output summarises which tools answered with what, which failed, which timed out,
// and the approval; the scenario checks that it follows from the completions the engine accepted
// and the timers that fired, as the journal recorded the agent's choices.
//
// It imports the user kit (vigiltest), the simulator, the checkers and the runtime's handler API;
// nothing in the runtime imports it.
package agenttools

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the agent-tools scenario as the simulator runs it: the plain agent a user would
// write from the seed, with no checkpoint between steps. (It found a runtime bug: the executor
// ran a side effect handing out awakeable IDs while the WaitFirst choice ahead of it was not yet
// durable, so a retry could choose otherwise and shift those IDs onto other entries. Choices and
// state reads are now acknowledged before the handler goes on.)
var Scenario = scenario("agent-tools",
	"AI agent fans out tool calls as awakeables, collects them with WaitFirst and a timeout, then waits for human approval with a timeout",
	false)

// CheckpointedScenario is the same agent with an explicit checkpoint (an empty Run) after each
// step, the workaround the runtime bug above needed. It is kept to show both shapes pass.
var CheckpointedScenario = scenario("agent-tools-checkpointed", "agent-tools with a checkpoint Run after each step", true)

// scenario builds the agent-tools scenario on the user kit, its agent checkpointing after each
// step when checkpoint is set.
func scenario(name, description string, checkpoint bool) sim.Scenario {
	return vigiltest.Scenario{Name: name, Description: description, Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, handedOut: map[string]bool{}, checkpoint: checkpoint}
		s.Services(NewService(wl, wl.checkpoint))
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	}}.Sim()
}

// ServiceName and HandlerName address the agent over the ingress. (The handler is not called
// "run": the outputs checker takes every request to a handler called "run" for a workflow
// submission.)
const (
	ServiceName = "Agent"
	HandlerName = "act"
)

// Task is the agent's input: its name, the tools it calls at each step, and the timeouts.
type Task struct {
	Name              string     `json:"name"`
	Steps             [][]string `json:"steps"`
	ToolTimeoutMs     int64      `json:"toolTimeoutMs"`
	ApprovalTimeoutMs int64      `json:"approvalTimeoutMs"`
}

// Statuses of a tool call and of the approval in a Report.
const (
	StatusAnswered = "answered"
	StatusFailed   = "failed"
	StatusTimedOut = "timed out"
	StatusApproved = "approved"
	StatusRejected = "rejected"
)

// Report is the agent's output.
type Report struct {
	Task  string       `json:"task"`
	Steps []StepReport `json:"steps"`
	// Approval is the human's verdict on the agent's plan.
	Approval ToolReport `json:"approval"`
	// Final is what the final step's side effect returned; empty unless approved.
	Final string `json:"final,omitempty"`
}

// StepReport lists one step's tool calls in the order the step made them.
type StepReport struct {
	Tools []ToolReport `json:"tools"`
}

// ToolReport is how one awakeable ended: answered with Value, failed with Error, or timed out.
// For the approval, "approved" with Value or "rejected" with Error instead.
type ToolReport struct {
	Name      string `json:"name"`
	Awakeable string `json:"awakeable"`
	Status    string `json:"status"`
	Value     string `json:"value,omitempty"`
	Error     string `json:"error,omitempty"`
}

// ToolCall is one tool request as the workers get it.
type ToolCall struct {
	Tool      string
	Awakeable string
}

// World is the outside world the agent talks to.
type World interface {
	// DispatchTools hands the step's tool calls to tool workers. It may fail transiently;
	// dispatching the same awakeables again changes nothing.
	DispatchTools(task string, step int, calls []ToolCall) error
	// AskApproval asks a human to approve the task's plan by completing awakeableID.
	AskApproval(task, awakeableID string) error
	// FinalStep performs the approved task's final step and says what it did.
	FinalStep(task string) (string, error)
	// ToolChosen tells the user's progress feed that tool answered first in round of step of
	// task: the agent acts on its WaitFirst choice. A re-run must never name another tool there.
	ToolChosen(task string, step, round int, tool string)
}

// NewService returns the Agent service. With checkpoint set, the agent journals an empty Run
// ("checkpoint-step-N") after collecting each step: a Run returns only once it and every entry
// before it are durable, so the journal up to there, with the selects that recorded which tool
// answered first, can no longer be laid out differently by a later attempt. Without it, the next
// step's dispatch hands out awakeable IDs — journal indices — that sit behind selects not yet
// durable; if the attempt dies, its successor may choose differently, shift every later entry,
// and the workers complete the IDs they were given, which now name other awakeables.
func NewService(world World, checkpoint bool) *durable.Service {
	return durable.NewService(ServiceName).Handler(HandlerName, durable.NewServiceHandler(
		func(ctx durable.Context, task Task) (Report, error) {
			report := Report{Task: task.Name, Steps: []StepReport{}}
			for s, tools := range task.Steps {
				step, err := runStep(ctx, world, task, s, tools)
				if err != nil {
					return Report{}, err
				}
				report.Steps = append(report.Steps, step)
				if checkpoint {
					if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) { return true, nil }, durable.WithName(fmt.Sprintf("checkpoint-step-%d", s))); err != nil {
						return Report{}, err
					}
				}
			}
			approval, err := askApproval(ctx, world, task)
			if err != nil {
				return Report{}, err
			}
			report.Approval = approval
			if approval.Status == StatusApproved {
				final, err := durable.Run(ctx, func(durable.RunContext) (string, error) { return world.FinalStep(task.Name) }, durable.WithName("final-step"))
				if err != nil {
					return Report{}, err
				}
				report.Final = final
			}
			return report, nil
		}))
}

// runStep fans out one step's tool calls and collects them until all answered or the timer fired.
func runStep(ctx durable.Context, world World, task Task, s int, tools []string) (StepReport, error) {
	awakeables := make([]durable.AwakeableFuture[string], len(tools))
	calls := make([]ToolCall, len(tools))
	step := StepReport{Tools: make([]ToolReport, len(tools))}
	for i, tool := range tools {
		awakeables[i] = durable.Awakeable[string](ctx)
		calls[i] = ToolCall{Tool: tool, Awakeable: awakeables[i].ID()}
		step.Tools[i] = ToolReport{Name: tool, Awakeable: awakeables[i].ID(), Status: StatusTimedOut}
	}
	if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
		return true, world.DispatchTools(task.Name, s, calls)
	}, durable.WithName(fmt.Sprintf("dispatch-step-%d", s))); err != nil {
		return StepReport{}, err
	}
	timer := durable.After(ctx, time.Duration(task.ToolTimeoutMs)*time.Millisecond)
	pending := make([]int, len(tools))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; len(pending) > 0; round++ {
		futures := make([]durable.Selectable, 0, len(pending)+1)
		for _, i := range pending {
			futures = append(futures, awakeables[i])
		}
		futures = append(futures, timer)
		first, err := durable.WaitFirst(ctx, futures...)
		if err != nil {
			return StepReport{}, err
		}
		if first == durable.Selectable(timer) {
			break // the rest stay timed out
		}
		for p, i := range pending {
			if first != durable.Selectable(awakeables[i]) {
				continue
			}
			v, err := awakeables[i].Result()
			if err != nil {
				step.Tools[i].Status, step.Tools[i].Error = StatusFailed, err.Error()
			} else {
				step.Tools[i].Status, step.Tools[i].Value = StatusAnswered, v
			}
			pending = append(pending[:p], pending[p+1:]...)
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
				world.ToolChosen(task.Name, s, round, tools[i])
				return true, nil
			}, durable.WithName(notifyName(s, round))); err != nil {
				return StepReport{}, err
			}
			break
		}
	}
	return step, nil
}

// askApproval asks the human and waits for the verdict or the approval timeout.
func askApproval(ctx durable.Context, world World, task Task) (ToolReport, error) {
	awakeable := durable.Awakeable[string](ctx)
	report := ToolReport{Name: "approval", Awakeable: awakeable.ID(), Status: StatusTimedOut}
	if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
		return true, world.AskApproval(task.Name, awakeable.ID())
	}, durable.WithName("ask-approval")); err != nil {
		return ToolReport{}, err
	}
	timer := durable.After(ctx, time.Duration(task.ApprovalTimeoutMs)*time.Millisecond)
	first, err := durable.WaitFirst(ctx, awakeable, timer)
	if err != nil {
		return ToolReport{}, err
	}
	if first == durable.Selectable(timer) {
		return report, nil
	}
	v, err := awakeable.Result()
	if err != nil {
		report.Status, report.Error = StatusRejected, err.Error()
	} else {
		report.Status, report.Value = StatusApproved, v
	}
	return report, nil
}

// notifyName names the Run that reports round's choice of step to the progress feed.
func notifyName(step, round int) string { return fmt.Sprintf("notify-step-%d-%d", step, round) }

// ToolFailure is the rejection reason the worker of tool sends for step of task.
func ToolFailure(tool, task string, step int) string {
	return fmt.Sprintf("%s failed on %s step %d", tool, task, step)
}

// FinalOutcome is what the final step of an approved task returns.
func FinalOutcome(task string) string { return "executed the plan of " + task }

var toolNames = []string{"search", "calculator", "weather", "calendar", "email", "database"}

// workload drives agents, tool workers and humans from the run's random stream, as clients of
// the user kit.
type workload struct {
	s *vigiltest.Sim
	// handedOut remembers the awakeables already given to a worker or a human: a Run executed
	// again after a crash hands out the same IDs, and the outside world deduplicates them.
	handedOut map[string]bool
	answers   int
	// checkpoint makes the agent checkpoint after each step.
	checkpoint bool
	// chosen is the progress feed: the tool first reported for each task, step and round, and
	// every report that named another tool there afterwards.
	chosen    map[string]string
	conflicts []string
}

var errWorldDown = errors.New("tool system unavailable")

// tries bounds the retries of every client after connection failures.
const tries = 201

// start schedules one to three agents over the first 15 s, each with one to three steps of one
// to three tools.
func (wl *workload) start() {
	r := wl.s.Rand()
	agents := 1 + r.Intn(3, "agents")
	for a := range agents {
		task := Task{
			Name:              fmt.Sprintf("task-%d", a),
			ToolTimeoutMs:     (2*time.Second + r.Duration(0, 8*time.Second, "tool-timeout")).Milliseconds(),
			ApprovalTimeoutMs: (5*time.Second + r.Duration(0, 15*time.Second, "approval-timeout")).Milliseconds(),
		}
		for range 1 + r.Intn(3, "steps") {
			var tools []string
			for range 1 + r.Intn(3, "tools") {
				tools = append(tools, toolNames[r.Intn(len(toolNames), "tool")])
			}
			task.Steps = append(task.Steps, tools)
		}
		c := wl.s.NumberedClient("agent-caller")
		// The agent's report is judged from the history; a retry after a connection failure
		// carries the same idempotency key and reaches the same invocation.
		wl.s.After(r.Duration(0, 15*time.Second, "submit-at"), func() {
			vigiltest.Call[json.RawMessage](c, vigiltest.Service(ServiceName, HandlerName), task, nil,
				vigiltest.IdempotencyKey(task.Name), vigiltest.Tries(tries))
		})
	}
}

// DispatchTools is the tool system: each tool worker answers quickly, answers around the
// timeout, fails, answers and then fails, or never answers. While faults are on it is sometimes
// down, so the agent's Run fails and the invocation retries.
func (wl *workload) DispatchTools(task string, step int, calls []ToolCall) error {
	r := wl.s.Rand()
	if !wl.s.Healed() && r.Percent(10, "tools-down") {
		return errWorldDown
	}
	for _, c := range calls {
		if wl.handedOut[c.Awakeable] {
			continue
		}
		wl.handedOut[c.Awakeable] = true
		tc := wl.s.NumberedClient("tool-" + c.Tool)
		wl.answers++
		value := fmt.Sprintf("%s answer %d", c.Tool, wl.answers)
		reason := ToolFailure(c.Tool, task, step)
		switch n := r.Intn(100, "tool-behaviour"); {
		case n < 40: // quick answer
			wl.s.After(r.Duration(0, 2*time.Second, "tool-delay"), func() { complete(tc, c.Awakeable, value, "") })
		case n < 60: // slow answer, around the timeout
			wl.s.After(r.Duration(time.Second, 12*time.Second, "tool-delay"), func() { complete(tc, c.Awakeable, value, "") })
		case n < 75: // failure
			wl.s.After(r.Duration(0, 5*time.Second, "tool-delay"), func() { complete(tc, c.Awakeable, "", reason) })
		case n < 85: // answers, then fails: the first completion wins
			d := r.Duration(0, 5*time.Second, "tool-delay")
			wl.s.After(d, func() { complete(tc, c.Awakeable, value, "") })
			wl.s.After(d+r.Duration(0, 50*time.Millisecond, "tool-second"), func() { complete(tc, c.Awakeable, "", reason) })
		default: // never answers
		}
	}
	return nil
}

// AskApproval is the human: approves, rejects, answers too late or never.
func (wl *workload) AskApproval(task, awakeableID string) error {
	r := wl.s.Rand()
	if !wl.s.Healed() && r.Percent(10, "approvals-down") {
		return errWorldDown
	}
	if wl.handedOut[awakeableID] {
		return nil
	}
	wl.handedOut[awakeableID] = true
	human := wl.s.NumberedClient("human")
	name := human.Name()
	switch n := r.Intn(100, "human-behaviour"); {
	case n < 50:
		wl.s.After(r.Duration(0, 5*time.Second, "human-delay"), func() { complete(human, awakeableID, name+" approves "+task, "") })
	case n < 70:
		wl.s.After(r.Duration(0, 5*time.Second, "human-delay"), func() { complete(human, awakeableID, "", name+" rejects "+task) })
	case n < 85:
		wl.s.After(r.Duration(15*time.Second, 40*time.Second, "human-late"), func() { complete(human, awakeableID, name+" approves "+task+" late", "") })
	default:
	}
	return nil
}

// ToolChosen implements World.
func (wl *workload) ToolChosen(task string, step, round int, tool string) {
	if wl.chosen == nil {
		wl.chosen = map[string]string{}
	}
	key := fmt.Sprintf("%s step %d round %d", task, step, round)
	if first, ok := wl.chosen[key]; !ok {
		wl.chosen[key] = tool
	} else if first != tool {
		wl.conflicts = append(wl.conflicts, fmt.Sprintf("the agent reported %s as first to answer in %s, later %s", first, key, tool))
	}
}

// FinalStep implements World.
func (wl *workload) FinalStep(task string) (string, error) { return FinalOutcome(task), nil }

// complete resolves the awakeable with value, or rejects it with reason when reason is set, over
// HTTP; the kit retries it after connection failures as a webhook sender would.
func complete(c *vigiltest.Client, awakeableID, value, reason string) {
	if reason != "" {
		vigiltest.RejectAwakeable(c, awakeableID, reason, nil, vigiltest.Tries(tries))
		return
	}
	vigiltest.ResolveAwakeable(c, awakeableID, value, nil, vigiltest.Tries(tries))
}
