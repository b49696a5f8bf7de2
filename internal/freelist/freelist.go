// Package freelist holds what the runtime's and the simulator's free lists share: taking the
// last spare off a list without leaving it referenced there. It owns no state and knows nothing
// of what the lists hold; each list's owner decides what may be kept and how it is emptied.
package freelist

// Pop removes the last element of *list and returns it, zeroing its slot so that the list's
// backing array does not keep it alive; ok is false, and v the zero value, when *list is empty.
func Pop[T any](list *[]T) (v T, ok bool) {
	s := *list
	n := len(s) - 1
	if n < 0 {
		return v, false
	}
	v = s[n]
	var zero T
	s[n] = zero
	*list = s[:n]
	return v, true
}
