package ingress

import (
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
)

// RawRequest is an HTTP request as a client writes it, in parts, with no net/http machinery: the
// simulator's clients hand these to DecodeRaw instead of building an *http.Request for every
// request. Decode reads the same parts off a server's *http.Request, so both go through one
// decoding.
type RawRequest struct {
	// Method is the request method ("POST").
	Method string
	// Target is the request target as on the request line, in origin form: the path from its
	// '/', percent-encoded as the client wrote it, then optionally '?' and the raw query. A
	// fragment ('#' onwards) is dropped, as url.Parse drops it. A target that does not start
	// with '/' matches no route (404, quoting it as written).
	Target string
	// Header holds the request's header fields. Names need not be canonical: they are read as
	// http.Header.Add would have filed them. Nil is no headers.
	Header http.Header
	// Fields holds header fields as a list, read as if each were added to Header in order after
	// Header's own (so a name's first value is Header's, if it has one): the form a client that
	// builds no map per request writes. Names need not be canonical, as in Header.
	Fields []HeaderField
	// Body is the whole body, nil or empty for none. Decode keeps it as Request.Body without a
	// copy, so the caller must not change it afterwards.
	Body []byte
}

// parts is what decoding reads of a request, from a RawRequest or a server's *http.Request.
type parts struct {
	method string
	// path is the escaped path (url.URL.EscapedPath), query the raw query.
	path, query string
	header      http.Header
	// fields are further header fields, read after header's (RawRequest.Fields).
	fields []HeaderField
	// from, when set, is the server's request whose body is read only once a route needs it;
	// otherwise body is the whole body.
	from *http.Request
	body []byte
}

// partsOf reads a server's request. A nil request or URL gives no parts (ok false).
func partsOf(r *http.Request) (p parts, ok bool) {
	if r == nil || r.URL == nil {
		return parts{}, false
	}
	return parts{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header, from: r}, true
}

// parts reads r's target as url.Parse and url.URL.EscapedPath read it, so a RawRequest decodes
// exactly as the *http.Request a client library would have built from the same parts.
func (r *RawRequest) parts() parts {
	target, _, _ := strings.Cut(r.Target, "#")
	path, query, _ := strings.Cut(target, "?")
	p := parts{method: r.Method, path: path, query: query, header: canonicalHeader(r.Header), fields: r.Fields, body: r.Body}
	if !plainPath(path) {
		// EscapedPath keeps the client's escaping when it is valid and otherwise escapes the
		// decoded path itself. A path that does not decode at all stays as written: splitPath
		// refuses it with 400, naming the segment.
		if unescaped, err := url.PathUnescape(path); err == nil {
			p.path = (&url.URL{Path: unescaped, RawPath: path}).EscapedPath()
		}
	}
	return p
}

// plainPath reports whether path holds only bytes that a path may hold unescaped and no escape,
// which EscapedPath returns unchanged: the common case, checked without allocating.
func plainPath(path string) bool {
	// Eight bytes a round, their marks OR-ed, and one test a round rather than one a byte: a
	// path is some 80 bytes, read at every request.
	var other uint8
	for len(path) >= 8 {
		other |= otherPathByte[path[0]] | otherPathByte[path[1]] | otherPathByte[path[2]] | otherPathByte[path[3]] |
			otherPathByte[path[4]] | otherPathByte[path[5]] | otherPathByte[path[6]] | otherPathByte[path[7]]
		if other != 0 {
			return false
		}
		path = path[8:]
	}
	for i := 0; i < len(path); i++ {
		other |= otherPathByte[path[i]]
	}
	return other == 0
}

// otherPathByte marks (1) the bytes plainPath does not let through: all but letters, digits
// and the punctuation a path may hold unescaped.
var otherPathByte = func() (t [256]uint8) {
	for c := range 256 {
		plain := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("/-_.~!$&'()*+,;=:@", byte(c)) >= 0
		if !plain {
			t[c] = 1
		}
	}
	return t
}()

// canonicalHeader returns h with canonical names (as http.Header.Add files them), copying it
// only when some name is not canonical already.
func canonicalHeader(h http.Header) http.Header {
	canonical := true
	for k := range h {
		if textproto.CanonicalMIMEHeaderKey(k) != k {
			canonical = false
			break
		}
	}
	if canonical {
		return h
	}
	c := make(http.Header, len(h))
	// Values of names that differ only in case are appended in a fixed order (sorted by the
	// name as written), so that a map's order never decides which value Get returns.
	for _, k := range slices.Sorted(maps.Keys(h)) {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		c[ck] = append(c[ck], h[k]...)
	}
	return c
}

// get returns the first value of the header field name (canonical); a nil header reads empty.
func (p *parts) get(name string) string {
	if vs := p.header[name]; len(vs) > 0 {
		return vs[0]
	}
	for _, f := range p.fields {
		if filedAs(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// filedAs reports whether http.Header.Add files a field named written under canonical, a
// canonical name. Canonicalizing changes only the case of ASCII letters, so a name of another
// length is never filed there and is not canonicalized (which allocates for a non-canonical
// name) to find that out.
func filedAs(written, canonical string) bool {
	return written == canonical || len(written) == len(canonical) && textproto.CanonicalMIMEHeaderKey(written) == canonical
}

// queryValue returns the first value of the query parameter key, as url.URL.Query().Get does.
func (p *parts) queryValue(key string) string {
	if p.query == "" {
		return ""
	}
	v, _ := url.ParseQuery(p.query) // Query ignores a malformed pair the same way
	return v.Get(key)
}

// readBody returns the body, at most MaxBodyBytes of it; an empty body comes back as nil.
func (p *parts) readBody() ([]byte, *Error) {
	if p.from != nil {
		return readBody(p.from)
	}
	if len(p.body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	if len(p.body) == 0 {
		return nil, nil
	}
	return p.body, nil
}

// DecodeRaw maps a request given in parts onto a Request, exactly as Decode maps the
// *http.Request a server would have parsed from the same parts (see Decode).
func DecodeRaw(r *RawRequest, services Services) (Request, *Error) {
	p := r.parts()
	return decode(&p, services)
}

// Triage is what the ingress makes of r before any backend sees it, in the production handler's
// order and reading r's parts once: a CORS preflight is answered (answered set), then the
// health probe, with HealthResponse(ready, state); anything else is decoded as DecodeRaw
// decodes it.
func (r *RawRequest) Triage(services Services, ready bool, state string) (early Response, answered bool, req Request, err *Error) {
	p := r.parts()
	if resp, ok := preflight(&p); ok {
		return resp, true, Request{}, nil
	}
	if isHealth(&p) {
		return HealthResponse(ready, state), true, Request{}, nil
	}
	req, err = decode(&p, services)
	return Response{}, false, req, err
}

// PreflightResponse answers r if it is a CORS preflight, as PreflightResponse does for a
// server's request.
func (r *RawRequest) PreflightResponse() (Response, bool) {
	p := r.parts()
	return preflight(&p)
}

// IsHealthRequest reports whether r asks for the ingress's health, as IsHealthRequest does for a
// server's request.
func (r *RawRequest) IsHealthRequest() bool {
	p := r.parts()
	return isHealth(&p)
}

// WithCORS marks resp as the answer to r, as WithCORS does for a server's request.
func (r *RawRequest) WithCORS(resp Response) Response {
	p := parts{header: canonicalHeader(r.Header), fields: r.Fields}
	return withCORS(&p, resp)
}
