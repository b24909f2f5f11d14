//go:build unix

package experiment

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with the pid exists; one of another user exists
// too (EPERM).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
