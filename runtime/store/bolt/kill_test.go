package bolt_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// killChildEnv names the store a child process of TestKillDuringCheckpoints writes to.
const killChildEnv = "VIGIL_BOLT_KILL_CHILD"

// TestKillDuringCheckpoints is the store's own kill -9 test. A child process (this test binary)
// syncs group after group to a store with the smallest log, so that background checkpoints run
// all the time, and prints each group's number once its Sync has returned: acknowledged. The
// parent kills it with SIGKILL at random moments, then opens the store and checks that it holds
// exactly the groups up to some number at or past the last one acknowledged, and restarts the
// child on it, several times.
func TestKillDuringCheckpoints(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("kills child processes; skipped under -short")
	}
	path := filepath.Join(t.TempDir(), "vigil.db")
	rng := rand.New(rand.NewPCG(7, 8))
	total := 0
	acked, checkpoints := -1, 0 // checkpoints the children reported, in all
	for trial := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringCheckpoints$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		killAfter := 100 + rng.IntN(1500)
		seen := 0
		for lines.Scan() {
			var c int
			if _, err := fmt.Sscanf(lines.Text(), "synced %d checkpoints %d", &acked, &c); err == nil {
				checkpoints = max(checkpoints, c)
				if seen++; seen == killAfter {
					_ = cmd.Process.Kill() // SIGKILL; lines already written are still read
				}
			}
		}
		_ = cmd.Wait()
		if seen < killAfter {
			t.Fatalf("trial %d: the child stopped after %d groups on its own", trial, seen)
		}
		checkKilledStore(t, path, acked)
		total += checkpoints
		checkpoints = 0
	}
	if total < 6 {
		t.Fatalf("the children checkpointed %d times in all; the test is meant to kill them while they do", total)
	}
	t.Logf("6 kills, %d background checkpoints before them; last acknowledged group %d", total, acked)
}

// killChild is the child's side: it resumes numbering after the store's "last" group and syncs
// groups until killed (or for a minute, a bound in case the parent is gone).
func killChild(t *testing.T, path string) {
	s, err := bolt.Open(path, bolt.Options{NoSync: true, LogBytes: bolt.MinLogBytes})
	if err != nil {
		t.Fatal(err)
	}
	g := 0
	if v, ok, err := s.Get("last"); err != nil {
		t.Fatal(err)
	} else if ok {
		if g, err = strconv.Atoi(string(v)); err != nil {
			t.Fatal(err)
		}
		g++
	}
	w := bufio.NewWriter(os.Stdout)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); g++ {
		b := store.Batch{
			put(fmt.Sprintf("g%07d", g), strings.Repeat("v", g%50)),
			put(fmt.Sprintf("k%02d", g%50), strconv.Itoa(g)),
			put("last", strconv.Itoa(g)),
		}
		if g%3 == 0 {
			b = append(b, del(fmt.Sprintf("g%07d", g-1)))
		}
		if err := s.Apply(b); err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "synced %d checkpoints %d\n", g, s.Stats().Checkpoints)
		if err := w.Flush(); err != nil {
			return // the parent stopped reading
		}
	}
}

// checkKilledStore opens the store the child was killed on and checks that it holds exactly
// groups 0..last for some last >= acked.
func checkKilledStore(t *testing.T, path string, acked int) {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{NoSync: true, LogBytes: bolt.MinLogBytes})
	if err != nil {
		t.Fatalf("Open after kill -9: %v", err)
	}
	defer mustClose(t, s)
	got := state(t, s)
	last, err := strconv.Atoi(got["last"])
	if err != nil || last < acked {
		t.Fatalf("after kill -9: last = %q, but group %d was acknowledged", got["last"], acked)
	}
	want := map[string]string{"last": strconv.Itoa(last)}
	for g := 0; g <= last; g++ {
		want[fmt.Sprintf("g%07d", g)] = strings.Repeat("v", g%50)
		want[fmt.Sprintf("k%02d", g%50)] = strconv.Itoa(g)
		if g%3 == 0 {
			delete(want, fmt.Sprintf("g%07d", g-1))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("after kill -9 at group %d (acknowledged %d): %d keys, want %d", last, acked, len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("after kill -9 at group %d (acknowledged %d): %s = %q, want %q", last, acked, k, got[k], v)
		}
	}
}
