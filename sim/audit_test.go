package sim_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// auditedDirs are the packages that must stay deterministic: they run inside the simulator and
// may not read the wall clock, draw global randomness or start goroutines (the executor's
// coroutines come from iter.Pull, which is allowed).
var auditedDirs = []string{"../runtime/engine", "../runtime/executor", "../runtime/journal", "../runtime/protocol",
	"../runtime/durable", "../runtime/store/mem", ".", "../faults", "../checkers"}

// forbiddenTime are the time package functions that read or wait on the wall clock.
var forbiddenTime = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true}

// allowedRand are the math/rand functions that build seeded sources instead of drawing from the
// global one.
var allowedRand = map[string]bool{"New": true, "NewPCG": true, "NewSource": true, "NewChaCha8": true, "NewZipf": true}

// TestDeterminismAudit fails when a deterministic package reads the wall clock, uses global
// randomness, starts a goroutine or selects over channels.
func TestDeterminismAudit(t *testing.T) {
	for _, dir := range auditedDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			for _, finding := range auditFile(t, file) {
				t.Errorf("%s", finding)
			}
		}
	}
}

func auditFile(t *testing.T, file string) []string {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]string{} // local name -> path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if path == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imports[name] = path
	}
	var findings []string
	report := func(n ast.Node, what string) {
		findings = append(findings, fset.Position(n.Pos()).String()+": "+what)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n, "starts a goroutine")
		case *ast.SelectStmt:
			if len(n.Body.List) > 1 {
				report(n, "selects over several channels")
			}
		case *ast.SelectorExpr:
			pkg, ok := n.X.(*ast.Ident)
			if !ok {
				break
			}
			switch imports[pkg.Name] {
			case "time":
				if forbiddenTime[n.Sel.Name] {
					report(n, "reads the wall clock: time."+n.Sel.Name)
				}
			case "math/rand", "math/rand/v2":
				if !allowedRand[n.Sel.Name] && ast.IsExported(n.Sel.Name) && n.Sel.Name[0] != 'P' && n.Sel.Name != "Rand" && n.Sel.Name != "Source" {
					report(n, "draws global randomness: rand."+n.Sel.Name)
				}
			}
		}
		return true
	})
	return findings
}

// TestAuditCatches shows the audit failing on code that breaks each rule.
func TestAuditCatches(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.go")
	src := `package bad

import (
	"math/rand/v2"
	"time"
)

func bad(c, d chan int) {
	_ = time.Now()
	_ = rand.IntN(3)
	go func() {}()
	select {
	case <-c:
	case <-d:
	}
}
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	findings := strings.Join(auditFile(t, file), "\n")
	for _, want := range []string{"time.Now", "rand.IntN", "starts a goroutine", "selects over several channels"} {
		if !strings.Contains(findings, want) {
			t.Errorf("the audit missed %q; it found:\n%s", want, findings)
		}
	}
}
