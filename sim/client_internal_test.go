package sim

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestReadPlainFailureAgreesWithEncodingJSON holds the client's fast reading of an error body to
// encoding/json's: wherever readPlainFailure takes a body, json.Unmarshal takes it too and reads
// the same fields. The bodies are the ingress's shape with drawn codes and strings (plain or not),
// and that shape cut, extended or with a byte changed.
func TestReadPlainFailureAgreesWithEncodingJSON(t *testing.T) {
	text := rapid.OneOf(
		rapid.StringMatching(`[ -~]{0,12}`),
		rapid.String(),
		rapid.SampledFrom([]string{"", "invocation", "ingress", `a"b`, `a\b`, "\x00", "é", "\xff", "<&>"}),
	)
	code := rapid.OneOf(
		rapid.Custom(func(t *rapid.T) string { return strconv.Itoa(rapid.IntRange(0, 70000).Draw(t, "n")) }),
		rapid.SampledFrom([]string{"", "0", "00", "01", "-1", "-0", "1.0", "1e3", "65535", "65536", " 1", "1 ", "99999", "100000"}),
	)
	rapid.Check(t, func(t *rapid.T) {
		body := `{"code":` + code.Draw(t, "code") + `,"message":"` + text.Draw(t, "message") + `","source":"` + text.Draw(t, "source") + `"}`
		b := []byte(body)
		switch rapid.IntRange(0, 3).Draw(t, "mutation") {
		case 1:
			b = b[:rapid.IntRange(0, len(b)).Draw(t, "cut")]
		case 2:
			b = append(b, rapid.SampledFrom([]string{" ", "\n", "}", "x", `,"code":1`}).Draw(t, "tail")...)
		case 3:
			i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
			b[i] = rapid.Byte().Draw(t, "byte")
		}
		var fast failureBody
		if !readPlainFailure(b, &fast) {
			assert.Equal(t, failureBody{}, fast, "a body the fast path refuses leaves the struct alone")
			return
		}
		var slow failureBody
		require.NoError(t, json.Unmarshal(b, &slow), "the fast path took %q", b)
		assert.Equal(t, slow, fast, "body %q", b)
	})
}

// TestReadPlainFailureTakesTheIngressShape shows the fast path taking the bodies the ingress
// writes for plain strings, so that it is not a path no body takes.
func TestReadPlainFailureTakesTheIngressShape(t *testing.T) {
	var f failureBody
	require.True(t, readPlainFailure([]byte(`{"code":409,"message":"Cancelled","source":"invocation"}`), &f))
	assert.Equal(t, failureBody{Code: 409, Message: "Cancelled", Source: "invocation"}, f)
	require.True(t, readPlainFailure([]byte(`{"code":0,"message":"","source":""}`), &f))
	assert.Equal(t, failureBody{}, f)
	for _, b := range []string{`{"code":65536,"message":"","source":""}`, `{"code":1,"message":"a\"b","source":""}`, `{"code":1,"message":"","source":""} `} {
		assert.False(t, readPlainFailure([]byte(b), &f), b)
	}
}
