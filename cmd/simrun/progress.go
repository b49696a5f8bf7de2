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

// progress keeps a live line about a campaign on stderr: seeds done of the total, failures,
// events/s, seeds/s, elapsed time and the estimated time left. On a terminal it is one line
// rewritten in place with \r (at most ten times a second), otherwise a new line every 2 s or
// every 10% of the seeds, so that a CI log shows the campaign move without a line per seed.
// It is used from one goroutine only.
type progress struct {
	w     io.Writer
	out   *bufio.Writer // stdout: flushed before each draw so results and progress keep their order
	tty   bool
	total int // seeds planned over every scenario; 0 when only a time box bounds them
	// end is when the time box of a -duration campaign closes, zero without one: the campaign
	// ends then at the latest.
	end time.Time

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

func newProgress(w io.Writer, out *bufio.Writer, total int, end time.Time) *progress {
	now := time.Now()
	return &progress{w: w, out: out, tty: isTerminal(w), total: total, end: end, start: now, last: now}
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
	decile := p.decile
	if p.total > 0 {
		decile = p.done * 10 / p.total
	}
	switch {
	case p.tty && (since >= 100*time.Millisecond || p.done == p.total):
	case !p.tty && (since >= 2*time.Second || decile > p.decile):
	default:
		return
	}
	p.last = now
	p.decile = decile
	p.draw(now)
}

func (p *progress) draw(now time.Time) {
	p.clear()
	secs := now.Sub(p.start).Seconds()
	done := fmt.Sprintf("%d seeds", p.done)
	if p.total > 0 {
		done = fmt.Sprintf("%d/%d seeds (%d%%)", p.done, p.total, p.done*100/p.total)
	}
	line := fmt.Sprintf("simrun %s [%d/%d] %s, %d failed, %s events, %s events/s, %s seeds/s, %s elapsed, ETA %s",
		p.scenarioName, p.scenarioIdx, p.scenarios, done, p.failed, count(float64(p.events)),
		rate(float64(p.events), secs), rate(float64(p.done), secs), now.Sub(p.start).Round(100*time.Millisecond), p.eta(now))
	if p.tty {
		io.WriteString(p.w, "\r"+line)
		p.width = len(line)
	} else {
		io.WriteString(p.w, line+"\n")
	}
}

// eta estimates the wall time left: the seeds left at the speed so far, or the time left in the
// time box when that is sooner. The estimate ignores a -max-failures stop, which cannot be
// foreseen.
func (p *progress) eta(now time.Time) string {
	left := time.Duration(-1)
	if elapsed := now.Sub(p.start); p.total > 0 && p.done > 0 {
		left = time.Duration(float64(elapsed) * float64(p.total-p.done) / float64(p.done))
	}
	if !p.end.IsZero() && (left < 0 || p.end.Sub(now) < left) {
		left = max(p.end.Sub(now), 0)
	}
	if left < 0 {
		return "-"
	}
	return roundDuration(left).Round(time.Second).String()
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
