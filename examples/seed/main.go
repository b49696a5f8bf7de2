// Command seed is a runnable Vigil server with the seed's handlers: human approval with an
// awakeable (Approval/requestHumanReview), a review workflow with a durable promise
// (ReviewWorkflow: run, submitReview), a ledger virtual object (Ledger: append, hold, read) and
// a durable sleep (Sleeper/sleep). See README.md for the curl commands that drive it.
//
//	go run ./examples/seed [-data DIR] [-listen ADDR] [-log-level debug] [-inactivity-timeout 1m]
//
// SIGINT or SIGTERM shuts it down gracefully; kill -9 is survived too: every acknowledged
// request is in the store, and the next start picks up where the last one stopped.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigilsim/vigil/examples/seed/handlers"
	"github.com/vigilsim/vigil/runtime/host"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run() error {
	dataDir := flag.String("data", host.DefaultDataDir, "directory of the store (created if absent)")
	listen := flag.String("listen", host.DefaultListenAddr, "ingress address (host:port; loopback by default)")
	logLevel := flag.String("log-level", "info", "log level: debug (shows every group commit), info, warn or error")
	inactivity := flag.Duration("inactivity-timeout", host.DefaultInactivityTimeout, "how long a waiting handler stays in memory before it suspends")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(newConsoleHandler(os.Stderr, level))

	// Listen first, so that the logged curl commands name the port really taken (-listen with
	// port 0 picks a free one).
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	h, err := host.New(host.Config{
		DataDir:           *dataDir,
		ListenAddr:        *listen,
		Logger:            logger,
		InactivityTimeout: *inactivity,
		Services:          handlers.Services(handlers.Options{Logger: logger, BaseURL: curlBase(ln.Addr())}),
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return h.Serve(ctx, ln)
}

// curlBase is how a curl command on this machine reaches addr: localhost for loopback and
// unspecified addresses.
func curlBase(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if tcp.IP.IsLoopback() || tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return tcp.String()
}
