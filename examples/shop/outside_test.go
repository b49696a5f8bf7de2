package shop_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The guide, followed from a module of one's own: a scratch module that requires Vigil through a
// replace, with a handler of its own and a vigiltest test. The test passes with the handler
// right, fails with a planted bug at the user's own test line, and the reproduce line it prints
// gives the same run again.
const (
	outsideHandler = `package greet

import "github.com/vigilsim/vigil/runtime/durable"

// Buggy counts the visit from handler code outside durable.Run.
var Buggy = false

// Visits is the outside world's counter.
type Visits interface{ Count(user string) }

// New returns the Greeter object.
func New(v Visits) *durable.Service {
	return durable.NewObject("Greeter").Handler("greet", durable.NewObjectHandler(
		func(ctx durable.ObjectContext, name string) (string, error) {
			if Buggy {
				v.Count(ctx.Key())
			} else if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) { v.Count(ctx.Key()); return true, nil }); err != nil {
				return "", err
			}
			a := durable.Awakeable[string](ctx)
			durable.ResolveAwakeable(ctx, a.ID(), "hello")
			greeting, err := a.Result()
			return greeting + " " + name, err
		}))
}
`
	outsideTest = `package greet_test

import (
	"flag"
	"testing"

	"example.com/usermod/greet"
	"github.com/vigilsim/vigil/vigiltest"
)

var bug = flag.Bool("bug", false, "plant the bug")

var counted = vigiltest.NewFact[int]("counted")

type fake struct{ s *vigiltest.Sim }

func (f fake) Count(user string) { counted.Record(f.s, user, 1) }

var scenario = vigiltest.Scenario{Name: "greet", Setup: func(s *vigiltest.Sim) {
	s.Services(greet.New(fake{s}))
	s.Actor("user", func(c *vigiltest.Client) {
		vigiltest.Call(c, vigiltest.Object("Greeter", "ada", "greet"), "ada",
			func(vigiltest.Reply[string]) {}, vigiltest.IdempotencyKey("greet-ada"))
	})
	s.Invariant("counted-in-run", func(h *vigiltest.History) []vigiltest.Violation {
		var vs []vigiltest.Violation
		for _, c := range counted.In(h) {
			if !c.InRun {
				vs = append(vs, vigiltest.Violationf("%s counted %s", c.Key, c.Where(h)).At(c.Index))
			}
		}
		return vs
	})
}}

func TestGreet(t *testing.T) {
	greet.Buggy = *bug
	vigiltest.Check(t, scenario, vigiltest.Options{Seeds: 30})
}
`
)

func TestTheGuideFromAModuleOfOnesOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a scratch module")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("go.mod", "module example.com/usermod\n\ngo 1.26\n\nrequire github.com/vigilsim/vigil v0.0.0\n\nreplace github.com/vigilsim/vigil => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	write("go.sum", string(sum))
	write("greet/greet.go", outsideHandler)
	write("greet/greet_test.go", outsideTest)
	goTest := func(args ...string) (string, error) {
		cmd := exec.Command(gobin, append([]string{"test"}, args...)...)
		cmd.Dir = filepath.Join(dir, "greet")
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := goTest(".")
	require.NoError(t, err, "the right handler passes:\n%s", out)

	out, err = goTest(".", "-count=1", "-args", "-bug")
	require.Error(t, err, "the planted bug fails:\n%s", out)
	require.Contains(t, out, "greet_test.go:38:", "reported at the user's own test line (vigiltest.Check in TestGreet)")
	require.Contains(t, out, "counted-in-run")
	m := regexp.MustCompile(`reproduce: go test -run '\^TestGreet\$' -count=1 \. (-vigil\.seed=\d+[^\n]*)\n`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	hash := regexp.MustCompile(`trace hash: [0-9a-f]{16}`).FindString(out)
	require.NotEmpty(t, hash)

	again, err := goTest(append(append([]string{"-run", "^TestGreet$", "-count=1", "."}, strings.Fields(m[1])...), "-args", "-bug")...)
	require.Error(t, err)
	require.Contains(t, again, hash, "the printed line reruns the same run")

	// The failing seed's choice tape was written beside the corpus; replaying it gives the run
	// bit for bit.
	tape := regexp.MustCompile(`tape: (\S+) \(replay: go test -run '\^TestGreet\$' -count=1 \. (-vigil\.tape=\S+)\)`).FindStringSubmatch(out)
	require.NotNil(t, tape, out)
	replayed, err := goTest("-run", "^TestGreet$", "-count=1", ".", tape[2], "-args", "-bug")
	require.Error(t, err)
	require.Contains(t, replayed, hash, "the tape replays the same run")
}
