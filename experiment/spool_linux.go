//go:build linux

package experiment

import (
	"errors"
	"os"
	"syscall"
)

// oTmpfile is Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY), which the syscall package
// does not name: a file in dir that never has a name.
const oTmpfile = 0o20000000 | syscall.O_DIRECTORY

// namelessFile opens a file in dir that has no name from the start, so that not even the
// moment between creating and removing leaves one behind; ok is false where the file
// system cannot (the caller then creates and removes).
func namelessFile(dir string) (f *os.File, ok bool, err error) {
	f, err = os.OpenFile(dir, oTmpfile|os.O_RDWR, 0o600)
	switch {
	case err == nil:
		return f, true, nil
	case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EINVAL):
		return nil, false, nil
	default:
		return nil, false, err
	}
}
