package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	hist "github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// HTTP sends an HTTP request from the client actor named client to the runtime's ingress and
// calls cb with the response (or a connection error) after the network's delays. The history
// records the exchange from the client's side of the link, before anything decodes it: what the
// client wrote (method, raw path, headers, body) and what it read back (status, headers, body).
// The runtime's side decodes the request with ingress.DecodeRaw, the decoding the production
// http.Handler's ingress.Decode uses, from the parts a server would have parsed (no
// *http.Request is built), and answers with the value that handler would encode; only the
// socket is missing.
func (w *World) HTTP(client, method, path string, body []byte, header http.Header, cb func(Response)) {
	w.requests++
	reqNo := w.requests
	// The runtime gets the request in parts, its own copies of them: nothing the client does
	// with its buffers later reaches the runtime, nor the runtime's doings the history.
	req := &ingress.RawRequest{Method: method, Target: path, Header: header.Clone(), Body: bytes.Clone(body)}
	sent := &hist.HTTP{Method: method, Path: path, Header: headerFields(header), Body: bytes.Clone(body)}
	// The target fields are the checkers' own reading of the bytes, for scenario checks that
	// group requests by target; the runtime's decoding never reaches the history.
	target := checkers.ParseClientRequest(sent, w.declared)
	w.Record(checkers.Event{Kind: checkers.ClientRequest, Node: client, Request: reqNo, Reason: method + " " + path, HTTP: sent,
		Service: target.Service, Handler: target.Handler, Key: target.Key, IdempotencyKey: target.IdempotencyKey})
	// What the production handler answers before decoding — a CORS preflight, the health
	// probe — it answers here with the same functions; every answer carries the CORS headers a
	// browser's request gets.
	early, answeredEarly := req.PreflightResponse()
	if !answeredEarly && req.IsHealthRequest() {
		early, answeredEarly = ingress.HealthResponse(true, "ready"), true
	}
	decoded, derr := ingress.DecodeRaw(req, w.serviceKinds)
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
			e.HTTP = responseHTTP(r.Response)
			e.Invocation, e.Entry, e.Result = responseFacts(e.HTTP)
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
	reply := func(r Response) {
		if r.Err == nil {
			r.Response = req.WithCORS(r.Response)
		}
		done(r)
	}
	if lostResponse {
		reply = func(Response) { w.cover(CoverResponseLost) }
	}
	w.After(w.linkDelay(), func() {
		if !w.runtime.up {
			w.runtime.request(reqNo, ingress.Request{}, reply) // refused
			return
		}
		if answeredEarly || derr != nil {
			w.Record(checkers.Event{Kind: checkers.RequestDelivered, Node: "runtime", Request: reqNo})
			resp := Response{Response: early}
			if !answeredEarly {
				resp.Response = derr.Response()
			}
			w.After(w.linkDelay(), func() { reply(resp) })
			return
		}
		w.runtime.request(reqNo, decoded, reply)
	})
}

// ErrTimeout is the Err of a request whose client gave up waiting for an answer; like a
// connection error, it leaves the request's outcome in doubt.
var ErrTimeout = errors.New("client timed out")

// responseFacts reads what a response says, from the bytes the client received: the invocation it
// names (the x-restate-id header, or the invocationId of a 202), and the output it carries, if
// any — the body of a 200, or the failure of an error that came from the invocation rather than
// the ingress.
func responseFacts(r *hist.HTTP) (protocol.InvocationID, journal.Entry, journal.Result) {
	var inv protocol.InvocationID
	idText, hasID := r.Get(headerInvocationID)
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
	if inv.IsZero() || !hasID {
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

// headerInvocationID is the response header that names the invocation of a finished call.
const headerInvocationID = "x-restate-id"

// headerFields lists a client's headers as written, sorted by name so that a map's order never
// reaches the history.
func headerFields(h http.Header) []hist.Header {
	if len(h) == 0 {
		return nil
	}
	var fs []hist.Header
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			fs = append(fs, hist.Header{Name: k, Value: v})
		}
	}
	return fs
}

// responseHTTP is the response as it reaches the client: status, the headers the production
// handler writes for it, and the body.
func responseHTTP(r ingress.Response) *hist.HTTP {
	h := &hist.HTTP{Status: r.Status, Body: r.Body}
	for _, f := range ingress.HeaderFields(r) {
		h.Header = append(h.Header, hist.Header{Name: strings.ToLower(f.Name), Value: f.Value})
	}
	return h
}
