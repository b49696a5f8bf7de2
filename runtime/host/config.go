package host

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
)

// Defaults of Config's fields.
const (
	// DefaultDataDir is where the store lives when Config.DataDir is empty.
	DefaultDataDir = "./vigil-data"
	// DefaultListenAddr is the ingress address when Config.ListenAddr is empty: loopback only,
	// so that nothing is exposed unless configured.
	DefaultListenAddr = "127.0.0.1:8080"
	// DefaultMaxRequestBodyBytes is the request body limit when Config.MaxRequestBodyBytes is
	// zero: the ingress's own limit, 10 MiB.
	DefaultMaxRequestBodyBytes = ingress.MaxBodyBytes
	// DefaultInactivityTimeout is how long a waiting attempt stays in memory before it
	// suspends, when Config.InactivityTimeout is zero (Restate's default).
	DefaultInactivityTimeout = time.Minute
	// DefaultShutdownTimeout is how long graceful shutdown lets open requests finish when
	// Config.ShutdownTimeout is zero.
	DefaultShutdownTimeout = 2 * time.Second
	// DefaultReadHeaderTimeout is how long a connection may take to send a request's headers
	// when Config.ReadHeaderTimeout is zero. Headers are a few hundred bytes: a client that
	// needs longer is stuck or is holding the connection on purpose.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout is how long a connection may take to send a whole request, headers
	// and body, when Config.ReadTimeout is zero. A body at the 10 MiB cap needs about
	// 350 KB/s to arrive in time; ingress bodies are JSON of a few KB in practice.
	DefaultReadTimeout = 30 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may sit between requests when
	// Config.IdleTimeout is zero: long enough for a client's pool to reuse it, short enough
	// that idle connections give their slots (MaxConnections) back.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxConnections bounds the connections served at once when
	// Config.MaxConnections is zero: far above what one host's clients need, well below the
	// file-descriptor limits the Go runtime raises itself to.
	DefaultMaxConnections = 4096
	// StoreFileName is the store's file inside DataDir.
	StoreFileName = "vigil.db"
)

// maxGroupInputs bounds how many inputs one group commit takes, so that a flood of inputs
// still gets its effects out (and its memory back) in bounded steps.
const maxGroupInputs = 256

// maxSpeculationHold bounds how long the engine goroutine holds a group open, past its inputs,
// for the attempts it started speculatively (gated starts, sent before the sync) to end or
// park: a call whose handler ends inside the hold has its acceptance, journal and output made
// durable by the group's one fsync. A handler that computes for longer delays the group's
// acknowledgements by at most this much.
const maxSpeculationHold = time.Millisecond

// inputQueueLen is the capacity of the engine goroutine's input channel. Posters block while
// it is full (back-pressure); the engine goroutine itself never posts to it.
const inputQueueLen = 1024

// Config is what a Host is built from. The zero value of every field but Services takes the
// default documented on it.
type Config struct {
	// DataDir is the directory of the store file (StoreFileName inside it); it is created,
	// with its parents, if absent. Default DefaultDataDir ("./vigil-data").
	DataDir string
	// ListenAddr is the TCP address Run serves the ingress on. Default DefaultListenAddr
	// ("127.0.0.1:8080": loopback unless configured). Use port 0 for any free port; Addr
	// tells which one was taken.
	ListenAddr string
	// MaxRequestBodyBytes is the largest request body the ingress accepts; a larger one gets
	// 413 in Restate's error shape. Default (and maximum) DefaultMaxRequestBodyBytes, 10 MiB,
	// the limit ingress.Decode enforces on its own: a larger value is refused by New, since
	// the ingress would refuse such bodies anyway.
	MaxRequestBodyBytes int64
	// Retention is how long a finished invocation's output and a finished workflow's
	// promises, state and output stay readable when the service does not say. Default
	// engine.DefaultRetention (24 h).
	Retention time.Duration
	// IdempotencyRetention is how long an idempotency key answers with its first invocation
	// after that finished, when the service does not say. Default engine.DefaultRetention
	// (24 h).
	IdempotencyRetention time.Duration
	// InactivityTimeout is how long an attempt that waits (on an awakeable, a promise, a
	// timer) stays in memory before it suspends and frees its goroutine. Default
	// DefaultInactivityTimeout (1 minute, as in Restate); a negative value suspends at once.
	InactivityTimeout time.Duration
	// Retry is the retry policy of failed attempts; each zero field takes the engine's
	// default (Restate's: 500 ms doubling to 1 minute, 70 attempts).
	Retry engine.RetryPolicy
	// ShutdownTimeout is how long graceful shutdown (Run's context cancelled) lets open
	// requests finish before it answers those still waiting with 503 and closes their
	// connections. Default DefaultShutdownTimeout (2 s).
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout is how long a connection may take to send a request's headers before
	// Serve closes it. Default DefaultReadHeaderTimeout (10 s). The headers are read within
	// ReadTimeout too, so the smaller of the two applies to them.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a connection may take to send a whole request, headers and
	// body, before Serve stops reading it: a body that is still arriving then gets 400 and
	// its connection is closed, so that a slow or stalled client cannot hold a connection
	// and a goroutine for as long as it likes. It does not limit how long a request may wait
	// for its answer: a call waiting on a human keeps its connection for as long as it waits.
	// Default DefaultReadTimeout (30 s).
	ReadTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next request before
	// Serve closes it. Default DefaultIdleTimeout (60 s).
	//
	// There is deliberately no write timeout: net/http starts it when the request has been
	// read, so it would cut off every call that legitimately waits minutes for its answer.
	IdleTimeout time.Duration
	// MaxConnections bounds the connections Serve has open at once. Past the bound, Serve
	// stops accepting until a connection closes: the waiting ones sit in the kernel's accept
	// queue, costing the host nothing, and are served in turn. Default
	// DefaultMaxConnections (4096).
	MaxConnections int
	// ExecutorShards is the number of executor goroutines attempts are spread over, by
	// invocation ID. A Run side effect that blocks holds up only the attempts of its shard.
	// Default 4*GOMAXPROCS.
	ExecutorShards int
	// Logger receives the host's structured logs. Default: a slog text handler on stderr at
	// info level.
	Logger *slog.Logger
	// Services are the services the host serves. Two with one name are refused.
	Services []*durable.Service
	// Clock is the host's source of time and timers. Default fakeclock.Real.
	Clock fakeclock.Clock
}

// withDefaults returns cfg with every default filled in, or an error naming a bad field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = DefaultListenAddr
	}
	switch {
	case cfg.MaxRequestBodyBytes == 0:
		cfg.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	case cfg.MaxRequestBodyBytes < 0:
		return cfg, fmt.Errorf("host: MaxRequestBodyBytes is %d, want > 0 (or 0 for the default)", cfg.MaxRequestBodyBytes)
	case cfg.MaxRequestBodyBytes > ingress.MaxBodyBytes:
		return cfg, fmt.Errorf("host: MaxRequestBodyBytes is %d, over the ingress's own limit of %d bytes (ingress.MaxBodyBytes)", cfg.MaxRequestBodyBytes, ingress.MaxBodyBytes)
	}
	if cfg.Retention < 0 || cfg.IdempotencyRetention < 0 {
		return cfg, errors.New("host: Retention and IdempotencyRetention must not be negative")
	}
	if cfg.Retention == 0 {
		cfg.Retention = engine.DefaultRetention
	}
	if cfg.IdempotencyRetention == 0 {
		cfg.IdempotencyRetention = engine.DefaultRetention
	}
	if cfg.InactivityTimeout == 0 {
		cfg.InactivityTimeout = DefaultInactivityTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if err := cfg.connectionDefaults(); err != nil {
		return cfg, err
	}
	if cfg.ExecutorShards < 0 {
		return cfg, fmt.Errorf("host: ExecutorShards is %d, want > 0 (or 0 for the default)", cfg.ExecutorShards)
	}
	if cfg.ExecutorShards == 0 {
		cfg.ExecutorShards = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = fakeclock.Real{}
	}
	seen := map[string]bool{}
	for i, s := range cfg.Services {
		if s == nil {
			return cfg, fmt.Errorf("host: Services[%d] is nil", i)
		}
		if seen[s.Name()] {
			return cfg, fmt.Errorf("host: two services are called %q", s.Name())
		}
		seen[s.Name()] = true
	}
	return cfg, nil
}

// connectionDefaults fills in the defaults of the connection limits, or names the one that is
// negative.
func (cfg *Config) connectionDefaults() error {
	timeouts := []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"ReadHeaderTimeout", &cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"ReadTimeout", &cfg.ReadTimeout, DefaultReadTimeout},
		{"IdleTimeout", &cfg.IdleTimeout, DefaultIdleTimeout},
	}
	for _, t := range timeouts {
		switch {
		case *t.d < 0:
			return fmt.Errorf("host: %s is %v, want > 0 (or 0 for the default, %v)", t.name, *t.d, t.def)
		case *t.d == 0:
			*t.d = t.def
		}
	}
	switch {
	case cfg.MaxConnections < 0:
		return fmt.Errorf("host: MaxConnections is %d, want > 0 (or 0 for the default, %d)", cfg.MaxConnections, DefaultMaxConnections)
	case cfg.MaxConnections == 0:
		cfg.MaxConnections = DefaultMaxConnections
	}
	return nil
}
