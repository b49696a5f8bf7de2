package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
)

// Names of the services that load tests and client compatibility tests use (bench/loadgen,
// runtime/host/compat). They are not part of Services: a server that wants them adds
// Echo() and Callback() to its list.
const (
	EchoService = "Echo"
	EchoEcho    = "echo"

	CallbackService = "Callback"
	CallbackAwait   = "await"
)

// Echo is a plain service whose echo handler returns its JSON input unchanged (null for an
// empty body): the cheapest durable invocation there is, one input and one output, for
// measuring the ingress and the store.
func Echo() *durable.Service {
	return durable.NewService(EchoService).Handler(EchoEcho, durable.NewServiceHandler(
		func(_ durable.Context, in json.RawMessage) (json.RawMessage, error) {
			return in, nil
		}))
}

// CallbackRequest is the input of Callback.await.
type CallbackRequest struct {
	// URL receives a POST whose JSON body is the awakeable's ID (a JSON string), once per
	// invocation (inside a Run), like a webhook that hands the ID to whoever will resolve it.
	URL string `json:"url"`
}

// callbackClient posts awakeable IDs. Its timeout bounds how long a slow receiver holds up
// the executor shard the attempt runs on; a failed post is retried with the invocation. It
// keeps as many idle connections per receiver as a host has executor shards posting at once
// (the default transport keeps two, so the others dialled and closed a connection per post).
var callbackClient = &http.Client{Timeout: 10 * time.Second, Transport: callbackTransport()}

// callbackTransport is the default transport with room for 64 idle connections per host.
func callbackTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// Callback is a plain service for awakeable round trips: await creates an awakeable, posts
// its ID to the request's URL inside a Run (so the ID goes out once, however often the
// handler replays), waits for the awakeable and returns the JSON value it was resolved with.
// A rejection fails the invocation with a terminal error carrying the reason (code 500); a
// post that fails or answers other than 2xx is retried.
func Callback() *durable.Service {
	return durable.NewService(CallbackService).Handler(CallbackAwait, durable.NewServiceHandler(
		func(ctx durable.Context, req CallbackRequest) (json.RawMessage, error) {
			if req.URL == "" {
				return nil, durable.TerminalError(fmt.Errorf("await: the request has no url"), 400)
			}
			awakeable := durable.Awakeable[json.RawMessage](ctx)
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
				return true, postID(req.URL, awakeable.ID())
			}, durable.WithName("post-awakeable-id")); err != nil {
				return nil, err
			}
			return awakeable.Result()
		}))
}

// postID posts id, as a JSON string, to url.
func postID(url, id string) error {
	body, _ := json.Marshal(id) // a string always encodes
	resp, err := callbackClient.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("post the awakeable ID to %s: %w", url, err)
	}
	// Drained, so that the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post the awakeable ID to %s: status %s", url, resp.Status)
	}
	return nil
}
