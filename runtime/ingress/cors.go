package ingress

import (
	"net/http"
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

// answerHealth answers GET (or HEAD) /restate/health: 200 {"status":"ready"} while the backend
// serves, 503 with the state otherwise, so that a load balancer or an orchestrator's readiness
// probe sends traffic only to a server that has recovered and is not stopping.
func answerHealth(w http.ResponseWriter, b Backend) {
	ready, state := true, "ready"
	if hb, ok := b.(Health); ok {
		ready, state = hb.Ready()
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	Encode(w, Response{Status: status, ContentType: "application/json", Body: []byte(`{"status":"` + jsonSafe(state) + `"}`)})
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

// cors applies Restate's permissive CORS: any origin may call the ingress from a browser. The
// request's Origin is echoed (with credentials allowed, which a "*" would forbid) and the
// x-restate-id header is exposed to scripts. It reports true when it answered a preflight
// (OPTIONS with Access-Control-Request-Method) itself, which then needs nothing more.
func cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		h.Set("Access-Control-Expose-Headers", strings.Join([]string{invocationIDHeader, errorSourceHeader}, ", "))
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
	}
	h.Set("Access-Control-Max-Age", "86400")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
	return true
}
