package checkers

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestParseClientRequest reads every route, and the ways a path can be malformed around them:
// empty or badly escaped segments, too many or too few, and awakeable IDs that do not decode.
func TestParseClientRequest(t *testing.T) {
	services := map[string]*protocol.ServiceSpec{
		"svc": {Name: "svc", Kind: protocol.ServiceStateless, Handlers: []protocol.HandlerSpec{{Name: "h"}}},
		"obj": {Name: "obj", Kind: protocol.ServiceObject, Handlers: []protocol.HandlerSpec{{Name: "h"}}},
		"wf": {Name: "wf", Kind: protocol.ServiceWorkflow, Handlers: []protocol.HandlerSpec{
			{Name: "run", Kind: protocol.HandlerWorkflowRun}, {Name: "peek", Kind: protocol.HandlerShared}}},
	}
	awk := protocol.AwakeableID{Invocation: invA, Index: 3}.String()
	zeroAwk := protocol.AwakeableID{Index: 3}.String()
	shortAwk := protocol.AwakeablePrefix + "AAAAAAAAAAAAAAAAAAAAAQ" // 16 bytes: no index
	longAwk := protocol.AwakeablePrefix + strings.Repeat("AAAA", 20)
	// The decoder skips line breaks, so a long text can still be an ID of 20 bytes.
	brokenAwk := awk[:10] + strings.Repeat("\n", 40) + awk[10:]
	idem := []event.Header{{Name: "idempotency-key", Value: "k1"}}
	for _, tc := range []struct {
		method, path, body string
		header             []event.Header
		want               ParsedRequest
	}{
		{"POST", "/svc/h", `{"a":1}`, nil, ParsedRequest{Kind: RequestCall, Service: "svc", Handler: "h", Body: []byte(`{"a":1}`)}},
		{"POST", "/svc/h/send?x=1", "", idem, ParsedRequest{Kind: RequestSend, Service: "svc", Handler: "h", IdempotencyKey: "k1"}},
		{"POST", "/obj/k%2F1/h", "", nil, ParsedRequest{Kind: RequestCall, Service: "obj", Handler: "h", Key: "k/1"}},
		{"POST", "/obj/k/h/send", "", idem, ParsedRequest{Kind: RequestSend, Service: "obj", Handler: "h", Key: "k", IdempotencyKey: "k1"}},
		{"POST", "/wf/k/run", "", nil, ParsedRequest{Kind: RequestCall, Service: "wf", Handler: "run", Key: "k", Workflow: true}},
		{"POST", "/wf/k/peek", "", nil, ParsedRequest{Kind: RequestCall, Service: "wf", Handler: "peek", Key: "k"}},
		{"POST", "/svc/h", `{"a":`, nil, ParsedRequest{}},
		{"GET", "/svc/h", "", nil, ParsedRequest{}},
		{"POST", "/svc/x", "", nil, ParsedRequest{}},
		{"POST", "/nope/h", "", nil, ParsedRequest{}},
		{"POST", "/obj/h", "", nil, ParsedRequest{}},
		{"POST", "/svc/h/other", "", nil, ParsedRequest{}},
		{"POST", "/svc//h", "", nil, ParsedRequest{}},
		{"POST", "/svc/h/", "", nil, ParsedRequest{}},
		{"POST", "/svc/%zz", "", nil, ParsedRequest{}},
		{"POST", "svc/h", "", nil, ParsedRequest{}},
		{"POST", "/", "", nil, ParsedRequest{}},
		{"POST", "", "", nil, ParsedRequest{}},
		{"POST", "/restate/awakeables/" + awk + "/resolve", `"yes"`, nil, ParsedRequest{
			Kind: RequestResolve, Awakeable: Slot{invA, 3}, Result: val(`"yes"`), Body: []byte(`"yes"`)}},
		{"POST", "/restate/a/" + awk + "/resolve", "", nil, ParsedRequest{
			Kind: RequestResolve, Awakeable: Slot{invA, 3}, Result: val("null")}},
		{"POST", "/restate/awakeables/" + awk + "/reject", "no", nil, ParsedRequest{
			Kind: RequestReject, Awakeable: Slot{invA, 3}, Result: journal.Result{Failure: &journal.Failure{Code: 500, Message: "no"}}, Body: []byte("no")}},
		{"POST", "/restate/awakeables/" + awk + "/resolve", "not json", nil, ParsedRequest{}},
		{"POST", "/restate/awakeables/" + awk + "/other", "", nil, ParsedRequest{}},
		{"GET", "/restate/awakeables/" + awk + "/resolve", "", nil, ParsedRequest{}},
		{"POST", "/restate/awakeables/" + zeroAwk + "/resolve", "", nil, ParsedRequest{}},
		{"POST", "/restate/awakeables/" + shortAwk + "/resolve", "", nil, ParsedRequest{}},
		{"POST", "/restate/awakeables/" + longAwk + "/resolve", "", nil, ParsedRequest{}},
		{"POST", "/restate/awakeables/" + strings.ReplaceAll(brokenAwk, "\n", "%0A") + "/resolve", "", nil, ParsedRequest{
			Kind: RequestResolve, Awakeable: Slot{invA, 3}, Result: val("null")}},
		{"POST", "/restate/awakeables/sign_2" + awk[6:] + "/resolve", "", nil, ParsedRequest{}},
		{"POST", "/restate/awakeables/" + awk + "/resolve/x", "", nil, ParsedRequest{}},
		{"GET", "/restate/workflow/wf/k/attach", "", nil, ParsedRequest{Kind: RequestWorkflowAttach, Service: "wf", Key: "k", Workflow: true}},
		{"GET", "/restate/workflow/wf/k/output", "", nil, ParsedRequest{Kind: RequestWorkflowOutput, Service: "wf", Key: "k", Workflow: true}},
		{"GET", "/restate/workflow/obj/k/output", "", nil, ParsedRequest{}},
		{"GET", "/restate/workflow/wf/k/other", "", nil, ParsedRequest{}},
		{"GET", "/restate/invocation/" + invA.String() + "/attach", "", nil, ParsedRequest{Kind: RequestAttach, Invocation: invA}},
		{"GET", "/restate/invocation/" + invA.String() + "/output", "", nil, ParsedRequest{Kind: RequestOutput, Invocation: invA}},
		{"GET", "/restate/invocation/inv_zz/output", "", nil, ParsedRequest{}},
		{"PATCH", "/restate/invocation/" + invA.String() + "/cancel", "", nil, ParsedRequest{Kind: RequestCancel, Invocation: invA}},
		{"PATCH", "/restate/invocation/inv_zz/cancel", "", nil, ParsedRequest{}},
		{"GET", "/restate/invocation/svc/h/k1/attach", "", nil, ParsedRequest{Kind: RequestAttach, Service: "svc", Handler: "h", IdempotencyKey: "k1"}},
		{"GET", "/restate/invocation/obj/k/h/k%201/output", "", nil, ParsedRequest{Kind: RequestOutput, Service: "obj", Key: "k", Handler: "h", IdempotencyKey: "k 1"}},
		{"GET", "/restate/invocation/obj/k/h/k1/x/output", "", nil, ParsedRequest{}},
		{"GET", "/restate/invocation/obj/k/h/k1/x/y/output", "", nil, ParsedRequest{}},
		{"GET", "/restate/invocation/a/b/c/d/e/f/g/h/i/j/output", "", nil, ParsedRequest{}},
		{"GET", "/restate/other/x/attach", "", nil, ParsedRequest{}},
		{"GET", "/restate/invocation/x", "", nil, ParsedRequest{}},
	} {
		h := &event.HTTP{Method: tc.method, Path: tc.path, Header: tc.header}
		if tc.body != "" {
			h.Body = []byte(tc.body)
		}
		got := ParseClientRequest(h, services)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s %s: (-want +got)\n%s", tc.method, tc.path, d)
		}
	}
	if got := ParseClientRequest(nil, services); got.Kind != RequestInvalid {
		t.Errorf("nil request: %+v", got)
	}
}

// TestPlainJSONValue holds validJSON's short path to json.Valid: whatever it accepts is valid
// JSON in UTF-8, and the values it is for are accepted.
func TestPlainJSONValue(t *testing.T) {
	plain := []string{`""`, `"alice approves"`, `{"document":"doc-1"}`, `{"":""}`, `{"a":"b c"}`}
	for _, in := range plain {
		if !plainJSONValue([]byte(in)) {
			t.Errorf("%q: not taken as plain", in)
		}
	}
	others := []string{``, `"`, `"a`, `a"`, `"a"b"`, `"a\"b"`, "\"caf\xc3\xa9\"", "\"\xff\"", "\"a\tb\"", `{}`, `{"a":1}`,
		`{"a":"b","c":"d"}`, `{"a":"b"} `, ` "a"`, `{"a" :"b"}`, `{"a":"b}`, `{"a:"b"}`, `{"a""b"}`, `{""}`, `{":"}`,
		`{"a":"b"c"}`, `{"a\":"b"}`, `null`, `7`, `["a"]`, `{"a":"b"}}`, `{{"a":"b"}`}
	for _, in := range append(plain, others...) {
		if plainJSONValue([]byte(in)) && !json.Valid([]byte(in)) {
			t.Errorf("%q: taken as plain but not valid JSON", in)
		}
		if got, want := validJSON([]byte(in)), json.Valid([]byte(in)) && utf8.Valid([]byte(in)); got != want {
			t.Errorf("%q: validJSON %v, want %v", in, got, want)
		}
	}
}

// TestParseAwakeableDecodesAsBase64Does holds parseAwakeable, and its short decoder of the 27
// characters of an ID, to a reading with encoding/base64 alone: the same slot, or the same
// refusal, for IDs and texts near them (a character changed, added or dropped, a line break, a
// last character with bits past the 20 bytes).
func TestParseAwakeableDecodesAsBase64Does(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	char := rapid.OneOf(rapid.SampledFrom([]byte(alphabet)), rapid.SampledFrom([]byte("=+/\n\r .%\x00\xff")))
	rapid.Check(t, func(t *rapid.T) {
		var b []byte
		n := rapid.SampledFrom([]int{27, 27, 27, 27, 25, 26, 28, 29}).Draw(t, "len")
		for i := range n {
			switch {
			case rapid.IntRange(0, 60).Draw(t, "odd") == 0:
				b = append(b, char.Draw(t, "char"))
			case i == n-1 && rapid.Bool().Draw(t, "clean end"):
				// A last character that leaves no bits past the 20 bytes.
				b = append(b, rapid.SampledFrom([]byte("AEIMQUYcgkosw048")).Draw(t, "end"))
			default:
				b = append(b, rapid.SampledFrom([]byte(alphabet)).Draw(t, "plain"))
			}
		}
		text := string(b)
		want, wantOK := Slot{}, false
		if raw, err := base64.RawURLEncoding.Strict().DecodeString(text); err == nil && len(raw) == 20 {
			copy(want.Invocation[:], raw[:16])
			want.Index = binary.BigEndian.Uint32(raw[16:])
			wantOK = !want.Invocation.IsZero()
		}
		if !wantOK {
			want = Slot{}
		}
		got, ok := parseAwakeable(awakeablePrefix + text)
		if ok != wantOK || got != want {
			t.Fatalf("parseAwakeable(%q) = %v, %v; encoding/base64 reads %v, %v", text, got, ok, want, wantOK)
		}
		if fast, ok := decodeAwakeable20(text); ok {
			raw, err := base64.RawURLEncoding.Strict().DecodeString(text)
			if err != nil || string(raw) != string(fast[:]) {
				t.Fatalf("decodeAwakeable20(%q) = %x; encoding/base64 reads %x, %v", text, fast, raw, err)
			}
		}
	})
}
