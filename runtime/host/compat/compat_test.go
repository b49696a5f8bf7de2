package compat_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestateClient drives the host with Restate's official ingress client and asserts every
// check of the script's main suite: values, error statuses and bodies, and the routes and
// headers the client used.
func TestRestateClient(t *testing.T) {
	requireNode(t)
	th := startHost(t)
	order, lines := runScript(t, th, "main")
	assertChecks(t, order, lines, mainChecks)
}

// TestRestateClientGaps holds the checks where Vigil does not yet answer as Restate's client
// expects. Each fails until the fix named on it lands in runtime/ingress or runtime/engine.
func TestRestateClientGaps(t *testing.T) {
	requireNode(t)
	th := startHost(t)
	order, lines := runScript(t, th, "gaps")
	assertChecks(t, order, lines, gapChecks)
}

// assertChecks runs want's assertion on each line, as a subtest named after the check, and
// requires that the script printed exactly the checks in want.
func assertChecks(t *testing.T, order []string, lines map[string]checkLine, want map[string]func(*testing.T, checkLine)) {
	t.Helper()
	var names []string
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	got := slices.Clone(order)
	slices.Sort(got)
	require.Equal(t, names, got, "the checks the script printed")
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			l := lines[name]
			want[name](t, l)
			if t.Failed() {
				b, _ := json.MarshalIndent(l, "", "  ")
				t.Logf("the script's line:\n%s", b)
			}
		})
	}
}

// Route patterns the client must use.
var (
	resolveRoute = regexp.MustCompile(`^/restate/a/sign_1[A-Za-z0-9_-]+/resolve$`)
	rejectRoute  = regexp.MustCompile(`^/restate/a/sign_1[A-Za-z0-9_-]+/reject$`)
	attachRoute  = regexp.MustCompile(`^/restate/invocation/inv_[0-9a-f]+/attach$`)
	invocationID = regexp.MustCompile(`^inv_[0-9a-f]+$`)
)

// mainChecks are the assertions of the main suite, by check name.
var mainChecks = map[string]func(*testing.T, checkLine){
	"service-call-resolved": func(t *testing.T, l checkLine) {
		wantValue(t, l, `"review of doc-1: Looks good!"`)
		call := wantRequest(t, l, "POST", "/Approval/requestHumanReview")
		assert.Equal(t, "1", call.Headers["x-restateclient-retry-attempt"], "the client numbers its attempts")
		assert.Regexp(t, invocationID, call.InvocationID, "x-restate-id on the call's answer")
		r := wantRequestMatching(t, l, "POST", resolveRoute)
		assert.Equal(t, 202, r.Status)
		assert.Equal(t, "application/json", r.Headers["content-type"])
	},
	"service-call-rejected": func(t *testing.T, l checkLine) {
		wantError(t, l, 500, 500, "invocation", "Review rejected: insufficient documentation")
		r := wantRequestMatching(t, l, "POST", rejectRoute)
		assert.Equal(t, 202, r.Status)
		assert.Equal(t, "text/plain", r.Headers["content-type"])
	},
	"generic-call": func(t *testing.T, l checkLine) {
		wantValue(t, l, `{"n":1,"s":"x"}`)
		wantRequest(t, l, "POST", "/Echo/echo")
	},
	"call-no-parameter": func(t *testing.T, l checkLine) {
		// The client sends an empty body; Echo gets no input and answers null.
		wantValue(t, l, `null`)
	},
	"object-call": func(t *testing.T, l checkLine) {
		wantValue(t, l, `{"a":1,"b":2,"view":{"entries":["e1","e2"]}}`)
		// The client percent-encodes the key; the slash stays inside it.
		wantRequest(t, l, "POST", "/Ledger/acct%2F1/append")
		wantRequest(t, l, "POST", "/Ledger/acct%2F1/read")
	},
	"send-result": func(t *testing.T, l checkLine) {
		wantSendResult(t, l, `"hi"`, "Accepted", true)
		send := wantRequest(t, l, "POST", "/Echo/echo/send")
		assert.Equal(t, "send-1", send.Headers["idempotency-key"])
		assert.Equal(t, 202, send.Status)
		wantRequestMatching(t, l, "GET", attachRoute)
	},
	"generic-send-result": func(t *testing.T, l checkLine) {
		wantSendResult(t, l, `"generic"`, "Accepted", true)
		wantRequest(t, l, "POST", "/Echo/echo/send")
		wantRequestMatching(t, l, "GET", attachRoute)
	},
	"attach-without-idempotency-key": func(t *testing.T, l checkLine) {
		wantSendResult(t, l, `"plain"`, "Accepted", false)
	},
	"idempotent-call": func(t *testing.T, l checkLine) {
		// The key is scoped per service and handler; the body is not compared.
		wantValue(t, l, `{"first":"first","second":"first","generic":"first"}`)
		require.Len(t, l.Requests, 3)
		for _, r := range l.Requests {
			assert.Equal(t, "call-1", r.Headers["idempotency-key"])
			assert.Equal(t, l.Requests[0].InvocationID, r.InvocationID, "one invocation answers every call")
		}
	},
	"idempotent-send": func(t *testing.T, l checkLine) {
		var v struct {
			First, Second sendResponse
			Result        json.RawMessage
		}
		decodeValue(t, l, &v)
		assert.Equal(t, "Accepted", v.First.Status)
		assert.Equal(t, "PreviouslyAccepted", v.Second.Status)
		assert.Equal(t, v.First.InvocationID, v.Second.InvocationID)
		assert.JSONEq(t, `"one"`, string(v.Result), "the second send's input is dropped")
	},
	"awakeable-resolve": func(t *testing.T, l checkLine) {
		var v struct{ ID, Result string }
		decodeValue(t, l, &v)
		assert.Equal(t, "held-1 held for audit, released: ok", v.Result)
		assert.Regexp(t, regexp.MustCompile(`^sign_1`), v.ID)
		wantRequest(t, l, "POST", "/Ledger/held-1/hold/send")
		wantRequest(t, l, "POST", "/restate/a/"+v.ID+"/resolve")
	},
	"awakeable-resolve-suspended": func(t *testing.T, l checkLine) {
		wantValue(t, l, `"held-2 held for night, released: after a night"`)
	},
	"awakeable-resolve-wrong-type": func(t *testing.T, l checkLine) {
		wantError(t, l, 500, 500, "invocation", "decode awakeable")
	},
	"awakeable-reject": func(t *testing.T, l checkLine) {
		wantError(t, l, 500, 500, "invocation", "denied by policy")
		wantRequestMatching(t, l, "POST", rejectRoute)
	},
	"awakeable-complete-again": func(t *testing.T, l checkLine) {
		// Both late completions are accepted and dropped; the rejection stands.
		wantError(t, l, 500, 500, "invocation", "denied by policy")
		assert.Equal(t, 202, wantRequestMatching(t, l, "POST", resolveRoute).Status)
		assert.Equal(t, 202, wantRequestMatching(t, l, "POST", rejectRoute).Status)
	},
	"awakeable-malformed-id": func(t *testing.T, l checkLine) {
		wantError(t, l, 400, 400, "ingress", "sign_1notanid")
	},
	"workflow-attach-unknown": func(t *testing.T, l checkLine) {
		wantError(t, l, 404, 404, "ingress", "")
		wantRequest(t, l, "GET", "/restate/workflow/ReviewWorkflow/never-started/attach")
	},
	"workflow-output-unknown": func(t *testing.T, l checkLine) {
		wantError(t, l, 404, 404, "ingress", "")
		wantRequest(t, l, "GET", "/restate/workflow/ReviewWorkflow/never-started/output")
	},
	"workflow-submit": func(t *testing.T, l checkLine) {
		var v sendResponse
		decodeValue(t, l, &v)
		assert.Equal(t, "Accepted", v.Status)
		assert.True(t, v.Attachable)
		assert.Regexp(t, invocationID, v.InvocationID)
		wantRequest(t, l, "POST", "/ReviewWorkflow/wf-1/run/send")
	},
	"workflow-submit-again": func(t *testing.T, l checkLine) {
		var v sendResponse
		decodeValue(t, l, &v)
		assert.Equal(t, "PreviouslyAccepted", v.Status)
	},
	"workflow-output-pending": func(t *testing.T, l checkLine) {
		// 470 is what the client turns into {ready: false}.
		wantValue(t, l, `{"ready":false}`)
		assert.Equal(t, 470, wantRequest(t, l, "GET", "/restate/workflow/ReviewWorkflow/wf-1/output").Status)
	},
	"workflow-run-again": func(t *testing.T, l checkLine) {
		wantError(t, l, 409, 409, "ingress", "the workflow method was already invoked")
		wantRequest(t, l, "POST", "/ReviewWorkflow/wf-1/run")
	},
	"workflow-submit-review": func(t *testing.T, l checkLine) {
		wantValue(t, l, `"review submitted"`)
		wantRequest(t, l, "POST", "/ReviewWorkflow/wf-1/submitReview")
	},
	"workflow-attach": func(t *testing.T, l checkLine) {
		wantValue(t, l, `"document doc-w reviewed: LGTM"`)
		assert.Regexp(t, invocationID, wantRequest(t, l, "GET", "/restate/workflow/ReviewWorkflow/wf-1/attach").InvocationID)
	},
	"workflow-output": func(t *testing.T, l checkLine) {
		wantValue(t, l, `{"ready":true,"result":"document doc-w reviewed: LGTM"}`)
	},
	"workflow-result-by-id": func(t *testing.T, l checkLine) {
		wantValue(t, l, `"document doc-w reviewed: LGTM"`)
		wantRequestMatching(t, l, "GET", attachRoute)
	},
	"workflow-submit-review-again": func(t *testing.T, l checkLine) {
		wantError(t, l, 409, 409, "invocation", "promise was already completed")
	},
	"unknown-service": func(t *testing.T, l checkLine) {
		wantError(t, l, 404, 404, "ingress", "service 'NoSuchService' not found")
	},
	"handler-terminal-error": func(t *testing.T, l checkLine) {
		wantError(t, l, 400, 400, "invocation", "milliseconds must not be negative")
	},
}

// gapChecks are the assertions of the gaps suite: what Restate's client needs and Vigil does
// not do yet.
var gapChecks = map[string]func(*testing.T, checkLine){
	// Restate (since restatedev/restate#5173) sends x-restate-error-source on every error
	// answer, and the client's retry policy (defaultShouldRetry in dist/retry.js) never
	// retries one marked "invocation". Vigil writes the source only into the body, so a
	// client with retries enabled re-sends an idempotent call, an attach or a workflow
	// attach whose invocation failed terminally with a 5xx, up to maxAttempts times.
	"terminal-failure-not-retried": func(t *testing.T, l checkLine) {
		wantError(t, l, 500, 500, "invocation", "denied")
		require.NotEmpty(t, l.Requests)
		assert.Equal(t, "invocation", l.Requests[0].ErrorSource, "x-restate-error-source on a terminal failure")
		assert.Len(t, l.Requests, 1, "the client retried a terminal failure")
	},
	// The client asks for a delayed send with /send?delay=1500ms; Restate schedules the
	// invocation that far ahead. Vigil ignores the query and runs it at once.
	"delayed-send": func(t *testing.T, l checkLine) {
		var v struct {
			Result    string
			ElapsedMs int
		}
		decodeValue(t, l, &v)
		assert.Equal(t, "later", v.Result)
		wantRequest(t, l, "POST", "/Echo/echo/send?delay=1500ms")
		assert.GreaterOrEqual(t, v.ElapsedMs, 1400, "the invocation ran before its delay")
	},
}

// sendResponse is what the client returns for a send: the 202 body plus its own flag.
type sendResponse struct {
	InvocationID string `json:"invocationId"`
	Status       string `json:"status"`
	Attachable   bool   `json:"attachable"`
}

// wantSendResult asserts a {send, result} value.
func wantSendResult(t *testing.T, l checkLine, result, status string, attachable bool) {
	t.Helper()
	var v struct {
		Send   sendResponse
		Result json.RawMessage
	}
	decodeValue(t, l, &v)
	assert.Regexp(t, invocationID, v.Send.InvocationID)
	assert.Equal(t, status, v.Send.Status)
	assert.Equal(t, attachable, v.Send.Attachable)
	assert.JSONEq(t, result, string(v.Result))
}

// decodeValue requires that the check returned a value and decodes it into v.
func decodeValue(t *testing.T, l checkLine, v any) {
	t.Helper()
	require.Nil(t, l.Error, "the check failed")
	require.NoError(t, json.Unmarshal(l.Value, v))
}

// wantValue requires that the check returned the JSON value want.
func wantValue(t *testing.T, l checkLine, want string) {
	t.Helper()
	require.Nil(t, l.Error, "the check failed")
	assert.JSONEq(t, want, string(l.Value))
}

// wantError requires that the check failed with an HTTP error of status whose body is
// Restate's {"code", "message", "source"} with code and source, the message containing msg.
func wantError(t *testing.T, l checkLine, status, code int, source, msg string) {
	t.Helper()
	require.NotNil(t, l.Error, "the check succeeded with %s", l.Value)
	require.Empty(t, l.Error.Message, "the check failed without an HTTP error")
	assert.Equal(t, status, l.Error.Status)
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Source  string `json:"source"`
	}
	require.NoError(t, json.Unmarshal(l.Error.Body, &body), "error body %s", l.Error.Body)
	assert.Equal(t, code, body.Code)
	assert.Equal(t, source, body.Source)
	assert.True(t, strings.Contains(body.Message, msg), "message %q does not contain %q", body.Message, msg)
}

// wantRequest requires that the client sent method path during the check and returns it.
func wantRequest(t *testing.T, l checkLine, method, path string) request {
	t.Helper()
	for _, r := range l.Requests {
		if r.Method == method && r.Path == path {
			return r
		}
	}
	require.Failf(t, "request not sent", "the client did not send %s %s", method, path)
	return request{}
}

// wantRequestMatching requires that the client sent method to a path matching re during the
// check and returns the first such request.
func wantRequestMatching(t *testing.T, l checkLine, method string, re *regexp.Regexp) request {
	t.Helper()
	for _, r := range l.Requests {
		if r.Method == method && re.MatchString(r.Path) {
			return r
		}
	}
	require.Failf(t, "request not sent", "the client did not send %s %s", method, re)
	return request{}
}
