package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/vigilsim/vigil/examples/seed/handlers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/host"
)

// Host is an in-process Vigil host serving the seed handlers plus Echo and Callback on a
// loopback port, with the production store (runtime/store/bolt: its log fdatasync'd every
// group commit, bbolt checkpoints).
type Host struct {
	// URL is the ingress, http://127.0.0.1:port.
	URL string
	// Host is the running host, for its Stats.
	Host *host.Host

	cancel context.CancelFunc
	served chan error
}

// HostOptions configures StartHost.
type HostOptions struct {
	// DataDir is the store's directory; it must be on the file system to measure (a tmpfs
	// makes fsync free). Required.
	DataDir string
	// InactivityTimeout is how long a waiting attempt stays in memory before it suspends.
	// Zero means the host's default (1 minute), so that nothing suspends during a
	// measurement that does not want it to.
	InactivityTimeout time.Duration
	// ExecutorShards is the host's number of executor goroutines; zero means its default.
	ExecutorShards int
	// Logger receives the host's logs; nil discards them.
	Logger *slog.Logger
}

// Services are the services a benchmark host serves: the seed's, Echo and Callback.
func Services(logger *slog.Logger) []*durable.Service {
	return append(handlers.Services(handlers.Options{Logger: logger}), handlers.Echo(), handlers.Callback())
}

// StartHost starts a host on o.DataDir listening on 127.0.0.1 (any free port). Close stops it.
func StartHost(o HostOptions) (*Host, error) {
	if o.DataDir == "" {
		return nil, errors.New("bench: HostOptions.DataDir is required")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h, err := host.New(host.Config{
		DataDir:           o.DataDir,
		Logger:            logger,
		InactivityTimeout: o.InactivityTimeout,
		ExecutorShards:    o.ExecutorShards,
		ShutdownTimeout:   100 * time.Millisecond,
		Services:          Services(logger),
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bh := &Host{URL: "http://" + ln.Addr().String(), Host: h, cancel: cancel, served: make(chan error, 1)}
	go func() { bh.served <- h.Serve(ctx, ln) }()
	return bh, nil
}

// Close shuts the host down gracefully and returns what Serve returned.
func (h *Host) Close() error {
	h.cancel()
	return <-h.served
}
