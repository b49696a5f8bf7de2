package ingress

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// Strings a client chooses that end up in store keys are refused at the door past their limit,
// with a 400 that names it; at the limit they pass.
func TestDecodeRefusesKeysPastTheirLimit(t *testing.T) {
	long := strings.Repeat("k", protocol.MaxKeyBytes+1)
	atLimit := strings.Repeat("k", protocol.MaxKeyBytes)
	tests := []struct {
		name   string
		method string
		target string
		idem   string
		want   string // "" when the request must decode
	}{
		{"object key", "POST", "/Cart/" + long + "/add", "", "object or workflow key is 4097 bytes long, over the limit of 4096 bytes"},
		{"object key at the limit", "POST", "/Cart/" + atLimit + "/add", "", ""},
		{"escaped object key", "POST", "/Cart/" + strings.Repeat("%FF", protocol.MaxKeyBytes+1) + "/add/send", "", "object or workflow key is 4097 bytes long"},
		{"idempotency key header", "POST", "/Greeter/greet", strings.Repeat("i", 32<<10), "idempotency key is 32768 bytes long, over the limit of 4096 bytes"},
		{"idempotency key header at the limit", "POST", "/Greeter/greet/send", atLimit, ""},
		{"handler name", "POST", "/Greeter/" + strings.Repeat("h", protocol.MaxNameBytes+1), "", "handler name is 256 bytes long, over the limit of 255 bytes"},
		{"idempotency key in an attach path", "GET", "/restate/invocation/Greeter/greet/" + long + "/attach", "", "idempotency key is 4097 bytes long"},
		{"object key in an output path", "GET", "/restate/invocation/Cart/" + long + "/add/i/output", "", "object or workflow key is 4097 bytes long"},
		{"workflow key", "GET", "/restate/workflow/Signup/" + long + "/output", "", "object or workflow key is 4097 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.idem != "" {
				r.Header.Set("Idempotency-Key", tt.idem)
			}
			_, err := Decode(r, testServices)
			if tt.want == "" {
				require.Nil(t, err)
				return
			}
			require.NotNil(t, err)
			assert.Equal(t, http.StatusBadRequest, err.Status)
			assert.Contains(t, err.Message, tt.want)
		})
	}
}

// readyBackend is a Backend that reports a readiness and answers every request with 200.
type readyBackend struct {
	ready bool
	state string
}

func (b readyBackend) Submit(_ Request, reply func(Response)) {
	reply(Response{Status: http.StatusOK})
}
func (b readyBackend) Ready() (bool, string) { return b.ready, b.state }

// silentBackend implements no Health.
type silentBackend struct{}

func (silentBackend) Submit(_ Request, reply func(Response)) { reply(Response{Status: http.StatusOK}) }

func TestHealth(t *testing.T) {
	tests := []struct {
		name    string
		backend Backend
		status  int
		body    string
	}{
		{"ready", readyBackend{true, "ready"}, 200, `{"status":"ready"}`},
		{"shutting down", readyBackend{false, "shutting down"}, 503, `{"status":"shutting down"}`},
		{"a backend that says nothing is ready", silentBackend{}, 200, `{"status":"ready"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			NewHandler(tt.backend, testServices).ServeHTTP(rec, httptest.NewRequest("GET", HealthPath, nil))
			assert.Equal(t, tt.status, rec.Code)
			assert.JSONEq(t, tt.body, rec.Body.String())
		})
	}
}

// CORS as Restate does it: a preflight is answered at once, with the method and headers asked
// for; an actual request echoes its Origin and exposes x-restate-id; without an Origin nothing
// changes.
func TestCORS(t *testing.T) {
	h := NewHandler(readyBackend{true, "ready"}, testServices)

	pre := httptest.NewRequest("OPTIONS", "/Greeter/greet", nil)
	pre.Header.Set("Origin", "https://app.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type, idempotency-key")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, "https://app.example", rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
	assert.Equal(t, "content-type, idempotency-key", rec.Header().Get("Access-Control-Allow-Headers"))

	call := httptest.NewRequest("POST", "/Greeter/greet", strings.NewReader(`"x"`))
	call.Header.Set("Origin", "https://app.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, call)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "https://app.example", rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", rec.Header().Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, rec.Header().Get("Access-Control-Expose-Headers"), "x-restate-id")

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/Greeter/greet", strings.NewReader(`"x"`)))
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "no Origin, no CORS headers")

	// OPTIONS without a preflight's header is no preflight: the route answers 405.
	opt := httptest.NewRequest("OPTIONS", "/Greeter/greet", nil)
	opt.Header.Set("Origin", "https://app.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, opt)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}
