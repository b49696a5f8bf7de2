package durable

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// Struct types for the decodeObject properties: one field, as the approval input, and three
// under tags, a bare field name and a case-folding neighbour's reach.
type (
	objOne struct {
		Document string `json:"document"`
	}
	objThree struct {
		Name string
		Note string `json:"note,omitempty"`
		ID   string `json:"id"`
	}
)

// The pieces generated inputs are made of: the fields' names (drawn half the time), names that only fold to them or name
// nothing, values plain, escaped, non-ASCII or not strings at all, and what can break an object.
var (
	objectNames = []string{`"document"`, `"Name"`, `"note"`, `"id"`}
	objectKeys  = []string{`"document"`, `"Document"`, `"DOCUMENT"`, `"Name"`, `"name"`, `"note"`, `"id"`, `"ID"`,
		`"other"`, `""`, `"docu\u006dent"`, `document`}
	objectValues = []string{`"doc-1"`, `""`, `"a b"`, `"~"`, `"a\"b"`, `"\u0041"`, `"\\"`, `"é"`, "\"\x01\"",
		"\"\xff\"", "\"\x7f\"", `null`, `1`, `true`, `{}`, `"`}
	objectBreaks = []string{` `, `,`, `:`, `}`, `{`, `"`, "\n"}
)

// checkLikeJSON fails t unless what decodeObject makes of b, when it takes b, is what
// encoding/json makes of it; it reports whether decodeObject took b.
func checkLikeJSON[I any](t interface{ Fatalf(string, ...any) }, b []byte) bool {
	o := plainObjectOf(reflect.TypeFor[I]())
	if o == nil {
		t.Fatalf("%T is not a plain object type", *new(I))
	}
	var got, want I
	if !decodeObject(o, b, &got) {
		if !reflect.DeepEqual(got, *new(I)) {
			t.Fatalf("%q: decodeObject refused it but changed the value to %+v", b, got)
		}
		return false
	}
	if err := json.Unmarshal(b, &want); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decodeObject %+v, encoding/json %+v (%v)", b, got, want, err)
	}
	return true
}

// TestDecodeObjectDecodesAsJSON holds decodeObject to encoding/json on objects drawn from pieces
// that make plain objects often and near misses (folded keys, escapes, whitespace, nulls, broken
// punctuation) as often. (A planted bug that let escaped strings through failed it within 30 draws.)
func TestDecodeObjectDecodesAsJSON(t *testing.T) {
	took := 0
	key := rapid.OneOf(rapid.SampledFrom(objectNames), rapid.SampledFrom(objectKeys))
	rapid.Check(t, func(t *rapid.T) {
		// Mostly well-formed objects of drawn keys and values; now and then a piece of
		// punctuation dropped, or a break inserted.
		var parts []string
		parts = append(parts, "{")
		for i := range rapid.IntRange(0, 4).Draw(t, "fields") {
			if i > 0 {
				parts = append(parts, ",")
			}
			parts = append(parts, key.Draw(t, "key"), ":", rapid.SampledFrom(objectValues).Draw(t, "value"))
		}
		parts = append(parts, "}")
		for range rapid.IntRange(0, 2).Draw(t, "damages") {
			i := rapid.IntRange(0, len(parts)-1).Draw(t, "at")
			if rapid.Bool().Draw(t, "drop") {
				parts = slices.Delete(parts, i, i+1)
			} else {
				parts = slices.Insert(parts, i, rapid.SampledFrom(objectBreaks).Draw(t, "break"))
			}
		}
		var sb strings.Builder
		for _, p := range parts {
			sb.WriteString(p)
		}
		b := []byte(sb.String())
		if checkLikeJSON[objOne](t, b) {
			took++
		}
		if checkLikeJSON[objThree](t, b) {
			took++
		}
	})
	if took == 0 {
		t.Fatal("no generated input took the fast path")
	}
}

// FuzzDecodeObject is TestDecodeObjectDecodesAsJSON over any bytes.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"document":"doc-1"}`, `{"document":"a","document":"b"}`, `{"Document":"x"}`,
		`{"document":"doc-1",}`, `{"document" :"x"}`, `{"id":"1","Name":"n","note":""}`, `{"name":"n"}`, `{"document":null}`,
		`{"document":"x"}}`, `{"document":"x"`, `{"document":"\u00e9"}`, `{"other":"x"}`, `[]`, `{"document":"x"} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkLikeJSON[objOne](t, b)
		checkLikeJSON[objThree](t, b)
	})
}

// TestDecodeObjectTakesThePlainOnes pins that the inputs the scenarios send take the fast path.
func TestDecodeObjectTakesThePlainOnes(t *testing.T) {
	for _, s := range []string{`{"document":"doc-1"}`, `{}`, `{"id":"7","Name":"a b","note":"~"}`} {
		var one objOne
		var three objThree
		if !decodeObject(plainObjectOf(reflect.TypeFor[objOne]()), []byte(s), &one) &&
			!decodeObject(plainObjectOf(reflect.TypeFor[objThree]()), []byte(s), &three) {
			t.Errorf("%s did not take the fast path", s)
		}
	}
}

// selfDecoding decodes itself; decodeObject must leave it to encoding/json.
type selfDecoding struct{ A string }

func (s *selfDecoding) UnmarshalJSON([]byte) error { s.A = "mine"; return nil }

// TestPlainObjectOfRefuses lists the struct types whose decoding encoding/json must keep.
func TestPlainObjectOfRefuses(t *testing.T) {
	type named string
	type inner struct{ A string }
	for _, typ := range []reflect.Type{
		reflect.TypeFor[string](),
		reflect.TypeFor[struct{}](),
		reflect.TypeFor[struct{ N int }](),
		reflect.TypeFor[struct{ a string }](),
		reflect.TypeFor[struct{ inner }](),
		reflect.TypeFor[struct {
			A string `json:"-"`
		}](),
		reflect.TypeFor[struct {
			A string `json:"a,string"`
		}](),
		reflect.TypeFor[struct {
			A string `json:"x"`
			B string `json:"X"`
		}](),
		reflect.TypeFor[struct {
			A string `json:"é"`
		}](),
		reflect.TypeFor[struct{ P *string }](),
		reflect.TypeFor[selfDecoding](),
		reflect.TypeFor[struct{ S selfDecodingString }](),
		reflect.TypeFor[struct{ N json.Number }](),
	} {
		if plainObjectOf(typ) != nil {
			t.Errorf("%v was taken as a plain object", typ)
		}
	}
	if plainObjectOf(reflect.TypeFor[struct{ A named }]()) == nil {
		t.Error("a struct of a named string type was refused")
	}
}

// selfDecodingString is a string type that decodes itself.
type selfDecodingString string

func (s *selfDecodingString) UnmarshalText([]byte) error { *s = "mine"; return nil }
