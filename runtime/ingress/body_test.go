package ingress

import (
	"testing"
	"unicode"

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
