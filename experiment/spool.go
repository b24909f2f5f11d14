package experiment

import (
	"io"
	"os"
)

// Spool is a stream that can be read once (a request body, a pipe) copied to a temporary
// file, so that an import can read it as often as it needs: a file with bad lines is read
// again to name them, and again for the rejects file.
type Spool struct {
	path string
	size int64
}

// NewSpool copies r to a temporary file. The error of reading r is returned as it is, for
// the caller to tell a client's failure from the disk's.
func NewSpool(r io.Reader) (*Spool, error) {
	f, err := os.CreateTemp("", "krslab-import-*.csv")
	if err != nil {
		return nil, err
	}
	s := &Spool{path: f.Name()}
	s.size, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Open reads the copy from its start; readers are independent of each other.
func (s *Spool) Open() (io.ReadCloser, error) { return os.Open(s.path) }

// Size is the number of bytes copied.
func (s *Spool) Size() int64 { return s.size }

// Close removes the temporary file.
func (s *Spool) Close() error { return os.Remove(s.path) }
