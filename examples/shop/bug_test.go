package shop_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPlantedBugIsCaughtAndReproduced builds this package's test binary and runs TestShop the
// way a user does: it passes as written, fails with -shop.bug, and the reproduce line the
// failure prints, run again, gives the same run (the same trace hash). The binary runs in a
// temporary directory, so the failing seed it saves lands there, not in the repository.
func TestPlantedBugIsCaughtAndReproduced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "shop.test")
	out, err := exec.Command(gobin, "test", "-c", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"-test.run", "^TestShop$", "-test.v"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out1, err := run()
	require.NoError(t, err, "TestShop passes without the bug:\n%s", out1)

	out2, err := run("-shop.bug")
	require.Error(t, err, "TestShop fails with the bug:\n%s", out2)
	require.Contains(t, out2, "shop_test.go:20:", "reported at the test's own line")
	require.Contains(t, out2, "charged-once")
	m := regexp.MustCompile(`reproduce: go test -run '\^TestShop\$' -count=1 \. (-vigil\.seed=\d+.*)\n`).FindStringSubmatch(out2)
	require.NotNil(t, m, out2)
	hash := regexp.MustCompile(`trace hash: [0-9a-f]{16}`).FindString(out2)
	require.NotEmpty(t, hash)

	out3, err := run(append(strings.Fields(m[1]), "-shop.bug")...)
	require.Error(t, err)
	require.Contains(t, out3, hash, "the reproduce line gives the same run")
	require.FileExists(t, filepath.Join(dir, "testdata", "vigil", "TestShop.txt"))
}
