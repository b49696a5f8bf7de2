package engine_test

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// backedBy checks the driver's contract for one Ready r: once r's batch (and every batch before
// it) is durable, every effect r carries is backed by the durable state, so releasing it cannot
// contradict what a recovery finds. rec is an engine recovered from a store holding r's batch,
// and possibly later ones (state only moves forward). resolves maps the request IDs of resolves
// and rejects to their awakeable. It returns a description of every violation.
//
// rec is asked for outputs, so it must be a throwaway engine.
func backedBy(rec *engine.Engine, r engine.Ready, resolves map[engine.RequestID]protocol.AwakeableID) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	for _, m := range r.Messages {
		switch m.Kind {
		case protocol.KindStart:
			if a := engine.Attempt(rec, m.Invocation); a < m.Attempt {
				fail("%s: recovered attempt %d is behind the released start", m, a)
			}
			for k, en := range m.Journal {
				got, ok := engine.JournalEntry(rec, m.Invocation, uint32(k))
				switch {
				case !ok:
					fail("%s: entry %d is not durable", m, k)
				case !got.SameCommand(en):
					fail("%s: entry %d is %s durably, %s in the start", m, k, got, en)
				case en.Completed && (!got.Completed || !got.Result.Equal(en.Result)):
					fail("%s: entry %d completed with %s in the start, %s durably", m, k, en.Result, got)
				}
			}
		case protocol.KindCompletion:
			got, ok := engine.JournalEntry(rec, m.Invocation, m.Index)
			if !ok || !got.Completed || !got.Result.Equal(m.Entry.Result) {
				fail("%s: durable entry is %s (present %t)", m, got, ok)
			}
		case protocol.KindAck:
			if _, ok := engine.JournalEntry(rec, m.Invocation, m.Index); !ok {
				fail("%s: acked entry is not durable", m)
			}
		default:
			fail("%s: unexpected message kind from the engine", m)
		}
	}
	for _, n := range r.Notes {
		switch n.Kind {
		case engine.NoteCompletionAccepted:
			got, ok := engine.JournalEntry(rec, n.Invocation, n.Index)
			if !ok || !got.Completed || !got.Result.Equal(n.Result) {
				fail("accepted completion %s[%d]=%s: durable entry is %s (present %t)", n.Invocation, n.Index, n.Result, got, ok)
			}
		case engine.NoteInvocationDone:
			got, ok := engine.JournalEntry(rec, n.Invocation, n.Index)
			if engine.Status(rec, n.Invocation) != "done" || !ok || !got.Result.Equal(n.Result) {
				fail("done %s=%s: durable status %q, entry %s", n.Invocation, n.Result, engine.Status(rec, n.Invocation), got)
			}
		}
	}
	for _, rep := range r.Replies {
		resp := rep.Response
		if aid, ok := resolves[rep.Request]; ok && resp.Status == 202 {
			// An accepted resolve may lose to another completion, but it may not vanish while
			// its awakeable still waits.
			st := engine.Status(rec, aid.Invocation)
			if st == "" || st == "done" {
				continue
			}
			en, ok := engine.JournalEntry(rec, aid.Invocation, aid.Index)
			_, early := engine.EarlyCompletion(rec, aid.Invocation, aid.Index)
			if ok && en.Kind == journal.KindAwakeable && !en.Completed || !ok && !early {
				fail("resolve %s answered 202 but its awakeable %s still waits (entry %s present %t, early %t)", aid, aid, en, ok, early)
			}
			continue
		}
		if resp.InvocationID == "" {
			continue
		}
		id, err := protocol.ParseInvocationID(resp.InvocationID)
		if err != nil {
			fail("reply %d names invocation %q: %v", rep.Request, resp.InvocationID, err)
			continue
		}
		if resp.Status == 202 {
			if engine.Status(rec, id) == "" {
				fail("send answered 202 for %s, which is not durable", id)
			}
			continue
		}
		// An output: the durable state must give the same one.
		if engine.Status(rec, id) != "done" {
			fail("output of %s released (%d) but its durable status is %q", id, resp.Status, engine.Status(rec, id))
			continue
		}
		rec.Ingress(1<<62, ingress.Request{Kind: ingress.Output, InvocationID: resp.InvocationID})
		out := rec.Ready()
		var again ingress.Response
		for _, rr := range out.Replies {
			if rr.Request == 1<<62 {
				again = rr.Response
			}
		}
		if again.Status != resp.Status || string(again.Body) != string(resp.Body) || again.InvocationID != resp.InvocationID {
			fail("output of %s released as %d %s, durably %d %s", id, resp.Status, resp.Body, again.Status, again.Body)
		}
	}
	return bad
}
