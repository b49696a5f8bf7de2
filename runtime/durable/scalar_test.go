package durable

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeScalar checks that whatever decodeScalar takes it decodes exactly as encoding/json
// does, for strings, ints and bools.
func FuzzDecodeScalar(f *testing.F) {
	for _, s := range []string{`"doc-1"`, `""`, `"a\"b"`, `"\u00e9"`, "\"\xff\"", `"tab	"`, `0`, `-0`, `7`, `-12`, `01`, `1e3`, `1.0`,
		`123456789012345678`, `1234567890123456789`, `-`, ` 5`, `"`, `null`, `true`, `false`, `True`, `true `, `fals`, `[]`, `[""]`, `["a","b"]`, `["a",]`, `[,"a"]`, `["a" ,"b"]`, `[ ]`, `["a\"b"]`, `["a"]]`, `[["a"]`, `[null]`, `"~"`, "\"\x7f\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s, sj string
		if decodeScalar(b, &s) {
			if err := json.Unmarshal(b, &sj); err != nil || s != sj {
				t.Fatalf("string %q: decodeScalar %q, encoding/json %q (%v)", b, s, sj, err)
			}
		}
		var n, nj int
		if decodeScalar(b, &n) {
			if err := json.Unmarshal(b, &nj); err != nil || n != nj {
				t.Fatalf("int %q: decodeScalar %d, encoding/json %d (%v)", b, n, nj, err)
			}
		}
		var v, vj bool
		if decodeScalar(b, &v) {
			if err := json.Unmarshal(b, &vj); err != nil || v != vj {
				t.Fatalf("bool %q: decodeScalar %t, encoding/json %t (%v)", b, v, vj, err)
			}
		}
		var ls, lsj []string
		if decodeScalar(b, &ls) {
			if err := json.Unmarshal(b, &lsj); err != nil || !reflect.DeepEqual(ls, lsj) {
				t.Fatalf("[]string %q: decodeScalar %#v, encoding/json %#v (%v)", b, ls, lsj, err)
			}
		}
		var other float64
		if decodeScalar(b, &other) {
			t.Fatalf("decodeScalar took a %T", &other)
		}
	})
}

// TestDecodeScalarTakesThePlainOnes pins that the common spellings do take the fast path.
func TestDecodeScalarTakesThePlainOnes(t *testing.T) {
	var s string
	if !decodeScalar([]byte(`"approved: doc-1"`), &s) || s != "approved: doc-1" {
		t.Fatalf("string: %q", s)
	}
	var n int
	if !decodeScalar([]byte(`-4711`), &n) || n != -4711 {
		t.Fatalf("int: %d", n)
	}
	var v bool
	if !decodeScalar([]byte(`true`), &v) || !v || !decodeScalar([]byte(`false`), &v) || v {
		t.Fatalf("bool: %t", v)
	}
	if decodeScalar([]byte(`"a\nb"`), &s) || decodeScalar([]byte(`1e3`), &n) {
		t.Fatal("an escaped string or an exponent took the fast path")
	}
}

// FuzzEncode checks that encode writes the bytes json.Marshal writes, for strings, ints and bools.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"doc-1", "", "a\"b", "<b>&", "é", "\xff", "tab\t", "~", "\x7f"} {
		f.Add(s, int64(len(s)))
	}
	f.Add("", int64(-1<<62))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		for _, v := range []any{s, int(n), n%2 == 0, []string{s, s[:len(s)/2]}, []string{}, []string(nil)} {
			got, err := encode(v)
			want, werr := json.Marshal(v)
			if string(got) != string(want) || (err == nil) != (werr == nil) {
				t.Fatalf("encode(%#v) = %q, %v; json.Marshal = %q, %v", v, got, err, want, werr)
			}
		}
	})
}
