package engine

import "github.com/vigilsim/vigil/runtime/protocol"

// WaitingOn returns the invocation whose output request id waits for (a call, an attach, or a
// workflow attach the engine has not answered yet), and reports whether it waits on one. A
// driver that must give up on such a request (at shutdown, or when its store fails) can then
// tell the client which invocation to attach to later, instead of an error that names none.
// It reads volatile state only and changes nothing; a request that was answered, forgotten or
// never seen waits on nothing.
func (e *Engine) WaitingOn(id RequestID) (protocol.InvocationID, bool) {
	return e.waitingOn.Get(id)
}
