package host

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
)

// limitListener bounds the connections open at once: Accept takes a slot before it accepts a
// connection, and the connection gives its slot back when it is closed.
//
// Past the bound, Accept waits for a slot instead of accepting and answering 503. A connection
// not yet accepted sits in the kernel's accept queue and costs the host no goroutine, buffer
// or file descriptor; its client sees latency and is served in turn once a slot frees, where a
// 503 would have to be read, written and retried, and would still cost a descriptor and a
// goroutine per refused connection, which is what a flood is made of. A slot cannot be held
// for ever by a client that does nothing: the server closes connections that are idle past
// IdleTimeout or slower than ReadHeaderTimeout and ReadTimeout, and that frees their slots.
// If the accept queue itself fills, the kernel drops further connection attempts, and TCP
// retries them on the clients' side.
type limitListener struct {
	net.Listener
	log *slog.Logger
	// slots holds one token per open connection; its capacity is the bound.
	slots chan struct{}
	// closed is closed by Close, so that an Accept waiting for a slot returns.
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	// full is set while Accept waits for a slot, so the bound is logged once per episode
	// rather than once per connection.
	full atomic.Bool
}

// newLimitListener wraps ln so that at most n of its connections are open at once.
func newLimitListener(ln net.Listener, n int, log *slog.Logger) *limitListener {
	if n <= 0 {
		panic("host: newLimitListener needs a positive bound; withDefaults sets one")
	}
	return &limitListener{Listener: ln, log: log, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

// Accept waits for a free slot, then accepts the next connection. It returns net.ErrClosed,
// wrapped, once Close has been called.
func (l *limitListener) Accept() (net.Conn, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

// acquire takes a slot, waiting while all are taken, unless the listener is closed first.
func (l *limitListener) acquire() error {
	select {
	case l.slots <- struct{}{}:
		l.full.Store(false)
		return nil
	default:
	}
	if !l.full.Swap(true) {
		l.log.Warn("connection limit reached; new connections wait until one closes", "max_connections", cap(l.slots))
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-l.closed:
		return &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close closes the underlying listener and wakes an Accept that waits for a slot. It is
// idempotent: http.Server closes its listeners once, but Serve may close ln on its own too.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

// limitConn is a connection holding a slot of a limitListener until it is closed.
type limitConn struct {
	net.Conn
	releaseOnce sync.Once
	release     func()
}

// Close closes the connection and gives its slot back, once however often it is called
// (net/http may close a connection more than once).
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(c.release)
	return err
}

// errNoCloseWrite is CloseWrite's error for a connection that cannot half-close.
var errNoCloseWrite = errors.New("host: the connection cannot close its write side alone")

// CloseWrite half-closes the connection when the underlying one can (TCP). net/http looks for
// it through an interface: without it, a connection closed after an error answer is reset at
// once, and the client may lose the answer before it has read it.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errNoCloseWrite
}
