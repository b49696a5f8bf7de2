package ingress

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backendFunc adapts a function to Backend.
type backendFunc func(req Request, reply func(Response))

func (f backendFunc) Submit(req Request, reply func(Response)) { f(req, reply) }

// recordingBackend records what it is given and answers with answer (synchronously) when set;
// otherwise it keeps the reply for the test to call.
type recordingBackend struct {
	mu      sync.Mutex
	reqs    []Request
	replies []func(Response)
	answer  func(Request) Response
	took    chan struct{} // receives once per Submit, when not nil
}

func (b *recordingBackend) Submit(req Request, reply func(Response)) {
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	b.replies = append(b.replies, reply)
	b.mu.Unlock()
	if b.answer != nil {
		reply(b.answer(req))
	}
	if b.took != nil {
		b.took <- struct{}{}
	}
}

func (b *recordingBackend) requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.reqs...)
}

func (b *recordingBackend) reply(i int) func(Response) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.replies[i]
}

func TestHandlerSyncReply(t *testing.T) {
	b := &recordingBackend{answer: func(req Request) Response { return OutputResponse(testInvID, req.Body) }}
	h := NewHandler(b, nil)

	r := httptest.NewRequest("POST", "/Greeter/greet", strings.NewReader(`{"name":"ada"}`))
	r.Header.Set("Idempotency-Key", "k")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)

	if rec.Code != 200 || rec.Body.String() != `{"name":"ada"}` {
		t.Fatalf("got %d %q, want 200 with the echoed body", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("x-restate-id"); got != testInvID {
		t.Errorf("x-restate-id = %q, want %q", got, testInvID)
	}
	want := []Request{{Kind: Call, Service: "Greeter", Handler: "greet", Body: []byte(`{"name":"ada"}`), IdempotencyKey: "k"}}
	if d := cmp.Diff(want, b.requests()); d != "" {
		t.Errorf("submitted requests (-want +got):\n%s", d)
	}
}

func TestHandlerAsyncReply(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	h := NewHandler(backendFunc(func(req Request, reply func(Response)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(10 * time.Millisecond) // the engine answers after its write is durable
			reply(AcceptedResponse(testInvID, false))
		}()
	}), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/Greeter/greet/send", nil))

	if rec.Code != 202 {
		t.Fatalf("status = %d, want 202", rec.Code)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"invocationId": testInvID, "status": "Accepted"}, body); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
}

func TestHandlerDecodeErrorIsNotSubmitted(t *testing.T) {
	b := &recordingBackend{}
	h := NewHandler(b, testServices)
	for _, tc := range []struct {
		method, target string
		status         int
		allow          string
	}{
		{"POST", "/nope", 404, ""},
		{"GET", "/Greeter/greet", 405, "POST"},
		{"POST", "/Nope/greet", 404, ""},
		{"POST", "/Cart/add", 400, ""},
		{"POST", "/Greeter/k/greet", 404, ""},
		{"POST", "/restate/workflow/Signup/k/output", 405, "GET"},
		{"GET", "/restate/workflow/Cart/k/output", 404, ""},
		{"GET", "/restate/invocation/Cart/add/k1/attach", 400, ""},
		{"POST", "/restate/a/sign_1bad/resolve", 400, ""},
		{"POST", "/restate/a/" + testAwkID + "/resolve", 400, ""}, // body "{" below
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, strings.NewReader("{")))
		checkErrorResponse(t, Response{Status: rec.Code, ContentType: rec.Header().Get("Content-Type"), Body: rec.Body.Bytes()}, tc.status, "ingress")
		if got := rec.Header().Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.target, got, tc.allow)
		}
	}
	if n := len(b.requests()); n != 0 {
		t.Fatalf("%d refused requests reached the backend", n)
	}
}

func TestHandlerClientCancellation(t *testing.T) {
	b := &recordingBackend{took: make(chan struct{}, 1)}
	h := NewHandler(b, nil)

	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("GET", "/restate/invocation/"+testInvID+"/attach", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, r)
	}()

	<-b.took // submitted; the handler now waits for a reply that does not come
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ServeHTTP did not return after the client went away")
	}

	// The engine answers later, maybe more than once by mistake: neither may block or panic.
	reply := b.reply(0)
	replied := make(chan struct{})
	go func() {
		defer close(replied)
		reply(OutputResponse(testInvID, []byte("1")))
		reply(OutputResponse(testInvID, []byte("2")))
	}()
	select {
	case <-replied:
	case <-time.After(5 * time.Second):
		t.Fatal("a late reply blocked")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("wrote %q to a client that went away", rec.Body.String())
	}
}

func TestHandlerReplyTwiceBeforeWaiting(t *testing.T) {
	// Against the contract, but it must not block Submit or change the first answer.
	h := NewHandler(backendFunc(func(_ Request, reply func(Response)) {
		reply(ErrorResponse(404, "first"))
		reply(ErrorResponse(500, "second"))
	}), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/restate/invocation/"+testInvID+"/output", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "first") {
		t.Fatalf("got %d %q, want the first reply", rec.Code, rec.Body.String())
	}
}

func TestHandlerBackendPanics(t *testing.T) {
	for name, b := range map[string]Backend{
		"panicking backend": backendFunc(func(Request, func(Response)) { panic("engine exploded") }),
		"nil backend":       nil,
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			NewHandler(b, nil).ServeHTTP(rec, httptest.NewRequest("POST", "/Greeter/greet", nil))
			body := checkErrorResponse(t, Response{Status: rec.Code, ContentType: rec.Header().Get("Content-Type"), Body: rec.Body.Bytes()}, 500, "ingress")
			if msg, _ := body["message"].(string); !strings.Contains(msg, "internal error") {
				t.Errorf("message %q does not say it is an internal error", msg)
			}
		})
	}
}

// TestHandlerOverTheWire drives the handler through a real server and client, where net/http's
// own header handling, body limits and cancellation come into play.
func TestHandlerOverTheWire(t *testing.T) {
	b := &recordingBackend{answer: func(req Request) Response {
		switch req.Kind {
		case ResolveAwakeable, RejectAwakeable:
			return AwakeableAcceptedResponse()
		case Output:
			return ErrorResponse(StatusNotReady, "the invocation exists but has not completed yet")
		default:
			return FailureResponse(testInvID, 409, "Cancelled")
		}
	}}
	srv := httptest.NewServer(NewHandler(b, nil))
	defer srv.Close()

	do := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-restateclient-retry-attempt", "1")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res, readAll(t, res)
	}

	res, body := do("POST", "/restate/a/"+testAwkID+"/resolve", `true`)
	if res.StatusCode != 202 || body != "" || res.Header.Get("x-restate-id") != "" {
		t.Errorf("resolve: got %d %q id %q, want 202 with an empty body and no id", res.StatusCode, body, res.Header.Get("x-restate-id"))
	}
	res, body = do("GET", "/restate/invocation/"+testInvID+"/output", "")
	if res.StatusCode != StatusNotReady || !strings.Contains(body, `"code":470`) {
		t.Errorf("output: got %d %q, want 470", res.StatusCode, body)
	}
	res, body = do("POST", "/Greeter/greet", `{}`)
	if res.StatusCode != 409 || body != `{"code":409,"message":"Cancelled","source":"invocation"}` || res.Header.Get("x-restate-id") != testInvID {
		t.Errorf("call: got %d %q id %q", res.StatusCode, body, res.Header.Get("x-restate-id"))
	}
	res, _ = do("DELETE", "/restate/awakeables/"+testAwkID+"/reject", "")
	if res.StatusCode != 405 || res.Header.Get("Allow") != "POST" {
		t.Errorf("wrong method: got %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	res, body = do("POST", "/Greeter/greet", strings.Repeat(" ", MaxBodyBytes+1))
	if res.StatusCode != 413 || !strings.Contains(body, `"code":413`) {
		t.Errorf("big body: got %d %q", res.StatusCode, body)
	}
	if n := len(b.requests()); n != 3 {
		t.Errorf("backend saw %d requests, want 3", n)
	}
}

// TestHandlerKeyedOverTheWire drives the keyed and idempotency routes through a real server and
// client, which must carry an encoded slash in a key through to Decode intact.
func TestHandlerKeyedOverTheWire(t *testing.T) {
	b := &recordingBackend{answer: func(req Request) Response {
		switch {
		case req.Kind == Call && req.Handler == "run":
			return WorkflowAlreadyInvokedResponse()
		case req.Kind == WorkflowOutput:
			return NotReadyResponse()
		case req.Kind == Send:
			return AcceptedResponse(testInvID, true)
		default:
			return OutputResponse(testInvID, []byte(`"ok"`))
		}
	}}
	srv := httptest.NewServer(NewHandler(b, testServices))
	defer srv.Close()

	do := func(method, path, idem string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.StatusCode, readAll(t, res)
	}

	for _, tc := range []struct {
		method, path, idem string
		status             int
		body               string
	}{
		{"POST", "/Cart/a%2Fb/add", "k-1", 200, `"ok"`},
		{"POST", "/Cart/a%2Fb/add/send", "", 202, `{"invocationId":"` + testInvID + `","status":"PreviouslyAccepted"}`},
		{"POST", "/Signup/u%2F1/run", "k-2", 409, `{"code":409,"message":"the workflow method was already invoked","source":"ingress"}`},
		{"GET", "/restate/workflow/Signup/u%2F1/output", "", 470, `{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`},
		{"GET", "/restate/invocation/Cart/a%2Fb/add/k%2F3/attach", "", 200, `"ok"`},
		{"POST", "/Nope/k/h", "", 404, `{"code":404,"message":"service 'Nope' not found","source":"ingress"}`},
		{"POST", "/Cart/add", "", 400, `{"code":400,"message":"virtual object 'Cart' requires a key: use POST /Cart/{key}/{handler}","source":"ingress"}`},
	} {
		status, body := do(tc.method, tc.path, tc.idem)
		if status != tc.status || body != tc.body {
			t.Errorf("%s %s: got %d %s, want %d %s", tc.method, tc.path, status, body, tc.status, tc.body)
		}
	}
	want := []Request{
		{Kind: Call, Service: "Cart", Key: "a/b", Handler: "add", IdempotencyKey: "k-1"},
		{Kind: Send, Service: "Cart", Key: "a/b", Handler: "add"},
		{Kind: Call, Service: "Signup", Key: "u/1", Handler: "run", IdempotencyKey: "k-2"},
		{Kind: WorkflowOutput, Service: "Signup", Key: "u/1"},
		{Kind: Attach, Service: "Cart", Key: "a/b", Handler: "add", IdempotencyKey: "k/3"},
	}
	if d := cmp.Diff(want, b.requests()); d != "" {
		t.Errorf("submitted requests (-want +got):\n%s", d)
	}
}

func TestHandlerClientGoesAwayOverTheWire(t *testing.T) {
	b := &recordingBackend{took: make(chan struct{}, 1)}
	returned := make(chan struct{}, 1)
	h := NewHandler(b, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/restate/invocation/"+testInvID+"/attach", nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		res, err := srv.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	<-b.took
	cancel()
	if err := <-errc; err == nil {
		t.Error("the cancelled client got a response")
	}
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler kept waiting after the client went away")
	}
	b.reply(0)(OutputResponse(testInvID, []byte("1"))) // late: must neither block nor panic
}
