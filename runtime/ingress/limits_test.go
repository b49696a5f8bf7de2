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
