package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigilsim/vigil/sim"
)

// progress keeps a live line about a campaign on stderr: on a terminal one line rewritten in
// place with \r (at most ten times a second), otherwise a new line every 2 s or every 10% of the
// seeds. It is used from one goroutine only.
type progress struct {
	w     io.Writer
	out   *bufio.Writer // stdout: flushed before each draw so results and progress keep their order
	tty   bool
	total int // seeds planned over every scenario

	scenarioName string
	scenarioIdx  int
	scenarios    int

	done   int
	failed int
	events uint64
	start  time.Time
	last   time.Time // of the last draw
	decile int       // last 10% step drawn (non-terminal)
	width  int       // length of the line on screen (terminal), 0 when none
}

func newProgress(w io.Writer, out *bufio.Writer, total int) *progress {
	now := time.Now()
	return &progress{w: w, out: out, tty: isTerminal(w), total: total, start: now, last: now}
}

// isTerminal reports whether w is a character device, where a line can be rewritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// scenario says which scenario the next seeds belong to.
func (p *progress) scenario(idx, n int, name string) {
	p.scenarioIdx, p.scenarios, p.scenarioName = idx, n, name
}

// seedDone counts one finished seed and redraws the line when it is due.
func (p *progress) seedDone(r *sim.Result) {
	p.done++
	p.events += r.Events
	if r.Failed() {
		p.failed++
	}
	now := time.Now()
	since := now.Sub(p.last)
	switch {
	case p.tty && (since >= 100*time.Millisecond || p.done == p.total):
	case !p.tty && (since >= 2*time.Second || p.done*10/p.total > p.decile):
	default:
		return
	}
	p.last = now
	p.decile = p.done * 10 / p.total
	p.draw(now)
}

func (p *progress) draw(now time.Time) {
	p.clear()
	secs := now.Sub(p.start).Seconds()
	line := fmt.Sprintf("simrun %s [%d/%d] %d/%d seeds (%d%%), %d failed, %s events, %s seeds/s, %s elapsed",
		p.scenarioName, p.scenarioIdx, p.scenarios, p.done, p.total, p.done*100/p.total, p.failed,
		count(float64(p.events)), rate(float64(p.done), secs), now.Sub(p.start).Round(100*time.Millisecond))
	if p.tty {
		io.WriteString(p.w, "\r"+line)
		p.width = len(line)
	} else {
		io.WriteString(p.w, line+"\n")
	}
}

// clear removes the line from a terminal and flushes stdout; call it before printing anything.
func (p *progress) clear() {
	if p.width > 0 {
		io.WriteString(p.w, "\r"+strings.Repeat(" ", p.width)+"\r")
		p.width = 0
	}
	p.out.Flush()
}

// newTable returns a writer that aligns tab-separated columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// count renders n with a k/M/G suffix and about three significant digits.
func count(n float64) string {
	switch {
	case n >= 1e9:
		return sig3(n/1e9) + "G"
	case n >= 1e6:
		return sig3(n/1e6) + "M"
	case n >= 1e3:
		return sig3(n/1e3) + "k"
	case n == math.Trunc(n):
		return fmt.Sprintf("%.0f", n)
	}
	return sig3(n)
}

func sig3(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// rate renders n per second over secs.
func rate(n, secs float64) string {
	if secs <= 0 {
		return "-"
	}
	return count(n / secs)
}

// ratio renders how many times faster than the wall clock virtual time went.
func ratio(virtual, wall float64) string {
	if wall <= 0 {
		return "-"
	}
	return count(virtual/wall) + "x"
}

// roundDuration drops the digits of d that do not matter in a report.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
