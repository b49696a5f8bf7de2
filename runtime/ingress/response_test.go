package ingress

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResponseBuilders(t *testing.T) {
	cases := []struct {
		name string
		got  Response
		want Response
	}{
		{"error", ErrorResponse(470, "the invocation exists but has not completed yet"), Response{
			ErrorSource: "ingress", Status: 470, ContentType: "application/json",
			Body: []byte(`{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`),
		}},
		{"error keeps <>& readable", ErrorResponse(409, `a <b> & "c"`), Response{
			ErrorSource: "ingress", Status: 409, ContentType: "application/json",
			Body: []byte(`{"code":409,"message":"a <b> & \"c\"","source":"ingress"}`),
		}},
		{"Error.Response", (&Error{Status: 405, Message: "no", Allow: "GET"}).Response(), Response{
			ErrorSource: "ingress", Status: 405, ContentType: "application/json", Allow: "GET",
			Body: []byte(`{"code":405,"message":"no","source":"ingress"}`),
		}},
		{"output", OutputResponse(testInvID, []byte(`{"ok":true}`)), Response{
			Status: 200, ContentType: "application/json", Body: []byte(`{"ok":true}`), InvocationID: testInvID,
		}},
		{"empty output", OutputResponse(testInvID, nil), Response{Status: 200, InvocationID: testInvID}},
		{"failure with an HTTP code", FailureResponse(testInvID, 409, "Cancelled"), Response{
			ErrorSource: "invocation", Status: 409, ContentType: "application/json", InvocationID: testInvID,
			Body: []byte(`{"code":409,"message":"Cancelled","source":"invocation"}`),
		}},
		{"failure 599", FailureResponse(testInvID, 599, "x"), Response{
			ErrorSource: "invocation", Status: 599, ContentType: "application/json", InvocationID: testInvID,
			Body: []byte(`{"code":599,"message":"x","source":"invocation"}`),
		}},
		{"failure with a non-error code", FailureResponse(testInvID, 200, "odd"), Response{
			ErrorSource: "invocation", Status: 500, ContentType: "application/json", InvocationID: testInvID,
			Body: []byte(`{"code":200,"message":"odd","source":"invocation"}`),
		}},
		{"failure with a custom code", FailureResponse(testInvID, 4001, "domain error"), Response{
			ErrorSource: "invocation", Status: 500, ContentType: "application/json", InvocationID: testInvID,
			Body: []byte(`{"code":4001,"message":"domain error","source":"invocation"}`),
		}},
		{"failure code 399", FailureResponse(testInvID, 399, "x"), Response{
			ErrorSource: "invocation", Status: 500, ContentType: "application/json", InvocationID: testInvID,
			Body: []byte(`{"code":399,"message":"x","source":"invocation"}`),
		}},
		{"accepted", AcceptedResponse(testInvID, false), Response{
			Status: 202, ContentType: "application/json", InvocationID: testInvID,
			Body: []byte(`{"invocationId":"` + testInvID + `","status":"Accepted"}`),
		}},
		{"previously accepted", AcceptedResponse(testInvID, true), Response{
			Status: 202, ContentType: "application/json", InvocationID: testInvID,
			Body: []byte(`{"invocationId":"` + testInvID + `","status":"PreviouslyAccepted"}`),
		}},
		{"awakeable accepted", AwakeableAcceptedResponse(), Response{Status: 202}},
		{"workflow already invoked", WorkflowAlreadyInvokedResponse(), Response{
			ErrorSource: "ingress", Status: 409, ContentType: "application/json",
			Body: []byte(`{"code":409,"message":"the workflow method was already invoked","source":"ingress"}`),
		}},
		{"not ready", NotReadyResponse(), Response{
			ErrorSource: "ingress", Status: 470, ContentType: "application/json",
			Body: []byte(`{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.got); d != "" {
				t.Fatalf("mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Status: 404, Message: `no ingress route matches "/x"`}
	var err error = e
	if got, want := err.Error(), `ingress: 404 Not Found: no ingress route matches "/x"`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestEncode(t *testing.T) {
	cases := []struct {
		name       string
		resp       Response
		status     int
		body       string
		header     map[string]string // "" means the header must be absent
		noSniffing bool
	}{
		{
			name: "output with x-restate-id", resp: OutputResponse(testInvID, []byte(`"hi"`)),
			status: 200, body: `"hi"`,
			header: map[string]string{"x-restate-id": testInvID, "Content-Type": "application/json", "Content-Length": "4", "Allow": ""},
		},
		{
			name: "empty output", resp: OutputResponse(testInvID, nil), status: 200, body: "",
			header: map[string]string{"x-restate-id": testInvID, "Content-Type": "", "Content-Length": "0"},
		},
		{
			name: "error without id", resp: ErrorResponse(404, "nope"), status: 404,
			body:   `{"code":404,"message":"nope","source":"ingress"}`,
			header: map[string]string{"x-restate-id": "", "Content-Type": "application/json"},
		},
		{
			name: "405 with Allow", resp: (&Error{Status: 405, Message: "m", Allow: "POST"}).Response(), status: 405,
			body:   `{"code":405,"message":"m","source":"ingress"}`,
			header: map[string]string{"Allow": "POST"},
		},
		{
			name: "awakeable accepted", resp: AwakeableAcceptedResponse(), status: 202, body: "",
			header: map[string]string{"x-restate-id": "", "Content-Type": "", "Content-Length": "0"},
		},
		{
			name: "HTML body without content type is not sniffed", resp: Response{Status: 200, Body: []byte("<html>")},
			status: 200, body: "<html>", header: map[string]string{"Content-Type": ""},
		},
		{
			name: "zero response becomes 500", resp: Response{}, status: 500,
			body:   `{"code":500,"message":"ingress: invalid response status 0","source":"ingress"}`,
			header: map[string]string{"Content-Type": "application/json"},
		},
		{
			name: "informational status becomes 500", resp: Response{Status: 100}, status: 500,
			body: `{"code":500,"message":"ingress: invalid response status 100","source":"ingress"}`,
		},
		{
			name: "204 drops the body", resp: Response{Status: 204, Body: []byte("x")}, status: 204, body: "",
			header: map[string]string{"Content-Length": ""},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name+" (recorder)", func(t *testing.T) {
			rec := httptest.NewRecorder()
			Encode(rec, tc.resp)
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tc.status)
			}
			if got := rec.Body.String(); got != tc.body {
				t.Errorf("body = %q, want %q", got, tc.body)
			}
			for k, want := range tc.header {
				if got := res.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
		// Over a real connection too: net/http adds and sniffs headers that a recorder does not.
		t.Run(tc.name+" (wire)", func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { Encode(w, tc.resp) }))
			defer srv.Close()
			res, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body := readAll(t, res)
			if res.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tc.status)
			}
			if body != tc.body {
				t.Errorf("body = %q, want %q", body, tc.body)
			}
			for k, want := range tc.header {
				if k == "Content-Length" {
					continue // the client consumes it into res.ContentLength
				}
				if got := res.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// readAll reads a response body for a test.
func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return string(b)
}

func TestKindStrings(t *testing.T) {
	for k, want := range map[RequestKind]string{
		Call: "call", Send: "send", Attach: "attach", Output: "output", ResolveAwakeable: "resolve",
		RejectAwakeable: "reject", WorkflowOutput: "workflow-output", WorkflowAttach: "workflow-attach", 0: "request(0)",
	} {
		if got := k.String(); got != want {
			t.Errorf("RequestKind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
	for k, want := range map[ServiceKind]string{
		KindService: "service", KindObject: "virtual object", KindWorkflow: "workflow", 0: "kind(0)", 9: "kind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("ServiceKind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}
