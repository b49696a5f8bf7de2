package host_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/examples/seed/handlers"
	"github.com/vigilsim/vigil/runtime/host"
)

// logRecords keeps every log record of a test host, so tests can find the awakeable IDs the
// handlers log and print the log when a test fails. It never writes to t: hosts log from
// their own goroutines, possibly after the test has ended.
type logRecords struct {
	mu      sync.Mutex
	records []map[string]string
}

func (l *logRecords) handler() slog.Handler { return &recordHandler{l: l} }

// find returns the value of attr in the first record whose attribute key equals value.
func (l *logRecords) find(key, value, attr string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r[key] == value && r[attr] != "" {
			return r[attr], true
		}
	}
	return "", false
}

// count returns how many records have msg starting with prefix and key equal to value.
func (l *logRecords) count(prefix, key, value string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if strings.HasPrefix(r["msg"], prefix) && r[key] == value {
			n++
		}
	}
	return n
}

func (l *logRecords) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.records {
		fmt.Fprintf(&b, "%s %s %v\n", r["level"], r["msg"], r)
	}
	return b.String()
}

type recordHandler struct {
	l     *logRecords
	attrs []slog.Attr
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	for _, a := range h.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	h.l.mu.Lock()
	h.l.records = append(h.l.records, m)
	h.l.mu.Unlock()
	return nil
}

func (h *recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recordHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// server is a host serving the seed handlers on a loopback port, restartable on its data dir.
type server struct {
	t      *testing.T
	dir    string
	logs   *logRecords
	mutate func(*host.Config)

	h      *host.Host
	last   *host.Host
	base   string
	cancel context.CancelFunc
	served chan error
	client *http.Client
}

// startServer starts a host on a fresh data dir; mutate, if not nil, adjusts its config.
func startServer(t *testing.T, mutate func(*host.Config)) *server {
	t.Helper()
	s := &server{t: t, dir: t.TempDir(), logs: &logRecords{}, mutate: mutate}
	s.client = &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	s.start()
	t.Cleanup(func() {
		s.stop()
		s.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("host log:\n%s", s.logs)
		}
	})
	return s
}

// start starts the host on s.dir, serving on a fresh loopback port.
func (s *server) start() {
	s.t.Helper()
	logger := slog.New(s.logs.handler())
	cfg := host.Config{
		DataDir:        s.dir,
		Logger:         logger,
		ExecutorShards: 4,
		// Open calls on invocations that wait for a human never finish by themselves; do not
		// wait the default 2 s for them at every restart.
		ShutdownTimeout: 100 * time.Millisecond,
		Services:        handlers.Services(handlers.Options{Logger: logger}),
	}
	if s.mutate != nil {
		s.mutate(&cfg)
	}
	h, err := host.New(cfg)
	require.NoError(s.t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(s.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s.h, s.last, s.cancel, s.served = h, h, cancel, make(chan error, 1)
	s.base = "http://" + ln.Addr().String()
	go func() { s.served <- h.Serve(ctx, ln) }()
}

// stop shuts the host down gracefully and returns what Serve returned.
func (s *server) stop() error {
	if s.h == nil {
		return nil
	}
	s.cancel()
	err := <-s.served
	s.h = nil
	return err
}

// restart stops the host and starts a new one on the same data dir.
func (s *server) restart() {
	s.t.Helper()
	require.NoError(s.t, s.stop())
	s.client.CloseIdleConnections()
	s.start()
}

// response is an HTTP answer, read whole.
type response struct {
	status int
	body   string
	header http.Header
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// do sends a request and reads the answer; body, if not empty, is sent as JSON unless
// contentType says otherwise.
func (s *server) do(method, path, body string, header ...string) (response, error) {
	return s.doCtx(context.Background(), method, path, body, header...)
}

func (s *server) doCtx(ctx context.Context, method, path, body string, header ...string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, body: string(b), header: resp.Header}, nil
}

// must sends a request that must get an answer.
func (s *server) must(method, path, body string, header ...string) response {
	s.t.Helper()
	r, err := s.do(method, path, body, header...)
	require.NoError(s.t, err, "%s %s", method, path)
	return r
}

// async sends a request on its own goroutine; the channel gets its answer.
func (s *server) async(method, path, body string, header ...string) <-chan response {
	ch := make(chan response, 1)
	go func() {
		r, err := s.do(method, path, body, header...)
		if err != nil {
			r = response{status: -1, body: err.Error()}
		}
		ch <- r
	}()
	return ch
}

// awakeable waits until a handler has logged the awakeable of the record whose key is value.
func (s *server) awakeable(key, value string) string {
	s.t.Helper()
	var id string
	require.Eventually(s.t, func() bool {
		var ok bool
		id, ok = s.logs.find(key, value, "awakeable")
		return ok
	}, 10*time.Second, 5*time.Millisecond, "no awakeable logged for %s=%s", key, value)
	return id
}

// receive waits for an async answer.
func receive(t *testing.T, ch <-chan response) response {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no answer within 20s")
		return response{}
	}
}

// pendingFor asserts that ch gets no answer for d.
func pendingFor(t *testing.T, ch <-chan response, d time.Duration) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("answered %s, want it still waiting", r)
	case <-time.After(d):
	}
}

// jsonString renders s as a JSON string.
func jsonString(s string) string { return fmt.Sprintf("%q", s) }
