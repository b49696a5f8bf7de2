package durable

import (
	"encoding/json"
	"strconv"
)

// decodeScalar decodes b into v without encoding/json when v is a *string, an *int, a *bool or
// a *[]string and b is JSON's plainest spelling of one: a string of printable ASCII without
// escapes, an integer without sign other than '-', leading zeros, fraction or exponent, short
// enough to fit, exactly true or false, or an array of such strings without spaces. Such a
// value decodes to the same Go value either way, and
// handler code reads one at nearly every durable call, on its coroutine, where encoding/json's
// reflection is slow and its deep stack grows the coroutine's. It reports false, having changed
// nothing, for anything else.
func decodeScalar(b []byte, v any) bool {
	switch p := v.(type) {
	case *string:
		if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
			return false
		}
		body := b[1 : len(b)-1]
		for _, c := range body {
			if jsonBytes[c]&decodesPlain == 0 {
				return false
			}
		}
		*p = string(body)
		return true
	case *int:
		n, ok := plainInt(b)
		if ok {
			*p = n
		}
		return ok
	case *[]string:
		ss, ok := plainStrings(b)
		if ok {
			*p = ss
		}
		return ok
	case *bool:
		switch string(b) {
		case "true":
			*p = true
			return true
		case "false":
			*p = false
			return true
		}
	}
	return false
}

// plainStrings reads a JSON array of plain strings (see decodeScalar) as json.Marshal writes it,
// without spaces: [] is an empty slice, not nil, as encoding/json makes it. The strings share
// one allocation, a copy of b.
func plainStrings(b []byte) ([]string, bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	body := b[1 : len(b)-1]
	n := 0
	for i := 0; i < len(body); {
		end, ok := plainStringEnd(body, i)
		if !ok {
			return nil, false
		}
		n++
		if end == len(body) {
			break
		}
		if body[end] != ',' || end+1 == len(body) {
			return nil, false
		}
		i = end + 1
	}
	ss := make([]string, 0, n)
	text := string(body)
	for i := 0; i < len(text); {
		end, _ := plainStringEnd(body, i)
		ss = append(ss, text[i+1:end-1])
		i = end + 1
	}
	return ss, true
}

// plainStringEnd reads the plain JSON string that starts at b[i] and returns the index just past
// its closing quote.
func plainStringEnd(b []byte, i int) (int, bool) {
	if b[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case jsonBytes[c]&decodesPlain == 0:
			return 0, false
		}
	}
	return 0, false
}

// plainInt reads a JSON integer with at most as many digits as always fit in an int.
func plainInt(b []byte) (int, bool) {
	digits := b
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		digits = b[1:]
	}
	maxDigits := 18 // every 18-digit number fits in 64 bits
	if strconv.IntSize == 32 {
		maxDigits = 9
	}
	if len(digits) == 0 || len(digits) > maxDigits || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// encode is json.Marshal, without encoding/json for a string of printable ASCII that JSON
// neither escapes nor, as encoding/json does for HTML, rewrites (no '"', '\\', '<', '>', '&'),
// for an int or a bool, and for a slice of such strings: the same bytes, made on the handler's
// coroutine at most durable calls. It is generic so that a value handed to it is not moved to
// the heap to become an interface value: only the fallback to encoding/json boxes v.
func encode[T any](v T) ([]byte, error) {
	switch x := any(v).(type) {
	case string:
		for i := 0; i < len(x); i++ {
			if jsonBytes[x[i]]&encodesPlain == 0 {
				return json.Marshal(v)
			}
		}
		b := make([]byte, 0, len(x)+2)
		b = append(b, '"')
		b = append(b, x...)
		return append(b, '"'), nil
	case int:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case bool:
		return strconv.AppendBool(nil, x), nil
	case []string:
		if b, ok := encodeStrings(x); ok {
			return b, nil
		}
	}
	return json.Marshal(v)
}

// encodeStrings writes ss as json.Marshal does (null for nil) when every string is one encode
// writes as it is; ok is false otherwise.
func encodeStrings(ss []string) (b []byte, ok bool) {
	if ss == nil {
		return []byte("null"), true
	}
	size := 2
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			if jsonBytes[s[i]]&encodesPlain == 0 {
				return nil, false
			}
		}
		size += len(s) + 3
	}
	b = make([]byte, 0, size)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	return append(b, ']'), true
}

// jsonBytes says of each byte how JSON strings treat it (decodesPlain, encodesPlain): a table,
// so that the scalar paths test each byte of a string with one load rather than seven
// comparisons.
var jsonBytes = func() (t [256]uint8) {
	for c := 0x20; c < 0x7f; c++ {
		switch c {
		case '"', '\\':
		case '<', '>', '&':
			t[c] = decodesPlain
		default:
			t[c] = decodesPlain | encodesPlain
		}
	}
	return t
}()

// The bits of jsonBytes.
const (
	// decodesPlain marks a byte that stands for itself inside a JSON string: printable ASCII
	// other than '"' and '\\'.
	decodesPlain = 1 << iota
	// encodesPlain marks a byte that json.Marshal writes as it is inside a string: one that
	// decodes plain and is not '<', '>' or '&', which it escapes for HTML.
	encodesPlain
)
