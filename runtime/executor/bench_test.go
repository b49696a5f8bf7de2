package executor_test

import (
	"testing"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// benchApproval is the approval handler without test hooks.
func benchApproval() *durable.Service {
	return service(func(ctx durable.Context, req request) (string, error) {
		aw := durable.Awakeable[string](ctx)
		if _, err := durable.Run(ctx, func(durable.RunContext) (string, error) { return aw.ID(), nil }, durable.WithName("hand-out")); err != nil {
			return "", err
		}
		decision, err := aw.Result()
		if err != nil {
			return "", err
		}
		return "review of " + req.Document + ": " + decision, nil
	})
}

// benchExecutor is an executor whose Send keeps only the last message and counts them.
func benchExecutor(timeout time.Duration, svc *durable.Service) (*executor.Executor, *protocol.Message, *int) {
	var last protocol.Message
	var sent int
	ex := newExecutor(executor.Config{
		Services:          []*durable.Service{svc},
		Send:              func(m protocol.Message) { last = m; sent++ },
		Clock:             fakeclock.NewFake(epoch),
		InactivityTimeout: func() time.Duration { return timeout },
	})
	return ex, &last, &sent
}

// BenchmarkAttempt is one full attempt of the approval handler: start, two commands, the run's
// ack, the awakeable's completion and the end, with an inactivity timer armed at each park.
func BenchmarkAttempt(b *testing.B) {
	ex, last, sent := benchExecutor(time.Minute, benchApproval())
	inv := invID(1)
	j := []journal.Entry{inputEntry(b, request{Document: "doc"})}
	start := protocol.Message{Kind: protocol.KindStart, Invocation: inv, Service: svcName, Handler: hName, Journal: j}
	ack := protocol.Message{Kind: protocol.KindAck, Invocation: inv, Index: 2}
	done := protocol.Message{Kind: protocol.KindCompletion, Invocation: inv, Index: 1,
		Entry: journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: value(b, "approved")}}
	b.ReportAllocs()
	attempt := uint32(0)
	for b.Loop() {
		attempt++
		start.Attempt, ack.Attempt, done.Attempt = attempt, attempt, attempt
		ex.Deliver(start)
		ex.Deliver(ack)
		ex.Deliver(done)
	}
	b.StopTimer()
	if last.Kind != protocol.KindEnd || *sent != 3*int(attempt) {
		b.Fatalf("last message %s after %d sent", last, *sent)
	}
}

// BenchmarkReplay is an attempt that replays the approval handler's whole journal and ends.
func BenchmarkReplay(b *testing.B) {
	ex, last, _ := benchExecutor(time.Minute, benchApproval())
	inv := invID(1)
	j := []journal.Entry{
		inputEntry(b, request{Document: "doc"}),
		completedAwakeable(value(b, "approved")),
		runEntry("hand-out", value(b, awakeableID(inv, 1))),
	}
	start := protocol.Message{Kind: protocol.KindStart, Invocation: inv, Service: svcName, Handler: hName, Journal: j}
	deliverAttempts(b, ex, start)
	if last.Kind != protocol.KindEnd {
		b.Fatalf("last message %s", last)
	}
}

// BenchmarkResume is one park and resume: a completion wakes the handler, which creates its next
// awakeable (one command) and parks on it again, arming a new inactivity timer. Each attempt is
// aborted after a batch so the journal stays small.
func BenchmarkResume(b *testing.B) {
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		for {
			if _, err := durable.Awakeable[string](ctx).Result(); err != nil {
				return "", err
			}
		}
	})
	ex, last, _ := benchExecutor(time.Minute, svc)
	inv := invID(2)
	start := protocol.Message{Kind: protocol.KindStart, Invocation: inv, Service: svcName, Handler: hName,
		Journal: []journal.Entry{inputEntry(b, nil)}}
	done := protocol.Message{Kind: protocol.KindCompletion, Invocation: inv,
		Entry: journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: value(b, "v")}}
	const batch = 1024
	attempt := uint32(1)
	start.Attempt, done.Attempt, done.Index = attempt, attempt, 1
	ex.Deliver(start)
	b.ReportAllocs()
	for b.Loop() {
		ex.Deliver(done)
		if last.Kind != protocol.KindCommand || last.Index != done.Index+1 {
			b.Fatalf("after completing %d: %s", done.Index, last)
		}
		done.Index++
		if done.Index > batch {
			b.StopTimer()
			ex.Deliver(protocol.Message{Kind: protocol.KindAbort, Invocation: inv, Attempt: attempt})
			attempt++
			start.Attempt, done.Attempt, done.Index = attempt, attempt, 1
			ex.Deliver(start)
			b.StartTimer()
		}
	}
	b.StopTimer()
	ex.Deliver(protocol.Message{Kind: protocol.KindAbort, Invocation: inv, Attempt: attempt})
	if ex.Active() != 0 {
		b.Fatal("attempt left running")
	}
}

// BenchmarkSuspend is a first attempt of the approval handler that suspends where the simulator's
// attempts mostly do: the run is acknowledged, the handler parks on its awakeable, and the
// inactivity timeout (zero here) suspends it, unwinding the parked handler.
func BenchmarkSuspend(b *testing.B) {
	ex, last, _ := benchExecutor(0, benchApproval())
	inv := invID(3)
	start := protocol.Message{Kind: protocol.KindStart, Invocation: inv, Service: svcName, Handler: hName,
		Journal: []journal.Entry{inputEntry(b, request{Document: "doc"})}}
	// The run's ack never comes: each attempt suspends at its first park, at the run's Await.
	deliverAttempts(b, ex, start)
	if last.Kind != protocol.KindSuspend || ex.Active() != 0 {
		b.Fatalf("last message %s, %d attempts running", last, ex.Active())
	}
}

// deliverAttempts delivers start as attempt 1, 2, ... for as long as the benchmark runs, and
// stops its timer.
func deliverAttempts(b *testing.B, ex *executor.Executor, start protocol.Message) {
	b.ReportAllocs()
	for attempt := uint32(1); b.Loop(); attempt++ {
		start.Attempt = attempt
		ex.Deliver(start)
	}
	b.StopTimer()
}
