package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

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
