package ingress_test

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilsim/vigil/runtime/ingress"
)

// raw is in as the simulator's client writes it: the target as on the request line, the
// header as written, the body as bytes.
func (in fuzzInput) raw() *ingress.RawRequest {
	target := in.rawPath
	if in.query != "" {
		target += "?" + in.query
	}
	r := &ingress.RawRequest{Method: in.method, Target: target, Body: in.body}
	if in.flags&flagNilHeader == 0 && in.idem != "" {
		r.Header = http.Header{"Idempotency-Key": {in.idem}}
	}
	return r
}

// serverShaped reports whether in is a request a server could have parsed, whose parts a client
// writes as they are: an origin-form target (a path from '/') that is valid percent-encoding and
// holds no query or fragment of its own, and a whole body that reads without error. (A target
// in another form, "A:" say, is read by a server as an absolute URI whose path is empty; a
// RawRequest names no route with it either, quoting it as written.)
func (in fuzzInput) serverShaped() bool {
	if _, err := url.PathUnescape(in.rawPath); err != nil || !strings.HasPrefix(in.rawPath, "/") {
		return false
	}
	return !strings.ContainsAny(in.rawPath, "?#") && !strings.Contains(in.query, "#") &&
		in.flags&(flagNilBody|flagNoBody|flagBodyError) == 0
}

// FuzzDecodeRaw checks that DecodeRaw, the simulator's entry, decodes every request a server
// could have parsed exactly as Decode decodes the *http.Request of the same parts: the same
// Request or the same refusal, and the same answer to "is this the health probe".
func FuzzDecodeRaw(f *testing.F) {
	addRouteSeeds(f)
	f.Add("GET", "/restate/health", "", "", int64(0), []byte{}, uint8(0))
	f.Add("HEAD", "/restate/%68ealth", "", "", int64(0), []byte{}, uint8(0))
	f.Add("POST", "/Greeter/gr eet", "", "", int64(0), []byte{}, uint8(0))
	f.Add("POST", "/Greeter/grüß", "", "", int64(0), []byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, method, rawPath, query, idem string, contentLength int64, body []byte, flags uint8) {
		in := fuzzInput{method, rawPath, query, idem, int64(len(body)), body, flags}
		if !in.serverShaped() {
			t.Skip("not a request a server parses with these parts")
		}
		want, wantErr := ingress.Decode(in.request(), in.services())
		got, gotErr := ingress.DecodeRaw(in.raw(), in.services())
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("DecodeRaw of %q decodes differently from Decode (-Decode +DecodeRaw):\n%s", in.raw().Target, d)
		}
		if d := cmp.Diff(wantErr, gotErr); d != "" {
			t.Fatalf("DecodeRaw of %q refuses differently from Decode (-Decode +DecodeRaw):\n%s", in.raw().Target, d)
		}
		if ingress.IsHealthRequest(in.request()) != in.raw().IsHealthRequest() {
			t.Fatalf("%s %q: IsHealthRequest disagrees between the two entries", method, rawPath)
		}
		checkTriage(t, in.raw(), in.services())
		checkFields(t, in.raw(), in.services())
	})
}

// asFields is r with its header written as Fields instead, names lowercased (as a client may
// write them), in the order of the names as written.
func asFields(r *ingress.RawRequest) *ingress.RawRequest {
	c := *r
	c.Header = nil
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			c.Fields = append(c.Fields, ingress.HeaderField{Name: strings.ToLower(k), Value: v})
		}
	}
	return &c
}

// checkFields checks that a request's header reads the same as Fields as it does as Header:
// the same triage (decoding included) and the same CORS answer.
func checkFields(t *testing.T, r *ingress.RawRequest, services ingress.Services) {
	t.Helper()
	f := asFields(r)
	early, answered, req, derr := r.Triage(services, true, "ready")
	fEarly, fAnswered, fReq, fErr := f.Triage(services, true, "ready")
	if d := cmp.Diff([]any{early, answered, req, derr}, []any{fEarly, fAnswered, fReq, fErr}); d != "" {
		t.Fatalf("%s %q: triage with Fields differs from Header (-Header +Fields):\n%s", r.Method, r.Target, d)
	}
	if a, b := r.WithCORS(ingress.Response{}), f.WithCORS(ingress.Response{}); !cmp.Equal(a, b) {
		t.Fatalf("%s %q: WithCORS with Fields %+v, with Header %+v", r.Method, r.Target, b, a)
	}
}

// checkTriage checks that Triage is PreflightResponse, then IsHealthRequest, then DecodeRaw.
func checkTriage(t *testing.T, r *ingress.RawRequest, services ingress.Services) {
	t.Helper()
	early, answered, req, derr := r.Triage(services, false, "recovering")
	wantEarly, wantAnswered := r.PreflightResponse()
	var wantReq ingress.Request
	var wantErr *ingress.Error
	switch {
	case wantAnswered:
	case r.IsHealthRequest():
		wantEarly, wantAnswered = ingress.HealthResponse(false, "recovering"), true
	default:
		wantReq, wantErr = ingress.DecodeRaw(r, services)
	}
	if answered != wantAnswered || !cmp.Equal(early, wantEarly) || !cmp.Equal(req, wantReq) || !cmp.Equal(derr, wantErr) {
		t.Fatalf("Triage of %s %q = %+v, %v, %+v, %v; want %+v, %v, %+v, %v", r.Method, r.Target,
			early, answered, req, derr, wantEarly, wantAnswered, wantReq, wantErr)
	}
}

// TestRawRequestAsWritten pins what DecodeRaw reads of parts a client writes freely: header
// names in any case (filed as http.Header.Add files them), a fragment dropped as url.Parse drops
// it, a query read as url.URL.Query reads it, and the body kept as given.
func TestRawRequestAsWritten(t *testing.T) {
	body := []byte(`{"a":1}`)
	r := &ingress.RawRequest{
		Method: http.MethodPost,
		Target: "/Greeter/greet/send?x=1&delay=10s#frag",
		Header: http.Header{"idempotency-key": {"k-1"}, "ORIGIN": {"https://app.example"}},
		Body:   body,
	}
	req, derr := ingress.DecodeRaw(r, ingress.ServiceKinds{"Greeter": ingress.KindService})
	if derr != nil {
		t.Fatalf("DecodeRaw: %v", derr)
	}
	want := ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", IdempotencyKey: "k-1", Body: body, Delay: 10e9}
	if d := cmp.Diff(want, req); d != "" {
		t.Fatalf("decoded (-want +got):\n%s", d)
	}
	if got := r.WithCORS(ingress.Response{Status: 202}).AllowOrigin; got != "https://app.example" {
		t.Fatalf("WithCORS echoes origin %q", got)
	}

	// The same parts through net/http decode the same.
	hr, err := http.NewRequest(r.Method, "http://vigil.test"+r.Target, io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	req2, derr := ingress.Decode(hr, ingress.ServiceKinds{"Greeter": ingress.KindService})
	if derr != nil || !cmp.Equal(req, req2) {
		t.Fatalf("Decode of the same request: %+v, %v", req2, derr)
	}

	pre := &ingress.RawRequest{Method: http.MethodOptions, Target: "/Greeter/greet",
		Header: http.Header{"origin": {"https://app.example"}, "access-control-request-method": {"POST"}}}
	if resp, ok := pre.PreflightResponse(); !ok || resp.AllowOrigin != "https://app.example" {
		t.Fatalf("preflight: %+v, %v", resp, ok)
	}
	if !(&ingress.RawRequest{Method: http.MethodGet, Target: "/restate/health?probe=1"}).IsHealthRequest() {
		t.Fatal("the health probe is not recognised")
	}
	for _, r := range []*ingress.RawRequest{r, pre, {Method: http.MethodGet, Target: "/restate/health"}, {Method: http.MethodPost, Target: "/Nope/x"}} {
		checkTriage(t, r, ingress.ServiceKinds{"Greeter": ingress.KindService})
		checkFields(t, r, ingress.ServiceKinds{"Greeter": ingress.KindService})
	}
}

// TestRawRequestFields pins how Fields are read: as if added to Header after Header's own
// fields, each name filed as http.Header.Add files it (so case does not matter, but a name that
// Add would not canonicalize, one with a space, names nothing else).
func TestRawRequestFields(t *testing.T) {
	services := ingress.ServiceKinds{"Greeter": ingress.KindService}
	cases := []struct {
		name   string
		header http.Header
		fields []ingress.HeaderField
		want   string
	}{
		{"none", nil, nil, ""},
		{"canonical", nil, []ingress.HeaderField{{"Idempotency-Key", "a"}}, "a"},
		{"any case", nil, []ingress.HeaderField{{"iDEMPOTENCY-kEY", "a"}}, "a"},
		{"first wins", nil, []ingress.HeaderField{{"Origin", "o"}, {"idempotency-key", "a"}, {"Idempotency-Key", "b"}}, "a"},
		{"header first", http.Header{"Idempotency-Key": {"h"}}, []ingress.HeaderField{{"Idempotency-Key", "a"}}, "h"},
		{"not filed there", nil, []ingress.HeaderField{{"Idempotency Key", "a"}, {"Idempotency-Keys", "b"}}, ""},
	}
	for _, c := range cases {
		r := &ingress.RawRequest{Method: http.MethodPost, Target: "/Greeter/greet", Header: c.header, Fields: c.fields}
		req, derr := ingress.DecodeRaw(r, services)
		if derr != nil || req.IdempotencyKey != c.want {
			t.Errorf("%s: idempotency key %q (%v), want %q", c.name, req.IdempotencyKey, derr, c.want)
		}
		// The same fields added to a server's header decode the same.
		hr := &http.Request{Method: r.Method, URL: &url.URL{Path: "/Greeter/greet"}, Header: c.header.Clone()}
		if hr.Header == nil {
			hr.Header = http.Header{}
		}
		for _, f := range c.fields {
			hr.Header.Add(f.Name, f.Value)
		}
		if want, _ := ingress.Decode(hr, services); want.IdempotencyKey != req.IdempotencyKey {
			t.Errorf("%s: Decode reads key %q, DecodeRaw %q", c.name, want.IdempotencyKey, req.IdempotencyKey)
		}
	}
	pre := &ingress.RawRequest{Method: http.MethodOptions, Target: "/Greeter/greet",
		Fields: []ingress.HeaderField{{"origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}}}
	if resp, ok := pre.PreflightResponse(); !ok || resp.AllowOrigin != "https://app.example" {
		t.Fatalf("preflight from Fields: %+v, %v", resp, ok)
	}
	if got := pre.WithCORS(ingress.Response{Status: 200}).AllowOrigin; got != "https://app.example" {
		t.Fatalf("WithCORS from Fields echoes %q", got)
	}
}

// TestRawRequestRefusesBadEscape pins that a path that is not valid percent-encoding, which no
// server would have parsed into a request, is refused with 400 rather than guessed at.
func TestRawRequestRefusesBadEscape(t *testing.T) {
	_, derr := ingress.DecodeRaw(&ingress.RawRequest{Method: http.MethodPost, Target: "/Greeter/%zz"}, nil)
	if derr == nil || derr.Status != http.StatusBadRequest {
		t.Fatalf("got %v, want a 400", derr)
	}
}

// BenchmarkDecodeRaw is the simulator's decoding of a call with an idempotency key.
func BenchmarkDecodeRaw(b *testing.B) {
	services := ingress.ServiceKinds{"Approval": ingress.KindService}
	r := &ingress.RawRequest{Method: http.MethodPost, Target: "/Approval/requestHumanReview",
		Header: http.Header{"Idempotency-Key": {"submit-doc-1"}}, Body: []byte(`{"document":"doc-1"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, derr := ingress.DecodeRaw(r, services); derr != nil {
			b.Fatal(derr)
		}
	}
}
