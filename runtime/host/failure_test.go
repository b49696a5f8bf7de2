package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/examples/seed/handlers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/store"
)

// TestStoreFailureStopsTheHost fails the store under a running host: the request whose batch
// could not be made durable is not acknowledged (503), later requests are refused, and Serve
// returns the store's error.
func TestStoreFailureStopsTheHost(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	echo := durable.NewService("Echo").Handler("echo", durable.NewServiceHandler(
		func(_ durable.Context, s string) (string, error) { return s, nil }))
	h, err := New(Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Services: []*durable.Service{echo}, ExecutorShards: 2})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- h.Serve(context.Background(), ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	post := func() (int, string) {
		resp, err := client.Post("http://"+ln.Addr().String()+"/Echo/echo", "application/json", strings.NewReader(`"hi"`))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := post()
	require.Equal(t, 200, status, body)

	// Let the first call's handler settle (its awakeable and Run journaled, the Run acked, the
	// handler parked): otherwise one of its commands can meet the closed store first, and the
	// second call then races the shutdown that failure starts instead of causing it.
	last := ^uint64(0)
	require.Eventually(t, func() bool {
		n := h.Stats().Inputs
		settled := n == last
		last = n
		return settled
	}, 10*time.Second, 100*time.Millisecond)

	require.NoError(t, h.store.Close()) // every Apply and Sync fails from now on
	status, body = post()
	assert.Equal(t, 503, status, body)
	assert.Contains(t, body, "store failed")

	select {
	case err := <-served:
		assert.True(t, errors.Is(err, store.ErrClosed), "Serve returned %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the store failed")
	}
	assert.ErrorIs(t, h.Err(), store.ErrClosed)
	assert.ErrorIs(t, h.Close(), store.ErrClosed)
}

// TestStoreFailure503NamesOnlyDurableInvocations fails the store under a call that waits on an
// invocation accepted before the failure, and sends another call that the failing commit
// accepted: the first 503 names its invocation, which a restarted host still has; the second
// names none, since its invocation was never made durable.
func TestStoreFailure503NamesOnlyDurableInvocations(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	cfg := Config{DataDir: dir, Logger: quiet, Services: handlers.Services(handlers.Options{Logger: quiet}), ExecutorShards: 2}
	h, err := New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- h.Serve(context.Background(), ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	type answer struct {
		status int
		body   string
		id     string
	}
	do := func(method, path, body string) answer {
		req, err := http.NewRequest(method, "http://"+ln.Addr().String()+path, strings.NewReader(body))
		if err != nil {
			return answer{status: -1, body: err.Error()}
		}
		resp, err := client.Do(req)
		if err != nil {
			return answer{status: -1, body: err.Error()}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, body: string(b), id: resp.Header.Get("x-restate-id")}
	}
	call := func(doc string) <-chan answer {
		ch := make(chan answer, 1)
		go func() { ch <- do("POST", "/Approval/requestHumanReview", `"`+doc+`"`) }()
		return ch
	}

	accepted := call("doc-1")
	require.Eventually(t, func() bool { return h.Stats().OpenRequests == 1 }, 10*time.Second, 5*time.Millisecond)
	// Groups commit in order: once a later request is answered, the call's acceptance is durable.
	require.Equal(t, 404, do("GET", "/restate/workflow/ReviewWorkflow/none/output", "").status)

	// Let the first call's handler settle (its awakeable and Run journaled, the Run acked, the
	// handler parked): otherwise one of its commands can meet the closed store first, and the
	// second call then races the shutdown that failure starts instead of causing it.
	last := ^uint64(0)
	require.Eventually(t, func() bool {
		n := h.Stats().Inputs
		settled := n == last
		last = n
		return settled
	}, 10*time.Second, 100*time.Millisecond)

	require.NoError(t, h.store.Close()) // every Apply and Sync fails from now on
	unsynced := call("doc-2")
	got := <-unsynced
	assert.Equal(t, 503, got.status, got.body)
	assert.Empty(t, got.id, "an invocation whose acceptance was not durable is not named")
	assert.NotContains(t, got.body, "inv_")
	got = <-accepted
	assert.Equal(t, 503, got.status, got.body)
	require.True(t, strings.HasPrefix(got.id, "inv_"), "x-restate-id is %q", got.id)
	assert.Contains(t, got.body, "store failed; attach to invocation "+got.id)

	select {
	case err := <-served:
		assert.ErrorIs(t, err, store.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the store failed")
	}

	// The named invocation survives: a restarted host knows it, still waiting.
	h, err = New(cfg)
	require.NoError(t, err)
	defer h.Close()
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/restate/invocation/"+got.id+"/output", nil))
	assert.Equal(t, 470, rec.Code, rec.Body.String())
}
