package durable

import (
	"encoding/json"
	"reflect"
	"strings"
)

// plainObject describes a struct type whose JSON objects decodeObject reads without
// encoding/json: a handler's input is most often such a struct of strings ({"document":"doc-1"}),
// decoded on every attempt's first run, where encoding/json's reflection and validation cost
// several thousand instructions for twenty bytes.
//
// Only the plainest objects and types are taken, those for which encoding/json's result is plain
// to state: a struct of exported, non-embedded string fields, none with a method of its own for
// decoding nor a json.Number (which takes only numbers), each under a distinct name; an object
// without whitespace whose keys are exactly those names and whose values are strings of
// printable ASCII without escapes. encoding/json sets each such key's field (an exact name is
// matched before a case-folded one) to the string's bytes, in the order of the keys, and leaves
// the other fields zero, as decodeObject does. Anything else is left to encoding/json.
type plainObject struct {
	// names are the JSON names of the struct's fields, in field order.
	names []string
}

// maxPlainFields bounds the fields of a struct plainObjectOf takes: decodeObject looks a key up
// by a scan of the names.
const maxPlainFields = 8

// plainObjectOf returns the description of t, or nil when decodeObject cannot take t.
func plainObjectOf(t reflect.Type) *plainObject {
	if t.Kind() != reflect.Struct || t.NumField() == 0 || t.NumField() > maxPlainFields || decodesItself(t) {
		return nil
	}
	o := &plainObject{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous || !f.IsExported() || f.Type.Kind() != reflect.String || decodesItself(f.Type) || f.Type == numberType {
			return nil
		}
		name, ok := plainFieldName(f)
		if !ok {
			return nil
		}
		for _, other := range o.names {
			if strings.EqualFold(other, name) {
				return nil // encoding/json drops or prefers between such fields; leave it to it
			}
		}
		o.names = append(o.names, name)
	}
	return o
}

// numberType is json.Number, a string type that encoding/json fills only with a valid number.
var numberType = reflect.TypeFor[json.Number]()

// decodesItself reports whether values of t decode through a method of their own.
func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType)
}

// plainFieldName returns the JSON name of field f: its tag's name, or the field's own. It reports
// false for a tag that does more than name the field (",string", "-") and for names of anything
// but ASCII letters, digits and '_', whose matching encoding/json might fold otherwise.
func plainFieldName(f reflect.StructField) (string, bool) {
	name := f.Name
	if tag, ok := f.Tag.Lookup("json"); ok {
		tagName, opts, _ := strings.Cut(tag, ",")
		for opt := range strings.SplitSeq(opts, ",") {
			if opt != "" && opt != "omitempty" && opt != "omitzero" {
				return "", false
			}
		}
		if tagName == "-" {
			return "", false
		}
		if tagName != "" {
			name = tagName
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return "", false
		}
	}
	return name, true
}

// decodeObject decodes input into *v, which must be the zero value of the type o describes, and
// reports true when input is an object decodeObject takes (see plainObject); otherwise it
// reports false and leaves *v as it was.
func decodeObject[I any](o *plainObject, input []byte, v *I) bool {
	if o == nil || !o.scan(input, reflect.Value{}) {
		return false
	}
	o.scan(input, reflect.ValueOf(v).Elem())
	return true
}

// scan reads input as an object of plain strings under o's names and reports whether it is one.
// With a valid v (the struct) it also sets each key's field, as it goes: callers scan once
// without, so that a rejected input changes nothing.
func (o *plainObject) scan(b []byte, v reflect.Value) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	i := 1
	if b[i] == '}' {
		return i == len(b)-1
	}
	for {
		key, next, ok := plainString(b, i)
		if !ok {
			return false
		}
		field := o.field(key)
		if field < 0 || next >= len(b) || b[next] != ':' {
			return false
		}
		value, next, ok := plainString(b, next+1)
		if !ok || next >= len(b) {
			return false
		}
		if v.IsValid() {
			v.Field(field).SetString(string(value))
		}
		switch {
		case b[next] == ',':
			i = next + 1
		case b[next] == '}' && next == len(b)-1:
			return true
		default:
			return false
		}
	}
}

// field returns the index of the field named exactly key, or -1.
func (o *plainObject) field(key []byte) int {
	for i, n := range o.names {
		if string(key) == n {
			return i
		}
	}
	return -1
}

// plainString reads the JSON string at b[i]: it returns its bytes and the index after it, and
// false when b[i] starts no string or the string has an escape, a control character or a byte
// outside printable ASCII.
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case jsonBytes[c]&decodesPlain == 0:
			return nil, 0, false
		}
	}
	return nil, 0, false
}
