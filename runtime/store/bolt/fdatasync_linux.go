package bolt

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data, and the metadata needed to read it back, to stable storage: what
// bbolt calls on Linux too. Unlike fsync it does not flush timestamps, which the log, overwritten
// in place, changes on every record.
func fdatasync(f *os.File) error {
	return syscall.Fdatasync(int(f.Fd()))
}
