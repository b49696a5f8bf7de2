package host_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/host"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// coreLog is one ordered account of what a Core did to its store and its effects, so that a
// test can read which effect left before or after which sync.
type coreLog []string

// recordingStore is a mem store that writes its Apply and Sync calls to a coreLog and can fail
// its next Sync.
type recordingStore struct {
	*mem.Store
	log      *coreLog
	failSync bool
}

func (s *recordingStore) Apply(b store.Batch) error {
	*s.log = append(*s.log, "apply")
	return s.Store.Apply(b)
}

func (s *recordingStore) Sync() error {
	if s.failSync {
		s.failSync = false
		*s.log = append(*s.log, "sync failed")
		return errors.New("fsync: input/output error")
	}
	*s.log = append(*s.log, "sync")
	return s.Store.Sync()
}

// recordingEffects writes every effect to the coreLog.
type recordingEffects struct{ log *coreLog }

func (fx recordingEffects) Send(m *protocol.Message) {
	*fx.log = append(*fx.log, "send "+m.Kind.String())
}

func (fx recordingEffects) Arm(engine.Timer) { *fx.log = append(*fx.log, "arm") }

func (fx recordingEffects) Durable(r *engine.Ready) {
	*fx.log = append(*fx.log, fmt.Sprintf("durable %d notes", len(r.Notes)))
}

// newTestCore returns a Core over a fresh engine with one service, its store and its log.
func newTestCore(t *testing.T) (*host.Core, *recordingStore, *coreLog) {
	t.Helper()
	log := &coreLog{}
	st := &recordingStore{Store: mem.New(), log: log}
	var next uint64
	eng := engine.New(engine.Config{
		Services: []protocol.ServiceSpec{{Name: "Greeter", Handlers: []protocol.HandlerSpec{{Name: "greet"}}}},
		Store:    st,
		Clock:    fakeclock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		NewID: func() protocol.InvocationID {
			next++
			var id protocol.InvocationID
			binary.BigEndian.PutUint64(id[8:], next)
			return id
		},
	})
	return host.NewCore(host.CoreConfig{Engine: eng, Store: st, Effects: recordingEffects{log: log}}), st, log
}

// send steps the core with a Send to Greeter/greet as request id, whose reply goes to the log.
func send(c *host.Core, log *coreLog, id engine.RequestID) {
	c.Ingress(id, ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Body: []byte(`"x"`)},
		func(r ingress.Response) { *log = append(*log, fmt.Sprintf("reply %d: %d", id, r.Status)) })
}

// invocationNo is the ID newTestCore's engine gives its n-th invocation.
func invocationNo(n uint64) protocol.InvocationID {
	var id protocol.InvocationID
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// indexOf returns the index of the first entry of log that starts with prefix, or -1.
func indexOf(log coreLog, prefix string) int {
	for i, e := range log {
		if len(e) >= len(prefix) && e[:len(prefix)] == prefix {
			return i
		}
	}
	return -1
}

// TestCoreEffectsLeaveOnlyAfterTheSync steps a group of two sends: both batches are applied at
// once, nothing but the gated starts leaves until the group's one sync, and then the effects
// leave in order, each gated start's Durable in its place.
func TestCoreEffectsLeaveOnlyAfterTheSync(t *testing.T) {
	c, _, log := newTestCore(t)
	for id := engine.RequestID(1); id <= 2; id++ {
		send(c, log, id)
		ok, batch := c.Take()
		require.True(t, ok)
		require.True(t, batch, "accepting a send writes the invocation")
		require.NoError(t, c.Apply())
	}
	require.Equal(t, coreLog{"apply", "send start", "apply", "send start"}, *log,
		"nothing but the gated starts leaves before the sync")
	require.Equal(t, 2, c.UnsyncedBatches())
	require.True(t, c.Waiting())
	require.Equal(t, 2, c.Speculating(), "both attempts run before the sync")
	c.Receive(protocol.Message{Kind: protocol.KindParked, Invocation: invocationNo(1), Attempt: 1})
	require.Equal(t, 1, c.Speculating(), "the first attempt parked")

	require.NoError(t, c.Sync())
	require.Equal(t, coreLog{"apply", "send start", "apply", "send start", "sync", "durable 1 notes", "durable 1 notes"}, *log,
		"the sync makes the group durable; its effects wait for Perform")
	require.Equal(t, 2, c.Synced())
	require.Zero(t, c.Speculating(), "the sync ends the group")

	c.Perform()
	sync := indexOf(*log, "sync")
	require.Positive(t, indexOf(*log, "reply 1"), "request 1 is answered")
	require.Greater(t, indexOf(*log, "reply 1"), sync)
	require.Greater(t, indexOf(*log, "reply 2"), indexOf(*log, "reply 1"), "replies leave in order")
	require.Greater(t, indexOf(*log, "send durable"), sync, "the gated starts are durable after the sync")
	require.False(t, c.Waiting())

	st := c.Stats()
	require.Equal(t, host.CoreStats{Inputs: 2, Groups: 1, Batches: 2, Syncs: 1}, st)
}

// TestCoreNothingLeavesAfterAFailedSync fails the group's sync: Commit returns the error and no
// effect of the group leaves, then or later.
func TestCoreNothingLeavesAfterAFailedSync(t *testing.T) {
	c, st, log := newTestCore(t)
	send(c, log, 1)
	require.NoError(t, c.Flush())
	st.failSync = true
	err := c.Commit()
	require.ErrorContains(t, err, "sync: fsync: input/output error")
	require.Equal(t, coreLog{"apply", "send start", "sync failed"}, *log, "nothing leaves after a failed sync")
	require.Zero(t, c.Synced(), "nothing of the failed group waits to be performed")
	c.Perform()
	require.Equal(t, coreLog{"apply", "send start", "sync failed"}, *log, "the gated start never hears it is durable")
	require.Equal(t, int64(1), c.Stats().OpenRequests, "the request is still open")

	c.Abandon(func(engine.RequestID) ingress.Response { return ingress.ErrorResponse(503, "stopping") })
	require.Equal(t, coreLog{"apply", "send start", "sync failed", "reply 1: 503"}, *log, "abandoning answers it")
	require.Zero(t, c.Stats().OpenRequests)
}

// TestCoreWithoutBatchNeedsNoSync commits a group that wrote nothing (a request the engine
// refuses): its reply leaves without a store sync.
func TestCoreWithoutBatchNeedsNoSync(t *testing.T) {
	c, _, log := newTestCore(t)
	c.Ingress(1, ingress.Request{Kind: ingress.Send, Service: "Nobody", Handler: "greet"},
		func(r ingress.Response) { *log = append(*log, fmt.Sprintf("reply 1: %d", r.Status)) })
	ok, batch := c.Take()
	require.True(t, ok)
	require.False(t, batch)
	require.NoError(t, c.Apply())
	require.NoError(t, c.Commit())
	require.Equal(t, coreLog{"durable 0 notes", "reply 1: 404"}, *log)
	require.Equal(t, host.CoreStats{Inputs: 1, Groups: 1}, c.Stats())
}

// TestCoreForgetAnswers499 forgets an open request: its callback gets the 499 nobody reads.
func TestCoreForgetAnswers499(t *testing.T) {
	c, _, log := newTestCore(t)
	c.Ingress(1, ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: "greet", Body: []byte(`"x"`)},
		func(r ingress.Response) { *log = append(*log, fmt.Sprintf("reply 1: %d", r.Status)) })
	require.NoError(t, c.Flush())
	require.NoError(t, c.Commit())
	require.Equal(t, -1, indexOf(*log, "reply"), "a call waits for its invocation")
	c.Forget(1)
	require.Equal(t, "reply 1: 499", (*log)[len(*log)-1])
	require.Zero(t, c.Stats().OpenRequests)
}

// TestCoreReplyByID answers requests given without a callback through CoreConfig.Reply, with
// their IDs, after the sync as any reply, and from Forget and Abandon too.
func TestCoreReplyByID(t *testing.T) {
	c0, st, log := newTestCore(t)
	c := host.NewCore(host.CoreConfig{Engine: c0.Engine(), Store: st, Effects: recordingEffects{log: log},
		Reply: func(id engine.RequestID, r ingress.Response) {
			*log = append(*log, fmt.Sprintf("reply %d: %d", id, r.Status))
		}})
	c.Ingress(1, ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Body: []byte(`"x"`)}, nil)
	c.Ingress(2, ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: "greet", Body: []byte(`"x"`)}, nil)
	c.Ingress(3, ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: "greet", Body: []byte(`"x"`)}, nil)
	require.NoError(t, c.Flush())
	require.Equal(t, -1, indexOf(*log, "reply"), "nothing is answered before the sync")
	require.NoError(t, c.Commit())
	require.Equal(t, "reply 1: 202", (*log)[len(*log)-1], "the send is answered after the sync")
	c.Forget(2)
	require.Equal(t, "reply 2: 499", (*log)[len(*log)-1])
	c.Abandon(func(engine.RequestID) ingress.Response { return ingress.ErrorResponse(503, "stopping") })
	require.Equal(t, "reply 3: 503", (*log)[len(*log)-1])
	require.Zero(t, c.Stats().OpenRequests)
}

// TestCoreResetForgetsItsPast runs one script on a new Core and on a used Core reset over a
// new engine and store: same effects, same speculation (what the used Core learned of the
// handler is forgotten), same counters.
func TestCoreResetForgetsItsPast(t *testing.T) {
	script := func(c *host.Core, log *coreLog) {
		for id := engine.RequestID(1); id <= 3; id++ {
			send(c, log, id)
			require.NoError(t, c.Flush())
			*log = append(*log, fmt.Sprintf("speculating %d", c.Speculating()))
			c.Receive(protocol.Message{Kind: protocol.KindParked, Invocation: invocationNo(uint64(id)), Attempt: 1})
			require.NoError(t, c.Commit())
		}
	}
	fresh, _, freshLog := newTestCore(t)
	script(fresh, freshLog)

	used, _, usedLog := newTestCore(t)
	script(used, usedLog)
	send(used, usedLog, 9) // left open, in the group
	require.NoError(t, used.Flush())
	other, st, log := newTestCore(t)
	used.Reset(host.CoreConfig{Engine: other.Engine(), Store: st, Effects: recordingEffects{log: log}})
	require.Zero(t, used.Stats().OpenRequests)
	require.False(t, used.Waiting())
	script(used, log)
	require.Equal(t, *freshLog, *log)
	require.Equal(t, fresh.Stats(), used.Stats())
}

// TestCoreOneSyncPerCall runs a call whose handler has no side effect through a Core and a real
// executor: the gated start leaves when its batch is applied, the handler's end comes back
// before the sync, and acceptance, journal and output become durable with one sync, after which
// the reply leaves. A handler that reaches a Run waits at it for the Durable.
func TestCoreOneSyncPerCall(t *testing.T) {
	log := &coreLog{}
	st := &recordingStore{Store: mem.New(), log: log}
	var next uint64
	svc := durable.NewService("Greeter").
		Handler("greet", durable.NewServiceHandler(func(_ durable.Context, s string) (string, error) { return "hi " + s, nil })).
		Handler("charge", durable.NewServiceHandler(func(ctx durable.Context, s string) (string, error) {
			return durable.Run(ctx, func(durable.RunContext) (string, error) {
				*log = append(*log, "side effect")
				return "charged " + s, nil
			})
		}))
	clock := fakeclock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := engine.New(engine.Config{
		Services: []protocol.ServiceSpec{svc.Spec()},
		Store:    st,
		Clock:    clock,
		NewID: func() protocol.InvocationID {
			next++
			return invocationNo(next)
		},
	})
	var fromExecutor []protocol.Message
	ex := executor.New(executor.Config{
		Services:          []*durable.Service{svc},
		Send:              func(m protocol.Message) { fromExecutor = append(fromExecutor, m) },
		Clock:             clock,
		InactivityTimeout: func() time.Duration { return time.Minute },
	})
	fx := &executorEffects{recordingEffects: recordingEffects{log: log}, ex: ex}
	c := host.NewCore(host.CoreConfig{Engine: eng, Store: st, Effects: fx})
	call := func(id engine.RequestID, handler string) {
		c.Ingress(id, ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: handler, Body: []byte(`"x"`)},
			func(r ingress.Response) { *log = append(*log, fmt.Sprintf("reply %d: %d %s", id, r.Status, r.Body)) })
		require.NoError(t, c.Flush())
		// What the executor sent meanwhile joins the group, as the host's hold lets it.
		for len(fromExecutor) > 0 {
			m := fromExecutor[0]
			fromExecutor = fromExecutor[1:]
			c.Receive(m)
			require.NoError(t, c.Flush())
		}
		require.Zero(t, c.Speculating())
		require.NoError(t, c.Commit())
		for len(fromExecutor) > 0 { // after the Durable
			m := fromExecutor[0]
			fromExecutor = fromExecutor[1:]
			c.Receive(m)
			require.NoError(t, c.Flush())
			require.NoError(t, c.Commit())
		}
	}

	call(1, "greet")
	require.Equal(t, coreLog{"apply", "send start", "apply", "sync", "durable 1 notes", "durable 2 notes", "send durable",
		`reply 1: 200 "hi x"`, "arm"}, *log, "one sync for the acceptance, the journal and the output")

	*log = (*log)[:0]
	call(2, "charge")
	effect, durableSent := indexOf(*log, "side effect"), indexOf(*log, "send durable")
	require.Positive(t, effect, "the side effect ran: %v", *log)
	require.Greater(t, effect, durableSent, "the side effect waited for its start to be durable: %v", *log)
	require.Equal(t, `reply 2: 200 "charged x"`, (*log)[len(*log)-1])
	ex.Crash()
}

// executorEffects delivers what a Core sends to a real executor, synchronously, and records it.
type executorEffects struct {
	recordingEffects
	ex *executor.Executor
}

func (fx *executorEffects) Send(m *protocol.Message) {
	fx.recordingEffects.Send(m)
	fx.ex.Deliver(*m)
}

// TestCoreLearnsWhichHandlersToHoldFor: once a handler's speculative attempts park rather than
// end, the group no longer waits for them (it would only delay the sync), except for every
// sixteenth start, which tells whether the handler has changed its ways.
func TestCoreLearnsWhichHandlersToHoldFor(t *testing.T) {
	c, _, log := newTestCore(t)
	waitedFor := func(id engine.RequestID) bool {
		send(c, log, id)
		require.NoError(t, c.Flush())
		waited := c.Speculating() == 1
		c.Receive(protocol.Message{Kind: protocol.KindParked, Invocation: invocationNo(uint64(id)), Attempt: 1})
		require.Zero(t, c.Speculating())
		require.NoError(t, c.Commit())
		return waited
	}
	require.True(t, waitedFor(1), "a handler not seen before is waited for")
	var waited []engine.RequestID
	for id := engine.RequestID(2); id <= 32; id++ {
		if waitedFor(id) {
			waited = append(waited, id)
		}
	}
	require.Equal(t, []engine.RequestID{16, 32}, waited, "only the probes")

	// Attempts that end win the handler back, one probe at a time.
	c2, _, log2 := newTestCore(t)
	for id := engine.RequestID(1); id <= 2; id++ {
		send(c2, log2, id)
		require.NoError(t, c2.Flush())
		c2.Receive(protocol.Message{Kind: protocol.KindParked, Invocation: invocationNo(uint64(id)), Attempt: 1})
		require.NoError(t, c2.Commit())
	}
	send(c2, log2, 3)
	require.NoError(t, c2.Flush())
	require.Zero(t, c2.Speculating(), "score -2: not waited for")
	c2.Receive(protocol.Message{Kind: protocol.KindEnd, Invocation: invocationNo(3), Attempt: 1, Index: 1,
		Entry: journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Value: []byte(`"x"`)}}})
	require.NoError(t, c2.Flush())
	require.NoError(t, c2.Commit())
	send(c2, log2, 4)
	require.NoError(t, c2.Flush())
	require.Zero(t, c2.Speculating(), "score -1: still not waited for")
	c2.Receive(protocol.Message{Kind: protocol.KindEnd, Invocation: invocationNo(4), Attempt: 1, Index: 1,
		Entry: journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Value: []byte(`"x"`)}}})
	require.NoError(t, c2.Flush())
	require.NoError(t, c2.Commit())
	send(c2, log2, 5)
	require.NoError(t, c2.Flush())
	require.Equal(t, 1, c2.Speculating(), "score 0: waited for again")
}
