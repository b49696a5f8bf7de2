package engine_test

// Golden story tests, in the style of etcd-io/raft's interaction tests: each file under
// testdata/stories is a script of engine inputs, each block followed by everything the engine
// produced for it. Run with -rewrite to regenerate the expected output, then review the diff.
//
// A block is one or more commands, a line "----", the expected output, and a blank line. Lines
// starting with # before a block's commands are comments. Commands:
//
//	call|send SERVICE/HANDLER BODY     ingress call or send (requests are numbered req1, req2, ...)
//	attach|output invN                 ingress attach or output
//	resolve invN INDEX BODY            resolve awakeable (invN, INDEX) over ingress
//	reject invN INDEX REASON...        reject it
//	resolve-id ID BODY                 resolve by a raw awakeable ID
//	command invN aA INDEX awakeable
//	command invN aA INDEX run NAME VALUE
//	command invN aA INDEX complete invM INDEX VALUE
//	suspend invN aA INDEX WAIT,WAIT...
//	end invN aA INDEX VALUE
//	error invN aA retryable|terminal MESSAGE...
//	advance DURATION                   move the fake clock
//	fire invN                          fire the latest timer armed for invN
//	unsynced                           apply this block's batch without syncing it
//	crash [KEEP]                       crash keeping KEEP unsynced batches (all by default), recover
//
// After the commands, the block's Ready is taken (and applied and synced, unless unsynced) and
// printed, with invocation IDs as invN and awakeable IDs as awk(invN,INDEX).

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/ with the actual output")

func TestStories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "stories", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runStory(t, file)
		})
	}
}

type storyBlock struct {
	line     int // of the first command
	comments []string
	commands []string
	expected string
}

func parseStory(t *testing.T, file string) []storyBlock {
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var blocks []storyBlock
	var cur storyBlock
	inOutput := false
	var out []string
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case inOutput && line == "":
			cur.expected = strings.Join(out, "\n")
			blocks = append(blocks, cur)
			cur, out, inOutput = storyBlock{}, nil, false
		case inOutput:
			out = append(out, line)
		case line == "----":
			require.NotEmpty(t, cur.commands, "%s:%d: output without commands", file, n)
			inOutput = true
		case strings.HasPrefix(line, "#"):
			cur.comments = append(cur.comments, line)
		case strings.TrimSpace(line) == "":
			if len(cur.commands) > 0 {
				t.Fatalf("%s:%d: blank line inside a block's commands", file, n)
			}
			if len(cur.comments) > 0 {
				cur.comments = append(cur.comments, "")
			}
		default:
			if len(cur.commands) == 0 {
				cur.line = n
			}
			cur.commands = append(cur.commands, line)
		}
	}
	require.NoError(t, sc.Err())
	if inOutput {
		cur.expected = strings.Join(out, "\n")
		blocks = append(blocks, cur)
	} else {
		require.Empty(t, cur.commands, "%s: block without ---- at the end", file)
	}
	return blocks
}

func runStory(t *testing.T, file string) {
	blocks := parseStory(t, file)
	s := &story{t: t, h: newHarness(t), reqs: map[engine.RequestID]bool{}}
	var rewritten strings.Builder
	for _, b := range blocks {
		got := s.run(b)
		if *rewrite {
			for _, c := range b.comments {
				rewritten.WriteString(c + "\n")
			}
			rewritten.WriteString(strings.Join(b.commands, "\n") + "\n----\n" + got + "\n\n")
			continue
		}
		if got != b.expected {
			t.Errorf("%s:%d: %s\n--- want\n%s\n--- got\n%s", file, b.line, strings.Join(b.commands, "; "), b.expected, got)
		}
	}
	if *rewrite {
		require.NoError(t, os.WriteFile(file, []byte(strings.TrimSuffix(rewritten.String(), "\n")), 0o644))
	}
}

type story struct {
	t      *testing.T
	h      *harness
	reqs   map[engine.RequestID]bool
	timers map[protocol.InvocationID]engine.Timer
}

func (s *story) run(b storyBlock) string {
	t := s.t
	sync := true
	for _, c := range b.commands {
		f := strings.Fields(c)
		fail := func(format string, args ...any) {
			t.Fatalf("line %d %q: %s", b.line, c, fmt.Sprintf(format, args...))
		}
		need := func(n int) {
			if len(f) < n {
				fail("want at least %d fields", n)
			}
		}
		rest := func(i int) string { return strings.Join(f[i:], " ") }
		switch f[0] {
		case "call", "send":
			need(3)
			svc, handler, _ := strings.Cut(f[1], "/")
			kind := ingress.Call
			if f[0] == "send" {
				kind = ingress.Send
			}
			s.h.ingress(ingress.Request{Kind: kind, Service: svc, Handler: handler, Body: []byte(rest(2))})
		case "attach", "output":
			need(2)
			kind := ingress.Attach
			if f[0] == "output" {
				kind = ingress.Output
			}
			s.h.ingress(ingress.Request{Kind: kind, InvocationID: s.inv(f[1]).String()})
		case "resolve":
			need(4)
			s.h.resolve(s.inv(f[1]), s.num(f[2]), rest(3))
		case "reject":
			need(4)
			s.h.reject(s.inv(f[1]), s.num(f[2]), rest(3))
		case "resolve-id":
			need(3)
			s.h.ingress(ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: f[1], Body: []byte(rest(2))})
		case "command":
			need(5)
			id, attempt, index := s.inv(f[1]), s.attempt(f[2]), s.num(f[3])
			var en journal.Entry
			switch f[4] {
			case "awakeable":
				en = awakeableEntry()
			case "run":
				need(7)
				en = runEntry(f[5], rest(6))
			case "complete":
				need(8)
				en = completeEntry(awk(s.inv(f[5]), s.num(f[6])), rest(7))
			default:
				fail("unknown command entry %q", f[4])
			}
			s.h.eng.Receive(cmd(id, attempt, index, en))
		case "suspend":
			need(5)
			var waiting []uint32
			for _, w := range strings.Split(f[4], ",") {
				waiting = append(waiting, s.num(w))
			}
			s.h.eng.Receive(suspendMsg(s.inv(f[1]), s.attempt(f[2]), s.num(f[3]), waiting...))
		case "end":
			need(5)
			s.h.eng.Receive(endMsg(s.inv(f[1]), s.attempt(f[2]), s.num(f[3]), rest(4)))
		case "error":
			need(5)
			s.h.eng.Receive(errorMsg(s.inv(f[1]), s.attempt(f[2]), f[3] == "retryable", rest(4)))
		case "advance":
			need(2)
			d, err := time.ParseDuration(f[1])
			if err != nil {
				fail("%v", err)
			}
			s.h.clock.Advance(d)
		case "fire":
			need(2)
			var id protocol.InvocationID // "fire sweep": the retention sweep, which names none
			if f[1] != "sweep" {
				id = s.inv(f[1])
			}
			tm, ok := s.timers[id]
			if !ok {
				fail("no timer armed for %s", f[1])
			}
			s.h.eng.FireTimer(tm)
		case "unsynced":
			sync = false
		case "crash":
			keep := s.h.store.Unsynced()
			if len(f) > 1 {
				keep = int(s.num(f[1]))
			}
			s.h.crashKeeping(keep)
			s.timers = nil // the driver's timers died with it
		default:
			fail("unknown command")
		}
	}
	var r engine.Ready
	if sync {
		r = s.h.step()
	} else {
		r = s.h.stepUnsynced()
	}
	for _, tm := range r.Timers {
		if s.timers == nil {
			s.timers = map[protocol.InvocationID]engine.Timer{}
		}
		s.timers[tm.Invocation] = tm
	}
	return s.render(r)
}

func (s *story) inv(f string) protocol.InvocationID {
	n, err := strconv.ParseUint(strings.TrimPrefix(f, "inv"), 10, 64)
	if err != nil || !strings.HasPrefix(f, "inv") {
		s.t.Fatalf("bad invocation %q (want invN)", f)
	}
	return idN(n)
}

func (s *story) attempt(f string) uint32 {
	if !strings.HasPrefix(f, "a") {
		s.t.Fatalf("bad attempt %q (want aN)", f)
	}
	return s.num(f[1:])
}

func (s *story) num(f string) uint32 {
	n, err := strconv.ParseUint(f, 10, 32)
	if err != nil {
		s.t.Fatalf("bad number %q", f)
	}
	return uint32(n)
}

var (
	invIDPattern = regexp.MustCompile(`inv_[0-9a-f]{32}`)
	awkIDPattern = regexp.MustCompile(`sign_1[A-Za-z0-9_-]+`)
)

// names rewrites invocation and awakeable IDs to short names.
func names(s string) string {
	s = awkIDPattern.ReplaceAllStringFunc(s, func(m string) string {
		aid, err := protocol.ParseAwakeableID(m)
		if err != nil {
			return m
		}
		return fmt.Sprintf("awk(%s,%d)", shortID(aid.Invocation), aid.Index)
	})
	return invIDPattern.ReplaceAllStringFunc(s, func(m string) string {
		id, err := protocol.ParseInvocationID(m)
		if err != nil {
			return m
		}
		return shortID(id)
	})
}

func shortID(id protocol.InvocationID) string {
	var n uint64
	for _, b := range id[8:] {
		n = n<<8 | uint64(b)
	}
	if id != idN(n) {
		return id.String()
	}
	return fmt.Sprintf("inv%d", n)
}

func (s *story) render(r engine.Ready) string {
	if r.Empty() {
		return "(empty)"
	}
	var b strings.Builder
	if len(r.Batch) > 0 {
		b.WriteString("batch:\n")
		for _, op := range r.Batch {
			b.WriteString("  " + engine.DescribeOp(op) + "\n")
		}
	}
	if len(r.Messages) > 0 {
		b.WriteString("messages:\n")
		for _, m := range r.Messages {
			line := m.String()
			if m.Kind == protocol.KindStart {
				line += " " + strings.Join(entries(m.Journal), " | ")
			}
			b.WriteString("  " + line + "\n")
		}
	}
	if len(r.Replies) > 0 {
		b.WriteString("replies:\n")
		for _, rep := range r.Replies {
			line := fmt.Sprintf("  req%d: %d", rep.Request, rep.Response.Status)
			if len(rep.Response.Body) > 0 {
				line += " " + string(rep.Response.Body)
			}
			if rep.Response.InvocationID != "" {
				line += " x-restate-id=" + rep.Response.InvocationID
			}
			b.WriteString(line + "\n")
		}
	}
	if len(r.Timers) > 0 {
		b.WriteString("timers:\n")
		for _, tm := range r.Timers {
			fmt.Fprintf(&b, "  %s at +%v\n", timerName(tm), tm.Deadline.Sub(epoch))
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("notes:\n")
		for _, n := range r.Notes {
			switch n.Kind {
			case engine.NoteCompletionAccepted:
				fmt.Fprintf(&b, "  accepted %s %s\n", n.Awakeable, n.Result)
			case engine.NoteCompletionDropped:
				fmt.Fprintf(&b, "  dropped %s %s: %s\n", n.Awakeable, n.Result, n.Reason)
			case engine.NoteInvocationDone:
				fmt.Fprintf(&b, "  done %s[%d] %s\n", n.Invocation, n.Index, n.Result)
			case engine.NoteInvocationAccepted:
				fmt.Fprintf(&b, "  invoked %s %s/%s seq=%d (%s)\n", n.Invocation, n.Service, n.Handler, n.Seq, n.Reason)
			case engine.NoteTimerArmed:
				fmt.Fprintf(&b, "  armed %s at +%v\n", timerName(n.Timer), n.Timer.Deadline.Sub(epoch))
			case engine.NoteTimerFired:
				fmt.Fprintf(&b, "  fired %s\n", timerName(n.Timer))
			case engine.NoteCompletionBuffered:
				fmt.Fprintf(&b, "  buffered %s %s\n", n.Awakeable, n.Result)
			case engine.NotePurged:
				fmt.Fprintf(&b, "  purged %s %s\n", n.Reason, n.Invocation)
			default:
				fmt.Fprintf(&b, "  note(%d) %s\n", n.Kind, n.Invocation)
			}
		}
	}
	return names(strings.TrimSuffix(b.String(), "\n"))
}

// timerName names a timer: its kind and what it is for.
func timerName(tm engine.Timer) string {
	switch tm.Kind {
	case engine.TimerSleep:
		return fmt.Sprintf("sleep %s[%d]", tm.Invocation, tm.Index)
	case engine.TimerWorkflowRetention:
		return fmt.Sprintf("retention %s/%s", tm.Service, tm.Key)
	case engine.TimerRetentionSweep:
		return "retention-sweep"
	}
	return fmt.Sprintf("%s %s", tm.Kind, tm.Invocation)
}
