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
	"testing/iotest"
	"time"
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

// testServices is the registry the keyed rows decode with. "Odd" and "Zero" have kinds that are
// not kinds, and "restate" is registered to show that the reserved name still never routes.
var testServices = ServiceKinds{
	"Greeter": KindService,
	"Cart":    KindObject,
	"Signup":  KindWorkflow,
	"a/b":     KindObject,
	"Odd":     ServiceKind(9),
	"Zero":    ServiceKind(0),
	"restate": KindService,
}

// decodeCase is one row of TestDecode: a request and either the Request it decodes to or the
// error it must be refused with.
type decodeCase struct {
	name    string
	method  string
	target  string // request target, may be percent-encoded
	body    string
	headers map[string]string
	// services is given to Decode; nil rows check that a nil Services keeps the plain routes.
	services Services

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
		{name: "unknown query parameters are ignored", method: "POST", target: "/Greeter/greet?trace=1",
			want: Request{Kind: Call, Service: "Greeter", Handler: "greet"}},
		{name: "delayed send", method: "POST", target: "/Greeter/greet/send?delay=1500ms",
			want: Request{Kind: Send, Service: "Greeter", Handler: "greet", Delay: 1500 * time.Millisecond}},
		{name: "delayed send, ISO-8601", method: "POST", target: "/Greeter/greet/send?delay=PT1M30S",
			want: Request{Kind: Send, Service: "Greeter", Handler: "greet", Delay: 90 * time.Second}},
		{name: "send", method: "POST", target: "/Greeter/greet/send", body: `[1,2]`,
			headers: map[string]string{"Idempotency-Key": "k-3"},
			want:    Request{Kind: Send, Service: "Greeter", Handler: "greet", Body: []byte(`[1,2]`), IdempotencyKey: "k-3"}},
		{name: "send with empty body", method: "POST", target: "/Greeter/greet/send",
			want: Request{Kind: Send, Service: "Greeter", Handler: "greet"}},
		{name: "percent-decoded names taken verbatim", method: "POST", target: "/Gr%C3%BC%C3%9Fer/say%20hi",
			want: Request{Kind: Call, Service: "Grüßer", Handler: "say hi"}},
		{name: "delay on a call", method: "POST", target: "/Greeter/greet?delay=10s",
			status: 400, msg: []string{`delay "10s"`, "only a send"}},
		{name: "malformed delay", method: "POST", target: "/Greeter/greet/send?delay=soon",
			status: 400, msg: []string{`delay "soon"`, "ISO-8601"}},
		{name: "negative delay", method: "POST", target: "/Greeter/greet/send?delay=-1s",
			status: 400, msg: []string{"negative"}},
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
		{name: "encoded slash stays in the service name", method: "POST", target: "/Greeter%2Fx/greet",
			want: Request{Kind: Call, Service: "Greeter/x", Handler: "greet"}},
		{name: "encoded slash stays in the handler name", method: "POST", target: "/Greeter/a%2Fb/send",
			want: Request{Kind: Send, Service: "Greeter", Handler: "a/b"}},
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
		{name: "unknown invocation action", method: "GET", target: "/restate/invocation/" + testInvID + "/kill", status: 404},
		{name: "unknown invocation action with bad id", method: "GET", target: "/restate/invocation/nope/kill", status: 404},
		{name: "cancel", method: "PATCH", target: "/restate/invocation/" + testInvID + "/cancel",
			want: Request{Kind: Cancel, InvocationID: testInvID}},
		{name: "cancel with GET", method: "GET", target: "/restate/invocation/" + testInvID + "/cancel", status: 405, allow: "PATCH"},
		{name: "cancel of a bad id", method: "PATCH", target: "/restate/invocation/nope/cancel", status: 400},
		{name: "invocation without action", method: "GET", target: "/restate/invocation/" + testInvID, status: 404},
		{name: "invocation too many segments", method: "GET", target: "/restate/invocation/" + testInvID + "/attach/x", status: 404},
		{name: "nil services: attach by idempotency key", method: "GET", target: "/restate/invocation/Greeter/greet/k1/attach",
			want: Request{Kind: Attach, Service: "Greeter", Handler: "greet", IdempotencyKey: "k1"}},
		{name: "nil services: keyed idempotency route", method: "GET", target: "/restate/invocation/Greeter/k/greet/k1/attach",
			status: 404, msg: []string{"plain service", "takes no key"}},
		{name: "nil services: no workflows", method: "GET", target: "/restate/workflow/wf/key/output",
			status: 404, msg: []string{"'wf' is a service, not a workflow"}},

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
		// Service kinds on the call routes.
		{name: "plain call with services", method: "POST", target: "/Greeter/greet", services: testServices,
			want: Request{Kind: Call, Service: "Greeter", Handler: "greet"}},
		{name: "plain send with services", method: "POST", target: "/Greeter/greet/send", services: testServices,
			headers: map[string]string{"Idempotency-Key": "k"},
			want:    Request{Kind: Send, Service: "Greeter", Handler: "greet", IdempotencyKey: "k"}},
		{name: "plain service with a key", method: "POST", target: "/Greeter/ada/greet", services: testServices,
			status: 404, msg: []string{"/Greeter/ada/greet", "'Greeter' is a plain service", "takes no key", "POST /Greeter/{handler}"}},
		{name: "plain service with a key and send", method: "POST", target: "/Greeter/ada/greet/send", services: testServices,
			status: 404, msg: []string{"'Greeter' is a plain service", "takes no key"}},
		{name: "plain service four segments without send", method: "POST", target: "/Greeter/ada/greet/x", services: testServices,
			status: 404, msg: []string{"no ingress route"}},
		{name: "object call", method: "POST", target: "/Cart/ada/add", body: `{"item":1}`, services: testServices,
			want: Request{Kind: Call, Service: "Cart", Key: "ada", Handler: "add", Body: []byte(`{"item":1}`)}},
		{name: "object call with idempotency key", method: "POST", target: "/Cart/ada/add", services: testServices,
			headers: map[string]string{"Idempotency-Key": "k-9"},
			want:    Request{Kind: Call, Service: "Cart", Key: "ada", Handler: "add", IdempotencyKey: "k-9"}},
		{name: "object send", method: "POST", target: "/Cart/ada/add/send", body: `2`, services: testServices,
			headers: map[string]string{"Idempotency-Key": "k-4"},
			want:    Request{Kind: Send, Service: "Cart", Key: "ada", Handler: "add", Body: []byte(`2`), IdempotencyKey: "k-4"}},
		{name: "object handler named send", method: "POST", target: "/Cart/ada/send", services: testServices,
			want: Request{Kind: Call, Service: "Cart", Key: "ada", Handler: "send"}},
		{name: "object key named send", method: "POST", target: "/Cart/send/add/send", services: testServices,
			want: Request{Kind: Send, Service: "Cart", Key: "send", Handler: "add"}},
		{name: "object key named restate", method: "POST", target: "/Cart/restate/add", services: testServices,
			want: Request{Kind: Call, Service: "Cart", Key: "restate", Handler: "add"}},
		{name: "object key with an encoded slash", method: "POST", target: "/Cart/a%2Fb/add", services: testServices,
			want: Request{Kind: Call, Service: "Cart", Key: "a/b", Handler: "add"}},
		{name: "object key with encoded slashes and send", method: "POST", target: "/Cart/%2F%2F/add/send", services: testServices,
			want: Request{Kind: Send, Service: "Cart", Key: "//", Handler: "add"}},
		{name: "object key percent-decoded", method: "POST", target: "/Cart/J%C3%BCrgen%20M%25/add", services: testServices,
			want: Request{Kind: Call, Service: "Cart", Key: "Jürgen M%", Handler: "add"}},
		{name: "object key with lowercase escapes", method: "POST", target: "/Cart/a%2fb/add", services: testServices,
			want: Request{Kind: Call, Service: "Cart", Key: "a/b", Handler: "add"}},
		{name: "object name with an encoded slash", method: "POST", target: "/a%2Fb/k/h", services: testServices,
			want: Request{Kind: Call, Service: "a/b", Key: "k", Handler: "h"}},
		{name: "unencoded slash is not an object name", method: "POST", target: "/a/b/k/h", services: testServices,
			status: 404, msg: []string{"service 'a' not found"}},
		{name: "object without a key", method: "POST", target: "/Cart/add", services: testServices,
			status: 400, msg: []string{"virtual object 'Cart' requires a key", "POST /Cart/{key}/{handler}"}},
		{name: "object without a key via GET is still the key error", method: "GET", target: "/Cart/add", services: testServices,
			status: 400, msg: []string{"requires a key"}},
		{name: "object four segments without send", method: "POST", target: "/Cart/ada/add/x", services: testServices,
			status: 404, msg: []string{"/Cart/ada/add/x"}},
		{name: "object five segments", method: "POST", target: "/Cart/ada/add/send/x", services: testServices, status: 404},
		{name: "object one segment", method: "POST", target: "/Cart", services: testServices, status: 404},
		{name: "object empty key", method: "POST", target: "/Cart//add", services: testServices, status: 404},
		{name: "object call with GET", method: "GET", target: "/Cart/ada/add", services: testServices,
			status: 405, allow: "POST", msg: []string{`"GET"`, "/Cart/ada/add"}},
		{name: "object send with PUT", method: "PUT", target: "/Cart/ada/add/send", services: testServices,
			status: 405, allow: "POST"},
		{name: "object call body not JSON", method: "POST", target: "/Cart/ada/add", body: `nope`, services: testServices,
			status: 400, msg: []string{"not valid JSON"}},
		{name: "workflow run", method: "POST", target: "/Signup/u-1/run", body: `{"email":"a@b"}`, services: testServices,
			headers: map[string]string{"Idempotency-Key": "once"},
			want:    Request{Kind: Call, Service: "Signup", Key: "u-1", Handler: "run", Body: []byte(`{"email":"a@b"}`), IdempotencyKey: "once"}},
		{name: "workflow run send", method: "POST", target: "/Signup/u-1/run/send", services: testServices,
			headers: map[string]string{"Idempotency-Key": "once"},
			want:    Request{Kind: Send, Service: "Signup", Key: "u-1", Handler: "run", IdempotencyKey: "once"}},
		{name: "workflow shared handler", method: "POST", target: "/Signup/u-1/confirm", body: `"code"`, services: testServices,
			want: Request{Kind: Call, Service: "Signup", Key: "u-1", Handler: "confirm", Body: []byte(`"code"`)}},
		{name: "workflow shared handler send", method: "POST", target: "/Signup/u-1/confirm/send", services: testServices,
			want: Request{Kind: Send, Service: "Signup", Key: "u-1", Handler: "confirm"}},
		{name: "workflow encoded key", method: "POST", target: "/Signup/x%2F%3Fy/run", services: testServices,
			want: Request{Kind: Call, Service: "Signup", Key: "x/?y", Handler: "run"}},
		{name: "workflow without a key", method: "POST", target: "/Signup/run", services: testServices,
			status: 400, msg: []string{"workflow 'Signup' requires a key", "POST /Signup/{key}/{handler}"}},
		{name: "workflow run with GET", method: "GET", target: "/Signup/u-1/run", services: testServices,
			status: 405, allow: "POST"},
		{name: "unknown service", method: "POST", target: "/Nope/greet", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "unknown service send", method: "POST", target: "/Nope/greet/send", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "unknown service keyed", method: "POST", target: "/Nope/k/greet", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "unknown service keyed send", method: "POST", target: "/Nope/k/greet/send", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "unknown service with GET is 404 not 405", method: "GET", target: "/Nope/greet", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "unknown service one segment", method: "POST", target: "/Nope", services: testServices,
			status: 404, msg: []string{"no ingress route"}},
		{name: "unknown service name is quoted safely", method: "POST", target: "/it%27s%0A/greet", services: testServices,
			status: 404, msg: []string{`service "it's\n" not found`}},
		{name: "encoded slash makes another service", method: "POST", target: "/Greeter%2Fx/greet", services: testServices,
			status: 404, msg: []string{"service 'Greeter/x' not found"}},
		{name: "kind that is not a kind", method: "POST", target: "/Odd/h", services: testServices,
			status: 404, msg: []string{"service 'Odd' not found"}},
		{name: "zero kind", method: "POST", target: "/Zero/k/h", services: testServices,
			status: 404, msg: []string{"service 'Zero' not found"}},
		{name: "restate is reserved even when registered", method: "POST", target: "/restate/greet", services: testServices,
			status: 404},
		{name: "encoded restate is reserved too", method: "POST", target: "/r%65state/greet/send", services: testServices,
			status: 404},
		{name: "empty registry knows no services", method: "POST", target: "/Greeter/greet", services: ServiceKinds(nil),
			status: 404, msg: []string{"service 'Greeter' not found"}},

		// Attach and Output by idempotency key.
		{name: "attach by idempotency key", method: "GET", target: "/restate/invocation/Greeter/greet/k1/attach", services: testServices,
			want: Request{Kind: Attach, Service: "Greeter", Handler: "greet", IdempotencyKey: "k1"}},
		{name: "output by idempotency key", method: "GET", target: "/restate/invocation/Greeter/greet/k1/output", services: testServices,
			want: Request{Kind: Output, Service: "Greeter", Handler: "greet", IdempotencyKey: "k1"}},
		{name: "idempotency key that looks like an invocation id", method: "GET", target: "/restate/invocation/Greeter/greet/" + testInvID + "/output",
			services: testServices,
			want:     Request{Kind: Output, Service: "Greeter", Handler: "greet", IdempotencyKey: testInvID}},
		{name: "idempotency key header is not read on attach", method: "GET", target: "/restate/invocation/Greeter/greet/k1/attach",
			services: testServices, headers: map[string]string{"Idempotency-Key": "other"},
			want: Request{Kind: Attach, Service: "Greeter", Handler: "greet", IdempotencyKey: "k1"}},
		{name: "object attach by idempotency key", method: "GET", target: "/restate/invocation/Cart/ada/add/k1/attach", services: testServices,
			want: Request{Kind: Attach, Service: "Cart", Key: "ada", Handler: "add", IdempotencyKey: "k1"}},
		{name: "object output by idempotency key", method: "GET", target: "/restate/invocation/Cart/ada/add/k1/output", services: testServices,
			want: Request{Kind: Output, Service: "Cart", Key: "ada", Handler: "add", IdempotencyKey: "k1"}},
		{name: "workflow shared handler by idempotency key", method: "GET", target: "/restate/invocation/Signup/u-1/confirm/k1/output",
			services: testServices,
			want:     Request{Kind: Output, Service: "Signup", Key: "u-1", Handler: "confirm", IdempotencyKey: "k1"}},
		{name: "encoded object key and idempotency key", method: "GET", target: "/restate/invocation/Cart/a%2Fb/add/k%2F1%20x/output",
			services: testServices,
			want:     Request{Kind: Output, Service: "Cart", Key: "a/b", Handler: "add", IdempotencyKey: "k/1 x"}},
		{name: "object by idempotency key without a key", method: "GET", target: "/restate/invocation/Cart/add/k1/attach", services: testServices,
			status: 400, msg: []string{"virtual object 'Cart' requires a key", "/restate/invocation/Cart/{key}/{handler}/{idempotency-key}/attach"}},
		{name: "workflow by idempotency key without a key", method: "GET", target: "/restate/invocation/Signup/run/k1/output", services: testServices,
			status: 400, msg: []string{"workflow 'Signup' requires a key", "/output"}},
		{name: "plain service by idempotency key with a key", method: "GET", target: "/restate/invocation/Greeter/k/greet/k1/output",
			services: testServices,
			status:   404, msg: []string{"'Greeter' is a plain service", "/restate/invocation/Greeter/{handler}/{idempotency-key}/output"}},
		{name: "unknown service by idempotency key", method: "GET", target: "/restate/invocation/Nope/greet/k1/attach", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "unknown object by idempotency key", method: "GET", target: "/restate/invocation/Nope/k/greet/k1/attach", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "restate is not a service by idempotency key", method: "GET", target: "/restate/invocation/restate/greet/k1/attach",
			services: testServices, status: 404, msg: []string{"service 'restate' not found"}},
		{name: "attach by idempotency key with POST", method: "POST", target: "/restate/invocation/Greeter/greet/k1/attach", services: testServices,
			status: 405, allow: "GET", msg: []string{`"POST"`}},
		{name: "object output by idempotency key with DELETE", method: "DELETE", target: "/restate/invocation/Cart/ada/add/k1/output",
			services: testServices, status: 405, allow: "GET"},
		{name: "unknown action by idempotency key", method: "GET", target: "/restate/invocation/Greeter/greet/k1/cancel", services: testServices,
			status: 404},
		{name: "unknown action by idempotency key with unknown service", method: "GET", target: "/restate/invocation/Nope/greet/k1/cancel",
			services: testServices, status: 404, msg: []string{"no ingress route"}},
		{name: "idempotency route missing the handler", method: "GET", target: "/restate/invocation/Greeter/k1/attach", services: testServices,
			status: 404, msg: []string{"no ingress route"}},
		{name: "idempotency route too long", method: "GET", target: "/restate/invocation/Cart/ada/add/k1/x/attach", services: testServices,
			status: 404},
		{name: "idempotency route empty key", method: "GET", target: "/restate/invocation/Greeter/greet//attach", services: testServices,
			status: 404},
		{name: "idempotency route empty object key", method: "GET", target: "/restate/invocation/Cart//add/k1/attach", services: testServices,
			status: 404},
		{name: "attach by id with services", method: "GET", target: "/restate/invocation/" + testInvID + "/attach", services: testServices,
			want: Request{Kind: Attach, InvocationID: testInvID}},

		// Workflow output and attach.
		{name: "workflow output", method: "GET", target: "/restate/workflow/Signup/u-1/output", services: testServices,
			want: Request{Kind: WorkflowOutput, Service: "Signup", Key: "u-1"}},
		{name: "workflow attach", method: "GET", target: "/restate/workflow/Signup/u-1/attach", services: testServices,
			want: Request{Kind: WorkflowAttach, Service: "Signup", Key: "u-1"}},
		{name: "workflow attach encoded key", method: "GET", target: "/restate/workflow/Signup/a%2Fb/attach", services: testServices,
			want: Request{Kind: WorkflowAttach, Service: "Signup", Key: "a/b"}},
		{name: "workflow output with POST", method: "POST", target: "/restate/workflow/Signup/u-1/output", services: testServices,
			status: 405, allow: "GET", msg: []string{`"POST"`, "GET"}},
		{name: "workflow attach with PUT", method: "PUT", target: "/restate/workflow/Signup/u-1/attach", services: testServices,
			status: 405, allow: "GET"},
		{name: "workflow unknown action", method: "GET", target: "/restate/workflow/Signup/u-1/cancel", services: testServices,
			status: 404},
		{name: "workflow route without a key", method: "GET", target: "/restate/workflow/Signup/output", services: testServices,
			status: 404},
		{name: "workflow route too long", method: "GET", target: "/restate/workflow/Signup/u-1/run/output", services: testServices,
			status: 404},
		{name: "workflow route empty key", method: "GET", target: "/restate/workflow/Signup//output", services: testServices,
			status: 404},
		{name: "workflow route of an object", method: "GET", target: "/restate/workflow/Cart/ada/output", services: testServices,
			status: 404, msg: []string{"'Cart' is a virtual object, not a workflow"}},
		{name: "workflow route of a plain service", method: "GET", target: "/restate/workflow/Greeter/k/attach", services: testServices,
			status: 404, msg: []string{"'Greeter' is a service, not a workflow"}},
		{name: "workflow route of an unknown service", method: "GET", target: "/restate/workflow/Nope/k/output", services: testServices,
			status: 404, msg: []string{"service 'Nope' not found"}},
		{name: "workflow route of an unknown service with POST is 404", method: "POST", target: "/restate/workflow/Nope/k/output",
			services: testServices, status: 404},
		{name: "restate namespace alone", method: "GET", target: "/restate/workflow", services: testServices, status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			got, err := Decode(r, tc.services)
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
		got, err := Decode(httptest.NewRequest("POST", "/S/h", strings.NewReader(exact)), nil)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if len(got.Body) != MaxBodyBytes {
			t.Fatalf("body length = %d, want %d", len(got.Body), MaxBodyBytes)
		}
	})
	for _, target := range []string{"/Greeter/h", "/Greeter/h/send", "/Cart/k/h", "/Signup/k/run/send", "/restate/a/" + testAwkID + "/resolve", "/restate/awakeables/" + testAwkID + "/reject"} {
		t.Run("one past the limit "+target, func(t *testing.T) {
			_, err := Decode(httptest.NewRequest("POST", target, strings.NewReader(over)), testServices)
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
		if _, err := Decode(r, nil); err == nil || err.Status != 413 {
			t.Fatalf("Decode error = %v, want 413", err)
		}
	})
	t.Run("understated length", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/S/h", strings.NewReader(over))
		r.ContentLength = 10
		if _, err := Decode(r, nil); err == nil || err.Status != 413 {
			t.Fatalf("Decode error = %v, want 413", err)
		}
	})
	t.Run("declared length past the limit is refused without reading", func(t *testing.T) {
		body := &countingReader{r: strings.NewReader("{}")}
		r := httptest.NewRequest("POST", "/S/h", body)
		r.ContentLength = MaxBodyBytes + 1
		if _, err := Decode(r, nil); err == nil || err.Status != 413 {
			t.Fatalf("Decode error = %v, want 413", err)
		}
		if body.n != 0 {
			t.Errorf("read %d bytes of a body declared too large", body.n)
		}
	})
	t.Run("MaxBytesReader from a server", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/S/h", strings.NewReader(`"abcdef"`))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 3)
		if _, err := Decode(r, nil); err == nil || err.Status != 413 {
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
	_, err := Decode(r, nil)
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
			_, err := Decode(tc.r, nil)
			if err == nil || err.Status != tc.status {
				t.Fatalf("Decode error = %v, want %d", err, tc.status)
			}
		})
	}
	// Hand-built URLs: Decode must read the path as EscapedPath gives it, whichever of Path and
	// RawPath the builder filled in.
	for _, tc := range []struct {
		name string
		u    *url.URL
		want Request
	}{
		{"decoded slash in Path splits", &url.URL{Path: "/Cart/a/b/send"}, Request{Kind: Send, Service: "Cart", Key: "a", Handler: "b"}},
		{"RawPath keeps an encoded slash", &url.URL{Path: "/Cart/a/b/add", RawPath: "/Cart/a%2Fb/add"}, Request{Kind: Call, Service: "Cart", Key: "a/b", Handler: "add"}},
		{"literal percent in Path", &url.URL{Path: "/Cart/a%2Fb/add"}, Request{Kind: Call, Service: "Cart", Key: "a%2Fb", Handler: "add"}},
		{"RawPath that does not match Path is ignored", &url.URL{Path: "/Cart/k/add", RawPath: "/Cart/x%2Fy/add"}, Request{Kind: Call, Service: "Cart", Key: "k", Handler: "add"}},
		{"invalid RawPath is ignored", &url.URL{Path: "/Cart/k/add", RawPath: "/Cart/%zz/add"}, Request{Kind: Call, Service: "Cart", Key: "k", Handler: "add"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(&http.Request{Method: "POST", URL: tc.u}, testServices)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("Decode mismatch (-want +got):\n%s", d)
			}
		})
	}
	t.Run("nil body and nil header", func(t *testing.T) {
		got, err := Decode(&http.Request{Method: "POST", URL: &url.URL{Path: "/restate/a/" + testAwkID + "/resolve"}}, nil)
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
// that satisfies the promises Decode makes, or an *Error with a 4xx status and a message, for
// any request and any Services (nil, empty, or mapping route words to any kind, valid or not).
func TestDecodeProperty(t *testing.T) {
	pieces := []string{
		"restate", "invocation", "awakeables", "a", "workflow", "attach", "output", "resolve", "reject", "send",
		"Greeter", "greet", "Cart", "Signup", "run", "k1", testInvID, testAwkID, "inv_", "sign_1", "", ".", "..",
		"%2F", "%2f", "%", "%zz", "?", "x y", "a%2Fb",
	}
	names := []string{"Greeter", "Cart", "Signup", "restate", "a", "greet", "run", "a/b", "invocation", "workflow"}
	methods := []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "post", ""}
	bodies := []string{"", "null", "{}", `{"a":1}`, "[", "text", "\xff", " ", `"\ud800"`}

	rapid.Check(t, func(t *rapid.T) {
		services := servicesGen(names).Draw(t, "services")
		method := rapid.OneOf(rapid.SampledFrom(methods), rapid.String()).Draw(t, "method")
		word := rapid.OneOf(rapid.SampledFrom(pieces), rapid.StringN(0, 8, -1))
		u := &url.URL{}
		switch rapid.IntRange(0, 4).Draw(t, "pathShape") {
		case 0: // anything at all
			u.Path = rapid.String().Draw(t, "path")
		case 1: // segments, mostly route words
			u.Path = "/" + strings.Join(rapid.SliceOfN(word, 0, 8).Draw(t, "segs"), "/")
		case 2: // a raw, possibly percent-encoded, path as a client would send it
			raw := "/" + strings.Join(rapid.SliceOfN(word, 0, 8).Draw(t, "rawSegs"), "/")
			if parsed, err := url.Parse(raw); err == nil && parsed.Path != "" {
				u = parsed
			} else {
				u.Path = raw
			}
		case 3: // a /restate/... route with a valid, damaged or random ID, so those paths get deep
			ns := rapid.SampledFrom([]string{"invocation", "awakeables", "a", "workflow"}).Draw(t, "namespace")
			id := rapid.OneOf(rapid.SampledFrom([]string{testInvID, testAwkID}), damagedID(), rapid.String()).Draw(t, "id")
			action := rapid.SampledFrom([]string{"attach", "output", "resolve", "reject", "cancel"}).Draw(t, "action")
			u.Path = "/restate/" + ns + "/" + id + "/" + action
		default: // a keyed or idempotency route over registered names
			prefix := rapid.SampledFrom([]string{"", "/restate/invocation", "/restate/workflow"}).Draw(t, "prefix")
			segs := rapid.SliceOfN(rapid.OneOf(rapid.SampledFrom(names), word), 1, 6).Draw(t, "keyedSegs")
			action := rapid.SampledFrom([]string{"", "/send", "/attach", "/output"}).Draw(t, "keyedAction")
			escaped := make([]string, len(segs))
			for i, seg := range segs {
				escaped[i] = url.PathEscape(seg)
			}
			raw := prefix + "/" + strings.Join(escaped, "/") + action
			if parsed, err := url.Parse(raw); err == nil {
				u = parsed
			} else {
				u.Path = raw
			}
		}
		body := rapid.OneOf(rapid.SampledFrom(bodies), rapid.String(), rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) })).Draw(t, "body")
		r := &http.Request{
			Method:        method,
			URL:           u,
			Header:        http.Header{},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)),
		}
		if rapid.Bool().Draw(t, "idempotencyKey") {
			r.Header.Set("Idempotency-Key", rapid.String().Draw(t, "key"))
		}

		req, err := Decode(r, services)
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
		checkDecoded(t, req, r.Method, body, services)
	})
}

// servicesGen draws the Services a property decodes with: nil (every name a plain service), or
// a ServiceKinds, possibly nil or empty, mapping some of names to any kind, including the zero
// kind and kinds that are not kinds.
func servicesGen(names []string) *rapid.Generator[Services] {
	return rapid.Custom(func(t *rapid.T) Services {
		if rapid.IntRange(0, 4).Draw(t, "nilServices") == 0 {
			return nil
		}
		if rapid.IntRange(0, 9).Draw(t, "nilMap") == 0 {
			return ServiceKinds(nil)
		}
		kind := rapid.OneOf(
			rapid.SampledFrom([]ServiceKind{KindService, KindObject, KindWorkflow}),
			rapid.Map(rapid.Uint8(), func(k uint8) ServiceKind { return ServiceKind(k) }),
		)
		return ServiceKinds(rapid.MapOf(rapid.SampledFrom(names), kind).Draw(t, "kinds"))
	})
}

// TestDecodeRoundTrip checks that every well-formed route built from arbitrary names and keys,
// each percent-encoded as a client would, decodes to exactly those names and keys: a slash, a
// percent sign or any other byte in a key never moves a segment boundary.
func TestDecodeRoundTrip(t *testing.T) {
	// Names and keys are any non-empty strings; "restate" is reserved and never a service name.
	name := rapid.StringN(1, 12, -1).Filter(func(s string) bool { return s != reservedSegment })
	segment := rapid.OneOf(rapid.StringN(1, 12, -1), rapid.SampledFrom([]string{"/", "a/b", "%2F", "%", "..", ".", "send", "restate", "run", " "}))

	rapid.Check(t, func(t *rapid.T) {
		kind := rapid.SampledFrom([]ServiceKind{KindService, KindObject, KindWorkflow}).Draw(t, "kind")
		svc := name.Draw(t, "service")
		services := ServiceKinds{svc: kind}
		var key string
		if kind.keyed() {
			key = segment.Draw(t, "key")
		}
		handler := segment.Draw(t, "handler")
		idem := segment.Draw(t, "idempotencyKey")
		headerIdem := rapid.StringMatching(`[a-z0-9-]{0,8}`).Draw(t, "header")

		esc := url.PathEscape
		keyPart := ""
		if kind.keyed() {
			keyPart = "/" + esc(key)
		}
		type route struct {
			method, target string
			want           Request
		}
		routes := []route{
			{"POST", "/" + esc(svc) + keyPart + "/" + esc(handler),
				Request{Kind: Call, Service: svc, Key: key, Handler: handler, Body: []byte(`1`), IdempotencyKey: headerIdem}},
			{"POST", "/" + esc(svc) + keyPart + "/" + esc(handler) + "/send",
				Request{Kind: Send, Service: svc, Key: key, Handler: handler, Body: []byte(`1`), IdempotencyKey: headerIdem}},
			{"GET", "/restate/invocation/" + esc(svc) + keyPart + "/" + esc(handler) + "/" + esc(idem) + "/attach",
				Request{Kind: Attach, Service: svc, Key: key, Handler: handler, IdempotencyKey: idem}},
			{"GET", "/restate/invocation/" + esc(svc) + keyPart + "/" + esc(handler) + "/" + esc(idem) + "/output",
				Request{Kind: Output, Service: svc, Key: key, Handler: handler, IdempotencyKey: idem}},
		}
		if kind == KindWorkflow {
			routes = append(routes,
				route{"GET", "/restate/workflow/" + esc(svc) + keyPart + "/output", Request{Kind: WorkflowOutput, Service: svc, Key: key}},
				route{"GET", "/restate/workflow/" + esc(svc) + keyPart + "/attach", Request{Kind: WorkflowAttach, Service: svc, Key: key}},
			)
		}
		for _, rt := range routes {
			r := httptest.NewRequest(rt.method, rt.target, strings.NewReader("1"))
			if headerIdem != "" {
				r.Header.Set("Idempotency-Key", headerIdem)
			}
			got, err := Decode(r, services)
			if err != nil {
				t.Fatalf("%s %s: %v", rt.method, rt.target, err)
			}
			if d := cmp.Diff(rt.want, got); d != "" {
				t.Fatalf("%s %s: mismatch (-want +got):\n%s", rt.method, rt.target, d)
			}
		}
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
func checkDecoded(t *rapid.T, req Request, method, body string, services Services) {
	// kindOf is the kind Decode must have routed by; a service it does not know is a bug.
	kindOf := func() ServiceKind {
		if req.Service == "" || req.Service == "restate" {
			t.Fatalf("%v with service %q in %+v", req.Kind, req.Service, req)
		}
		if services == nil {
			return KindService
		}
		k, ok := services.Kind(req.Service)
		if !ok || (k != KindService && k != KindObject && k != KindWorkflow) {
			t.Fatalf("%v of unknown service %q (kind %v, %v)", req.Kind, req.Service, k, ok)
		}
		return k
	}
	checkKey := func(kind ServiceKind) {
		if kind.keyed() != (req.Key != "") {
			t.Fatalf("%v of a %v with key %q", req.Kind, kind, req.Key)
		}
	}
	switch req.Kind {
	case Call, Send:
		if method != "POST" || req.Handler == "" || req.InvocationID != "" || req.AwakeableID != "" {
			t.Fatalf("bad call %+v via %q", req, method)
		}
		checkKey(kindOf())
		if len(req.Body) > 0 && (!json.Valid(req.Body) || !utf8.Valid(req.Body)) {
			t.Fatalf("call body %q is not JSON", req.Body)
		}
	case Attach, Output:
		if method != "GET" || req.Body != nil || req.AwakeableID != "" {
			t.Fatalf("bad %v %+v via %q", req.Kind, req, method)
		}
		if req.InvocationID != "" {
			if _, err := protocol.ParseInvocationID(req.InvocationID); err != nil {
				t.Fatalf("decoded a malformed invocation id: %v", err)
			}
			if req.Service != "" || req.Key != "" || req.Handler != "" || req.IdempotencyKey != "" {
				t.Fatalf("%v names both an id and a target: %+v", req.Kind, req)
			}
			return
		}
		if req.Handler == "" || req.IdempotencyKey == "" {
			t.Fatalf("%v by idempotency key without handler or key: %+v", req.Kind, req)
		}
		checkKey(kindOf())
	case Cancel:
		// Cancel is by ID only (PATCH /restate/invocation/{id}/cancel), with no body.
		if method != "PATCH" || req.Body != nil || req.AwakeableID != "" || req.Service != "" || req.Key != "" || req.Handler != "" || req.IdempotencyKey != "" {
			t.Fatalf("bad cancel %+v via %q", req, method)
		}
		if _, err := protocol.ParseInvocationID(req.InvocationID); err != nil {
			t.Fatalf("decoded a malformed invocation id: %v", err)
		}
	case WorkflowOutput, WorkflowAttach:
		if method != "GET" || req.Handler != "" || req.Body != nil || req.IdempotencyKey != "" || req.InvocationID != "" {
			t.Fatalf("bad %v %+v via %q", req.Kind, req, method)
		}
		if k := kindOf(); k != KindWorkflow {
			t.Fatalf("%v of a %v", req.Kind, k)
		}
		checkKey(KindWorkflow)
	case ResolveAwakeable, RejectAwakeable:
		if method != "POST" || req.Service != "" || req.Key != "" {
			t.Fatalf("bad %v %+v via %q", req.Kind, req, method)
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

// TestReadSized: the body comes back whole whatever the declared length says, exact,
// understated, overstated or unknown, and in one allocation when it is exact.
func TestReadSized(t *testing.T) {
	body := []byte(strings.Repeat("0123456789", 100))
	for _, size := range []int64{-1, 0, 1, 999, 1000, 1001, 5000, MaxBodyBytes + 1} {
		got, err := readSized(iotest.OneByteReader(bytes.NewReader(body)), size)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("size %d: got %d bytes, %v; want the %d bytes", size, len(got), err, len(body))
		}
	}
	if got, err := readSized(iotest.DataErrReader(bytes.NewReader(body)), int64(len(body))); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("data with EOF: got %d bytes, %v", len(got), err)
	}
	br := bytes.NewReader(body)
	allocs := testing.AllocsPerRun(10, func() {
		br.Reset(body)
		_, _ = readSized(br, int64(len(body)))
	})
	if allocs > 1 {
		t.Errorf("%v allocations for a body of the declared length, want 1", allocs)
	}
	if _, err := readSized(iotest.ErrReader(errors.New("boom")), 10); err == nil || err.Error() != "boom" {
		t.Errorf("a failing reader: err %v, want boom", err)
	}
}
