package durable

import (
	"errors"
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
)

// DefaultTerminalCode is the code of a terminal error created without one, as in Restate.
const DefaultTerminalCode = 500

// terminalError marks an error as terminal: it ends the invocation (or the waiter) without
// retries. It keeps the cause so errors.Is and errors.As see through it.
type terminalError struct {
	code  uint16
	cause error
}

func (e *terminalError) Error() string { return e.cause.Error() }
func (e *terminalError) Unwrap() error { return e.cause }

// TerminalError marks err as terminal: returned from a handler it fails the invocation at once
// instead of retrying; returned from a Run closure it is journaled as the run's result. The
// optional code (default 500) follows HTTP conventions and reaches the caller as the status.
func TerminalError(err error, code ...uint16) error {
	if err == nil {
		return nil
	}
	c := uint16(DefaultTerminalCode)
	if len(code) > 0 {
		c = code[0]
	}
	return &terminalError{code: c, cause: err}
}

// IsTerminalError reports whether err (or an error it wraps) is terminal.
func IsTerminalError(err error) bool {
	_, ok := terminalOf(err)
	return ok
}

// ErrorCode returns the code of a terminal error, or 500 for any other non-nil error.
func ErrorCode(err error) uint16 {
	if t, ok := terminalOf(err); ok {
		return t.code
	}
	return DefaultTerminalCode
}

// terminalOf is errors.As(err, &t) for t a *terminalError. Executors ask at the end of every
// attempt; nil and a terminal error as it was made are answered without errors.As, whose target
// would have to move to the heap.
func terminalOf(err error) (*terminalError, bool) {
	switch t := err.(type) {
	case nil:
		return nil, false
	case *terminalError:
		return t, true
	}
	var t *terminalError
	ok := errors.As(err, &t)
	return t, ok
}

// failureOf turns a terminal error into the failure that is journaled for it.
func failureOf(err error) *journal.Failure {
	return &journal.Failure{Code: ErrorCode(err), Message: err.Error()}
}

// errorOf turns a journaled failure back into the terminal error handler code sees: its cause
// says the failure's message. The two are made as one allocation (a rejected awakeable or
// promise is read at every replay of its waiter).
func errorOf(f *journal.Failure) error {
	j := &journaledFailure{terminalError: terminalError{code: f.Code}, message: failureMessage{f.Message}}
	j.cause = &j.message
	return &j.terminalError
}

// journaledFailure is the terminal error of a journaled failure and its cause, together.
type journaledFailure struct {
	terminalError
	message failureMessage
}

// failureMessage is the cause of a journaled failure's terminal error: the failure's message, as
// errors.New would make it.
type failureMessage struct{ s string }

func (m *failureMessage) Error() string { return m.s }

// decodeFailure is the terminal error for a journaled value that does not decode into the type
// the handler asked for. It is terminal on purpose: the bytes will not change on a retry, and
// Restate's endless retry in this case is a known wart.
func decodeFailure(what string, err error) error {
	return TerminalError(fmt.Errorf("decode %s: %w", what, err), 500)
}
