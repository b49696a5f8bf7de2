package ingress

import (
	"net/http"
	"net/url"
	"strings"
)

// HealthPath is where the ingress answers whether it serves: GET /restate/health.
const HealthPath = "/restate/health"

// Health says whether a backend serves requests now. A Backend that implements it answers
// GET /restate/health; one that does not is always ready.
type Health interface {
	// Ready reports whether requests are served now, and in a word why not ("recovering",
	// "shutting down", "store failed") when they are not.
	Ready() (ready bool, state string)
}

// IsHealthRequest reports whether r asks GET (or HEAD) /restate/health, which the ingress answers
// itself, before decoding.
func IsHealthRequest(r *http.Request) bool {
	p, ok := partsOf(r)
	return ok && isHealth(&p)
}

// isHealth is IsHealthRequest of a request's parts: its decoded path is HealthPath.
func isHealth(p *parts) bool {
	if p.method != http.MethodGet && p.method != http.MethodHead {
		return false
	}
	if p.path == HealthPath {
		return true
	}
	if !strings.Contains(p.path, "%") {
		return false
	}
	path, err := url.PathUnescape(p.path)
	return err == nil && path == HealthPath
}

// HealthResponse answers a health request: 200 {"status":"ready"} while the backend serves, 503
// with the state otherwise, so that a load balancer or an orchestrator's readiness probe sends
// traffic only to a server that has recovered and is not stopping.
func HealthResponse(ready bool, state string) Response {
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	return Response{Status: status, ContentType: contentTypeJSON, Body: []byte(`{"status":"` + jsonSafe(state) + `"}`)}
}

// jsonSafe keeps a state word inside a JSON string: states are fixed words, but a stray quote or
// control byte must not break the body.
func jsonSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// PreflightResponse answers a CORS preflight (OPTIONS with Origin and
// Access-Control-Request-Method) as Restate's permissive CORS does: any origin, the methods the
// ingress has, the headers asked for. It reports false for any other request.
func PreflightResponse(r *http.Request) (Response, bool) {
	p, ok := partsOf(r)
	if !ok {
		p = parts{method: r.Method, header: r.Header}
	}
	return preflight(&p)
}

// preflight is PreflightResponse of a request's parts.
func preflight(p *parts) (Response, bool) {
	origin := p.get("Origin")
	if origin == "" || p.method != http.MethodOptions || p.get("Access-Control-Request-Method") == "" {
		return Response{}, false
	}
	return Response{Status: http.StatusNoContent, AllowOrigin: origin, Preflight: true,
		PreflightHeaders: p.get("Access-Control-Request-Headers")}, true
}

// WithCORS marks resp as the answer to a browser's request from its Origin, if it has one: the
// origin is echoed (with credentials allowed, which a "*" would forbid) and x-restate-id is
// exposed to scripts.
func WithCORS(r *http.Request, resp Response) Response {
	return withCORS(&parts{header: r.Header}, resp)
}

// withCORS is WithCORS of a request's parts.
func withCORS(p *parts, resp Response) Response {
	resp.AllowOrigin = p.get("Origin")
	return resp
}
