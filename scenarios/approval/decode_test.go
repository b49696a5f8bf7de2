package approval

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDecodersAgreeWithJSON holds the short paths of expectedOutput's decoders and encoder to
// encoding/json's own results, errors included, on plain values and on every kind of value the
// short paths must hand over.
func TestDecodersAgreeWithJSON(t *testing.T) {
	inputs := []string{
		`"alice approves"`, `""`, `"a\"b"`, `"a\\b"`, `"\u0041"`, `"caf\u00e9"`, "\"caf\xc3\xa9\"", "\"\xff\"", `"<b>&"`,
		` "x"`, `"x" `, `null`, `7`, `0`, `07`, `-3`, `1e2`, `7.0`, `123456789012345678`, `1234567890123456789012`,
		`{"document":"doc-1"}`, `{"document":"doc-1","document":"doc-2"}`, `{"Document":"doc-1"}`, `{"document":"a\"b"}`,
		`{"document":"doc-1"} `, `{"document":7}`, `{}`, `{"document":"doc-1"`, `"unterminated`, ``, `"tab	"`,
		`{"code":409,"message":"Cancelled","source":"invocation"}`, `{"code":500,"message":"bob rejects doc-1: x"}`,
		`{"code":0,"message":""}`, `{"code":07,"message":"x"}`, `{"code":65535,"message":"x"}`, `{"code":65536,"message":"x"}`,
		`{"code":409,"message":"a\"b"}`, `{"code":409,"message":"x","source":"a\"b"}`, `{"code":409,"message":"x","other":"y"}`,
		`{"code":409,"message":"x"} `, `{"code":409,"message":"x","source":"y"`, `{"code":-1,"message":"x"}`, `{"code":1e2,"message":"x"}`,
		`{"code":409,"message":"x","source":"y"}}`, `{"code":409,"message":"x"}}`, `{"code":409}`, `{"message":"x","code":409}`,
		"{\"code\":409,\"message\":\"caf\xc3\xa9\"}", `{"code":409,"message":"x","source":"y","source":"z"}`,
	}
	for _, in := range inputs {
		var s string
		errS := json.Unmarshal([]byte(in), &s)
		got, err := decodeString([]byte(in))
		require.Equal(t, s, got, "string %q", in)
		require.Equal(t, errS == nil, err == nil, "string %q", in)

		var n int
		errN := json.Unmarshal([]byte(in), &n)
		gotN, err := decodeTicket([]byte(in))
		require.Equal(t, n, gotN, "int %q", in)
		require.Equal(t, errN == nil, err == nil, "int %q", in)

		var req Request
		errR := json.Unmarshal([]byte(in), &req)
		gotD, err := decodeDocument([]byte(in))
		require.Equal(t, req.Document, gotD, "request %q", in)
		require.Equal(t, errR == nil, err == nil, "request %q", in)

		var fb failureBody
		_ = json.Unmarshal([]byte(in), &fb)
		code, msg := decodeFailure([]byte(in))
		require.Equal(t, fb, failureBody{code, msg}, "failure %q", in)

		want, _ := json.Marshal(in)
		require.Equal(t, string(want), string(encodeString(in)), "encode %q", in)
	}
}
