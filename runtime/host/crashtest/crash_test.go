package crashtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsim/vigil/examples/seed/handlers"
)

// The workload's shape. Every task is one logical piece of work that a client drives to its
// end through every crash, retrying with the same idempotency key, and then verifies.
const (
	killCycles      = 25
	minUptime       = 120 * time.Millisecond
	maxUptime       = 450 * time.Millisecond
	approvals       = 60
	workflows       = 30
	ledgers         = 15
	sleepers        = 30
	taskStartSpread = 7 * time.Second
	healDeadline    = 20 * time.Second
)

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test builds and kills a real server; skipped under -short")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (it fixes the workload's choices; the kill moments depend on timing too)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	bin := buildExample(t)
	p := &proc{t: t, bin: bin, dir: filepath.Join(t.TempDir(), "data"), logPath: filepath.Join(t.TempDir(), "seed.log"), awakeables: map[string]string{}}
	defer p.stopGracefully()
	p.start(rng)

	c := &client{p: p, healed: make(chan struct{}), http: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 128},
		Timeout:   2 * healDeadline,
	}}
	defer c.http.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Launch the tasks at random moments of the kill phase.
	var wg sync.WaitGroup
	var tasks []*task
	add := func(kind string, n int, run func(ctx context.Context, tk *task)) {
		for i := range n {
			tk := &task{kind: kind, i: i, rng: rand.New(rand.NewPCG(seed, uint64(len(tasks)+1)))}
			tk.at("not started")
			tasks = append(tasks, tk)
			delay := time.Duration(rng.Int64N(int64(taskStartSpread)))
			wg.Go(func() {
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return
				}
				run(ctx, tk)
				tk.done.Store(true)
			})
		}
	}
	add("approval", approvals, c.approval)
	add("workflow", workflows, c.workflow)
	add("ledger", ledgers, c.ledger)
	add("sleeper", sleepers, c.sleeper)

	// Kill the server at random moments and restart it on the same data dir.
	for cycle := 1; cycle <= killCycles; cycle++ {
		time.Sleep(minUptime + time.Duration(rng.Int64N(int64(maxUptime-minUptime))))
		p.kill()
		p.start(rng)
	}
	killedAt := time.Now()
	close(c.healed)

	// Heal: no more kills; every task must finish.
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(healDeadline):
		cancel()
		var stuck []string
		for _, tk := range tasks {
			if !tk.done.Load() {
				stuck = append(stuck, fmt.Sprintf("%s-%d (%s)", tk.kind, tk.i, tk.stage.Load()))
			}
		}
		<-finished
		t.Fatalf("%d task(s) did not finish within %v after the last restart (an acknowledged request or completion was lost, or a timer never fired): %v\nserver log, last lines:\n%s", len(stuck), healDeadline, stuck, p.tail(60))
	}
	heal := time.Since(killedAt)

	var violations []string
	verified := map[string]int{}
	for _, tk := range tasks {
		if len(tk.violations) > 0 {
			for _, v := range tk.violations {
				violations = append(violations, fmt.Sprintf("%s-%d: %s", tk.kind, tk.i, v))
			}
			continue
		}
		verified[tk.kind]++
	}
	p.mu.Lock()
	violations = append(violations, p.problems...)
	p.mu.Unlock()
	for _, v := range violations {
		t.Error(v)
	}
	if len(violations) > 0 {
		t.Logf("server log, last lines:\n%s", p.tail(60))
	}
	t.Logf("crash test summary: %d kill -9 cycles (%d starts), heal phase %v; %d requests sent, %d acknowledged (200/202), %d connection failures; verified %d approvals (%d awakeable completions), %d workflows (%d promise submissions), %d ledgers (%d appends), %d sleepers; %d violations",
		killCycles, p.starts, heal.Round(time.Millisecond), c.sent.Load(), c.acked.Load(), c.failures.Load(),
		verified["approval"], c.completions.Load(), verified["workflow"], c.submissions.Load(),
		verified["ledger"], c.appends.Load(), verified["sleeper"], len(violations))
}

// buildExample builds examples/seed into a temporary directory and returns the binary's path.
func buildExample(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the example with")
	}
	bin := filepath.Join(t.TempDir(), "seed")
	args := []string{"build", "-o", bin}
	if os.Getenv("VIGIL_CRASHTEST_RACE") != "" {
		args = append(args, "-race") // the server then dies loudly on a data race
	}
	cmd := exec.Command(goTool, append(args, "github.com/vigilsim/vigil/examples/seed")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/seed: %v\n%s", err, out)
	}
	return bin
}

// proc is the server subprocess, started again after every kill on the same data dir.
type proc struct {
	t       *testing.T
	bin     string
	dir     string
	logPath string

	cmd      *exec.Cmd
	logsDone chan struct{}
	base     atomic.Pointer[string]
	starts   int

	mu sync.Mutex
	// awakeables maps "document doc-1" or "ledger L-1" to the awakeable ID its handler logged.
	awakeables map[string]string
	problems   []string
}

var (
	listeningRe = regexp.MustCompile(`vigil host listening addr=(\S+)`)
	awakeableRe = regexp.MustCompile(` (document|ledger)=(\S+) .*awakeable=(sign_1[A-Za-z0-9_-]+)`)
)

// start starts the server and waits until it listens. Half the starts use a short inactivity
// timeout, so that waiting handlers suspend and crashes meet suspended invocations too.
func (p *proc) start(rng *rand.Rand) {
	p.t.Helper()
	inactivity := "1m"
	if rng.IntN(2) == 0 {
		inactivity = "100ms"
	}
	p.starts++
	cmd := exec.Command(p.bin, "-data", p.dir, "-listen", "127.0.0.1:0", "-inactivity-timeout", inactivity)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(logFile, "==== start %d (inactivity %s)\n", p.starts, inactivity)
	ready := make(chan string, 1)
	p.cmd, p.logsDone = cmd, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
			if m := awakeableRe.FindStringSubmatch(line); m != nil {
				p.learn(m[1]+" "+m[2], m[3])
			}
			if strings.Contains(line, "DATA RACE") || strings.HasPrefix(line, "panic:") || strings.Contains(line, " ERROR ") {
				p.mu.Lock()
				p.problems = append(p.problems, "server log: "+line)
				p.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}(p.logsDone)
	select {
	case addr := <-ready:
		base := "http://" + addr
		p.base.Store(&base)
	case <-time.After(20 * time.Second):
		p.t.Fatalf("start %d: the server did not listen within 20s; log:\n%s", p.starts, p.tail(30))
	}
}

// tail returns the last n lines of the server's log, over all its starts.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// learn records a logged awakeable ID. A handler logs its awakeable again when the Run that
// logs it was not journaled before a crash; it must be the same ID every time.
func (p *proc) learn(name, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.awakeables[name]; ok && prev != id {
		p.problems = append(p.problems, fmt.Sprintf("%s logged two awakeables: %s and %s", name, prev, id))
		return
	}
	p.awakeables[name] = id
}

func (p *proc) awakeable(name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.awakeables[name]
	return id, ok
}

// kill kills the server with SIGKILL and waits until it is gone.
func (p *proc) kill() {
	p.base.Store(nil)
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	<-p.logsDone
}

// stopGracefully ends the last server with SIGTERM, which must shut it down cleanly.
func (p *proc) stopGracefully() {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	p.base.Store(nil)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			p.t.Errorf("the server did not exit cleanly on SIGTERM: %v; log:\n%s", err, p.tail(30))
		}
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		p.t.Errorf("the server did not exit within 15s of SIGTERM; log:\n%s", p.tail(30))
	}
	<-p.logsDone
}

// client drives the server over HTTP, retrying through crashes.
type client struct {
	p    *proc
	http *http.Client
	// healed is closed after the last restart: tasks verify what they did after it.
	healed chan struct{}

	sent, acked, failures             atomic.Int64
	completions, submissions, appends atomic.Int64
}

// task is one logical piece of work and what its verification found.
type task struct {
	kind       string
	i          int
	rng        *rand.Rand
	mu         sync.Mutex
	violations []string
	done       atomic.Bool
	stage      atomic.Value
}

func (tk *task) violate(format string, args ...any) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.violations = append(tk.violations, fmt.Sprintf(format, args...))
}

func (tk *task) at(stage string) { tk.stage.Store(stage) }

// rand draws from the task's stream; safe from the task's helper goroutines.
func (tk *task) intN(n int) int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.rng.IntN(n)
}

type response struct {
	status int
	body   string
	id     string // x-restate-id
	at     time.Time
}

var errDown = errors.New("server down")

// once sends one request to the server as it is now.
func (c *client) once(ctx context.Context, method, path, body, contentType, idem string) (response, error) {
	base := c.p.base.Load()
	if base == nil {
		return response{}, errDown
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, *base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("content-type", contentType)
	}
	if idem != "" {
		req.Header.Set("idempotency-key", idem)
	}
	c.sent.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		c.failures.Add(1)
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.failures.Add(1)
		return response{}, err
	}
	if resp.StatusCode == 200 || resp.StatusCode == 202 {
		c.acked.Add(1)
	}
	return response{status: resp.StatusCode, body: string(b), id: resp.Header.Get("x-restate-id"), at: time.Now()}, nil
}

// until repeats a request until it gets one of the wanted statuses. A connection failure or
// another status (the server was killed mid-request) means: try again, the request is
// idempotent. It gives up only when ctx ends.
func (c *client) until(ctx context.Context, tk *task, method, path, body, contentType, idem string, want ...int) (response, bool) {
	for ctx.Err() == nil {
		r, err := c.once(ctx, method, path, body, contentType, idem)
		if err == nil && slices.Contains(want, r.status) {
			return r, true
		}
		if err == nil && r.status != http.StatusServiceUnavailable {
			tk.violate("%s %s: unexpected %d %s", method, path, r.status, r.body)
			return r, false
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(10+tk.intN(30)) * time.Millisecond):
		}
	}
	return response{}, false
}

// afterHeal waits until the last restart is done; it reports false if ctx ended first.
func (c *client) afterHeal(ctx context.Context, tk *task) bool {
	tk.at("wait for the last restart")
	select {
	case <-c.healed:
		return true
	case <-ctx.Done():
		return false
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type failureBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func invocationIDOf(body string) string {
	var a struct {
		InvocationID string `json:"invocationId"`
	}
	_ = json.Unmarshal([]byte(body), &a)
	return a.InvocationID
}

// completion is one resolve or reject a reviewer sent.
type completion struct {
	value  string
	reject bool
	start  time.Time // before the first try
	ack    time.Time // when the 202 came
}

// approval: Approval/requestHumanReview by call or by send, then one or two reviewers resolve
// or reject its awakeable (the ID comes from the server's log). Verified: the output is the
// decision of a completion that was sent before any completion was acknowledged (the first
// completion wins, and an acknowledged one is durable), every answer names one invocation and
// carries the same output.
func (c *client) approval(ctx context.Context, tk *task) {
	doc := fmt.Sprintf("doc-%d", tk.i)
	idem := "appr-" + doc
	path := "/" + handlers.ApprovalService + "/" + handlers.RequestHumanReview
	byCall := tk.intN(2) == 0
	var invocation string
	var callResult chan response
	tk.at("submit")
	if byCall {
		callResult = make(chan response, 1)
		go func() {
			r, ok := c.until(ctx, tk, "POST", path, jsonString(doc), "application/json", idem, 200, 500)
			if ok {
				callResult <- r
			}
			close(callResult)
		}()
	} else {
		r, ok := c.until(ctx, tk, "POST", path+"/send", jsonString(doc), "application/json", idem, 202)
		if !ok {
			return
		}
		invocation = invocationIDOf(r.body)
	}

	tk.at("wait for the awakeable in the log")
	var id string
	for {
		var ok bool
		if id, ok = c.p.awakeable("document " + doc); ok {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	tk.at("complete")
	n := 1 + tk.intN(2)
	var mu sync.Mutex
	var comps []*completion
	var wg sync.WaitGroup
	for j := range n {
		cp := &completion{reject: tk.intN(10) < 3}
		if cp.reject {
			cp.value = fmt.Sprintf("rejected by reviewer %d of %s", j, doc)
		} else {
			cp.value = fmt.Sprintf("approved by reviewer %d", j)
		}
		delay := time.Duration(tk.intN(300)) * time.Millisecond
		wg.Go(func() {
			time.Sleep(delay)
			cp.start = time.Now()
			var r response
			var ok bool
			if cp.reject {
				r, ok = c.until(ctx, tk, "POST", "/restate/awakeables/"+id+"/reject", cp.value, "text/plain", "", 202)
			} else {
				r, ok = c.until(ctx, tk, "POST", "/restate/awakeables/"+id+"/resolve", jsonString(cp.value), "application/json", "", 202)
			}
			if ok {
				cp.ack = r.at
				c.completions.Add(1)
				mu.Lock()
				comps = append(comps, cp)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if !c.afterHeal(ctx, tk) {
		return
	}
	tk.at("attach")
	final, ok := c.until(ctx, tk, "GET", "/restate/invocation"+path+"/"+idem+"/attach", "", "", "", 200, 500)
	if !ok {
		return
	}
	if byCall {
		tk.at("call")
		r, ok := <-callResult
		if !ok {
			return
		}
		if r.status != final.status || r.body != final.body || r.id != final.id {
			tk.violate("the call got %d %s from %s, the attach %d %s from %s", r.status, r.body, r.id, final.status, final.body, final.id)
		}
	} else if final.id != invocation {
		tk.violate("send accepted %s, attach answered for %s", invocation, final.id)
	}
	// Which completion did the waiter get?
	var got *completion
	for _, cp := range comps {
		if cp.reject && final.status == 500 {
			var fb failureBody
			if json.Unmarshal([]byte(final.body), &fb) == nil && fb.Message == cp.value {
				got = cp
			}
		}
		if !cp.reject && final.status == 200 && final.body == jsonString(handlers.ApprovalOutput(doc, cp.value)) {
			got = cp
		}
	}
	if got == nil {
		tk.violate("output %d %s is none of the %d completions sent", final.status, final.body, len(comps))
		return
	}
	firstAck := comps[0].ack
	for _, cp := range comps {
		if cp.ack.Before(firstAck) {
			firstAck = cp.ack
		}
	}
	if !got.start.Before(firstAck) {
		tk.violate("the waiter got %q, sent after another completion had been acknowledged: the first completion must win", got.value)
	}
}

// workflow: ReviewWorkflow/{key}/run/send, one or two reviews submitted with submitReview
// (sometimes before the run is even sent, sometimes racing). Verified: exactly one submission
// succeeded (200) and every other got 409, and the run's output is that review's.
func (c *client) workflow(ctx context.Context, tk *task) {
	key := fmt.Sprintf("wf-%d", tk.i)
	doc := "doc-of-" + key
	base := "/" + handlers.ReviewWorkflow + "/" + key
	n := 1 + tk.intN(2)
	early := tk.intN(5) == 0
	type submission struct {
		value  string
		status int
	}
	subs := make([]*submission, n)
	submit := func(j int) {
		s := &submission{value: fmt.Sprintf("LGTM from reviewer %d of %s", j, key)}
		subs[j] = s
		r, ok := c.until(ctx, tk, "POST", base+"/"+handlers.SubmitReview, jsonString(s.value), "application/json", fmt.Sprintf("sub-%s-%d", key, j), 200, 409)
		if ok {
			s.status = r.status
			c.submissions.Add(1)
		}
	}
	var wg sync.WaitGroup
	if early {
		tk.at("early submission")
		submit(0)
	}
	tk.at("run")
	r, ok := c.until(ctx, tk, "POST", base+"/run/send", jsonString(doc), "application/json", "", 202)
	if !ok {
		return
	}
	invocation := invocationIDOf(r.body)
	tk.at("submissions")
	for j := range n {
		if j == 0 && early {
			continue
		}
		delay := time.Duration(tk.intN(200)) * time.Millisecond
		wg.Go(func() {
			time.Sleep(delay)
			submit(j)
		})
	}
	wg.Wait()
	if !c.afterHeal(ctx, tk) {
		return
	}
	tk.at("attach")
	final, ok := c.until(ctx, tk, "GET", "/restate/workflow/"+handlers.ReviewWorkflow+"/"+key+"/attach", "", "", "", 200)
	if !ok {
		return
	}
	if final.id != invocation {
		tk.violate("run/send accepted %s, attach answered for %s", invocation, final.id)
	}
	var winners []string
	for _, s := range subs {
		switch s.status {
		case 200:
			winners = append(winners, s.value)
		case 409:
		default:
			tk.violate("submission %q has no definite answer (%d)", s.value, s.status)
		}
	}
	if len(winners) != 1 {
		tk.violate("%d submissions succeeded (%q); exactly one may complete the promise", len(winners), winners)
		return
	}
	if want := jsonString(handlers.ProcessReview(doc, winners[0])); final.body != want {
		tk.violate("run returned %s, want %s", final.body, want)
	}
}

// ledger: Ledger/{key}/hold (send) keeps the key on an awakeable whose ID the client reads from
// the object's state; appends queue behind it; a releaser resolves it. Verified: no append
// finished before the release was sent (exclusivity), each append ran exactly once and in
// order (the state holds each entry once, in order, and append j answered j+1), the hold
// returned the release.
func (c *client) ledger(ctx context.Context, tk *task) {
	key := fmt.Sprintf("L-%d", tk.i)
	base := "/" + handlers.Ledger + "/" + key
	reason := "audit-" + key
	tk.at("hold")
	r, ok := c.until(ctx, tk, "POST", base+"/"+handlers.LedgerHold+"/send", jsonString(reason), "application/json", "hold-"+key, 202)
	if !ok {
		return
	}
	holdInvocation := invocationIDOf(r.body)
	release := "released " + key
	var releaseStart time.Time
	released := make(chan struct{})
	go func() {
		defer close(released)
		for ctx.Err() == nil {
			r, ok := c.until(ctx, tk, "POST", base+"/"+handlers.LedgerRead, "", "", "", 200)
			if !ok {
				return
			}
			var view handlers.LedgerView
			if err := json.Unmarshal([]byte(r.body), &view); err != nil {
				tk.violate("read: %v: %s", err, r.body)
				return
			}
			if view.Holding != "" {
				time.Sleep(time.Duration(tk.intN(200)) * time.Millisecond)
				releaseStart = time.Now()
				c.until(ctx, tk, "POST", "/restate/awakeables/"+view.Holding+"/resolve", jsonString(release), "application/json", "", 202)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	m := 3 + tk.intN(3)
	var entries []string
	var doneAt []time.Time
	for j := range m {
		tk.at(fmt.Sprintf("append %d", j))
		entry := fmt.Sprintf("entry %d of %s", j, key)
		r, ok := c.until(ctx, tk, "POST", base+"/"+handlers.LedgerAppend, jsonString(entry), "application/json", fmt.Sprintf("app-%s-%d", key, j), 200)
		if !ok {
			return
		}
		c.appends.Add(1)
		if r.body != fmt.Sprint(j+1) {
			tk.violate("append %d answered %s, want %d: an append ran twice or was lost", j, r.body, j+1)
		}
		entries = append(entries, entry)
		doneAt = append(doneAt, r.at)
	}
	tk.at("release")
	<-released
	if !c.afterHeal(ctx, tk) {
		return
	}
	if len(doneAt) > 0 && doneAt[0].Before(releaseStart) {
		tk.violate("an append finished at %v, before the hold was released at %v: exclusivity broken", doneAt[0].Format(time.StampMilli), releaseStart.Format(time.StampMilli))
	}
	tk.at("attach hold")
	final, ok := c.until(ctx, tk, "GET", "/restate/invocation/"+handlers.Ledger+"/"+key+"/"+handlers.LedgerHold+"/hold-"+key+"/attach", "", "", "", 200)
	if !ok {
		return
	}
	if final.id != holdInvocation {
		tk.violate("hold accepted as %s, attach answered for %s", holdInvocation, final.id)
	}
	if want := jsonString(fmt.Sprintf("%s held for %s, released: %s", key, reason, release)); final.body != want {
		tk.violate("hold returned %s, want %s", final.body, want)
	}
	tk.at("final read")
	r, ok = c.until(ctx, tk, "POST", base+"/"+handlers.LedgerRead, "", "", "", 200)
	if !ok {
		return
	}
	var view handlers.LedgerView
	if err := json.Unmarshal([]byte(r.body), &view); err != nil {
		tk.violate("read: %v: %s", err, r.body)
		return
	}
	if !slices.Equal(view.Entries, entries) || view.Holding != "" {
		tk.violate("the ledger holds %q (holding %q), want %q", view.Entries, view.Holding, entries)
	}
}

// sleeper: Sleeper/sleep/send for a few hundred milliseconds. Verified: it finishes (no timer
// lost) with its output, and not before its duration passed since it was first sent (no
// timer early).
func (c *client) sleeper(ctx context.Context, tk *task) {
	ms := 200 + tk.intN(200)
	idem := fmt.Sprintf("nap-%d", tk.i)
	path := "/" + handlers.SleeperService + "/" + handlers.SleeperSleep
	start := time.Now()
	tk.at("send")
	r, ok := c.until(ctx, tk, "POST", path+"/send", fmt.Sprint(ms), "application/json", idem, 202)
	if !ok {
		return
	}
	invocation := invocationIDOf(r.body)
	tk.at("attach")
	first, ok := c.until(ctx, tk, "GET", "/restate/invocation"+path+"/"+idem+"/attach", "", "", "", 200)
	if !ok {
		return
	}
	if elapsed := first.at.Sub(start); elapsed < time.Duration(ms)*time.Millisecond {
		tk.violate("a %d ms sleep finished %v after it was sent: the timer fired early", ms, elapsed)
	}
	if !c.afterHeal(ctx, tk) {
		return
	}
	tk.at("attach again")
	final, ok := c.until(ctx, tk, "GET", "/restate/invocation"+path+"/"+idem+"/attach", "", "", "", 200)
	if !ok {
		return
	}
	if final.id != invocation || first.id != invocation {
		tk.violate("send accepted %s, attaches answered for %s and %s", invocation, first.id, final.id)
	}
	if want := jsonString(handlers.SleepOutput(ms)); final.body != want || first.body != want {
		tk.violate("sleep returned %s, then %s; want %s", first.body, final.body, want)
	}
}
