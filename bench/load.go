package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// opTimeout bounds one operation (a call, a round trip); a host that answers nothing within it
// counts as an error rather than hanging the measurement.
const opTimeout = 30 * time.Second

// Load says how long a measurement runs and with how many workers. Each worker runs one
// operation after the other; the measurement ends when Duration has passed or, if Ops is
// set, when Ops operations were started, whichever comes first.
type Load struct {
	// Concurrency is the number of workers (and of keep-alive connections). At least 1.
	Concurrency int
	// Duration bounds the measurement; zero means no bound (Ops must be set).
	Duration time.Duration
	// Ops bounds the number of operations; zero means no bound (Duration must be set).
	Ops int
	// Warmup is run before the measurement, with the same concurrency, and not counted.
	Warmup time.Duration
}

// Result is one measurement.
type Result struct {
	// Name says what was measured.
	Name string
	// Concurrency is the number of workers.
	Concurrency int
	// Ops is the number of operations that succeeded.
	Ops int
	// Errors is the number that failed; FirstError is the first failure.
	Errors     int
	FirstError error
	// Elapsed is the measurement's wall time.
	Elapsed time.Duration
	// Latencies are the successful operations' latencies, sorted.
	Latencies []time.Duration
}

// PerSecond is the throughput of successful operations.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which the fraction p (0..1) of operations fall, by
// the nearest-rank method; zero when nothing was measured.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(p*float64(len(r.Latencies))+0.999999) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// String renders the result on one line.
func (r Result) String() string {
	s := fmt.Sprintf("%s C=%d: %d ops in %s, %.0f/s, p50 %s, p99 %s",
		r.Name, r.Concurrency, r.Ops, r.Elapsed.Round(time.Millisecond), r.PerSecond(),
		ms(r.Percentile(0.5)), ms(r.Percentile(0.99)))
	if r.Errors > 0 {
		s += fmt.Sprintf(", %d errors (first: %v)", r.Errors, r.FirstError)
	}
	return s
}

// ms renders d in milliseconds with two decimals.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

// sample is what one operation measured: its latency, and a second latency for the
// operations that time a part of themselves (resolve-to-result inside a round trip).
type sample struct {
	latency, part time.Duration
}

// run drives op with l.Concurrency workers and collects the samples into two results: the
// operations' latencies and their parts' (empty when op measures no part).
func run(ctx context.Context, name, partName string, l Load, op func(ctx context.Context, worker int) (sample, error)) (Result, Result, error) {
	if l.Concurrency < 1 {
		return Result{}, Result{}, fmt.Errorf("bench: concurrency %d, want at least 1", l.Concurrency)
	}
	if l.Duration <= 0 && l.Ops <= 0 {
		return Result{}, Result{}, errors.New("bench: a load needs a duration or a number of operations")
	}
	if l.Warmup > 0 {
		if _, _, err := run(ctx, name, partName, Load{Concurrency: l.Concurrency, Duration: l.Warmup}, op); err != nil {
			return Result{}, Result{}, err
		}
	}
	runCtx := ctx
	if l.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, l.Duration)
		defer cancel()
	}
	var (
		mu      sync.Mutex
		whole   = Result{Name: name, Concurrency: l.Concurrency}
		part    = Result{Name: partName, Concurrency: l.Concurrency}
		started atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	for w := range l.Concurrency {
		wg.Go(func() {
			for runCtx.Err() == nil {
				if l.Ops > 0 && started.Add(1) > int64(l.Ops) {
					return
				}
				// The operation itself is not cut short by the end of the measurement (that
				// would count as an error); only by its own timeout.
				opCtx, cancel := context.WithTimeout(ctx, opTimeout)
				s, err := op(opCtx, w)
				cancel()
				mu.Lock()
				if err != nil {
					whole.Errors++
					if whole.FirstError == nil {
						whole.FirstError = err
					}
				} else {
					whole.Ops++
					whole.Latencies = append(whole.Latencies, s.latency)
					if s.part > 0 {
						part.Ops++
						part.Latencies = append(part.Latencies, s.part)
					}
				}
				mu.Unlock()
				if err != nil && ctx.Err() != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	whole.Elapsed = time.Since(start)
	part.Elapsed = whole.Elapsed
	slices.Sort(whole.Latencies)
	slices.Sort(part.Latencies)
	return whole, part, ctx.Err()
}

// Client sends the benchmark's requests to one ingress over keep-alive connections.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the ingress at base (http://host:port) keeping up to
// maxConns connections alive.
func NewClient(base string, maxConns int) *Client {
	return &Client{
		base: strings.TrimSuffix(base, "/"),
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns:        maxConns,
			MaxIdleConnsPerHost: maxConns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		}},
	}
}

// Close closes the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// post sends body as JSON to path and returns the answer's body, or an error for a status
// other than want.
func (c *Client) post(ctx context.Context, path string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return b, nil
}

// Echo measures synchronous Echo/echo calls.
func Echo(ctx context.Context, c *Client, l Load) (Result, error) {
	body := []byte(`{"ping":"vigil"}`)
	r, _, err := run(ctx, "echo", "", l, func(ctx context.Context, _ int) (sample, error) {
		start := time.Now()
		out, err := c.post(ctx, "/Echo/echo", body, http.StatusOK)
		if err != nil {
			return sample{}, err
		}
		if !bytes.Equal(out, body) {
			return sample{}, fmt.Errorf("echo answered %s, want %s", out, body)
		}
		return sample{latency: time.Since(start)}, nil
	})
	return r, err
}

// AwakeableRoundTrip measures round trips through an awakeable: call Callback/await, get the
// awakeable's ID on cb's webhook, resolve it over HTTP, get the call's result. The first
// result is the round trips; the second their resolve-to-result parts, from sending the
// resolve to receiving the call's answer.
func AwakeableRoundTrip(ctx context.Context, c *Client, cb *Callbacks, l Load) (Result, Result, error) {
	return run(ctx, "awakeable round trip", "resolve-to-result", l, func(ctx context.Context, _ int) (sample, error) {
		return c.roundTrip(ctx, cb, 0)
	})
}

// SuspendedResolve measures resolve-to-result of suspended invocations: like
// AwakeableRoundTrip, but each round trip waits wait after getting the ID before it
// resolves, so that the invocation has suspended (wait must exceed the host's inactivity
// timeout). The result holds the resolve-to-result latencies.
func SuspendedResolve(ctx context.Context, c *Client, cb *Callbacks, wait time.Duration, l Load) (Result, error) {
	_, part, err := run(ctx, "round trip with suspension", "suspended resolve-to-result", l, func(ctx context.Context, _ int) (sample, error) {
		return c.roundTrip(ctx, cb, wait)
	})
	return part, err
}

// roundTrip is one awakeable round trip that waits wait before resolving.
func (c *Client) roundTrip(ctx context.Context, cb *Callbacks, wait time.Duration) (sample, error) {
	token, ids := cb.register()
	defer cb.unregister(token)
	req, _ := json.Marshal(struct {
		URL string `json:"url"`
	}{cb.URL(token)})
	value := []byte(strconv.Quote(token))

	type answer struct {
		body []byte
		err  error
		at   time.Time
	}
	answers := make(chan answer, 1)
	start := time.Now()
	go func() {
		b, err := c.post(ctx, "/Callback/await", req, http.StatusOK)
		answers <- answer{b, err, time.Now()}
	}()
	var id string
	select {
	case id = <-ids:
	case a := <-answers:
		return sample{}, fmt.Errorf("the call answered before its awakeable was resolved: %s %v", a.body, a.err)
	case <-ctx.Done():
		return sample{}, fmt.Errorf("no awakeable ID posted: %w", ctx.Err())
	}
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return sample{}, ctx.Err()
		}
	}
	resolveAt := time.Now()
	if _, err := c.post(ctx, "/restate/awakeables/"+id+"/resolve", value, http.StatusAccepted); err != nil {
		return sample{}, err
	}
	a := <-answers // the call's own context bounds this
	if a.err != nil {
		return sample{}, a.err
	}
	if !bytes.Equal(a.body, value) {
		return sample{}, fmt.Errorf("the call answered %s, want %s", a.body, value)
	}
	return sample{latency: a.at.Sub(start), part: a.at.Sub(resolveAt)}, nil
}

// Callbacks is the webhook that Callback/await posts awakeable IDs to: one URL per pending
// round trip, each delivering its ID on a channel.
type Callbacks struct {
	srv  *http.Server
	base string
	next atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan string
}

// NewCallbacks listens on addr (host:port; port 0 for any free one) and serves the webhook.
// The host must be able to reach addr.
func NewCallbacks(addr string) (*Callbacks, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: webhook: %w", err)
	}
	cb := &Callbacks{base: "http://" + ln.Addr().String(), pending: map[string]chan string{}}
	cb.srv = &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = cb.srv.Serve(ln) }()
	return cb, nil
}

// Close stops the webhook.
func (cb *Callbacks) Close() error { return cb.srv.Close() }

// URL is where the round trip token's awakeable ID is to be posted.
func (cb *Callbacks) URL(token string) string { return cb.base + "/cb/" + token }

// register opens a round trip: a fresh token and the channel its ID arrives on.
func (cb *Callbacks) register() (string, <-chan string) {
	token := "rt-" + strconv.FormatUint(cb.next.Add(1), 10)
	ch := make(chan string, 1)
	cb.mu.Lock()
	cb.pending[token] = ch
	cb.mu.Unlock()
	return token, ch
}

// unregister closes a round trip; a late or repeated post for it is answered and dropped.
func (cb *Callbacks) unregister(token string) {
	cb.mu.Lock()
	delete(cb.pending, token)
	cb.mu.Unlock()
}

// ServeHTTP implements http.Handler: POST /cb/{token} with the awakeable ID as a JSON string.
func (cb *Callbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.URL.Path, "/cb/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var id string
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cb.mu.Lock()
	ch := cb.pending[token]
	cb.mu.Unlock()
	if ch != nil {
		select {
		case ch <- id:
		default: // a retried post of the same round trip; the first one counts
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
