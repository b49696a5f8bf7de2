package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// HTTP sends an HTTP request from the client actor named client to the runtime's ingress and
// calls cb with the response (or a connection error) after the network's delays. The request is
// decoded by the same ingress.Decode the production http.Handler uses, and the response is the
// same value that handler would encode; only the socket is missing.
func (w *World) HTTP(client, method, path string, body []byte, header http.Header, cb func(Response)) {
	w.requests++
	reqNo := w.requests
	req := newRequest(method, path, body)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	decoded, derr := ingress.Decode(req, w.serviceKinds)
	reqEvent := checkers.Event{Kind: checkers.ClientRequest, Node: client, Request: reqNo, Reason: method + " " + path,
		Service: decoded.Service, Handler: decoded.Handler, Key: decoded.Key, IdempotencyKey: decoded.IdempotencyKey}
	switch decoded.Kind {
	case ingress.ResolveAwakeable:
		reqEvent.Awakeable, reqEvent.Result = decoded.AwakeableID, journal.Result{Value: decoded.Body}
	case ingress.RejectAwakeable:
		reqEvent.Awakeable = decoded.AwakeableID
		reqEvent.Result = journal.Result{Failure: &journal.Failure{Code: 500, Message: string(decoded.Body)}}
	}
	w.Record(reqEvent)
	// A lost request or a lost response (a black hole) leaves the client waiting until its
	// timeout: it cannot know whether the request took effect.
	lostRequest := !w.healed && w.netRand.Percent(w.plan.RequestLossPercent, "request-loss")
	lostResponse := !w.healed && !lostRequest && w.netRand.Percent(w.plan.ResponseLossPercent, "response-loss")
	answered := false
	done := func(r Response) {
		if answered {
			return
		}
		answered = true
		e := checkers.Event{Kind: checkers.ClientResponse, Node: client, Request: reqNo}
		if r.Err != nil {
			e.Reason = fmt.Sprintf("%s %s: %v", method, path, r.Err)
		} else {
			e.Status = r.Status
			e.Reason = fmt.Sprintf("%s %s: %d %s", method, path, r.Status, r.Body)
			e.Invocation, e.Entry, e.Result = responseFacts(r.Response)
		}
		w.Record(e)
		cb(r)
	}
	if lostRequest || lostResponse {
		timeout := max(w.plan.ClientTimeout, time.Millisecond)
		w.After(timeout, func() { done(Response{Err: fmt.Errorf("no answer within %s: %w", timeout, ErrTimeout)}) })
	}
	if lostRequest {
		w.cover(CoverRequestLost)
		return
	}
	reply := done
	if lostResponse {
		reply = func(Response) { w.cover(CoverResponseLost) }
	}
	w.After(w.linkDelay(), func() {
		if !w.runtime.up {
			w.runtime.request(ingress.Request{}, reply) // refused
			return
		}
		if derr != nil {
			resp := Response{Response: derr.Response()}
			w.After(w.linkDelay(), func() { reply(resp) })
			return
		}
		w.runtime.request(decoded, reply)
	})
}

// ErrTimeout is the Err of a request whose client gave up waiting for an answer; like a
// connection error, it leaves the request's outcome in doubt.
var ErrTimeout = errors.New("client timed out")

// responseFacts reads what a response says for the checkers: the invocation it names (the
// x-restate-id header, or the invocationId of a 202), and the output it carries, if any — the
// body of a 200, or the failure of an error that came from the invocation rather than the ingress.
func responseFacts(r ingress.Response) (protocol.InvocationID, journal.Entry, journal.Result) {
	var inv protocol.InvocationID
	idText := r.InvocationID
	if idText == "" && r.Status == http.StatusAccepted {
		var accepted struct {
			InvocationID string `json:"invocationId"`
		}
		if json.Unmarshal(r.Body, &accepted) == nil {
			idText = accepted.InvocationID
		}
	}
	if id, err := protocol.ParseInvocationID(idText); err == nil {
		inv = id
	}
	if inv.IsZero() || r.InvocationID == "" {
		return inv, journal.Entry{}, journal.Result{}
	}
	if r.Status == http.StatusOK {
		return inv, journal.Entry{Kind: journal.KindOutput}, journal.Result{Value: r.Body}
	}
	var body struct {
		Code    uint16 `json:"code"`
		Message string `json:"message"`
		Source  string `json:"source"`
	}
	if json.Unmarshal(r.Body, &body) == nil && body.Source == "invocation" {
		return inv, journal.Entry{Kind: journal.KindOutput}, journal.Result{Failure: &journal.Failure{Code: body.Code, Message: body.Message}}
	}
	return inv, journal.Entry{}, journal.Result{}
}

// newRequest builds the request a client would send. http.NewRequest is enough for the ingress's
// decoding and much cheaper than httptest.NewRequest, which parses a whole request text; a path
// it cannot parse falls back to the latter, which takes anything a client could put on the wire.
func newRequest(method, path string, body []byte) *http.Request {
	req, err := http.NewRequest(method, "http://vigil.sim"+path, bytes.NewReader(body))
	if err != nil {
		return httptest.NewRequest(method, path, bytes.NewReader(body))
	}
	req.RequestURI = path
	return req
}
