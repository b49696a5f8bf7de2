package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// Well-formed IDs the tests route with.
var (
	testInv   = protocol.InvocationID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 1, 2, 3, 4, 5, 6, 7, 8}
	testInvID = testInv.String()
	testAwkID = protocol.AwakeableID{Invocation: testInv, Index: 7}.String()
)

// decodeCase is one row of TestDecode: a request and either the Request it decodes to or the
// error it must be refused with.
type decodeCase struct {
	name    string
	method  string
	target  string // request target, may be percent-encoded
	body    string
	headers map[string]string

	want Request
	// When status is set, Decode must fail with it, with a message containing every string in
	// msg and with Allow equal to allow.
	status int
	msg    []string
	allow  string
}

func TestDecode(t *testing.T) {
	badAwk := "sign_1!!notbase64"
	shortAwk := protocol.AwakeablePrefix + "AAAA"
	cases := []decodeCase{
		// Call and Send.
		{name: "call with JSON body", method: "POST", target: "/Greeter/greet", body: `{"name":"ada"}`,
			want: Request{Kind: Call, Service: "Greeter", Handler: "greet", Body: []byte(`{"name":"ada"}`)}},
		{name: "call with empty body", method: "POST", target: "/Greeter/greet",
			want: Request{Kind: Call, Service: "Greeter", Handler: "greet"}},
		{name: "call with idempotency key", method: "POST", target: "/Greeter/greet", body: `1`,
			headers: map[string]string{"Idempotency-Key": "k-1"},
			want:    Request{Kind: Call, Service: "Greeter", Handler: "greet", Body: []byte(`1`), IdempotencyKey: "k-1"}},
		{name: "idempotency key header is case-insensitive", method: "POST", target: "/Greeter/greet",
			headers: map[string]string{"idempotency-key": "k-2"},
			want:    Request{Kind: Call, Service: "Greeter", Handler: "greet", IdempotencyKey: "k-2"}},
		{name: "unknown headers are ignored", method: "POST", target: "/Greeter/greet", body: `"x"`,
			headers: map[string]string{"x-restateclient-retry-attempt": "3", "Content-Type": "text/plain"},
			want:    Request{Kind: Call, Service: "Greeter", Handler: "greet", Body: []byte(`"x"`)}},
		{name: "query string is ignored", method: "POST", target: "/Greeter/greet?delay=10s",
			want: Request{Kind: Call, Service: "Greeter", Handler: "greet"}},
		{name: "send", method: "POST", target: "/Greeter/greet/send", body: `[1,2]`,
			headers: map[string]string{"Idempotency-Key": "k-3"},
			want:    Request{Kind: Send, Service: "Greeter", Handler: "greet", Body: []byte(`[1,2]`), IdempotencyKey: "k-3"}},
		{name: "send with empty body", method: "POST", target: "/Greeter/greet/send",
			want: Request{Kind: Send, Service: "Greeter", Handler: "greet"}},
		{name: "percent-decoded names taken verbatim", method: "POST", target: "/Gr%C3%BC%C3%9Fer/say%20hi",
			want: Request{Kind: Call, Service: "Grüßer", Handler: "say hi"}},
		{name: "call body not JSON", method: "POST", target: "/Greeter/greet", body: `{name: ada}`,
			status: 400, msg: []string{"not valid JSON", "at byte"}},
		{name: "send body not JSON", method: "POST", target: "/Greeter/greet/send", body: `hello`,
			status: 400, msg: []string{"not valid JSON"}},
		{name: "call body two JSON values", method: "POST", target: "/Greeter/greet", body: `1 2`,
			status: 400, msg: []string{"not valid JSON"}},
		{name: "call body whitespace only", method: "POST", target: "/Greeter/greet", body: "  ",
			status: 400, msg: []string{"not valid JSON"}},
		{name: "call body invalid UTF-8", method: "POST", target: "/Greeter/greet", body: "\"\xff\"",
			status: 400, msg: []string{"not valid JSON", "UTF-8"}},
		{name: "call with GET", method: "GET", target: "/Greeter/greet",
			status: 405, msg: []string{`"GET"`, "/Greeter/greet", "POST"}, allow: "POST"},
		{name: "send with PUT", method: "PUT", target: "/Greeter/greet/send",
			status: 405, msg: []string{`"PUT"`}, allow: "POST"},
		{name: "lowercase method", method: "post", target: "/Greeter/greet",
			status: 405, allow: "POST"},
		{name: "third segment not send", method: "POST", target: "/Greeter/greet/other",
			status: 404, msg: []string{"/Greeter/greet/other"}},
		{name: "one segment", method: "POST", target: "/Greeter", status: 404},
		{name: "root", method: "POST", target: "/", status: 404},
		{name: "too many segments", method: "POST", target: "/a/b/send/x", status: 404},
		{name: "trailing slash", method: "POST", target: "/Greeter/greet/", status: 404},
		{name: "doubled slash", method: "POST", target: "/Greeter//greet", status: 404},
		{name: "leading doubled slash", method: "POST", target: "//Greeter/greet", status: 404},
		{name: "encoded slash splits a segment", method: "POST", target: "/Greeter%2Fx/greet", status: 404},
		{name: "unknown path GET", method: "GET", target: "/favicon.ico", status: 404},
		{name: "restate is not a service", method: "POST", target: "/restate/greet", status: 404},
		{name: "restate alone", method: "POST", target: "/restate", status: 404},

		// Attach and Output.
		{name: "attach", method: "GET", target: "/restate/invocation/" + testInvID + "/attach",
			want: Request{Kind: Attach, InvocationID: testInvID}},
		{name: "output", method: "GET", target: "/restate/invocation/" + testInvID + "/output",
			want: Request{Kind: Output, InvocationID: testInvID}},
		{name: "output ignores a GET body", method: "GET", target: "/restate/invocation/" + testInvID + "/output", body: "junk",
			want: Request{Kind: Output, InvocationID: testInvID}},
		{name: "attach with POST", method: "POST", target: "/restate/invocation/" + testInvID + "/attach",
			status: 405, allow: "GET", msg: []string{`"POST"`, "GET"}},
		{name: "output with DELETE", method: "DELETE", target: "/restate/invocation/" + testInvID + "/output",
			status: 405, allow: "GET"},
		{name: "attach malformed id", method: "GET", target: "/restate/invocation/inv_zz/attach",
			status: 400, msg: []string{`"inv_zz"`, "hex digits"}},
		{name: "output id without prefix", method: "GET", target: "/restate/invocation/0123/output",
			status: 400, msg: []string{`"0123"`, "must start with"}},
		{name: "output zero id", method: "GET", target: "/restate/invocation/" + protocol.InvocationID{}.String() + "/output",
			status: 400, msg: []string{"zero id"}},
		{name: "unknown invocation action", method: "GET", target: "/restate/invocation/" + testInvID + "/cancel", status: 404},
		{name: "unknown invocation action with bad id", method: "GET", target: "/restate/invocation/nope/cancel", status: 404},
		{name: "invocation without action", method: "GET", target: "/restate/invocation/" + testInvID, status: 404},
		{name: "invocation too many segments", method: "GET", target: "/restate/invocation/" + testInvID + "/attach/x", status: 404},
		{name: "idempotent attach route not supported", method: "GET", target: "/restate/invocation/Greeter/greet/k1/attach", status: 404},
		{name: "workflow routes not supported", method: "GET", target: "/restate/workflow/wf/key/output", status: 404},

		// Awakeables.
		{name: "resolve", method: "POST", target: "/restate/awakeables/" + testAwkID + "/resolve", body: `{"ok":true}`,
			want: Request{Kind: ResolveAwakeable, AwakeableID: testAwkID, Body: []byte(`{"ok":true}`)}},
		{name: "resolve empty body is null", method: "POST", target: "/restate/awakeables/" + testAwkID + "/resolve",
			want: Request{Kind: ResolveAwakeable, AwakeableID: testAwkID, Body: []byte(`null`)}},
		{name: "resolve short alias", method: "POST", target: "/restate/a/" + testAwkID + "/resolve", body: `42`,
			want: Request{Kind: ResolveAwakeable, AwakeableID: testAwkID, Body: []byte(`42`)}},
		{name: "resolve ignores idempotency key", method: "POST", target: "/restate/a/" + testAwkID + "/resolve", body: `42`,
			headers: map[string]string{"Idempotency-Key": "k"},
			want:    Request{Kind: ResolveAwakeable, AwakeableID: testAwkID, Body: []byte(`42`)}},
		{name: "resolve body not JSON", method: "POST", target: "/restate/awakeables/" + testAwkID + "/resolve", body: `approved`,
			status: 400, msg: []string{"not valid JSON"}},
		{name: "resolve short alias body not JSON", method: "POST", target: "/restate/a/" + testAwkID + "/resolve", body: `{`,
			status: 400, msg: []string{"not valid JSON"}},
		{name: "reject", method: "POST", target: "/restate/awakeables/" + testAwkID + "/reject", body: `not approved`,
			want: Request{Kind: RejectAwakeable, AwakeableID: testAwkID, Body: []byte(`not approved`)}},
		{name: "reject short alias", method: "POST", target: "/restate/a/" + testAwkID + "/reject", body: `no`,
			want: Request{Kind: RejectAwakeable, AwakeableID: testAwkID, Body: []byte(`no`)}},
		{name: "reject empty body", method: "POST", target: "/restate/a/" + testAwkID + "/reject",
			want: Request{Kind: RejectAwakeable, AwakeableID: testAwkID}},
		{name: "resolve with GET", method: "GET", target: "/restate/awakeables/" + testAwkID + "/resolve",
			status: 405, allow: "POST", msg: []string{`"GET"`}},
		{name: "reject with PUT short alias", method: "PUT", target: "/restate/a/" + testAwkID + "/reject",
			status: 405, allow: "POST"},
		{name: "resolve malformed id", method: "POST", target: "/restate/awakeables/" + badAwk + "/resolve", body: `1`,
			status: 400, msg: []string{`"` + badAwk + `"`, "base64url"}},
		{name: "reject malformed id short alias", method: "POST", target: "/restate/a/" + badAwk + "/reject", body: `x`,
			status: 400, msg: []string{`"` + badAwk + `"`, "base64url"}},
		{name: "resolve id of wrong length", method: "POST", target: "/restate/a/" + shortAwk + "/resolve", body: `1`,
			status: 400, msg: []string{`"` + shortAwk + `"`, "bytes"}},
		{name: "resolve id with wrong prefix", method: "POST", target: "/restate/a/prom_1abc/resolve", body: `1`,
			status: 400, msg: []string{`"prom_1abc"`, "must start with"}},
		{name: "resolve malformed id is checked before the body", method: "POST", target: "/restate/a/x/resolve", body: `not json`,
			status: 400, msg: []string{`"x"`}},
		{name: "unknown awakeable action", method: "POST", target: "/restate/awakeables/" + testAwkID + "/complete", status: 404},
		{name: "unknown awakeable action with bad id", method: "POST", target: "/restate/a/nope/complete", status: 404},
		{name: "awakeable without action", method: "POST", target: "/restate/awakeables/" + testAwkID, status: 404},
		{name: "awakeable too many segments", method: "POST", target: "/restate/a/" + testAwkID + "/resolve/x", status: 404},
		{name: "unknown restate namespace", method: "POST", target: "/restate/awakeable/" + testAwkID + "/resolve", status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			got, err := Decode(r)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("Decode: unexpected error %v", err)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Fatalf("Decode mismatch (-want +got):\n%s", d)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode = %+v, want error %d", got, tc.status)
			}
			if d := cmp.Diff(Request{}, got); d != "" {
				t.Errorf("Decode returned a Request alongside an error:\n%s", d)
			}
			if err.Status != tc.status {
				t.Errorf("status = %d, want %d (message %q)", err.Status, tc.status, err.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Message, m) {
					t.Errorf("message %q does not contain %q", err.Message, m)
				}
			}
			if err.Allow != tc.allow {
				t.Errorf("Allow = %q, want %q", err.Allow, tc.allow)
			}
			checkErrorResponse(t, err.Response(), tc.status, "ingress")
			if got := err.Response().Allow; got != tc.allow {
				t.Errorf("Response().Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

// checkErrorResponse checks that resp is in Restate's error shape with this status and source.
func checkErrorResponse(t *testing.T, resp Response, status int, source string) map[string]any {
	t.Helper()
	if resp.Status != status {
		t.Errorf("response status = %d, want %d", resp.Status, status)
	}
	if resp.ContentType != "application/json" {
		t.Errorf("content type = %q, want application/json", resp.ContentType)
	}
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", resp.Body, err)
	}
	if len(body) != 3 || body["code"] != float64(status) || body["source"] != source {
		t.Errorf("error body = %s, want code %d, a message and source %q", resp.Body, status, source)
	}
	if msg, ok := body["message"].(string); !ok || msg == "" {
		t.Errorf("error body %s has no message", resp.Body)
	}
	return body
}

func TestDecodeBodyLimit(t *testing.T) {
	// A JSON string of exactly MaxBodyBytes bytes.
	exact := `"` + strings.Repeat("a", MaxBodyBytes-2) + `"`
	over := `"` + strings.Repeat("a", MaxBodyBytes-1) + `"`

	t.Run("exactly at the limit", func(t *testing.T) {
		got, err := Decode(httptest.NewRequest("POST", "/S/h", strings.NewReader(exact)))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if len(got.Body) != MaxBodyBytes {
			t.Fatalf("body length = %d, want %d", len(got.Body), MaxBodyBytes)
		}
	})
	for _, target := range []string{"/S/h", "/S/h/send", "/restate/a/" + testAwkID + "/resolve", "/restate/awakeables/" + testAwkID + "/reject"} {
		t.Run("one past the limit "+target, func(t *testing.T) {
			_, err := Decode(httptest.NewRequest("POST", target, strings.NewReader(over)))
			if err == nil || err.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("Decode error = %v, want 413", err)
			}
			if !strings.Contains(err.Message, "10485760") {
				t.Errorf("message %q does not name the limit", err.Message)
			}
		})
	}
	t.Run("unknown length", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/S/h", io.MultiReader(strings.NewReader(over)))
		r.ContentLength = -1
		if _, err := Decode(r); err == nil || err.Status != 413 {
			t.Fatalf("Decode error = %v, want 413", err)
		}
	})
	t.Run("understated length", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/S/h", strings.NewReader(over))
		r.ContentLength = 10
		if _, err := Decode(r); err == nil || err.Status != 413 {
			t.Fatalf("Decode error = %v, want 413", err)
		}
	})
	t.Run("declared length past the limit is refused without reading", func(t *testing.T) {
		body := &countingReader{r: strings.NewReader("{}")}
		r := httptest.NewRequest("POST", "/S/h", body)
		r.ContentLength = MaxBodyBytes + 1
		if _, err := Decode(r); err == nil || err.Status != 413 {
			t.Fatalf("Decode error = %v, want 413", err)
		}
		if body.n != 0 {
			t.Errorf("read %d bytes of a body declared too large", body.n)
		}
	})
	t.Run("MaxBytesReader from a server", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/S/h", strings.NewReader(`"abcdef"`))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 3)
		if _, err := Decode(r); err == nil || err.Status != 413 {
			t.Fatalf("Decode error = %v, want 413", err)
		}
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// failingReader fails every read, like a client that hung up mid-body.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeBodyReadError(t *testing.T) {
	r := httptest.NewRequest("POST", "/S/h", failingReader{})
	_, err := Decode(r)
	if err == nil || err.Status != 400 || !strings.Contains(err.Message, "connection reset") {
		t.Fatalf("Decode error = %v, want 400 naming the read error", err)
	}
}

func TestDecodeOddRequests(t *testing.T) {
	// Requests the simulator or a test may build by hand, without httptest's defaults.
	cases := []struct {
		name   string
		r      *http.Request
		status int
	}{
		{"nil request", nil, 400},
		{"nil URL", &http.Request{Method: "POST"}, 400},
		{"empty path", &http.Request{Method: "POST", URL: &url.URL{}}, 404},
		{"asterisk", &http.Request{Method: "OPTIONS", URL: &url.URL{Path: "*"}}, 404},
		{"relative path", &http.Request{Method: "POST", URL: &url.URL{Path: "S/h"}}, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.r)
			if err == nil || err.Status != tc.status {
				t.Fatalf("Decode error = %v, want %d", err, tc.status)
			}
		})
	}
	t.Run("nil body and nil header", func(t *testing.T) {
		got, err := Decode(&http.Request{Method: "POST", URL: &url.URL{Path: "/restate/a/" + testAwkID + "/resolve"}})
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		want := Request{Kind: ResolveAwakeable, AwakeableID: testAwkID, Body: []byte("null")}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("Decode mismatch (-want +got):\n%s", d)
		}
	})
}

// TestDecodeProperty checks that Decode never panics and that every answer is either a Request
// that satisfies the promises Decode makes, or an *Error with a 4xx status and a message.
func TestDecodeProperty(t *testing.T) {
	pieces := []string{
		"restate", "invocation", "awakeables", "a", "attach", "output", "resolve", "reject", "send",
		"Greeter", "greet", testInvID, testAwkID, "inv_", "sign_1", "", ".", "..", "%2F", "%", "?", "x y",
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "post", ""}
	bodies := []string{"", "null", "{}", `{"a":1}`, "[", "text", "\xff", " ", `"\ud800"`}

	rapid.Check(t, func(t *rapid.T) {
		method := rapid.OneOf(rapid.SampledFrom(methods), rapid.String()).Draw(t, "method")
		var path string
		switch rapid.IntRange(0, 2).Draw(t, "pathShape") {
		case 0: // anything at all
			path = rapid.String().Draw(t, "path")
		case 1: // segments, mostly route words
			segs := rapid.SliceOfN(rapid.OneOf(rapid.SampledFrom(pieces), rapid.StringN(0, 8, -1)), 0, 6).Draw(t, "segs")
			path = "/" + strings.Join(segs, "/")
		default: // a /restate/... route with a valid, damaged or random ID, so those paths get deep
			ns := rapid.SampledFrom([]string{"invocation", "awakeables", "a", "workflow"}).Draw(t, "namespace")
			id := rapid.OneOf(rapid.SampledFrom([]string{testInvID, testAwkID}), damagedID(), rapid.String()).Draw(t, "id")
			action := rapid.SampledFrom([]string{"attach", "output", "resolve", "reject", "cancel"}).Draw(t, "action")
			path = "/restate/" + ns + "/" + id + "/" + action
		}
		body := rapid.OneOf(rapid.SampledFrom(bodies), rapid.String(), rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) })).Draw(t, "body")
		r := &http.Request{
			Method:        method,
			URL:           &url.URL{Path: path},
			Header:        http.Header{},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)),
		}
		if rapid.Bool().Draw(t, "idempotencyKey") {
			r.Header.Set("Idempotency-Key", rapid.String().Draw(t, "key"))
		}

		req, err := Decode(r)
		if err != nil {
			if err.Status < 400 || err.Status > 499 || err.Message == "" {
				t.Fatalf("error %+v: want a 4xx status and a message", err)
			}
			if (err.Status == 405) != (err.Allow != "") {
				t.Fatalf("error %+v: Allow must be set exactly for 405", err)
			}
			if !json.Valid(err.Response().Body) {
				t.Fatalf("error body %q is not JSON", err.Response().Body)
			}
			return
		}
		checkDecoded(t, req, r.Method, body)
	})
}

// damagedID draws a valid invocation or awakeable ID with one byte replaced, cut short or
// lengthened: the near misses a parser is most likely to get wrong.
func damagedID() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		id := []byte(rapid.SampledFrom([]string{testInvID, testAwkID}).Draw(t, "valid"))
		switch rapid.IntRange(0, 2).Draw(t, "damage") {
		case 0:
			i := rapid.IntRange(0, len(id)-1).Draw(t, "at")
			id[i] = rapid.Byte().Draw(t, "byte")
		case 1:
			id = id[:rapid.IntRange(0, len(id)-1).Draw(t, "len")]
		default:
			id = append(id, rapid.SliceOfN(rapid.Byte(), 1, 4).Draw(t, "extra")...)
		}
		return string(id)
	})
}

// checkDecoded checks the promises Decode makes about a Request it returns.
func checkDecoded(t *rapid.T, req Request, method, body string) {
	switch req.Kind {
	case Call, Send:
		if method != "POST" || req.Service == "" || req.Handler == "" || req.Service == "restate" {
			t.Fatalf("bad call %+v via %q", req, method)
		}
		if len(req.Body) > 0 && (!json.Valid(req.Body) || !utf8.Valid(req.Body)) {
			t.Fatalf("call body %q is not JSON", req.Body)
		}
	case Attach, Output:
		if method != "GET" {
			t.Fatalf("%v via %q", req.Kind, method)
		}
		if _, err := protocol.ParseInvocationID(req.InvocationID); err != nil {
			t.Fatalf("decoded a malformed invocation id: %v", err)
		}
	case ResolveAwakeable, RejectAwakeable:
		if method != "POST" {
			t.Fatalf("%v via %q", req.Kind, method)
		}
		if _, err := protocol.ParseAwakeableID(req.AwakeableID); err != nil {
			t.Fatalf("decoded a malformed awakeable id: %v", err)
		}
		if req.Kind == ResolveAwakeable && !json.Valid(req.Body) {
			t.Fatalf("resolve body %q is not JSON", req.Body)
		}
		if req.Kind == RejectAwakeable && !bytes.Equal(req.Body, []byte(body)) {
			t.Fatalf("reject body %q, sent %q", req.Body, body)
		}
	default:
		t.Fatalf("unknown kind in %+v", req)
	}
}
