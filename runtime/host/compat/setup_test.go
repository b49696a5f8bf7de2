package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "embed"

	"github.com/vigilsim/vigil/examples/seed/handlers"
	"github.com/vigilsim/vigil/runtime/host"
)

// clientPackage is the npm package under test, pinned.
const (
	clientPackage = "@restatedev/restate-sdk-clients"
	clientVersion = "1.17.2"
)

// cacheDirEnv names a directory to install the client into and reuse across runs.
const cacheDirEnv = "VIGIL_NPM_CACHE_DIR"

// installTimeout bounds npm install; on a clean machine it takes a few seconds.
const installTimeout = 60 * time.Second

// scriptTimeout bounds one run of the Node script.
const scriptTimeout = 60 * time.Second

//go:embed testdata/client.mjs
var clientScript []byte

// install is the process-wide installation of the client, made once for every test.
var install struct {
	once sync.Once
	dir  string // holds node_modules/
	err  error
	tmp  string // removed by TestMain
}

func TestMain(m *testing.M) {
	code := m.Run()
	if install.tmp != "" {
		_ = os.RemoveAll(install.tmp)
	}
	os.Exit(code)
}

// requireNode skips the test unless node and npm are on PATH and the run is not -short.
func requireNode(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped under -short: this test installs Restate's npm client and runs Node")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipped: %s is not on PATH (%v); install Node.js 20+ to run Restate's client against Vigil", tool, err)
		}
	}
}

// clientDir returns a directory whose node_modules holds the pinned client, installing it on
// first use: into $VIGIL_NPM_CACHE_DIR when set (and reusing what is there when its version
// matches), else into a temporary directory removed when the tests end.
func clientDir(t *testing.T) string {
	t.Helper()
	install.once.Do(func() {
		dir := os.Getenv(cacheDirEnv)
		if dir == "" {
			install.tmp, install.err = os.MkdirTemp("", "vigil-compat-npm-")
			if install.err != nil {
				return
			}
			dir = install.tmp
		} else if installedVersion(dir) == clientVersion {
			install.dir = dir
			return
		}
		install.dir, install.err = dir, npmInstall(dir)
	})
	if install.err != nil {
		t.Fatalf("installing %s@%s with npm: %v", clientPackage, clientVersion, install.err)
	}
	return install.dir
}

// installedVersion is the version of the client installed under dir, or "" if none is.
func installedVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", clientPackage, "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// npmInstall installs the pinned client into dir/node_modules.
func npmInstall(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// A package.json of its own stops npm from walking up to a parent project's.
	manifest := filepath.Join(dir, "package.json")
	if _, err := os.Stat(manifest); err != nil {
		if err := os.WriteFile(manifest, []byte(`{"name":"vigil-compat","private":true}`+"\n"), 0o644); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--no-update-notifier",
		clientPackage+"@"+clientVersion)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w (after %s)\n%s", err, installTimeout, out)
	}
	if v := installedVersion(dir); v != clientVersion {
		return fmt.Errorf("npm install finished but node_modules holds version %q\n%s", v, out)
	}
	return nil
}

// awakeableLog records the awakeable IDs that Approval logs, by document, so the script can
// ask for them (Approval hands its ID to a human only through its log).
type awakeableLog struct {
	mu  sync.Mutex
	ids map[string]string
}

// Enabled implements slog.Handler.
func (l *awakeableLog) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (l *awakeableLog) Handle(_ context.Context, r slog.Record) error {
	var doc, id string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "document":
			doc = a.Value.String()
		case "awakeable":
			id = a.Value.String()
		}
		return true
	})
	if doc != "" && id != "" {
		l.mu.Lock()
		l.ids[doc] = id
		l.mu.Unlock()
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (l *awakeableLog) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup implements slog.Handler.
func (l *awakeableLog) WithGroup(string) slog.Handler { return l }

// ServeHTTP answers GET /awakeable?document=D with the ID Approval logged for D, waiting up
// to ten seconds for it.
func (l *awakeableLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	doc := r.URL.Query().Get("document")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		id, ok := l.ids[doc]
		l.mu.Unlock()
		if ok {
			_, _ = w.Write([]byte(id))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	http.Error(w, "no awakeable logged for document "+doc, http.StatusNotFound)
}

// testHost is a host serving the seed handlers, Echo and Callback on a loopback port.
type testHost struct {
	url    string // the ingress, http://127.0.0.1:port
	helper string // the awakeable-ID lookup for the script
}

// startHost starts a host on a fresh data dir; it is stopped when the test ends. Waiting
// attempts suspend after 100 ms, so that resolves reach suspended invocations too.
func startHost(t *testing.T) testHost {
	t.Helper()
	awakeables := &awakeableLog{ids: map[string]string{}}
	logger := slog.New(awakeables)
	h, err := host.New(host.Config{
		DataDir:           t.TempDir(),
		Logger:            logger,
		InactivityTimeout: 100 * time.Millisecond,
		ShutdownTimeout:   100 * time.Millisecond,
		Services: append(handlers.Services(handlers.Options{Logger: logger}),
			handlers.Echo(), handlers.Callback()),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = h.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.Serve(ctx, ln) }()

	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: awakeables}
	go func() { _ = hs.Serve(hl) }()
	t.Cleanup(func() {
		_ = hs.Close()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return testHost{url: "http://" + ln.Addr().String(), helper: "http://" + hl.Addr().String()}
}

// request is one HTTP exchange the script's recording fetch saw.
type request struct {
	Method       string            `json:"method"`
	Path         string            `json:"path"`
	Headers      map[string]string `json:"headers"`
	Status       int               `json:"status"`
	InvocationID string            `json:"invocationId"`
	ErrorSource  string            `json:"errorSource"`
}

// callError is how the script reports a failed check: Status and Body for the client's
// HttpCallError, Message for anything else.
type callError struct {
	Status  int             `json:"status"`
	Body    json.RawMessage `json:"body"`
	Message string          `json:"message"`
}

// checkLine is one line of the script's output.
type checkLine struct {
	Check    string          `json:"check"`
	Value    json.RawMessage `json:"value"`
	Error    *callError      `json:"error"`
	Requests []request       `json:"requests"`
}

// runScript runs the script's suite against th and returns its checks by name, in order.
func runScript(t *testing.T, th testHost, suite string) ([]string, map[string]checkLine) {
	t.Helper()
	dir := t.TempDir()
	// Node resolves the script's imports from the node_modules next to it.
	if err := os.Symlink(filepath.Join(clientDir(t), "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "client.mjs")
	if err := os.WriteFile(script, clientScript, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, suite)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VIGIL_URL="+th.url, "VIGIL_HELPER_URL="+th.helper)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		t.Fatalf("node client.mjs %s: %v\nstderr:\n%s\nstdout:\n%s", suite, err, stderr.String(), stdout.String())
	}
	var order []string
	lines := map[string]checkLine{}
	for _, raw := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if raw == "" {
			continue
		}
		var l checkLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("the script printed a line that is not a check: %q: %v", raw, err)
		}
		order = append(order, l.Check)
		lines[l.Check] = l
	}
	if testing.Verbose() {
		t.Logf("script output:\n%s", stdout.String())
	}
	return order, lines
}
