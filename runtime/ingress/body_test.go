package ingress

import (
	"encoding/json"
	"testing"
	"unicode"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// TestBodiesWrittenByHandAreMarshals: the error and accepted bodies written by hand are byte for
// byte what encoding/json writes, for any strings (those it would escape take its way).
func TestBodiesWrittenByHandAreMarshals(t *testing.T) {
	str := rapid.OneOf(rapid.String(), rapid.StringOf(rapid.RuneFrom(nil, unicode.ASCII_Hex_Digit, unicode.Latin)),
		rapid.SampledFrom([]string{"", "inv_0123abcd", "Accepted", `a"b`, `a\b`, "<&>", "tab\t", "\x7f", "é", "\xff", "\u2028"}))
	rapid.Check(t, func(rt *rapid.T) {
		e := errorBody{Code: rapid.IntRange(-1000, 1000).Draw(rt, "code"), Message: str.Draw(rt, "message"), Source: str.Draw(rt, "source")}
		if got, want := string(e.json()), string(marshal(e)); got != want {
			rt.Fatalf("error body %q, want %q", got, want)
		}
		a := acceptedBody{InvocationID: str.Draw(rt, "id"), Status: str.Draw(rt, "status")}
		if got, want := string(a.json()), string(marshal(a)); got != want {
			rt.Fatalf("accepted body %q, want %q", got, want)
		}
	})
}

// TestSimpleJSONIsValidJSON: every body the fast path of checkJSON takes is valid JSON and valid
// UTF-8, for documents built from its shapes (strings, scalars, flat objects) and those cut,
// extended or with a byte changed; and it takes the bodies clients send most.
func TestSimpleJSONIsValidJSON(t *testing.T) {
	scalar := rapid.OneOf(
		rapid.Map(rapid.StringMatching(`[ -~]{0,8}`), func(s string) string { return `"` + s + `"` }),
		rapid.SampledFrom([]string{"0", "-0", "7", "-12", "01", "-", "1.5", "1e3", "true", "false", "null", "nul", `"\u00e9"`, `"é"`, "\"\xff\"", `"a\"b"`, `"\n"`}),
	)
	rapid.Check(t, func(rt *rapid.T) {
		var body string
		if rapid.Bool().Draw(rt, "object") {
			n := rapid.IntRange(0, 3).Draw(rt, "fields")
			body = "{"
			for i := range n {
				if i > 0 {
					body += rapid.SampledFrom([]string{",", ", ", ""}).Draw(rt, "comma")
				}
				body += scalar.Draw(rt, "key") + rapid.SampledFrom([]string{":", " :", ""}).Draw(rt, "colon") + scalar.Draw(rt, "value")
			}
			body += rapid.SampledFrom([]string{"}", "", "} ", "}}"}).Draw(rt, "close")
		} else {
			body = scalar.Draw(rt, "scalar")
		}
		b := []byte(body)
		switch rapid.IntRange(0, 3).Draw(rt, "mutation") {
		case 1:
			b = b[:rapid.IntRange(0, len(b)).Draw(rt, "cut")]
		case 2:
			b = append(b, rapid.SampledFrom([]string{" ", "}", "x", ",", `"`}).Draw(rt, "tail")...)
		case 3:
			if len(b) > 0 {
				b[rapid.IntRange(0, len(b)-1).Draw(rt, "at")] = rapid.Byte().Draw(rt, "byte")
			}
		}
		if simpleJSON(b) && !(json.Valid(b) && utf8.Valid(b)) {
			rt.Fatalf("simpleJSON takes %q, which is not valid JSON in UTF-8", b)
		}
	})
	for _, b := range []string{`{"document":"doc-3"}`, `"reviewer-2 approves"`, `{}`, `{"a":1,"b":true,"c":null}`, `42`} {
		if !simpleJSON([]byte(b)) {
			t.Errorf("simpleJSON refuses %s", b)
		}
	}
}
