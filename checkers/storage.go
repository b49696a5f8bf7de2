package checkers

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

const storageName = "storage"

// Row is one key and value of the runtime's store, as the store holds it at the end of a run.
type Row struct {
	Key   string
	Value []byte
}

// StorageAudit compares the store at the end of a run (rows, read from the store itself, not
// through the engine) with a model derived from the history, so that what the engine forgot to
// delete, or changed after the fact, cannot hide behind the engine's own notes:
//
//   - what was purged is gone: a purged invocation's record, journal, early completions and
//     retention entry; a purged workflow's record, promises and state; a purged idempotency key;
//   - a finished invocation's journal is exactly the final journal its InvocationDone recorded:
//     nothing changed, added or lost since it finished; its record is a finished one (fin/), and
//     it has one retention entry (ret/) unless it is a workflow's run, purged with its workflow;
//   - nothing is unaccounted for: every row belongs to an invocation accepted and not purged, a
//     workflow run since its last purge, a promise completed since then, a key some invocation
//     targeted, or an idempotency key a client sent with exactly that service, handler and key;
//   - nothing was set aside (q/): the simulated disk loses only what the store contract allows.
//
// It also holds every idempotency key the engine purged to that last rule: a key whose scope no
// client used was written under the wrong scope.
//
// The key layout it reads is the engine's documented one (runtime/engine/records.go), parsed
// here on its own so that the audit does not reuse the engine's decoder.
func StorageAudit(h History, rows []Row) []Violation { return StorageAuditRead(h, rows, nil) }

// StorageAuditRead is StorageAudit with the requests' readings of read (ReadRequests; nil for
// none) taken where they are the ones the audit would make.
func StorageAuditRead(h History, rows []Row, read *ReadRequests) []Violation {
	var j StorageJudge
	return j.Judge(&h, rows, read)
}

// StorageJudge is StorageAuditRead with its model kept from one call to the next: its maps and
// slices are emptied for each history, not made again, which a simulator judging thousands of
// small runs one after another feels. Nothing of one call is seen by the next (the model
// forgets everything of a history before it reads another) and the violations a call returns
// are its caller's. The zero value is ready; it is not safe for concurrent use.
type StorageJudge struct {
	m storageModel
	// finished is the room of the audit's list of finished invocations (storageAudit.finished).
	finished []*storedInvocation
	// in gives the journal rows' decoded names, targets and failures (UnmarshalInternedEntry):
	// the rows of every history name the same few, and the entry lives only for one comparison,
	// so sharing them is invisible, and the decoding (and its checks) is the same.
	in journal.Interner
	// a is the audit Begin started and End finishes; h its history.
	a storageAudit
	h *History
}

// Judge is StorageAuditRead(*h, rows, read) on j's kept model.
func (j *StorageJudge) Judge(h *History, rows []Row, read *ReadRequests) []Violation {
	return j.judge(h, nil, rows, read)
}

// JudgeIndexed is Judge(x.H, rows, read) reading the events it models from x, h's index (as
// AllJudge.Index gives it), instead of walking the whole history: they are a tenth of it.
func (j *StorageJudge) JudgeIndexed(x *Index, rows []Row, read *ReadRequests) []Violation {
	return j.judge(x.H, x, rows, read)
}

// judge is Judge, with the model built from x, h's index, when it is not nil.
func (j *StorageJudge) judge(h *History, x *Index, rows []Row, read *ReadRequests) []Violation {
	j.Begin(h, x, read)
	for _, r := range rows {
		j.Row(r)
	}
	return j.End()
}

// Begin starts an audit of the rows Row is given next, as JudgeIndexed(x, rows, read) (x nil:
// Judge(h, rows, read)) judges rows; End finishes it and returns its violations. A row is
// judged as it comes, its Value read only during the call, so that a store's own buffer, valid
// while it is read, needs no copy. Every Begin must be followed by an End.
func (j *StorageJudge) Begin(h *History, x *Index, read *ReadRequests) {
	j.m.build(h, x, read)
	j.a = storageAudit{m: &j.m, ids: j.finished[:0], in: &j.in}
	j.h = h
}

// Row judges one row of the audit Begin started: the rows of the store, in its order.
func (j *StorageJudge) Row(r Row) {
	a := &j.a
	if why := a.row(r); why != "" {
		a.vs = append(a.vs, Violation{Checker: storageName, Invocation: a.inv, Message: fmt.Sprintf("store key %q: %s", r.Key, why)})
	}
}

// End finishes the audit Begin started, once Row was given every row, and returns its
// violations (the caller's). The model is forgotten: nothing of the history stays in j.
func (j *StorageJudge) End() []Violation {
	m, a, h := &j.m, &j.a, j.h
	defer m.forget()
	a.finished()
	clear(a.ids) // the records are the model's, emptied by forget: only the room is kept
	j.finished = a.ids[:0]
	for _, i := range m.idemPurges {
		e := &h.Events[i]
		if !m.idemUsed.get(idemScope{e.Service, e.Handler, e.Key, e.IdempotencyKey}) {
			a.vs = append(a.vs, newViolation(storageName, e.Invocation, fmt.Sprintf(
				"the engine purged idempotency key %q of %s/%s/%s, a scope no client sent it with", e.IdempotencyKey, e.Service, e.Handler, e.Key), i))
		}
	}
	vs := a.vs
	j.a, j.h = storageAudit{}, nil // nothing of this audit stays reachable
	return vs
}

type idemScope struct{ service, handler, key, idemKey string }

// storageModel is what the history says the store must hold at its end.
type storageModel struct {
	// invs numbers the invocations the history names (accepted, finished or purged), in the
	// order it first names them; recs holds what is known of each, by that number: one map
	// lookup per row finds everything the audit reads of its invocation.
	invs smallMap[protocol.InvocationID, int]
	recs []storedInvocation
	// keyLive: some invocation targeted the object or workflow key (since the workflow's last
	// purge); runSince: a workflow run was accepted since its last purge.
	keyLive  smallMap[keyRef, bool]
	runSince smallMap[keyRef, bool]
	promises smallMap[promiseRef, bool]
	// idemUsed: scopes clients sent an idempotency key with; idemLive: scopes whose key the
	// engine has not purged since it last accepted an invocation with it.
	idemUsed   smallMap[idemScope, bool]
	idemLive   smallMap[idemScope, protocol.InvocationID]
	idemPurges []int
	// services are the services declared so far, while the model is built.
	services map[string]*protocol.ServiceSpec
}

// storedInvocation is what the model knows of one invocation, and what the audit found of it.
type storedInvocation struct {
	id protocol.InvocationID
	// hex is id in lowercase hex digits, as the engine's keys spell it: a row's ID is matched
	// against the few records' by comparing strings, before it is read digit by digit.
	hex [32]byte
	// accepted is its last InvocationAccepted (into the history: an Event is too large to copy),
	// nil when none; done tells that it has an InvocationDone, final the journal of the last.
	accepted *Event
	done     bool
	final    []journal.Entry
	purged   bool
	// seen marks the indices of final whose journal rows the audit met (jnl/ rows of one
	// invocation, by index: two spellings of one index count once); rows counts them and
	// retained its retention entries (ret/).
	seen     []bool
	rows     int
	retained int
}

// rec returns the record of id, made when the history names id for the first time.
func (m *storageModel) rec(id protocol.InvocationID) *storedInvocation {
	n, ok := m.invs.lookup(id)
	if !ok {
		n = len(m.recs)
		m.invs.vals[m.invs.insert(id)] = n // not there: no second search
		// A record of an earlier history left its seen marks' room behind (forget).
		var seen []bool
		if n < cap(m.recs) {
			seen = m.recs[:n+1][n].seen[:0]
		}
		m.recs = append(m.recs, storedInvocation{id: id, seen: seen})
		hex.Encode(m.recs[n].hex[:], id[:])
	}
	return &m.recs[n]
}

// forget empties the model, keeping its room: nothing of the history it was built from stays
// reachable from it (the records' seen marks keep only their room).
func (m *storageModel) forget() {
	for n := range m.recs {
		m.recs[n] = storedInvocation{seen: m.recs[n].seen[:0]}
	}
	m.recs = m.recs[:0]
	m.invs.reset()
	m.keyLive.reset()
	m.runSince.reset()
	m.promises.reset()
	m.idemUsed.reset()
	m.idemLive.reset()
	m.idemPurges = m.idemPurges[:0]
	clear(m.services)
}

// storageKinds are the kinds of event the model is built from.
var storageKinds = [...]EventKind{ServiceDeclared, ClientRequest, InvocationAccepted, InvocationDone, PromiseCompleted, Purged}

// build fills the (empty) model from h, reading the events of storageKinds in history order:
// from x, h's index, when it is not nil, else from h itself.
func (m *storageModel) build(h *History, x *Index, read *ReadRequests) {
	if m.services == nil {
		m.services = map[string]*protocol.ServiceSpec{}
	}
	services := m.services
	model := func(i int) {
		e := &h.Events[i]
		switch e.Kind {
		case ServiceDeclared:
			if e.Spec != nil {
				services[e.Spec.Name] = e.Spec
			}
		case ClientRequest:
			// A call's or send's key is its Idempotency-Key header: without one, there is
			// nothing to parse for.
			if k, _ := e.HTTP.Get("Idempotency-Key"); k == "" {
				return
			}
			// The services declared so far are those it is read with, here as in the index.
			var r *ParsedRequest
			if read.usable(services) {
				r = read.lookup(e.Request, e.HTTP)
			}
			if r == nil {
				var parsed ParsedRequest
				r = &parsed
				parseClientRequest(r, e.HTTP, services, nil)
			}
			if (r.Kind == RequestCall || r.Kind == RequestSend) && r.IdempotencyKey != "" {
				m.idemUsed.set(idemScope{r.Service, r.Handler, r.Key, r.IdempotencyKey}, true)
			}
		case InvocationAccepted:
			m.rec(e.Invocation).accepted = e
			k := keyRef{e.Service, e.Key}
			if e.Key != "" {
				m.keyLive.set(k, true)
			}
			if e.HandlerKind == event.HandlerWorkflow {
				m.runSince.set(k, true)
			}
			if e.IdempotencyKey != "" {
				m.idemLive.set(idemScope{e.Service, e.Handler, e.Key, e.IdempotencyKey}, e.Invocation)
			}
		case InvocationDone:
			r := m.rec(e.Invocation)
			r.done, r.final = true, e.Journal
		case PromiseCompleted:
			m.promises.set(promiseRef{keyRef{e.Service, e.Key}, e.Promise}, true)
		case Purged:
			m.purge(i, e)
		}
	}
	if x != nil {
		x.eachOfKinds(storageKinds[:], model)
		return
	}
	for i := range h.Events {
		model(i)
	}
}

func (m *storageModel) purge(i int, e *Event) {
	switch e.Purge {
	case event.PurgeInvocation:
		m.rec(e.Invocation).purged = true
	case event.PurgeIdempotency:
		m.idemPurges = append(m.idemPurges, i)
		m.idemLive.del(idemScope{e.Service, e.Handler, e.Key, e.IdempotencyKey})
	case event.PurgeWorkflow:
		k := keyRef{e.Service, e.Key}
		if !e.Invocation.IsZero() {
			m.rec(e.Invocation).purged = true
		}
		m.runSince.del(k)
		m.keyLive.del(k)
		m.promises.deleteFunc(func(p promiseRef) bool { return p.keyRef == k })
	}
}

type storageAudit struct {
	m   *storageModel
	inv protocol.InvocationID // the invocation the row being judged belongs to
	vs  []Violation
	// ids is the room finished lists the finished invocations in (empty: the judge's room).
	ids []*storedInvocation
	// in is the judge's Interner for decoding journal rows.
	in *journal.Interner
	// last is what invocation found for the hex ID lastHex: the rows of one invocation come
	// one after another (the store's order), and what it finds does not change during the audit.
	lastHex string
	last    struct {
		id  protocol.InvocationID
		rec *storedInvocation
		why string
	}
}

// row judges one row and says what is wrong with it, or "".
func (a *storageAudit) row(r Row) string {
	a.inv = protocol.InvocationID{}
	prefix, rest, ok := strings.Cut(r.Key, "/")
	if !ok {
		return "no prefix"
	}
	switch prefix {
	case "meta":
		if rest != "seq" {
			return "unknown meta record"
		}
		return ""
	case "q":
		return "a record was set aside by recovery, but the simulated disk loses only unsynced writes"
	case "inv", "fin":
		return a.record(prefix, rest)
	case "jnl", "jne":
		return a.indexed(prefix, rest, r.Value)
	case "ret":
		return a.retention(rest)
	case "st", "pr", "wf":
		return a.keyed(prefix, rest)
	case "idem":
		return a.idempotency(rest, r.Value)
	}
	return "unknown prefix"
}

// invocation reads the invocation a row names and returns its record, or says why the row
// cannot be an accepted, unpurged invocation's.
func (a *storageAudit) invocation(hexID string) (*storedInvocation, string) {
	if hexID == a.lastHex && a.lastHex != "" {
		a.inv = a.last.id
		return a.last.rec, a.last.why
	}
	// The ID of a record of the model, spelled as the engine spells it, is that record's: what
	// reading its digits and finding the record gives. Any other spelling is read.
	for n := range a.m.recs {
		if r := &a.m.recs[n]; string(r.hex[:]) == hexID {
			rec, why := a.recordOf(n)
			a.inv, a.lastHex = r.id, hexID
			a.last.id, a.last.rec, a.last.why = r.id, rec, why
			return rec, why
		}
	}
	id, ok := parseHex16(hexID)
	if !ok {
		return nil, "the invocation ID is not 32 hex digits"
	}
	a.inv = id
	rec, why := a.find(id)
	a.lastHex = hexID
	a.last.id, a.last.rec, a.last.why = id, rec, why
	return rec, why
}

// find returns the record of id, or says why a row of id cannot be an accepted, unpurged
// invocation's.
func (a *storageAudit) find(id protocol.InvocationID) (*storedInvocation, string) {
	n, ok := a.m.invs.lookup(id)
	if !ok {
		return nil, "no invocation of this ID was ever accepted"
	}
	return a.recordOf(n)
}

// recordOf returns the record numbered n, or says why a row of its invocation cannot be an
// accepted, unpurged invocation's.
func (a *storageAudit) recordOf(n int) (*storedInvocation, string) {
	switch {
	case a.m.recs[n].accepted == nil:
		return nil, "no invocation of this ID was ever accepted"
	case a.m.recs[n].purged:
		return nil, "the invocation was purged, yet this row remains"
	}
	return &a.m.recs[n], ""
}

func (a *storageAudit) record(prefix, hexID string) string {
	r, why := a.invocation(hexID)
	if why != "" {
		return why
	}
	switch {
	case prefix == "inv" && r.done:
		return "the invocation finished, yet its record is still an unfinished one"
	case prefix == "fin" && !r.done:
		return "a finished record of an invocation whose output was never durable"
	}
	return ""
}

func (a *storageAudit) indexed(prefix, rest string, value []byte) string {
	hexID, idxHex, ok := strings.Cut(rest, "/")
	idx, hexOK := parseHex8(idxHex)
	if !ok || !hexOK {
		return "not <invocation>/<8 hex digits>"
	}
	r, why := a.invocation(hexID)
	if why != "" {
		return why
	}
	final, done := r.final, r.done
	switch {
	case prefix == "jne" && done:
		return "an early completion of a finished invocation (finishing drops them)"
	case prefix == "jne":
		return ""
	case !done:
		return ""
	case idx >= uint64(len(final)):
		return fmt.Sprintf("journal entry %d of a finished invocation whose final journal has %d entries", idx, len(final))
	}
	if len(r.seen) == 0 { // final is not empty: idx is in it
		r.seen = slices.Grow(r.seen[:0], len(final))[:len(final)]
		clear(r.seen) // room an earlier history's record left
	}
	if !r.seen[idx] {
		r.seen[idx] = true
		r.rows++
	}
	// The decoded entry lives only for the comparison below, so its values may be the row's
	// own bytes and its strings and failures the judge's shared ones (UnmarshalInternedEntry)
	// instead of copies: the decoding is the same.
	en, err := journal.UnmarshalInternedEntry(value, a.in)
	if err != nil {
		return fmt.Sprintf("journal entry %d does not decode: %v", idx, err)
	}
	if !en.Equal(final[idx]) {
		return fmt.Sprintf("journal entry %d is %s, but the invocation finished with %s there", idx, en, final[idx])
	}
	return ""
}

func (a *storageAudit) retention(rest string) string {
	deadline, hexID, ok := strings.Cut(rest, "/")
	if !ok || len(deadline) != 24 {
		return "not <24 hex digits>/<invocation>"
	}
	r, why := a.invocation(hexID)
	if why != "" {
		return why
	}
	r.retained++
	switch {
	case !r.done:
		return "a retention entry of an unfinished invocation"
	case r.accepted.HandlerKind == event.HandlerWorkflow:
		return "a retention entry of a workflow's run, which is purged with its workflow"
	}
	return ""
}

// finished reports finished invocations whose journal rows are missing or whose retention
// entry is missing or repeated.
func (a *storageAudit) finished() {
	ids := a.ids[:0]
	for n := range a.m.recs {
		if r := &a.m.recs[n]; r.done && !r.purged {
			ids = append(ids, r)
		}
	}
	a.ids = ids
	slices.SortFunc(ids, compareStored)
	for _, r := range ids {
		id := r.id
		if r.rows != len(r.final) {
			a.vs = append(a.vs, Violation{Checker: storageName, Invocation: id, Message: fmt.Sprintf(
				"the store holds %d of the %d entries of the invocation's final journal", r.rows, len(r.final))})
		}
		want := 1
		if acc := r.accepted; acc != nil && acc.HandlerKind == event.HandlerWorkflow {
			want = 0
		}
		if got := r.retained; got != want {
			a.vs = append(a.vs, Violation{Checker: storageName, Invocation: id, Message: fmt.Sprintf(
				"the finished invocation has %d retention entries, want %d", got, want)})
		}
	}
}

// compareStored orders records by their invocation's ID.
func compareStored(x, y *storedInvocation) int { return compareInvocations(x.id, y.id) }

// keyed judges a state value, a completed promise or a workflow record.
func (a *storageAudit) keyed(prefix, rest string) string {
	want := 3
	if prefix == "wf" {
		want = 2
	}
	var buf [4]string
	parts, why := splitEscaped(buf[:want], rest)
	if why == errPartCount {
		return fmt.Sprintf("want %d path-escaped parts", want)
	} else if why != "" {
		return why
	}
	k := keyRef{parts[0], parts[1]}
	switch prefix {
	case "st":
		if !a.m.keyLive.get(k) {
			return "state of a key no live invocation targeted (or of a purged workflow)"
		}
	case "pr":
		if !a.m.promises.get(promiseRef{k, parts[2]}) {
			return "a completed promise the history does not show completed since its workflow's last purge"
		}
	case "wf":
		if !a.m.runSince.get(k) {
			return "a workflow record without a run since the workflow's last purge"
		}
	}
	return ""
}

func (a *storageAudit) idempotency(rest string, value []byte) string {
	var buf [4]string
	parts, why := splitEscaped(buf[:], rest)
	if why == errPartCount {
		return "want service/handler/key/idempotency key"
	} else if why != "" {
		return why
	}
	s := idemScope{parts[0], parts[1], parts[2], parts[3]}
	if len(value) != 16 {
		return fmt.Sprintf("the value is %d bytes, want an invocation ID", len(value))
	}
	a.inv = protocol.InvocationID(value)
	switch id, live := a.m.idemLive.lookup(s); {
	case !a.m.idemUsed.get(s):
		return "no client sent this idempotency key to this service, handler and key (wrong scope)"
	case !live:
		return "the idempotency key was purged, or never accepted an invocation, yet this row remains"
	case id != a.inv:
		return fmt.Sprintf("the key names %s, but the invocation accepted with it is %s", a.inv, id)
	}
	return ""
}

// errPartCount is what splitEscaped says of a key with another number of parts than asked.
const errPartCount = "wrong number of parts"

// splitEscaped splits rest at its slashes into exactly len(parts) path-escaped parts, and
// unescapes them into parts; it says errPartCount when rest has another number of parts, or
// why a part does not unescape. Parts go to the caller's array instead of a new slice per row.
func splitEscaped(parts []string, rest string) ([]string, string) {
	if strings.Count(rest, "/") != len(parts)-1 {
		return nil, errPartCount
	}
	for i := range parts {
		p, after, _ := strings.Cut(rest, "/")
		u, err := pathUnescape(p)
		if err != nil {
			return nil, "a part does not unescape"
		}
		parts[i], rest = u, after
	}
	return parts, ""
}

// parseHex16 reads 32 hex digits (either case) as an invocation ID.
func parseHex16(s string) (protocol.InvocationID, bool) {
	var id protocol.InvocationID
	if len(s) != 32 {
		return id, false
	}
	// Each digit's value or notHex, or-ed together: one test for the 32 of them.
	var bad byte
	for i := range id {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		bad |= hi | lo
		id[i] = hi<<4 | lo&0xf
	}
	if bad&notHex != 0 {
		return protocol.InvocationID{}, false
	}
	return id, true
}

// parseHex8 reads exactly 8 hex digits (either case), as strconv.ParseUint(s, 16, 32) reads a
// string of length 8 without error, without its generality.
func parseHex8(s string) (uint64, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var v uint64
	var bad byte
	for i := range len(s) {
		d := hexValue[s[i]]
		bad |= d
		v = v<<4 | uint64(d&0xf)
	}
	if bad&notHex != 0 {
		return 0, false
	}
	return v, true
}

// hexValue is the value of each byte as one hex digit, either case, as strconv reads it in base
// 16, or notHex when it is none: a table instead of a test per range, read 40 times per
// journal row.
var hexValue = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		default:
			t[c] = notHex
		}
	}
	return t
}()

// notHex marks a byte that is no hex digit in hexValue: a bit no digit's value (below 16) has.
const notHex = 0x80
