package host_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/examples/seed/handlers"
	"github.com/vigilsim/vigil/runtime/host"
)

// generous bounds every wait on the server in these tests: far past the short timeouts they
// configure, so that a slow machine passes, yet a host that never acts fails instead of hanging.
const generous = 20 * time.Second

// rawConn is a client connection written byte by byte, for clients net/http's would never be:
// stalled, trickling, idle.
type rawConn struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

// dial opens a raw connection to s, closed when the test ends.
func (s *server) dial() *rawConn {
	s.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	require.NoError(s.t, err)
	s.t.Cleanup(func() { _ = c.Close() })
	return &rawConn{t: s.t, Conn: c, r: bufio.NewReader(c)}
}

// head is the request line and headers of a JSON POST whose body is n bytes long.
func head(path string, n int) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, n)
}

// send writes a whole JSON POST.
func (c *rawConn) send(path, body string) {
	c.t.Helper()
	_, err := io.WriteString(c, head(path, len(body))+body)
	require.NoError(c.t, err)
}

// read reads one response, waiting generously for it.
func (c *rawConn) read() (response, error) {
	if err := c.SetReadDeadline(time.Now().Add(generous)); err != nil {
		return response{}, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(b), header: resp.Header}, err
}

// roundTrip sends a JSON POST and reads its answer, which must come.
func (c *rawConn) roundTrip(path, body string) response {
	c.t.Helper()
	c.send(path, body)
	r, err := c.read()
	require.NoError(c.t, err)
	return r
}

// readAsync reads one response on its own goroutine; the channel gets it.
func (c *rawConn) readAsync() <-chan response {
	ch := make(chan response, 1)
	go func() {
		r, err := c.read()
		if err != nil {
			r = response{status: -1, body: err.Error()}
		}
		ch <- r
	}()
	return ch
}

// closedByServer asserts that the server closes the connection: reading it ends (in EOF or a
// reset) well within the generous wait. It returns what was read before the end.
func (c *rawConn) closedByServer() string {
	c.t.Helper()
	require.NoError(c.t, c.SetReadDeadline(time.Now().Add(generous)))
	var got strings.Builder
	_, err := io.Copy(&got, c.r)
	require.False(c.t, errors.Is(err, os.ErrDeadlineExceeded), "the server did not close the connection; read %q", got.String())
	return got.String()
}

// trickle writes s one byte every interval on its own goroutine, until it is written, a write
// fails (the server closed the connection) or the test ends; the test waits for it to stop.
func (c *rawConn) trickle(s string, interval time.Duration) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range len(s) {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			if _, err := io.WriteString(c, s[i:i+1]); err != nil {
				return
			}
		}
	})
	c.t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
}

// ledger reads the entries of Ledger key.
func (s *server) ledger(key string) []string {
	s.t.Helper()
	r := s.must("POST", "/Ledger/"+key+"/read", "")
	require.Equal(s.t, 200, r.status, r.body)
	var view handlers.LedgerView
	require.NoError(s.t, json.Unmarshal([]byte(r.body), &view), r.body)
	return view.Entries
}

// stillServes shows the host serving and key's ledger intact: an append succeeds and the
// ledger then holds want followed by it.
func (s *server) stillServes(key string, want ...string) {
	s.t.Helper()
	r := s.must("POST", "/Ledger/"+key+"/append", `"afterwards"`)
	require.Equal(s.t, 200, r.status, r.body)
	assert.Equal(s.t, append(want, "afterwards"), s.ledger(key))
}

func TestSlowClientIsCutOff(t *testing.T) {
	const short = 300 * time.Millisecond
	body := jsonString(strings.Repeat("x", 998)) // would take 20 s at one byte per 20 ms
	cases := []struct {
		name   string
		mutate func(*host.Config)
		slow   func(c *rawConn)
		// answer is what the host says before it closes the connection.
		answer string
	}{
		{
			name:   "body stalls",
			mutate: func(c *host.Config) { c.ReadTimeout = short },
			slow: func(c *rawConn) {
				_, err := io.WriteString(c, head("/Ledger/slow/append", len(body))+body[:10])
				require.NoError(c.t, err)
			},
			answer: "the body did not arrive within the server's read timeout",
		},
		{
			name:   "body trickles",
			mutate: func(c *host.Config) { c.ReadTimeout = short },
			slow: func(c *rawConn) {
				_, err := io.WriteString(c, head("/Ledger/slow/append", len(body)))
				require.NoError(c.t, err)
				c.trickle(body, 20*time.Millisecond)
			},
			answer: "the body did not arrive within the server's read timeout",
		},
		{
			// ReadTimeout stays at its default: ReadHeaderTimeout alone cuts this one off.
			name:   "headers trickle",
			mutate: func(c *host.Config) { c.ReadHeaderTimeout = short },
			slow:   func(c *rawConn) { c.trickle(head("/Ledger/slow/append", len(body))+body, 20*time.Millisecond) },
			// Whether net/http answers a request whose headers it gave up on (400) or just
			// closes the connection depends on where the timeout caught the headers: only the
			// closing is checked.
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, c.mutate)
			require.Equal(t, 200, s.must("POST", "/Ledger/slow/append", `"before"`).status)
			conn := s.dial()
			c.slow(conn)
			got := conn.closedByServer()
			if c.answer != "" {
				assert.True(t, strings.HasPrefix(got, "HTTP/1.1 400 "), "answered %q", got)
				assert.Contains(t, got, c.answer)
			}
			// Nothing of the slow request reached the ledger, and the host still serves.
			s.stillServes("slow", "before")
		})
	}
}

// TestReadTimeoutSparesWaitingCalls shows that the read timeout bounds reading a request, not
// waiting for its answer: a call that waits for a human past ReadTimeout and IdleTimeout keeps
// its connection and gets its answer.
func TestReadTimeoutSparesWaitingCalls(t *testing.T) {
	const short = 100 * time.Millisecond
	s := startServer(t, func(c *host.Config) {
		c.ReadTimeout, c.ReadHeaderTimeout, c.IdleTimeout = short, short, short
	})
	call := s.async("POST", "/Approval/requestHumanReview", `"doc-rt"`)
	id := s.awakeable("document", "doc-rt")
	pendingFor(t, call, 5*short)
	r := s.must("POST", "/restate/awakeables/"+id+"/resolve", `"worth the wait"`)
	require.Equal(t, 202, r.status, r.body)
	got := receive(t, call)
	assert.Equal(t, 200, got.status, got.body)
	assert.Equal(t, jsonString(handlers.ApprovalOutput("doc-rt", "worth the wait")), got.body)
}

func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	s := startServer(t, func(c *host.Config) { c.IdleTimeout = 200 * time.Millisecond })
	const n = 20
	conns := make([]*rawConn, n)
	var want []string
	for i := range conns {
		conns[i] = s.dial()
		// Two requests on one connection: it is kept alive between them.
		for j := range 2 {
			entry := fmt.Sprintf("c%d-%d", i, j)
			r := conns[i].roundTrip("/Ledger/idle/append", jsonString(entry))
			require.Equal(t, 200, r.status, r.body)
			want = append(want, entry)
		}
	}
	for _, c := range conns {
		assert.Empty(t, c.closedByServer(), "an idle connection is closed without a word")
	}
	s.stillServes("idle", want...)
}

func TestMaxConnections(t *testing.T) {
	const short = 300 * time.Millisecond
	cases := []struct {
		name   string
		mutate func(*host.Config)
		// hold opens the connections that take every slot.
		hold func(s *server, i int) *rawConn
		// free makes the held connections give their slots back.
		free func(held []*rawConn)
		// pending says whether the request past the bound is shown waiting: only when
		// nothing but the test frees the slots, so that the check cannot race a timeout.
		pending bool
		// want is what the ledger holds once the request past the bound is served.
		want []string
	}{
		{
			name:    "a client closes its connection",
			hold:    servedConn,
			free:    func(held []*rawConn) { require.NoError(held[0].t, held[0].Close()) },
			pending: true,
			want:    []string{"held-0", "held-1", "over"},
		},
		{
			name:   "idle connections time out",
			mutate: func(c *host.Config) { c.IdleTimeout = short },
			hold:   servedConn,
			free:   closedByServer,
			want:   []string{"held-0", "held-1", "over"},
		},
		{
			name:   "connections that never send a request time out",
			mutate: func(c *host.Config) { c.ReadHeaderTimeout = short },
			hold:   func(s *server, _ int) *rawConn { return s.dial() },
			free:   closedByServer,
			want:   []string{"over"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, func(cfg *host.Config) {
				cfg.MaxConnections = 2
				if c.mutate != nil {
					c.mutate(cfg)
				}
			})
			held := []*rawConn{c.hold(s, 0), c.hold(s, 1)}
			// The kernel completes this connection, but the host does not accept it while
			// both slots are held: its request waits, unanswered.
			over := s.dial()
			over.send("/Ledger/max/append", `"over"`)
			answer := over.readAsync()
			if c.pending {
				pendingFor(t, answer, 200*time.Millisecond)
			}
			c.free(held)
			got := receive(t, answer)
			assert.Equal(t, 200, got.status, got.body)
			// Give every slot back, for the helper's own client.
			for _, h := range append(held, over) {
				_ = h.Close()
			}
			s.stillServes("max", c.want...)
		})
	}
}

// servedConn opens a connection and has one request served on it: it then holds a slot, idle.
func servedConn(s *server, i int) *rawConn {
	s.t.Helper()
	c := s.dial()
	r := c.roundTrip("/Ledger/max/append", jsonString(fmt.Sprintf("held-%d", i)))
	require.Equal(s.t, 200, r.status, r.body)
	return c
}

// closedByServer waits for the server to close every held connection.
func closedByServer(held []*rawConn) {
	for _, c := range held {
		c.closedByServer()
	}
}

func TestDelayLimit(t *testing.T) {
	s := startServer(t, nil)
	for _, delay := range []string{"P99999999999D", "PT99999999999999999999S", "PT9999999999999H", "99999999999h", "P3651D"} {
		r := s.must("POST", "/Sleeper/sleep/send?delay="+delay, `1`)
		assert.Equal(t, 400, r.status, "delay %s: %s", delay, r.body)
		assert.Contains(t, r.body, "limit of 3650 days", "delay %s", delay)
	}
	// Nothing was scheduled, and the host still serves, delayed sends included.
	assert.Zero(t, s.h.Stats().OpenRequests)
	r := s.must("POST", "/Sleeper/sleep/send?delay=PT0.05S", `1`, "idempotency-key", "soon")
	require.Equal(t, 202, r.status, r.body)
	r = s.must("GET", "/restate/invocation/Sleeper/sleep/soon/attach", "")
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, jsonString(handlers.SleepOutput(1)), r.body)
	s.stillServes("delay")
}

// TestShutdown503NamesTheInvocation stops the host under requests waiting for an invocation
// that waits for a human: each gets a 503 that names its invocation, in words and in
// x-restate-id, and attaching to that ID after the restart gets the outcome.
func TestShutdown503NamesTheInvocation(t *testing.T) {
	cases := []struct {
		name string
		// wait starts a request that waits on an invocation, waiting for a human named doc.
		wait func(s *server, doc string) <-chan response
		// finish lets the human answer, once the host is back.
		finish func(s *server, doc string)
		want   func(doc string) string
	}{
		{
			name: "call",
			wait: func(s *server, doc string) <-chan response {
				return s.async("POST", "/Approval/requestHumanReview", jsonString(doc))
			},
			finish: resolveApproval,
			want:   func(doc string) string { return handlers.ApprovalOutput(doc, "approved") },
		},
		{
			name: "attach",
			wait: func(s *server, doc string) <-chan response {
				r := s.must("POST", "/Approval/requestHumanReview/send", jsonString(doc))
				require.Equal(s.t, 202, r.status, r.body)
				return s.async("GET", "/restate/invocation/"+r.header.Get("x-restate-id")+"/attach", "")
			},
			finish: resolveApproval,
			want:   func(doc string) string { return handlers.ApprovalOutput(doc, "approved") },
		},
		{
			name: "workflow attach",
			wait: func(s *server, doc string) <-chan response {
				r := s.must("POST", "/ReviewWorkflow/"+doc+"/run/send", jsonString(doc))
				require.Equal(s.t, 202, r.status, r.body)
				return s.async("GET", "/restate/workflow/ReviewWorkflow/"+doc+"/attach", "")
			},
			finish: func(s *server, doc string) {
				r := s.must("POST", "/ReviewWorkflow/"+doc+"/submitReview", `"approved"`)
				require.Equal(s.t, 200, r.status, r.body)
			},
			want: func(doc string) string { return handlers.ProcessReview(doc, "approved") },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, nil)
			doc := strings.ReplaceAll(c.name, " ", "-")
			waiting := c.wait(s, doc)
			require.Eventually(t, func() bool { return s.h.Stats().OpenRequests == 1 }, generous, 5*time.Millisecond)
			pendingFor(t, waiting, 50*time.Millisecond)

			s.restart()
			got := receive(t, waiting)
			require.Equal(t, 503, got.status, got.body)
			id := got.header.Get("x-restate-id")
			require.True(t, strings.HasPrefix(id, "inv_"), "x-restate-id is %q", id)
			assert.Contains(t, got.body, "attach to invocation "+id+" once it is back")

			c.finish(s, doc)
			r := s.must("GET", "/restate/invocation/"+id+"/attach", "")
			assert.Equal(t, 200, r.status, r.body)
			assert.Equal(t, jsonString(c.want(doc)), r.body)
		})
	}
}

// resolveApproval approves doc's human review.
func resolveApproval(s *server, doc string) {
	s.t.Helper()
	r := s.must("POST", "/restate/awakeables/"+s.awakeable("document", doc)+"/resolve", `"approved"`)
	require.Equal(s.t, 202, r.status, r.body)
}

func TestConnectionLimitConfigErrors(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	cases := []struct {
		name   string
		mutate func(*host.Config)
	}{
		{"ReadHeaderTimeout", func(c *host.Config) { c.ReadHeaderTimeout = -time.Second }},
		{"ReadTimeout", func(c *host.Config) { c.ReadTimeout = -time.Second }},
		{"IdleTimeout", func(c *host.Config) { c.IdleTimeout = -time.Second }},
		{"MaxConnections", func(c *host.Config) { c.MaxConnections = -1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := host.Config{DataDir: t.TempDir(), Logger: quiet}
			c.mutate(&cfg)
			_, err := host.New(cfg)
			assert.ErrorContains(t, err, c.name)
		})
	}
}

// TestShutdownWithConnectionsWaiting stops the host while a connection waits for a slot: the
// shutdown is not held up by it, and nothing of its request is served.
func TestShutdownWithConnectionsWaiting(t *testing.T) {
	s := startServer(t, func(c *host.Config) { c.MaxConnections = 1 })
	held := servedConn(s, 0)
	over := s.dial()
	over.send("/Ledger/max/append", `"over"`)
	answer := over.readAsync()
	pendingFor(t, answer, 100*time.Millisecond)
	require.NoError(t, s.stop())
	got := receive(t, answer)
	assert.Equal(t, -1, got.status, "the waiting connection is closed unserved: %s", got)
	_ = held.Close()
	s.start()
	assert.Equal(t, []string{"held-0"}, s.ledger("max"))
}
