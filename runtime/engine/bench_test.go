package engine_test

import (
	"testing"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// benchLifecycle runs b.N typical invocations through the engine: call, awakeable command, run
// command, resolve over ingress, end; each input is followed by a Ready, as a driver would take
// it, and its batch applied to a mem store (the engine reads finished invocations back from
// it). With sync, every batch is synced too.
func benchLifecycle(b *testing.B, withStore bool) {
	var next uint64
	st := mem.New()
	cfg := engine.Config{
		Services: testServices,
		Store:    st,
		Clock:    fakeclock.NewFake(epoch),
		NewID: func() protocol.InvocationID {
			next++
			return idN(next)
		},
	}
	e := engine.New(cfg)
	take := func() {
		r := e.Ready()
		if err := st.Apply(r.Batch); err != nil {
			b.Fatal(err)
		}
		if withStore {
			if err := st.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	input := []byte(`{"doc":7}`)
	runEn := runEntry("charge", `{"ok":true}`)
	awEn := awakeableEntry()
	out := []byte(`"done"`)
	callReq := ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: "approve", Body: input}
	resolveReq := ingress.Request{Kind: ingress.ResolveAwakeable, Body: []byte(`"approved"`)}
	endM := endMsg(protocol.InvocationID{}, 1, 3, "")
	endM.Entry.Result.Value = out
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := engine.RequestID(i)
		e.Ingress(req, callReq)
		take()
		id := idN(next)
		e.Receive(cmd(id, 1, 1, awEn))
		take()
		e.Receive(cmd(id, 1, 2, runEn))
		take()
		resolveReq.AwakeableID = awk(id, 1)
		e.Ingress(req, resolveReq)
		take()
		endM.Invocation = id
		e.Receive(endM)
		take()
	}
}

func BenchmarkLifecycle(b *testing.B)          { benchLifecycle(b, false) }
func BenchmarkLifecycleWithStore(b *testing.B) { benchLifecycle(b, true) }

// BenchmarkRecover measures recovery of a store holding 1000 finished and 1000 suspended
// invocations of five journal entries each.
func BenchmarkRecover(b *testing.B) {
	h := newHarness(b)
	for i := range 2000 {
		id := h.started(`{"doc":7}`)
		h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
		h.eng.Receive(cmd(id, 1, 2, runEntry("charge", `{"ok":true}`)))
		h.eng.Receive(cmd(id, 1, 3, awakeableEntry()))
		if i%2 == 0 {
			h.eng.Receive(endMsg(id, 1, 4, `"done"`))
		} else {
			h.eng.Receive(suspendMsg(id, 1, 4, 1, 3))
		}
		h.step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := engine.Recover(h.cfg); err != nil {
			b.Fatal(err)
		}
	}
}
