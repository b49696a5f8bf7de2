//go:build vigil_mutants

package mutant

// Enabled reports whether this build can plant mutants (built with -tags vigil_mutants).
const Enabled = true

// planted is process-wide on purpose: mutant builds exist only to run campaigns one mutant at a
// time, and threading a flag through every layer would put the test hook into production APIs.
var planted ID

// On reports whether the mutant id is planted.
func On(id ID) bool { return planted == id && id != None }

// Plant plants id (None removes any mutant) and reports true.
func Plant(id ID) bool {
	planted = id
	return true
}
