package sim

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestReadPlainFailureAgreesWithEncodingJSON holds the client's reading of an error body to
// encoding/json's: ReadErrorBody reads every body as json.Unmarshal does, error or not, and
// wherever its fast path (readPlainFailure) takes a body, json.Unmarshal takes it too and reads
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
		b = mutateBody(t, b, " ", "\n", "}", "x", `,"code":1`)
		var slow ErrorBody
		slowErr := json.Unmarshal(b, &slow)
		// ReadErrorBody, fast path or not, reads what encoding/json reads, with its verdict.
		read, err := ReadErrorBody(b)
		assert.Equal(t, slow, read, "body %q", b)
		assert.Equal(t, slowErr == nil, err == nil, "body %q: error %v, encoding/json's %v", b, err, slowErr)
		fast, ok := readPlainFailure(b)
		if !ok {
			assert.Equal(t, ErrorBody{}, fast, "a body the fast path refuses reads as nothing")
			return
		}
		require.NoError(t, slowErr, "the fast path took %q", b)
		assert.Equal(t, slow, fast, "body %q", b)
	})
}

// TestReadErrorBodyOfAcceptedAgreesWithEncodingJSON holds ReadErrorBody to encoding/json on a
// 202's body, which the client also reads as an error body: the ingress's accepted shape with
// drawn strings (plain or not), cut, extended or with a byte changed.
func TestReadErrorBodyOfAcceptedAgreesWithEncodingJSON(t *testing.T) {
	text := rapid.OneOf(
		rapid.StringMatching(`[ -~]{0,12}`),
		rapid.String(),
		rapid.SampledFrom([]string{"", "inv_1abc", "Accepted", "PreviouslyAccepted", `a"b`, `a\b`, "\x00", "<&>"}),
	)
	rapid.Check(t, func(t *rapid.T) {
		b := []byte(`{"invocationId":"` + text.Draw(t, "id") + `","status":"` + text.Draw(t, "status") + `"}`)
		b = mutateBody(t, b, " ", "}", "x", `,"code":1`)
		var slow ErrorBody
		slowErr := json.Unmarshal(b, &slow)
		read, err := ReadErrorBody(b)
		assert.Equal(t, slow, read, "body %q", b)
		assert.Equal(t, slowErr == nil, err == nil, "body %q: error %v, encoding/json's %v", b, err, slowErr)
	})
}

// mutateBody returns b as drawn: unchanged, cut, extended by one of tails, or with a byte
// changed (b is not empty).
func mutateBody(t *rapid.T, b []byte, tails ...string) []byte {
	switch rapid.IntRange(0, 3).Draw(t, "mutation") {
	case 1:
		b = b[:rapid.IntRange(0, len(b)).Draw(t, "cut")]
	case 2:
		b = append(b, rapid.SampledFrom(tails).Draw(t, "tail")...)
	case 3:
		i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
		b[i] = rapid.Byte().Draw(t, "byte")
	}
	return b
}

// TestReadPlainFailureTakesTheIngressShape shows the fast paths taking the bodies the ingress
// writes for plain strings, so that they are not paths no body takes.
func TestReadPlainFailureTakesTheIngressShape(t *testing.T) {
	f, ok := readPlainFailure([]byte(`{"code":409,"message":"Cancelled","source":"invocation"}`))
	require.True(t, ok)
	assert.Equal(t, ErrorBody{Code: 409, Message: "Cancelled", Source: "invocation"}, f)
	f, ok = readPlainFailure([]byte(`{"code":0,"message":"","source":""}`))
	require.True(t, ok)
	assert.Equal(t, ErrorBody{}, f)
	for _, b := range []string{`{"code":65536,"message":"","source":""}`, `{"code":1,"message":"a\"b","source":""}`, `{"code":1,"message":"","source":""} `} {
		_, ok := readPlainFailure([]byte(b))
		assert.False(t, ok, b)
	}
	id, ok := readPlainAccepted([]byte(`{"invocationId":"inv_1abc","status":"Accepted"}`))
	require.True(t, ok)
	assert.Equal(t, "inv_1abc", string(id))
	for _, b := range []string{`{"invocationId":"a\"b","status":""}`, `{"invocationId":"a","status":""} `, `{"status":"","invocationId":"a"}`} {
		_, ok := readPlainAccepted([]byte(b))
		assert.False(t, ok, b)
	}
}

// TestReadAcceptedIDAgreesWithEncodingJSON: ReadAcceptedID reads the invocationId encoding/json
// reads, with its verdict, for the ingress's own bodies (read by its fast path) and bodies of
// every other shape; an empty body is an error, as it is to encoding/json.
func TestReadAcceptedIDAgreesWithEncodingJSON(t *testing.T) {
	str := rapid.OneOf(rapid.StringMatching(`[ -~]{0,12}`), rapid.String(),
		rapid.SampledFrom([]string{"inv_0123", "Accepted", `a"b`, `a\b`, "é", "\xff", `","status":"x`}))
	rapid.Check(t, func(t *rapid.T) {
		id, status := str.Draw(t, "id"), str.Draw(t, "status")
		for _, body := range [][]byte{
			[]byte(`{"invocationId":"` + id + `","status":"` + status + `"}`),
			[]byte(`{"invocationId":"` + id + `","status":"` + status + `","invocationId":"other"}`),
			[]byte(`{"status":"` + status + `","invocationId":"` + id + `"}`),
			[]byte(`{"invocationId":"` + id + `","status":"` + status + `"} `),
			[]byte(id),
		} {
			var want struct {
				InvocationID string `json:"invocationId"`
			}
			wantErr := json.Unmarshal(body, &want)
			got, err := ReadAcceptedID(body)
			assert.Equal(t, want.InvocationID, got, "body %q", body)
			assert.Equal(t, wantErr == nil, err == nil, "body %q: error %v, encoding/json's %v", body, err, wantErr)
		}
	})
}

// TestClientRoomKeepsWhatItHandsOut holds the client room to what the history needs of it: every
// text and body copy it handed out reads as it was written however much is written after it
// (more texts, more copies, new chunks), the two copies of a body are apart (writing or
// appending to one changes neither the other nor anything handed out later), and a nil body
// has nil copies while an empty one has empty ones that are not nil; every exchange it hands out
// is zero and apart from the others of its run, in a first run and in the runs of a recycled
// world after it (emptied). Texts and copies handed out in one run stay as they were through
// the next runs, which write after them in the same chunks.
func TestClientRoomKeepsWhatItHandsOut(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var room clientRoom
		for range rapid.IntRange(0, 3).Draw(t, "recycled runs") {
			taken := map[*exchange]bool{}
			for range rapid.IntRange(0, 20).Draw(t, "exchanges") {
				x := room.exchange()
				require.Zero(t, *x, "an exchange of a recycled world")
				require.False(t, taken[x], "an exchange handed out twice in a run")
				taken[x] = true
				x.client, x.reqNo, x.answered, x.rec.sent.Body = "c", 7, true, []byte("b")
			}
			room = room.emptied()
		}
		type copies struct{ want, first, second []byte }
		var texts, wantTexts []string
		var bodies []copies
		for range rapid.IntRange(1, 60).Draw(t, "n") {
			s := rapid.StringN(0, 700, -1).Draw(t, "text")
			start := room.reserve(len(s))
			room.text.WriteString(s)
			texts, wantTexts = append(texts, room.since(start)), append(wantTexts, s)
			b := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "body")
			if rapid.Bool().Draw(t, "nil") {
				b = nil
			}
			first, second := room.cloneTwice(b)
			require.Equal(t, b == nil, first == nil, "a copy of %q", b)
			require.Equal(t, b == nil, second == nil, "a copy of %q", b)
			bodies = append(bodies, copies{want: append([]byte(nil), b...), first: first, second: second})
			x := room.exchange()
			require.Zero(t, *x, "a fresh exchange")
			x.reqNo = 1
			if rapid.IntRange(0, 9).Draw(t, "recycle") == 0 {
				room = room.emptied()
			}
		}
		// The runtime's copy may be scribbled on and appended to, and so may the history's: what
		// else was handed out stays.
		for _, c := range bodies {
			for i := range c.first {
				c.first[i] ^= 0xff
			}
			_ = append(c.first, 'x')
			_ = append(c.second, 'y')
			for i := range c.first {
				c.first[i] ^= 0xff
			}
		}
		for i, s := range texts {
			require.Equal(t, wantTexts[i], s, "text %d", i)
		}
		for i, c := range bodies {
			require.Equal(t, string(c.want), string(c.first), "body %d's first copy", i)
			require.Equal(t, string(c.want), string(c.second), "body %d's second copy", i)
			require.Equal(t, len(c.first), cap(c.first), "body %d's first copy is capped", i)
			require.Equal(t, len(c.second), cap(c.second), "body %d's second copy is capped", i)
		}
	})
}
