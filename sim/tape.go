package sim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A choice tape is every draw of one run, in the order the run made them, each with its label
// and the bound it was drawn under. Record one with Options.Record; replay one with
// Options.Source = tape.Replay(): a run is a function of its draws, so the replay is the
// recorded run bit for bit (same trace hash). A tape can be edited (a draw zeroed, its tail cut)
// and still replayed, which is what shrinking does: a draw past the end of a tape reads as zero,
// a value not below its bound wraps around, and a zero draw selects the simplest outcome
// everywhere (a fault off, no extra client, the shortest delay).
//
// Encoding: a tape stores most draws as drawn. A Percent draw (x < p fires) is stored flipped,
// as n-1-x, so that a zero on the tape means "does not fire" as it does for every other draw;
// the seeded PCG path draws and compares exactly as before, only the tape sees the flip.

// Tape is a recorded run: what names it (scenario, seed, the option flags it ran with) and its
// draws.
type Tape struct {
	Scenario string
	Seed     uint64
	// Flags are the run's options as Options.Flags("-") renders them: what a replay must repeat.
	Flags string
	Draws []TapeDraw
}

// TapeDraw is one draw: Value in [0, N), in the tape's encoding (see Tape).
type TapeDraw struct {
	Label string
	N     uint64
	Value uint64
}

// NonZero counts the draws that are not zero.
func (t *Tape) NonZero() int {
	n := 0
	for _, d := range t.Draws {
		if d.Value != 0 {
			n++
		}
	}
	return n
}

// TrimZeros drops the zero draws at the end of the tape: past its end a tape reads zero anyway.
func (t *Tape) TrimZeros() {
	n := len(t.Draws)
	for n > 0 && t.Draws[n-1].Value == 0 {
		n--
	}
	t.Draws = t.Draws[:n]
}

// Clone returns a copy whose draws can be edited without touching t's.
func (t *Tape) Clone() *Tape {
	c := *t
	c.Draws = append([]TapeDraw(nil), t.Draws...)
	return &c
}

// Replay returns a Source that feeds the tape's draws back in order, zero past its end. Set it as
// Options.Source (with the tape's flags) to rerun the recorded run.
func (t *Tape) Replay() Source { return &tapeReplay{draws: t.Draws} }

// flipDrawer is a Source that stores some draws flipped (see Tape): Rand.Percent draws through it.
type flipDrawer interface {
	// DrawFlipped returns a value in [0, n) exactly as Draw would, stored flipped on a tape.
	DrawFlipped(n uint64, label string) uint64
}

// tapeRecorder passes every draw through to its source and appends it to a tape.
type tapeRecorder struct {
	src  Source
	tape *Tape
}

func (r tapeRecorder) Draw(n uint64, label string) uint64 {
	if n <= 1 {
		return 0
	}
	v := r.src.Draw(n, label)
	r.tape.Draws = append(r.tape.Draws, TapeDraw{Label: label, N: n, Value: v})
	return v
}

func (r tapeRecorder) DrawFlipped(n uint64, label string) uint64 {
	if n <= 1 {
		return 0
	}
	var v uint64
	if f, ok := r.src.(flipDrawer); ok {
		v = f.DrawFlipped(n, label)
	} else {
		v = r.src.Draw(n, label)
	}
	r.tape.Draws = append(r.tape.Draws, TapeDraw{Label: label, N: n, Value: n - 1 - v})
	return v
}

// tapeReplay reads a tape's draws back in order.
type tapeReplay struct {
	draws []TapeDraw
	next  int
}

func (s *tapeReplay) take(n uint64) uint64 {
	if s.next >= len(s.draws) {
		s.next++
		return 0
	}
	v := s.draws[s.next].Value
	s.next++
	return v % n
}

func (s *tapeReplay) Draw(n uint64, _ string) uint64 {
	if n <= 1 {
		return 0
	}
	return s.take(n)
}

func (s *tapeReplay) DrawFlipped(n uint64, _ string) uint64 {
	if n <= 1 {
		return 0
	}
	return n - 1 - s.take(n)
}

// recordingStream wraps the source of one stream of a run so that its draws land on the tape.
func recordingStream(src Source, tape *Tape) Source {
	if tape == nil {
		return src
	}
	return tapeRecorder{src: src, tape: tape}
}

// begin starts recording a run: it names the tape after the run and empties its draws.
func (t *Tape) begin(scenario string, opts Options) {
	t.Scenario, t.Seed, t.Flags = scenario, opts.Seed, strings.TrimSpace(opts.Flags("-"))
	t.Draws = t.Draws[:0]
}

const tapeMagic = "vigil choice tape 1"

// Write writes the tape as text: a header (scenario, seed, flags, the number of draws), then a
// line per draw, "value bound label".
func (t *Tape) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\nscenario %s\nseed %d\nflags %s\ndraws %d\n", tapeMagic, t.Scenario, t.Seed, strings.TrimSpace(t.Flags), len(t.Draws))
	for _, d := range t.Draws {
		bw.WriteString(strconv.FormatUint(d.Value, 10))
		bw.WriteByte(' ')
		bw.WriteString(strconv.FormatUint(d.N, 10))
		bw.WriteByte(' ')
		bw.WriteString(d.Label)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// ReadTape parses a tape written by WriteTo.
func ReadTape(r io.Reader) (*Tape, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return sc.Text(), true
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("choice tape line %d: %s", line, fmt.Sprintf(format, args...))
	}
	if s, ok := next(); !ok || s != tapeMagic {
		return nil, bad("not a choice tape (want %q first)", tapeMagic)
	}
	t := &Tape{}
	header := func(key string) (string, error) {
		s, ok := next()
		if !ok {
			return "", bad("missing %q", key)
		}
		rest, found := strings.CutPrefix(s, key)
		if !found || (rest != "" && rest[0] != ' ') {
			return "", bad("want %q, got %q", key, s)
		}
		return strings.TrimSpace(rest), nil
	}
	var err error
	if t.Scenario, err = header("scenario"); err != nil {
		return nil, err
	}
	s, err := header("seed")
	if err != nil {
		return nil, err
	}
	if t.Seed, err = strconv.ParseUint(s, 10, 64); err != nil {
		return nil, bad("seed: %v", err)
	}
	if t.Flags, err = header("flags"); err != nil {
		return nil, err
	}
	if s, err = header("draws"); err != nil {
		return nil, err
	}
	count, err := strconv.Atoi(s)
	if err != nil || count < 0 {
		return nil, bad("draws: %q", s)
	}
	t.Draws = make([]TapeDraw, 0, count)
	for {
		s, ok := next()
		if !ok {
			break
		}
		fields := strings.SplitN(s, " ", 3)
		if len(fields) < 2 {
			return nil, bad("want \"value bound label\", got %q", s)
		}
		var d TapeDraw
		if d.Value, err = strconv.ParseUint(fields[0], 10, 64); err != nil {
			return nil, bad("value: %v", err)
		}
		if d.N, err = strconv.ParseUint(fields[1], 10, 64); err != nil {
			return nil, bad("bound: %v", err)
		}
		if len(fields) == 3 {
			d.Label = fields[2]
		}
		t.Draws = append(t.Draws, d)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.Draws) != count {
		return nil, fmt.Errorf("choice tape: header says %d draws, found %d (cut short?)", count, len(t.Draws))
	}
	return t, nil
}
