package durable

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type plainInput struct {
	Document string  `json:"document"`
	Count    int     `json:"count"`
	Ratio    float64 `json:"ratio"`
	Tags     [2]string
	Inner    struct{ OK bool }
	hidden   uint8
}

// hidden is never set: it is there to show that an unexported field does not make a type
// unshareable.
var _ = plainInput{}.hidden

type textInput struct{ s string }

func (t *textInput) UnmarshalText(b []byte) error { t.s = "text:" + string(b); return nil }

type jsonInput string

func (j *jsonInput) UnmarshalJSON(b []byte) error { *j = jsonInput("json:" + string(b)); return nil }

type withEmbeddedDecoder struct {
	jsonInput
	Name string
}

// TestShareableInput pins which input types inputs remembers: plain data only.
func TestShareableInput(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{"", true}, {0, true}, {int8(0), true}, {uint64(0), true}, {0.5, true}, {false, true},
		{plainInput{}, true}, {[3]int{}, true}, {struct{}{}, true}, {json.Number(""), true},
		{[]string{}, false}, {map[string]int{}, false}, {new(int), false}, {(*any)(nil), false},
		{struct{ P *int }{}, false}, {struct{ S []byte }{}, false}, {[1][]int{}, false},
		{textInput{}, false}, {jsonInput(""), false}, {withEmbeddedDecoder{}, false},
		{struct{ T time.Time }{}, false}, {json.RawMessage{}, false}, {complex64(0), false},
	} {
		typ := reflect.TypeOf(tc.v)
		if p, ok := tc.v.(*any); ok && p == nil {
			typ = reflect.TypeFor[any]()
		}
		assert.Equal(t, tc.want, shareableInput(typ), "%v", typ)
	}
}

// TestRememberedInputsDecodeAsJSONDoes prepares the same inputs over and over, in turns, and
// checks that every call gets exactly what encoding/json makes of the bytes, errors included
// (an input that fails to decode is never remembered).
func TestRememberedInputsDecodeAsJSONDoes(t *testing.T) {
	h := NewServiceHandler(func(Context, plainInput) (string, error) { return "", nil }).(typedHandler[Context, plainInput, string])
	require.NotNil(t, h.inputs)
	ins := []string{
		`{"document":"doc-1"}`, `{"document":"doc-2","count":3,"ratio":0.25}`, `{"document":"d\u00e9","Tags":["a","b"],"Inner":{"OK":true}}`,
		`{"document":"x","document":"y"}`, `{"count":"three"}`, `{`, `{"DOCUMENT":"upper"}`, `null`, `{"hidden":7}`,
	}
	for round := range 3 {
		for _, in := range ins {
			var want plainInput
			wantErr := json.Unmarshal([]byte(in), &want)
			p, err := h.Prepare([]byte(in))
			if wantErr != nil {
				require.Error(t, err, "round %d input %s", round, in)
				continue
			}
			require.NoError(t, err, "round %d input %s", round, in)
			assert.Equal(t, want, p.(*typedCall[Context, plainInput, string]).in, "round %d input %s", round, in)
		}
	}
	assert.Len(t, h.inputs.decoded, 7, "every input that decoded is remembered")
}

// TestInputsWithPointersAreNotShared: a handler that changes its input's slice must not change
// what the next call of the same input gets.
func TestInputsWithPointersAreNotShared(t *testing.T) {
	var seen []string
	h := NewServiceHandler(func(_ Context, in struct{ Items []string }) (string, error) {
		seen = append(seen, in.Items[0])
		in.Items[0] = "changed"
		return "", nil
	})
	rt := Runtime(nil)
	for range 2 {
		p, err := h.Prepare([]byte(`{"Items":["a"]}`))
		require.NoError(t, err)
		require.NoError(t, p.Run(rt))
	}
	assert.Equal(t, []string{"a", "a"}, seen)
	assert.Nil(t, h.(typedHandler[Context, struct{ Items []string }, string]).inputs)
}

// TestInputsAreBounded: at most maxRememberedInputs inputs, none longer than
// maxRememberedInputBytes, and still the right value after the memory was cleared.
func TestInputsAreBounded(t *testing.T) {
	c := &inputs[plainInput]{}
	for i := range 3 * maxRememberedInputs {
		in := fmt.Sprintf(`{"count":%d}`, i)
		c.put([]byte(in), plainInput{Count: i})
		require.LessOrEqual(t, len(c.decoded), maxRememberedInputs)
		var got plainInput
		require.True(t, c.get([]byte(in), &got))
		require.Equal(t, i, got.Count)
	}
	long := []byte(`{"document":"` + strings.Repeat("x", maxRememberedInputBytes) + `"}`)
	c.put(long, plainInput{Document: "x"})
	var got plainInput
	assert.False(t, c.get(long, &got))
	var none *inputs[plainInput]
	none.put([]byte(`{}`), plainInput{})
	assert.False(t, none.get([]byte(`{}`), &got), "a nil memory remembers nothing")
}

// TestInputsUnderConcurrentAttempts: attempts on several goroutines, as the production host runs
// them, prepare inputs through one memory (run with -race).
func TestInputsUnderConcurrentAttempts(t *testing.T) {
	h := NewServiceHandler(func(Context, plainInput) (string, error) { return "", nil })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				n := (g*7 + i) % (2 * maxRememberedInputs)
				p, err := h.Prepare(fmt.Appendf(nil, `{"count":%d}`, n))
				if err != nil || p.(*typedCall[Context, plainInput, string]).in.Count != n {
					t.Errorf("input %d: %v", n, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestPrepareReusing: a call is made in the memory of a spare of the same types whose input type
// decodes without program code, and then holds nothing of the earlier call (its input is the new
// one, its output unset); a spare of other types, or of an input type that is not plain data, is
// left alone and a new call made.
func TestPrepareReusing(t *testing.T) {
	fn := func(_ Context, in plainInput) (string, error) { return in.Document + "!", nil }
	h := NewServiceHandler(fn)
	first, err := h.Prepare([]byte(`{"document":"one","count":2,"Tags":["a","b"]}`))
	require.NoError(t, err)
	require.NoError(t, first.Run(nil))
	out, err := first.Output()
	require.NoError(t, err)
	require.Equal(t, `"one!"`, string(out))

	again, err := NewServiceHandler(fn).PrepareReusing([]byte(`{"document":"two"}`), first)
	require.NoError(t, err)
	require.Same(t, first.(*typedCall[Context, plainInput, string]), again.(*typedCall[Context, plainInput, string]), "the spare is reused")
	assert.Equal(t, plainInput{Document: "two"}, again.(*typedCall[Context, plainInput, string]).in)
	out, err = again.Output()
	require.NoError(t, err)
	assert.Equal(t, `""`, string(out), "the earlier call's output is gone")

	other, err := NewServiceHandler(func(Context, plainInput) (int, error) { return 0, nil }).PrepareReusing([]byte(`{}`), again)
	require.NoError(t, err)
	assert.NotSame(t, again, other, "a spare of other types is not reused")

	type withSlice struct{ Items []string }
	plain := NewServiceHandler(func(Context, withSlice) (string, error) { return "", nil })
	spare, err := plain.Prepare([]byte(`{"Items":["a"]}`))
	require.NoError(t, err)
	fresh, err := plain.PrepareReusing([]byte(`{"Items":["b"]}`), spare)
	require.NoError(t, err)
	assert.NotSame(t, spare, fresh, "a call of an input type that is not plain data is not reused")
	assert.Equal(t, []string{"a"}, spare.(*typedCall[Context, withSlice, string]).in.Items)
}
