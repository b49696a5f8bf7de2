package event

import (
	"encoding/binary"
	"hash/fnv"
	"math"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Hash folds every field of every event of h into one 64-bit FNV-1a hash: the trace hash that
// must be equal for equal seeds. Strings and byte slices are length-prefixed, so that moving
// bytes from one field to the next changes the hash.
func Hash(h *History) uint64 {
	f := fnv.New64a()
	var buf []byte
	for i := range h.Events {
		buf = AppendHash(buf[:0], &h.Events[i])
		f.Write(buf)
	}
	return f.Sum64()
}

// AppendHash appends the hashed encoding of one event to b.
func AppendHash(b []byte, e *Event) []byte {
	b = binary.AppendVarint(b, int64(e.At))
	b = append(b, byte(e.Kind))
	b = appendString(b, e.Node)
	b = append(b, e.Invocation[:]...)
	b = binary.AppendUvarint(b, uint64(e.Attempt))
	b = binary.AppendUvarint(b, uint64(e.Index))
	b = appendEntry(b, e.Entry)
	b = binary.AppendUvarint(b, uint64(len(e.Journal)))
	for _, en := range e.Journal {
		b = appendEntry(b, en)
	}
	b = appendResult(b, e.Result)
	for _, s := range [...]string{e.Awakeable, e.Reason, e.Service, e.Handler, e.Key, e.Promise, e.IdempotencyKey} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.AppendVarint(b, int64(e.Deadline))
	b = binary.AppendUvarint(b, e.Request)
	b = binary.AppendVarint(b, int64(e.Status))
	b = binary.AppendVarint(b, int64(e.Clock))
	b = append(b, byte(e.HandlerKind), byte(e.Timer), byte(e.Purge), byte(e.End), byte(e.Message))
	b = binary.AppendVarint(b, int64(e.Span))
	b = appendHTTP(b, e.HTTP)
	b = appendSpec(b, e.Spec)
	return appendRuntime(b, e.Runtime)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendEntry(b []byte, e journal.Entry) []byte {
	b = append(b, byte(e.Kind))
	b = appendString(b, e.Name)
	b = appendString(b, e.Target)
	if e.Completed {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendResult(b, e.Param)
	b = binary.AppendVarint(b, int64(e.Duration))
	b = binary.AppendVarint(b, e.Deadline)
	return appendResult(b, e.Result)
}

func appendResult(b []byte, r journal.Result) []byte {
	b = appendBytes(b, r.Value)
	if r.Failure == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(r.Failure.Code))
	return appendString(b, r.Failure.Message)
}

func appendHTTP(b []byte, h *HTTP) []byte {
	if h == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, h.Method)
	b = appendString(b, h.Path)
	b = binary.AppendVarint(b, int64(h.Status))
	b = binary.AppendUvarint(b, uint64(len(h.Header)))
	for _, f := range h.Header {
		b = appendString(b, f.Name)
		b = appendString(b, f.Value)
	}
	return appendBytes(b, h.Body)
}

func appendSpec(b []byte, s *protocol.ServiceSpec) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, s.Name)
	b = append(b, byte(s.Kind))
	b = binary.AppendUvarint(b, uint64(len(s.Handlers)))
	for _, h := range s.Handlers {
		b = appendString(b, h.Name)
		b = append(b, byte(h.Kind))
	}
	b = binary.AppendVarint(b, int64(s.Retention))
	return binary.AppendVarint(b, int64(s.IdempotencyRetention))
}

func appendRuntime(b []byte, r *Runtime) []byte {
	if r == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, int64(r.RetryInitialInterval))
	b = binary.AppendUvarint(b, math.Float64bits(r.RetryFactor))
	b = binary.AppendVarint(b, int64(r.RetryMaxInterval))
	b = binary.AppendUvarint(b, uint64(r.RetryMaxAttempts))
	b = binary.AppendVarint(b, int64(r.InactivityMax))
	return binary.AppendUvarint(b, r.SuspendAtOncePercent)
}
