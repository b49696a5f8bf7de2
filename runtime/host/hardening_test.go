package host_test

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/host"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// withKV adds an object whose handler writes its input as a state key: a handler that lets its
// caller choose a store key.
func withKV(cfg *host.Config) {
	cfg.Services = append(cfg.Services, durable.NewObject("KV").Handler("put", durable.NewObjectHandler(
		func(ctx durable.ObjectContext, name string) (string, error) {
			durable.Set(ctx, name, "v")
			return "stored", nil
		})))
}

// No input stops the host or bricks its data: each bad request gets a clear answer, the host
// serves the next request, and a restart on the same data serves what was there.
func TestBadInputCannotStopTheHost(t *testing.T) {
	s := startServer(t, withKV)
	require.Equal(t, 200, s.must("POST", "/Ledger/ada/append", `"before"`).status)

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header []string
		status int
		want   string
	}{
		{"object key of 32 KB", "POST", "/Ledger/" + strings.Repeat("k", 32<<10) + "/append", `"x"`, nil,
			400, "object or workflow key is 32768 bytes long, over the limit of 4096 bytes"},
		{"escaped object key that triples", "POST", "/Ledger/" + strings.Repeat("%FF", protocol.MaxKeyBytes+1) + "/append", `"x"`, nil,
			400, "over the limit of 4096 bytes"},
		{"idempotency key of 40 KB", "POST", "/Ledger/ada/append", `"x"`, []string{"Idempotency-Key", strings.Repeat("i", 40<<10)},
			400, "idempotency key is 40960 bytes long, over the limit of 4096 bytes"},
		{"state key chosen by the caller", "POST", "/KV/k/put", jsonString(strings.Repeat("s", 40<<10)), nil,
			400, "state key is 40960 bytes long, over the limit of 4096 bytes"},
		{"attach by a long idempotency key", "GET", "/restate/invocation/Ledger/ada/append/" + strings.Repeat("i", 5000) + "/attach", "", nil,
			400, "idempotency key is 5000 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.must(tt.method, tt.path, tt.body, tt.header...)
			assert.Equal(t, tt.status, r.status, "%s", r)
			assert.Contains(t, r.body, tt.want)
			// Still serving, and the group commit the bad request rode in did not fail.
			assert.Equal(t, 200, s.must("POST", "/KV/k/put", `"ok"`).status)
			assert.NoError(t, s.h.Err())
		})
	}

	require.Equal(t, 200, s.must("POST", "/Ledger/ada/append", `"after"`).status)
	s.restart()
	r := s.must("POST", "/Ledger/ada/read", "")
	require.Equal(t, 200, r.status, "%s", r)
	assert.JSONEq(t, `{"entries":["before","after"]}`, r.body)
}

// A record the host cannot use is set aside with a log line, never a crash loop: the host
// starts, serves what else the store holds, and the next start meets the record no more.
func TestRecoverySetsABadRecordAside(t *testing.T) {
	s := startServer(t, nil)
	require.Equal(t, 200, s.must("POST", "/Ledger/ada/append", `"kept"`).status)
	require.NoError(t, s.stop())

	// Damage the store while the host is down: an invocation record no build can read, and a
	// state record whose key does not parse.
	st, err := bolt.Open(filepath.Join(s.dir, host.StoreFileName), bolt.Options{})
	require.NoError(t, err)
	bad := "inv/" + strings.Repeat("ab", 16)
	require.NoError(t, st.Apply(store.Batch{
		{Key: bad, Value: []byte("\x09not a record")},
		{Key: "st/Ledger/%zz/entries", Value: []byte("[]")},
	}))
	require.NoError(t, st.Sync())
	require.NoError(t, st.Close())

	s.start()
	assert.Equal(t, 2, s.logs.count("recovery could not use a record", "level", "ERROR"), "%s", s.logs)
	assert.Equal(t, 1, s.logs.count("recovery could not use a record", "key", bad))
	r := s.must("POST", "/Ledger/ada/read", "")
	require.Equal(t, 200, r.status, "%s", r)
	assert.JSONEq(t, `{"entries":["kept"]}`, r.body)
	assert.Equal(t, 200, s.must("POST", "/Ledger/ada/append", `"more"`).status)

	s.restart()
	assert.Equal(t, 2, s.logs.count("recovery could not use a record", "level", "ERROR"), "the second start finds nothing new")
	assert.Equal(t, 1, s.logs.count("records set aside by earlier starts", "records", "2"), "%s", s.logs)
	r = s.must("POST", "/Ledger/ada/read", "")
	assert.JSONEq(t, `{"entries":["kept","more"]}`, r.body)
}

// The health route says ready once the host serves, and a browser's preflight is answered with
// Restate's permissive CORS.
func TestHealthAndCORS(t *testing.T) {
	s := startServer(t, nil)
	r := s.must("GET", "/restate/health", "")
	assert.Equal(t, 200, r.status)
	assert.JSONEq(t, `{"status":"ready"}`, r.body)

	r = s.must("OPTIONS", "/Ledger/ada/append", "", "Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST")
	assert.Equal(t, 204, r.status)
	assert.Equal(t, "http://localhost:3000", r.header.Get("Access-Control-Allow-Origin"))
	r = s.must("POST", "/Ledger/ada/append", `"x"`, "Origin", "http://localhost:3000")
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "http://localhost:3000", r.header.Get("Access-Control-Allow-Origin"))

	// Once stopped, the same handler says so.
	require.NoError(t, s.stop())
	rec := httptest.NewRecorder()
	s.last.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/restate/health", nil))
	assert.Equal(t, 503, rec.Code)
	assert.JSONEq(t, `{"status":"shutting down"}`, rec.Body.String())
}

// Cancellation over HTTP, in Restate's admin shape: the waiting hold's await fails with 409
// "Cancelled", which its handler returns; the key is free again.
func TestCancelOverHTTP(t *testing.T) {
	s := startServer(t, nil)
	r := s.must("POST", "/Ledger/ada/hold/send", `"audit"`)
	require.Equal(t, 202, r.status, "%s", r)
	var accepted struct {
		InvocationID string `json:"invocationId"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &accepted))
	s.awakeable("ledger", "ada")

	r = s.must("PATCH", "/restate/invocation/"+accepted.InvocationID+"/cancel", "")
	assert.Equal(t, 202, r.status, "%s", r)
	r = s.must("GET", "/restate/invocation/"+accepted.InvocationID+"/attach", "")
	assert.Equal(t, 409, r.status, "%s", r)
	assert.Contains(t, r.body, "Cancelled")
	assert.Equal(t, 200, s.must("POST", "/Ledger/ada/append", `"after"`).status, "the key is free")
	assert.Equal(t, 404, s.must("PATCH", "/restate/invocation/inv_00000000000000000000000000000001/cancel", "").status)
}
