package experiment

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Spool is a stream that can be read once (a request body, a pipe) copied to a temporary
// file, so that an import can read it as often as it needs: a file with bad lines is read
// again to name them, and again for the rejects file.
//
// The file has no name while it is used: on Linux it never has one (O_TMPFILE); elsewhere,
// or on a file system without O_TMPFILE, it is removed right after it is created. It is read
// through its descriptor, so that it ends with the process, even one killed with SIGKILL,
// and no copy of customer ids and answers outlives the import out of reach of erasure. Its
// name while it has one, krslab-spool-<pid>-<random>.csv, lets RemoveDeadSpools remove it
// should the process die in that moment.
type Spool struct {
	f    *os.File
	size int64
	path string // still named: a system that cannot remove an open file
}

// spoolPrefix begins the name of every spool file, followed by the pid of its process.
const spoolPrefix = "krslab-spool-"

// NewSpool copies r to a temporary file in dir (os.TempDir() when ""). The error of reading
// r is returned as it is, for the caller to tell a client's failure from the disk's.
func NewSpool(dir string, r io.Reader) (*Spool, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, nameless, err := namelessFile(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{f: f}
	if !nameless {
		if f, err = os.CreateTemp(dir, spoolPrefix+strconv.Itoa(os.Getpid())+"-*.csv"); err != nil {
			return nil, err
		}
		s.f = f
		// Gone already when another process's RemoveDeadSpools took it for a dead one's
		// (pids of other PID namespaces sharing the directory): the descriptor reads it all
		// the same.
		if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.path = f.Name()
		}
	}
	if s.size, err = io.Copy(f, r); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Open reads the copy from its start; readers are independent of each other.
func (s *Spool) Open() (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(s.f, 0, s.size)), nil
}

// Size is the number of bytes copied.
func (s *Spool) Size() int64 { return s.size }

// Close releases the copy; its space is freed with its descriptor.
func (s *Spool) Close() error {
	err := s.f.Close()
	if s.path != "" {
		if rerr := os.Remove(s.path); err == nil {
			err = rerr
		}
	}
	return err
}

// RemoveDeadSpools removes the spool files in dir (os.TempDir() when "") of processes that
// are gone, and returns how many it removed. A spool has a name only between its creation
// and its removal a moment later, so a named one was left by a process killed in that
// moment, or by one on a system that cannot remove an open file; serve and import call it
// as they start. The files of live processes are left alone.
func RemoveDeadSpools(dir string) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("spool directory: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		pid, ok := spoolOwner(e.Name())
		if !ok || !e.Type().IsRegular() || processAlive(pid) {
			continue
		}
		switch err := os.Remove(filepath.Join(dir, e.Name())); {
		case err == nil:
			n++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// spoolOwner reads the pid in the name of a spool file.
func spoolOwner(name string) (pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, spoolPrefix)
	if !ok || !strings.HasSuffix(rest, ".csv") {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	return pid, ok && err == nil && pid > 0
}
