package sim

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/ingress"
)

// HTTP sends an HTTP request from the client actor named client to the runtime's ingress and
// calls cb with the response (or a connection error) after the network's delays. The request is
// decoded by the same ingress.Decode the production http.Handler uses, and the response is the
// same value that handler would encode; only the socket is missing.
func (w *World) HTTP(client, method, path string, body []byte, header http.Header, cb func(Response)) {
	w.Record(checkers.Event{Kind: checkers.ClientRequest, Node: client, Reason: method + " " + path})
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	done := func(r Response) {
		if r.Err != nil {
			w.Record(checkers.Event{Kind: checkers.ClientResponse, Node: client, Reason: fmt.Sprintf("%s %s: %v", method, path, r.Err)})
		} else {
			w.Record(checkers.Event{Kind: checkers.ClientResponse, Node: client, Reason: fmt.Sprintf("%s %s: %d %s", method, path, r.Status, r.Body)})
		}
		cb(r)
	}
	w.After(w.linkDelay(), func() {
		if !w.runtime.up {
			w.runtime.request(ingress.Request{}, done) // refused
			return
		}
		decoded, derr := ingress.Decode(req)
		if derr != nil {
			resp := Response{Response: derr.Response()}
			w.After(w.linkDelay(), func() { done(resp) })
			return
		}
		w.runtime.request(decoded, done)
	})
}
