package engine_test

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// FuzzRecover feeds Recover a store scan built from fuzz bytes and requires that it never
// panics, that it either returns an engine or an error wrapping ErrCorruptStore, and that a
// returned engine's first Ready does not panic. The store is the one input a crash, a disk
// or an older build hands the engine unchecked, and a panic there is a server that cannot
// start. The target uses the exported API only, so it keeps holding as the record formats
// change; the seeds are real records, captured from a small engine's batches.
func FuzzRecover(f *testing.F) {
	for _, snap := range seedSnapshots(f) {
		f.Add(encodeScan(snap))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var st fakeStore
		for _, rec := range decodeScan(b) {
			st.pairs = append(st.pairs, kv(rec.key, rec.value))
		}
		e, err := engine.Recover(withStore(fuzzConfig(), st))
		if err != nil {
			if !errors.Is(err, engine.ErrCorruptStore) {
				t.Fatalf("Recover = %v, want an error wrapping ErrCorruptStore", err)
			}
			return
		}
		if e == nil {
			t.Fatal("Recover returned neither an engine nor an error")
		}
		e.Ready()
	})
}

// scanPrefixes are the key prefixes of the engine's store layout. A record of the fuzz input
// picks one by its first byte, so that mutations mostly keep keys the engine recognises; the
// last, empty one lets the fuzzer write any key.
var scanPrefixes = []string{"inv/", "jne/", "jnl/", "st/", "pr/", "wf/", "idem/", "meta/seq", "q/", ""}

// maxScanRecords bounds the records one input makes, so that every input is cheap.
const maxScanRecords = 64

// scanRecord is one key and value of a store scan.
type scanRecord struct {
	key   string
	value []byte
}

// decodeScan turns fuzz bytes into a scan as Load promises one: distinct keys in ascending
// byte order. The bytes are records of a prefix selector, a uvarint length and the rest of the
// key, a uvarint length and the value; a truncated record ends the input. A key given twice
// keeps its last value, as a store does.
func decodeScan(b []byte) []scanRecord {
	byKey := map[string][]byte{}
	for range maxScanRecords {
		if len(b) == 0 {
			break
		}
		prefix := scanPrefixes[int(b[0])%len(scanPrefixes)]
		b = b[1:]
		suffix, rest, ok := cutBytes(b)
		if !ok {
			break
		}
		value, rest, ok := cutBytes(rest)
		if !ok {
			break
		}
		b = rest
		byKey[prefix+string(suffix)] = value
	}
	scan := make([]scanRecord, 0, len(byKey))
	for k, v := range byKey {
		scan = append(scan, scanRecord{k, v})
	}
	slices.SortFunc(scan, func(a, b scanRecord) int { return strings.Compare(a.key, b.key) })
	return scan
}

// cutBytes reads a uvarint length and that many bytes from the front of b.
func cutBytes(b []byte) (v, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// encodeScan writes a scan in decodeScan's format, naming each key's prefix by its selector.
func encodeScan(scan []scanRecord) []byte {
	var b []byte
	for _, r := range scan {
		sel := len(scanPrefixes) - 1
		for i, p := range scanPrefixes {
			if p != "" && strings.HasPrefix(r.key, p) {
				sel = i
				break
			}
		}
		b = append(b, byte(sel))
		b = binary.AppendUvarint(b, uint64(len(r.key)-len(scanPrefixes[sel])))
		b = append(b, r.key[len(scanPrefixes[sel]):]...)
		b = binary.AppendUvarint(b, uint64(len(r.value)))
		b = append(b, r.value...)
	}
	return b
}

// fuzzServices are a plain service, an object and a workflow, so that recovery meets records of
// every kind of key.
var fuzzServices = []protocol.ServiceSpec{
	{Name: "Greeter", Handlers: []protocol.HandlerSpec{{Name: "greet"}}},
	{Name: "Cart", Kind: protocol.ServiceObject, Handlers: []protocol.HandlerSpec{
		{Name: "add", Kind: protocol.HandlerExclusive}, {Name: "get", Kind: protocol.HandlerShared}}},
	{Name: "Review", Kind: protocol.ServiceWorkflow, Retention: time.Minute, Handlers: []protocol.HandlerSpec{
		{Name: "run", Kind: protocol.HandlerWorkflowRun}, {Name: "wait", Kind: protocol.HandlerShared}}},
}

// fuzzConfig is the configuration every recovered engine gets: a clock an hour past the seeds'
// epoch, so that some recovered timers are due, and IDs that no seed record uses.
func fuzzConfig() engine.Config {
	var n uint64
	return engine.Config{
		Services: fuzzServices,
		Clock:    fakeclock.NewFake(epoch.Add(time.Hour)),
		NewID: func() protocol.InvocationID {
			n++
			id := idN(n)
			id[0] = 0xff
			return id
		},
	}
}

// seedDriver runs an engine the way its production driver does, applying and syncing every
// batch, so that the store holds exactly the records a real run writes.
type seedDriver struct {
	tb    testing.TB
	eng   *engine.Engine
	store *mem.Store
	req   engine.RequestID
	snaps [][]scanRecord
}

// step takes Ready and makes its batch durable, and returns the Start messages it carries.
func (d *seedDriver) step() []protocol.Message {
	d.tb.Helper()
	r := d.eng.Ready()
	if err := d.store.Apply(r.Batch); err != nil {
		d.tb.Fatal(err)
	}
	if err := d.store.Sync(); err != nil {
		d.tb.Fatal(err)
	}
	var starts []protocol.Message
	for _, m := range r.Messages {
		if m.Kind == protocol.KindStart {
			starts = append(starts, m)
		}
	}
	return starts
}

// start submits req and returns the invocation and attempt that it started, if it started one.
func (d *seedDriver) start(req ingress.Request) (protocol.InvocationID, uint32, bool) {
	d.req++
	d.eng.Ingress(d.req, req)
	starts := d.step()
	if len(starts) == 0 {
		return protocol.InvocationID{}, 0, false
	}
	return starts[0].Invocation, starts[0].Attempt, true
}

// command journals en at index for an attempt, and steps.
func (d *seedDriver) command(id protocol.InvocationID, attempt, index uint32, en journal.Entry) {
	d.eng.Receive(protocol.Message{Kind: protocol.KindCommand, Invocation: id, Attempt: attempt, Index: index, Entry: en})
	d.step()
}

// snapshot records the store's contents as one seed.
func (d *seedDriver) snapshot() {
	d.tb.Helper()
	var scan []scanRecord
	if err := d.store.Load(func(key string, value []byte) error {
		scan = append(scan, scanRecord{key, slices.Clone(value)})
		return nil
	}); err != nil {
		d.tb.Fatal(err)
	}
	d.snaps = append(d.snaps, scan)
}

// seedSnapshots runs a small engine through suspensions, an early completion, object state and
// an inbox, a workflow's promise, run and retention, an idempotency key and a sleep, and returns
// the store after each stage. Stages that the engine answers differently than expected are
// skipped rather than failed: the seeds only have to be real records, not a given story.
func seedSnapshots(tb testing.TB) [][]scanRecord {
	var next uint64
	d := &seedDriver{tb: tb, store: mem.New()}
	d.eng = engine.New(engine.Config{
		Services: fuzzServices,
		Store:    d.store,
		Clock:    fakeclock.NewFake(epoch),
		NewID:    func() protocol.InvocationID { next++; return idN(next) },
	})
	body := func(s string) []byte { return []byte(s) }

	// A plain call with an idempotency key that suspends on an awakeable, and a completion of
	// an awakeable it has not journaled yet.
	if id, att, ok := d.start(ingress.Request{Kind: ingress.Call, Service: "Greeter", Handler: "greet", Body: body(`"in"`), IdempotencyKey: "k1"}); ok {
		d.command(id, att, 1, journal.Entry{Kind: journal.KindAwakeable})
		d.eng.Receive(protocol.Message{Kind: protocol.KindSuspend, Invocation: id, Attempt: att, Index: 2, WaitingOn: []uint32{1}})
		d.step()
		d.snapshot()
		d.req++
		d.eng.Ingress(d.req, ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: protocol.AwakeableID{Invocation: id, Index: 3}.String(), Body: body(`"early"`)})
		d.step()
		d.snapshot()
	}

	// An object holding its key's lock with state set, and a second call queued behind it.
	if id, att, ok := d.start(ingress.Request{Kind: ingress.Call, Service: "Cart", Key: "c/1", Handler: "add", Body: body(`1`)}); ok {
		d.command(id, att, 1, journal.Entry{Kind: journal.KindSetState, Name: "items", Param: journal.Result{Value: body(`[1]`)}})
		d.start(ingress.Request{Kind: ingress.Send, Service: "Cart", Key: "c/1", Handler: "add", Body: body(`2`)})
		d.snapshot()
	}

	// A workflow run that completes a promise, a shared handler waiting on another, and the
	// run's end, which starts its retention.
	if run, att, ok := d.start(ingress.Request{Kind: ingress.Send, Service: "Review", Key: "doc", Handler: "run", Body: body(`"doc"`)}); ok {
		d.command(run, att, 1, journal.Entry{Kind: journal.KindCompletePromise, Name: "approved", Param: journal.Result{Value: body(`true`)}})
		if w, watt, ok := d.start(ingress.Request{Kind: ingress.Send, Service: "Review", Key: "doc", Handler: "wait", Body: body(`{}`)}); ok {
			d.command(w, watt, 1, journal.Entry{Kind: journal.KindGetPromise, Name: "never"})
		}
		d.snapshot()
		d.eng.Receive(protocol.Message{Kind: protocol.KindEnd, Invocation: run, Attempt: att, Index: 2,
			Entry: journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Value: body(`"done"`)}}})
		d.step()
		d.snapshot()
	}

	// A sleep, whose timer recovery must arm again, and a retry after a failed attempt.
	if id, att, ok := d.start(ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Body: body(`2`)}); ok {
		d.command(id, att, 1, journal.Entry{Kind: journal.KindSleep, Duration: time.Minute})
		d.snapshot()
	}
	if id, att, ok := d.start(ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Body: body(`3`)}); ok {
		d.eng.Receive(protocol.Message{Kind: protocol.KindError, Invocation: id, Attempt: att, Retryable: true, Message: "boom"})
		d.step()
		d.snapshot()
	}
	return d.snaps
}
