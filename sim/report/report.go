package report

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/vigilsim/vigil/sim"
)

// File names inside a seed's directory.
const (
	SummaryFile = "summary.txt"
	TraceFile   = "trace.json"
	HTMLFile    = "report.html"
)

// Info is what the artifacts say about a run that the Result does not carry.
type Info struct {
	// Commit is the source revision the binary was built from; empty means Commit().
	Commit string
	// Reproduce is the command that replays the run; empty means r.ReproduceCommand() when the
	// run is reproducible.
	Reproduce string
	// Shrink is how to shrink the failing run, as a command or in words; empty means the
	// reproduce command with -shrink when there is one.
	Shrink string
	// Notes are extra lines for the summary and the page (a panic's stack, a mutant planted).
	Notes []string
}

// Commit returns the vcs.revision the running binary was built from (with "+dirty" when the
// work tree had changes), or "unknown" when the build carries none (go test, go run outside a
// repository, -buildvcs=false).
func Commit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "unknown"
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return rev
}

// Dir is the directory of r's artifacts under root: root/<scenario>-<seed>.
func Dir(root string, r *sim.Result) string {
	return filepath.Join(root, fmt.Sprintf("%s-%d", safeName(r.Scenario), r.Seed))
}

// safeName keeps a scenario name usable as a path element.
func safeName(s string) string {
	return strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c == os.PathSeparator || c < ' ' {
			return '_'
		}
		return c
	}, s)
}

// Write writes the three artifacts of r into Dir(root, r), creating it, and returns the
// directory. A Result without a history (a run that panicked or was abandoned) still gets all
// three files, with what it has. A run the promise checker failed also gets porcupine's
// visualisation of each promise epoch concerned as linearizability-<promise>.html (report.html
// embeds the same pages).
func Write(root string, r *sim.Result, info Info) (string, error) {
	info = info.withDefaults(r)
	dir := Dir(root, r)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	files := []struct {
		name   string
		render func(*sim.Result, Info) ([]byte, error)
	}{
		{SummaryFile, Summary},
		{TraceFile, TraceJSON},
		{HTMLFile, HTML},
	}
	for _, f := range files {
		b, err := f.render(r, info)
		if err != nil {
			return "", fmt.Errorf("report: %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b, 0o644); err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
	}
	lin, err := linearizability(r, newRun(r))
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	for _, l := range lin {
		if err := os.WriteFile(filepath.Join(dir, l.File), []byte(l.Page), 0o644); err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
	}
	return dir, nil
}

func (info Info) withDefaults(r *sim.Result) Info {
	if info.Commit == "" {
		info.Commit = Commit()
	}
	if info.Reproduce == "" {
		if r.Reproducible() {
			info.Reproduce = r.ReproduceCommand()
		} else {
			info.Reproduce = "not with simrun (a hand-set plan or a Source drew this run); rerun the test that made it"
		}
	}
	if info.Shrink == "" {
		if strings.HasPrefix(info.Reproduce, "go run ") {
			info.Shrink = info.Reproduce + " -shrink   (writes the shrunk choice tape; replay it with -tape FILE)"
		} else {
			info.Shrink = "not with simrun: its plan or its choices did not come from the seed"
		}
	}
	return info
}

// planOf is the run's fault plan as the artifacts print it. A run that panicked or was abandoned
// carries no history and a zero plan, which would read as "no faults".
func planOf(r *sim.Result) string {
	if r.History == nil {
		return "(not known: the run did not finish)"
	}
	return r.Plan.String()
}
