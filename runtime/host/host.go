package host

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// ErrClosed is what Serve returns when the host was closed before it started serving.
var ErrClosed = errors.New("host: closed")

// Host runs one engine against one store with its executors, timers and ingress. Build it with
// New; serve it with Run (or Serve, or mount Handler on a server of your own); stop it with
// Close, or by cancelling Run's context.
//
//	New ──► running ──── Close / ctx cancelled ──► closed
//	           │                                     ▲
//	           └─ Apply or Sync fails ─► failed ─────┘ (nothing acknowledged after the failure)
type Host struct {
	cfg    Config
	log    *slog.Logger
	clock  fakeclock.Clock
	store  *bolt.Store
	kinds  ingress.ServiceKinds
	shards []*shard

	// ---- owned by the engine goroutine (and by New before that goroutine starts)
	// core owns the engine, the open requests' reply callbacks and the group commit.
	core *Core
	// timers are the armed engine timers, so that closing can stop them.
	timers    map[uint64]fakeclock.Timer
	nextTimer uint64
	// group is the current group's inputs, reused from group to group.
	group []input
	// hold times maxSpeculationHold; made on first use and reused.
	hold *time.Timer
	// fresh are the ingress requests stepped in the current group. If its commit fails, what
	// the engine decided for them is not durable, so shutdown names no invocation to them.
	fresh []engine.RequestID

	// inputs is the engine goroutine's only input channel.
	inputs chan input
	// done is closed when the engine goroutine stops taking inputs; posters then give up.
	done chan struct{}
	// postMu and closed make the last drain of inputs final: a poster holds postMu.RLock
	// while it posts, and the engine goroutine sets closed under postMu.Lock after done.
	postMu sync.RWMutex
	closed bool
	// loopExited is closed when the engine goroutine has returned.
	loopExited chan struct{}

	nextRequest atomic.Uint64
	stopOnce    sync.Once
	closeOnce   sync.Once
	closeErr    error
	// failure is the store error that stopped the engine goroutine, if one did.
	failure atomic.Pointer[error]
	failed  chan struct{}
	addr    atomic.Pointer[net.Addr]

	handler http.Handler
}

// Stats counts the host's work since New, so that tests and metrics can see group commit.
type Stats struct {
	// Inputs is the number of inputs the engine goroutine stepped the engine with.
	Inputs uint64
	// Groups is the number of groups of inputs the engine goroutine took, each ending in at
	// most one Sync.
	Groups uint64
	// Batches is the number of non-empty store batches applied (one per step that wrote).
	Batches uint64
	// Syncs is the number of Syncs that had batches to make durable. Batches/Syncs is the
	// group-commit factor.
	Syncs uint64
	// SyncTime is the total time spent in those Syncs.
	SyncTime time.Duration
	// OpenRequests is the number of ingress requests the engine has not answered yet (calls
	// and attaches waiting for an invocation to finish). A request whose client went away
	// stops counting once the engine goroutine has dropped it.
	OpenRequests int64
	// Store is the store's own view of the same work.
	Store bolt.Stats
}

// New opens (creating if needed) the store in cfg.DataDir, recovers the engine from it,
// starts the engine goroutine and the executor shards, and performs what recovery asked for:
// running invocations get a new attempt, timers are armed again (due ones fire at once),
// suspended invocations stay suspended. It does not listen: Run does, or mount Handler.
func New(cfg Config) (*Host, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("host: create data dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, StoreFileName)
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	h := &Host{
		cfg:        cfg,
		log:        cfg.Logger,
		clock:      cfg.Clock,
		store:      st,
		kinds:      ingress.ServiceKinds{},
		timers:     map[uint64]fakeclock.Timer{},
		inputs:     make(chan input, inputQueueLen),
		done:       make(chan struct{}),
		loopExited: make(chan struct{}),
		failed:     make(chan struct{}),
	}
	ecfg := engine.Config{
		Clock:                cfg.Clock,
		NewID:                newInvocationID,
		Retry:                cfg.Retry,
		Retention:            cfg.Retention,
		IdempotencyRetention: cfg.IdempotencyRetention,
	}
	for _, s := range cfg.Services {
		ecfg.Services = append(ecfg.Services, s.Spec())
		h.kinds[s.Name()] = ingress.KindOf(s.Kind())
	}
	start := time.Now()
	ecfg.Store = st
	eng, err := engine.Recover(ecfg)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("host: %w", err)
	}
	h.core = NewCore(CoreConfig{Engine: eng, Store: st, Effects: loopEffects{h: h}, Now: time.Now, Logger: h.log})
	for _, p := range eng.Problems() {
		h.log.Error("recovery could not use a record", "key", p.Key, "problem", p.Problem, "action", p.Action)
	}
	if n := eng.QuarantinedEarlier(); n > 0 {
		h.log.Warn("records set aside by earlier starts are kept under q/ in the store", "records", n)
	}
	h.handler = &httpHandler{h: h}
	h.startShards()
	unfinished := len(eng.Unfinished())
	h.log.Info("vigil host starting",
		"data_dir", cfg.DataDir, "store", path,
		"recovered_invocations", eng.Invocations(), "unfinished", unfinished,
		"services", len(cfg.Services), "executor_shards", cfg.ExecutorShards,
		"recovery", time.Since(start).Round(time.Microsecond))
	// The engine goroutine's first group performs what recovery produced, before any input.
	started := make(chan error, 1)
	go h.loop(started)
	if err := <-started; err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("host: perform recovery: %w", err)
	}
	return h, nil
}

// newInvocationID draws a fresh random invocation ID. 128 random bits never repeat in
// practice, across restarts included, which is what the engine requires of its ID source.
func newInvocationID() protocol.InvocationID {
	var id protocol.InvocationID
	for id.IsZero() {
		_, _ = rand.Read(id[:]) // crypto/rand.Read never returns an error
	}
	return id
}

// Stats returns the host's counters.
func (h *Host) Stats() Stats {
	cs := h.core.Stats()
	return Stats{
		Inputs:       cs.Inputs,
		Groups:       cs.Groups,
		Batches:      cs.Batches,
		Syncs:        cs.Syncs,
		SyncTime:     cs.SyncTime,
		OpenRequests: cs.OpenRequests,
		Store:        h.store.Stats(),
	}
}

// Err returns the store error that stopped the host, or nil if none did.
func (h *Host) Err() error {
	if p := h.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Failed is closed when the store fails and the host stops serving; Err says why.
func (h *Host) Failed() <-chan struct{} { return h.failed }

// Addr returns the address Serve (or Run) listens on, or nil before it started.
func (h *Host) Addr() net.Addr {
	if p := h.addr.Load(); p != nil {
		return *p
	}
	return nil
}

// Handler returns the ingress as an http.Handler, for tests and for servers of one's own. It
// answers 503 once the host is closed or failed.
func (h *Host) Handler() http.Handler { return h.handler }

// Close stops the host: the engine goroutine finishes the group in flight (sync, then
// effects), answers every request still waiting with 503, and stops; the executor shards abort
// their attempts (a parked attempt's goroutine ends; one inside a Run side effect is waited
// for); the timers are stopped and the store is closed. It does not stop an HTTP server
// serving Handler: Run and Serve do that first. Close is idempotent; it returns the store
// error that stopped the host, if one did, or the error of closing the store.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.stopLoop()
		<-h.loopExited
		h.stopShards()
		err := h.store.Close()
		if f := h.Err(); f != nil {
			err = f
		}
		h.closeErr = err
		st := h.Stats()
		h.log.Info("vigil host stopped", "inputs", st.Inputs, "batches", st.Batches, "syncs", st.Syncs)
	})
	return h.closeErr
}
