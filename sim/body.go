package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
)

// The simulated client and the vigiltest kit both read the bodies the ingress writes: an error's
// {"code","message","source"} and a 202's {"invocationId","status"}. They read them here, with
// one reader each, so that the two cannot come to disagree. Each takes the exact shape the
// ingress writes for plain strings without encoding/json (decoding with it was a third of what
// reading responses cost) and hands any other body to encoding/json, so that what they read is
// what json.Unmarshal reads.

// ErrorBody is the body of an error response, as the ingress writes it.
type ErrorBody struct {
	Code    uint16 `json:"code"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

// ReadErrorBody reads b as json.Unmarshal reads it into an ErrorBody, with its error: a malformed
// body is read as far as encoding/json reads it.
func ReadErrorBody(b []byte) (ErrorBody, error) {
	if body, ok := readPlainFailure(b); ok {
		return body, nil
	}
	// A 202's body, which the client reads as an error body too when it looks for an
	// invocation's failure, has none of ErrorBody's fields (encoding/json matches names without
	// regard to case, and none of its names is one of them): json.Unmarshal reads it as the zero
	// ErrorBody without an error.
	if _, ok := readPlainAccepted(b); ok {
		return ErrorBody{}, nil
	}
	// Declared here, not above: its address goes to encoding/json, which moves it to the heap,
	// and only a body the fast path refused should pay for that.
	var body ErrorBody
	err := json.Unmarshal(b, &body)
	return body, err
}

// errNoBody is ReadAcceptedID's error for an empty body, made once: it is the 202 of an
// awakeable's resolution, on every such request.
var errNoBody = errors.New("empty body: no JSON")

// ReadAcceptedID reads the invocationId of a 202's body as json.Unmarshal reads it, with its
// error; an empty body (an awakeable's 202 has none) is "" and an error, without asking
// encoding/json.
func ReadAcceptedID(b []byte) (string, error) {
	if len(b) == 0 {
		return "", errNoBody
	}
	if id, ok := readPlainAccepted(b); ok {
		return string(id), nil
	}
	var acc struct {
		InvocationID string `json:"invocationId"`
	}
	err := json.Unmarshal(b, &acc)
	return acc.InvocationID, err
}

// ReadAcceptedIDAs is ReadAcceptedID for a reader that already holds known, the ID the answer
// names elsewhere (its x-restate-id): when the body's ID is that text, it returns known instead
// of a new string of the same bytes.
func ReadAcceptedIDAs(b []byte, known string) (string, error) {
	if id, ok := readPlainAccepted(b); ok && known != "" && string(id) == known {
		return known, nil
	}
	return ReadAcceptedID(b)
}

// readPlainFailure reads b as json.Unmarshal does, when b has exactly the shape the ingress writes
// for an error whose strings need no escaping: {"code":N,"message":"...","source":"..."} with N
// a decimal uint16 and the strings printable ASCII other than '"' and '\\'. It reports false for
// any other body.
func readPlainFailure(b []byte) (ErrorBody, bool) {
	code, message, source, ok := PlainErrorBody(b)
	if !ok {
		return ErrorBody{}, false
	}
	return ErrorBody{Code: code, Message: string(message), Source: source}, true
}

// PlainErrorBody reads b as ReadErrorBody does when b has exactly the shape the ingress writes
// for an error whose strings need no escaping (see readPlainFailure), with the message as b's
// own bytes, for a reader that keeps them where it keeps its texts; ok is false for any other
// body, which only ReadErrorBody reads.
func PlainErrorBody(b []byte) (code uint16, message []byte, source string, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"code":`))
	if !ok {
		return 0, nil, "", false
	}
	code, rest, ok = plainUint16(rest)
	if !ok {
		return 0, nil, "", false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"message":"`)); !ok {
		return 0, nil, "", false
	}
	message, rest, ok = plainString(rest)
	if !ok {
		return 0, nil, "", false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"source":"`)); !ok {
		return 0, nil, "", false
	}
	src, rest, ok := plainString(rest)
	if !ok || string(rest) != "}" {
		return 0, nil, "", false
	}
	return code, message, sourceOf(src), true
}

// readPlainAccepted reads b when it has exactly the shape the ingress writes for a 202,
// {"invocationId":"...","status":"..."} with plain strings (see plainString), and returns the
// ID's bytes within b (only a reader that keeps the ID makes a string of it); it reports false
// for any other body.
func readPlainAccepted(b []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"invocationId":"`))
	if !ok {
		return nil, false
	}
	id, rest, ok := plainString(rest)
	if !ok {
		return nil, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"status":"`)); !ok {
		return nil, false
	}
	if _, rest, ok = plainString(rest); !ok || string(rest) != "}" {
		return nil, false
	}
	return id, true
}

// sourceOf is string(b), without an allocation for the two sources the ingress writes.
func sourceOf(b []byte) string {
	switch string(b) {
	case "invocation":
		return "invocation"
	case "ingress":
		return "ingress"
	}
	return string(b)
}

// plainUint16 reads a JSON number at the start of b that fits a uint16, written as encoding/json
// writes one (no sign, no leading zero, no fraction or exponent), and returns what follows it.
func plainUint16(b []byte) (uint16, []byte, bool) {
	n := 0
	for n < len(b) && '0' <= b[n] && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 5 || (n > 1 && b[0] == '0') {
		return 0, nil, false
	}
	// At most five digits: the value fits an int, and fits a uint16 when it is at most 65535
	// (what strconv.ParseUint(…, 10, 16) takes, without the string it would need).
	v := 0
	for _, c := range b[:n] {
		v = v*10 + int(c-'0')
	}
	if v > math.MaxUint16 {
		return 0, nil, false
	}
	return uint16(v), b[n:], true
}

// plainString reads the rest of a JSON string whose opening quote is already read, if it holds
// only bytes that stand for themselves (printable ASCII other than '"' and '\\'), and returns
// its bytes and what follows its closing quote.
func plainString(b []byte) (s, rest []byte, ok bool) {
	for i, c := range b {
		if k := stringByte[c]; k != plainByte {
			if k == quoteByte {
				return b[:i], b[i+1:], true
			}
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// The kinds of byte inside a JSON string as plainString reads it: one that stands for itself,
// the closing quote, or one that ends the short path (a control, a backslash, not ASCII).
const (
	otherByte = iota
	plainByte
	quoteByte
)

// stringByte is each byte's kind: one table load per byte, cheaper than the comparisons.
var stringByte = func() (t [256]uint8) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = plainByte
	}
	t['"'], t['\\'] = quoteByte, otherByte
	return t
}()
