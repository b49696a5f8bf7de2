package host

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"time"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// inputKind tells what an input carries.
type inputKind uint8

const (
	// inIngress: an ingress request (req) with its reply callback and request ID.
	inIngress inputKind = iota + 1
	// inMessage: a message (msg) from an executor shard.
	inMessage
	// inTimer: the engine timer (timer, armed as timerID) is due.
	inTimer
	// inForget: the client of request id went away; its reply callback is dropped.
	inForget
	// inStop: finish the group and stop.
	inStop
)

// input is one thing for the engine goroutine to do. One tagged struct on one channel, so that
// the engine goroutine never selects among several ready channels: inputs are taken in the
// order they were posted.
type input struct {
	kind    inputKind
	id      engine.RequestID
	req     ingress.Request
	reply   func(ingress.Response)
	msg     protocol.Message
	timer   engine.Timer
	timerID uint64
}

// post hands in to the engine goroutine, waiting while its queue is full. It reports false,
// without posting, once the engine goroutine has stopped taking inputs.
func (h *Host) post(in input) bool {
	h.postMu.RLock()
	defer h.postMu.RUnlock()
	if h.closed {
		return false
	}
	select {
	case h.inputs <- in:
		return true
	case <-h.done:
		return false
	}
}

// stopLoop asks the engine goroutine to finish what is queued before the request and stop.
func (h *Host) stopLoop() {
	h.stopOnce.Do(func() { h.post(input{kind: inStop}) })
}

// loop is the engine goroutine. Each turn takes one group of inputs: the first that arrives
// and whatever else is already queued, up to maxGroupInputs; steps the engine with each through
// the Core, which applies the steps' batches (sending gated starts at once); holds the group
// open while those attempts run (holdForSpeculation); then syncs once and performs the effects
// in order.
//
// Its first turn performs what recovery produced, and reports the outcome on started.
func (h *Host) loop(started chan<- error) {
	defer close(h.loopExited)
	stopErr := h.core.Flush()
	if stopErr == nil {
		stopErr = h.core.Commit()
	}
	started <- stopErr
	if stopErr != nil {
		h.fail(stopErr)
	}
	for stopErr == nil {
		h.group = append(h.group[:0], <-h.inputs)
		h.drain()
		if len(h.group) < maxGroupInputs {
			// Let the goroutines that are runnable now (request handlers and shards, woken by
			// the previous group's replies and messages) run before this group syncs: what
			// they post joins this group's one fsync instead of waiting for the next. With
			// nothing else runnable, Gosched returns at once.
			runtime.Gosched()
			h.drain()
		}
		h.fresh = h.fresh[:0]
		stop, err := h.stepAll(h.group)
		if err == nil && !stop {
			stop, err = h.holdForSpeculation(len(h.group))
		}
		clear(h.group) // let the inputs' values go
		if err != nil {
			stopErr = err
			h.fail(err)
			break
		}
		for _, p := range h.core.Engine().TakeReadProblems() {
			h.log.Error("a stored record could not be read; it was taken as absent", "key", p.Key, "problem", p.Problem)
		}
		if err := h.core.Commit(); err != nil {
			stopErr = err
			h.fail(err)
			break
		}
		if stop {
			break
		}
	}
	h.shutdownLoop(stopErr)
}

// stepAll steps the engine with each of ins through the Core and applies each step's batch. It
// reports a stop input (the inputs after it are refused) or the store error that stops the host.
func (h *Host) stepAll(ins []input) (stop bool, err error) {
	for i, in := range ins {
		if in.kind == inStop {
			// Inputs queued after the stop are answered as the ones after closing are.
			h.refuse(ins[i+1:], "the server is shutting down")
			return true, nil
		}
		if h.step(in) {
			if err := h.core.Flush(); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// holdForSpeculation keeps the group open while attempts it started speculatively still run,
// stepping the inputs that come meanwhile (their ends, and whatever else arrives), until none
// runs, the group holds maxGroupInputs inputs, or maxSpeculationHold has passed. A call whose
// handler ends meanwhile is answered after this group's one fsync instead of the next group's.
func (h *Host) holdForSpeculation(taken int) (stop bool, err error) {
	if h.core.Speculating() == 0 {
		return false, nil
	}
	if h.hold == nil {
		h.hold = time.NewTimer(maxSpeculationHold)
	} else {
		h.hold.Reset(maxSpeculationHold)
	}
	defer h.hold.Stop()
	for h.core.Speculating() > 0 && taken < maxGroupInputs {
		select {
		case in := <-h.inputs:
			taken++
			if stop, err := h.stepAll([]input{in}); stop || err != nil {
				return stop, err
			}
		case <-h.hold.C:
			return false, nil
		}
	}
	return false, nil
}

// drain appends to the group whatever inputs are already queued, up to maxGroupInputs.
func (h *Host) drain() {
	for len(h.group) < maxGroupInputs {
		select {
		case in := <-h.inputs:
			h.group = append(h.group, in)
		default:
			return
		}
	}
}

// fail records the store failure that stops the host.
func (h *Host) fail(err error) {
	h.failure.Store(&err)
	close(h.failed)
	h.log.Error("store failed; the host stops and acknowledges nothing more", "err", err)
}

// step steps the engine with one input through the Core and reports whether it may have
// produced output.
func (h *Host) step(in input) bool {
	switch in.kind {
	case inIngress:
		h.fresh = append(h.fresh, in.id)
		h.core.Ingress(in.id, in.req, in.reply)
	case inMessage:
		h.core.Receive(in.msg)
	case inTimer:
		delete(h.timers, in.timerID)
		h.core.FireTimer(in.timer)
	case inForget:
		h.core.Forget(in.id)
		return false
	default:
		panic(fmt.Sprintf("host: input kind %d on the engine goroutine", in.kind))
	}
	return true
}

// loopEffects performs the Core's messages and timers for the engine goroutine.
type loopEffects struct{ h *Host }

// Send posts m to the executor shard of its invocation, which never blocks.
func (fx loopEffects) Send(m *protocol.Message) { fx.h.shardOf(m.Invocation).post(shardInput{msg: *m}) }

// Arm arms t on the host's clock.
func (fx loopEffects) Arm(t engine.Timer) { fx.h.arm(t) }

// Durable does nothing: the host records no history.
func (loopEffects) Durable(*engine.Ready) {}

// arm asks the clock to post t back to the engine goroutine at its deadline.
func (h *Host) arm(t engine.Timer) {
	h.nextTimer++
	id := h.nextTimer
	h.timers[id] = h.clock.AfterFunc(t.Deadline.Sub(h.clock.Now()), func() {
		h.post(input{kind: inTimer, timer: t, timerID: id})
	})
}

// refuse answers the ingress requests among ins with 503; everything else in them is dropped
// (executor messages and timers are moot once the engine stops: recovery restarts attempts
// and re-arms timers from the store).
func (h *Host) refuse(ins []input, why string) {
	for _, in := range ins {
		if in.kind == inIngress {
			in.reply(unavailable(why))
		}
	}
}

// shutdownLoop ends the engine goroutine's life: no more inputs are taken, whatever is still
// queued is refused, open requests are answered 503 and the timers are stopped.
func (h *Host) shutdownLoop(failure error) {
	close(h.done)
	h.postMu.Lock()
	h.closed = true
	h.postMu.Unlock()
	// The engine never saw what is still queued, so nothing was accepted for it.
	notTaken := "the server is shutting down; the request was not accepted: send it again once the server is back"
	if failure != nil {
		notTaken = "the server's store failed; the request was not accepted: send it again once the server is back"
	}
	// No poster can add to the queue now: drain it for good.
	for {
		select {
		case in := <-h.inputs:
			h.refuse([]input{in}, notTaken)
			continue
		default:
		}
		break
	}
	// In request ID order, so that requests are answered in the order they arrived.
	h.core.Abandon(func(id engine.RequestID) ingress.Response { return h.abandoned(id, failure) })
	for id, t := range h.timers {
		t.Stop()
		delete(h.timers, id)
	}
}

// abandoned is the 503 for request id, which waits on an invocation that the host stops
// before it ends. It names the invocation (in the words and in the x-restate-id header) when
// the invocation is durable, so that the client can attach to it once the host is back rather
// than send the call again. After a store failure, the invocations of the group whose commit
// failed may not exist after a restart: those requests get no ID.
func (h *Host) abandoned(id engine.RequestID, failure error) ingress.Response {
	inv, ok := h.core.Engine().WaitingOn(id)
	if ok && failure != nil && slices.Contains(h.fresh, id) {
		ok = false
	}
	var resp ingress.Response
	switch {
	case ok && failure == nil:
		resp = unavailable(fmt.Sprintf("the server is shutting down; attach to invocation %s once it is back", inv))
	case ok:
		resp = unavailable(fmt.Sprintf("the server's store failed; attach to invocation %s once the server is back to learn its outcome", inv))
	case failure == nil:
		resp = unavailable("the server is shutting down; the request's outcome is unknown until it is back")
	default:
		resp = unavailable("the server's store failed; the request's outcome is unknown until it restarts")
	}
	if ok {
		resp.InvocationID = inv.String()
	}
	return resp
}

// unavailable is the 503 for requests the host can no longer take or answer.
func unavailable(why string) ingress.Response {
	return ingress.ErrorResponse(http.StatusServiceUnavailable, why)
}
