package durable

import "strconv"

// decodeScalar decodes b into v without encoding/json when v is a *string or an *int and b is
// JSON's plainest spelling of one: a string of printable ASCII without escapes, or an integer
// without sign other than '-', leading zeros, fraction or exponent, short enough to fit. Such a
// value decodes to the same Go value either way, and handler code reads one at nearly every
// durable call, on its coroutine, where encoding/json's reflection is slow and its deep stack
// grows the coroutine's. It reports false, having changed nothing, for anything else.
func decodeScalar(b []byte, v any) bool {
	switch p := v.(type) {
	case *string:
		if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
			return false
		}
		body := b[1 : len(b)-1]
		for _, c := range body {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
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
	}
	return false
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
