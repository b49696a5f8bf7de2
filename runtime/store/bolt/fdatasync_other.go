//go:build !linux

package bolt

import "os"

// fdatasync flushes f to stable storage. Outside Linux it is fsync (on macOS, Go's Sync is
// F_FULLFSYNC), as bbolt does there.
func fdatasync(f *os.File) error {
	return f.Sync()
}
