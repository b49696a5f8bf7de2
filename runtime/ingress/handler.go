package ingress

import (
	"fmt"
	"net/http"
)

// Backend accepts decoded requests; in production it hands them to the goroutine that owns the
// engine. Submit must not wait for the answer: the engine replies only after its write is
// durable, so the answer comes through reply, later. reply is called exactly once, from any
// goroutine, possibly before Submit returns and possibly after the client has gone away.
type Backend interface {
	Submit(req Request, reply func(Response))
}

// NewHandler returns the production http.Handler: it decodes the request, answers a decode error
// at once, otherwise submits the request to b and waits for the reply or for the client to go
// away, then encodes the reply. It never panics: a panic in b is answered with a 500 in
// Restate's error shape. services is passed to Decode for every request (see Decode for what a
// nil one means), so it must be safe for concurrent use.
func NewHandler(b Backend, services Services) http.Handler {
	return &handler{backend: b, services: services}
}

// handler is the http.Handler NewHandler returns.
type handler struct {
	backend  Backend
	services Services
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	written := false
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		// Once the status line is out, a second one would only garble the response; the client
		// sees a truncated body, which is the best that is left.
		if !written {
			Encode(w, ErrorResponse(http.StatusInternalServerError, fmt.Sprintf("ingress: internal error: %v", p)))
		}
	}()

	// The request's parts (its escaped path above all) are read once, for the preflight, the
	// health probe, decoding and the CORS answer alike, as RawRequest.Triage reads them.
	p, hasURL := partsOf(r)
	if !hasURL {
		p = parts{method: r.Method, header: r.Header}
	}
	if resp, ok := preflight(&p); ok {
		written = true
		Encode(w, resp)
		return
	}
	if hasURL && isHealth(&p) {
		ready, state := true, "ready"
		if hb, ok := h.backend.(Health); ok {
			ready, state = hb.Ready()
		}
		written = true
		Encode(w, withCORS(&p, HealthResponse(ready, state)))
		return
	}

	var req Request
	var derr *Error
	if hasURL {
		req, derr = decode(&p, h.services)
	} else {
		derr = noURL()
	}
	if derr != nil {
		written = true
		Encode(w, withCORS(&p, derr.Response()))
		return
	}

	// The buffer of one and the send that gives up when it is full let reply never block,
	// whether it runs inside Submit, after we stopped waiting, or (against the contract) twice,
	// and only the first reply is answered; the channel is never closed, so a late reply cannot
	// panic either. It is simply garbage once both sides are done with it.
	replies := make(chan Response, 1)
	h.backend.Submit(req, func(resp Response) {
		select {
		case replies <- resp:
		default:
		}
	})

	select {
	case resp := <-replies:
		written = true
		Encode(w, withCORS(&p, resp))
	case <-r.Context().Done():
		// The client went away (or the server is shutting down the connection). There is no one
		// to answer; the engine still finishes the request, like Restate, where a queued call
		// whose client gave up still runs.
	}
}
