package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/examples/seed/handlers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/host"
	"github.com/vigilsim/vigil/runtime/ingress"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCall(t *testing.T) {
	s := startServer(t, nil)
	r := s.must("POST", "/Ledger/cups/append", `"espresso"`)
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, "1", r.body)
	assert.True(t, strings.HasPrefix(r.header.Get("x-restate-id"), "inv_"), r.header)
	r = s.must("POST", "/Ledger/cups/append", `"latte"`)
	assert.Equal(t, "2", r.body)
	r = s.must("POST", "/Ledger/cups/read", "")
	assert.JSONEq(t, `{"entries":["espresso","latte"]}`, r.body)

	start := time.Now()
	r = s.must("POST", "/Sleeper/sleep", `150`)
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, jsonString(handlers.SleepOutput(150)), r.body)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "the durable timer fired early")

	r = s.must("POST", "/Nope/x", `1`)
	assert.Equal(t, 404, r.status, r.body)
	r = s.must("POST", "/Sleeper/nope", `1`)
	assert.Equal(t, 404, r.status, r.body)
}

func TestSendAttachAndAwakeableResolve(t *testing.T) {
	s := startServer(t, nil)
	r := s.must("POST", "/Approval/requestHumanReview/send", `"doc-1"`)
	require.Equal(t, 202, r.status, r.body)
	var accepted struct{ InvocationID, Status string }
	require.NoError(t, json.Unmarshal([]byte(r.body), &accepted))
	assert.Equal(t, "Accepted", accepted.Status)

	attach := s.async("GET", "/restate/invocation/"+accepted.InvocationID+"/attach", "")
	id := s.awakeable("document", "doc-1")
	r = s.must("GET", "/restate/invocation/"+accepted.InvocationID+"/output", "")
	assert.Equal(t, 470, r.status, r.body)
	pendingFor(t, attach, 50*time.Millisecond)

	r = s.must("POST", "/restate/awakeables/"+id+"/resolve", `"Looks good!"`)
	assert.Equal(t, 202, r.status, r.body)
	assert.Empty(t, r.body)
	got := receive(t, attach)
	assert.Equal(t, 200, got.status, got.body)
	assert.Equal(t, jsonString(handlers.ApprovalOutput("doc-1", "Looks good!")), got.body)
	assert.Equal(t, accepted.InvocationID, got.header.Get("x-restate-id"))

	// The first completion won: a later reject is accepted and changes nothing.
	r = s.must("POST", "/restate/a/"+id+"/reject", "too late", "content-type", "text/plain")
	assert.Equal(t, 202, r.status, r.body)
	r = s.must("GET", "/restate/invocation/"+accepted.InvocationID+"/output", "")
	assert.Equal(t, got.body, r.body)

	// Malformed IDs are refused at the door.
	r = s.must("POST", "/restate/awakeables/sign_1nope/resolve", `"x"`)
	assert.Equal(t, 400, r.status, r.body)
}

func TestAwakeableReject(t *testing.T) {
	s := startServer(t, nil)
	call := s.async("POST", "/Approval/requestHumanReview", `"doc-2"`)
	id := s.awakeable("document", "doc-2")
	pendingFor(t, call, 50*time.Millisecond)
	r := s.must("POST", "/restate/awakeables/"+id+"/reject", "Review rejected: insufficient documentation", "content-type", "text/plain")
	assert.Equal(t, 202, r.status, r.body)
	got := receive(t, call)
	assert.Equal(t, 500, got.status, got.body)
	assert.JSONEq(t, `{"code":500,"message":"Review rejected: insufficient documentation","source":"invocation"}`, got.body)
}

func TestWorkflowPromise(t *testing.T) {
	s := startServer(t, nil)
	r := s.must("POST", "/ReviewWorkflow/doc-1/run/send", `"doc-1"`)
	require.Equal(t, 202, r.status, r.body)
	// The run asks for the review inside a Run: wait until it did, then it waits on the promise.
	require.Eventually(t, func() bool { return s.logs.count("review of doc-1 requested", "key", "doc-1") == 1 }, 10*time.Second, 5*time.Millisecond)

	r = s.must("GET", "/restate/workflow/ReviewWorkflow/doc-1/output", "")
	assert.Equal(t, 470, r.status, r.body)
	r = s.must("POST", "/ReviewWorkflow/doc-1/run", `"doc-1"`)
	assert.Equal(t, 409, r.status, r.body)
	r = s.must("POST", "/ReviewWorkflow/doc-1/run/send", `"doc-1"`)
	assert.Equal(t, 202, r.status, r.body)
	assert.Contains(t, r.body, "PreviouslyAccepted")

	r = s.must("POST", "/ReviewWorkflow/doc-1/submitReview", `"LGTM"`)
	assert.Equal(t, 200, r.status, r.body)
	r = s.must("GET", "/restate/workflow/ReviewWorkflow/doc-1/attach", "")
	assert.Equal(t, 200, r.status, r.body)
	want := jsonString(handlers.ProcessReview("doc-1", "LGTM"))
	assert.Equal(t, want, r.body)
	r = s.must("GET", "/restate/workflow/ReviewWorkflow/doc-1/output", "")
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, want, r.body)

	// A second completion of the promise fails for its caller, and changes nothing.
	r = s.must("POST", "/ReviewWorkflow/doc-1/submitReview", `"Actually, no"`)
	assert.Equal(t, 409, r.status, r.body)
	assert.Contains(t, r.body, "promise was already completed")
	r = s.must("GET", "/restate/workflow/ReviewWorkflow/doc-1/output", "")
	assert.Equal(t, want, r.body)

	r = s.must("GET", "/restate/workflow/ReviewWorkflow/never/output", "")
	assert.Equal(t, 404, r.status, r.body)
}

func TestObjectExclusivity(t *testing.T) {
	s := startServer(t, nil)
	r := s.must("POST", "/Ledger/a/hold/send", `"audit"`)
	require.Equal(t, 202, r.status, r.body)
	id := s.awakeable("ledger", "a")

	// Exclusive calls to the held key queue; shared calls and other keys answer at once.
	queued := s.async("POST", "/Ledger/a/append", `"after the audit"`)
	r = s.must("POST", "/Ledger/a/read", "")
	assert.JSONEq(t, fmt.Sprintf(`{"entries":[],"holding":%q}`, id), r.body)
	r = s.must("POST", "/Ledger/b/append", `"elsewhere"`)
	assert.Equal(t, "1", r.body)
	pendingFor(t, queued, 100*time.Millisecond)

	r = s.must("POST", "/restate/awakeables/"+id+"/resolve", `"done"`)
	require.Equal(t, 202, r.status, r.body)
	got := receive(t, queued)
	assert.Equal(t, 200, got.status, got.body)
	assert.Equal(t, "1", got.body)
	r = s.must("POST", "/Ledger/a/read", "")
	assert.JSONEq(t, `{"entries":["after the audit"]}`, r.body)
}

func TestRestartResumesSuspendedAwakeable(t *testing.T) {
	// A short inactivity timeout makes the waiting attempt suspend before the restart.
	s := startServer(t, func(c *host.Config) { c.InactivityTimeout = 20 * time.Millisecond })
	r := s.must("POST", "/Approval/requestHumanReview/send", `"doc-3"`, "idempotency-key", "k3")
	require.Equal(t, 202, r.status, r.body)
	var accepted struct{ InvocationID string }
	require.NoError(t, json.Unmarshal([]byte(r.body), &accepted))
	id := s.awakeable("document", "doc-3")
	time.Sleep(100 * time.Millisecond) // past the inactivity timeout: suspended

	s.restart()
	r = s.must("GET", "/restate/invocation/"+accepted.InvocationID+"/output", "")
	assert.Equal(t, 470, r.status, "still waiting after the restart: %s", r.body)
	r = s.must("POST", "/restate/awakeables/"+id+"/resolve", `"after restart"`)
	require.Equal(t, 202, r.status, r.body)
	r = s.must("GET", "/restate/invocation/Approval/requestHumanReview/k3/attach", "")
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, jsonString(handlers.ApprovalOutput("doc-3", "after restart")), r.body)
	// The review was requested once: the journaled Run did not run again on replay.
	assert.Equal(t, 1, s.logs.count("human review requested", "document", "doc-3"))
}

func TestRestartResumesRunningAwakeable(t *testing.T) {
	// The default inactivity timeout keeps the attempt in memory: the restart aborts it, and
	// recovery starts a new attempt that replays to the same wait.
	s := startServer(t, nil)
	call := s.async("POST", "/Approval/requestHumanReview", `"doc-4"`, "idempotency-key", "k4")
	id := s.awakeable("document", "doc-4")
	s.restart()
	got := receive(t, call)
	assert.Equal(t, 503, got.status, "an open call is answered 503 at shutdown: %s", got.body)

	r := s.must("POST", "/restate/awakeables/"+id+"/resolve", `"fine"`)
	require.Equal(t, 202, r.status, r.body)
	r = s.must("POST", "/Approval/requestHumanReview", `"doc-4"`, "idempotency-key", "k4")
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, jsonString(handlers.ApprovalOutput("doc-4", "fine")), r.body)
	assert.Equal(t, 1, s.logs.count("human review requested", "document", "doc-4"))
}

func TestRestartResolvesWorkflowPromise(t *testing.T) {
	s := startServer(t, func(c *host.Config) { c.InactivityTimeout = 10 * time.Millisecond })
	r := s.must("POST", "/ReviewWorkflow/doc-5/run/send", `"doc-5"`)
	require.Equal(t, 202, r.status, r.body)
	require.Eventually(t, func() bool { return s.logs.count("review of doc-5 requested", "key", "doc-5") == 1 }, 10*time.Second, 5*time.Millisecond)
	s.restart()
	r = s.must("GET", "/restate/workflow/ReviewWorkflow/doc-5/output", "")
	assert.Equal(t, 470, r.status, r.body)
	r = s.must("POST", "/ReviewWorkflow/doc-5/submitReview", `"approved after restart"`)
	assert.Equal(t, 200, r.status, r.body)
	r = s.must("GET", "/restate/workflow/ReviewWorkflow/doc-5/attach", "")
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, jsonString(handlers.ProcessReview("doc-5", "approved after restart")), r.body)

	// And a workflow finished before a restart keeps its output and promise.
	s.restart()
	r = s.must("GET", "/restate/workflow/ReviewWorkflow/doc-5/output", "")
	assert.Equal(t, jsonString(handlers.ProcessReview("doc-5", "approved after restart")), r.body)
	r = s.must("POST", "/ReviewWorkflow/doc-5/submitReview", `"again"`)
	assert.Equal(t, 409, r.status, r.body)
}

func TestRestartKeepsTimers(t *testing.T) {
	s := startServer(t, func(c *host.Config) { c.InactivityTimeout = -1 })
	start := time.Now()
	r := s.must("POST", "/Sleeper/sleep/send", `400`, "idempotency-key", "nap")
	require.Equal(t, 202, r.status, r.body)
	time.Sleep(50 * time.Millisecond)
	s.restart()
	r = s.must("GET", "/restate/invocation/Sleeper/sleep/nap/attach", "")
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, jsonString(handlers.SleepOutput(400)), r.body)
	assert.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond, "the timer fired early")
}

func TestGroupCommit(t *testing.T) {
	s := startServer(t, nil)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r, err := s.do("POST", fmt.Sprintf("/Ledger/k%d/append", i%20), jsonString(fmt.Sprint(i)))
			if err == nil && r.status != 200 {
				err = fmt.Errorf("append %d: %s", i, r)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st := s.h.Stats()
	t.Logf("inputs=%d groups=%d batches=%d syncs=%d (%.1f batches per sync) sync time=%v store=%+v",
		st.Inputs, st.Groups, st.Batches, st.Syncs, float64(st.Batches)/float64(st.Syncs), st.SyncTime, st.Store)
	assert.Less(t, st.Syncs, st.Batches, "group commit: fewer syncs than batches")
	assert.Less(t, st.Store.Syncs, st.Store.BatchesSynced, "the store agrees")
	assert.Zero(t, st.OpenRequests)
	total := 0
	for k := range 20 {
		var view handlers.LedgerView
		r := s.must("POST", fmt.Sprintf("/Ledger/k%d/read", k), "")
		require.NoError(t, json.Unmarshal([]byte(r.body), &view))
		total += len(view.Entries)
	}
	assert.Equal(t, n, total)
}

func TestRequestBodyLimit(t *testing.T) {
	s := startServer(t, func(c *host.Config) { c.MaxRequestBodyBytes = 1000 })
	big := jsonString(strings.Repeat("x", 1000))
	r := s.must("POST", "/Ledger/a/append", big)
	assert.Equal(t, 413, r.status, r.body)
	assert.JSONEq(t, `{"code":413,"message":"the request body is larger than the limit of 1000 bytes","source":"ingress"}`, r.body)

	// Without a Content-Length (chunked), the limit holds too.
	req, err := http.NewRequest("POST", s.base+"/Ledger/a/append", io.MultiReader(strings.NewReader(big)))
	require.NoError(t, err)
	req.ContentLength = -1
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode, string(b))

	ok := jsonString(strings.Repeat("x", 998)) // exactly 1000 bytes
	r = s.must("POST", "/Ledger/a/append", ok)
	assert.Equal(t, 200, r.status, r.body)
}

func TestDefaultRequestBodyLimit(t *testing.T) {
	s := startServer(t, nil)
	big := `"` + strings.Repeat("x", ingress.MaxBodyBytes) + `"`
	r := s.must("POST", "/Ledger/a/append", big)
	assert.Equal(t, 413, r.status)
	assert.Contains(t, r.body, fmt.Sprint(ingress.MaxBodyBytes))
}

func TestConfigErrors(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	_, err := host.New(host.Config{DataDir: t.TempDir(), Logger: quiet, MaxRequestBodyBytes: ingress.MaxBodyBytes + 1})
	assert.ErrorContains(t, err, "ingress")
	_, err = host.New(host.Config{DataDir: t.TempDir(), Logger: quiet, Services: append(handlers.Services(handlers.Options{}), handlers.Sleeper())})
	assert.ErrorContains(t, err, "two services")
	h, err := host.New(host.Config{DataDir: t.TempDir(), Logger: quiet})
	require.NoError(t, err, "no services is a valid, if useless, host")
	require.NoError(t, h.Close())
}

func TestDataDirIsCreatedAndLocked(t *testing.T) {
	dir := t.TempDir() + "/nested/data"
	quiet := slog.New(slog.DiscardHandler)
	h, err := host.New(host.Config{DataDir: dir, Logger: quiet, Services: []*durable.Service{handlers.Sleeper()}})
	require.NoError(t, err)
	defer h.Close()
	_, err = host.New(host.Config{DataDir: dir, Logger: quiet})
	assert.Error(t, err, "a second host on the same data dir must be refused")
}

func TestClientGoneAway(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.doCtx(ctx, "POST", "/Approval/requestHumanReview", `"doc-6"`)
	require.Error(t, err)
	// The engine goroutine drops the reply callback of the abandoned call.
	require.Eventually(t, func() bool { return s.h.Stats().OpenRequests == 0 }, 5*time.Second, 5*time.Millisecond)
	// The invocation itself goes on, as in Restate.
	id := s.awakeable("document", "doc-6")
	r := s.must("POST", "/restate/awakeables/"+id+"/resolve", `"ok"`)
	assert.Equal(t, 202, r.status)
}

func TestGracefulShutdown(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startServer(t, func(c *host.Config) { c.ShutdownTimeout = 200 * time.Millisecond })
	// Open work of every kind at shutdown: a parked attempt with a call waiting on it, a
	// suspended-to-be workflow, a durable timer, an object holding its key.
	call := s.async("POST", "/Approval/requestHumanReview", `"doc-7"`)
	s.awakeable("document", "doc-7")
	require.Equal(t, 202, s.must("POST", "/ReviewWorkflow/w/run/send", `"w"`).status)
	require.Equal(t, 202, s.must("POST", "/Sleeper/sleep/send", `60000`).status)
	require.Equal(t, 202, s.must("POST", "/Ledger/x/hold/send", `"why"`).status)
	s.awakeable("ledger", "x")

	start := time.Now()
	require.NoError(t, s.stop(), "Serve returns nil after a shutdown its context asked for")
	got := receive(t, call)
	assert.Equal(t, 503, got.status, got.body)
	assert.Less(t, time.Since(start), 2*time.Second, "shutdown took too long")
	s.client.CloseIdleConnections()
	// After Close: the handler refuses, Close is idempotent.
	rec := httptest.NewRecorder()
	s.last.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/Sleeper/sleep", strings.NewReader("1")))
	assert.Equal(t, 503, rec.Code, rec.Body.String())
	assert.NoError(t, s.last.Close())
}

func TestRunListensAndStops(t *testing.T) {
	logs := &logRecords{}
	logger := slog.New(logs.handler())
	h, err := host.New(host.Config{
		DataDir:    t.TempDir(),
		ListenAddr: "127.0.0.1:0",
		Logger:     logger,
		Services:   handlers.Services(handlers.Options{Logger: logger}),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	require.Eventually(t, func() bool { return h.Addr() != nil }, 5*time.Second, time.Millisecond)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+h.Addr().String()+"/Sleeper/sleep", "application/json", strings.NewReader("1"))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, jsonString(handlers.SleepOutput(1)), string(b))
	cancel()
	require.NoError(t, <-ran)
	_, ok := logs.find("msg", "vigil host listening", "addr")
	assert.True(t, ok, "the listening address is logged")
	_, ok = logs.find("msg", "vigil host starting", "data_dir")
	assert.True(t, ok, "startup is logged with the data dir")
}

func TestRetention(t *testing.T) {
	s := startServer(t, func(c *host.Config) { c.Retention = 300 * time.Millisecond })
	r := s.must("POST", "/ReviewWorkflow/short/run/send", `"short"`)
	require.Equal(t, 202, r.status, r.body)
	r = s.must("POST", "/ReviewWorkflow/short/submitReview", `"ok"`)
	require.Equal(t, 200, r.status, r.body)
	r = s.must("GET", "/restate/workflow/ReviewWorkflow/short/attach", "")
	require.Equal(t, 200, r.status, r.body)
	// Retention is durable too: it ends on time across a restart.
	s.restart()
	require.Eventually(t, func() bool {
		return s.must("GET", "/restate/workflow/ReviewWorkflow/short/output", "").status == 404
	}, 5*time.Second, 20*time.Millisecond, "the workflow was not purged after its retention")
	// The key can run again, as a fresh run.
	r = s.must("POST", "/ReviewWorkflow/short/run/send", `"short again"`)
	assert.Equal(t, 202, r.status, r.body)
	assert.Contains(t, r.body, `"Accepted"`)
}
