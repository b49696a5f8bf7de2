//go:build !vigil_mutants

package mutant

// Enabled reports whether this build can plant mutants (built with -tags vigil_mutants).
const Enabled = false

// On reports whether the mutant id is planted. Without the vigil_mutants tag it is always false
// and inlines to a constant, so the planted branches compile away.
func On(ID) bool { return false }

// Plant is a no-op without the vigil_mutants tag; it reports false to say nothing was planted.
func Plant(ID) bool { return false }
