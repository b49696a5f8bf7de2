package vigiltest

import "strings"

// room is where a run's clients take the texts and bytes they make — numbered names, request
// paths, request bodies, the copies of outputs they decode — in chunks instead of an allocation
// each. Nothing handed out is ever handed out again or written after it was handed out, so a
// text or a byte slice from the room is as much the holder's own as a fresh one: a string a
// Builder returned stays as it was while more is written after it (a Builder only appends, and
// a new chunk is a new Builder), and every byte slice is capped at its length, so that appending
// to it moves it elsewhere instead of writing into its neighbour. A Sim is one run, and its room
// goes with it.
//
// A nil room (a request made without a client, as tests do) hands out fresh allocations.
type room struct {
	text  strings.Builder
	bytes []byte
	// paths are the paths of the targets the run's clients called last, the next to be
	// replaced at nextPath: a workload calls the same few targets again and again, and a text
	// of the room never changes, so the path written for one is the path of the next.
	paths    [4]targetPath
	nextPath int
}

// targetPath is the path of target t followed by suffix (Target.pathIn).
type targetPath struct {
	t            Target
	suffix, path string
}

// The chunk sizes: a run of the approval scenario names some eight clients and sends some twenty
// requests, each with a path of some sixty bytes and a body of a few dozen.
const (
	textChunk  = 1024
	bytesChunk = 512
)

// join returns the concatenation of parts, written in the room's text.
func (rm *room) join(parts ...string) string {
	if rm == nil {
		return strings.Join(parts, "")
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	start := rm.reserve(n)
	for _, p := range parts {
		rm.text.WriteString(p)
	}
	return rm.since(start)
}

// lastPath returns the path kept for target t and suffix, if any.
func (rm *room) lastPath(t Target, suffix string) (string, bool) {
	if rm == nil {
		return "", false
	}
	for i := range rm.paths {
		if p := &rm.paths[i]; p.path != "" && p.t == t && p.suffix == suffix {
			return p.path, true
		}
	}
	return "", false
}

// keepPath keeps path as the path of target t and suffix, in place of the oldest kept.
func (rm *room) keepPath(t Target, suffix, path string) {
	if rm == nil {
		return
	}
	rm.paths[rm.nextPath] = targetPath{t: t, suffix: suffix, path: path}
	rm.nextPath = (rm.nextPath + 1) % len(rm.paths)
}

// textOf returns b as a string of the room's text, as string(b) is.
func (rm *room) textOf(b []byte) string {
	if rm == nil {
		return string(b)
	}
	start := rm.reserve(len(b))
	rm.text.Write(b)
	return rm.since(start)
}

// reserve makes room for n more bytes of text and returns where the next text starts, for since
// once it is written.
func (rm *room) reserve(n int) int {
	if rm.text.Cap()-rm.text.Len() < n {
		rm.text = strings.Builder{}
		rm.text.Grow(max(n, textChunk))
	}
	return rm.text.Len()
}

// since returns the text written since start (reserve).
func (rm *room) since(start int) string { return rm.text.String()[start:] }

// take returns n bytes of the room's, zero, with no capacity beyond them: never nil, as
// make's are not.
func (rm *room) take(n int) []byte {
	if rm == nil {
		return make([]byte, n)
	}
	if n == 0 {
		return []byte{}
	}
	if len(rm.bytes) < n {
		rm.bytes = make([]byte, max(n, bytesChunk))
	}
	b := rm.bytes[:n:n]
	rm.bytes = rm.bytes[n:]
	return b
}

// clone returns a copy of b from the room's bytes: nil when b is, as bytes.Clone's is.
func (rm *room) clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	c := rm.take(len(b))
	copy(c, b)
	return c
}

// bytesOf returns s's bytes from the room's, as []byte(s) does.
func (rm *room) bytesOf(s string) []byte {
	b := rm.take(len(s))
	copy(b, s)
	return b
}
