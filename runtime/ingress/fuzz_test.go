package ingress_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// The fuzz targets here feed Decode, and the whole handler, requests that no well-behaved client
// sends: the ingress is where bytes from the network first meet the runtime, so a panic or a
// 5xx there is a crash or a lie any client can trigger.

// fuzzServices is a realistic registry: one service of each kind, as an executor declares them.
var fuzzServices = ingress.ServiceKinds{
	"Greeter": ingress.KindService,
	"Cart":    ingress.KindObject,
	"Signup":  ingress.KindWorkflow,
}

// Bits of the flags argument of the fuzz targets. They choose how the request is built, so
// that the fuzzer explores the shapes a server can hand the handler, not only the bytes.
const (
	// flagParse builds the URL with url.ParseRequestURI, as net/http's server does, when the
	// raw path parses; otherwise the URL is assembled from Path and RawPath directly, which
	// reaches paths the server's parser would have refused.
	flagParse = 1 << iota
	// flagNoBody sends http.NoBody instead of a reader over the body bytes.
	flagNoBody
	// flagNilBody leaves Body nil, as a hand-built request may.
	flagNilBody
	// flagBodyError makes the body reader fail after the body bytes, as a client that hangs up
	// mid-body does.
	flagBodyError
	// flagNilHeader leaves Header nil, which Decode must read as no headers.
	flagNilHeader
	// flagNilServices decodes with nil Services (every name a plain service).
	flagNilServices
)

// fuzzInput is one fuzzed request, kept as parts so that it can be built more than once (a
// body reader is consumed by the first decode).
type fuzzInput struct {
	method, rawPath, query, idem string
	contentLength                int64
	body                         []byte
	flags                        uint8
}

func (in fuzzInput) services() ingress.Services {
	if in.flags&flagNilServices != 0 {
		return nil
	}
	return fuzzServices
}

// errBodyCut is what the body reader returns under flagBodyError.
var errBodyCut = errors.New("client hung up mid-body")

// request builds the *http.Request. Nothing in it can panic on any input: the URL is built as
// a struct (never through a constructor that panics on a bad target, as httptest.NewRequest
// does), and the header is set through the map.
func (in fuzzInput) request() *http.Request {
	u := &url.URL{}
	if pu, err := url.ParseRequestURI(in.rawPath); in.flags&flagParse != 0 && err == nil {
		u = pu
	} else if p, err := url.PathUnescape(in.rawPath); err == nil {
		// RawPath is only a hint: EscapedPath uses it when it is a valid encoding of Path and
		// escapes Path itself otherwise, which is what a server's URL holds too.
		u.Path, u.RawPath = p, in.rawPath
	} else {
		u.Path = in.rawPath
	}
	u.RawQuery = in.query
	r := &http.Request{Method: in.method, URL: u, ContentLength: in.contentLength, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if in.flags&flagNilHeader == 0 {
		r.Header = http.Header{}
		if in.idem != "" {
			r.Header["Idempotency-Key"] = []string{in.idem}
		}
	}
	switch {
	case in.flags&flagNilBody != 0:
	case in.flags&flagNoBody != 0:
		r.Body = http.NoBody
	case in.flags&flagBodyError != 0:
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(in.body), errReader{}))
	default:
		r.Body = io.NopCloser(bytes.NewReader(in.body))
	}
	return r
}

// errReader fails every read with errBodyCut.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBodyCut }

// addRouteSeeds adds every documented route, and the edges around them, to f's corpus.
func addRouteSeeds(f *testing.F) {
	inv := protocol.InvocationID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 1, 2, 3, 4, 5, 6, 7, 8}
	awk := protocol.AwakeableID{Invocation: inv, Index: 7}.String()
	long := strings.Repeat("k", 4096)
	type seed struct {
		method, path, query, idem, body string
		flags                           uint8
	}
	seeds := []seed{
		// Call and Send on each kind of service.
		{method: "POST", path: "/Greeter/greet", body: `{"name":"ada"}`},
		{method: "POST", path: "/Greeter/greet/send", body: `[1,2]`, idem: "k-1"},
		{method: "POST", path: "/Greeter/greet/send", query: "delay=1500ms"},
		{method: "POST", path: "/Greeter/greet/send", query: "delay=PT1M30S"},
		{method: "POST", path: "/Greeter/greet/send", query: "delay=P1DT2H3M4.5S"},
		{method: "POST", path: "/Greeter/greet", query: "delay=10s"},
		{method: "POST", path: "/Cart/a%2Fb/add", body: `1`, flags: flagParse},
		{method: "POST", path: "/Cart/cart-1/add/send", idem: "i"},
		{method: "POST", path: "/Cart/add"},
		{method: "POST", path: "/Signup/user-1/run", body: `"u"`, idem: "run-1"},
		{method: "POST", path: "/Signup/user-1/approve/send", body: `true`},
		{method: "POST", path: "/Cart/" + long + "/add", body: `{}`},
		// Attach and output, by invocation ID and by idempotency key.
		{method: "GET", path: "/restate/invocation/" + inv.String() + "/attach"},
		{method: "GET", path: "/restate/invocation/" + inv.String() + "/output", body: "junk"},
		{method: "GET", path: "/restate/invocation/Greeter/greet/k1/attach"},
		{method: "GET", path: "/restate/invocation/Greeter/greet/k1/output"},
		{method: "GET", path: "/restate/invocation/Cart/c%2F1/add/k1/attach", flags: flagParse},
		{method: "GET", path: "/restate/invocation/Signup/u/approve/k1/output"},
		// Workflows.
		{method: "GET", path: "/restate/workflow/Signup/user-1/attach"},
		{method: "GET", path: "/restate/workflow/Signup/user-1/output"},
		{method: "GET", path: "/restate/workflow/Cart/c/output"},
		// Awakeables, under both spellings.
		{method: "POST", path: "/restate/awakeables/" + awk + "/resolve", body: `{"ok":true}`},
		{method: "POST", path: "/restate/awakeables/" + awk + "/resolve"},
		{method: "POST", path: "/restate/a/" + awk + "/resolve", body: `42`, flags: flagBodyError},
		{method: "POST", path: "/restate/awakeables/" + awk + "/reject", body: "not approved"},
		{method: "POST", path: "/restate/a/" + awk + "/reject", body: "\xff"},
		{method: "POST", path: "/restate/a/sign_1!!notbase64/resolve", body: `1`},
		// Refusals: methods, shapes, encodings.
		{method: "PUT", path: "/Greeter/greet/send"},
		{method: "post", path: "/Greeter/greet"},
		{method: "POST", path: "/Greeter//greet"},
		{method: "POST", path: "/Greeter/greet/"},
		{method: "POST", path: "Greeter/greet"},
		{method: "POST", path: "/Greeter/%zz"},
		{method: "POST", path: "/Greeter/greet", body: "\"\xff\""},
		{method: "POST", path: "/Greeter/greet", body: `{"a":`, flags: flagNilHeader},
		{method: "POST", path: "/restate/greet", flags: flagNilServices},
		{method: "GET", path: "/restate/workflow/Signup/k/output", flags: flagNilServices},
		{method: "", path: "", flags: flagNilBody},
		{method: "POST", path: "/Greeter/greet", flags: flagNoBody},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.idem, int64(len(s.body)), []byte(s.body), s.flags)
	}
	// A declared length past the limit, and an unknown (chunked) one.
	f.Add("POST", "/Greeter/greet", "", "", int64(ingress.MaxBodyBytes+1), []byte(`1`), uint8(0))
	f.Add("POST", "/Greeter/greet", "", "", int64(-1), []byte(`1`), uint8(0))
}

// FuzzDecode checks that Decode never panics, that every refusal is a 4xx that says why, and
// that every request it accepts is one the engine can take as is (see checkDecoded). An
// accepted request must also decode the same from the canonical path of its route, which pins
// that each path segment is decoded exactly once and a %2F stays inside its segment.
func FuzzDecode(f *testing.F) {
	addRouteSeeds(f)
	f.Fuzz(func(t *testing.T, method, rawPath, query, idem string, contentLength int64, body []byte, flags uint8) {
		in := fuzzInput{method, rawPath, query, idem, contentLength, body, flags}
		req, derr := ingress.Decode(in.request(), in.services())
		if derr != nil {
			checkRefusal(t, derr)
			return
		}
		checkDecoded(t, in, req)

		again := in
		again.rawPath, again.flags = routeOf(req), in.flags&^flagParse
		req2, derr := ingress.Decode(again.request(), again.services())
		if derr != nil {
			t.Fatalf("%+v decodes, but its canonical route %q is refused: %v", req, again.rawPath, derr)
		}
		if d := cmp.Diff(req, req2); d != "" {
			t.Fatalf("canonical route %q decodes differently (-first +canonical):\n%s", again.rawPath, d)
		}
	})
}

// checkRefusal checks a Decode error: a 4xx with a message, Allow on a 405, and a response body
// in Restate's JSON error shape.
func checkRefusal(t *testing.T, derr *ingress.Error) {
	t.Helper()
	if derr.Status < 400 || derr.Status > 499 {
		t.Fatalf("Decode refused with status %d, want 4xx: %v", derr.Status, derr)
	}
	if derr.Message == "" {
		t.Fatalf("Decode refused with status %d and no message", derr.Status)
	}
	if (derr.Status == http.StatusMethodNotAllowed) != (derr.Allow != "") {
		t.Fatalf("Decode refused with status %d and Allow %q: a 405, and only a 405, names the allowed method", derr.Status, derr.Allow)
	}
	resp := derr.Response()
	if resp.Status != derr.Status || !json.Valid(resp.Body) {
		t.Fatalf("error response %d %q is not the error's status with a JSON body", resp.Status, resp.Body)
	}
}

// checkDecoded checks that an accepted request is consistent with itself and with the route
// it came in on: what the engine relies on Decode to have checked.
func checkDecoded(t *testing.T, in fuzzInput, req ingress.Request) {
	t.Helper()
	fail := func(why string) { t.Helper(); t.Fatalf("Decode accepted %+v: %s", req, why) }
	wantMethod := http.MethodGet
	switch req.Kind {
	case ingress.Call, ingress.Send, ingress.ResolveAwakeable, ingress.RejectAwakeable:
		wantMethod = http.MethodPost
	case ingress.Attach, ingress.Output, ingress.WorkflowAttach, ingress.WorkflowOutput:
	case ingress.Cancel:
		wantMethod = http.MethodPatch
		if _, err := protocol.ParseInvocationID(req.InvocationID); err != nil {
			fail(err.Error())
		}
	default:
		fail("no such kind")
	}
	if in.method != wantMethod {
		fail("with method " + in.method)
	}
	if req.Delay < 0 || (req.Delay != 0 && req.Kind != ingress.Send) {
		fail("the delay is negative, or on something other than a send")
	}
	switch req.Kind {
	case ingress.Call, ingress.Send:
		checkTarget(t, in, req, fail)
		if len(req.Body) > 0 && !(json.Valid(req.Body) && utf8.Valid(req.Body)) {
			fail("the body is not JSON in UTF-8")
		}
		if req.IdempotencyKey != headerIdem(in) {
			fail("the idempotency key is not the header's")
		}
	case ingress.Attach, ingress.Output:
		if req.InvocationID != "" {
			if _, err := protocol.ParseInvocationID(req.InvocationID); err != nil {
				fail(err.Error())
			}
			if req.Service != "" || req.Key != "" || req.Handler != "" || req.IdempotencyKey != "" {
				fail("it names an invocation ID and a target")
			}
			break
		}
		checkTarget(t, in, req, fail)
		if req.IdempotencyKey == "" {
			fail("by idempotency key, without one")
		}
	case ingress.WorkflowAttach, ingress.WorkflowOutput:
		if kind, ok := serviceKind(in, req.Service); !ok || kind != ingress.KindWorkflow || req.Key == "" {
			fail("not a workflow with a key")
		}
	case ingress.ResolveAwakeable, ingress.RejectAwakeable:
		if _, err := protocol.ParseAwakeableID(req.AwakeableID); err != nil {
			fail(err.Error())
		}
		if req.Kind == ingress.ResolveAwakeable && !(json.Valid(req.Body) && utf8.Valid(req.Body)) {
			fail("the resolve body is not JSON in UTF-8")
		}
	}
	if len(req.Body) > ingress.MaxBodyBytes {
		fail("the body is over the limit")
	}
}

// checkTarget checks the service, key and handler of a call, send, or attach by idempotency
// key: the service is registered, and it has a key exactly when its kind is keyed.
func checkTarget(t *testing.T, in fuzzInput, req ingress.Request, fail func(string)) {
	t.Helper()
	kind, ok := serviceKind(in, req.Service)
	if !ok || req.Service == "restate" {
		fail("the service is not registered")
	}
	keyed := kind == ingress.KindObject || kind == ingress.KindWorkflow
	if keyed != (req.Key != "") {
		fail("a keyed service without a key, or a plain one with one")
	}
	if req.Handler == "" {
		fail("no handler")
	}
}

// serviceKind is what the input's registry says of service; every name is a plain service
// under nil Services.
func serviceKind(in fuzzInput, service string) (ingress.ServiceKind, bool) {
	s := in.services()
	if s == nil {
		return ingress.KindService, service != ""
	}
	return s.Kind(service)
}

// headerIdem is the Idempotency-Key the request carried.
func headerIdem(in fuzzInput) string {
	if in.flags&flagNilHeader != 0 {
		return ""
	}
	return in.idem
}

// routeOf writes the canonical path of a decoded request's route, each segment escaped, so that
// it decodes to the same request.
func routeOf(req ingress.Request) string {
	seg := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			if p == "" {
				continue
			}
			b.WriteByte('/')
			b.WriteString(url.PathEscape(p))
		}
		return b.String()
	}
	switch req.Kind {
	case ingress.Call:
		return seg(req.Service, req.Key, req.Handler)
	case ingress.Send:
		return seg(req.Service, req.Key, req.Handler, "send")
	case ingress.Attach, ingress.Output:
		action := "attach"
		if req.Kind == ingress.Output {
			action = "output"
		}
		if req.InvocationID != "" {
			return seg("restate", "invocation", req.InvocationID, action)
		}
		return seg("restate", "invocation", req.Service, req.Key, req.Handler, req.IdempotencyKey, action)
	case ingress.Cancel:
		return seg("restate", "invocation", req.InvocationID, "cancel")
	case ingress.WorkflowAttach:
		return seg("restate", "workflow", req.Service, req.Key, "attach")
	case ingress.WorkflowOutput:
		return seg("restate", "workflow", req.Service, req.Key, "output")
	case ingress.ResolveAwakeable:
		return seg("restate", "awakeables", req.AwakeableID, "resolve")
	case ingress.RejectAwakeable:
		return seg("restate", "awakeables", req.AwakeableID, "reject")
	}
	return ""
}

// FuzzHandler drives the production http.Handler over a backend that answers at once. It
// checks that ServeHTTP writes exactly one status, and the right one: Decode's refusal, or the
// backend's answer. The handler recovers its own panics into a 500, so a panic anywhere on the
// path shows up here as a status that is neither.
func FuzzHandler(f *testing.F) {
	addRouteSeeds(f)
	f.Fuzz(func(t *testing.T, method, rawPath, query, idem string, contentLength int64, body []byte, flags uint8) {
		in := fuzzInput{method, rawPath, query, idem, contentLength, body, flags}
		want := 0
		if _, derr := ingress.Decode(in.request(), in.services()); derr != nil {
			want = derr.Status
		}
		if r := in.request(); r.URL != nil && r.URL.Path == ingress.HealthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			want = http.StatusOK // answered by the handler itself, before Decode
		}
		var submitted *ingress.Request
		backend := backendFunc(func(req ingress.Request, reply func(ingress.Response)) {
			submitted = &req
			reply(answer(req))
		})
		w := &statusRecorder{header: http.Header{}}
		ingress.NewHandler(backend, in.services()).ServeHTTP(w, in.request())
		if submitted != nil {
			if want != 0 {
				t.Fatalf("Decode refuses with %d, but the handler submitted %+v", want, *submitted)
			}
			want = answer(*submitted).Status
		}
		if w.writes != 1 || w.status != want {
			t.Fatalf("ServeHTTP wrote %d statuses, the last %d, want one: %d (body %q)", w.writes, w.status, want, w.body.Bytes())
		}
	})
}

// backendFunc adapts a function to ingress.Backend.
type backendFunc func(req ingress.Request, reply func(ingress.Response))

func (b backendFunc) Submit(req ingress.Request, reply func(ingress.Response)) { b(req, reply) }

// answer is the fake backend's reply to req: what the engine answers each kind with when all
// goes well, never a 5xx, so that a 5xx on the wire can only be the handler's own.
func answer(req ingress.Request) ingress.Response {
	const id = "inv_0123456789abcdef0102030405060708"
	switch req.Kind {
	case ingress.Send:
		return ingress.AcceptedResponse(id, req.IdempotencyKey != "")
	case ingress.ResolveAwakeable, ingress.RejectAwakeable:
		return ingress.Response{Status: http.StatusAccepted}
	case ingress.Output, ingress.WorkflowOutput:
		return ingress.NotReadyResponse()
	default:
		return ingress.OutputResponse(id, req.Body)
	}
}

// statusRecorder is an http.ResponseWriter that counts status lines. httptest.ResponseRecorder
// reports 200 when nothing was written, which would hide a handler that never answered.
type statusRecorder struct {
	header http.Header
	status int
	writes int
	body   bytes.Buffer
}

func (w *statusRecorder) Header() http.Header { return w.header }

func (w *statusRecorder) WriteHeader(status int) {
	w.writes++
	w.status = status
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.writes == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}
