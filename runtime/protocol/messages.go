package protocol

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
)

// Kind tells which message a Message is.
type Kind uint8

// Message kinds. Start, Completion, Ack, Abort and Durable go from the engine's side to the
// executor; Command, Suspend, End, Error and Parked go from the executor to the engine's side.
const (
	KindStart      Kind = 1
	KindCompletion Kind = 2
	KindAck        Kind = 3
	KindAbort      Kind = 4
	KindCommand    Kind = 5
	KindSuspend    Kind = 6
	KindEnd        Kind = 7
	KindError      Kind = 8
	// KindDurable tells a gated attempt (see Message.Gated) that its start is durable. The
	// driver (host.Core) sends it after the sync that made the start's batch durable; the
	// engine never produces it.
	KindDurable Kind = 9
	// KindParked tells the driver that a gated attempt waits (for its Durable or a completion)
	// and will send nothing until then, so the driver need not hold its group open for it. The
	// driver consumes it; the engine ignores it.
	KindParked Kind = 10

	lastKind = KindParked
)

// String names the kind as traces print it.
func (k Kind) String() string {
	switch k {
	case KindStart:
		return "start"
	case KindCompletion:
		return "completion"
	case KindAck:
		return "ack"
	case KindAbort:
		return "abort"
	case KindCommand:
		return "command"
	case KindSuspend:
		return "suspend"
	case KindEnd:
		return "end"
	case KindError:
		return "error"
	case KindDurable:
		return "durable"
	case KindParked:
		return "parked"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// ToExecutor reports whether messages of this kind travel from the engine to the executor.
func (k Kind) ToExecutor() bool { return k >= KindStart && k <= KindAbort || k == KindDurable }

// Message is one engine<->executor message. It is a flat struct rather than an interface so that
// links and queues move it without allocating; which fields are meaningful depends on Kind:
//
//   - Start: Service, Handler, Key (objects and workflows), Journal (every entry so far,
//     completions included), State (the key's state when the attempt starts, as get-state
//     entries sorted by name: Name is the state key, Result.Value the value) and Gated.
//   - Durable: nothing more; the gated attempt's start is durable.
//   - Parked: nothing more; the gated attempt waits and sends nothing until woken.
//   - Completion: Index and Entry (the completed entry; its Result is the completion).
//   - Ack: Index (the entry at Index is durable).
//   - Abort: nothing more; the attempt must stop.
//   - Command: Index and Entry (a new journal entry the handler produced).
//   - Suspend: WaitingOn (indices of which any one completing resumes the handler).
//   - End: Index and Entry (the output entry).
//   - Error: Retryable and Message.
type Message struct {
	Kind       Kind
	Invocation InvocationID
	Attempt    uint32

	Service string
	Handler string
	Key     string
	Journal []journal.Entry
	State   []journal.Entry

	Index uint32
	Entry journal.Entry

	WaitingOn []uint32

	Retryable bool
	Message   string

	// Gated marks a Start that is in the same store batch as its invocation's acceptance: the
	// driver may send it before that batch is durable (so that a call that ends inside one
	// group commit costs one fsync), and the attempt must run no side effect (Run) until a
	// Durable for it arrives. Should the batch be lost in a crash, the invocation is lost with
	// it, and nothing its speculative attempt did is visible outside.
	Gated bool
}

// String renders the message compactly for traces.
func (m Message) String() string {
	head := fmt.Sprintf("%s %s#%d", m.Kind, m.Invocation, m.Attempt)
	switch m.Kind {
	case KindStart:
		gated := ""
		if m.Gated {
			gated = " gated"
		}
		if m.Key != "" {
			return fmt.Sprintf("%s %s/%s/%s journal=%d state=%d%s", head, m.Service, m.Key, m.Handler, len(m.Journal), len(m.State), gated)
		}
		return fmt.Sprintf("%s %s/%s journal=%d%s", head, m.Service, m.Handler, len(m.Journal), gated)
	case KindCompletion, KindCommand, KindEnd:
		return fmt.Sprintf("%s [%d] %s", head, m.Index, m.Entry)
	case KindAck:
		return fmt.Sprintf("%s [%d]", head, m.Index)
	case KindSuspend:
		return fmt.Sprintf("%s waiting=%v", head, m.WaitingOn)
	case KindError:
		return fmt.Sprintf("%s retryable=%t %q", head, m.Retryable, m.Message)
	default:
		return head
	}
}
