package vigiltest

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/sim"
)

// TestAcceptedIDReadsAsJSONDoes: acceptedID reads the invocationId encoding/json reads, for the
// runtime's own bodies (whose shape it reads by hand) and bodies of every other shape.
func TestAcceptedIDReadsAsJSONDoes(t *testing.T) {
	str := rapid.OneOf(rapid.StringMatching(`[ -~]{0,12}`), rapid.String(),
		rapid.SampledFrom([]string{"inv_0123", "Accepted", `a"b`, `a\b`, "é", "\xff", `","status":"x`}))
	rapid.Check(t, func(t *rapid.T) {
		id, status := str.Draw(t, "id"), str.Draw(t, "status")
		bodies := [][]byte{
			[]byte(`{"invocationId":"` + id + `","status":"` + status + `"}`),
			[]byte(`{"invocationId":"` + id + `","status":"` + status + `","invocationId":"other"}`),
			[]byte(`{"status":"` + status + `","invocationId":"` + id + `"}`),
			[]byte(`{"invocationId":"` + id + `","status":"` + status + `"} `),
			[]byte(id),
		}
		for _, body := range bodies {
			var want struct {
				InvocationID string `json:"invocationId"`
			}
			_ = json.Unmarshal(body, &want)
			// Whatever ID the reader already holds, the one read is the body's.
			for _, known := range []string{"", id, status, want.InvocationID} {
				if got := acceptedID(body, known); got != want.InvocationID {
					t.Fatalf("acceptedID(%q, %q) = %q, encoding/json reads %q", body, known, got, want.InvocationID)
				}
			}
		}
	})
}

// TestRawOutputDecodesAsJSONDoes: a json.RawMessage output read without encoding/json's decoder
// is the one it reads, errors included.
func TestRawOutputDecodesAsJSONDoes(t *testing.T) {
	samples := [][]byte{[]byte(`"a"`), []byte(" {\"k\": [1, 2]}\n"), []byte("null"), []byte("\t7\r\n"), []byte(`{"a":}`),
		[]byte(""), []byte(" "), []byte("\v1"), []byte("1\u00a0"), []byte("\u00851"), []byte(`"\u00e9"`),
		[]byte(`""`), []byte(`"`), []byte(`"a"b"`), []byte(`"a\"`), []byte("\"\x7f\""), []byte("\"\x1f\""), []byte(`"plain text"`)}
	body := rapid.OneOf(rapid.SliceOf(rapid.Byte()), rapid.SampledFrom(samples),
		rapid.Map(rapid.StringMatching(`[ \t\r\n]{0,2}[0-9"{}:\[\],a-z ]{0,8}[ \t\r\n\v]{0,2}`), func(s string) []byte { return []byte(s) }))
	rapid.Check(t, func(t *rapid.T) {
		b := body.Draw(t, "body")
		var want json.RawMessage
		wantErr := json.Unmarshal(b, &want)
		for _, rm := range []*room{nil, {bytes: make([]byte, 3)}} {
			got, gotErr := decodeOutput[json.RawMessage](rm, b)
			if (gotErr == nil) != (wantErr == nil) || string(got) != string(want) || (got == nil) != (want == nil) {
				t.Fatalf("decodeOutput(%q) = %q, %v; encoding/json %q, %v", b, got, gotErr, want, wantErr)
			}
		}
	})
}

// TestErrorBodyReadsAsJSONDoes: errorBodyOf reads what encoding/json reads, for the runtime's
// own error bodies (read by hand) and bodies of every other shape, malformed ones included.
func TestErrorBodyReadsAsJSONDoes(t *testing.T) {
	str := rapid.OneOf(rapid.StringMatching(`[ -~]{0,12}`), rapid.String(),
		rapid.SampledFrom([]string{"invocation", "ingress", "review system unavailable", `a"b`, `a\b`, "é", "\xff"}))
	code := rapid.OneOf(rapid.StringMatching(`[0-9]{1,6}`), rapid.SampledFrom([]string{"0", "00", "07", "-1", "65535", "65536", "1e3", "4.5", `"500"`}))
	rapid.Check(t, func(t *rapid.T) {
		c, m, s := code.Draw(t, "code"), str.Draw(t, "message"), str.Draw(t, "source")
		bodies := [][]byte{
			[]byte(`{"code":` + c + `,"message":"` + m + `","source":"` + s + `"}`),
			[]byte(`{"code":` + c + `,"message":"` + m + `","source":"` + s + `","code":1}`),
			[]byte(`{"message":"` + m + `","code":` + c + `,"source":"` + s + `"}`),
			[]byte(m),
		}
		for _, body := range bodies {
			var want sim.ErrorBody
			_ = json.Unmarshal(body, &want)
			for _, rm := range []*room{nil, {}} {
				if got := errorBodyOf(rm, body); got != want {
					t.Fatalf("errorBodyOf(%q) = %+v, encoding/json reads %+v", body, got, want)
				}
			}
		}
	})
}

// TestEncodeStringAsJSONDoes: a string input encoded without encoding/json's encoder is the
// bytes json.Marshal writes, for plain strings and every other kind.
func TestEncodeStringAsJSONDoes(t *testing.T) {
	str := rapid.OneOf(rapid.StringMatching(`[ -~]{0,12}`), rapid.String(),
		rapid.SampledFrom([]string{"", "reviewer-1 approves", `a"b`, `a\b`, "<&>", "\x00", "\x7f", "é", "\xff", "\u2028"}))
	rapid.Check(t, func(t *rapid.T) {
		s := str.Draw(t, "s")
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, rm := range []*room{nil, {bytes: make([]byte, 3)}} {
			if got := encode(rm, "resolve", "test", s); string(got) != string(want) {
				t.Fatalf("encode(%q) = %s, json.Marshal writes %s", s, got, want)
			}
		}
	})
}

// TestClientNamesAreTakenOnce holds Client and NumberedClient to one rule, whatever the order of
// calls: a name given once, by either, is refused (a panic) when either would give it again, and
// NumberedClient numbers its clients 1, 2, ... across kinds. The model is a set of every name
// given.
func TestClientNamesAreTakenOnce(t *testing.T) {
	kind := rapid.SampledFrom([]string{"a", "a-1", "b", "a-", "-", ""})
	name := rapid.OneOf(kind, rapid.SampledFrom([]string{"a-1", "a-2", "a-1-2", "a-01", "b-1", "b-2", "a-+1", "a--1", "-1", "a-0"}))
	rapid.Check(t, func(t *rapid.T) {
		s := &Sim{}
		taken := map[string]bool{}
		numbered := 0
		for range rapid.IntRange(1, 40).Draw(t, "calls") {
			if rapid.Bool().Draw(t, "numbered") {
				numbered++
				k := kind.Draw(t, "kind")
				want := k + "-" + strconv.Itoa(numbered)
				if taken[want] {
					require.Panics(t, func() { s.NumberedClient(k) }, "NumberedClient(%q) gives the taken %q", k, want)
					return // a panic leaves the run's names as they were only by chance: stop here
				}
				taken[want] = true
				require.Equal(t, want, s.NumberedClient(k).Name())
				continue
			}
			n := name.Draw(t, "name")
			if taken[n] {
				require.Panics(t, func() { s.Client(n) }, "Client(%q) after it was given", n)
				continue
			}
			taken[n] = true
			require.Equal(t, n, s.Client(n).Name())
		}
	})
}

// TestEncodeWritesAsJSONMarshalDoes holds encode's short paths to json.Marshal: a string, or a
// json.RawMessage of any shape (plain objects and strings, and others near them), encodes to the
// bytes json.Marshal writes.
func TestEncodeWritesAsJSONMarshalDoes(t *testing.T) {
	// Plain strings mostly, so that whole plain objects are drawn often, and near misses.
	str := rapid.OneOf(rapid.StringMatching(`[a-z]{0,5}`), rapid.StringMatching(`[a-z]{0,5}`),
		rapid.StringMatching(`[a-z<>&"\\ ]{0,4}`), rapid.String(),
		rapid.SampledFrom([]string{"", `a"b`, `a\b`, "<", ">", "&", "\u2028", "é", "\xff", "\x7f", "\x1f"}))
	raw := rapid.Custom(func(t *rapid.T) []byte {
		var b []byte
		if rapid.Bool().Draw(t, "string") {
			b = append(b, '"')
			b = append(b, str.Draw(t, "s")...)
			return append(b, '"')
		}
		b = append(b, '{')
		for i := range rapid.IntRange(0, 3).Draw(t, "members") {
			if i > 0 {
				b = append(b, rapid.SampledFrom([]string{",", ",", ",", ", ", ""}).Draw(t, "comma")...)
			}
			b = append(b, `"`+str.Draw(t, "name")+`"`+rapid.SampledFrom([]string{":", ":", ":", " : ", ""}).Draw(t, "colon")...)
			b = append(b, rapid.SampledFrom([]string{`"` + str.Draw(t, "value") + `"`, `"` + str.Draw(t, "value") + `"`, "1", "null", `""`}).Draw(t, "value")...)
		}
		return append(b, rapid.SampledFrom([]string{"}", "}", "}", " }", "}}", "", "},"}).Draw(t, "end")...)
	})
	rapid.Check(t, func(t *rapid.T) {
		var v any = str.Draw(t, "plain")
		if rapid.Bool().Draw(t, "raw") {
			v = json.RawMessage(raw.Draw(t, "raw"))
		}
		want, err := json.Marshal(v)
		if err != nil {
			require.Panics(t, func() { encode(nil, "test", "encode", v) }, "%q", v)
			return
		}
		require.Equal(t, string(want), string(encode(nil, "test", "encode", v)), "%q", v)
	})
}

// TestPathEscapeIsURLPathEscape holds the kit's segment escaping to url.PathEscape, for IDs, names
// and texts with every kind of byte.
func TestPathEscapeIsURLPathEscape(t *testing.T) {
	seg := rapid.OneOf(rapid.StringMatching(`[A-Za-z0-9_.~-]{0,30}`), rapid.StringMatching(`[ -~]{0,8}`), rapid.String(),
		rapid.SampledFrom([]string{"", "inv_1abc", "a/b", "a b", "%", "é", "\xff", "!", "$&+,:;=@", "?#"}))
	rapid.Check(t, func(t *rapid.T) {
		s := seg.Draw(t, "segment")
		require.Equal(t, url.PathEscape(s), pathEscape(s), "%q", s)
	})
}

// TestRoomHandsOutEachByteOnce: whatever a run's room hands out — texts, copies, fresh bytes —
// keeps what it was given while more is handed out and written, and a byte slice cannot grow
// into what follows it (its capacity is its length). The model is a copy of each, made apart.
func TestRoomHandsOutEachByteOnce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rm := &room{}
		var texts, textsWant []string
		var slices, slicesWant [][]byte
		for range rapid.IntRange(1, 60).Draw(t, "takes") {
			s := rapid.StringMatching(`[a-z]{0,700}`).Draw(t, "s")
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 0:
				texts, textsWant = append(texts, rm.join(s, "/", s)), append(textsWant, s+"/"+s)
			case 1:
				b := rm.bytesOf(s)
				slices, slicesWant = append(slices, b), append(slicesWant, []byte(s))
			case 2:
				b := rm.clone([]byte(s))
				slices, slicesWant = append(slices, b), append(slicesWant, []byte(s))
			case 3:
				b := rm.take(len(s))
				copy(b, s)
				slices, slicesWant = append(slices, b), append(slicesWant, []byte(s))
			}
			for i, b := range slices {
				if cap(b) != len(b) || b == nil {
					t.Fatalf("slice %d: len %d, cap %d, nil %v", i, len(b), cap(b), b == nil)
				}
				// Appending to one must leave every other as it was.
				_ = append(b, 'X')
			}
		}
		require.Equal(t, textsWant, texts)
		for i := range slices {
			require.Equal(t, string(slicesWant[i]), string(slices[i]), "slice %d", i)
		}
		require.Nil(t, rm.clone(nil), "a nil slice's copy is nil, as bytes.Clone's")
	})
}

// TestPathInKeepsNoStalePath: a target's path from the run's room, which keeps the last few it
// wrote, is the path written afresh, whatever targets and suffixes came before (the same ones
// again, ones alike but for a field, more than it keeps).
func TestPathInKeepsNoStalePath(t *testing.T) {
	seg := rapid.SampledFrom([]string{"", "a", "b", "a/b", "é", "Approval"})
	suffix := rapid.SampledFrom([]string{"", "/send", "/attach"})
	rapid.Check(t, func(t *rapid.T) {
		rm := &room{}
		for range rapid.IntRange(1, 40).Draw(t, "paths") {
			tg := Target{Service: seg.Draw(t, "service"), Key: seg.Draw(t, "key"), Handler: seg.Draw(t, "handler")}
			sfx := suffix.Draw(t, "suffix")
			if got, want := tg.pathIn(rm, sfx), tg.pathIn(nil, sfx); got != want {
				t.Fatalf("path of %+v%s from the room = %q, afresh %q", tg, sfx, got, want)
			}
		}
	})
}
