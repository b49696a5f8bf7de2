package checkers

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
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
func StorageAudit(h History, rows []Row) []Violation {
	m := newStorageModel(h)
	a := storageAudit{m: m, journals: map[protocol.InvocationID]map[uint32][]byte{}, retained: map[protocol.InvocationID]int{}}
	for _, r := range rows {
		if why := a.row(r); why != "" {
			a.vs = append(a.vs, Violation{Checker: storageName, Invocation: a.inv, Message: fmt.Sprintf("store key %q: %s", r.Key, why)})
		}
	}
	a.finished()
	for _, i := range m.idemPurges {
		e := h.Events[i]
		if !m.idemUsed[idemScope{e.Service, e.Handler, e.Key, e.IdempotencyKey}] {
			a.vs = append(a.vs, newViolation(storageName, e.Invocation, fmt.Sprintf(
				"the engine purged idempotency key %q of %s/%s/%s, a scope no client sent it with", e.IdempotencyKey, e.Service, e.Handler, e.Key), i))
		}
	}
	return a.vs
}

type idemScope struct{ service, handler, key, idemKey string }

// storageModel is what the history says the store must hold at its end.
type storageModel struct {
	accepted map[protocol.InvocationID]*Event // into the history: an Event is too large to copy into a map
	final    map[protocol.InvocationID][]journal.Entry
	purged   map[protocol.InvocationID]bool
	// keyLive: some invocation targeted the object or workflow key (since the workflow's last
	// purge); runSince: a workflow run was accepted since its last purge.
	keyLive  map[keyRef]bool
	runSince map[keyRef]bool
	promises map[promiseRef]bool
	// idemUsed: scopes clients sent an idempotency key with; idemLive: scopes whose key the
	// engine has not purged since it last accepted an invocation with it.
	idemUsed   map[idemScope]bool
	idemLive   map[idemScope]protocol.InvocationID
	idemPurges []int
}

func newStorageModel(h History) *storageModel {
	m := &storageModel{
		accepted: map[protocol.InvocationID]*Event{}, final: map[protocol.InvocationID][]journal.Entry{},
		purged: map[protocol.InvocationID]bool{}, keyLive: map[keyRef]bool{}, runSince: map[keyRef]bool{},
		promises: map[promiseRef]bool{}, idemUsed: map[idemScope]bool{}, idemLive: map[idemScope]protocol.InvocationID{},
	}
	services := map[string]*protocol.ServiceSpec{}
	for i := range h.Events {
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
				continue
			}
			if r := ParseClientRequest(e.HTTP, services); (r.Kind == RequestCall || r.Kind == RequestSend) && r.IdempotencyKey != "" {
				m.idemUsed[idemScope{r.Service, r.Handler, r.Key, r.IdempotencyKey}] = true
			}
		case InvocationAccepted:
			m.accepted[e.Invocation] = e
			k := keyRef{e.Service, e.Key}
			if e.Key != "" {
				m.keyLive[k] = true
			}
			if e.HandlerKind == event.HandlerWorkflow {
				m.runSince[k] = true
			}
			if e.IdempotencyKey != "" {
				m.idemLive[idemScope{e.Service, e.Handler, e.Key, e.IdempotencyKey}] = e.Invocation
			}
		case InvocationDone:
			m.final[e.Invocation] = e.Journal
		case PromiseCompleted:
			m.promises[promiseRef{keyRef{e.Service, e.Key}, e.Promise}] = true
		case Purged:
			m.purge(i, e)
		}
	}
	return m
}

func (m *storageModel) purge(i int, e *Event) {
	switch e.Purge {
	case event.PurgeInvocation:
		m.purged[e.Invocation] = true
	case event.PurgeIdempotency:
		m.idemPurges = append(m.idemPurges, i)
		delete(m.idemLive, idemScope{e.Service, e.Handler, e.Key, e.IdempotencyKey})
	case event.PurgeWorkflow:
		k := keyRef{e.Service, e.Key}
		if !e.Invocation.IsZero() {
			m.purged[e.Invocation] = true
		}
		delete(m.runSince, k)
		delete(m.keyLive, k)
		for p := range m.promises {
			if p.keyRef == k {
				delete(m.promises, p)
			}
		}
	}
}

type storageAudit struct {
	m        *storageModel
	inv      protocol.InvocationID // the invocation the row being judged belongs to
	journals map[protocol.InvocationID]map[uint32][]byte
	retained map[protocol.InvocationID]int
	vs       []Violation
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

func (a *storageAudit) invocation(hexID string) (Event, string) {
	id, ok := parseHex16(hexID)
	if !ok {
		return Event{}, "the invocation ID is not 32 hex digits"
	}
	a.inv = id
	acc, ok := a.m.accepted[id]
	switch {
	case !ok:
		return Event{}, "no invocation of this ID was ever accepted"
	case a.m.purged[id]:
		return *acc, "the invocation was purged, yet this row remains"
	}
	return *acc, ""
}

func (a *storageAudit) record(prefix, hexID string) string {
	if _, why := a.invocation(hexID); why != "" {
		return why
	}
	_, done := a.m.final[a.inv]
	switch {
	case prefix == "inv" && done:
		return "the invocation finished, yet its record is still an unfinished one"
	case prefix == "fin" && !done:
		return "a finished record of an invocation whose output was never durable"
	}
	return ""
}

func (a *storageAudit) indexed(prefix, rest string, value []byte) string {
	hexID, idxHex, ok := strings.Cut(rest, "/")
	idx, err := strconv.ParseUint(idxHex, 16, 32)
	if !ok || err != nil || len(idxHex) != 8 {
		return "not <invocation>/<8 hex digits>"
	}
	if _, why := a.invocation(hexID); why != "" {
		return why
	}
	final, done := a.m.final[a.inv]
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
	if a.journals[a.inv] == nil {
		a.journals[a.inv] = map[uint32][]byte{}
	}
	a.journals[a.inv][uint32(idx)] = value
	en, err := journal.UnmarshalEntry(value)
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
	acc, why := a.invocation(hexID)
	if why != "" {
		return why
	}
	a.retained[a.inv]++
	switch _, done := a.m.final[a.inv]; {
	case !done:
		return "a retention entry of an unfinished invocation"
	case acc.HandlerKind == event.HandlerWorkflow:
		return "a retention entry of a workflow's run, which is purged with its workflow"
	}
	return ""
}

// finished reports finished invocations whose journal rows are missing or whose retention
// entry is missing or repeated.
func (a *storageAudit) finished() {
	ids := make([]protocol.InvocationID, 0, len(a.m.final))
	for id := range a.m.final {
		if !a.m.purged[id] {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(x, y protocol.InvocationID) int { return strings.Compare(string(x[:]), string(y[:])) })
	for _, id := range ids {
		final, rows := a.m.final[id], a.journals[id]
		if len(rows) != len(final) {
			a.vs = append(a.vs, Violation{Checker: storageName, Invocation: id, Message: fmt.Sprintf(
				"the store holds %d of the %d entries of the invocation's final journal", len(rows), len(final))})
		}
		want := 1
		if acc := a.m.accepted[id]; acc != nil && acc.HandlerKind == event.HandlerWorkflow {
			want = 0
		}
		if got := a.retained[id]; got != want {
			a.vs = append(a.vs, Violation{Checker: storageName, Invocation: id, Message: fmt.Sprintf(
				"the finished invocation has %d retention entries, want %d", got, want)})
		}
	}
}

// keyed judges a state value, a completed promise or a workflow record.
func (a *storageAudit) keyed(prefix, rest string) string {
	parts := strings.Split(rest, "/")
	want := map[string]int{"st": 3, "pr": 3, "wf": 2}[prefix]
	if len(parts) != want {
		return fmt.Sprintf("want %d path-escaped parts", want)
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return "a part does not unescape"
		}
		parts[i] = u
	}
	k := keyRef{parts[0], parts[1]}
	switch prefix {
	case "st":
		if !a.m.keyLive[k] {
			return "state of a key no live invocation targeted (or of a purged workflow)"
		}
	case "pr":
		if !a.m.promises[promiseRef{k, parts[2]}] {
			return "a completed promise the history does not show completed since its workflow's last purge"
		}
	case "wf":
		if !a.m.runSince[k] {
			return "a workflow record without a run since the workflow's last purge"
		}
	}
	return ""
}

func (a *storageAudit) idempotency(rest string, value []byte) string {
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return "want service/handler/key/idempotency key"
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return "a part does not unescape"
		}
		parts[i] = u
	}
	s := idemScope{parts[0], parts[1], parts[2], parts[3]}
	if len(value) != 16 {
		return fmt.Sprintf("the value is %d bytes, want an invocation ID", len(value))
	}
	a.inv = protocol.InvocationID(value)
	switch id, live := a.m.idemLive[s]; {
	case !a.m.idemUsed[s]:
		return "no client sent this idempotency key to this service, handler and key (wrong scope)"
	case !live:
		return "the idempotency key was purged, or never accepted an invocation, yet this row remains"
	case id != a.inv:
		return fmt.Sprintf("the key names %s, but the invocation accepted with it is %s", a.inv, id)
	}
	return ""
}

// parseHex16 reads 32 hex digits as an invocation ID.
func parseHex16(s string) (protocol.InvocationID, bool) {
	var id protocol.InvocationID
	if len(s) != 32 {
		return id, false
	}
	for i := range id {
		b, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return id, false
		}
		id[i] = byte(b)
	}
	return id, true
}
