package host

import (
	"context"
	"encoding/json"
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
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestBlockingSideEffectHoldsOnlyItsShard blocks one attempt inside a Run side effect and
// shows that attempts on the other shards go on, and that the blocked shard catches up once
// the side effect returns.
func TestBlockingSideEffectHoldsOnlyItsShard(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	unblock := make(chan struct{})
	svc := durable.NewService("S").
		Handler("block", durable.NewServiceHandler(func(ctx durable.Context, _ any) (string, error) {
			return durable.Run(ctx, func(durable.RunContext) (string, error) {
				<-unblock
				return "unblocked", nil
			})
		})).
		Handler("quick", durable.NewServiceHandler(func(ctx durable.Context, n int) (int, error) {
			return n, nil
		}))
	h, err := New(Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Services: []*durable.Service{svc}, ExecutorShards: 4})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.Serve(ctx, ln) }()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	base := "http://" + ln.Addr().String()
	send := func(path, body string) protocol.InvocationID {
		resp, err := client.Post(base+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var a struct{ InvocationID string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
		id, err := protocol.ParseInvocationID(a.InvocationID)
		require.NoError(t, err)
		return id
	}
	output := func(id protocol.InvocationID) (int, string) {
		resp, err := client.Get(base + "/restate/invocation/" + id.String() + "/output")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	blocked := send("/S/block/send", "")
	var others, sameShard []protocol.InvocationID
	for range 40 {
		id := send("/S/quick/send", "1")
		if h.shardOf(id) == h.shardOf(blocked) {
			sameShard = append(sameShard, id)
		} else {
			others = append(others, id)
		}
	}
	require.NotEmpty(t, others)
	for _, id := range others {
		require.Eventually(t, func() bool { s, _ := output(id); return s == 200 }, 5*time.Second, 5*time.Millisecond,
			"an attempt on another shard waited for the blocked side effect")
	}
	for _, id := range sameShard {
		s, _ := output(id)
		assert.Equal(t, 470, s, "an attempt on the blocked shard ran while its shard was busy")
	}
	close(unblock)
	for _, id := range append(sameShard, blocked) {
		require.Eventually(t, func() bool { s, _ := output(id); return s == 200 }, 5*time.Second, 5*time.Millisecond)
	}
	cancel()
	require.NoError(t, <-served)
}
