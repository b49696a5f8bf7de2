package event

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// nonZero returns a value of type t that differs from its zero value, for every type an Event
// holds. A field of a new type makes the test fail here until it is taught the type, which is
// the point: a new field must be thought about.
func nonZero(t *testing.T, typ reflect.Type) reflect.Value {
	v := reflect.New(typ).Elem()
	switch typ {
	case reflect.TypeFor[journal.Entry]():
		return reflect.ValueOf(journal.Entry{Kind: journal.KindRun, Name: "x"})
	case reflect.TypeFor[journal.Result]():
		return reflect.ValueOf(journal.Result{Value: []byte("7")})
	case reflect.TypeFor[protocol.InvocationID]():
		return reflect.ValueOf(protocol.InvocationID{15: 9})
	case reflect.TypeFor[Header]():
		return reflect.ValueOf(Header{Name: "X-A", Value: "b"})
	case reflect.TypeFor[*protocol.ServiceSpec]():
		return reflect.ValueOf(&protocol.ServiceSpec{Name: "S"})
	}
	switch typ.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(7 * time.Second))
	case reflect.Uint8, reflect.Uint32, reflect.Uint64:
		v.SetUint(3)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Slice:
		v = reflect.MakeSlice(typ, 1, 1)
		v.Index(0).Set(nonZero(t, typ.Elem()))
	case reflect.Pointer:
		v = reflect.New(typ.Elem())
	default:
		t.Fatalf("nonZero: teach the test the type %s", typ)
	}
	return v
}

// variants returns, for each field path of Event (HTTP's and Runtime's own fields included), an
// event that differs from base in that field only.
func variants(t *testing.T, base Event) map[string]Event {
	out := map[string]Event{}
	et := reflect.TypeFor[Event]()
	for i := range et.NumField() {
		f := et.Field(i)
		if f.Type == reflect.TypeFor[*HTTP]() {
			ht := reflect.TypeFor[HTTP]()
			for j := range ht.NumField() {
				e := base
				h := HTTP{}
				reflect.ValueOf(&h).Elem().Field(j).Set(nonZero(t, ht.Field(j).Type))
				e.HTTP = &h
				out[f.Name+"."+ht.Field(j).Name] = e
			}
			continue
		}
		if f.Type == reflect.TypeFor[*Runtime]() {
			rt := reflect.TypeFor[Runtime]()
			for j := range rt.NumField() {
				e := base
				r := Runtime{}
				reflect.ValueOf(&r).Elem().Field(j).Set(nonZero(t, rt.Field(j).Type))
				e.Runtime = &r
				out[f.Name+"."+rt.Field(j).Name] = e
			}
			continue
		}
		e := base
		reflect.ValueOf(&e).Elem().Field(i).Set(nonZero(t, f.Type))
		out[f.Name] = e
	}
	return out
}

// TestEveryFieldIsHashedAndPrinted fails when a field of Event (or of HTTP) is added but left
// out of Hash, or out of String for every kind: a field the hash misses lets two different runs
// look the same, and one the printer misses is invisible to whoever reads a failing trace.
func TestEveryFieldIsHashedAndPrinted(t *testing.T) {
	for name := range variants(t, Event{Kind: AttemptStarted}) {
		hashed, printed := true, false
		for _, k := range Kinds() {
			base := Event{Kind: k, HTTP: &HTTP{}, Runtime: &Runtime{}}
			if name == "Kind" {
				continue
			}
			e := variants(t, base)[name]
			if Hash(&History{Events: []Event{base}}) == Hash(&History{Events: []Event{e}}) {
				hashed = false
			}
			if base.String() != e.String() {
				printed = true
			}
		}
		if !hashed {
			t.Errorf("field %s does not reach the hash for every kind", name)
		}
		if !printed && name != "Kind" {
			t.Errorf("field %s is printed for no kind", name)
		}
	}
}

// TestKindsAreNamed fails when a kind has no name in traces.
func TestKindsAreNamed(t *testing.T) {
	seen := map[string]Kind{}
	for _, k := range Kinds() {
		n := k.String()
		if n == "" || n[0] == 'e' && len(n) > 6 && n[:6] == "event(" {
			t.Errorf("kind %d has no name", k)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("kinds %d and %d are both named %q", other, k, n)
		}
		seen[n] = k
	}
}

func TestHeaderGet(t *testing.T) {
	h := &HTTP{Header: []Header{{"idempotency-key", "a"}, {"Idempotency-Key", "b"}}}
	if v, ok := h.Get("Idempotency-Key"); !ok || v != "a" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if _, ok := (*HTTP)(nil).Get("x"); ok {
		t.Fatal("a nil exchange has no headers")
	}
}
