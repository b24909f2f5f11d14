package main

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// TestReadCPU: on Linux the readings around some work give this process's CPU time and a
// share of steal between 0 and 1; elsewhere both are unknown (-1) and print as "-".
func TestReadCPU(t *testing.T) {
	before := readCPU(os.Getpid())
	if runtime.GOOS != "linux" {
		if u := before.until(readCPU(os.Getpid())); u.steal != -1 || stealCell(u) != "-" {
			t.Fatalf("not Linux, got %+v", u)
		}
		return
	}
	if !before.ok {
		t.Fatal("/proc/stat or /proc/PID/stat could not be read")
	}
	x := 0
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); x++ {
	}
	_ = x
	u := before.until(readCPU(os.Getpid()))
	if u.process < 0.02 || u.steal < 0 || u.steal > 1 {
		t.Fatalf("after 100 ms of work: %+v", u)
	}
	if got := perRequestCell(cpuUse{process: 0.5}, 10_000); got != "50" {
		t.Fatalf("0.5 s over 10,000 requests: %q µs, want 50", got)
	}
}
