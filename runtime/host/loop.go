package host

import (
	"fmt"
	"maps"
	"net/http"
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
// and whatever else is already queued, up to maxGroupInputs; steps the engine with each;
// applies the steps' batches, syncs once, and performs the effects in order.
//
// Its first turn performs what recovery produced, and reports the outcome on started.
func (h *Host) loop(started chan<- error) {
	defer close(h.loopExited)
	h.readies = h.readies[:0]
	stopErr := h.takeReady()
	if stopErr == nil {
		stopErr = h.commitAndPerform(0)
	}
	started <- stopErr
	if stopErr != nil {
		h.fail(stopErr)
	}
	for stopErr == nil {
		h.group = append(h.group[:0], <-h.inputs)
	drain:
		for len(h.group) < maxGroupInputs {
			select {
			case in := <-h.inputs:
				h.group = append(h.group, in)
			default:
				break drain
			}
		}
		stop := false
		h.readies = h.readies[:0]
		h.fresh = h.fresh[:0]
		stepped := 0
		for i, in := range h.group {
			if in.kind == inStop {
				// Inputs queued after the stop are answered as the ones after closing are.
				h.refuse(h.group[i+1:], "the server is shutting down")
				stop = true
				break
			}
			if h.step(in) {
				if err := h.takeReady(); err != nil {
					stopErr = err
					break
				}
			}
			stepped++
		}
		clear(h.group) // let the inputs' values go
		if stopErr != nil {
			h.fail(stopErr)
			break
		}
		for _, p := range h.eng.TakeReadProblems() {
			h.log.Error("a stored record could not be read; it was taken as absent", "key", p.Key, "problem", p.Problem)
		}
		if err := h.commitAndPerform(stepped); err != nil {
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

// fail records the store failure that stops the host.
func (h *Host) fail(err error) {
	h.failure.Store(&err)
	close(h.failed)
	h.log.Error("store failed; the host stops and acknowledges nothing more", "err", err)
}

// step steps the engine with one input and reports whether it may have produced output.
func (h *Host) step(in input) bool {
	switch in.kind {
	case inIngress:
		h.pending[in.id] = in.reply
		h.fresh = append(h.fresh, in.id)
		h.stats.open.Add(1)
		h.eng.Ingress(in.id, in.req)
	case inMessage:
		h.eng.Receive(in.msg)
	case inTimer:
		delete(h.timers, in.timerID)
		h.eng.FireTimer(in.timer)
	case inForget:
		h.eng.Forget(in.id)
		if reply, ok := h.pending[in.id]; ok {
			delete(h.pending, in.id)
			h.stats.open.Add(-1)
			// Backend's contract is one reply per request; nobody reads this one.
			reply(ingress.ErrorResponse(499, "the client closed the request"))
		}
		return false
	default:
		panic(fmt.Sprintf("host: input kind %d on the engine goroutine", in.kind))
	}
	return true
}

// takeReady takes the engine's Ready for the step just made and applies its batch at once: the
// engine reads what it wrote (finished invocations, idempotency keys) from the store in its next
// step, so a batch must be visible before then. Apply is cheap (bbolt's group commit queues it in
// memory); the group's one Sync comes in commitAndPerform, before any effect leaves.
func (h *Host) takeReady() error {
	r := h.eng.Ready()
	if len(r.Batch) > 0 {
		if err := h.store.Apply(r.Batch); err != nil {
			return fmt.Errorf("apply batch: %w", err)
		}
		h.applied++
	}
	h.readies = append(h.readies, r)
	return nil
}

// commitAndPerform makes the group's batches durable (apply each, sync once) and then, only
// then, performs the group's effects in order. On a store error it performs nothing and
// returns the error: what the engine decided is not durable, so nothing may leave.
func (h *Host) commitAndPerform(inputs int) error {
	batches := h.applied
	h.applied = 0
	h.stats.inputs.Add(uint64(inputs))
	h.stats.groups.Add(1)
	var syncTime time.Duration
	if batches > 0 {
		start := time.Now()
		if err := h.store.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		syncTime = time.Since(start)
		h.stats.batches.Add(uint64(batches))
		h.stats.syncs.Add(1)
		h.stats.syncTime.Add(int64(syncTime))
	}
	messages, replies, timers := 0, 0, 0
	for i := range h.readies {
		r := &h.readies[i]
		for _, m := range r.Messages {
			h.shardOf(m.Invocation).post(shardInput{msg: m})
		}
		for _, rep := range r.Replies {
			if reply, ok := h.pending[rep.Request]; ok {
				delete(h.pending, rep.Request)
				h.stats.open.Add(-1)
				reply(rep.Response)
			}
		}
		for _, t := range r.Timers {
			h.arm(t)
		}
		messages += len(r.Messages)
		replies += len(r.Replies)
		timers += len(r.Timers)
		*r = engine.Ready{} // let the group's values go
	}
	if batches > 0 {
		h.log.Debug("group commit", "inputs", inputs, "batches", batches, "sync", syncTime,
			"messages", messages, "replies", replies, "timers", timers)
	}
	return nil
}

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
	// Sorted, so that requests are answered in the order they arrived.
	for _, id := range slices.Sorted(maps.Keys(h.pending)) {
		reply := h.pending[id]
		delete(h.pending, id)
		h.stats.open.Add(-1)
		reply(h.abandoned(id, failure))
	}
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
	inv, ok := h.eng.WaitingOn(id)
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
