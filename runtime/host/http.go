package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
)

// httpHandler is the host's ingress: the body limit, then ingress.NewHandler over a backend
// that posts to the engine goroutine. The backend is made per request, so that it knows
// when the ingress handler stopped waiting for its reply (the client went away) and can tell
// the engine goroutine to drop the reply callback instead of keeping it until the invocation
// ends, which may be never.
type httpHandler struct {
	h *Host
}

// ServeHTTP implements http.Handler.
func (x *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := x.h.cfg.MaxRequestBodyBytes
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = deadlineBody{r.Body}
		if r.ContentLength > limit {
			ingress.Encode(w, tooLarge(limit))
			return
		}
		if limit < ingress.MaxBodyBytes {
			// The ingress enforces its own, larger limit; read the body here so that the 413
			// names this one.
			body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				ingress.Encode(w, ingress.ErrorResponse(http.StatusBadRequest, fmt.Sprintf("cannot read the request body: %v", err)))
				return
			}
			if int64(len(body)) > limit {
				ingress.Encode(w, tooLarge(limit))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
	}
	b := &requestBackend{h: x.h}
	ingress.NewHandler(b, x.h.kinds).ServeHTTP(w, r)
	// The ingress handler returns once it has the reply or the client has gone away. In the
	// second case the engine still holds the reply callback: have it dropped.
	if b.submitted && !b.replied.Load() {
		x.h.post(input{kind: inForget, id: b.id})
	}
}

// errReadTimeout is what reading a request body reports when the connection's read deadline
// (the server's ReadTimeout) passed first, so that the 400 says why rather than "i/o timeout".
var errReadTimeout = errors.New("the body did not arrive within the server's read timeout")

// deadlineBody is a request body whose read-deadline errors say what they mean.
type deadlineBody struct {
	io.ReadCloser
}

// Read implements io.Reader.
func (b deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = errReadTimeout
	}
	return n, err
}

// tooLarge is the 413 for a body past limit, worded as the ingress words its own.
func tooLarge(limit int64) ingress.Response {
	return ingress.ErrorResponse(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than the limit of %d bytes", limit))
}

// requestBackend is the ingress.Backend of one HTTP request.
type requestBackend struct {
	h         *Host
	id        engine.RequestID
	submitted bool
	replied   atomic.Bool
}

// Submit implements ingress.Backend: it gives the request an ID and posts it to the engine
// goroutine, which calls reply once the engine's answer is durable. A host that is closed or
// failed answers 503 at once.
func (b *requestBackend) Submit(req ingress.Request, reply func(ingress.Response)) {
	b.id = engine.RequestID(b.h.nextRequest.Add(1))
	wrapped := func(resp ingress.Response) {
		b.replied.Store(true)
		reply(resp)
	}
	if !b.h.post(input{kind: inIngress, id: b.id, req: req, reply: wrapped}) {
		why := "the server is shutting down"
		if b.h.Err() != nil {
			why = "the server's store failed"
		}
		wrapped(unavailable(why))
		return
	}
	b.submitted = true
}

// Ready implements ingress.Health for GET /restate/health. A Host exists only once recovery is
// done (New recovers before it returns, and Run listens after), so a host that answers at all
// has recovered; it is not ready once its store failed or it began to stop.
func (b *requestBackend) Ready() (bool, string) {
	if b.h.Err() != nil {
		return false, "store failed"
	}
	select {
	case <-b.h.done:
		return false, "shutting down"
	default:
		return true, "ready"
	}
}
