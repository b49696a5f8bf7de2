package sim

import (
	"reflect"
	"testing"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// fillNonZero sets every field of v, recursively, to a value other than its zero: a number
// 7, a string "x", true, one element of each slice.
func fillNonZero(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.String:
		v.SetString("x")
	case reflect.Array:
		for i := range v.Len() {
			fillNonZero(t, v.Index(i))
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillNonZero(t, v.Index(0))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillNonZero(t, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			fillNonZero(t, v.Field(i))
		}
	default:
		t.Fatalf("fillNonZero: a %s field", v.Kind())
	}
}

// TestLinkEventKeepsLinkMessageOf holds the message linkEvent keeps, field by field through a
// pointer, to checkers.LinkMessageOf's reading of the message: a field the checkers come to
// read from the link log must be kept by both.
func TestLinkEventKeepsLinkMessageOf(t *testing.T) {
	var m protocol.Message
	fillNonZero(t, reflect.ValueOf(&m).Elem())
	for _, gated := range []bool{false, true} {
		m.Gated = gated
		w := &World{}
		w.linkEvent(checkers.LinkSent, "runtime", &m)
		if got, want := w.link[0].Message, checkers.LinkMessageOf(m); !reflect.DeepEqual(got, want) {
			t.Fatalf("linkEvent keeps %+v, LinkMessageOf reads %+v", got, want)
		}
	}
}
