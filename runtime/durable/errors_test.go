package durable_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
)

var errCause = errors.New("the cause")

func TestTerminalErrorNil(t *testing.T) {
	assert.NoError(t, durable.TerminalError(nil))
	assert.NoError(t, durable.TerminalError(nil, 404))
	assert.False(t, durable.IsTerminalError(nil))
}

func TestTerminalErrorDefaults(t *testing.T) {
	err := durable.TerminalError(errCause)
	require.Error(t, err)
	assert.True(t, durable.IsTerminalError(err))
	assert.Equal(t, uint16(500), durable.ErrorCode(err))
	assert.Equal(t, uint16(durable.DefaultTerminalCode), durable.ErrorCode(err))
	assert.Equal(t, "the cause", err.Error(), "the message is the cause's, unchanged")
}

func TestTerminalErrorCode(t *testing.T) {
	for _, code := range []uint16{400, 404, 409, 422, 500, 503} {
		err := durable.TerminalError(errCause, code)
		assert.Equal(t, code, durable.ErrorCode(err))
		assert.True(t, durable.IsTerminalError(err))
	}
}

func TestTerminalErrorWrapping(t *testing.T) {
	term := durable.TerminalError(fmt.Errorf("open config: %w", fs.ErrNotExist), 404)

	// errors.Is and errors.As see through the terminal error to its cause.
	assert.ErrorIs(t, term, fs.ErrNotExist)
	var pathErr *fs.PathError
	assert.False(t, errors.As(term, &pathErr))
	withPath := durable.TerminalError(&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission}, 403)
	require.True(t, errors.As(withPath, &pathErr))
	assert.Equal(t, "/x", pathErr.Path)
	assert.ErrorIs(t, withPath, fs.ErrPermission)

	// A terminal error wrapped by ordinary errors stays terminal, with its code.
	wrapped := fmt.Errorf("step 2: %w", term)
	assert.True(t, durable.IsTerminalError(wrapped))
	assert.Equal(t, uint16(404), durable.ErrorCode(wrapped))
	assert.ErrorIs(t, wrapped, fs.ErrNotExist)
	assert.Equal(t, "step 2: open config: file does not exist", wrapped.Error())

	joined := errors.Join(errors.New("other"), term)
	assert.True(t, durable.IsTerminalError(joined))
	assert.Equal(t, uint16(404), durable.ErrorCode(joined))

	// Re-marking a terminal error with another code: the outermost code wins.
	remarked := durable.TerminalError(wrapped, 409)
	assert.Equal(t, uint16(409), durable.ErrorCode(remarked))
	assert.ErrorIs(t, remarked, fs.ErrNotExist)
}

func TestNonTerminalErrors(t *testing.T) {
	for _, err := range []error{errCause, fmt.Errorf("wrapped: %w", errCause), errors.Join(errCause, errCause)} {
		assert.False(t, durable.IsTerminalError(err), "%v", err)
		assert.Equal(t, uint16(500), durable.ErrorCode(err), "%v", err)
	}
}
