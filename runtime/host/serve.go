package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// closeGrace is how long shutdown waits, after answering the requests still open with 503, for
// their handlers to write the answer before it closes their connections.
const closeGrace = time.Second

// Run listens on cfg.ListenAddr and serves the ingress until ctx is cancelled, then shuts down
// gracefully (see Serve) and closes the host. It returns nil after a shutdown that ctx asked
// for, the store's error if the store failed, or the listener's error.
func (h *Host) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", h.cfg.ListenAddr)
	if err != nil {
		_ = h.Close()
		return fmt.Errorf("host: listen: %w", err)
	}
	return h.Serve(ctx, ln)
}

// Serve serves the ingress on ln until ctx is cancelled or the store fails, then shuts down
// gracefully and closes the host (Serve owns ln from the call on). It serves at most
// cfg.MaxConnections connections at once and closes those slower than cfg.ReadHeaderTimeout or
// cfg.ReadTimeout to send a request, or idle past cfg.IdleTimeout. At the end:
//
//  1. it stops accepting connections (http.Server.Shutdown) and lets open requests finish
//     for up to cfg.ShutdownTimeout while the engine goes on;
//  2. it closes the host (Close): the group in flight is synced and performed, requests still
//     waiting (a call on an invocation that waits for a human) are answered 503, executor
//     attempts are aborted, timers stopped, the store closed;
//  3. it waits up to a second more for those answers to be written, then closes the
//     connections still open.
//
// It returns nil after a shutdown that ctx asked for, the store's error if the store failed,
// or the server's error.
func (h *Host) Serve(ctx context.Context, ln net.Listener) error {
	select {
	case <-h.loopExited:
		_ = ln.Close()
		if err := h.Close(); err != nil {
			return err
		}
		return ErrClosed
	default:
	}
	addr := ln.Addr()
	h.addr.Store(&addr)
	srv := &http.Server{
		Handler:           h.handler,
		ReadHeaderTimeout: h.cfg.ReadHeaderTimeout,
		// ReadTimeout bounds reading the request only: net/http clears the read deadline
		// once the body has been read, so a call that waits for its answer is not cut off.
		ReadTimeout: h.cfg.ReadTimeout,
		IdleTimeout: h.cfg.IdleTimeout,
		// No WriteTimeout: net/http arms it when the request has been read, so it would
		// cut off calls that wait minutes for a human. A client that vanished is found by
		// TCP keep-alive, which net.Listen turns on, and by the ingress handler's context.
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	limited := newLimitListener(ln, h.cfg.MaxConnections, h.log)
	go func() { served <- srv.Serve(limited) }()
	h.log.Info("vigil host listening", "addr", addr.String())

	var serveErr error
	select {
	case <-ctx.Done():
		h.log.Info("vigil host shutting down", "reason", context.Cause(ctx))
	case <-h.failed:
	case serveErr = <-served:
		served <- serveErr // for the wait below
		h.log.Error("ingress server stopped", "err", serveErr)
	}

	// 1. Stop accepting; let open requests finish while the engine still runs. Shutdown's own
	// deadline leaves closeGrace after ShutdownTimeout for the 503s of step 2 to be written.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), h.cfg.ShutdownTimeout+closeGrace)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(shutdownCtx) }()
	grace := time.NewTimer(h.cfg.ShutdownTimeout)
	defer grace.Stop()
	var shutdownErr error
	shutdownDone := false
	select {
	case shutdownErr = <-shutdown:
		shutdownDone = true
	case <-grace.C:
	case <-h.failed:
	}
	// 2. Close the host: whatever still waits gets its 503 now.
	closeErr := h.Close()
	// 3. Let the handlers write their 503s, then close what is left.
	if !shutdownDone {
		shutdownErr = <-shutdown
	}
	if shutdownErr != nil {
		h.log.Warn("open requests outlived the shutdown; closing their connections", "timeout", h.cfg.ShutdownTimeout+closeGrace)
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) && serveErr == nil {
		serveErr = err
	}
	switch {
	case h.Err() != nil:
		return h.Err()
	case serveErr != nil:
		return fmt.Errorf("host: serve: %w", serveErr)
	}
	return closeErr
}
