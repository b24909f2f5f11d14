package experiment_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/krslab/krslab/experiment"
)

// dirLister lists dir at its first Read, when NewSpool has created its file and is copying.
type dirLister struct {
	r       io.Reader
	dir     string
	entries []string
	listed  bool
}

func (d *dirLister) Read(p []byte) (int, error) {
	if !d.listed {
		d.listed = true
		es, err := os.ReadDir(d.dir)
		if err != nil {
			return 0, err
		}
		for _, e := range es {
			d.entries = append(d.entries, e.Name())
		}
	}
	return d.r.Read(p)
}

// TestSpoolHasNoName checks that the copy has no name in its directory while it is
// written and read, so that a process killed at any point leaves none of its customers'
// data behind, and that it is read in full as often as asked, by readers side by side.
func TestSpoolHasNoName(t *testing.T) {
	dir := t.TempDir()
	content := "customer_id\n" + strings.Repeat("cust-0001\n", 50000)
	in := &dirLister{r: strings.NewReader(content), dir: dir}
	s, err := experiment.NewSpool(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !in.listed || len(in.entries) != 0 {
		t.Errorf("while the spool was written, its directory held %v", in.entries)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("after spooling, the directory holds %v", es)
	}
	if s.Size() != int64(len(content)) {
		t.Errorf("size %d, want %d", s.Size(), len(content))
	}
	var wg sync.WaitGroup
	got := make([]string, 3)
	for i := range got {
		wg.Go(func() {
			r, err := s.Open()
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			if err != nil {
				t.Error(err)
			}
			got[i] = string(b)
		})
	}
	wg.Wait()
	for i, g := range got {
		if g != content {
			t.Errorf("reader %d read %d bytes, want the %d copied", i, len(g), len(content))
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestRemoveDeadSpools removes the spool files named for processes that are gone and
// leaves those of live processes and every other file alone.
func TestRemoveDeadSpools(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip(err)
	}
	dead := gone.Process.Pid
	files := map[string]bool{ // name: removed
		fmt.Sprintf("krslab-spool-%d-123456.csv", dead):     true,
		fmt.Sprintf("krslab-spool-%d-999.csv", dead):        true,
		fmt.Sprintf("krslab-spool-%d-42.csv", os.Getpid()):  false, // a live process's
		fmt.Sprintf("krslab-spool-%d-42.csv", os.Getppid()): false,
		fmt.Sprintf("krslab-spool-%d-42.csv.part", dead):    false, // not a spool's name
		"krslab-spool-x-1.csv":                              false,
		"answers.csv":                                       false,
		fmt.Sprintf("other-spool-%d-1.csv", dead):           false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("customer_id\ncust-1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := experiment.RemoveDeadSpools(dir)
	if err != nil || n != 2 {
		t.Errorf("RemoveDeadSpools = %d, %v; want 2 removed", n, err)
	}
	var left []string
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		left = append(left, e.Name())
	}
	for name, removed := range files {
		if slices.Contains(left, name) == removed {
			t.Errorf("%s: removed %v, want %v", name, !removed, removed)
		}
	}
}
