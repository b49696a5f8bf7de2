package checkers

import (
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// ReadRequests keeps what a recorder already read of its requests with ParseClientRequest as it
// recorded them (the simulator reads each request's target for the ClientRequest event), so that
// the index of the history (AllRead) takes those readings instead of parsing every request
// again. A reading is taken only where it is the one the index would make: read from the very
// exchange the history's first ClientRequest of that number holds (the same *event.HTTP), with
// services holding the same specs as the history's declarations; anything else is parsed anew.
// The zero value is empty and ready.
type ReadRequests struct {
	services map[string]*protocol.ServiceSpec
	http     []*event.HTTP // by request number, nil where none was noted
	parsed   []ParsedRequest
	// rejects are the failures of the rejects Parse read, kept across Resets: they are shared
	// and never written, so which run read one first changes nothing.
	rejects rejectFailures
	// scratch is the reading Parse returns for a request it keeps none of.
	scratch ParsedRequest
}

// maxNotedRequest bounds the request numbers Note keeps, so that a stray large number cannot
// make the tables huge: a request above it is parsed again by the index.
const maxNotedRequest = 1 << 16

// Reset forgets every reading, keeping the room of the tables.
func (r *ReadRequests) Reset() {
	clear(r.http)
	clear(r.parsed)
	r.services, r.http, r.parsed, r.scratch = nil, r.http[:0], r.parsed[:0], ParsedRequest{}
}

// Parse returns ParseClientRequest(h, services) and notes it (Note) as request number n's
// reading. The reading is returned where r keeps it, valid (and not to be written to) until the
// next Parse, Note or Reset: the request's few target fields are all its caller reads, and the
// reading, a dozen words, was copied four times on its way there. A reject's failure may be
// shared with other readings of r, across Resets too.
func (r *ReadRequests) Parse(n uint64, h *event.HTTP, services map[string]*protocol.ServiceSpec) *ParsedRequest {
	p := r.slot(n, h, services)
	if p == nil { // not noted: read into the scratch reading
		p = &r.scratch
	}
	parseClientRequest(p, h, services, &r.rejects)
	return p
}

// Note keeps p, which ParseClientRequest(h, services) returned for request number n. Every note
// between two Resets must name the same services map.
func (r *ReadRequests) Note(n uint64, h *event.HTTP, services map[string]*protocol.ServiceSpec, p ParsedRequest) {
	if s := r.slot(n, h, services); s != nil {
		*s = p
	}
}

// slot returns where request number n's reading from h goes, its first (the one the index
// reads), nil when none is kept for it (a later request of the number, or none at all).
func (r *ReadRequests) slot(n uint64, h *event.HTTP, services map[string]*protocol.ServiceSpec) *ParsedRequest {
	if n >= maxNotedRequest || h == nil {
		return nil
	}
	r.services = services
	for uint64(len(r.http)) <= n {
		r.http = append(r.http, nil)
		r.parsed = append(r.parsed, ParsedRequest{})
	}
	if r.http[n] != nil {
		return nil
	}
	r.http[n] = h
	return &r.parsed[n]
}

// usable reports whether r's readings were made with the services specs, the history's.
func (r *ReadRequests) usable(specs map[string]*protocol.ServiceSpec) bool {
	if r == nil || len(r.services) != len(specs) {
		return false
	}
	for name, s := range specs {
		if r.services[name] != s {
			return false
		}
	}
	return true
}

// lookup returns the reading of request number n if it was read from h, nil if not: where r
// keeps it, to be read (not written) before the next Parse, Note or Reset.
func (r *ReadRequests) lookup(n uint64, h *event.HTTP) *ParsedRequest {
	if h == nil || n >= uint64(len(r.http)) || r.http[n] != h {
		return nil
	}
	return &r.parsed[n]
}
