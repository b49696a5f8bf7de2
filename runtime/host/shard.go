package host

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// shardInput is one thing for a shard goroutine to do: deliver msg to the executor, run fn (a
// timer callback of the executor's), or, with stop, abort every attempt and end.
type shardInput struct {
	msg  protocol.Message
	fn   func()
	stop bool
}

// shard is one executor goroutine with its executor and mailbox. The mailbox is unbounded so
// that the engine goroutine never waits for a shard whose handler is busy in a side effect;
// the back-pressure is on the other side, where the shard posts to the engine's bounded queue.
type shard struct {
	h  *Host
	ex *executor.Executor

	mu      sync.Mutex
	queue   []shardInput
	stopped bool
	// wake has room for one signal: a post that finds it full knows the shard will look at
	// the queue again anyway.
	wake chan struct{}
	exit chan struct{}
}

// startShards starts cfg.ExecutorShards shard goroutines.
func (h *Host) startShards() {
	h.shards = make([]*shard, h.cfg.ExecutorShards)
	inactivity := max(h.cfg.InactivityTimeout, 0)
	for i := range h.shards {
		s := &shard{h: h, wake: make(chan struct{}, 1), exit: make(chan struct{})}
		s.ex = executor.New(executor.Config{
			Services:          h.cfg.Services,
			Send:              func(m protocol.Message) { h.post(input{kind: inMessage, msg: m}) },
			Clock:             shardClock{base: h.clock, s: s},
			InactivityTimeout: func() time.Duration { return inactivity },
		})
		h.shards[i] = s
		go s.run()
	}
}

// stopShards aborts every shard's attempts and waits for the shard goroutines to end.
func (h *Host) stopShards() {
	for _, s := range h.shards {
		s.post(shardInput{stop: true})
	}
	for _, s := range h.shards {
		<-s.exit
	}
}

// shardOf routes an invocation's messages: always the same shard for one invocation, so they
// arrive in the order the engine sent them and meet the attempt they are for.
func (h *Host) shardOf(id protocol.InvocationID) *shard {
	// IDs are uniformly random, so their leading bytes are as good as any hash.
	return h.shards[binary.BigEndian.Uint64(id[:8])%uint64(len(h.shards))]
}

// post adds in to the mailbox without blocking; after the stop it drops it.
func (s *shard) post(in shardInput) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = in.stop
	s.queue = append(s.queue, in)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the shard goroutine: it is the only code that touches the shard's executor.
func (s *shard) run() {
	defer close(s.exit)
	var batch []shardInput
	for range s.wake {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		for i := range batch {
			in := batch[i]
			batch[i] = shardInput{}
			switch {
			case in.stop:
				// Abort every attempt: parked coroutines end and their goroutines with them.
				// The engine is gone, so the lost connections are not reported: recovery
				// restarts whatever was running.
				s.ex.Crash()
				return
			case in.fn != nil:
				in.fn()
			default:
				s.ex.Deliver(in.msg)
			}
		}
	}
}

// shardClock is the clock a shard's executor sees: real time, but AfterFunc callbacks run on
// the shard goroutine (posted to its mailbox), because the executor is not safe for concurrent
// use.
type shardClock struct {
	base fakeclock.Clock
	s    *shard
}

// Now implements fakeclock.Clock.
func (c shardClock) Now() time.Time { return c.base.Now() }

// AfterFunc implements fakeclock.Clock. It is called on the shard goroutine.
func (c shardClock) AfterFunc(d time.Duration, f func()) fakeclock.Timer {
	t := &shardTimer{}
	t.base = c.base.AfterFunc(d, func() {
		c.s.post(shardInput{fn: func() {
			// A Stop that came after the base timer fired but before this ran still wins.
			if !t.stopped {
				t.stopped = true
				f()
			}
		}})
	})
	return t
}

// shardTimer is a pending executor timer. It is only touched on the shard goroutine.
type shardTimer struct {
	base    fakeclock.Timer
	stopped bool
}

// Stop implements fakeclock.Timer.
func (t *shardTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	t.base.Stop()
	return was
}
