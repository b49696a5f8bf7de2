package freelist

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPop: the last element comes off first, its slot in the backing array is zeroed (so the
// list keeps nothing it handed out alive), and an empty list gives the zero value and false.
func TestPop(t *testing.T) {
	a, b := new(int), new(int)
	list := []*int{a, b}
	backing := list[:2]

	v, ok := Pop(&list)
	require.True(t, ok)
	assert.Same(t, b, v)
	assert.Len(t, list, 1)
	assert.Nil(t, backing[1], "the popped slot still holds the element")

	v, ok = Pop(&list)
	require.True(t, ok)
	assert.Same(t, a, v)
	assert.Nil(t, backing[0])

	v, ok = Pop(&list)
	assert.False(t, ok)
	assert.Nil(t, v)
	assert.Empty(t, list)
}
